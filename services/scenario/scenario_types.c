/* Scenario element catalogue: every node type with its options (JSON type,
 * required, bounds) and the outputs it may have. The parser and the linter
 * read only this table, so adding an option is one line here. */
#include <stddef.h>
#include <string.h>

#include "scenario_types.h"

static const struct opt_spec subscriber_opts[] = {
	{"kind", OPT_STRING, true, 0, 0},      /* internal/external/mobile */
	{"target", OPT_STRING, true, 0, 0},    /* extension or number */
	{"timeout", OPT_INT, false, 1, 600},   /* seconds before no_answer */
	{"caller_id", OPT_STRING, false, 0, 0},
	{NULL, 0, false, 0, 0}};
static const char *const subscriber_outs[] = {"no_answer", "busy",
					      "unavailable", "next", NULL};

static const struct opt_spec fax_opts[] = {{"box", OPT_STRING, true, 0, 0},
					   {NULL, 0, false, 0, 0}};
static const char *const no_outs[] = {NULL};

static const struct opt_spec queue_opts[] = {
	{"queue", OPT_STRING, true, 0, 0},
	{"max_wait", OPT_INT, false, 1, 86400},
	{"exit_keys", OPT_OBJECT, false, 0, 0},
	{"announce_position", OPT_BOOL, false, 0, 0},
	{"announce_wait", OPT_BOOL, false, 0, 0},
	{"periodic_prompt", OPT_STRING, false, 0, 0},
	{"periodic_interval", OPT_INT, false, 5, 3600},
	{"moh", OPT_STRING, false, 0, 0},
	{NULL, 0, false, 0, 0}};
static const char *const queue_outs[] = {"timeout", "exit_key:*", "full",
					 "no_agents", NULL};

static const struct opt_spec schedule_opts[] = {
	{"timezone", OPT_STRING, true, 0, 0},
	{"windows", OPT_ARRAY, false, 0, 0},
	{"exceptions", OPT_ARRAY, false, 0, 0},
	{"override", OPT_STRING, false, 0, 0},
	{NULL, 0, false, 0, 0}};
static const char *const schedule_outs[] = {"match", "no_match", NULL};

static const struct opt_spec list_opts[] = {
	{"mode", OPT_STRING, false, 0, 0}, /* black / white */
	{"entries", OPT_ARRAY, false, 0, 0},
	{"list", OPT_STRING, false, 0, 0},
	{"anonymous", OPT_STRING, false, 0, 0},
	{NULL, 0, false, 0, 0}};
static const char *const list_outs[] = {"in_list", "not_in_list", NULL};

static const struct opt_spec ivr_opts[] = {
	{"prompt", OPT_STRING, true, 0, 0},
	{"timeout", OPT_INT, false, 1, 60},
	{"retries", OPT_INT, false, 0, 10},
	{"invalid_prompt", OPT_STRING, false, 0, 0},
	{"extension_dialing", OPT_BOOL, false, 0, 0},
	{"extension_max_len", OPT_INT, false, 2, 8},
	{"inter_digit_ms", OPT_INT, false, 500, 10000},
	{NULL, 0, false, 0, 0}};
static const char *const ivr_outs[] = {"digit:*", "extension", "timeout",
				       "invalid", NULL};

static const struct opt_spec assistant_opts[] = {
	{"prompt", OPT_STRING, true, 0, 0},
	{"phrases", OPT_OBJECT, true, 0, 0},
	{"confidence", OPT_NUMBER, false, 0, 1},
	{"timeout", OPT_INT, false, 1, 60},
	{NULL, 0, false, 0, 0}};
static const char *const assistant_outs[] = {"phrase:*", "not_recognized",
					     "no_input", NULL};

static const struct opt_spec conference_opts[] = {
	{"room", OPT_STRING, true, 0, 0},
	{"pin", OPT_STRING, false, 0, 0},
	{"pin_retries", OPT_INT, false, 1, 10},
	{NULL, 0, false, 0, 0}};

static const struct opt_spec greeting_opts[] = {
	{"prompt", OPT_STRING, true, 0, 0}, {NULL, 0, false, 0, 0}};
static const char *const greeting_outs[] = {"next", NULL};

static const struct opt_spec voicemail_opts[] = {
	{"box", OPT_STRING, true, 0, 0},
	{"max_length", OPT_INT, false, 5, 3600},
	{NULL, 0, false, 0, 0}};

static const struct opt_spec crm_opts[] = {
	{"crm", OPT_STRING, true, 0, 0}, /* bitrix24 / amocrm / api */
	{"timeout", OPT_INT, false, 1, 600},
	{NULL, 0, false, 0, 0}};
static const char *const crm_outs[] = {"no_answer", "not_found",
				       "crm_error", "next", NULL};

static const struct opt_spec hangup_opts[] = {
	{"code", OPT_INT, false, 400, 699},
	{"reason", OPT_STRING, false, 0, 0},
	{NULL, 0, false, 0, 0}};

/* supported: executable on live calls by this build. */
static const struct type_spec types[NODE_TYPE_COUNT] = {
	[NODE_SUBSCRIBER] = {"subscriber", subscriber_opts, subscriber_outs,
			     false},
	[NODE_FAX] = {"fax", fax_opts, no_outs, false},
	[NODE_QUEUE] = {"queue", queue_opts, queue_outs, false},
	[NODE_SCHEDULE] = {"schedule", schedule_opts, schedule_outs, false},
	[NODE_LIST] = {"list", list_opts, list_outs, false},
	[NODE_IVR] = {"ivr", ivr_opts, ivr_outs, false},
	[NODE_ASSISTANT] = {"assistant", assistant_opts, assistant_outs,
			    false},
	[NODE_CONFERENCE] = {"conference", conference_opts, no_outs, false},
	[NODE_GREETING] = {"greeting", greeting_opts, greeting_outs, true},
	[NODE_VOICEMAIL] = {"voicemail", voicemail_opts, no_outs, false},
	[NODE_CRM] = {"crm", crm_opts, crm_outs, false},
	[NODE_HANGUP] = {"hangup", hangup_opts, no_outs, true},
};

const struct type_spec *scenario_types_get(enum node_type t)
{
	return (unsigned)t < NODE_TYPE_COUNT ? &types[t] : NULL;
}

int scenario_types_find(const char *name, enum node_type *t)
{
	for (int i = 0; i < NODE_TYPE_COUNT; i++) {
		if (!strcmp(types[i].name, name)) {
			*t = (enum node_type)i;
			return 0;
		}
	}
	return -1;
}

const char *scenario_type_name(enum node_type t)
{
	const struct type_spec *ts = scenario_types_get(t);

	return ts ? ts->name : "?";
}

bool scenario_type_supported(enum node_type t)
{
	const struct type_spec *ts = scenario_types_get(t);

	return ts && ts->supported;
}

bool scenario_types_output_allowed(const struct type_spec *ts,
				   const char *out)
{
	for (const char *const *o = ts->outputs; *o; o++) {
		size_t n = strlen(*o);

		if (n >= 2 && (*o)[n - 1] == '*' && (*o)[n - 2] == ':') {
			if (!strncmp(out, *o, n - 1) && out[n - 1])
				return true;
		} else if (!strcmp(out, *o)) {
			return true;
		}
	}
	return false;
}
