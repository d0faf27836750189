/* The rule for extension (SIP) passwords: long enough and not trivially
 * guessable. Provisioning is the authority (pbxctl only shows its
 * refusal). Pure (no I/O), so tests drive it directly. */
#ifndef PROV_PASSWORD_H
#define PROV_PASSWORD_H
#include <stddef.h>

#define PROV_PASSWORD_MIN 8
#define PROV_PASSWORD_MAX 64
/* A tenant id or name shorter than this is not searched for inside a
 * password: "ab" would refuse ordinary words. */
#define PROV_PASSWORD_NAME_MIN 3

/* 0 when password may protect extension ext of tenant (id) whose display
 * name is tenant_name (NULL or "" when unknown); else -EINVAL with one
 * sentence in why: 8 to 64 characters, not whitespace only, not one
 * character repeated, not containing the extension number, not
 * containing the tenant id or name (case-insensitive, when at least
 * PROV_PASSWORD_NAME_MIN long), and not a common password (a short list
 * of the most used ones, case-insensitive). why never quotes the
 * password. */
int prov_password_check(const char *password, const char *ext,
			const char *tenant, const char *tenant_name,
			char *why, size_t size);

#endif
