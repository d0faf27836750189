/* pbxctl commands: the command line turned into one pbx.v1 ProvRequest,
 * and the answer turned into output and an exit code. Parsing and output
 * are pure (no I/O beyond the FILEs they are given) so tests drive them
 * directly; pbxctl_cmd_load() is the one place that reads a named file. */
#ifndef PBXCTL_CMD_H
#define PBXCTL_CMD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pbx/v1/envelope.pb-c.h"

/* What `pbxctl --version` prints: the tool's release and the protocol
 * package it speaks (proto/pbx/v1). */
#define PBXCTL_VERSION "pbxctl 1.0 (protocol pbx.v1)"
#define PBXCTL_SERVER_DEFAULT "tcp://127.0.0.1:7010"
#define PBXCTL_TIMEOUT_DEFAULT 3000
/* The server owns the real limits (16 MiB prompts, 256 KiB scenarios);
 * this only stops pbxctl from reading something absurd into memory. */
#define PBXCTL_FILE_MAX (20u * 1024 * 1024)
/* How often one repeatable option (--dtmf, --say, ...) may be given. */
#define PBXCTL_REPEAT_MAX 32

enum pbxctl_exit {
	PBXCTL_EXIT_OK = 0,
	PBXCTL_EXIT_REFUSED = 1,     /* the server answered with an error */
	PBXCTL_EXIT_USAGE = 2,       /* bad arguments or an unreadable file */
	PBXCTL_EXIT_UNREACHABLE = 3, /* no (usable) answer in time */
};

/* What a successful answer prints. */
enum pbxctl_print {
	PBXCTL_PRINT_OK,    /* the items the server sent (e.g. "main v3"),
			       else "ok"; then any warnings on stderr */
	PBXCTL_PRINT_ITEMS, /* one item per line */
	PBXCTL_PRINT_BODY,  /* the body as is */
	PBXCTL_PRINT_DATA,  /* the binary data as is (vm get: a WAV) */
};

/* The repeatable options of scenario simulate. */
enum pbxctl_repeat {
	PBXCTL_REP_DTMF,
	PBXCTL_REP_SAY,
	PBXCTL_REP_NO_ANSWER,
	PBXCTL_REP_BUSY,
	PBXCTL_REP_UNAVAILABLE,
	PBXCTL_REP_COUNT
};

/* One parsed command. Owned by the caller (usually on main's stack) and
 * never copied: req points into it, its strings point into argv or into
 * it. Release with pbxctl_cmd_reset(). */
