/* Scenario element and object catalogue: every node type with its options
 * (JSON type, required, bounds, allowed values), the outputs it may have,
 * and the fields of every tenant object kind. The linter reads only these
 * tables, so adding an option is one line here (plus its use in
 * scenario_compile.c); docs/scenario.md mirrors them. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_types.h"

#define END                                                                   \
	{                                                                     \
		NULL, 0, false, 0, 0, NULL                                    \
	}

/* Call recording of a node that bridges the caller to a person
 * (subscriber, queue, crm); the same three at the document's top level
 * record every such node that does not say "record": false. */
#define REC_OPTS                                                              \
	{"record", OPT_BOOL, false, 0, 0, NULL},                              \
	    {"record_channels", OPT_INT, false, 1, 2, NULL},                  \
	    {"record_prompt", OPT_STRING, false, 0, 0, NULL}

static const struct opt_spec document_rec_opts[] = {REC_OPTS, END};

static const struct opt_spec subscriber_opts[] = {
	{"kind", OPT_STRING, true, 0, 0, "internal|external|mobile"},
	{"target", OPT_STRING, true, 0, 0, NULL},
	{"timeout", OPT_INT, false, 1, 600, NULL},
	{"caller_id", OPT_STRING, false, 0, 0, NULL},
	REC_OPTS,
	END};
static const char *const subscriber_outs[] = {"no_answer", "busy",
					      "unavailable", "next", NULL};

static const struct opt_spec fax_opts[] = {
	{"box", OPT_STRING, true, 0, 0, NULL}, END};
/* After the fax: "next" (any result), "failed" (T.30 did not end OK;
 * without it a failure takes "next" too). None: the worker hangs up. */
static const char *const fax_outs[] = {"next", "failed", NULL};
static const char *const no_outs[] = {NULL};

static const struct opt_spec queue_opts[] = {
	{"queue", OPT_STRING, true, 0, 0, NULL},
	{"max_wait", OPT_INT, false, 1, 86400, NULL},
	{"announce_position", OPT_BOOL, false, 0, 0, NULL},
	{"announce_wait", OPT_BOOL, false, 0, 0, NULL},
	{"periodic_prompt", OPT_STRING, false, 0, 0, NULL},
	{"periodic_interval", OPT_INT, false, 5, 3600, NULL},
	{"entry_prompt", OPT_STRING, false, 0, 0, NULL},
	{"moh", OPT_STRING, false, 0, 0, NULL},
	{"priority", OPT_INT, false, 0, 10, NULL},
	REC_OPTS,
	END};
static const char *const queue_outs[] = {"timeout", "exit_key:*", "full",
					 "no_agents", NULL};

static const struct opt_spec schedule_opts[] = {
	{"schedule", OPT_STRING, false, 0, 0, NULL},
	{"timezone", OPT_STRING, false, 0, 0, NULL},
	{"windows", OPT_ARRAY, false, 0, 0, NULL},
	{"exceptions", OPT_ARRAY, false, 0, 0, NULL},
	{"holidays", OPT_ARRAY, false, 0, 0, NULL},
	{"override", OPT_STRING, false, 0, 0, "open|closed|auto"},
	END};
static const char *const schedule_outs[] = {"match", "no_match", NULL};

static const struct opt_spec list_opts[] = {
	{"list", OPT_STRING, false, 0, 0, NULL},
	{"mode", OPT_STRING, false, 0, 0, "black|white"},
	{"entries", OPT_ARRAY, false, 0, 0, NULL},
	{"regions", OPT_OBJECT, false, 0, 0, NULL},
	{"anonymous", OPT_STRING, false, 0, 0, "in_list|not_in_list"},
	END};
static const char *const list_outs[] = {"in_list", "not_in_list", NULL};

static const struct opt_spec ivr_opts[] = {
	{"prompt", OPT_STRING, true, 0, 0, NULL},
	{"timeout", OPT_INT, false, 1, 60, NULL},
	{"retries", OPT_INT, false, 0, 10, NULL},
	{"invalid_prompt", OPT_STRING, false, 0, 0, NULL},
	{"barge_in", OPT_BOOL, false, 0, 0, NULL},
	{"extension_dialing", OPT_BOOL, false, 0, 0, NULL},
	{"extension_digits", OPT_STRING, false, 0, 0, NULL},
	{"extension_min_len", OPT_INT, false, 1, 16, NULL},
	{"extension_max_len", OPT_INT, false, 1, 16, NULL},
	{"inter_digit_ms", OPT_INT, false, 500, 10000, NULL},
	{"extension_timeout", OPT_INT, false, 1, 600, NULL},
	{"room_dialing", OPT_BOOL, false, 0, 0, NULL},
	END};
