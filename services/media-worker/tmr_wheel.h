/* tmr_wheel.h: the media worker's replacement of libre's timer list
 * (tmr_wheel.c defines libre's tmr_* functions on a timing wheel). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when libre's own calls reach this wheel (the executable exports
 * tmr_start, tmr_poll and tmr_next_timeout and the dynamic linker binds
 * libre.so's PLT entries to them). A process that links tmr_wheel.c
 * must refuse to run otherwise: its timers would never fire. */
bool tmr_wheel_bound(void);

/* Timers running in this thread. */
size_t tmr_wheel_count(void);
