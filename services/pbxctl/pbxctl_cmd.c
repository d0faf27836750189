/* pbxctl commands: one table of commands and one of options, the argv
 * parser that fills a ProvRequest from them, the loader for files named on
 * the command line, and the printer that maps an answer to output and exit
 * code. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pbxctl_cmd.h"

/* Shown by the usage text and the command table alike. */
#define EXT_SET_USAGE                                                         \
	"ext set <tenant> <ext> [--outbound on|off] "                         \
	"[--caller-id NUMBER|none]\n"                                         \
	"                    [--dnd on|off] [--fwd-always TARGET|none] "      \
	"[--fwd-busy TARGET|none]\n"                                          \
	"                    [--fwd-noanswer TARGET|none] "                   \
	"[--fwd-timeout SECONDS]\n"                                          \
	"                    [--pickup-group NAME|none]"

#define MAX_POS 20 /* crm set: noun, verb, tenant, crm, 16 settings */

const char pbxctl_usage[] =
	"usage: pbxctl [--server ENDPOINT] [--key FILE] [--timeout-ms MS] "
	"<command>\n"
	"       pbxctl keygen <name> [--dir DIR]\n"
	"\n"
	"  tenant create <tenant> [--name NAME] [--domain DOMAIN]\n"
	"  tenant list\n"
	"  tenant delete <tenant>\n"
	"  tenant feature <tenant> <feature> on|off        (features: fax)\n"
	"  tenant limits <tenant> [--calls N] [--cps N] [--carrier-legs N]\n"
	"  tenant language <tenant> [en|ru]\n"
	"  number connect <tenant> <number>\n"
	"  number disconnect <tenant> <number>\n"
	"  number list <tenant>\n"
	"  ext add <tenant> <ext> <password | ->\n"
	"  ext remove <tenant> <ext>\n"
	"  ext list <tenant>\n"
	"  " EXT_SET_USAGE "\n"
	"  outbound set <tenant> [--national on|off] [--mobile on|off]\n"
	"                    [--international on|off] [--emergency on|off]\n"
	"                    [--max-legs N] [--cpm N] "
	"[--caller-id NUMBER|none]\n"
	"  outbound show <tenant>\n"
	"  prompt upload <tenant> <name> <file.wav>\n"
	"  prompt list <tenant>\n"
	"  prompt delete <tenant> <name>\n"
	"  scenario put <tenant> <name> <file.json | ->\n"
	"  scenario get <tenant> <name> [--version N]\n"
	"  scenario list <tenant>\n"
	"  scenario history <tenant> <name>\n"
	"  scenario diff <tenant> <name> <from> <to>\n"
	"  scenario activate <tenant> <number> <name> [--version N]\n"
	"                    [--at 2026-12-31T18:00:00Z | --at UNIX-MS]\n"
	"  scenario rollback <tenant> <number>\n"
	"  scenario simulate <tenant> <number> --caller NUMBER\n"
	"                    [--at 2026-12-31T19:00 [--tz Europe/Moscow]]\n"
	"                    [--dtmf D]... "
	"[--say TEXT]...\n"
	"                    [--agents free|busy|none|full]\n"
	"                    [--no-answer T]... [--busy T]... "
	"[--unavailable T]...\n"
	"                    [--crm-owner EXT|none|error]\n"
	"  object put <tenant> <kind> <name> <file.json | ->\n"
	"  object get <tenant> <kind> <name>\n"
	"  object list <tenant> [kind]\n"
	"  object delete <tenant> <kind> <name>\n"
	"        (kinds: queue list schedule fax_box voicemail_box "
	"conference)\n"
	"  queue agent login|logout|resume <tenant> <agent>\n"
	"  queue agent pause <tenant> <agent> [reason]\n"
	"  queue stats <tenant> [queue]\n"
	"  vm list <tenant> <box>\n"
	"  vm get <tenant> <box> <id> > message.wav\n"
	"  vm heard <tenant> <box> <id>\n"
	"  vm delete <tenant> <box> <id>\n"
	"  vm quota <tenant> [--messages N] [--bytes N]   (0: no limit)\n"
	"  notify webhook <tenant> <url> <secret | ->\n"
	"  notify webhook <tenant> off\n"
	"  notify show <tenant>\n"
	"  crm set <tenant> bitrix24|amocrm|api name=value... "
	"(name=-: value on stdin)\n"
	"  crm set <tenant> <crm> off\n"
	"  crm show <tenant> [crm]\n"
	"  crm map <tenant> <crm> <crm-user> <ext | off>\n"
	"  asr set <tenant> [engine=pocketsphinx|vosk] [url=ws(s)://...]\n"
	"                    [language=en|ru|...] [secret=TOKEN|-]\n"
	"  asr set <tenant> off\n"
	"  asr show <tenant>\n"
	"  cdr list <tenant> [--since TIME] [--until TIME] [--number N]\n"
	"                    [--caller N] [--disposition D] [--limit N] "
	"[--format json]\n"
	"  cdr show <tenant> <id> [--format json]\n"
	"  cdr webhook <tenant> on|off   (call records to the notify webhook)\n"
	"  fax list <tenant> <box>\n"
	"  fax get <tenant> <box> <id> [pdf|tif] > fax.pdf\n"
	"  fax delete <tenant> <box> <id>\n"
	"  trunk add <name> <host[:port]> [--username U --password P|-\n"
	"                    --realm R] [--format e164|national|local]\n"
	"  trunk remove <name>\n"
	"  trunk list\n"
	"  trunk assign <tenant> <name>...  (in order: the next one on failure)\n"
	"  trunk assign <tenant> default\n"
	"  trunk show <tenant>\n"
	"  worker list\n"
	"  worker drain <worker> [--exit]\n"
	"  worker undrain <worker>\n"
	"\n"
	"ENDPOINT defaults to $PBX_PROVISION, else " PBXCTL_SERVER_DEFAULT
	"; MS to 3000.\n"
	"FILE (a CURVE .key) defaults to $PBX_KEY, else $PBX_RUN/keys/"
	"operator.key,\nelse .run/keys/operator.key here or in the source tree "
	"of this binary;\nthe server's key is $PBX_SERVER_KEY, else "
	"provision.pub next to FILE.\n"
	"keygen writes DIR/<name>.key and .pub (DIR: $PBX_RUN/keys, else "
	".run/keys).\n"
	"A password of \"-\" is read from the first line of stdin.\n"
	"pbxctl --version prints the version.\n"
	"Exit: 0 ok, 1 refused by the server, 2 usage, 3 no answer.\n";

/* Command options (the global --server, --timeout-ms, --help aside). */
enum opt_id {
	O_NAME,
	O_DOMAIN,
	O_VERSION,
	O_AT,
	O_CALLER,
	O_AGENTS,
	O_CRM_OWNER,
	O_USERNAME,
	O_PASSWORD,
	O_FORMAT,
	O_REALM,
	O_DTMF,
	O_SAY,
	O_NO_ANSWER,
	O_BUSY,
	O_UNAVAILABLE,
	O_TZ,
	O_CALLS,
	O_CPS,
	O_CARRIER_LEGS,
	O_MESSAGES,
	O_BYTES,
	O_SINCE,
	O_UNTIL,
	O_NUMBER,
	O_DISPOSITION,
	O_LIMIT,
	/* outbound set, ext set: in the order of outbound_opts[] */
	O_NATIONAL,
	O_MOBILE,
	O_INTERNATIONAL,
	O_EMERGENCY,
	O_MAX_LEGS,
	O_CPM,
	O_CALLER_ID,
	O_OUTBOUND,
	O_DND,
	O_FWD_ALWAYS,
	O_FWD_BUSY,
	O_FWD_NOANSWER,
	O_FWD_TIMEOUT,
	O_PICKUP_GROUP,
	O_EXIT,
	O_COUNT
};

