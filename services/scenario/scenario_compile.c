/* Scenario compile: pre-extracts every node's options into its typed
 * struct at parse time (defaults applied, inline schedules and lists
 * compiled, phrases and keys indexed), so the walk never looks at JSON.
 * Checks that need more than the option table (a phrase output without a
 * phrase, an inline schedule's windows) report here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"

/* Defaults, mirrored in docs/scenario.md. */
#define IVR_TIMEOUT_S 10
#define IVR_RETRIES 2
#define IVR_EXT_MIN 2
#define IVR_EXT_MAX 4
#define IVR_INTER_DIGIT_MS 2000
#define IVR_EXT_TIMEOUT_S 30
#define AS_CONFIDENCE 0.5
#define AS_TIMEOUT_S 5
#define AS_RETRIES 1
#define CRM_TIMEOUT_S 20
#define CRM_LOOKUP_MS 3000
#define HANGUP_CODE 603

static const char *opt_str(const struct scenario_node *nd, const char *name)
{
	json_t *v = nd->opts ? json_object_get(nd->opts, name) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long opt_int(const struct scenario_node *nd, const char *name, long def)
{
	json_t *v = nd->opts ? json_object_get(nd->opts, name) : NULL;

	return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

static int opt_bool(const struct scenario_node *nd, const char *name, int def)
{
	json_t *v = nd->opts ? json_object_get(nd->opts, name) : NULL;

	return json_is_boolean(v) ? json_is_true(v) : def;
}

static bool is_number(const char *s)
{
	char norm[40];
	size_t digits = 0;

	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (!strchr(" +()-.", *p))
			return false;
	}
	return digits >= 2 &&
	       scenario_number_normalise(s, norm, sizeof(norm)) > 0;
}

static const struct {
	const char *cause;
	unsigned code;
	const char *reason;
} causes[] = {
	{"busy", 486, "Busy Here"},
	{"unavailable", 480, "Temporarily Unavailable"},
	{"decline", 603, "Decline"},
	{"not_found", 404, "Not Found"},
	{"forbidden", 403, "Forbidden"},
	{"congestion", 503, "Service Unavailable"},
	{"no_answer", 480, "No Answer"},
};

static const char *default_reason(unsigned code)
{
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		if (causes[i].code == code)
			return causes[i].reason;
	}
	if (code == 600)
		return "Busy Everywhere";
	if (code == 408)
		return "Request Timeout";
	return code >= 500 ? "Server Error" : "Call Ended";
}

static unsigned compile_end(struct scenario_node *nd,
			    struct scenario_report *rep)
{
	const char *cause = opt_str(nd, "cause");
	json_t *code = json_object_get(nd->opts, "code");

	nd->end.code = (unsigned)opt_int(nd, "code", HANGUP_CODE);
	nd->end.reason = opt_str(nd, "reason");
	if (cause) {
		if (code) {
			scenario_report_add(rep, true,
					    "node %s: give either \"code\" or "
					    "\"cause\", not both",
					    nd->id);
			return 1;
		}
		for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]);
		     i++) {
			if (!strcmp(causes[i].cause, cause)) {
				nd->end.code = causes[i].code;
				if (!nd->end.reason)
					nd->end.reason = causes[i].reason;
			}
		}
	}
	if (!nd->end.reason)
		nd->end.reason = default_reason(nd->end.code);
	return 0;
}

static unsigned compile_subscriber(struct scenario_node *nd,
				   struct scenario_report *rep)
{
	const char *kind = opt_str(nd, "kind");
	const char *cid = opt_str(nd, "caller_id");
	unsigned errs = 0;

	nd->sub.target = opt_str(nd, "target");
	nd->sub.timeout_s = (uint32_t)opt_int(nd, "timeout", 0);
	nd->sub.caller_id = cid;
	if (kind && !strcmp(kind, "external"))
		nd->sub.dest = WALK_DEST_EXTERNAL;
	else if (kind && !strcmp(kind, "mobile"))
		nd->sub.dest = WALK_DEST_MOBILE;
	else
		nd->sub.dest = WALK_DEST_EXTENSION;
	if (!nd->sub.target)
		return 0; /* reported as missing */
	if (strlen(nd->sub.target) >= WALK_TARGET_MAX) {
		scenario_report_add(rep, true,
				    "node %s: target \"%s\" is longer than %d "
				    "characters",
				    nd->id, nd->sub.target,
				    WALK_TARGET_MAX - 1);
		errs++;
	} else if (nd->sub.dest != WALK_DEST_EXTENSION &&
		   !is_number(nd->sub.target)) {
		scenario_report_add(rep, true,
				    "node %s: target \"%s\" is not a phone "
				    "number",
				    nd->id, nd->sub.target);
		errs++;
	}
	if (cid && (strlen(cid) >= WALK_TARGET_MAX || !is_number(cid))) {
		scenario_report_add(rep, true,
				    "node %s: caller_id \"%s\" is not a phone "
				    "number",
				    nd->id, cid);
		errs++;
	}
	return errs;
}