static const char *const ivr_outs[] = {"digit:*", "extension", "timeout",
				       "invalid", NULL};

static const struct opt_spec assistant_opts[] = {
	{"prompt", OPT_STRING, true, 0, 0, NULL},
	{"phrases", OPT_OBJECT, true, 0, 0, NULL},
	{"confidence", OPT_NUMBER, false, 0, 1, NULL},
	{"timeout", OPT_INT, false, 1, 60, NULL},
	{"retries", OPT_INT, false, 0, 5, NULL},
	{"retry_prompt", OPT_STRING, false, 0, 0, NULL},
	END};
static const char *const assistant_outs[] = {"phrase:*", "not_recognized",
					     "no_input", NULL};

static const struct opt_spec conference_opts[] = {
	{"room", OPT_STRING, true, 0, 0, NULL},
	{"pin_retries", OPT_INT, false, 1, 10, NULL},
	END};

static const struct opt_spec greeting_opts[] = {
	{"prompt", OPT_STRING, true, 0, 0, NULL}, END};
static const char *const greeting_outs[] = {"next", NULL};

static const struct opt_spec voicemail_opts[] = {
	{"box", OPT_STRING, true, 0, 0, NULL},
	{"max_length", OPT_INT, false, 5, 3600, NULL},
	{"greeting", OPT_STRING, false, 0, 0, NULL},
	END};

static const struct opt_spec crm_opts[] = {
	{"crm", OPT_STRING, true, 0, 0, "bitrix24|amocrm|api"},
	{"timeout", OPT_INT, false, 1, 600, NULL},
	{"lookup_timeout", OPT_INT, false, 500, 30000, NULL},
	{"caller_id", OPT_STRING, false, 0, 0, NULL},
	REC_OPTS,
	END};
static const char *const crm_outs[] = {"no_answer", "busy",	 "unavailable",
				       "not_found", "crm_error", "next",
				       NULL};

static const struct opt_spec hangup_opts[] = {
	{"code", OPT_INT, false, 400, 699, NULL},
	{"reason", OPT_STRING, false, 0, 0, NULL},
	{"cause", OPT_STRING, false, 0, 0,
	 "busy|unavailable|decline|not_found|forbidden|congestion|"
	 "no_answer"},
	END};

/* supported: the live path can execute it with the media commands of
 * pbx.v1 (Answer, Play, StopPlay, Ring, Timer, Record, ConfJoin,
 * FaxReceive, Listen; queues through the queue-manager, CRM lookups
 * through the crm-connector, speech through the asr-bridges): every type
 * now; the flag stays for the next element that lands before its
 * service. */
static const struct type_spec types[NODE_TYPE_COUNT] = {
	[NODE_SUBSCRIBER] = {"subscriber", subscriber_opts, subscriber_outs,
			     true, true},
	[NODE_FAX] = {"fax", fax_opts, fax_outs, true, true},
	[NODE_QUEUE] = {"queue", queue_opts, queue_outs, false, true},
	[NODE_SCHEDULE] = {"schedule", schedule_opts, schedule_outs, true,
			   false},
	[NODE_LIST] = {"list", list_opts, list_outs, true, false},
	[NODE_IVR] = {"ivr", ivr_opts, ivr_outs, true, true},
	[NODE_ASSISTANT] = {"assistant", assistant_opts, assistant_outs, true,
			    true},
	[NODE_CONFERENCE] = {"conference", conference_opts, no_outs, true,
			     true},
	[NODE_GREETING] = {"greeting", greeting_opts, greeting_outs, true,
			   true},
	[NODE_VOICEMAIL] = {"voicemail", voicemail_opts, no_outs, true, true},
	[NODE_CRM] = {"crm", crm_opts, crm_outs, true, true},
	[NODE_HANGUP] = {"hangup", hangup_opts, no_outs, true, false},
};

/* ---- objects ---- */
static const struct opt_spec queue_obj[] = {
	{"description", OPT_STRING, false, 0, 0, NULL},
	{"strategy", OPT_STRING, false, 0, 0,
	 "ring_all|round_robin|longest_idle|least_calls|random|linear"},
	{"max_wait", OPT_INT, false, 1, 86400, NULL},
	{"max_len", OPT_INT, false, 0, 10000, NULL},
	{"agents", OPT_ARRAY, false, 0, 0, NULL},
	{"agent_timeout", OPT_INT, false, 5, 600, NULL},
	{"wrapup", OPT_INT, false, 0, 3600, NULL},
	{"moh", OPT_STRING, false, 0, 0, NULL},
	{"announce_position", OPT_BOOL, false, 0, 0, NULL},
	{"announce_wait", OPT_BOOL, false, 0, 0, NULL},
	{"periodic_prompt", OPT_STRING, false, 0, 0, NULL},
	{"periodic_interval", OPT_INT, false, 5, 3600, NULL},
	{"entry_prompt", OPT_STRING, false, 0, 0, NULL},
	{"join_empty", OPT_BOOL, false, 0, 0, NULL},
	{"callback_key", OPT_STRING, false, 0, 0, "0|1|2|3|4|5|6|7|8|9|*|#"},
	{"callback_prompt", OPT_STRING, false, 0, 0, NULL},
	{"callback_window", OPT_INT, false, 60, 86400, NULL},
	{"callback_retries", OPT_INT, false, 0, 10, NULL},
	{"callback_retry_interval", OPT_INT, false, 5, 3600, NULL},
	END};

