/* RFC 4733 digit extraction on top of libre telev. */
#include <errno.h>
#include <string.h>

#include <re.h>

#include "dtmf_4733.h"
#include "dtmf_info.h"

int dtmf_4733_init(struct dtmf_4733 *d)
{
	memset(d, 0, sizeof(*d));
	return -telev_alloc(&d->tel, TELEV_PTIME);
}

void dtmf_4733_close(struct dtmf_4733 *d)
{
	d->tel = mem_deref(d->tel);
}

char dtmf_4733_recv(struct dtmf_4733 *d, uint32_t ts, const uint8_t *payload,
		    size_t len)
{
	struct mbuf mb;
	int event = -1;
	bool end = false;
	char digit;

	if (!d->tel || !payload || len < 4)
		return 0;
	/* telev reads the payload through an mbuf; this one only borrows
	 * the packet's bytes (no allocation, nothing to free). */
	mbuf_init(&mb);
	mb.buf = (uint8_t *)payload;
	mb.size = len;
	mb.end = len;
	switch (telev_recv(d->tel, &mb, &event, &end)) {
	case 0:
		break;
	case EALREADY:
		/* telev keeps only the last event code, so after lost
		 * packets it takes a new press of a key for a repeat (the
		 * ends of two presses whose starts were lost, or the starts
		 * of a press of the same key whose ends were lost). */
		event = payload[0];
		break;
	default:
		return 0;
	}
	digit = dtmf_info_code2digit(event);
	if (!digit)
		return 0;
	/* Every packet of one event carries its start timestamp: that is
	 * what tells a repeat from a new press. */
	if (d->reported && d->ts == ts)
		return 0;
	d->reported = true;
	d->ts = ts;
	return digit;
}

bool dtmf_4733_in_press(const struct dtmf_4733 *d, uint32_t ts)
{
	return d->reported && d->ts == ts;
}