static unsigned compile_ivr(struct scenario_node *nd,
			    struct scenario_report *rep)
{
	struct n_ivr *iv = &nd->ivr;
	const char *digits = opt_str(nd, "extension_digits");
	unsigned errs = 0;

	iv->prompt = opt_str(nd, "prompt");
	iv->invalid_prompt = opt_str(nd, "invalid_prompt");
	iv->timeout_ms =
		(uint32_t)opt_int(nd, "timeout", IVR_TIMEOUT_S) * 1000;
	iv->retries = (uint8_t)opt_int(nd, "retries", IVR_RETRIES);
	iv->barge_in = opt_bool(nd, "barge_in", 1);
	iv->ext_dialing = opt_bool(nd, "extension_dialing", 0);
	iv->room_dialing = opt_bool(nd, "room_dialing", 0);
	iv->ext_min = (uint8_t)opt_int(nd, "extension_min_len", IVR_EXT_MIN);
	iv->ext_max = (uint8_t)opt_int(nd, "extension_max_len", IVR_EXT_MAX);
	iv->inter_digit_ms =
		(uint32_t)opt_int(nd, "inter_digit_ms", IVR_INTER_DIGIT_MS);
	iv->ext_timeout_s =
		(uint32_t)opt_int(nd, "extension_timeout", IVR_EXT_TIMEOUT_S);
	if (iv->ext_max >= WALK_DIGITS_MAX)
		iv->ext_max = WALK_DIGITS_MAX - 1;
	if (iv->ext_min > iv->ext_max) {
		scenario_report_add(rep, true,
				    "node %s: extension_min_len is larger "
				    "than extension_max_len",
				    nd->id);
		errs++;
	}
	if (digits) {
		for (const char *p = digits; *p; p++) {
			if (*p < '0' || *p > '9') {
				scenario_report_add(
					rep, true,
					"node %s: extension_digits may hold "
					"only the digits 0-9",
					nd->id);
				errs++;
				break;
			}
			iv->ext_keys |= (uint16_t)(1u << (*p - '0'));
		}
	} else {
		/* Default: every digit that is not a menu choice, so choices
		 * and dialing never collide unless the admin says so. */
		for (int k = 0; k < 10; k++) {
			if (nd->key[k] < 0)
				iv->ext_keys |= (uint16_t)(1u << k);
		}
	}
	if (!iv->ext_dialing && !iv->room_dialing &&
	    (digits || json_object_get(nd->opts, "extension_max_len")))
		scenario_report_add(rep, false,
				    "node %s: extension options are set but "
				    "\"extension_dialing\" and \"room_dialing\" "
				    "are off",
				    nd->id);
	if (iv->room_dialing && !iv->ext_dialing &&
	    json_object_get(nd->opts, "extension_timeout"))
		scenario_report_add(rep, false,
				    "node %s: extension_timeout is set but "
				    "only rooms are dialled "
				    "(\"extension_dialing\" is off)",
				    nd->id);
	return errs;
}

static unsigned compile_assistant(struct scenario_node *nd,
				  struct scenario_report *rep)
{
	struct n_assistant *as = &nd->as;
	json_t *phrases = json_object_get(nd->opts, "phrases");
	json_t *confidence = json_object_get(nd->opts, "confidence");
	const char *name;
	unsigned errs = 0;
	json_t *syn;
	size_t i = 0;

