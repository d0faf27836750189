/* The queue announcements' system sound set, per language and name
 * (queue_prompts.cmake generates the table with espeak-ng and sox): numbers,
 * minute forms, position and wait (say.h), the callback prompts. */
#ifndef QUEUE_SOUNDS_H
#define QUEUE_SOUNDS_H
#include "sys_sounds.h"

extern const struct sys_sound queue_sounds[];
extern const size_t queue_sounds_n;

#endif
