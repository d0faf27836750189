/* Scenarios: a tenant's routing documents, kept as immutable versions.
 * Every put is linted first (prov_lint.c) and nothing is stored unless the
 * document passes; a put that changes the document creates the next
 * version, one that does not returns the latest. get, list, history and
 * diff read versions; which version a number runs is prov_number.c's. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "prov_diff.h"
#include "scenario.h"

#define SCENARIO_MAX (256u * 1024)
#define DEFAULT_QUEUE_JSON                                                    \
	"{\"description\":\"the tenant's default queue (created by number "  \
	"connect)\"}"

/* One put, atomically: compare the document with the latest version's,
 * and only when it differs take the next number and write the version.
 * Two concurrent puts therefore get two distinct, gap-free numbers, and a
 * retried put returns the version it made the first time. The version
 * hash key is derived from KEYS[1]: same hash tag, same Cluster slot.
 * KEYS: head, name set. ARGV: name, json, sha1, now_ms, note.
 * Returns {version, created 0/1}. */
static const char put_lua[] =
	"local latest = tonumber(redis.call('HGET', KEYS[1], 'latest')) or 0 "
	"if latest > 0 and redis.call('HGET', KEYS[1] .. ':v' .. latest, "
	"'sha1') == ARGV[3] then return {latest, 0} end "
	"local v = redis.call('HINCRBY', KEYS[1], 'latest', 1) "
	"local vk = KEYS[1] .. ':v' .. v "
	"redis.call('HSET', vk, 'json', ARGV[2], 'created_ms', ARGV[4], "
	"'sha1', ARGV[3]) "
	"if ARGV[5] ~= '' then redis.call('HSET', vk, 'note', ARGV[5]) end "
	"redis.call('HSET', KEYS[1], 'updated_ms', ARGV[4]) "
	"redis.call('SADD', KEYS[2], ARGV[1]) "
	"return {v, 1}";

static int sha1_hex(char out[41], const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) ||
	    mdlen != 20)
		return -EIO;
	for (unsigned int i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = '\0';
	return 0;
}

int prov_scenario_latest(struct provision *pv, const char *tenant,
			 const char *name, long long *latest)
{
	char key[PBX_KEY_MAX];

	*latest = 0;
	if (pbx_key(key, sizeof(key), tenant, "scenario:%s", name))
		return -EINVAL;
	return prov_store_int(pv, latest, "HGET %s latest", key);
}

int prov_scenario_load(struct provision *pv, const char *tenant,
		       const char *name, long long version, char **jsonp)
{
	char key[PBX_KEY_MAX];

	*jsonp = NULL;
	if (pbx_key(key, sizeof(key), tenant, "scenario:%s:v%lld", name,
		    version))
		return -EINVAL;
	return prov_store_str(pv, jsonp, "HGET %s json", key);
}

int prov_scenario_store(struct provision *pv, const char *tenant,
			const char *name, const char *json, const char *note,
			struct prov_reply *r, long long *version,
			bool *created)
{
	char head[PBX_KEY_MAX], set[PBX_KEY_MAX], now[24], sha[41];
	redisReply *rep = NULL;
	int err;

	err = prov_lint(pv, tenant, json, r);
	if (err)
		return err;
	err = sha1_hex(sha, json, strlen(json));
	if (err)
		return err;
	if (pbx_key(head, sizeof(head), tenant, "scenario:%s", name) ||
	    pbx_key(set, sizeof(set), tenant, "scenarios"))
		return -EINVAL;
	snprintf(now, sizeof(now), "%llu",
		 (unsigned long long)pbx_clock_now_ms());
	err = prov_store_cmd(pv, &rep, "EVAL %s 2 %s %s %s %s %s %s %s",
			     put_lua, head, set, name, json, sha, now,
			     note ? note : "");
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -EIO;
	}
	if (version)
		*version = rep->element[0]->integer;
	if (created)
		*created = rep->element[1]->integer != 0;
	if (rep->element[1]->integer)
		PLOG_INFO("scenario %s: version %lld created", name,
			  rep->element[0]->integer);
	freeReplyObject(rep);
	return 0;
}

int prov_scenario_ensure_default(struct provision *pv, const char *tenant,
				 struct prov_reply *r, long long *version)
{
	struct prov_reply tmp = {.status = r->status};
	int err;

	err = prov_scenario_latest(pv, tenant, "default", version);
	if (err || *version)
		return err;
	/* The default document sends calls to queue "default": it must
	 * exist for the document to pass lint (and for calls to queue). */
	err = prov_object_ensure(pv, tenant, "queue", "default",
				 DEFAULT_QUEUE_JSON);
	if (err)
		return err;
	/* The built-in document failing its own lint is our bug, not the
	 * caller's: log the report, answer INTERNAL. */
	err = prov_scenario_store(pv, tenant, "default",
				  scenario_default_json(),
				  "created by number connect", &tmp, version,
				  NULL);
	if (err && tmp.error) {
		PLOG_ERR("default scenario rejected: %s", tmp.error);
		err = prov_fail(r, -EIO,
				"the default scenario could not be created");
	}
	prov_reply_reset(&tmp);
	return err;
}