	as->prompt = opt_str(nd, "prompt");
	as->retry_prompt = opt_str(nd, "retry_prompt");
	as->confidence = json_is_number(confidence)
				 ? json_number_value(confidence)
				 : AS_CONFIDENCE;
	as->timeout_ms = (uint32_t)opt_int(nd, "timeout", AS_TIMEOUT_S) * 1000;
	as->retries = (uint8_t)opt_int(nd, "retries", AS_RETRIES);
	as->nphrases = json_object_size(phrases);
	if (!as->nphrases) {
		if (phrases)
			scenario_report_add(
				rep, true,
				"node %s: \"phrases\" needs at least "
				"one phrase",
				nd->id);
		return phrases ? 1 : 0;
	}
	as->phrases = calloc(as->nphrases, sizeof(*as->phrases));
	as->phrase_out = calloc(as->nphrases, sizeof(*as->phrase_out));
	as->phrase_oname = calloc(as->nphrases, sizeof(*as->phrase_oname));
	if (!as->phrases || !as->phrase_out || !as->phrase_oname)
		return (unsigned)-ENOMEM;
	json_object_foreach(phrases, name, syn)
	{
		struct scenario_phrase *ph = &as->phrases[i];
		const char **list;
		char out[160];
		json_t *s;
		size_t k;

		ph->name = name;
		snprintf(out, sizeof(out), "phrase:%s", name);
		as->phrase_out[i] = scenario_node_out(nd, out);
		for (size_t o = 0; o < nd->nouts; o++) {
			if (!strcmp(nd->outs[o].name, out))
				as->phrase_oname[i] = nd->outs[o].name;
		}
		i++;
		if (!json_is_array(syn)) {
			scenario_report_add(rep, true,
					    "node %s: phrase \"%s\" must be a "
					    "list of synonyms",
					    nd->id, name);
			errs++;
			continue;
		}
		/* The name is a synonym too, so a bare phrase works. */
		list = calloc(json_array_size(syn) + 1, sizeof(*list));
		if (!list)
			return (unsigned)-ENOMEM;
		ph->synonyms = list;
		list[ph->nsynonyms++] = name;
		json_array_foreach(syn, k, s)
		{
			if (!json_is_string(s) || !json_string_length(s)) {
				scenario_report_add(
					rep, true,
					"node %s: synonym %zu of phrase "
					"\"%s\" "
					"must be a non-empty string",
					nd->id, k + 1, name);
				errs++;
				continue;
			}
			list[ph->nsynonyms++] = json_string_value(s);
		}
		if (as->phrase_out[i - 1] < 0) {
			scenario_report_add(rep, true,
					    "node %s: phrase \"%s\" has no "
					    "output \"phrase:%s\"",
					    nd->id, name, name);
			errs++;
		}
	}
	for (size_t o = 0; o < nd->nouts; o++) {
		const char *on = nd->outs[o].name;

		if (strncmp(on, "phrase:", 7) ||
		    json_object_get(phrases, on + 7))
			continue;
		scenario_report_add(rep, true,
				    "node %s: output \"%s\" names no phrase "
				    "of \"phrases\"",
				    nd->id, on);
		errs++;
	}
	return errs;
}

static unsigned compile_queue(struct scenario_node *nd)
{
	struct n_queue *q = &nd->queue;
	size_t k = 0;

	q->queue = opt_str(nd, "queue");
	q->max_wait_s = (uint32_t)opt_int(nd, "max_wait", 0);
	q->announce_position = opt_bool(nd, "announce_position", -1);
	q->announce_wait = opt_bool(nd, "announce_wait", -1);
	q->periodic_prompt = opt_str(nd, "periodic_prompt");
	q->periodic_s = (uint32_t)opt_int(nd, "periodic_interval", 0);
	q->moh = opt_str(nd, "moh");
	q->entry_prompt = opt_str(nd, "entry_prompt");
	q->priority = (int)opt_int(nd, "priority", 0);
	for (int i = 0; i < KEY_COUNT; i++) {
		if (nd->key[i] >= 0)
			q->exit_keys[k++] = scenario_key_chars[i];
	}
	q->exit_keys[k] = '\0';
	return 0;
}

/* schedule / list: either a reference ("schedule" / "list") or inline
 * fields, never both. */
static int compile_ref(struct scenario_node *nd, const char *refname,
		       const char *const *inl, struct scenario_report *rep)
{
	char who[96];
	bool any = false;
	int err;

	nd->ref.name = opt_str(nd, refname);
	for (const char *const *f = inl; *f; f++)
		any |= json_object_get(nd->opts, *f) != NULL;
	if (nd->ref.name && any) {
		scenario_report_add(rep, true,
				    "node %s: use either \"%s\" (a tenant "
				    "%s) or inline options, not both",
				    nd->id, refname, refname);
		return 1;
	}
	if (nd->ref.name)
		return 0;
	if (!any) {
		scenario_report_add(rep, true,
				    "node %s: %s needs option \"%s\" (or "
				    "inline %s options)",
				    nd->id, scenario_type_name(nd->type),
				    refname, refname);
		return 1;
	}
	snprintf(who, sizeof(who), "node %s", nd->id);
	if (nd->type == NODE_SCHEDULE)
		err = scenario_sched_compile((struct sched **)&nd->ref.inl,
					     nd->opts, who, rep);
	else
		err = scenario_list_compile((struct nlist **)&nd->ref.inl,
					    nd->opts, who, rep);
	if (err == -ENOMEM)
		return err;
	return err ? 1 : 0;
}

