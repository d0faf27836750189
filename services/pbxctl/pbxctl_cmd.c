/* pbxctl commands: one table of commands, the argv parser that fills a
 * ProvRequest from it, the loader for files named on the command line, and
 * the printer that maps an answer to output and exit code. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pbxctl_cmd.h"

#define MAX_POS 8

const char pbxctl_usage[] =
	"usage: pbxctl [--server ENDPOINT] [--timeout-ms MS] <command>\n"
	"\n"
	"  tenant create <tenant> [--name NAME] [--domain DOMAIN]\n"
	"  tenant list\n"
	"  tenant delete <tenant>\n"
	"  number connect <tenant> <number>\n"
	"  number disconnect <tenant> <number>\n"
	"  number list <tenant>\n"
	"  ext add <tenant> <ext> <password | ->\n"
	"  ext remove <tenant> <ext>\n"
	"  ext list <tenant>\n"
	"  prompt upload <tenant> <name> <file.wav>\n"
	"  prompt list <tenant>\n"
	"  prompt delete <tenant> <name>\n"
	"  scenario put <tenant> <name> <file.json | ->\n"
	"  scenario get <tenant> <name>\n"
	"  scenario list <tenant>\n"
	"  scenario activate <tenant> <number> <scenario>\n"
	"\n"
	"ENDPOINT defaults to $PBX_PROVISION, else " PBXCTL_SERVER_DEFAULT
	"; MS to 3000.\n"
	"A password of \"-\" is read from the first line of stdin.\n"
	"Exit: 0 ok, 1 refused by the server, 2 usage, 3 no answer.\n";

/* One command: "<noun> <verb>" and its positional arguments. */
struct cmd_def {
	const char *noun;
	const char *verb;
	int nargs;
	Pbx__V1__ProvRequest__OpCase op;
	enum pbxctl_print print;
	const char *synopsis;
};

static const struct cmd_def cmds[] = {
	{"tenant", "create", 1, PBX__V1__PROV_REQUEST__OP_TENANT_CREATE,
	 PBXCTL_PRINT_OK,
	 "tenant create <tenant> [--name NAME] [--domain DOMAIN]"},
	{"tenant", "list", 0, PBX__V1__PROV_REQUEST__OP_TENANT_LIST,
	 PBXCTL_PRINT_ITEMS, "tenant list"},
	{"tenant", "delete", 1, PBX__V1__PROV_REQUEST__OP_TENANT_DELETE,
	 PBXCTL_PRINT_OK, "tenant delete <tenant>"},
	{"number", "connect", 2, PBX__V1__PROV_REQUEST__OP_NUMBER_CONNECT,
	 PBXCTL_PRINT_OK, "number connect <tenant> <number>"},
	{"number", "disconnect", 2,
	 PBX__V1__PROV_REQUEST__OP_NUMBER_DISCONNECT, PBXCTL_PRINT_OK,
	 "number disconnect <tenant> <number>"},
	{"number", "list", 1, PBX__V1__PROV_REQUEST__OP_NUMBER_LIST,
	 PBXCTL_PRINT_ITEMS, "number list <tenant>"},
	{"ext", "add", 3, PBX__V1__PROV_REQUEST__OP_EXTENSION_ADD,
	 PBXCTL_PRINT_OK, "ext add <tenant> <ext> <password | ->"},
	{"ext", "remove", 2, PBX__V1__PROV_REQUEST__OP_EXTENSION_REMOVE,
	 PBXCTL_PRINT_OK, "ext remove <tenant> <ext>"},
	{"ext", "list", 1, PBX__V1__PROV_REQUEST__OP_EXTENSION_LIST,
	 PBXCTL_PRINT_ITEMS, "ext list <tenant>"},
	{"prompt", "upload", 3, PBX__V1__PROV_REQUEST__OP_PROMPT_UPLOAD,
	 PBXCTL_PRINT_OK, "prompt upload <tenant> <name> <file.wav>"},
	{"prompt", "list", 1, PBX__V1__PROV_REQUEST__OP_PROMPT_LIST,
	 PBXCTL_PRINT_ITEMS, "prompt list <tenant>"},
	{"prompt", "delete", 2, PBX__V1__PROV_REQUEST__OP_PROMPT_DELETE,
	 PBXCTL_PRINT_OK, "prompt delete <tenant> <name>"},
	{"scenario", "put", 3, PBX__V1__PROV_REQUEST__OP_SCENARIO_PUT,
	 PBXCTL_PRINT_OK, "scenario put <tenant> <name> <file.json | ->"},
	{"scenario", "get", 2, PBX__V1__PROV_REQUEST__OP_SCENARIO_GET,
	 PBXCTL_PRINT_BODY, "scenario get <tenant> <name>"},
	{"scenario", "list", 1, PBX__V1__PROV_REQUEST__OP_SCENARIO_LIST,
	 PBXCTL_PRINT_ITEMS, "scenario list <tenant>"},
	{"scenario", "activate", 3,
	 PBX__V1__PROV_REQUEST__OP_SCENARIO_ACTIVATE, PBXCTL_PRINT_OK,
	 "scenario activate <tenant> <number> <scenario>"},
};

