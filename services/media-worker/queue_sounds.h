/* The queue announcements' system sound set, per language and name
 * (queue_prompts.cmake generates the table with espeak-ng and sox). */
#ifndef QUEUE_SOUNDS_H
#define QUEUE_SOUNDS_H
#include <stddef.h>

struct queue_sound {
	const char *lang; /* "en", "ru" */
	const char *name; /* num_<n>, min_<form>, q_position, ... (say.h) */
	const unsigned char *ulaw;
	const size_t *ulaw_len;
	const unsigned char *alaw;
	const size_t *alaw_len;
};

extern const struct queue_sound queue_sounds[];
extern const size_t queue_sounds_n;

#endif
