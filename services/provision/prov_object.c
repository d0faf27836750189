/* Tenant objects: the queues, lists, schedules, fax and voicemail boxes
 * and conference rooms that scenarios name. Each is one JSON document in
 * the field "<kind>:<name>" of pbx:{t}:objects, checked by the scenario
 * library before it is stored. Every change bumps pbx:{t}:objects_rev in
 * the same script, so a router that caches the compiled set by revision
 * never runs on a stale one. An object that a scenario still uses (its
 * latest version, or the version a number runs or is scheduled to run)
 * cannot be deleted: calls would reach a dangling reference. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"

#define OBJECT_MAX (1024u * 1024)
/* Users named in a refused delete; more are summed up. */
#define USERS_SHOWN 5

/* KEYS: objects hash, revision. ARGV: field, json. An unchanged document
 * is not a change: the revision stays, caches stay warm. Returns 1 when
 * written. */
static const char put_lua[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"redis.call('INCR', KEYS[2]) return 1";

/* KEYS: objects hash, revision. ARGV: field. Returns 1 when deleted. */
static const char del_lua[] =
	"if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end "
	"redis.call('INCR', KEYS[2]) return 1";

/* KEYS: objects hash, revision. ARGV: field, json. Writes only when the
 * object does not exist. Returns 1 when written. */
static const char ensure_lua[] =
	"if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"redis.call('INCR', KEYS[2]) return 1";

static int check_kind(struct prov_reply *r, const char *kind,
		      enum scenario_ref *k)
{
	if (!scenario_ref_find(kind, k) && scenario_ref_is_object(*k))
		return 0;
	return prov_fail(r, -EINVAL,
			 "kind must be one of queue, list, schedule, "
			 "fax_box, voicemail_box, conference");
}

/* The common prologue: tenant, kind, name (when need_name) and tenant
 * known. */
static int check_ref(struct provision *pv, struct prov_reply *r,
		     const char *tenant, const char *kind, const char *name,
		     bool need_name, enum scenario_ref *k)
{
	int err = prov_check_tenant(r, tenant);

	if (!err && (need_name || kind[0]))
		err = check_kind(r, kind, k);
	if (!err && need_name)
		err = prov_check_id(r, "object name", name);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	return err;
}

static int keys(const char *tenant, char hash[PBX_KEY_MAX],
		char rev[PBX_KEY_MAX])
{
	if (pbx_key(hash, PBX_KEY_MAX, tenant, "objects") ||
	    pbx_key(rev, PBX_KEY_MAX, tenant, "objects_rev"))
		return -EINVAL;
	return 0;
}

int prov_object_ensure(struct provision *pv, const char *tenant,
		       const char *kind, const char *name, const char *json)
{
	char hash[PBX_KEY_MAX], rev[PBX_KEY_MAX];
	long long written = 0;
	int err;

	if (keys(tenant, hash, rev))
		return -EINVAL;
	err = prov_store_int(pv, &written, "EVAL %s 2 %s %s %s:%s %s",
			     ensure_lua, hash, rev, kind, name, json);
	if (!err && written)
		PLOG_INFO("object %s %s created", kind, name);
	return err;
}

int prov_object_load(struct provision *pv, const char *tenant,
		     struct scenario_objects **objsp)
{
	struct scenario_objects *objs = NULL;
	struct scenario_report *rep = NULL;
	char key[PBX_KEY_MAX];
	redisReply *all = NULL;
	int err;

	*objsp = NULL;
	if (pbx_key(key, sizeof(key), tenant, "objects"))
		return -EINVAL;
	err = scenario_objects_alloc(&objs);
	if (err)
		return err;
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		err = -ENOMEM;
		goto out;
	}
	err = prov_store_cmd(pv, &all, "HGETALL %s", key);
	if (err)
		goto out;
	if (all->type != REDIS_REPLY_ARRAY) {
		err = -EIO;
		goto out;
	}
	for (size_t i = 0; i + 1 < all->elements && !err; i += 2) {
		const redisReply *f = all->element[i];
		const redisReply *v = all->element[i + 1];
		char kind[32];
		const char *colon;
		int e;

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		colon = strchr(f->str, ':');
		if (!colon || (size_t)(colon - f->str) >= sizeof(kind))
			continue;
		snprintf(kind, sizeof(kind), "%.*s", (int)(colon - f->str),
			 f->str);
		e = scenario_objects_add(objs, kind, colon + 1, v->str, rep);
		if (e == -EINVAL)
			PLOG_WARN("stored object %s %s no longer passes its "
				  "check; scenarios see it as missing",
				  kind, colon + 1);
		else
			err = e;
	}
out:
	freeReplyObject(all);
	free(rep);
	if (err)
		scenario_objects_free(objs);
	else
		*objsp = objs;
	return err;
}