static unsigned compile_node(struct scenario_node *nd,
			     struct scenario_report *rep)
{
	static const char *const sched_inl[] = {"timezone",   "windows",
						"exceptions", "holidays",
						"override",   NULL};
	static const char *const list_inl[] = {"entries", "regions",
					       "anonymous", "mode", NULL};

	switch (nd->type) {
	case NODE_SUBSCRIBER:
		return compile_subscriber(nd, rep);
	case NODE_IVR:
		return compile_ivr(nd, rep);
	case NODE_ASSISTANT:
		return compile_assistant(nd, rep);
	case NODE_QUEUE:
		return compile_queue(nd);
	case NODE_SCHEDULE:
		return (unsigned)compile_ref(nd, "schedule", sched_inl, rep);
	case NODE_LIST:
		return (unsigned)compile_ref(nd, "list", list_inl, rep);
	case NODE_CRM:
		nd->crm.crm = opt_str(nd, "crm");
		nd->crm.timeout_s =
			(uint32_t)opt_int(nd, "timeout", CRM_TIMEOUT_S);
		nd->crm.lookup_ms =
			(uint32_t)opt_int(nd, "lookup_timeout", CRM_LOOKUP_MS);
		nd->crm.caller_id = opt_str(nd, "caller_id");
		if (nd->crm.caller_id && !is_number(nd->crm.caller_id)) {
			scenario_report_add(rep, true,
					    "node %s: caller_id \"%s\" is not "
					    "a phone number",
					    nd->id, nd->crm.caller_id);
			return 1;
		}
		return 0;
	case NODE_HANGUP:
		return compile_end(nd, rep);
	case NODE_GREETING:
		nd->box.box = opt_str(nd, "prompt");
		return 0;
	case NODE_FAX:
		nd->box.box = opt_str(nd, "box");
		return 0;
	case NODE_VOICEMAIL:
		nd->box.box = opt_str(nd, "box");
		nd->box.max_s = (uint32_t)opt_int(nd, "max_length", 0);
		nd->box.greeting = opt_str(nd, "greeting");
		return 0;
	case NODE_CONFERENCE:
		nd->box.box = opt_str(nd, "room");
		nd->box.pin_retries = (uint32_t)opt_int(nd, "pin_retries", 0);
		return 0;
	default:
		return 0;
	}
}

/* A node that bridges the caller to a person records as it says, else as
 * the document says (scenario-wide "record": every bridge of the
 * scenario, unless the node says "record": false). */
static void compile_rec(struct scenario_node *nd, const struct n_rec *doc)
{
	if (nd->type != NODE_SUBSCRIBER && nd->type != NODE_QUEUE &&
	    nd->type != NODE_CRM)
		return;
	nd->rec.on = opt_bool(nd, "record", doc->on) == 1;
	nd->rec.channels =
		(uint8_t)opt_int(nd, "record_channels", doc->channels);
	nd->rec.prompt = opt_str(nd, "record_prompt");
	if (!nd->rec.prompt)
		nd->rec.prompt = doc->prompt;
}

/* The document's own "record*" fields (checked by the structure lint). */
static void compile_doc_rec(struct scenario *sc)
{
	json_t *on = json_object_get(sc->root, "record");
	json_t *ch = json_object_get(sc->root, "record_channels");
	json_t *pr = json_object_get(sc->root, "record_prompt");

	sc->rec.on = json_is_true(on);
	sc->rec.channels =
		json_is_integer(ch) && json_integer_value(ch) == 2 ? 2 : 1;
	sc->rec.prompt = json_is_string(pr) ? json_string_value(pr) : NULL;
}

int scenario_compile(struct scenario *sc, struct scenario_report *rep)
{
	unsigned errs = 0;

	compile_doc_rec(sc);
	for (size_t i = 0; i < sc->n; i++) {
		unsigned e;

		/* Its options are not what the table says: reported once by
		 * the structure lint, left zero here. */
		if (sc->nodes[i].malformed)
			continue;
		e = compile_node(&sc->nodes[i], rep);
		if ((int)e < 0)
			return (int)e;
		errs += e;
		compile_rec(&sc->nodes[i], &sc->rec);
	}
	return (int)errs;
}

void scenario_compile_free(struct scenario_node *nd)
{
	switch (nd->type) {
	case NODE_ASSISTANT:
		for (size_t i = 0; nd->as.phrases && i < nd->as.nphrases; i++)
			free((void *)nd->as.phrases[i].synonyms);
		free(nd->as.phrases);
		free(nd->as.phrase_out);
		free(nd->as.phrase_oname);
		break;
	case NODE_SCHEDULE:
		scenario_sched_free(nd->ref.inl);
		break;
	case NODE_LIST:
		scenario_list_free(nd->ref.inl);
		break;
	default:
		break;
	}
}