static int fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Options that take a value: "--opt VALUE" or "--opt=VALUE". Returns the
 * value and advances *i, or NULL when argv[*i] is not this option. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt,
			     bool *missing)
{
	size_t n = strlen(opt);
	const char *a = argv[*i];

	if (strncmp(a, opt, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static int parse_timeout(const char *s, int *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 600000)
		return -EINVAL;
	*ms = (int)v;
	return 0;
}

static const char *noun_alias(const char *noun)
{
	return strcmp(noun, "extension") ? noun : "ext";
}

/* Fills the request's oneof from the positional arguments after the
 * verb. The strings stay argv's: protobuf-c only reads them. */
static void build(struct pbxctl_cmd *cmd, const struct cmd_def *d,
		  char **a, const char *name, const char *domain)
{
	Pbx__V1__ProvRequest *q = &cmd->req;

	q->op_case = d->op;
	switch (d->op) {
	case PBX__V1__PROV_REQUEST__OP_TENANT_CREATE:
		pbx__v1__prov_request__tenant_create__init(
			&cmd->op.tenant_create);
		cmd->op.tenant_create.tenant = a[0];
		if (name)
			cmd->op.tenant_create.name = (char *)name;
		if (domain)
			cmd->op.tenant_create.domain = (char *)domain;
		q->tenant_create = &cmd->op.tenant_create;
		break;
	case PBX__V1__PROV_REQUEST__OP_TENANT_LIST:
	case PBX__V1__PROV_REQUEST__OP_TENANT_DELETE:
	case PBX__V1__PROV_REQUEST__OP_NUMBER_LIST:
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_LIST:
	case PBX__V1__PROV_REQUEST__OP_PROMPT_LIST:
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_LIST:
		pbx__v1__prov_request__tenant_ref__init(&cmd->op.tenant_ref);
		if (d->nargs)
			cmd->op.tenant_ref.tenant = a[0];
		/* Every TenantRef member of the oneof is the same pointer. */
		q->tenant_list = &cmd->op.tenant_ref;
		break;
	case PBX__V1__PROV_REQUEST__OP_NUMBER_CONNECT:
	case PBX__V1__PROV_REQUEST__OP_NUMBER_DISCONNECT:
		pbx__v1__prov_request__number__init(&cmd->op.number);
		cmd->op.number.tenant = a[0];
		cmd->op.number.number = a[1];
		q->number_connect = &cmd->op.number;
		break;
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_ADD:
		pbx__v1__prov_request__extension_add__init(
			&cmd->op.extension_add);
		cmd->op.extension_add.tenant = a[0];
		cmd->op.extension_add.ext = a[1];
		cmd->op.extension_add.password = a[2];
		cmd->password_stdin = !strcmp(a[2], "-");
		q->extension_add = &cmd->op.extension_add;
		break;
	case PBX__V1__PROV_REQUEST__OP_EXTENSION_REMOVE:
		pbx__v1__prov_request__extension_ref__init(
			&cmd->op.extension_ref);
		cmd->op.extension_ref.tenant = a[0];
		cmd->op.extension_ref.ext = a[1];
		q->extension_remove = &cmd->op.extension_ref;
		break;
	case PBX__V1__PROV_REQUEST__OP_PROMPT_UPLOAD:
		pbx__v1__prov_request__prompt_upload__init(
			&cmd->op.prompt_upload);
		cmd->op.prompt_upload.tenant = a[0];
		cmd->op.prompt_upload.name = a[1];
		cmd->file = a[2];
		q->prompt_upload = &cmd->op.prompt_upload;
		break;
	case PBX__V1__PROV_REQUEST__OP_PROMPT_DELETE:
		pbx__v1__prov_request__prompt_ref__init(&cmd->op.prompt_ref);
		cmd->op.prompt_ref.tenant = a[0];
		cmd->op.prompt_ref.name = a[1];
		q->prompt_delete = &cmd->op.prompt_ref;
		break;
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_PUT:
		pbx__v1__prov_request__scenario_put__init(
			&cmd->op.scenario_put);
		cmd->op.scenario_put.tenant = a[0];
		cmd->op.scenario_put.name = a[1];
		cmd->file = a[2];
		q->scenario_put = &cmd->op.scenario_put;
		break;
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_GET:
		pbx__v1__prov_request__scenario_ref__init(
			&cmd->op.scenario_ref);
		cmd->op.scenario_ref.tenant = a[0];
		cmd->op.scenario_ref.name = a[1];
		q->scenario_get = &cmd->op.scenario_ref;
		break;
	case PBX__V1__PROV_REQUEST__OP_SCENARIO_ACTIVATE:
		pbx__v1__prov_request__scenario_activate__init(
			&cmd->op.scenario_activate);
		cmd->op.scenario_activate.tenant = a[0];
		cmd->op.scenario_activate.number = a[1];
		cmd->op.scenario_activate.name = a[2];
		q->scenario_activate = &cmd->op.scenario_activate;
		break;
	default:
		q->op_case = PBX__V1__PROV_REQUEST__OP__NOT_SET;
		break;
	}
}

int pbxctl_cmd_parse(struct pbxctl_cmd *cmd, int argc, char **argv,
		     const char *env_server, char *err, size_t errsz)
{
	char *pos[MAX_POS];
	const char *name = NULL, *domain = NULL, *v;
	const struct cmd_def *d = NULL;
	bool opts_done = false, missing = false;
	int npos = 0;

	memset(cmd, 0, sizeof(*cmd));
	pbx__v1__prov_request__init(&cmd->req);
	cmd->server = env_server && env_server[0] ? env_server
						  : PBXCTL_SERVER_DEFAULT;
	cmd->timeout_ms = PBXCTL_TIMEOUT_DEFAULT;
	if (err && errsz)
		err[0] = '\0';

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
			if (npos == MAX_POS)
				return fail(err, errsz, "too many arguments");
			pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			return 1;
		} else if ((v = opt_value(argc, argv, &i, "--server",
					  &missing))) {
			if (!v[0])
				return fail(err, errsz,
					    "--server needs an endpoint");
			cmd->server = v;
		} else if ((v = opt_value(argc, argv, &i, "--timeout-ms",
					  &missing))) {
			if (parse_timeout(v, &cmd->timeout_ms))
				return fail(err, errsz,
					    "--timeout-ms takes 1 to 600000");
		} else if ((v = opt_value(argc, argv, &i, "--name",
					  &missing))) {
			name = v;
		} else if ((v = opt_value(argc, argv, &i, "--domain",
					  &missing))) {
			domain = v;
		} else if (missing) {
			return fail(err, errsz, "%s needs a value", a);
		} else {
			return fail(err, errsz, "unknown option %s", a);
		}
	}

	if (npos == 0)
		return fail(err, errsz, "no command given");
	if (npos == 1)
		return fail(err, errsz, "\"%s\" needs a subcommand", pos[0]);
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (!strcmp(cmds[k].noun, noun_alias(pos[0])) &&
		    !strcmp(cmds[k].verb, pos[1])) {
			d = &cmds[k];
			break;
		}
	}
	if (!d)
		return fail(err, errsz, "unknown command \"%s %s\"", pos[0],
			    pos[1]);
	if (npos - 2 != d->nargs)
		return fail(err, errsz, "%s arguments; usage: pbxctl %s",
			    npos - 2 < d->nargs ? "missing" : "too many",
			    d->synopsis);
	if ((name || domain) &&
	    d->op != PBX__V1__PROV_REQUEST__OP_TENANT_CREATE)
		return fail(err, errsz,
			    "--name and --domain belong to tenant create");
	cmd->print = d->print;
	build(cmd, d, pos + 2, name, domain);
	return 0;
}

