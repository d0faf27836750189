/* The built-in audio, generated at build time: the music on hold
 * (moh.cmake, sox) and the default voicemail greeting (vm_greeting.cmake,
 * espeak-ng and sox); raw 8 kHz G.711, one array per law. */
#ifndef MOH_BUILTIN_H
#define MOH_BUILTIN_H
#include <stddef.h>

extern const unsigned char moh_builtin_ulaw[];
extern const size_t moh_builtin_ulaw_len;
extern const unsigned char moh_builtin_alaw[];
extern const size_t moh_builtin_alaw_len;
extern const unsigned char vm_greeting_builtin_ulaw[];
extern const size_t vm_greeting_builtin_ulaw_len;
extern const unsigned char vm_greeting_builtin_alaw[];
extern const size_t vm_greeting_builtin_alaw_len;
extern const unsigned char vm_full_builtin_ulaw[];
extern const size_t vm_full_builtin_ulaw_len;
extern const unsigned char vm_full_builtin_alaw[];
extern const size_t vm_full_builtin_alaw_len;

/* The conference prompts (conf_prompts.cmake, espeak-ng and sox). */
#define CONF_PROMPT(name)                                                      \
	extern const unsigned char name##_ulaw[];                              \
	extern const size_t name##_ulaw_len;                                   \
	extern const unsigned char name##_alaw[];                              \
	extern const size_t name##_alaw_len;
CONF_PROMPT(conf_pin)
CONF_PROMPT(conf_bad_pin)
CONF_PROMPT(conf_denied)
CONF_PROMPT(conf_full)
CONF_PROMPT(conf_count_1)
CONF_PROMPT(conf_count_2)
CONF_PROMPT(conf_count_3)
CONF_PROMPT(conf_count_4)
CONF_PROMPT(conf_count_5)
CONF_PROMPT(conf_count_6)
CONF_PROMPT(conf_count_7)
CONF_PROMPT(conf_count_8)
CONF_PROMPT(conf_count_9)
CONF_PROMPT(conf_count_10)
CONF_PROMPT(conf_count_many)
/* Voicemail from a phone and the agent codes (vm_access_prompts.cmake). */
CONF_PROMPT(vm_box)
CONF_PROMPT(vm_pin)
CONF_PROMPT(vm_bad_pin)
CONF_PROMPT(vm_denied)
CONF_PROMPT(vm_new_0)
CONF_PROMPT(vm_new_1)
CONF_PROMPT(vm_new_2)
CONF_PROMPT(vm_new_3)
CONF_PROMPT(vm_new_4)
CONF_PROMPT(vm_new_5)
CONF_PROMPT(vm_new_6)
CONF_PROMPT(vm_new_7)
CONF_PROMPT(vm_new_8)
CONF_PROMPT(vm_new_9)
CONF_PROMPT(vm_new_10)
CONF_PROMPT(vm_new_many)
CONF_PROMPT(vm_menu)
CONF_PROMPT(vm_deleted)
CONF_PROMPT(vm_saved)
CONF_PROMPT(vm_no_more)
CONF_PROMPT(vm_unavailable)
CONF_PROMPT(fc_agent_login)
CONF_PROMPT(fc_agent_logout)
CONF_PROMPT(fc_dnd_on)
CONF_PROMPT(fc_dnd_off)
CONF_PROMPT(fc_fwd_on)
CONF_PROMPT(fc_fwd_off)
#undef CONF_PROMPT

#endif
