/* One event per key press when a caller's keys arrive two ways at once:
 * gateways that negotiate telephone-event and still leave the tones in
 * the audio. Every way (source) reports the presses it sees; a press
 * that another source already reported is dropped if it comes while
 * that report's press is still on, or within DTMF_DEDUP_MARGIN_MS of its
 * last sign of life (RFC 4733 packets of its event, the tone still
 * detected). Each report pairs with at most one report of each other
 * source, so two real presses of a key in a row are two events whatever
 * order the sources deliver them in. Pure: time is passed in. */
#ifndef DTMF_DEDUP_H
#define DTMF_DEDUP_H
#include <stdbool.h>
#include <stdint.h>

enum dtmf_src { DTMF_SRC_4733, DTMF_SRC_INBAND, DTMF_SRC_N };

enum {
	DTMF_DEDUP_MARGIN_MS = 200,
	DTMF_DEDUP_HIST = 4, /* presses remembered (sources can lag) */
};

struct dtmf_press {
	uint64_t last_ms; /* its start, then its last sign of life */
	char digit;	  /* 0: unused slot */
	uint8_t seen;	  /* bit per source that reported it */
};

/* Embedded in its call; no resources (nothing to free). */
struct dtmf_dedup {
	struct dtmf_press hist[DTMF_DEDUP_HIST];
	unsigned next;		 /* slot the next new press takes */
	int cur[DTMF_SRC_N];	 /* each source's current press, or -1 */
};

void dtmf_dedup_init(struct dtmf_dedup *d);

/* src saw a new press of digit at now_ms. True: report it (a new press);
 * false: it is a press another source has already reported. */
bool dtmf_dedup_press(struct dtmf_dedup *d, enum dtmf_src src, char digit,
		      uint64_t now_ms);

/* The press src saw last is still on at now_ms (a packet of the same
 * RFC 4733 event, the tone still in the audio): its window goes on. */
void dtmf_dedup_alive(struct dtmf_dedup *d, enum dtmf_src src,
		      uint64_t now_ms);

#endif
