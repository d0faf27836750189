/* How a ring ended, from the B-leg's final response: the mapping the
 * scenario's busy / unavailable branches depend on. Pure. */
#ifndef RING_RESULT_H
#define RING_RESULT_H
#include <stdint.h>

#include "pbx/v1/media.pb-c.h"

/* scode: the final response (>= 300), or 0 when the leg failed without
 * one; err: libre's error then (ETIMEDOUT: no answer at all from the next
 * hop). 486 Busy Here and 600 Busy Everywhere are BUSY; every other
 * failure (404, 480, 408, 5xx, 603, transport errors) is UNAVAILABLE.
 * *codep gets the SIP code to report (408 for a transaction timeout, 503
 * for a transport error). */
Pbx__V1__MediaEvent__RingResult ring_result_of(uint16_t scode, int err,
					       uint16_t *codep);

#endif