static const struct opt_spec list_obj[] = {
	{"description", OPT_STRING, false, 0, 0, NULL},
	{"mode", OPT_STRING, false, 0, 0, "black|white"},
	{"entries", OPT_ARRAY, false, 0, 0, NULL},
	{"regions", OPT_OBJECT, false, 0, 0, NULL},
	{"anonymous", OPT_STRING, false, 0, 0, "in_list|not_in_list"},
	END};

static const struct opt_spec schedule_obj[] = {
	{"description", OPT_STRING, false, 0, 0, NULL},
	{"timezone", OPT_STRING, true, 0, 0, NULL},
	{"windows", OPT_ARRAY, false, 0, 0, NULL},
	{"exceptions", OPT_ARRAY, false, 0, 0, NULL},
	{"holidays", OPT_ARRAY, false, 0, 0, NULL},
	{"override", OPT_STRING, false, 0, 0, "open|closed|auto"},
	END};

static const struct opt_spec fax_obj[] = {
	{"description", OPT_STRING, false, 0, 0, NULL},
	{"email", OPT_STRING, false, 0, 0, NULL},
	{"format", OPT_STRING, false, 0, 0, "pdf|tiff"},
	{"t38", OPT_BOOL, false, 0, 0, NULL},
	{"ecm", OPT_BOOL, false, 0, 0, NULL},
	{"ident", OPT_STRING, false, 0, 0, NULL},
	{"header", OPT_STRING, false, 0, 0, NULL},
	{"max_faxes", OPT_INT, false, 0, 100000, NULL},
	{"max_bytes", OPT_INT, false, 0, 2000000000, NULL},
	END};

static const struct opt_spec vm_obj[] = {
	{"description", OPT_STRING, false, 0, 0, NULL},
	{"email", OPT_STRING, false, 0, 0, NULL},
	{"max_length", OPT_INT, false, 5, 3600, NULL},
	{"greeting", OPT_STRING, false, 0, 0, NULL},
	{"pin", OPT_STRING, false, 0, 0, NULL},
	{"attach", OPT_BOOL, false, 0, 0, NULL},
	{"transcribe", OPT_BOOL, false, 0, 0, NULL},
	END};

static const struct opt_spec conf_obj[] = {
	{"description", OPT_STRING, false, 0, 0, NULL},
	{"pin", OPT_STRING, false, 0, 0, NULL},
	{"moderator_pin", OPT_STRING, false, 0, 0, NULL},
	{"pin_retries", OPT_INT, false, 1, 10, NULL},
	{"max_members", OPT_INT, false, 0, 1000, NULL},
	{"join_muted", OPT_BOOL, false, 0, 0, NULL},
	{"wait_moderator", OPT_BOOL, false, 0, 0, NULL},
	{"end_with_moderator", OPT_BOOL, false, 0, 0, NULL},
	{"announce", OPT_BOOL, false, 0, 0, NULL},
	{"moh", OPT_STRING, false, 0, 0, NULL},
	{"number", OPT_STRING, false, 0, 0, NULL},
	END};

const struct opt_spec *scenario_types_document_rec(void)
{
	return document_rec_opts;
}

const struct opt_spec *scenario_types_object(enum scenario_ref kind)
{
	switch (kind) {
	case SCENARIO_REF_QUEUE:
		return queue_obj;
	case SCENARIO_REF_LIST:
		return list_obj;
	case SCENARIO_REF_SCHEDULE:
		return schedule_obj;
	case SCENARIO_REF_FAX_BOX:
		return fax_obj;
	case SCENARIO_REF_VOICEMAIL_BOX:
		return vm_obj;
	case SCENARIO_REF_CONFERENCE:
		return conf_obj;
	default:
		return NULL;
	}
}

const struct type_spec *scenario_types_get(enum node_type t)
{
	return (unsigned)t < NODE_TYPE_COUNT ? &types[t] : NULL;
}

