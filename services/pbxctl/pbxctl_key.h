/* pbxctl's CURVE key: which files authenticate this call, and the keygen
 * command that makes key pairs (docs/security.md, "Buses"). */
#ifndef PBXCTL_KEY_H
#define PBXCTL_KEY_H
#include <stddef.h>

/* Finds the client key and the server's public key. opt is --key (must
 * exist when given); else $PBX_KEY, $PBX_RUN/keys/operator.key,
 * ./.run/keys/operator.key, and .run/keys/operator.key of the source tree
 * the binary was built in (<tree>/<build>/services/pbxctl/pbxctl). The
 * server key is $PBX_SERVER_KEY, else provision.pub beside the key.
 * Returns 0 with both paths set, -ENOENT with keyf "" when no key is
 * found (the call is then plaintext), or -ENOENT / -EINVAL with a
 * message in err for a key given but unusable. */
int pbxctl_key_find(const char *opt, char *keyf, char *serverf, size_t size,
		    char *err, size_t errsz);

/* pbxctl keygen <name> [--dir DIR]: returns the exit code. */
int pbxctl_key_gen(int argc, char **argv);

#endif
