/* Clock: all time in the services goes through here so tests can fix it. */
#ifndef PBX_CLOCK_H
#define PBX_CLOCK_H
#include <stdint.h>

uint64_t pbx_clock_now_ms(void);   /* wall clock, Unix ms */
uint64_t pbx_clock_mono_ms(void);  /* monotonic ms, for deadlines */
/* Tests: pin the wall clock to `ms` (0 returns to the real clock). */
void pbx_clock_fake(uint64_t ms);

#endif
