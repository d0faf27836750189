/* SIP final response -> RingResult. */
#include <errno.h>

#include "ring_result.h"

Pbx__V1__MediaEvent__RingResult ring_result_of(uint16_t scode, int err,
					       uint16_t *codep)
{
	uint16_t code = scode;

	if (!code)
		code = err == ETIMEDOUT ? 408 : 503;
	if (codep)
		*codep = code;
	if (code == 486 || code == 600)
		return PBX__V1__MEDIA_EVENT__RING_RESULT__RING_BUSY;
	return PBX__V1__MEDIA_EVENT__RING_RESULT__RING_UNAVAILABLE;
}
