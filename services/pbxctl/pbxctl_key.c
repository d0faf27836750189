/* pbxctl's key lookup and the keygen command. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbx_curve.h"
#include "pbxctl_cmd.h"
#include "pbxctl_key.h"

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* <tree>/.run/keys/operator.key for a binary at
 * <tree>/<build>/services/pbxctl/pbxctl. */
static void tree_key(char *out, size_t size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *d;

	out[0] = '\0';
	if (n <= 0)
		return;
	exe[n] = '\0';
	d = exe;
	for (int up = 0; up < 4; up++)
		d = dirname(d);
	snprintf(out, size, "%s/.run/keys/operator.key", d);
}

int pbxctl_key_find(const char *opt, char *keyf, char *serverf, size_t size,
		    char *err, size_t errsz)
{
	const char *env = getenv("PBX_KEY"), *run = getenv("PBX_RUN");
	const char *srv = getenv("PBX_SERVER_KEY");
	char cand[4096], dir[4096];

	keyf[0] = serverf[0] = '\0';
	if (opt || (env && env[0])) {
		const char *k = opt ? opt : env;

		if (!exists(k)) {
			snprintf(err, errsz, "key file %s: %s", k,
				 strerror(errno));
			return -ENOENT;
		}
		snprintf(keyf, size, "%s", k);
	} else {
		const char *tries[3] = {NULL, ".run/keys/operator.key", NULL};
		char tk[4096];

		if (run && run[0]) {
			snprintf(cand, sizeof(cand), "%s/keys/operator.key",
				 run);
			tries[0] = cand;
		}
		tree_key(tk, sizeof(tk));
		tries[2] = tk[0] ? tk : NULL;
		for (int i = 0; i < 3 && !keyf[0]; i++) {
			if (tries[i] && exists(tries[i]))
				snprintf(keyf, size, "%s", tries[i]);
		}
		if (!keyf[0])
			return -ENOENT;
	}
	if (srv && srv[0]) {
		snprintf(serverf, size, "%s", srv);
	} else {
		snprintf(dir, sizeof(dir), "%s", keyf);
		snprintf(serverf, size, "%s/provision.pub", dirname(dir));
	}
	if (!exists(serverf)) {
		snprintf(err, errsz,
			 "server key %s: %s (set PBX_SERVER_KEY)", serverf,
			 strerror(errno));
		return -ENOENT;
	}
	return 0;
}

int pbxctl_key_gen(int argc, char **argv)
{
	const char *name = NULL, *dir = NULL, *run = getenv("PBX_RUN");
	char def[4096];
	int err;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "pbxctl: keygen <name> [--dir DIR]\n");
			return PBXCTL_EXIT_USAGE;
		}
	}
	if (!name || !pbx_curve_name_valid(name)) {
		fprintf(stderr, "pbxctl: keygen needs a name of 1 to 63 "
				"letters, digits, '_', '.' or '-'\n");
		return PBXCTL_EXIT_USAGE;
	}
	if (!dir) {
		snprintf(def, sizeof(def), "%s/keys",
			 run && run[0] ? run : ".run");
		dir = def;
	}
	/* Keys stay private to their owner whatever the umask. */
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "pbxctl: %s: %s\n", dir, strerror(errno));
		return PBXCTL_EXIT_USAGE;
	}
	err = pbx_curve_keygen(dir, name);
	if (err) {
		fprintf(stderr, "pbxctl: keygen %s/%s: %s\n", dir, name,
			err == -EEXIST ? "the key exists already"
				       : strerror(-err));
		return PBXCTL_EXIT_USAGE;
	}
	printf("%s/%s.key\n%s/%s.pub\n", dir, name, dir, name);
	return PBXCTL_EXIT_OK;
}