/* Reads all of f into a NUL-terminated buffer of at most PBXCTL_FILE_MAX
 * bytes. */
static int read_all(FILE *f, char **bufp, size_t *lenp)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap + 1), *p;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len, f);

		len += n;
		if (len < cap) {
			if (ferror(f)) {
				free(buf);
				return -EIO;
			}
			break;
		}
		if (cap > PBXCTL_FILE_MAX) {
			free(buf);
			return -EFBIG;
		}
		cap *= 2;
		p = realloc(buf, cap + 1);
		if (!p) {
			free(buf);
			return -ENOMEM;
		}
		buf = p;
	}
	if (len > PBXCTL_FILE_MAX) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int load_password(struct pbxctl_cmd *cmd, char *err, size_t errsz)
{
	char line[256];
	size_t n;

	if (!fgets(line, sizeof(line), stdin))
		return fail(err, errsz, "no password on stdin");
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	cmd->data = strdup(line);
	explicit_bzero(line, sizeof(line));
	if (!cmd->data)
		return -ENOMEM;
	cmd->len = n;
	cmd->op.extension_add.password = cmd->data;
	return 0;
}

int pbxctl_cmd_load(struct pbxctl_cmd *cmd, char *err, size_t errsz)
{
	bool is_stdin;
	FILE *f;
	int rc;

	if (cmd->password_stdin)
		return load_password(cmd, err, errsz);
	if (!cmd->file)
		return 0;
	is_stdin = !strcmp(cmd->file, "-");
	if (is_stdin) {
		f = stdin;
	} else {
		struct stat st;

		/* Refuse before reading: a huge file should not be loaded
		 * into memory just to be turned away. */
		if (stat(cmd->file, &st) == 0 && S_ISREG(st.st_mode) &&
		    (unsigned long long)st.st_size > PBXCTL_FILE_MAX) {
			snprintf(err, errsz,
				 "%s is %llu bytes; pbxctl sends at most "
				 "20 MiB (the server accepts 16 MiB)",
				 cmd->file, (unsigned long long)st.st_size);
			return -EFBIG;
		}
		f = fopen(cmd->file, "rb");
		if (!f) {
			rc = -errno;
			snprintf(err, errsz, "cannot read %s: %s", cmd->file,
				 strerror(errno));
			return rc;
		}
	}
	rc = read_all(f, &cmd->data, &cmd->len);
	if (!is_stdin)
		fclose(f);
	if (rc) {
		snprintf(err, errsz, "cannot read %s: %s",
			 is_stdin ? "stdin" : cmd->file,
			 rc == -EFBIG ? "larger than 20 MiB" : strerror(-rc));
		return rc;
	}
	if (cmd->req.op_case == PBX__V1__PROV_REQUEST__OP_PROMPT_UPLOAD) {
		cmd->op.prompt_upload.wav.data = (uint8_t *)cmd->data;
		cmd->op.prompt_upload.wav.len = cmd->len;
	} else {
		/* A protobuf string ends at the first NUL here: refuse
		 * rather than send a silently truncated document. */
		if (memchr(cmd->data, '\0', cmd->len)) {
			snprintf(err, errsz, "%s contains a NUL byte; a "
					     "scenario is JSON text",
				 is_stdin ? "stdin" : cmd->file);
			return -EINVAL;
		}
		cmd->op.scenario_put.json = cmd->data;
	}
	return 0;
}