int scenario_type_find(const char *name, enum node_type *t)
{
	if (!name || !t)
		return -EINVAL;
	for (int i = 0; i < NODE_TYPE_COUNT; i++) {
		if (!strcmp(types[i].name, name)) {
			*t = (enum node_type)i;
			return 0;
		}
	}
	return -EINVAL;
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

bool scenario_types_output_allowed(const struct type_spec *ts, const char *out)
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

static const char *const ref_names[SCENARIO_REF_COUNT] = {
	[SCENARIO_REF_PROMPT] = "prompt",
	[SCENARIO_REF_QUEUE] = "queue",
	[SCENARIO_REF_EXTENSION] = "extension",
	[SCENARIO_REF_LIST] = "list",
	[SCENARIO_REF_SCHEDULE] = "schedule",
	[SCENARIO_REF_FAX_BOX] = "fax_box",
	[SCENARIO_REF_VOICEMAIL_BOX] = "voicemail_box",
	[SCENARIO_REF_CONFERENCE] = "conference",
	[SCENARIO_REF_FEATURE] = "feature",
};

const char *scenario_ref_name(enum scenario_ref kind)
{
	return (unsigned)kind < SCENARIO_REF_COUNT ? ref_names[kind] : "?";
}

int scenario_ref_find(const char *name, enum scenario_ref *kind)
{
	if (!name || !kind)
		return -EINVAL;
	for (int i = 0; i < SCENARIO_REF_COUNT; i++) {
		if (!strcmp(ref_names[i], name)) {
			*kind = (enum scenario_ref)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool scenario_ref_is_object(enum scenario_ref kind)
{
	return scenario_types_object(kind) != NULL;
}

static const char *opt_type_name(enum opt_type t)
{
	switch (t) {
	case OPT_STRING:
		return "a non-empty string";
	case OPT_INT:
		return "an integer";
	case OPT_BOOL:
		return "true or false";
	case OPT_NUMBER:
		return "a number";
	case OPT_ARRAY:
		return "a list";
	case OPT_OBJECT:
		return "an object";
	}
	return "?";
}

static bool opt_type_ok(enum opt_type t, json_t *v)
{
	switch (t) {
	case OPT_STRING:
		return json_is_string(v) && json_string_length(v) > 0;
	case OPT_INT:
		return json_is_integer(v);
	case OPT_BOOL:
		return json_is_boolean(v);
	case OPT_NUMBER:
		return json_is_number(v);
	case OPT_ARRAY:
		return json_is_array(v);
	case OPT_OBJECT:
		return json_is_object(v);
	}
	return false;
}

static bool value_allowed(const char *values, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = values; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static const struct opt_spec *find_opt(const struct opt_spec *specs,
				       const char *name)
{
	for (const struct opt_spec *o = specs; o->name; o++) {
		if (!strcmp(o->name, name))
			return o;
	}
	return NULL;
}

unsigned scenario_types_check(const struct opt_spec *specs, json_t *obj,
			      const char *who, const char *owner,
			      struct scenario_report *rep)
{
	unsigned errs = 0;
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const struct opt_spec *o = find_opt(specs, key);

		if (!o) {
			scenario_report_add(rep, true,
					    "%s: %s has no option "
					    "\"%s\"",
					    who, owner, key);
			errs++;
			continue;
		}
		if (!opt_type_ok(o->type, v)) {
			scenario_report_add(rep, true,
					    "%s: option \"%s\" must be %s",
					    who, key, opt_type_name(o->type));
			errs++;
			continue;
		}
		if (o->values &&
		    !value_allowed(o->values, json_string_value(v))) {
			char list[160];
			size_t k = 0;

			for (const char *p = o->values;
			     *p && k + 5 < sizeof(list); p++)
				list[k++] = *p == '|' ? ',' : *p;
			list[k] = '\0';
			scenario_report_add(rep, true,
					    "%s: option \"%s\" must be one of "
					    "%s, not \"%s\"",
					    who, key, list,
					    json_string_value(v));
			errs++;
			continue;
		}
		if (o->min != o->max &&
		    (o->type == OPT_INT || o->type == OPT_NUMBER)) {
			double d = json_number_value(v);

			if (d < (double)o->min || d > (double)o->max) {
				scenario_report_add(
					rep, true,
					"%s: option \"%s\" must be "
					"between %ld and %ld",
					who, key, o->min, o->max);
				errs++;
			}
		}
	}
	for (const struct opt_spec *o = specs; o->name; o++) {
		if (o->required && !json_object_get(obj, o->name)) {
			scenario_report_add(rep, true,
					    "%s: %s needs option \"%s\"", who,
					    owner, o->name);
			errs++;
		}
	}
	return errs;
}