/* A room's dialable number is unique in its tenant (a menu with
 * room_dialing could enter neither room): 0, or a conflict naming the
 * room that has it (the tenant's own object). */
static int room_number_free(struct provision *pv, struct prov_reply *r,
			    const char *tenant, const char *name,
			    const char *json)
{
	struct scenario_objects *objs;
	const char *other, *number = NULL;
	int err = prov_object_load(pv, tenant, &objs);

	if (err)
		return err;
	err = scenario_objects_add(objs, "conference", name, json, NULL);
	other = err ? NULL : scenario_objects_room_sharing(objs, name, &number);
	if (other)
		err = prov_fail(r, -EEXIST,
				"conference %s already has number %s", other,
				number);
	scenario_objects_free(objs);
	return err;
}

int prov_object_put(struct provision *pv,
		    const Pbx__V1__ProvRequest__ObjectPut *q,
		    struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *kind = prov_str(q->kind);
	const char *name = prov_str(q->name);
	const char *json = prov_str(q->json);
	char hash[PBX_KEY_MAX], rev[PBX_KEY_MAX], field[128];
	struct scenario_report *rep;
	enum scenario_ref k;
	size_t len = strlen(json);
	long long written = 0;
	int err;

	err = check_ref(pv, r, tenant, kind, name, true, &k);
	if (err)
		return err;
	if (len > OBJECT_MAX)
		return prov_fail(r, -EFBIG,
				 "object is %zu bytes; the limit is 1 MiB",
				 len);
	if (!len)
		return prov_fail(r, -EINVAL, "the object document is empty");
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return -ENOMEM;
	err = scenario_object_check(kind, json, rep);
	rep->text[sizeof(rep->text) - 1] = '\0';
	if (err == -EINVAL) {
		size_t n = strlen(rep->text);

		while (n && rep->text[n - 1] == '\n')
			rep->text[--n] = '\0';
		err = prov_fail(r, -EINVAL, "%s",
				n ? rep->text : "the object is not valid");
	} else if (!err && rep->text[0]) {
		err = prov_lint_warnings(r, rep->text);
	}
	free(rep);
	if (!err && k == SCENARIO_REF_CONFERENCE)
		err = room_number_free(pv, r, tenant, name, json);
	if (err)
		return err;
	if (keys(tenant, hash, rev))
		return -EINVAL;
	snprintf(field, sizeof(field), "%s:%s", kind, name);
	err = prov_store_int(pv, &written, "EVAL %s 2 %s %s %s %s", put_lua,
			     hash, rev, field, json);
	if (!err && written)
		PLOG_INFO("object %s %s stored", kind, name);
	return err;
}

int prov_object_get(struct provision *pv,
		    const Pbx__V1__ProvRequest__ObjectRef *q,
		    struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *kind = prov_str(q->kind);
	const char *name = prov_str(q->name);
	char hash[PBX_KEY_MAX], rev[PBX_KEY_MAX];
	enum scenario_ref k;
	int err;

	err = check_ref(pv, r, tenant, kind, name, true, &k);
	if (err)
		return err;
	if (keys(tenant, hash, rev))
		return -EINVAL;
	err = prov_store_str(pv, &r->body, "HGET %s %s:%s", hash, kind, name);
	if (!err && !r->body)
		err = prov_fail(r, -ENOENT, "%s %s does not exist", kind,
				name);
	return err;
}

int prov_object_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__ObjectRef *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *kind = prov_str(q->kind);
	struct prov_strv fields = {.v = NULL};
	char hash[PBX_KEY_MAX], rev[PBX_KEY_MAX];
	size_t klen = strlen(kind);
	enum scenario_ref k;
	int err;

	err = check_ref(pv, r, tenant, kind, "", false, &k);
	if (err)
		return err;
	if (keys(tenant, hash, rev))
		return -EINVAL;
	err = prov_store_list(pv, &fields, "HKEYS %s", hash);
	for (size_t i = 0; !err && i < fields.n; i++) {
		const char *f = fields.v[i];
		const char *colon = strchr(f, ':');

		if (!colon || (klen && ((size_t)(colon - f) != klen ||
					strncmp(f, kind, klen))))
			continue;
		err = prov_strv_add(&r->items, "%.*s %s", (int)(colon - f), f,
				    colon + 1);
	}
	prov_strv_reset(&fields);
	return err;
}

/* One scenario version to search for uses of an object. */
struct user_ctx {
	enum scenario_ref kind;
	const char *name;
	const char *node; /* the first node that uses it, borrowed */
	char node_buf[PBX_ID_MAX + 1];
};

