/* Tenant objects (queues, lists, schedules, fax and voicemail boxes,
 * conference rooms): checks each JSON document against its kind's schema
 * and keeps the compiled objects in a hash by kind and name, which lint
 * and the walk read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_types.h"

#define OBJ_BUCKETS 64

/* Owner: the caller of scenario_objects_alloc. */
struct scenario_objects {
	struct scenario_object **bucket;
	size_t nbuckets;
	size_t count;
};

static uint32_t obj_hash(enum scenario_ref kind, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

int scenario_objects_alloc(struct scenario_objects **objsp)
{
	struct scenario_objects *objs;

	if (!objsp)
		return -EINVAL;
	objs = calloc(1, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	objs->nbuckets = OBJ_BUCKETS;
	objs->bucket = calloc(objs->nbuckets, sizeof(*objs->bucket));
	if (!objs->bucket) {
		free(objs);
		return -ENOMEM;
	}
	*objsp = objs;
	return 0;
}

static void obj_destroy(struct scenario_object *o)
{
	if (!o)
		return;
	if (o->kind == SCENARIO_REF_SCHEDULE)
		scenario_sched_free(o->sched);
	else if (o->kind == SCENARIO_REF_LIST)
		scenario_list_free(o->list);
	else if (o->kind == SCENARIO_REF_QUEUE) {
		free(o->queue.agents);
		free(o->queue.kinds);
		free(o->queue.nums);
	}
	json_decref(o->root);
	free(o->name);
	free(o);
}

void scenario_objects_free(struct scenario_objects *objs)
{
	if (!objs)
		return;
	for (size_t i = 0; i < objs->nbuckets; i++) {
		struct scenario_object *o = objs->bucket[i], *next;

		for (; o; o = next) {
			next = o->next;
			obj_destroy(o);
		}
	}
	free(objs->bucket);
	free(objs);
}

static bool s_email(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;

	return at && at > s && strchr(at, '.') && !strpbrk(s, " \t\r\n");
}

static bool s_digits(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static uint32_t num(json_t *o, const char *k, uint32_t def)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (uint32_t)json_integer_value(v) : def;
}

/* A T.30 station id: what fits the 20 characters of a TSI/CSI frame. */
static bool s_fax_ident(const char *s)
{
	size_t n = strlen(s);

	if (n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool flag(json_t *o, const char *k, bool def)
{
	json_t *v = json_object_get(o, k);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

/* A queue's agents: extensions ("101") and phone numbers through the
 * trunk ({"external": "+7 495 ..."} or {"mobile": "8 916 ..."}), each
 * number under its agent id (scenario_agent_number). */
static const char *const agent_kinds[] = {"external", "mobile"};

static int agent_of(json_t *v, const char **kind, const char **num)
{
	const char *k;
	json_t *n;

	if (json_is_string(v)) {
		*kind = "extension";
		return json_string_length(v) && json_string_value(v)[0] != '+'
			       ? 0
			       : -EINVAL;
	}
	if (!json_is_object(v) || json_object_size(v) != 1)
		return -EINVAL;
	json_object_foreach(v, k, n)
	{
		for (size_t i = 0; i < sizeof(agent_kinds) / sizeof(*agent_kinds);
		     i++) {
			if (!strcmp(k, agent_kinds[i]) && json_is_string(n)) {
				*kind = agent_kinds[i];
				*num = json_string_value(n);
				return 0;
			}
		}
	}
	return -EINVAL;
}

static int queue_agents(struct obj_queue *q, json_t *agents, const char *who,
			struct scenario_report *rep)
{
	size_t i, n = json_array_size(agents);
	unsigned errs = 0;
	json_t *v;

	q->nagents = n;
	if (!n)
		return 0;
	q->agents = calloc(n, sizeof(*q->agents));
	q->kinds = calloc(n, sizeof(*q->kinds));
	q->nums = calloc(n, SCENARIO_AGENT_NUMBER_MAX);
	if (!q->agents || !q->kinds || !q->nums)
		return -ENOMEM;
	json_array_foreach(agents, i, v)
	{
		const char *num = NULL;
		char *id = q->nums + i * SCENARIO_AGENT_NUMBER_MAX;

		if (agent_of(v, &q->kinds[i], &num)) {
			scenario_report_add(rep, true,
					    "%s: agent %zu must be an "
					    "extension, {\"external\": "
					    "number} or {\"mobile\": number}",
					    who, i + 1);
			errs++;
		} else if (!num) {
			q->agents[i] = json_string_value(v);
		} else if (scenario_agent_number(num, id,
						 SCENARIO_AGENT_NUMBER_MAX) <
			   0) {
			scenario_report_add(rep, true,
					    "%s: agent %zu: \"%s\" is not a "
					    "phone number with its country "
					    "code (10 to 15 digits)",
					    who, i + 1, num);
			errs++;
		} else {
			q->agents[i] = id;
		}
		for (size_t j = 0; !errs && j < i; j++) {
			if (!strcmp(q->agents[j], q->agents[i])) {
				scenario_report_add(rep, true,
						    "%s: agent %s is listed "
						    "twice",
						    who, q->agents[i]);
				errs++;
			}
		}
	}
	return errs ? -EINVAL : 0;
}

/* Kind-specific checks and compilation beyond the field table. */
static int obj_compile(struct scenario_object *o, const char *who,
		       struct scenario_report *rep)
{
	json_t *r = o->root, *agents;
	unsigned errs = 0;

	switch (o->kind) {
	case SCENARIO_REF_SCHEDULE:
		return scenario_sched_compile(&o->sched, r, who, rep);
	case SCENARIO_REF_LIST:
		return scenario_list_compile(&o->list, r, who, rep);
	case SCENARIO_REF_QUEUE:
		agents = json_object_get(r, "agents");
		o->queue.strategy = str(r, "strategy");
		if (!o->queue.strategy)
			o->queue.strategy = "ring_all";
		o->queue.max_wait_s = num(r, "max_wait", 600);
		o->queue.max_len = num(r, "max_len", 0);
		o->queue.agent_timeout_s = num(r, "agent_timeout", 15);
		o->queue.wrapup_s = num(r, "wrapup", 0);
		o->queue.periodic_s = num(r, "periodic_interval", 60);
		o->queue.moh = str(r, "moh");
		o->queue.periodic_prompt = str(r, "periodic_prompt");
		o->queue.entry_prompt = str(r, "entry_prompt");
		o->queue.announce_position =
			flag(r, "announce_position", false);
		o->queue.announce_wait = flag(r, "announce_wait", false);
		o->queue.join_empty = flag(r, "join_empty", true);
		o->queue.cb_key = str(r, "callback_key") ? str(r, "callback_key")[0]
							 : '\0';
		o->queue.cb_prompt = str(r, "callback_prompt");
		o->queue.cb_window_s = num(r, "callback_window", 3600);
		o->queue.cb_retries = num(r, "callback_retries", 2);
		o->queue.cb_retry_s = num(r, "callback_retry_interval", 60);
		return queue_agents(&o->queue, agents, who, rep);
	case SCENARIO_REF_FAX_BOX:
		if (str(r, "email") && !s_email(str(r, "email"))) {
			scenario_report_add(rep, true,
					    "%s: \"%s\" is not an e-mail "
					    "address",
					    who, str(r, "email"));
			errs++;
		}
		if (str(r, "ident") && !s_fax_ident(str(r, "ident"))) {
			scenario_report_add(rep, true,
					    "%s: ident must be at most 20 "
					    "printable ASCII characters (T.30)",
					    who);
			errs++;
		}
		o->fax.t38 = flag(r, "t38", true);
		o->fax.ecm = flag(r, "ecm", true);
		o->fax.pdf = !str(r, "format") || !strcmp(str(r, "format"), "pdf");
		o->fax.ident = str(r, "ident");
		break;
	case SCENARIO_REF_VOICEMAIL_BOX:
		if (str(r, "email") && !s_email(str(r, "email"))) {
			scenario_report_add(rep, true,
					    "%s: \"%s\" is not an e-mail "
					    "address",
					    who, str(r, "email"));
			errs++;
		}
		if (str(r, "pin") && !s_digits(str(r, "pin"), 4, 8)) {
			scenario_report_add(rep, true,
					    "%s: pin must be 4 to 8 digits",
					    who);
			errs++;
		}
		o->vm.max_s = num(r, "max_length", 120);
		o->vm.greeting = str(r, "greeting");
		break;
	case SCENARIO_REF_CONFERENCE:
		if (str(r, "pin") && !s_digits(str(r, "pin"), 1, 16)) {
			scenario_report_add(rep, true,
					    "%s: pin must be 1 to 16 digits",
					    who);
			errs++;
		}
		if (str(r, "moderator_pin") &&
		    !s_digits(str(r, "moderator_pin"), 1, 16)) {
			scenario_report_add(
				rep, true,
				"%s: moderator_pin must be 1 to 16 "
				"digits",
				who);
			errs++;
		}
		if (str(r, "pin") && str(r, "moderator_pin") &&
		    !strcmp(str(r, "pin"), str(r, "moderator_pin"))) {
			scenario_report_add(rep, true,
					    "%s: pin and moderator_pin must "
					    "differ",
					    who);
			errs++;
		}
		if (str(r, "number") && !s_digits(str(r, "number"), 1, 16)) {
			scenario_report_add(rep, true,
					    "%s: number must be 1 to 16 "
					    "digits",
					    who);
			errs++;
		}
		o->conf.number = str(r, "number");
		o->conf.pin = str(r, "pin");
		o->conf.moderator_pin = str(r, "moderator_pin");
		o->conf.pin_retries = num(r, "pin_retries", 3);
		o->conf.max_members = num(r, "max_members", 0);
		o->conf.join_muted = flag(r, "join_muted", false);
		o->conf.wait_moderator = flag(r, "wait_moderator", false);
		o->conf.end_with_moderator =
			flag(r, "end_with_moderator", false);
		o->conf.announce = flag(r, "announce", true);
		o->conf.moh = str(r, "moh");
		break;
	default:
		return -EINVAL;
	}
	return errs ? -EINVAL : 0;
}

/* Parses, checks and compiles one object; *op set on success only. */
static int obj_build(struct scenario_object **op, const char *kind,
		     const char *name, const char *json,
		     struct scenario_report *rep)
{
	const struct opt_spec *specs;
	struct scenario_object *o;
	json_error_t jerr;
	char who[160];
	enum scenario_ref k;
	int err;

	if (!kind || !json)
		return -EINVAL;
	if (scenario_ref_find(kind, &k) ||
	    !(specs = scenario_types_object(k))) {
		scenario_report_add(
			rep, true,
			"object: unknown kind \"%s\" (queue, list, "
			"schedule, fax_box, voicemail_box, "
			"conference)",
			kind);
		return -EINVAL;
	}
	if (name)
		snprintf(who, sizeof(who), "%s %.128s", kind, name);
	else
		snprintf(who, sizeof(who), "%s", kind);
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = k;
	o->root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!o->root || !json_is_object(o->root)) {
		if (o->root)
			scenario_report_add(rep, true,
					    "%s: must be a JSON object", who);
		else
			scenario_report_add(
				rep, true,
				"%s: invalid JSON at line %d column "
				"%d: %s",
				who, jerr.line, jerr.column, jerr.text);
		obj_destroy(o);
		return -EINVAL;
	}
	err = scenario_types_check(specs, o->root, who, kind, rep) ? -EINVAL
								   : 0;
	if (!err)
		err = obj_compile(o, who, rep);
	if (!err && k == SCENARIO_REF_SCHEDULE) {
		if (o->sched->override != SCHED_AUTO)
			scenario_report_add(rep, false,
					    "%s: is forced %s by its manual "
					    "override",
					    who,
					    o->sched->override == SCHED_OPEN
						    ? "open"
						    : "closed");
		else if (o->sched->never) {
			scenario_report_add(
				rep, true,
				"%s: can never match: no window or "
				"exception has working hours",
				who);
			err = -EINVAL;
		}
	}
	if (!err && k == SCENARIO_REF_LIST && !scenario_list_size(o->list) &&
	    !scenario_list_match(o->list, ""))
		scenario_report_add(rep, false, "%s: is empty", who);
	if (err) {
		obj_destroy(o);
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	*op = o;
	return 0;
}

int scenario_object_check(const char *kind, const char *json,
			  struct scenario_report *rep)
{
	struct scenario_object *o = NULL;
	int err;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	err = obj_build(&o, kind, NULL, json, rep);
	obj_destroy(o);
	return err;
}

int scenario_objects_add(struct scenario_objects *objs, const char *kind,
			 const char *name, const char *json,
			 struct scenario_report *rep)
{
	struct scenario_object *o = NULL, **pp;
	uint32_t h;
	int err;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (!objs || !name || !*name)
		return -EINVAL;
	err = obj_build(&o, kind, name, json, rep);
	if (err)
		return err;
	o->name = strdup(name);
	if (!o->name) {
		obj_destroy(o);
		return -ENOMEM;
	}
	h = obj_hash(o->kind, name);
	for (pp = &objs->bucket[h % objs->nbuckets]; *pp; pp = &(*pp)->next) {
		if ((*pp)->kind == o->kind && !strcmp((*pp)->name, name)) {
			struct scenario_object *old = *pp;

			o->next = old->next;
			*pp = o;
			obj_destroy(old);
			return 0;
		}
	}
	*pp = o;
	objs->count++;
	return 0;
}

int scenario_objects_remove(struct scenario_objects *objs, const char *kind,
			    const char *name)
{
	struct scenario_object **pp;
	enum scenario_ref k;

	if (!objs || !name || scenario_ref_find(kind, &k))
		return -EINVAL;
	for (pp = &objs->bucket[obj_hash(k, name) % objs->nbuckets]; *pp;
	     pp = &(*pp)->next) {
		if ((*pp)->kind == k && !strcmp((*pp)->name, name)) {
			struct scenario_object *old = *pp;

			*pp = old->next;
			obj_destroy(old);
			objs->count--;
			return 0;
		}
	}
	return -ENOENT;
}

const struct scenario_object *
scenario_objects_find(const struct scenario_objects *objs,
		      enum scenario_ref kind, const char *name)
{
	const struct scenario_object *o;

	if (!objs || !name)
		return NULL;
	for (o = objs->bucket[obj_hash(kind, name) % objs->nbuckets]; o;
	     o = o->next) {
		if (o->kind == kind && !strcmp(o->name, name))
			return o;
	}
	return NULL;
}

const struct scenario_object *
scenario_objects_room_by_number(const struct scenario_objects *objs,
				const char *number)
{
	const struct scenario_object *found = NULL;

	if (!objs || !number || !number[0])
		return NULL;
	/* A scan: a tenant has few rooms, and a dial is one lookup. */
	for (size_t b = 0; b < objs->nbuckets; b++) {
		for (const struct scenario_object *o = objs->bucket[b]; o;
		     o = o->next) {
			if (o->kind != SCENARIO_REF_CONFERENCE ||
			    !o->conf.number || strcmp(o->conf.number, number))
				continue;
			if (found)
				return NULL;
			found = o;
		}
	}
	return found;
}

const char *scenario_objects_room_sharing(const struct scenario_objects *objs,
					  const char *name,
					  const char **number)
{
	const struct scenario_object *room =
		scenario_objects_find(objs, SCENARIO_REF_CONFERENCE, name);

	if (!room || !room->conf.number || !room->conf.number[0])
		return NULL;
	for (size_t b = 0; b < objs->nbuckets; b++) {
		for (const struct scenario_object *o = objs->bucket[b]; o;
		     o = o->next) {
			if (o != room && o->kind == SCENARIO_REF_CONFERENCE &&
			    o->conf.number &&
			    !strcmp(o->conf.number, room->conf.number)) {
				*number = o->conf.number;
				return o->name;
			}
		}
	}
	return NULL;
}

size_t scenario_objects_count(const struct scenario_objects *objs)
{
	return objs ? objs->count : 0;
}

bool scenario_objects_has(const struct scenario_objects *objs,
			  enum scenario_ref kind, const char *name)
{
	return scenario_objects_find(objs, kind, name) != NULL;
}

bool scenario_objects_ref(enum scenario_ref kind, const char *name, void *arg)
{
	if (!scenario_ref_is_object(kind))
		return true;
	return scenario_objects_has(arg, kind, name);
}

int scenario_objects_schedule_open(const struct scenario_objects *objs,
				   const char *name, int64_t now_ms,
				   bool *open)
{
	const struct scenario_object *o;

	if (!objs || !name || !open)
		return -EINVAL;
	o = scenario_objects_find(objs, SCENARIO_REF_SCHEDULE, name);
	if (!o)
		return -ENOENT;
	*open = scenario_sched_open(o->sched, now_ms);
	return 0;
}

int scenario_objects_queue(const struct scenario_objects *objs,
			   const char *name, struct scenario_queue *q)
{
	const struct scenario_object *o;

	if (!objs || !name || !q)
		return -EINVAL;
	o = scenario_objects_find(objs, SCENARIO_REF_QUEUE, name);
	if (!o)
		return -ENOENT;
	q->strategy = o->queue.strategy;
	q->max_wait_s = o->queue.max_wait_s;
	q->max_len = o->queue.max_len;
	q->agent_timeout_s = o->queue.agent_timeout_s;
	q->wrapup_s = o->queue.wrapup_s;
	q->join_empty = o->queue.join_empty;
	q->nagents = o->queue.nagents;
	q->agents = o->queue.agents;
	q->kinds = o->queue.kinds;
	return 0;
}

int scenario_objects_conference(const struct scenario_objects *objs,
				const char *name, struct scenario_conference *cf)
{
	const struct scenario_object *o;

	if (!objs || !name || !cf)
		return -EINVAL;
	o = scenario_objects_find(objs, SCENARIO_REF_CONFERENCE, name);
	if (!o)
		return -ENOENT;
	cf->pin = o->conf.pin;
	cf->moderator_pin = o->conf.moderator_pin;
	cf->pin_retries = o->conf.pin_retries;
	cf->max_members = o->conf.max_members;
	cf->join_muted = o->conf.join_muted;
	cf->wait_moderator = o->conf.wait_moderator;
	cf->end_with_moderator = o->conf.end_with_moderator;
	cf->announce = o->conf.announce;
	cf->moh = o->conf.moh;
	return 0;
}

int scenario_objects_list_match(const struct scenario_objects *objs,
				const char *name, const char *caller, bool *in)
{
	const struct scenario_object *o;

	if (!objs || !name || !in)
		return -EINVAL;
	o = scenario_objects_find(objs, SCENARIO_REF_LIST, name);
	if (!o)
		return -ENOENT;
	*in = scenario_list_match(o->list, caller);
	return 0;
}