int prov_scenario_put(struct provision *pv,
		      const Pbx__V1__ProvRequest__ScenarioPut *q,
		      struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	const char *json = prov_str(q->json);
	size_t len = strlen(json);
	long long version = 0;
	bool created = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "scenario name", name);
	if (err)
		return err;
	if (len > SCENARIO_MAX)
		return prov_fail(r, -EFBIG,
				 "scenario is %zu bytes; the limit is 256 KiB",
				 len);
	if (!len)
		return prov_fail(r, -EINVAL, "the scenario document is empty");
	err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = prov_scenario_store(pv, tenant, name, json, NULL, r,
					  &version, &created);
	if (err)
		return err;
	return prov_strv_add(&r->items, "%s v%lld%s", name, version,
			     created ? "" : " (unchanged)");
}

/* "name", or the older "name@N" form of a version (ScenarioRef now has a
 * version field, which wins); '@' is in no scenario name, so it cannot be
 * misread. *version is 0 for the latest. */
static int split_version(struct prov_reply *r, const char *ref,
			 char name[PBX_ID_MAX + 1], long long *version)
{
	const char *at = strchr(ref, '@');
	size_t n = at ? (size_t)(at - ref) : strlen(ref);
	char *end;

	int err;

	*version = 0;
	if (n > PBX_ID_MAX)
		return prov_check_id(r, "scenario name", "");
	snprintf(name, PBX_ID_MAX + 1, "%.*s", (int)n, ref);
	err = prov_check_id(r, "scenario name", name);
	if (err)
		return err;
	if (!at)
		return 0;
	errno = 0;
	*version = strtoll(at + 1, &end, 10);
	if (errno || end == at + 1 || *end || *version < 1 ||
	    *version > 0xffffffffLL)
		return prov_fail(r, -EINVAL,
				 "a version is a number from 1 up");
	return 0;
}

/* 0 with *latest set, or NOT_FOUND naming the scenario. */
static int need_scenario(struct provision *pv, struct prov_reply *r,
			 const char *tenant, const char *name,
			 long long *latest)
{
	int err = prov_scenario_latest(pv, tenant, name, latest);

	if (err)
		return err;
	if (*latest < 1)
		return prov_fail(r, -ENOENT, "scenario %s does not exist",
				 name);
	return 0;
}

static int need_version(struct prov_reply *r, const char *name,
			long long version, long long latest)
{
	if (version >= 1 && version <= latest)
		return 0;
	return prov_fail(r, -ENOENT,
			 "scenario %s has no version %lld (latest is v%lld)",
			 name, version, latest);
}

int prov_scenario_get(struct provision *pv,
		      const Pbx__V1__ProvRequest__ScenarioRef *q,
		      struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	char name[PBX_ID_MAX + 1];
	long long version = 0, latest = 0;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = split_version(r, prov_str(q->name), name, &version);
	if (!err && q->version)
		version = q->version;
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = need_scenario(pv, r, tenant, name, &latest);
	if (err)
		return err;
	if (!version)
		version = latest;
	err = need_version(r, name, version, latest);
	if (!err)
		err = prov_scenario_load(pv, tenant, name, version, &r->body);
	if (!err && !r->body)
		err = prov_fail(r, -EIO, "scenario %s v%lld is missing", name,
				version);
	return err;
}

int prov_scenario_list(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantRef *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	struct prov_strv names = {.v = NULL};
	int err;

	err = prov_tenant_members(pv, r, tenant, "scenarios", &names);
	for (size_t i = 0; !err && i < names.n; i++) {
		long long v = 0;

		err = prov_scenario_latest(pv, tenant, names.v[i], &v);
		if (!err)
			err = prov_strv_add(&r->items, "%s v%lld", names.v[i],
					    v);
	}
	prov_strv_reset(&names);
	return err;
}

/* Appends ", <number>" to the list in *s (malloc'd, grows). */
static int list_add(char **s, const char *number, const char *suffix)
{
	char *n = NULL;

	if (asprintf(&n, "%s%s%s%s", *s ? *s : "", *s ? ", " : "", number,
		     suffix) < 0)
		return -ENOMEM;
	free(*s);
	*s = n;
	return 0;
}

/* Which numbers run a version of this scenario now, and which will. */
struct usage {
	char **active;    /* per version, malloc'd "n1, n2" */
	char **scheduled; /* per version, "n3 from <time>" */
	long long n;
};