struct pbxctl_cmd {
	const char *server;
	const char *key; /* --key FILE, or NULL (pbxctl_key.h finds one) */
	int timeout_ms;
	enum pbxctl_print print;
	const char *file;    /* prompt upload, scenario / object put */
	bool password_stdin; /* "ext add ... -", "trunk add --password -" */
	char **password_dst; /* the request field the stdin line goes to */
	const char *password_prefix; /* crm set "name=-": the line becomes
				      * "name=<line>" */
	Pbx__V1__ProvRequest req;
	union {
		Pbx__V1__ProvRequest__TenantCreate tenant_create;
		Pbx__V1__ProvRequest__TenantRef tenant_ref;
		Pbx__V1__ProvRequest__Number number;
		Pbx__V1__ProvRequest__ExtensionAdd extension_add;
		Pbx__V1__ProvRequest__ExtensionRef extension_ref;
		Pbx__V1__ProvRequest__PromptUpload prompt_upload;
		Pbx__V1__ProvRequest__PromptRef prompt_ref;
		Pbx__V1__ProvRequest__ScenarioPut scenario_put;
		Pbx__V1__ProvRequest__ScenarioRef scenario_ref;
		Pbx__V1__ProvRequest__ScenarioActivate scenario_activate;
		Pbx__V1__ProvRequest__ScenarioHistory scenario_history;
		Pbx__V1__ProvRequest__ScenarioDiff scenario_diff;
		Pbx__V1__ProvRequest__ScenarioRollback scenario_rollback;
		Pbx__V1__ProvRequest__ScenarioSimulate scenario_simulate;
		Pbx__V1__ProvRequest__ObjectPut object_put;
		Pbx__V1__ProvRequest__ObjectRef object_ref;
		Pbx__V1__ProvRequest__TrunkAdd trunk_add;
		Pbx__V1__ProvRequest__TrunkRef trunk_ref;
		Pbx__V1__ProvRequest__TrunkAssign trunk_assign;
		Pbx__V1__ProvRequest__TenantFeature tenant_feature;
		Pbx__V1__ProvRequest__TenantLanguage tenant_language;
		Pbx__V1__ProvRequest__TenantTimezone tenant_timezone;
		Pbx__V1__ProvRequest__TenantLimits tenant_limits;
		Pbx__V1__ProvRequest__QueueAgent queue_agent;
		Pbx__V1__ProvRequest__QueueStats queue_stats;
		Pbx__V1__ProvRequest__Voicemail vm;
		Pbx__V1__ProvRequest__NotifyWebhook notify_webhook;
		Pbx__V1__ProvRequest__VmQuota vm_quota;
		Pbx__V1__ProvRequest__Conference conf;
		Pbx__V1__ProvRequest__Fax fax;
		Pbx__V1__ProvRequest__CrmSet crm_set;
		Pbx__V1__ProvRequest__CrmRef crm_ref;
		Pbx__V1__ProvRequest__CrmMap crm_map;
		Pbx__V1__ProvRequest__Recording rec;
		Pbx__V1__CdrQuery cdr;
		Pbx__V1__CdrWebhook cdr_webhook;
		Pbx__V1__ProvRequest__OutboundSet outbound_set;
		Pbx__V1__ProvRequest__AsrSet asr_set;
		Pbx__V1__ProvRequest__ExtensionSet extension_set;
		Pbx__V1__ProvRequest__Worker worker;
	} op;
	/* outbound set / ext set: "name=value" made from the options. */
	char out_text[16][80];
	char *out_settings[16];
	/* crm set's and asr set's name=value items (pointers into argv). */
	char *crm_settings[16];
	/* Repeated option values (pointers into argv). */
	char *rep[PBXCTL_REP_COUNT][PBXCTL_REPEAT_MAX];
	size_t n_rep[PBXCTL_REP_COUNT];
	/* "name@N" for scenario get --version N (ScenarioRef has no version
	 * field; the server splits it). */
	char *data; /* loaded file or password, malloc'd (NUL-terminated) */
	size_t len;
};

extern const char pbxctl_usage[];

/* What pbxctl_cmd_parse() returns besides 0 and -EINVAL. */
enum pbxctl_parse {
	PBXCTL_PARSE_HELP = 1,	  /* -h, --help */
	PBXCTL_PARSE_VERSION = 2, /* --version without a value or command */
};

/* Parses argv (argv[0] is the program). env_server is $PBX_PROVISION or
 * NULL; --server wins over it. Returns 0, PBXCTL_PARSE_HELP,
 * PBXCTL_PARSE_VERSION (`--version` with no value and no command: the
 * option of scenario get / activate takes a value, so only a line with
 * no command asks for pbxctl's version), or -EINVAL with one sentence in
 * err. */
int pbxctl_cmd_parse(struct pbxctl_cmd *cmd, int argc, char **argv,
		     const char *env_server, char *err, size_t errsz);

/* An absolute time for --at: Unix ms (digits only), or ISO 8601 with a
 * zone, "2026-12-31T18:00:00Z", "2026-12-31T21:00+03:00" (seconds and a
 * fraction optional). A time without a zone is refused: the machine
 * running pbxctl need not be in the zone the operator means. 0 or
 * -EINVAL. */
int pbxctl_time_parse(const char *s, uint64_t *ms);

/* Reads what the command names on disk or stdin into the request: the
 * prompt file, the scenario or object document or the password. 0 when
 * nothing is needed; -errno with one sentence in err when it cannot be
 * read, is over PBXCTL_FILE_MAX, or (JSON, password) holds a NUL byte. */
int pbxctl_cmd_load(struct pbxctl_cmd *cmd, char *err, size_t errsz);
void pbxctl_cmd_reset(struct pbxctl_cmd *cmd);

/* Prints the answer env (NULL: none came) and returns the exit code:
 * results on out, "pbxctl: <error>" lines on errf. */
enum pbxctl_exit pbxctl_cmd_output(const struct pbxctl_cmd *cmd,
				   const Pbx__V1__Envelope *env, FILE *out,
				   FILE *errf);

#endif
