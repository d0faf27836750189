/* RFC 4733 telephone-events of one inbound stream to digits. libre's
 * telev decodes the payload and drops repeats of the last event; the
 * event's timestamp (the same in all its packets, new for every press)
 * settles what telev cannot see after losses. One digit per key press,
 * reported on the first packet of the press that arrives (an end packet
 * if all starts were lost). */
#ifndef DTMF_4733_H
#define DTMF_4733_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct telev;

/* Embedded in its leg; dtmf_4733_close() frees the telev. */
struct dtmf_4733 {
	struct telev *tel;
	bool reported; /* a digit was reported for the event at ts */
	uint32_t ts;   /* RTP timestamp of the last event reported */
};

int dtmf_4733_init(struct dtmf_4733 *d);
void dtmf_4733_close(struct dtmf_4733 *d);

/* One telephone-event payload (4 bytes or more) with the packet's RTP
 * timestamp. Returns the digit to report (0-9 * # A-D), or 0: nothing new
 * (a repeat, an end of an event already reported, an event that is not a
 * DTMF key, or a malformed payload). */
char dtmf_4733_recv(struct dtmf_4733 *d, uint32_t ts, const uint8_t *payload,
		    size_t len);

/* True when a packet with RTP timestamp ts belongs to the press reported
 * last (a repeat or an end packet of it): that press is still on. */
bool dtmf_4733_in_press(const struct dtmf_4733 *d, uint32_t ts);

#endif