static void on_ref(enum scenario_ref kind, const char *name,
		   const char *node, void *arg)
{
	struct user_ctx *u = arg;

	if (u->node || kind != u->kind || !name || strcmp(name, u->name))
		return;
	snprintf(u->node_buf, sizeof(u->node_buf), "%s", node ? node : "?");
	u->node = u->node_buf;
}

/* Structure-only parse: references are what is looked for here, so none
 * are checked. */
static bool any_ref(enum scenario_ref kind, const char *name, void *arg)
{
	(void)kind;
	(void)name;
	(void)arg;
	return true;
}

/* Does version v of scenario sc_name use (kind, name)? *node gets the
 * node id ("" when the document could only be searched as text). */
static int version_uses(struct provision *pv, const char *tenant,
			const char *sc_name, long long v,
			enum scenario_ref kind, const char *name, bool *uses,
			char node[PBX_ID_MAX + 1])
{
	struct user_ctx u = {.kind = kind, .name = name};
	struct scenario *sc = NULL;
	char *json = NULL, quoted[PBX_ID_MAX + 3];
	int err;

	*uses = false;
	node[0] = '\0';
	err = prov_scenario_load(pv, tenant, sc_name, v, &json);
	if (err || !json)
		return err;
	if (!scenario_parse(&sc, json, any_ref, NULL, NULL)) {
		scenario_refs(sc, on_ref, &u);
		*uses = u.node != NULL;
		if (u.node)
			snprintf(node, PBX_ID_MAX + 1, "%s", u.node);
	} else {
		/* Stored under an older, laxer library: err on the side of
		 * keeping the object if its name appears as a string. */
		snprintf(quoted, sizeof(quoted), "\"%s\"", name);
		*uses = strstr(json, quoted) != NULL;
	}
	scenario_free(sc);
	free(json);
	return 0;
}

int prov_object_users(struct provision *pv, const char *tenant, int kind,
		      const char *name, struct prov_strv *users)
{
	struct prov_strv names = {.v = NULL}, nums = {.v = NULL};
	char node[PBX_ID_MAX + 1];
	unsigned long long now = pbx_clock_now_ms();
	bool uses;
	int err;

	err = prov_store_members(pv, tenant, "scenarios", &names);
	for (size_t i = 0; !err && i < names.n; i++) {
		long long v = 0;

		err = prov_scenario_latest(pv, tenant, names.v[i], &v);
		if (!err && v)
			err = version_uses(pv, tenant, names.v[i], v,
					   (enum scenario_ref)kind, name, &uses,
					   node);
		if (!err && uses)
			err = prov_strv_add(users, "scenario %s v%lld%s%s%s",
					    names.v[i], v,
					    node[0] ? " (node " : "", node,
					    node[0] ? ")" : "");
	}
	if (!err)
		err = prov_store_members(pv, tenant, "numbers", &nums);
	for (size_t i = 0; !err && i < nums.n; i++) {
		struct prov_pair p;
		int e = prov_number_pair(pv, tenant, nums.v[i], now, &p);

		if (e == -ENOENT)
			continue;
		err = e;
		if (!err && p.scenario[0])
			err = version_uses(pv, tenant, p.scenario, p.version,
					   (enum scenario_ref)kind, name, &uses,
					   node);
		if (!err && p.scenario[0] && uses)
			err = prov_strv_add(users, "scenario %s v%lld (active "
					    "on %s)",
					    p.scenario, p.version, nums.v[i]);
		if (!err && p.pending_scenario[0])
			err = version_uses(pv, tenant, p.pending_scenario,
					   p.pending_version,
					   (enum scenario_ref)kind, name, &uses,
					   node);
		if (!err && p.pending_scenario[0] && uses)
			err = prov_strv_add(users, "scenario %s v%lld "
					    "(scheduled on %s)",
					    p.pending_scenario,
					    p.pending_version, nums.v[i]);
	}
	prov_strv_reset(&names);
	prov_strv_reset(&nums);
	return err;
}

/* The object fields that name a prompt or an extension: the walk hands
 * them to the media side as they are (queue music, a voicemail box's
 * greeting, the agents a queue rings), so they dangle like a scenario's
 * references do. */
static const struct obj_ref {
	const char *kind;
	const char *field;
	enum scenario_ref ref;
	bool array; /* an array of names */
} obj_refs[] = {
	{"queue", "moh", SCENARIO_REF_PROMPT, false},
	{"queue", "periodic_prompt", SCENARIO_REF_PROMPT, false},
	{"queue", "entry_prompt", SCENARIO_REF_PROMPT, false},
	{"queue", "callback_prompt", SCENARIO_REF_PROMPT, false},
	{"voicemail_box", "greeting", SCENARIO_REF_PROMPT, false},
	{"conference", "moh", SCENARIO_REF_PROMPT, false},
	{"queue", "agents", SCENARIO_REF_EXTENSION, true},
};

