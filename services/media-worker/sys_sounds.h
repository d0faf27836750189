/* The worker's system sounds: tables of prompts spoken at build time by
 * espeak-ng (speak_prompts.cmake), one row per language and name. A
 * tenant's upload of the same name replaces a sound in every language
 * (worker_prompt_audio). */
#ifndef SYS_SOUNDS_H
#define SYS_SOUNDS_H
#include <stddef.h>

struct sys_sound {
	const char *lang; /* "en", "ru" (say.h) */
	const char *name; /* what a Play names: conf_pin, vm_pin, ... */
	const unsigned char *ulaw;
	const size_t *ulaw_len;
	const unsigned char *alaw;
	const size_t *alaw_len;
};

/* conf_prompts.cmake: the conference's PIN and count prompts. */
extern const struct sys_sound conf_sounds[];
extern const size_t conf_sounds_n;
/* vm_access_prompts.cmake: voicemail from a phone, agent feature codes. */
extern const struct sys_sound vmacc_sounds[];
extern const size_t vmacc_sounds_n;
/* vm_date_prompts.cmake: the words of "message received <day> at <time>,
 * from <number>" (say.c say_received). */
extern const struct sys_sound vmdate_sounds[];
extern const size_t vmdate_sounds_n;
/* vm_greeting.cmake: the default voicemail greeting (vm_greeting) and
 * the full box's refusal (vm_full). */
extern const struct sys_sound vm_sounds[];
extern const size_t vm_sounds_n;

#endif
