/* pbxctl: wiring only. Parse the command, load its file, make the call,
 * print the answer; the exit code tells scripts what happened. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_bus.h"
#include "pbxctl_cmd.h"
#include "pbxctl_key.h"
#include "pbxctl_rpc.h"

int main(int argc, char **argv)
{
	struct pbxctl_cmd cmd;
	Pbx__V1__Envelope *env = NULL;
	char err[512], keyf[4096], srvf[4096];
	int rc;

	if (argc > 1 && !strcmp(argv[1], "keygen"))
		return pbxctl_key_gen(argc, argv);

	rc = pbxctl_cmd_parse(&cmd, argc, argv, getenv("PBX_PROVISION"), err,
			      sizeof(err));
	if (rc == PBXCTL_PARSE_HELP) {
		fputs(pbxctl_usage, stdout);
		return PBXCTL_EXIT_OK;
	}
	if (rc == PBXCTL_PARSE_VERSION) {
		puts(PBXCTL_VERSION);
		return PBXCTL_EXIT_OK;
	}
	if (rc) {
		fprintf(stderr, "pbxctl: %s\n\n%s", err, pbxctl_usage);
		return PBXCTL_EXIT_USAGE;
	}
	rc = pbxctl_cmd_load(&cmd, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pbxctl: %s\n", err[0] ? err : strerror(-rc));
		pbxctl_cmd_reset(&cmd);
		return PBXCTL_EXIT_USAGE;
	}

	err[0] = '\0';
	rc = pbxctl_key_find(cmd.key, keyf, srvf, sizeof(keyf), err,
			     sizeof(err));
	if (rc && err[0]) {
		fprintf(stderr, "pbxctl: %s\n", err);
		pbxctl_cmd_reset(&cmd);
		return PBXCTL_EXIT_USAGE;
	}
	rc = pbxctl_rpc_call(cmd.server, keyf, srvf, cmd.timeout_ms, &cmd.req,
			     &env);
	pbxctl_cmd_reset(&cmd);
	switch (rc) {
	case 0:
	case -ETIMEDOUT:
		rc = pbxctl_cmd_output(&cmd, env, stdout, stderr);
		/* A CURVE server never answers a plaintext client. */
		if (!env && !keyf[0])
			fprintf(stderr, "pbxctl: no key was found (--key, "
					"$PBX_KEY, $PBX_RUN/keys/operator.key, "
					".run/keys/operator.key)\n");
		break;
	case -EINVAL:
		fprintf(stderr, "pbxctl: %s is not a ZeroMQ endpoint such as "
				"tcp://127.0.0.1:7010\n",
			cmd.server);
		rc = PBXCTL_EXIT_USAGE;
		break;
	case -EACCES:
		fprintf(stderr, "pbxctl: %s refused the key %s (not in its "
				"allow list?)\n",
			cmd.server, keyf);
		rc = PBXCTL_EXIT_UNREACHABLE;
		break;
	case -ENOKEY:
		fprintf(stderr, "pbxctl: %s or %s is not a CURVE key\n", keyf,
			srvf);
		rc = PBXCTL_EXIT_USAGE;
		break;
	case -EPROTO:
		fprintf(stderr, "pbxctl: the answer from %s is not a pbx.v1 "
				"Envelope\n",
			cmd.server);
		rc = PBXCTL_EXIT_UNREACHABLE;
		break;
	default:
		fprintf(stderr, "pbxctl: %s: %s\n", cmd.server,
			strerror(-rc));
		rc = PBXCTL_EXIT_UNREACHABLE;
		break;
	}
	pbx_envelope_free(env);
	return rc;
}
