/* Retry schedule of notifications (notify_backoff.h). */
#include "notify_backoff.h"

uint32_t notify_backoff_ms(const struct notify_backoff *b, uint32_t attempts)
{
	uint64_t ms;

	if (!attempts)
		return 0;
	ms = b->base_ms;
	/* Doubling stops at the cap, so the shift never overflows. */
	for (uint32_t i = 1; i < attempts && ms < b->max_ms; i++)
		ms *= 2;
	return ms > b->max_ms ? b->max_ms : (uint32_t)ms;
}

bool notify_backoff_due(const struct notify_backoff *b, uint32_t attempts,
			uint64_t idle_ms)
{
	return idle_ms >= notify_backoff_ms(b, attempts);
}

bool notify_backoff_exhausted(const struct notify_backoff *b,
			      uint32_t attempts)
{
	return attempts >= b->max_attempts;
}
