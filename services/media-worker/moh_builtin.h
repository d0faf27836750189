/* The built-in music on hold, generated at build time (moh.cmake, sox);
 * raw 8 kHz G.711, one array per law. The spoken prompts: sys_sounds.h. */
#ifndef MOH_BUILTIN_H
#define MOH_BUILTIN_H
#include <stddef.h>

extern const unsigned char moh_builtin_ulaw[];
extern const size_t moh_builtin_ulaw_len;
extern const unsigned char moh_builtin_alaw[];
extern const size_t moh_builtin_alaw_len;
#endif