static void usage_reset(struct usage *u)
{
	for (long long i = 0; i < u->n; i++) {
		free(u->active[i]);
		free(u->scheduled[i]);
	}
	free(u->active);
	free(u->scheduled);
}

static int usage_load(struct provision *pv, const char *tenant,
		      const char *name, struct usage *u)
{
	struct prov_strv nums = {.v = NULL};
	unsigned long long now = pbx_clock_now_ms();
	char when[40], suffix[64];
	int err;

	u->active = calloc((size_t)u->n + 1, sizeof(char *));
	u->scheduled = calloc((size_t)u->n + 1, sizeof(char *));
	if (!u->active || !u->scheduled)
		return -ENOMEM;
	err = prov_store_members(pv, tenant, "numbers", &nums);
	for (size_t i = 0; !err && i < nums.n; i++) {
		struct prov_pair p;
		int e = prov_number_pair(pv, tenant, nums.v[i], now, &p);

		if (e == -ENOENT)
			continue;
		err = e;
		if (!err && !strcmp(p.scenario, name) && p.version >= 1 &&
		    p.version <= u->n)
			err = list_add(&u->active[p.version - 1], nums.v[i],
				       "");
		if (!err && !strcmp(p.pending_scenario, name) &&
		    p.pending_version >= 1 && p.pending_version <= u->n) {
			snprintf(suffix, sizeof(suffix), " from %s",
				 prov_time_iso(when, sizeof(when),
					       p.pending_at_ms));
			err = list_add(&u->scheduled[p.pending_version - 1],
				       nums.v[i], suffix);
		}
	}
	prov_strv_reset(&nums);
	return err;
}

int prov_scenario_history(struct provision *pv,
			  const Pbx__V1__ProvRequest__ScenarioHistory *q,
			  struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	struct usage u = {.n = 0};
	char key[PBX_KEY_MAX], when[40];
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "scenario name", name);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = need_scenario(pv, r, tenant, name, &u.n);
	if (err)
		return err;
	err = usage_load(pv, tenant, name, &u);
	/* Newest first, like a log: the version one is about to roll back
	 * to is on the second line. */
	for (long long v = u.n; !err && v >= 1; v--) {
		redisReply *rep = NULL;
		const redisReply *e;
		char sha[13] = "?";
		unsigned long long created = 0;
		char *note = NULL;

		if (pbx_key(key, sizeof(key), tenant, "scenario:%s:v%lld",
			    name, v)) {
			err = -EINVAL;
			break;
		}
		err = prov_store_cmd(pv, &rep, "HMGET %s created_ms sha1 note",
				     key);
		if (err)
			break;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3) {
			e = rep->element[0];
			if (e->type == REDIS_REPLY_STRING)
				created = strtoull(e->str, NULL, 10);
			e = rep->element[1];
			if (e->type == REDIS_REPLY_STRING)
				snprintf(sha, sizeof(sha), "%s", e->str);
			e = rep->element[2];
			if (e->type == REDIS_REPLY_STRING)
				note = e->str;
		}
		err = prov_strv_add(
			&r->items, "v%lld  %s  %s%s%s%s%s%s%s", v,
			prov_time_iso(when, sizeof(when), created), sha,
			u.active[v - 1] ? "  active on " : "",
			u.active[v - 1] ? u.active[v - 1] : "",
			u.scheduled[v - 1] ? "  scheduled on " : "",
			u.scheduled[v - 1] ? u.scheduled[v - 1] : "",
			note ? "  # " : "", note ? note : "");
		freeReplyObject(rep);
	}
	usage_reset(&u);
	return err;
}

int prov_scenario_diff(struct provision *pv,
		       const Pbx__V1__ProvRequest__ScenarioDiff *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	long long from = q->from_version, to = q->to_version, latest = 0;
	char *a = NULL, *b = NULL, la[96], lb[96];
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "scenario name", name);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = need_scenario(pv, r, tenant, name, &latest);
	if (err)
		return err;
	/* 0 stands for the latest, so "diff 3 0" shows what changed since. */
	if (!from)
		from = latest;
	if (!to)
		to = latest;
	err = need_version(r, name, from, latest);
	if (!err)
		err = need_version(r, name, to, latest);
	if (!err)
		err = prov_scenario_load(pv, tenant, name, from, &a);
	if (!err)
		err = prov_scenario_load(pv, tenant, name, to, &b);
	if (!err && (!a || !b))
		err = prov_fail(r, -EIO, "a version of scenario %s is missing",
				name);
	if (!err) {
		snprintf(la, sizeof(la), "%s v%lld", name, from);
		snprintf(lb, sizeof(lb), "%s v%lld", name, to);
		err = prov_diff_text(&r->body, a, b, la, lb);
		if (err == -EINVAL)
			err = prov_fail(r, -EIO,
					"a stored version of scenario %s is "
					"not a JSON object",
					name);
	}
	free(a);
	free(b);
	return err;
}
