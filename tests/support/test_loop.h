/* Test support: drives the libre loop the way baresip's test/call.c does:
 * run re_main() until a condition holds or a deadline passes, then let
 * the test assert counters. Conditions are polled every 2 ms from a libre
 * timer, so they may read anything the loop's handlers update. */
#ifndef TEST_LOOP_H
#define TEST_LOOP_H
#include <stdbool.h>
#include <stdint.h>

typedef bool(test_loop_cond_h)(void *arg);

/* Runs the loop until cond(arg) holds or ms passed; returns cond(arg).
 * Also returns early if a handler calls re_cancel(). */
bool test_loop_until(test_loop_cond_h *cond, void *arg, uint32_t ms);
/* Runs the loop for ms. */
void test_loop_for(uint32_t ms);
/* Until *flag is set. */
bool test_loop_flag(const bool *flag, uint32_t ms);
/* Until *ctr >= n. */
bool test_loop_count(const unsigned *ctr, unsigned n, uint32_t ms);

#endif