#define OPT(o) (UINT64_C(1) << (o))
_Static_assert(O_COUNT <= 64, "options are bits of a uint64_t");
#define OPT_FLAG (-2)
#define SIM_OPTS                                                              \
	(OPT(O_AT) | OPT(O_CALLER) | OPT(O_AGENTS) | OPT(O_CRM_OWNER) |       \
	 OPT(O_DTMF) | OPT(O_SAY) | OPT(O_NO_ANSWER) | OPT(O_BUSY) |          \
	 OPT(O_UNAVAILABLE) | OPT(O_TZ))

static const struct opt_def {
	const char *name;
	int repeat; /* enum pbxctl_repeat, -1 for a single value, or
		     * OPT_FLAG: no value */
} opt_defs[O_COUNT] = {
	[O_NAME] = {"--name", -1},
	[O_DOMAIN] = {"--domain", -1},
	[O_VERSION] = {"--version", -1},
	[O_AT] = {"--at", -1},
	[O_CALLER] = {"--caller", -1},
	[O_AGENTS] = {"--agents", -1},
	[O_CRM_OWNER] = {"--crm-owner", -1},
	[O_USERNAME] = {"--username", -1},
	[O_PASSWORD] = {"--password", -1},
	[O_FORMAT] = {"--format", -1},
	[O_REALM] = {"--realm", -1},
	[O_DTMF] = {"--dtmf", PBXCTL_REP_DTMF},
	[O_SAY] = {"--say", PBXCTL_REP_SAY},
	[O_NO_ANSWER] = {"--no-answer", PBXCTL_REP_NO_ANSWER},
	[O_BUSY] = {"--busy", PBXCTL_REP_BUSY},
	[O_UNAVAILABLE] = {"--unavailable", PBXCTL_REP_UNAVAILABLE},
	[O_TZ] = {"--tz", -1},
	[O_CALLS] = {"--calls", -1},
	[O_CPS] = {"--cps", -1},
	[O_CARRIER_LEGS] = {"--carrier-legs", -1},
	[O_MESSAGES] = {"--messages", -1},
	[O_BYTES] = {"--bytes", -1},
	[O_SINCE] = {"--since", -1},
	[O_UNTIL] = {"--until", -1},
	[O_NUMBER] = {"--number", -1},
	[O_DISPOSITION] = {"--disposition", -1},
	[O_LIMIT] = {"--limit", -1},
	[O_NATIONAL] = {"--national", -1},
	[O_MOBILE] = {"--mobile", -1},
	[O_INTERNATIONAL] = {"--international", -1},
	[O_EMERGENCY] = {"--emergency", -1},
	[O_MAX_LEGS] = {"--max-legs", -1},
	[O_CPM] = {"--cpm", -1},
	[O_CALLER_ID] = {"--caller-id", -1},
	[O_OUTBOUND] = {"--outbound", -1},
	[O_DND] = {"--dnd", -1},
	[O_FWD_ALWAYS] = {"--fwd-always", -1},
	[O_FWD_BUSY] = {"--fwd-busy", -1},
	[O_FWD_NOANSWER] = {"--fwd-noanswer", -1},
	[O_FWD_TIMEOUT] = {"--fwd-timeout", -1},
	[O_PICKUP_GROUP] = {"--pickup-group", -1},
	[O_EXIT] = {"--exit", OPT_FLAG},
};

/* The options of outbound set / ext set and the setting each makes
 * (services/scenario/scenario_outbound.c's table; the server checks the
 * values). */
static const struct {
	enum opt_id opt;
	const char *setting;
} outbound_opts[] = {
	{O_NATIONAL, "national"},   {O_MOBILE, "mobile"},
	{O_INTERNATIONAL, "international"}, {O_EMERGENCY, "emergency"},
	{O_MAX_LEGS, "max_legs"},   {O_CPM, "cpm"},
	{O_CALLER_ID, "caller_id"}, {O_OUTBOUND, "outbound"},
	{O_DND, "dnd"},		    {O_FWD_ALWAYS, "fwd_always"},
	{O_FWD_BUSY, "fwd_busy"},   {O_FWD_NOANSWER, "fwd_noanswer"},
	{O_FWD_TIMEOUT, "fwd_timeout"}, {O_PICKUP_GROUP, "pickup_group"},
};
#define EXT_OPTS                                                              \
	(OPT(O_OUTBOUND) | OPT(O_CALLER_ID) | OPT(O_DND) |                    \
	 OPT(O_FWD_ALWAYS) | OPT(O_FWD_BUSY) | OPT(O_FWD_NOANSWER) |          \
	 OPT(O_FWD_TIMEOUT) | OPT(O_PICKUP_GROUP))

#define OUTBOUND_OPTS                                                         \
	(OPT(O_NATIONAL) | OPT(O_MOBILE) | OPT(O_INTERNATIONAL) |             \
	 OPT(O_EMERGENCY) | OPT(O_MAX_LEGS) | OPT(O_CPM) | OPT(O_CALLER_ID))

/* One command: "<noun> <verb>", its positional arguments and options. */
struct cmd_def {
	const char *noun;
	const char *verb;
	int min_args, max_args;
	Pbx__V1__ProvRequest__OpCase op;
	enum pbxctl_print print;
	uint64_t opts; /* OPT() bits: O_COUNT is at most 64 */
	const char *synopsis;
};

#define OP(x) PBX__V1__PROV_REQUEST__OP_##x