void pbxctl_cmd_reset(struct pbxctl_cmd *cmd)
{
	if (!cmd)
		return;
	if (cmd->data) {
		/* It may be a password. */
		explicit_bzero(cmd->data, cmd->len);
		free(cmd->data);
	}
	cmd->data = NULL;
	cmd->len = 0;
}

/* Writes text with each line prefixed, so a multi-line lint report reads
 * as one "pbxctl: ..." line per problem. */
static void print_lines(FILE *f, const char *prefix, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");

		if (n)
			fprintf(f, "%s%.*s\n", prefix, (int)n, p);
		p += n;
		if (*p)
			p++;
	}
}

enum pbxctl_exit pbxctl_cmd_output(const struct pbxctl_cmd *cmd,
				   const Pbx__V1__Envelope *env, FILE *out,
				   FILE *errf)
{
	const Pbx__V1__ProvResponse *r;

	if (!env) {
		fprintf(errf, "pbxctl: no answer from %s within %d ms\n",
			cmd->server, cmd->timeout_ms);
		return PBXCTL_EXIT_UNREACHABLE;
	}
	if (env->body_case == PBX__V1__ENVELOPE__BODY_ERROR && env->error) {
		fprintf(errf, "pbxctl: %s\n",
			env->error->text && env->error->text[0]
				? env->error->text
				: "the server could not read the request");
		return PBXCTL_EXIT_REFUSED;
	}
	if (env->body_case != PBX__V1__ENVELOPE__BODY_PROV_RESPONSE ||
	    !env->prov_response) {
		fprintf(errf, "pbxctl: %s answered with something other than "
			      "a provisioning response\n",
			cmd->server);
		return PBXCTL_EXIT_UNREACHABLE;
	}
	r = env->prov_response;
	if (r->status != PBX__V1__PROV_RESPONSE__STATUS__STATUS_OK) {
		if (r->error && r->error[0])
			print_lines(errf, "pbxctl: ", r->error);
		else
			fprintf(errf, "pbxctl: the server refused (status "
				      "%d)\n",
				(int)r->status);
		return PBXCTL_EXIT_REFUSED;
	}
	switch (cmd->print) {
	case PBXCTL_PRINT_ITEMS:
		for (size_t i = 0; i < r->n_items; i++)
			fprintf(out, "%s\n", r->items[i]);
		break;
	case PBXCTL_PRINT_BODY:
		if (r->body && r->body[0]) {
			size_t n = strlen(r->body);

			fputs(r->body, out);
			if (r->body[n - 1] != '\n')
				fputc('\n', out);
		}
		break;
	case PBXCTL_PRINT_OK:
		fputs("ok\n", out);
		break;
	}
	for (size_t i = 0; i < r->n_warnings; i++)
		fprintf(errf, "pbxctl: warning: %s\n", r->warnings[i]);
	return PBXCTL_EXIT_OK;
}
