/* The built-in music on hold (generated at build time by moh.cmake with
 * sox): raw 8 kHz G.711, one array per law. */
#ifndef MOH_BUILTIN_H
#define MOH_BUILTIN_H
#include <stddef.h>

extern const unsigned char moh_builtin_ulaw[];
extern const size_t moh_builtin_ulaw_len;
extern const unsigned char moh_builtin_alaw[];
extern const size_t moh_builtin_alaw_len;

#endif
