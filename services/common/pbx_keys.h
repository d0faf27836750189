/* Redis key scheme. Every tenant key is "pbx:{<tenant>}:..." so a Redis
 * Cluster keeps a tenant in one slot; cluster-wide indexes live under the
 * "{sys}" tag. docs/services/<name>.md list the keys each service uses. */
#ifndef PBX_KEYS_H
#define PBX_KEYS_H
#include <stdbool.h>
#include <stddef.h>

#define PBX_KEY_MAX 512
#define PBX_ID_MAX 64

/* A tenant id, extension, prompt or scenario name: 1..64 of [A-Za-z0-9_.-].
 * Numbers: 1..32 of digits with an optional leading '+'. */
bool pbx_id_valid(const char *id);
bool pbx_number_valid(const char *num);
/* A tenant id: a valid id other than the reserved "sys". */
bool pbx_tenant_valid(const char *tenant);

/* Writes "pbx:{tenant}:<suffix>" into buf. Returns 0, -EINVAL for an invalid
 * tenant id, -ENAMETOOLONG if it does not fit. */
int pbx_key(char *buf, size_t size, const char *tenant, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Cluster-wide keys ("pbx:{sys}:..."): tenant set, number and domain
 * indexes, worker registry. */
int pbx_key_sys(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