static const struct cmd_def cmds[] = {
	{"tenant", "create", 1, 1, OP(TENANT_CREATE), PBXCTL_PRINT_OK,
	 OPT(O_NAME) | OPT(O_DOMAIN),
	 "tenant create <tenant> [--name NAME] [--domain DOMAIN]"},
	{"tenant", "list", 0, 0, OP(TENANT_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "tenant list"},
	{"tenant", "delete", 1, 1, OP(TENANT_DELETE), PBXCTL_PRINT_OK, 0,
	 "tenant delete <tenant>"},
	{"tenant", "feature", 3, 3, OP(TENANT_FEATURE), PBXCTL_PRINT_OK, 0,
	 "tenant feature <tenant> <feature> on|off"},
	{"tenant", "limits", 1, 1, OP(TENANT_LIMITS), PBXCTL_PRINT_ITEMS,
	 OPT(O_CALLS) | OPT(O_CPS) | OPT(O_CARRIER_LEGS),
	 "tenant limits <tenant> [--calls N] [--cps N] [--carrier-legs N]"},
	{"tenant", "language", 1, 2, OP(TENANT_LANGUAGE), PBXCTL_PRINT_ITEMS, 0,
	 "tenant language <tenant> [en|ru]"},
	{"tenant", "timezone", 1, 2, OP(TENANT_TIMEZONE), PBXCTL_PRINT_ITEMS, 0,
	 "tenant timezone <tenant> [<zone>, e.g. Europe/Moscow]"},
	{"number", "connect", 2, 2, OP(NUMBER_CONNECT), PBXCTL_PRINT_OK, 0,
	 "number connect <tenant> <number>"},
	{"number", "disconnect", 2, 2, OP(NUMBER_DISCONNECT), PBXCTL_PRINT_OK,
	 0, "number disconnect <tenant> <number>"},
	{"number", "list", 1, 1, OP(NUMBER_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "number list <tenant>"},
	{"ext", "add", 3, 3, OP(EXTENSION_ADD), PBXCTL_PRINT_OK, 0,
	 "ext add <tenant> <ext> <password | ->"},
	{"ext", "remove", 2, 2, OP(EXTENSION_REMOVE), PBXCTL_PRINT_OK, 0,
	 "ext remove <tenant> <ext>"},
	{"ext", "list", 1, 1, OP(EXTENSION_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "ext list <tenant>"},
	{"ext", "set", 2, 2, OP(EXTENSION_SET), PBXCTL_PRINT_ITEMS, EXT_OPTS,
	 EXT_SET_USAGE},
	{"outbound", "set", 1, 1, OP(OUTBOUND_SET), PBXCTL_PRINT_ITEMS,
	 OUTBOUND_OPTS,
	 "outbound set <tenant> [--national on|off] [--mobile on|off] "
	 "[--international on|off] [--emergency on|off] [--max-legs N] "
	 "[--cpm N] [--caller-id NUMBER|none]"},
	{"outbound", "show", 1, 1, OP(OUTBOUND_SET), PBXCTL_PRINT_ITEMS, 0,
	 "outbound show <tenant>"},
	{"prompt", "upload", 3, 3, OP(PROMPT_UPLOAD), PBXCTL_PRINT_OK, 0,
	 "prompt upload <tenant> <name> <file.wav>"},
	{"prompt", "list", 1, 1, OP(PROMPT_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "prompt list <tenant>"},
	{"prompt", "delete", 2, 2, OP(PROMPT_DELETE), PBXCTL_PRINT_OK, 0,
	 "prompt delete <tenant> <name>"},
	{"scenario", "put", 3, 3, OP(SCENARIO_PUT), PBXCTL_PRINT_OK, 0,
	 "scenario put <tenant> <name> <file.json | ->"},
	{"scenario", "get", 2, 2, OP(SCENARIO_GET), PBXCTL_PRINT_BODY,
	 OPT(O_VERSION), "scenario get <tenant> <name> [--version N]"},
	{"scenario", "list", 1, 1, OP(SCENARIO_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "scenario list <tenant>"},
	{"scenario", "history", 2, 2, OP(SCENARIO_HISTORY), PBXCTL_PRINT_ITEMS,
	 0, "scenario history <tenant> <name>"},
	{"scenario", "diff", 4, 4, OP(SCENARIO_DIFF), PBXCTL_PRINT_BODY, 0,
	 "scenario diff <tenant> <name> <from> <to>"},
	{"scenario", "activate", 3, 3, OP(SCENARIO_ACTIVATE), PBXCTL_PRINT_OK,
	 OPT(O_VERSION) | OPT(O_AT),
	 "scenario activate <tenant> <number> <name> [--version N] "
	 "[--at TIME]"},
	{"scenario", "rollback", 2, 2, OP(SCENARIO_ROLLBACK), PBXCTL_PRINT_OK,
	 0, "scenario rollback <tenant> <number>"},
	{"scenario", "simulate", 2, 2, OP(SCENARIO_SIMULATE),
	 PBXCTL_PRINT_BODY, SIM_OPTS,
	 "scenario simulate <tenant> <number> --caller NUMBER [--at TIME] "
	 "[--tz ZONE] "
	 "[--dtmf D]... [--say TEXT]... [--agents free|busy|none|full] "
	 "[--no-answer T]... [--busy T]... [--unavailable T]... "
	 "[--crm-owner EXT|none|error]"},
	{"object", "put", 4, 4, OP(OBJECT_PUT), PBXCTL_PRINT_OK, 0,
	 "object put <tenant> <kind> <name> <file.json | ->"},
	{"object", "get", 3, 3, OP(OBJECT_GET), PBXCTL_PRINT_BODY, 0,
	 "object get <tenant> <kind> <name>"},
	{"object", "list", 1, 2, OP(OBJECT_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "object list <tenant> [kind]"},
	{"object", "delete", 3, 3, OP(OBJECT_DELETE), PBXCTL_PRINT_OK, 0,
	 "object delete <tenant> <kind> <name>"},
	{"queue", "agent", 3, 4, OP(QUEUE_AGENT), PBXCTL_PRINT_OK, 0,
	 "queue agent login|logout|pause|resume <tenant> <agent> [reason]"},
	{"queue", "stats", 1, 2, OP(QUEUE_STATS), PBXCTL_PRINT_ITEMS, 0,
	 "queue stats <tenant> [queue]"},
	{"vm", "list", 2, 2, OP(VM_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "vm list <tenant> <box>"},
	{"vm", "get", 3, 3, OP(VM_GET), PBXCTL_PRINT_DATA, 0,
	 "vm get <tenant> <box> <id>"},
	{"vm", "heard", 3, 3, OP(VM_HEARD), PBXCTL_PRINT_OK, 0,
	 "vm heard <tenant> <box> <id>"},
	{"vm", "delete", 3, 3, OP(VM_DELETE), PBXCTL_PRINT_OK, 0,
	 "vm delete <tenant> <box> <id>"},
	{"vm", "unlock", 2, 2, OP(VM_UNLOCK), PBXCTL_PRINT_ITEMS, 0,
	 "vm unlock <tenant> <box>"},
	{"vm", "quota", 1, 1, OP(VM_QUOTA), PBXCTL_PRINT_ITEMS,
	 OPT(O_MESSAGES) | OPT(O_BYTES),
	 "vm quota <tenant> [--messages N] [--bytes N]"},
	{"notify", "webhook", 2, 3, OP(NOTIFY_SET), PBXCTL_PRINT_ITEMS, 0,
	 "notify webhook <tenant> <url> <secret | -> | notify webhook "
	 "<tenant> off"},
	{"notify", "show", 1, 1, OP(NOTIFY_GET), PBXCTL_PRINT_ITEMS, 0,
	 "notify show <tenant>"},
	{"crm", "set", 3, 18, OP(CRM_SET), PBXCTL_PRINT_ITEMS, 0,
	 "crm set <tenant> <crm> name=value... | crm set <tenant> <crm> off"},
	{"asr", "set", 2, 5, OP(ASR_SET), PBXCTL_PRINT_ITEMS, 0,
	 "asr set <tenant> name=value... (engine, url, language, secret) | "
	 "asr set <tenant> off"},
	{"asr", "show", 1, 1, OP(ASR_SET), PBXCTL_PRINT_ITEMS, 0,
	 "asr show <tenant>"},
	{"crm", "show", 1, 2, OP(CRM_SHOW), PBXCTL_PRINT_ITEMS, 0,
	 "crm show <tenant> [crm]"},
	{"crm", "map", 4, 4, OP(CRM_MAP), PBXCTL_PRINT_ITEMS, 0,
	 "crm map <tenant> <crm> <crm-user> <ext | off>"},
	{"conf", "list", 1, 1, OP(CONF_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "conf list <tenant>"},
	{"conf", "members", 2, 2, OP(CONF_MEMBERS), PBXCTL_PRINT_ITEMS, 0,
	 "conf members <tenant> <room>"},
	{"conf", "mute", 3, 3, OP(CONF_MUTE), PBXCTL_PRINT_OK, 0,
	 "conf mute <tenant> <room> <call-id>"},
	{"conf", "unmute", 3, 3, OP(CONF_UNMUTE), PBXCTL_PRINT_OK, 0,
	 "conf unmute <tenant> <room> <call-id>"},
	{"conf", "kick", 3, 3, OP(CONF_KICK), PBXCTL_PRINT_OK, 0,
	 "conf kick <tenant> <room> <call-id>"},
	{"rec", "list", 1, 1, OP(REC_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "rec list <tenant>"},
	{"rec", "get", 2, 2, OP(REC_GET), PBXCTL_PRINT_DATA, 0,
	 "rec get <tenant> <id>"},
	{"rec", "delete", 2, 2, OP(REC_DELETE), PBXCTL_PRINT_OK, 0,
	 "rec delete <tenant> <id>"},
	{"cdr", "list", 1, 1, OP(CDR_LIST), PBXCTL_PRINT_ITEMS,
	 OPT(O_SINCE) | OPT(O_UNTIL) | OPT(O_NUMBER) | OPT(O_CALLER) |
		 OPT(O_DISPOSITION) | OPT(O_LIMIT) | OPT(O_FORMAT),
	 "cdr list <tenant> [--since TIME] [--until TIME] [--number N] "
	 "[--caller N] [--disposition D] [--limit N] [--format json]"},
	{"cdr", "show", 2, 2, OP(CDR_SHOW), PBXCTL_PRINT_BODY, OPT(O_FORMAT),
	 "cdr show <tenant> <id> [--format json]"},
	{"cdr", "webhook", 2, 2, OP(CDR_WEBHOOK), PBXCTL_PRINT_OK, 0,
	 "cdr webhook <tenant> on|off"},
	{"fax", "list", 2, 2, OP(FAX_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "fax list <tenant> <box>"},
	{"fax", "get", 3, 4, OP(FAX_GET), PBXCTL_PRINT_DATA, 0,
	 "fax get <tenant> <box> <id> [pdf|tif]"},
	{"fax", "delete", 3, 3, OP(FAX_DELETE), PBXCTL_PRINT_OK, 0,
	 "fax delete <tenant> <box> <id>"},
	{"trunk", "add", 2, 2, OP(TRUNK_ADD), PBXCTL_PRINT_OK,
	 OPT(O_USERNAME) | OPT(O_PASSWORD) | OPT(O_FORMAT) | OPT(O_REALM),
	 "trunk add <name> <host[:port]> [--username U --password P|- "
	 "--realm R] [--format e164|national|local]"},
	{"trunk", "remove", 1, 1, OP(TRUNK_REMOVE), PBXCTL_PRINT_OK, 0,
	 "trunk remove <name>"},
	{"trunk", "list", 0, 0, OP(TRUNK_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "trunk list"},
	{"trunk", "assign", 2, 9, OP(TRUNK_ASSIGN), PBXCTL_PRINT_ITEMS, 0,
	 "trunk assign <tenant> <name>... (at most 4) | trunk assign "
	 "<tenant> default"},
	{"trunk", "show", 1, 1, OP(TRUNK_ASSIGN), PBXCTL_PRINT_ITEMS, 0,
	 "trunk show <tenant>"},
	{"worker", "list", 0, 0, OP(WORKER_LIST), PBXCTL_PRINT_ITEMS, 0,
	 "worker list"},
	{"worker", "drain", 1, 1, OP(WORKER_DRAIN), PBXCTL_PRINT_ITEMS,
	 OPT(O_EXIT), "worker drain <worker> [--exit]"},
	{"worker", "undrain", 1, 1, OP(WORKER_UNDRAIN), PBXCTL_PRINT_ITEMS, 0,
	 "worker undrain <worker>"},
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

/* crm set / asr set: the name=value items into crm_settings (a is the
 * parser's; argv's strings outlive it). "name=-": the value (a secret)
 * comes on stdin, out of the process list and shell history (one at
 * most). */
static int name_values(struct pbxctl_cmd *cmd, char **a, int n,
		       const char *what, char *err, size_t errsz)
{
	for (int k = 0; k < n; k++) {
		size_t len = strlen(a[k]);

		cmd->crm_settings[k] = a[k];
		if (len < 3 || strcmp(a[k] + len - 2, "=-"))
			continue;
		if (cmd->password_stdin)
			return fail(err, errsz,
				    "only one %s setting may come on stdin",
				    what);
		a[k][len - 1] = '\0';
		cmd->password_stdin = true;
		cmd->password_prefix = a[k];
		cmd->password_dst = &cmd->crm_settings[k];
	}
	return 0;
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

/* A limit: 0 to 1000000; an absent option is -1 (unchanged). */
/* A quota: absent -1 (unchanged), else 0..max. */
static int parse_quota(const char *s, long long max, int64_t *v)
{
	char *end;
	long long x;

	*v = -1;
	if (!s)
		return 0;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end || x < 0 || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int parse_limit(const char *s, int32_t *v)
{
	char *end;
	long x;

	*v = -1;
	if (!s)
		return 0;
	errno = 0;
	x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < 0 || x > 1000000)
		return -EINVAL;
	*v = (int32_t)x;
	return 0;
}

/* A version: "3" or "v3", 1 to 2^32-1; "latest" (if allowed) is 0. */
static int parse_version(const char *s, bool latest_ok, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (latest_ok && !strcmp(s, "latest")) {
		*v = 0;
		return 0;
	}
	if (s[0] == 'v')
		s++;
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x < 1 || x > 0xffffffffULL)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

/* Reads exactly n digits at *p into *v, advancing *p. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30,
				31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

int pbxctl_time_parse(const char *s, uint64_t *ms)
{
	int y, mo, d, h, mi, sec = 0, frac = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;
	struct tm tm;
	time_t t;

	if (!s || !s[0])
		return -EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno || *end || v == 0)
			return -EINVAL;
		*ms = v;
		return 0;
	}
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
		return -EINVAL;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
		return -EINVAL;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &sec))
			return -EINVAL;
		if (*p == '.') {
			int scale = 100;

			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
				frac += (*p - '0') * scale;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh))
			return -EINVAL;
		if (*p == ':')
			p++;
		if (!digits(&p, 2, &om))
			return -EINVAL;
	} else {
		return -EINVAL; /* no zone */
	}
	if (*p || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 ||
	    oh > 14 || om > 59)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	if (t <= 0)
		return -EINVAL;
	*ms = (uint64_t)t * 1000 + (uint64_t)frac;
	return 0;
}

static const char *noun_alias(const char *noun)
{
	return strcmp(noun, "extension") ? noun : "ext";
}

/* outbound set / ext set: one "name=value" per option given ("none"
 * clears a caller ID); returns how many. */
static size_t outbound_settings(struct pbxctl_cmd *cmd,
				const char *const *ov)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(outbound_opts) / sizeof(*outbound_opts);
	     i++) {
		const char *v = ov[outbound_opts[i].opt];

		if (!v)
			continue;
		if (outbound_opts[i].opt == O_CALLER_ID && !strcmp(v, "none"))
			v = "";
		snprintf(cmd->out_text[n], sizeof(cmd->out_text[n]), "%s=%.60s",
			 outbound_opts[i].setting, v);
		cmd->out_settings[n] = cmd->out_text[n];
		n++;
	}
	return n;
}

/* Fills the request's oneof from the positional arguments after the verb
 * and the options. The strings stay argv's: protobuf-c only reads them. */
static int build(struct pbxctl_cmd *cmd, const struct cmd_def *d, char **a,
		 int n, const char *const *ov, char *err, size_t errsz)
{
	Pbx__V1__ProvRequest *q = &cmd->req;
	uint32_t v = 0;

	q->op_case = d->op;
	switch (d->op) {
	case OP(TENANT_CREATE):
		pbx__v1__prov_request__tenant_create__init(
			&cmd->op.tenant_create);
		cmd->op.tenant_create.tenant = a[0];
		if (ov[O_NAME])
			cmd->op.tenant_create.name = (char *)ov[O_NAME];
		if (ov[O_DOMAIN])
			cmd->op.tenant_create.domain = (char *)ov[O_DOMAIN];
		q->tenant_create = &cmd->op.tenant_create;
		break;
	case OP(TENANT_LIST):
	case OP(TENANT_DELETE):
	case OP(NUMBER_LIST):
	case OP(EXTENSION_LIST):
	case OP(PROMPT_LIST):
	case OP(SCENARIO_LIST):
		pbx__v1__prov_request__tenant_ref__init(&cmd->op.tenant_ref);
		if (n)
			cmd->op.tenant_ref.tenant = a[0];
		/* Every TenantRef member of the oneof is the same pointer. */
		q->tenant_list = &cmd->op.tenant_ref;
		break;
	case OP(TENANT_FEATURE):
		pbx__v1__prov_request__tenant_feature__init(
			&cmd->op.tenant_feature);
		cmd->op.tenant_feature.tenant = a[0];
		cmd->op.tenant_feature.feature = a[1];
		if (!strcmp(a[2], "on"))
			cmd->op.tenant_feature.enabled = true;
		else if (strcmp(a[2], "off"))
			return fail(err, errsz,
				    "a feature is switched \"on\" or \"off\"");
		q->tenant_feature = &cmd->op.tenant_feature;
		break;
	case OP(TENANT_LANGUAGE):
		pbx__v1__prov_request__tenant_language__init(
			&cmd->op.tenant_language);
		cmd->op.tenant_language.tenant = a[0];
		if (n > 1)
			cmd->op.tenant_language.language = a[1];
		q->tenant_language = &cmd->op.tenant_language;
		break;
	case OP(TENANT_TIMEZONE):
		pbx__v1__prov_request__tenant_timezone__init(
			&cmd->op.tenant_timezone);
		cmd->op.tenant_timezone.tenant = a[0];
		if (n > 1)
			cmd->op.tenant_timezone.timezone = a[1];
		q->tenant_timezone = &cmd->op.tenant_timezone;
		break;
	case OP(TENANT_LIMITS):
		pbx__v1__prov_request__tenant_limits__init(
			&cmd->op.tenant_limits);
		cmd->op.tenant_limits.tenant = a[0];
		if (parse_limit(ov[O_CALLS], &cmd->op.tenant_limits.calls) ||
		    parse_limit(ov[O_CPS], &cmd->op.tenant_limits.cps) ||
		    parse_limit(ov[O_CARRIER_LEGS],
				&cmd->op.tenant_limits.carrier_legs))
			return fail(err, errsz,
				    "a limit is a whole number from 0 to "
				    "1000000");
		q->tenant_limits = &cmd->op.tenant_limits;
		break;
	case OP(NUMBER_CONNECT):
	case OP(NUMBER_DISCONNECT):
		pbx__v1__prov_request__number__init(&cmd->op.number);
		cmd->op.number.tenant = a[0];
		cmd->op.number.number = a[1];
		q->number_connect = &cmd->op.number;
		break;
	case OP(EXTENSION_ADD):
		pbx__v1__prov_request__extension_add__init(
			&cmd->op.extension_add);
		cmd->op.extension_add.tenant = a[0];
		cmd->op.extension_add.ext = a[1];
		cmd->op.extension_add.password = a[2];
		if (!strcmp(a[2], "-")) {
			cmd->password_stdin = true;
			cmd->password_dst = &cmd->op.extension_add.password;
		}
		q->extension_add = &cmd->op.extension_add;
		break;
	case OP(EXTENSION_REMOVE):
		pbx__v1__prov_request__extension_ref__init(
			&cmd->op.extension_ref);
		cmd->op.extension_ref.tenant = a[0];
		cmd->op.extension_ref.ext = a[1];
		q->extension_remove = &cmd->op.extension_ref;
		break;
	case OP(OUTBOUND_SET):
		pbx__v1__prov_request__outbound_set__init(
			&cmd->op.outbound_set);
		cmd->op.outbound_set.tenant = a[0];
		cmd->op.outbound_set.settings = cmd->out_settings;
		cmd->op.outbound_set.n_settings = outbound_settings(cmd, ov);
		q->outbound_set = &cmd->op.outbound_set;
		break;
	case OP(EXTENSION_SET):
		pbx__v1__prov_request__extension_set__init(
			&cmd->op.extension_set);
		cmd->op.extension_set.tenant = a[0];
		cmd->op.extension_set.ext = a[1];
		cmd->op.extension_set.settings = cmd->out_settings;
		cmd->op.extension_set.n_settings = outbound_settings(cmd, ov);
		q->extension_set = &cmd->op.extension_set;
		break;
	case OP(PROMPT_UPLOAD):
		pbx__v1__prov_request__prompt_upload__init(
			&cmd->op.prompt_upload);
		cmd->op.prompt_upload.tenant = a[0];
		cmd->op.prompt_upload.name = a[1];
		cmd->file = a[2];
		q->prompt_upload = &cmd->op.prompt_upload;
		break;
	case OP(PROMPT_DELETE):
		pbx__v1__prov_request__prompt_ref__init(&cmd->op.prompt_ref);
		cmd->op.prompt_ref.tenant = a[0];
		cmd->op.prompt_ref.name = a[1];
		q->prompt_delete = &cmd->op.prompt_ref;
		break;
	case OP(SCENARIO_PUT):
		pbx__v1__prov_request__scenario_put__init(
			&cmd->op.scenario_put);
		cmd->op.scenario_put.tenant = a[0];
		cmd->op.scenario_put.name = a[1];
		cmd->file = a[2];
		q->scenario_put = &cmd->op.scenario_put;
		break;
	case OP(SCENARIO_GET):
		pbx__v1__prov_request__scenario_ref__init(
			&cmd->op.scenario_ref);
		cmd->op.scenario_ref.tenant = a[0];
		cmd->op.scenario_ref.name = a[1];
		if (ov[O_VERSION]) {
			if (parse_version(ov[O_VERSION], false, &v))
				return fail(err, errsz,
					    "--version takes a version "
					    "number such as 3");
			cmd->op.scenario_ref.version = (uint32_t)v;
		}
		q->scenario_get = &cmd->op.scenario_ref;
		break;
	case OP(SCENARIO_HISTORY):
		pbx__v1__prov_request__scenario_history__init(
			&cmd->op.scenario_history);
		cmd->op.scenario_history.tenant = a[0];
		cmd->op.scenario_history.name = a[1];
		q->scenario_history = &cmd->op.scenario_history;
		break;
	case OP(SCENARIO_DIFF):
		pbx__v1__prov_request__scenario_diff__init(
			&cmd->op.scenario_diff);
		cmd->op.scenario_diff.tenant = a[0];
		cmd->op.scenario_diff.name = a[1];
		if (parse_version(a[2], true,
				  &cmd->op.scenario_diff.from_version) ||
		    parse_version(a[3], true,
				  &cmd->op.scenario_diff.to_version))
			return fail(err, errsz,
				    "versions are numbers such as 3 or v3, "
				    "or \"latest\"");
		q->scenario_diff = &cmd->op.scenario_diff;
		break;
	case OP(SCENARIO_ACTIVATE):
		pbx__v1__prov_request__scenario_activate__init(
			&cmd->op.scenario_activate);
		cmd->op.scenario_activate.tenant = a[0];
		cmd->op.scenario_activate.number = a[1];
		cmd->op.scenario_activate.name = a[2];
		if (ov[O_VERSION] &&
		    parse_version(ov[O_VERSION], false,
				  &cmd->op.scenario_activate.version))
			return fail(err, errsz,
				    "--version takes a version number such "
				    "as 3");
		if (ov[O_AT] &&
		    pbxctl_time_parse(ov[O_AT],
				      &cmd->op.scenario_activate.at_ms))
			return fail(err, errsz,
				    "--at takes a time with its zone, e.g. "
				    "2026-12-31T18:00:00Z or "
				    "2026-12-31T21:00:00+03:00, or Unix ms");
		q->scenario_activate = &cmd->op.scenario_activate;
		break;
	case OP(SCENARIO_ROLLBACK):
		pbx__v1__prov_request__scenario_rollback__init(
			&cmd->op.scenario_rollback);
		cmd->op.scenario_rollback.tenant = a[0];
		cmd->op.scenario_rollback.number = a[1];
		q->scenario_rollback = &cmd->op.scenario_rollback;
		break;
	case OP(SCENARIO_SIMULATE): {
		Pbx__V1__ProvRequest__ScenarioSimulate *s =
			&cmd->op.scenario_simulate;
		const char *agents = ov[O_AGENTS];
		const char *crm = ov[O_CRM_OWNER];

		pbx__v1__prov_request__scenario_simulate__init(s);
		s->tenant = a[0];
		s->number = a[1];
		if (!ov[O_CALLER] || !ov[O_CALLER][0])
			return fail(err, errsz,
				    "simulate needs --caller NUMBER (or "
				    "--caller anonymous)");
		s->caller = (char *)ov[O_CALLER];
		if (ov[O_AT])
			s->at = (char *)ov[O_AT];
		if (ov[O_TZ])
			s->timezone = (char *)ov[O_TZ];
		if (agents && strcmp(agents, "free") &&
		    strcmp(agents, "busy") && strcmp(agents, "none") &&
		    strcmp(agents, "full"))
			return fail(err, errsz,
				    "--agents is free, busy, none or full");
		if (agents)
			s->agents = (char *)agents;
		/* "none" reads better on a command line than an empty
		 * string, which is what the request uses for "not found". */
		if (crm)
			s->crm_owner = strcmp(crm, "none") ? (char *)crm : "";
		s->n_dtmf = cmd->n_rep[PBXCTL_REP_DTMF];
		s->dtmf = cmd->rep[PBXCTL_REP_DTMF];
		s->n_say = cmd->n_rep[PBXCTL_REP_SAY];
		s->say = cmd->rep[PBXCTL_REP_SAY];
		s->n_no_answer = cmd->n_rep[PBXCTL_REP_NO_ANSWER];
		s->no_answer = cmd->rep[PBXCTL_REP_NO_ANSWER];
		s->n_busy = cmd->n_rep[PBXCTL_REP_BUSY];
		s->busy = cmd->rep[PBXCTL_REP_BUSY];
		s->n_unavailable = cmd->n_rep[PBXCTL_REP_UNAVAILABLE];
		s->unavailable = cmd->rep[PBXCTL_REP_UNAVAILABLE];
		q->scenario_simulate = s;
		break;
	}
	case OP(OBJECT_PUT):
		pbx__v1__prov_request__object_put__init(&cmd->op.object_put);
		cmd->op.object_put.tenant = a[0];
		cmd->op.object_put.kind = a[1];
		cmd->op.object_put.name = a[2];
		cmd->file = a[3];
		q->object_put = &cmd->op.object_put;
		break;
	case OP(OBJECT_GET):
	case OP(OBJECT_LIST):
	case OP(OBJECT_DELETE):
		pbx__v1__prov_request__object_ref__init(&cmd->op.object_ref);
		cmd->op.object_ref.tenant = a[0];
		if (n > 1)
			cmd->op.object_ref.kind = a[1];
		if (n > 2)
			cmd->op.object_ref.name = a[2];
		/* Every ObjectRef member of the oneof is the same pointer. */
		q->object_get = &cmd->op.object_ref;
		break;
	case OP(TRUNK_ADD): {
		Pbx__V1__ProvRequest__TrunkAdd *t = &cmd->op.trunk_add;

		pbx__v1__prov_request__trunk_add__init(t);
		t->name = a[0];
		t->address = a[1];
		if (!ov[O_USERNAME] != !ov[O_PASSWORD])
			return fail(err, errsz,
				    "--username and --password go together");
		if (ov[O_USERNAME])
			t->username = (char *)ov[O_USERNAME];
		if (ov[O_PASSWORD]) {
			t->password = (char *)ov[O_PASSWORD];
			if (!strcmp(ov[O_PASSWORD], "-")) {
				cmd->password_stdin = true;
				cmd->password_dst = &t->password;
			}
		}
		if (ov[O_FORMAT])
			t->number_format = (char *)ov[O_FORMAT];
		if (ov[O_REALM])
			t->realm = (char *)ov[O_REALM];
		q->trunk_add = t;
		break;
	}
	case OP(QUEUE_AGENT):
		pbx__v1__prov_request__queue_agent__init(&cmd->op.queue_agent);
		cmd->op.queue_agent.action = a[0];
		cmd->op.queue_agent.tenant = a[1];
		cmd->op.queue_agent.agent = a[2];
		if (strcmp(a[0], "login") && strcmp(a[0], "logout") &&
		    strcmp(a[0], "pause") && strcmp(a[0], "resume"))
			return fail(err, errsz,
				    "an agent can login, logout, pause or "
				    "resume");
		if (n > 3 && strcmp(a[0], "pause"))
			return fail(err, errsz, "only a pause has a reason");
		if (n > 3)
			cmd->op.queue_agent.reason = a[3];
		q->queue_agent = &cmd->op.queue_agent;
		break;
	case OP(QUEUE_STATS):
		pbx__v1__prov_request__queue_stats__init(&cmd->op.queue_stats);
		cmd->op.queue_stats.tenant = a[0];
		if (n > 1)
			cmd->op.queue_stats.queue = a[1];
		q->queue_stats = &cmd->op.queue_stats;
		break;
	case OP(VM_LIST):
	case OP(VM_GET):
	case OP(VM_HEARD):
	case OP(VM_DELETE):
	case OP(VM_UNLOCK):
		pbx__v1__prov_request__voicemail__init(&cmd->op.vm);
		cmd->op.vm.tenant = a[0];
		cmd->op.vm.box = a[1];
		if (n > 2)
			cmd->op.vm.id = a[2];
		/* Every Voicemail member of the oneof is the same pointer. */
		q->vm_list = &cmd->op.vm;
		break;
	case OP(VM_QUOTA):
		pbx__v1__prov_request__vm_quota__init(&cmd->op.vm_quota);
		cmd->op.vm_quota.tenant = a[0];
		if (parse_quota(ov[O_MESSAGES], 1000000,
				&cmd->op.vm_quota.messages) ||
		    parse_quota(ov[O_BYTES], 1000000000000LL,
				&cmd->op.vm_quota.bytes))
			return fail(err, errsz,
				    "a quota is a whole number: --messages 0 "
				    "to 1000000, --bytes 0 to 1000000000000");
		q->vm_quota = &cmd->op.vm_quota;
		break;
	case OP(NOTIFY_SET):
		pbx__v1__prov_request__notify_webhook__init(
			&cmd->op.notify_webhook);
		cmd->op.notify_webhook.tenant = a[0];
		if (n == 2 && strcmp(a[1], "off"))
			return fail(err, errsz,
				    "a webhook needs its url and secret, or "
				    "\"off\"");
		if (n == 3) {
			cmd->op.notify_webhook.url = a[1];
			cmd->op.notify_webhook.secret = a[2];
			if (!strcmp(a[2], "-")) {
				cmd->password_stdin = true;
				cmd->password_dst =
					&cmd->op.notify_webhook.secret;
			}
		}
		q->notify_set = &cmd->op.notify_webhook;
		break;
	case OP(NOTIFY_GET):
		pbx__v1__prov_request__tenant_ref__init(&cmd->op.tenant_ref);
		cmd->op.tenant_ref.tenant = a[0];
		q->notify_get = &cmd->op.tenant_ref;
		break;
	case OP(CRM_SET):
		pbx__v1__prov_request__crm_set__init(&cmd->op.crm_set);
		cmd->op.crm_set.tenant = a[0];
		cmd->op.crm_set.crm = a[1];
		cmd->op.crm_set.clear = n == 3 && !strcmp(a[2], "off");
		if (!cmd->op.crm_set.clear) {
			cmd->op.crm_set.settings = cmd->crm_settings;
			cmd->op.crm_set.n_settings = (size_t)n - 2;
			if (name_values(cmd, a + 2, n - 2, "crm", err, errsz))
				return -EINVAL;
		}
		q->crm_set = &cmd->op.crm_set;
		break;
	case OP(ASR_SET):
		pbx__v1__prov_request__asr_set__init(&cmd->op.asr_set);
		cmd->op.asr_set.tenant = a[0];
		cmd->op.asr_set.clear = n == 2 && !strcmp(a[1], "off");
		if (!cmd->op.asr_set.clear) {
			cmd->op.asr_set.settings = cmd->crm_settings;
			cmd->op.asr_set.n_settings = (size_t)n - 1;
			if (name_values(cmd, a + 1, n - 1, "asr", err, errsz))
				return -EINVAL;
		}
		q->asr_set = &cmd->op.asr_set;
		break;
	case OP(CRM_SHOW):
		pbx__v1__prov_request__crm_ref__init(&cmd->op.crm_ref);
		cmd->op.crm_ref.tenant = a[0];
		if (n > 1)
			cmd->op.crm_ref.crm = a[1];
		q->crm_show = &cmd->op.crm_ref;
		break;
	case OP(CRM_MAP):
		pbx__v1__prov_request__crm_map__init(&cmd->op.crm_map);
		cmd->op.crm_map.tenant = a[0];
		cmd->op.crm_map.crm = a[1];
		cmd->op.crm_map.user = a[2];
		cmd->op.crm_map.ext = strcmp(a[3], "off") ? a[3] : (char *)"";
		q->crm_map = &cmd->op.crm_map;
		break;
	case OP(CONF_LIST):
	case OP(CONF_MEMBERS):
	case OP(CONF_MUTE):
	case OP(CONF_UNMUTE):
	case OP(CONF_KICK):
		pbx__v1__prov_request__conference__init(&cmd->op.conf);
		cmd->op.conf.tenant = a[0];
		if (n > 1)
			cmd->op.conf.room = a[1];
		if (n > 2)
			cmd->op.conf.call = a[2];
		/* Every Conference member of the oneof is the same pointer. */
		q->conf_list = &cmd->op.conf;
		break;
	case OP(REC_LIST):
	case OP(REC_GET):
	case OP(REC_DELETE):
		pbx__v1__prov_request__recording__init(&cmd->op.rec);
		cmd->op.rec.tenant = a[0];
		if (n > 1)
			cmd->op.rec.id = a[1];
		/* Every Recording member of the oneof is the same pointer. */
		q->rec_list = &cmd->op.rec;
		break;
	case OP(CDR_LIST):
	case OP(CDR_SHOW):
		pbx__v1__cdr_query__init(&cmd->op.cdr);
		cmd->op.cdr.tenant = a[0];
		if (n > 1)
			cmd->op.cdr.id = a[1];
		if ((ov[O_SINCE] &&
		     pbxctl_time_parse(ov[O_SINCE], &cmd->op.cdr.since_ms)) ||
		    (ov[O_UNTIL] &&
		     pbxctl_time_parse(ov[O_UNTIL], &cmd->op.cdr.until_ms)))
			return fail(err, errsz,
				    "--since / --until take a time like "
				    "2026-12-31T18:00:00Z or Unix ms");
		if (ov[O_LIMIT] && (parse_version(ov[O_LIMIT], false, &v) ||
				    v > 1000 || ov[O_LIMIT][0] == 'v'))
			return fail(err, errsz, "--limit is 1 to 1000");
		cmd->op.cdr.limit = ov[O_LIMIT] ? v : 0;
		if (ov[O_NUMBER])
			cmd->op.cdr.number = (char *)ov[O_NUMBER];
		if (ov[O_CALLER])
			cmd->op.cdr.caller = (char *)ov[O_CALLER];
		if (ov[O_DISPOSITION])
			cmd->op.cdr.disposition = (char *)ov[O_DISPOSITION];
		if (ov[O_FORMAT]) {
			if (strcmp(ov[O_FORMAT], "json"))
				return fail(err, errsz,
					    "--format is json (the default "
					    "is text)");
			cmd->op.cdr.format = (char *)ov[O_FORMAT];
			cmd->print = PBXCTL_PRINT_BODY;
		}
		/* Both members of the oneof are the same pointer. */
		q->cdr_list = &cmd->op.cdr;
		break;
	case OP(CDR_WEBHOOK):
		pbx__v1__cdr_webhook__init(&cmd->op.cdr_webhook);
		cmd->op.cdr_webhook.tenant = a[0];
		if (!strcmp(a[1], "on"))
			cmd->op.cdr_webhook.enabled = true;
		else if (strcmp(a[1], "off"))
			return fail(err, errsz,
				    "call records to the webhook are \"on\" "
				    "or \"off\"");
		q->cdr_webhook = &cmd->op.cdr_webhook;
		break;
	case OP(FAX_LIST):
	case OP(FAX_GET):
	case OP(FAX_DELETE):
		pbx__v1__prov_request__fax__init(&cmd->op.fax);
		cmd->op.fax.tenant = a[0];
		cmd->op.fax.box = a[1];
		if (n > 2)
			cmd->op.fax.id = a[2];
		if (n > 3)
			cmd->op.fax.format = a[3];
		/* Every Fax member of the oneof is the same pointer. */
		q->fax_list = &cmd->op.fax;
		break;
	case OP(WORKER_LIST):
	case OP(WORKER_DRAIN):
	case OP(WORKER_UNDRAIN):
		pbx__v1__prov_request__worker__init(&cmd->op.worker);
		if (n)
			cmd->op.worker.worker = a[0];
		cmd->op.worker.exit = ov[O_EXIT] != NULL;
		/* Every Worker member of the oneof is the same pointer. */
		q->worker_list = &cmd->op.worker;
		break;
	case OP(TRUNK_ASSIGN):
		pbx__v1__prov_request__trunk_assign__init(
			&cmd->op.trunk_assign);
		cmd->op.trunk_assign.tenant = a[0];
		/* "default": the tenant's list goes, the default trunk
		 * takes its calls again. The names are copied: a points
		 * into the parser's stack. */
		cmd->op.trunk_assign.clear = n == 2 && !strcmp(a[1], "default");
		if (!cmd->op.trunk_assign.clear && n > 1) {
			for (int k = 1; k < n; k++)
				cmd->crm_settings[k - 1] = a[k];
			cmd->op.trunk_assign.trunks = cmd->crm_settings;
			cmd->op.trunk_assign.n_trunks = (size_t)n - 1;
		}
		q->trunk_assign = &cmd->op.trunk_assign;
		break;
	case OP(TRUNK_REMOVE):
	case OP(TRUNK_LIST):
		pbx__v1__prov_request__trunk_ref__init(&cmd->op.trunk_ref);
		if (n)
			cmd->op.trunk_ref.name = a[0];
		/* Every TrunkRef member of the oneof is the same pointer. */
		q->trunk_remove = &cmd->op.trunk_ref;
		break;
	default:
		q->op_case = PBX__V1__PROV_REQUEST__OP__NOT_SET;
		break;
	}
	return 0;
}

/* Matches argv[*i] against the command options; stores the value. 1 when
 * it was one, 0 when not, -EINVAL (err set) when misused. */
static int take_option(struct pbxctl_cmd *cmd, int argc, char **argv, int *i,
		       const char **ov, uint64_t *given, char *err,
		       size_t errsz)
{
	for (int o = 0; o < O_COUNT; o++) {
		const struct opt_def *od = &opt_defs[o];
		bool missing = false;
		const char *v;

		if (od->repeat == OPT_FLAG) {
			if (strcmp(argv[*i], od->name))
				continue;
			if (*given & OPT(o))
				return fail(err, errsz, "%s is given twice",
					    od->name);
			ov[o] = od->name;
			*given |= OPT(o);
			return 1;
		}
		v = opt_value(argc, argv, i, od->name, &missing);

		if (missing)
			return fail(err, errsz, "%s needs a value", od->name);
		if (!v)
			continue;
		if (od->repeat >= 0) {
			size_t *n = &cmd->n_rep[od->repeat];

			if (*n == PBXCTL_REPEAT_MAX)
				return fail(err, errsz,
					    "%s is given more than %d times",
					    od->name, PBXCTL_REPEAT_MAX);
			cmd->rep[od->repeat][(*n)++] = (char *)v;
		} else if (*given & OPT(o)) {
			return fail(err, errsz, "%s is given twice", od->name);
		} else {
			ov[o] = v;
		}
		*given |= OPT(o);
		return 1;
	}
	return 0;
}

int pbxctl_cmd_parse(struct pbxctl_cmd *cmd, int argc, char **argv,
		     const char *env_server, char *err, size_t errsz)
{
	char *pos[MAX_POS];
	const char *ov[O_COUNT] = {NULL}, *v;
	const struct cmd_def *d = NULL;
	bool opts_done = false, missing = false, version = false;
	uint64_t given = 0;
	int npos = 0, rc;

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
			return PBXCTL_PARSE_HELP;
		} else if (!strcmp(a, "--version") && npos == 0 &&
			   (i + 1 == argc || argv[i + 1][0] == '-')) {
			/* pbxctl's own version, unless a command follows
			 * (then it is scenario get's --version missing its
			 * number). */
			version = true;
		} else if ((v = opt_value(argc, argv, &i, "--server",
					  &missing))) {
			if (!v[0])
				return fail(err, errsz,
					    "--server needs an endpoint");
			cmd->server = v;
		} else if ((v = opt_value(argc, argv, &i, "--key",
					  &missing))) {
			if (!v[0])
				return fail(err, errsz, "--key needs a file");
			cmd->key = v;
		} else if ((v = opt_value(argc, argv, &i, "--timeout-ms",
					  &missing))) {
			if (parse_timeout(v, &cmd->timeout_ms))
				return fail(err, errsz,
					    "--timeout-ms takes 1 to 600000");
		} else if (missing) {
			return fail(err, errsz, "%s needs a value", a);
		} else {
			rc = take_option(cmd, argc, argv, &i, ov, &given, err,
					 errsz);
			if (rc < 0)
				return rc;
			if (!rc)
				return fail(err, errsz, "unknown option %s",
					    a);
		}
	}

	if (version && npos == 0)
		return PBXCTL_PARSE_VERSION;
	if (version)
		return fail(err, errsz, "--version needs a value");
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
	if (npos - 2 < d->min_args || npos - 2 > d->max_args)
		return fail(err, errsz, "%s arguments; usage: pbxctl %s",
			    npos - 2 < d->min_args ? "missing" : "too many",
			    d->synopsis);
	for (int o = 0; o < O_COUNT; o++) {
		if ((given & OPT(o)) && !(d->opts & OPT(o)))
			return fail(err, errsz,
				    "%s does not belong to %s %s; usage: "
				    "pbxctl %s",
				    opt_defs[o].name, d->noun, d->verb,
				    d->synopsis);
	}
	cmd->print = d->print;
	return build(cmd, d, pos + 2, npos - 2, ov, err, errsz);
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
	/* Room for an OAuth token (crm set ... access_token=-). */
	char line[4096];
	const char *pre = cmd->password_prefix ? cmd->password_prefix : "";
	size_t n;

	if (!fgets(line, sizeof(line), stdin))
		return fail(err, errsz, "no password on stdin");
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	cmd->data = malloc(strlen(pre) + n + 1);
	if (cmd->data)
		snprintf(cmd->data, strlen(pre) + n + 1, "%s%s", pre, line);
	explicit_bzero(line, sizeof(line));
	if (!cmd->data)
		return -ENOMEM;
	cmd->len = strlen(cmd->data);
	*cmd->password_dst = cmd->data;
	return 0;
}

int pbxctl_cmd_load(struct pbxctl_cmd *cmd, char *err, size_t errsz)
{
	bool is_stdin;
	FILE *f;
	int rc;

	if (cmd->password_stdin && cmd->password_dst)
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
					     "document is JSON text",
				 is_stdin ? "stdin" : cmd->file);
			return -EINVAL;
		}
		if (cmd->req.op_case == PBX__V1__PROV_REQUEST__OP_OBJECT_PUT)
			cmd->op.object_put.json = cmd->data;
		else
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
	case PBXCTL_PRINT_DATA:
		if (r->data.len &&
		    fwrite(r->data.data, 1, r->data.len, out) != r->data.len) {
			fprintf(errf, "pbxctl: cannot write the output\n");
			return PBXCTL_EXIT_USAGE;
		}
		break;
	case PBXCTL_PRINT_OK:
		/* A write may say what it did ("main v3"); else just ok. */
		for (size_t i = 0; i < r->n_items; i++)
			fprintf(out, "%s\n", r->items[i]);
		if (!r->n_items)
			fputs("ok\n", out);
		break;
	}
	for (size_t i = 0; i < r->n_warnings; i++)
		fprintf(errf, "pbxctl: warning: %s\n", r->warnings[i]);
	return PBXCTL_EXIT_OK;
}
