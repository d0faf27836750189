/* When a failed notification is tried again, and when it is given up:
 * doubling delays from base_ms, capped at max_ms. Pure, so the schedule
 * is tested without waiting. */
#ifndef NOTIFY_BACKOFF_H
#define NOTIFY_BACKOFF_H
#include <stdbool.h>
#include <stdint.h>

struct notify_backoff {
	uint32_t base_ms;      /* the wait after the first failure */
	uint32_t max_ms;       /* no wait is longer */
	uint32_t max_attempts; /* deliveries before the job is dead */
};

/* The wait after `attempts` failed deliveries (1: base_ms, 2: 2 x base,
 * ...), never above max_ms; 0 attempts: 0. */
uint32_t notify_backoff_ms(const struct notify_backoff *b, uint32_t attempts);

/* A job delivered `attempts` times, idle for idle_ms since, is due for
 * its next try. */
bool notify_backoff_due(const struct notify_backoff *b, uint32_t attempts,
			uint64_t idle_ms);

/* No try is left: the job goes to the dead-letter stream. */
bool notify_backoff_exhausted(const struct notify_backoff *b,
			      uint32_t attempts);

#endif
