/* Pacer: a timer wheel on ONE timerfd (CLOCK_MONOTONIC) that drives every
 * call that is playing. The 20 ms period is cut into 1 ms slots; each
 * entry sits in one slot (the least loaded when it is added) and fires
 * every 20 ms on it, so the packets of all calls leave spread over the
 * period instead of in one burst per tick (issue 17: a burst of 1,500
 * calls' packets took 6 ms, and the tail arrived late). The timerfd is
 * armed, at an absolute time, for the next slot that holds an entry, and
 * only while one does; a wake-up runs only the slots that are due. A late
 * wake-up runs every slot it missed, in order, each entry once with the
 * number of its periods that passed (nothing is dropped here; the player
 * caps its own catch-up). A libre tmr per call would cost an O(n) sorted
 * insert every 20 ms per call (notes/media.md §2). */
#ifndef PACER_H
#define PACER_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

struct pacer;

enum {
	PACER_SLOT_MS = 1,
	PACER_SLOTS_MAX = 1000, /* period_ms / PACER_SLOT_MS at most */
};

/* Called once per wake-up of the entry's slot with the number of its
 * periods that elapsed since its last call (>= 1; more after a late
 * wake-up) and the monotonic time of the wake-up. The handler may remove
 * (or add) its own or any other entry. */
typedef void(pacer_tick_h)(uint64_t periods, uint64_t now_ms, void *arg);

/* Embedded in its owner (the call); registered while it plays. Fields
 * other than le are the pacer's. */
struct pacer_entry {
	struct le le;
	pacer_tick_h *tickh;
	void *arg;
	uint32_t slot;
	uint64_t due; /* wheel index (ms since the origin) of its next call */
};

/* period_ms: 1..PACER_SLOTS_MAX (one slot per millisecond). */
int pacer_alloc(struct pacer **pp, uint32_t period_ms);
void pacer_free(struct pacer *p);

void pacer_entry_init(struct pacer_entry *e, pacer_tick_h *tickh, void *arg);
/* Puts e in the least loaded slot (of those, the one due soonest); its
 * first call comes at that slot's next time after now, at most one period
 * away. Adding an entry that is already registered does nothing. */
int pacer_add(struct pacer *p, struct pacer_entry *e);
void pacer_remove(struct pacer *p, struct pacer_entry *e);
bool pacer_has(const struct pacer_entry *e);
uint32_t pacer_count(const struct pacer *p);
/* Runs the slots that are due, if any, without waiting for the timerfd.
 * The receive path calls it for every packet: libre handles every socket
 * an epoll_wait reported before the timerfd's turn, and at a few thousand
 * talking legs one such pass lasts milliseconds, which would delay the
 * slots behind it. Costs one clock read when nothing is due. Must not be
 * called from inside a tick handler (it then does nothing). */
void pacer_poll(struct pacer *p);

/* Introspection, and the wheel driven with explicit times (monotonic ns)
 * instead of the clock: for tests. pacer_add() and the timerfd use
 * pacer_add_at() and pacer_run() with the clock's time. */
uint32_t pacer_slots(const struct pacer *p);
uint32_t pacer_slot_load(const struct pacer *p, uint32_t slot);
uint32_t pacer_entry_slot(const struct pacer_entry *e);
/* Monotonic ns of the wheel's index 0; slot s is due at
 * origin + k * PACER_SLOT_MS ms for every k with k % slots == s. */
uint64_t pacer_origin_ns(const struct pacer *p);
/* When the timerfd is armed for (0: disarmed). */
uint64_t pacer_next_ns(const struct pacer *p);
uint64_t pacer_now_ns(void);
int pacer_add_at(struct pacer *p, struct pacer_entry *e, uint64_t now_ns);
/* Calls every entry that is due at now_ns (slots in the order they fell
 * due), then re-arms the timerfd for the next occupied slot. */
void pacer_run(struct pacer *p, uint64_t now_ns);

#endif