static bool names(const json_t *v, bool array, const char *name)
{
	size_t i;
	json_t *e;

	if (!array)
		return json_is_string(v) &&
		       !strcmp(json_string_value(v), name);
	json_array_foreach(v, i, e)
	{
		if (json_is_string(e) && !strcmp(json_string_value(e), name))
			return true;
	}
	return false;
}

/* Appends "<kind> <name> (<field>)" for every stored object whose
 * document names (kind, name) in one of obj_refs' fields. */
static int objects_using(struct provision *pv, const char *tenant,
			 enum scenario_ref kind, const char *name,
			 struct prov_strv *users)
{
	char key[PBX_KEY_MAX];
	redisReply *all = NULL;
	int err;

	if (pbx_key(key, sizeof(key), tenant, "objects"))
		return -EINVAL;
	err = prov_store_cmd(pv, &all, "HGETALL %s", key);
	if (err)
		return err;
	for (size_t i = 0; all->type == REDIS_REPLY_ARRAY &&
			   i + 1 < all->elements && !err;
	     i += 2) {
		const redisReply *f = all->element[i];
		const redisReply *v = all->element[i + 1];
		const char *colon;
		size_t klen;
		json_t *doc;

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    !(colon = strchr(f->str, ':')))
			continue;
		klen = (size_t)(colon - f->str);
		doc = json_loads(v->str, 0, NULL);
		for (size_t j = 0; doc && !err &&
				   j < sizeof(obj_refs) / sizeof(obj_refs[0]);
		     j++) {
			const struct obj_ref *o = &obj_refs[j];

			if (o->ref != kind || strlen(o->kind) != klen ||
			    strncmp(f->str, o->kind, klen) ||
			    !names(json_object_get(doc, o->field), o->array,
				   name))
				continue;
			err = prov_strv_add(users, "%s %s (%s)", o->kind,
					    colon + 1, o->field);
		}
		json_decref(doc);
	}
	freeReplyObject(all);
	return err;
}

int prov_object_refuse_used(struct provision *pv, struct prov_reply *r,
			    const char *tenant, int kind, const char *name)
{
	struct prov_strv users = {.v = NULL};
	char *list = NULL;
	size_t shown, len = 0, in_scenarios;
	FILE *f;
	int err;

	err = prov_object_users(pv, tenant, kind, name, &users);
	in_scenarios = users.n;
	if (!err)
		err = objects_using(pv, tenant, (enum scenario_ref)kind, name,
				    &users);
	if (err || !users.n)
		goto out;
	shown = users.n < USERS_SHOWN ? users.n : USERS_SHOWN;
	f = open_memstream(&list, &len);
	if (!f) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < shown; i++)
		fprintf(f, "%s%s", i ? ", " : "", users.v[i]);
	if (users.n > shown)
		fprintf(f, " and %zu more", users.n - shown);
	fclose(f);
	err = prov_fail(r, -EEXIST,
			"%s %s is used by %s; change those %sfirst",
			scenario_ref_name((enum scenario_ref)kind), name,
			list ? list : "?",
			in_scenarios == users.n ? "scenarios " : "");
	free(list);
out:
	prov_strv_reset(&users);
	return err;
}

int prov_object_delete(struct provision *pv,
		       const Pbx__V1__ProvRequest__ObjectRef *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *kind = prov_str(q->kind);
	const char *name = prov_str(q->name);
	char hash[PBX_KEY_MAX], rev[PBX_KEY_MAX];
	enum scenario_ref k;
	long long have = 0;
	int err;

	err = check_ref(pv, r, tenant, kind, name, true, &k);
	if (err)
		return err;
	if (keys(tenant, hash, rev))
		return -EINVAL;
	err = prov_store_int(pv, &have, "HEXISTS %s %s:%s", hash, kind, name);
	if (err)
		return err;
	if (!have)
		return prov_already_absent(r);
	/* Checked, then deleted: a put that starts using the object in
	 * between is not caught (provisioning is one admin at a time per
	 * tenant in practice; lint refuses the next put of that scenario
	 * if the object is gone by then). */
	err = prov_object_refuse_used(pv, r, tenant, k, name);
	if (err)
		return err;
	err = prov_store_int(pv, &have, "EVAL %s 2 %s %s %s:%s", del_lua,
			     hash, rev, kind, name);
	if (!err && have)
		PLOG_INFO("object %s %s deleted", kind, name);
	return err;
}
