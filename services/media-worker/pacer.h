/* Pacer: ONE timerfd (CLOCK_MONOTONIC, 20 ms period) on the libre loop that
 * drives every call that is playing. A libre tmr per call would cost an
 * O(n) sorted insert every 20 ms per call (notes/media.md §2); the timerfd
 * also reports how many periods passed, so late ticks catch up. The timer
 * runs only while at least one entry is registered. */
#ifndef PACER_H
#define PACER_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

struct pacer;

/* Called once per wake-up with the number of 20 ms periods that elapsed
 * (>= 1). The handler may remove its own or any other entry. */
typedef void(pacer_tick_h)(uint64_t periods, uint64_t now_ms, void *arg);

/* Embedded in its owner (the call); registered while it plays. */
struct pacer_entry {
	struct le le;
	pacer_tick_h *tickh;
	void *arg;
};

int pacer_alloc(struct pacer **pp, uint32_t period_ms);
void pacer_free(struct pacer *p);

void pacer_entry_init(struct pacer_entry *e, pacer_tick_h *tickh, void *arg);
/* Adding an entry that is already registered does nothing. */
int pacer_add(struct pacer *p, struct pacer_entry *e);
void pacer_remove(struct pacer *p, struct pacer_entry *e);
bool pacer_has(const struct pacer_entry *e);
uint32_t pacer_count(const struct pacer *p);

#endif
