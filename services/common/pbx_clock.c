/* Clock: wall and monotonic milliseconds, with a fake wall clock for tests. */
#include <time.h>

#include "pbx_clock.h"

static uint64_t fake_ms;

uint64_t pbx_clock_now_ms(void)
{
	struct timespec ts;

	if (fake_ms)
		return fake_ms;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t pbx_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pbx_clock_fake(uint64_t ms)
{
	fake_ms = ms;
}
