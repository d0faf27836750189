/* Scenarios: a tenant's routing documents. Every write is linted first
 * (scenario_parse with this tenant's prompts as the reference resolver) and
 * nothing is stored unless the document passes; stored documents carry a
 * version the router can cache by. Activation points one number at one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"

#define SCENARIO_MAX (256u * 1024)

/* Writes the document and bumps the version in one step, and leaves the
 * version alone when the document is unchanged, so a retried put is a
 * no-op. One key: Cluster-safe. Returns the current version. */
static const char store_lua[] =
	"if redis.call('HGET', KEYS[1], 'json') == ARGV[1] then "
	"return tonumber(redis.call('HGET', KEYS[1], 'version')) or 0 end "
	"local v = redis.call('HINCRBY', KEYS[1], 'version', 1) "
	"redis.call('HSET', KEYS[1], 'json', ARGV[1], 'updated_ms', ARGV[2]) "
	"return v";

/* The resolver's view of one tenant; err keeps the first storage
 * failure, which is reported instead of a bogus lint finding. */
struct ref_ctx {
	struct provision *pv;
	const char *tenant;
	int err;
};

static bool ref_exists(enum scenario_ref kind, const char *name, void *arg)
{
	struct ref_ctx *c = arg;
	char key[PBX_KEY_MAX];
	long long member = 0;

	/* Queues and extensions are not provisioned through this service
	 * yet, so nothing can be checked for them. */
	if (kind != SCENARIO_REF_PROMPT || c->err)
		return true;
	if (!name || !pbx_id_valid(name))
		return false;
	if (pbx_key(key, sizeof(key), c->tenant, "prompts"))
		return false;
	c->err = prov_store_int(c->pv, &member, "SISMEMBER %s %s", key, name);
	return c->err || member;
}

static void trim_newlines(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Each report line becomes one warning. */
static int add_warnings(struct prov_reply *r, const char *text)
{
	const char *p = text;
	int err = 0;

	while (*p && !err) {
		size_t n = strcspn(p, "\n");

		if (n)
			err = prov_strv_add(&r->warnings, "%.*s", (int)n, p);
		p += n;
		if (*p)
			p++;
	}
	return err;
}

int prov_scenario_store(struct provision *pv, const char *tenant,
			const char *name, const char *json,
			struct prov_reply *r)
{
	struct ref_ctx ctx = {.pv = pv, .tenant = tenant, .err = 0};
	struct scenario_report rep;
	struct scenario *sc = NULL;
	char key[PBX_KEY_MAX], now[24];
	long long version = 0;
	int err;

	memset(&rep, 0, sizeof(rep));
	err = scenario_parse(&sc, json, ref_exists, &ctx, &rep);
	scenario_free(sc);
	rep.text[sizeof(rep.text) - 1] = '\0';
	if (ctx.err)
		return ctx.err;
	if (err == -EINVAL) {
		trim_newlines(rep.text);
		return prov_fail(r, -EINVAL, "%s",
				 rep.text[0] ? rep.text
					     : "the scenario is not valid");
	}
	if (err)
		return err;
	err = add_warnings(r, rep.text);
	if (err)
		return err;

	if (pbx_key(key, sizeof(key), tenant, "scenario:%s", name))
		return -EINVAL;
	snprintf(now, sizeof(now), "%llu",
		 (unsigned long long)pbx_clock_now_ms());
	err = prov_store_int(pv, &version, "EVAL %s 1 %s %s %s", store_lua,
			     key, json, now);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "scenarios"))
		return -EINVAL;
	err = prov_store_do(pv, "SADD %s %s", key, name);
	if (!err)
		PLOG_INFO("scenario %s stored as version %lld", name, version);
	return err;
}

int prov_scenario_ensure_default(struct provision *pv, const char *tenant,
				 struct prov_reply *r)
{
	struct prov_reply tmp = {.status = r->status};
	char key[PBX_KEY_MAX];
	long long have = 0;
	int err;

	if (pbx_key(key, sizeof(key), tenant, "scenario:default"))
		return -EINVAL;
	err = prov_store_int(pv, &have, "HEXISTS %s json", key);
	if (err || have)
		return err;
	/* The built-in document failing its own lint is our bug, not the
	 * caller's: log the report, answer INTERNAL. */
	err = prov_scenario_store(pv, tenant, "default",
				  scenario_default_json(), &tmp);
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
	if (err)
		return err;
	return prov_scenario_store(pv, tenant, name, json, r);
}

int prov_scenario_get(struct provision *pv,
		      const Pbx__V1__ProvRequest__ScenarioRef *q,
		      struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	char key[PBX_KEY_MAX];
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "scenario name", name);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "scenario:%s", name))
		return -EINVAL;
	err = prov_store_str(pv, &r->body, "HGET %s json", key);
	if (err)
		return err;
	if (!r->body)
		return prov_fail(r, -ENOENT, "scenario %s does not exist",
				 name);
	return 0;
}

int prov_scenario_list(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantRef *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	struct prov_strv names = {.v = NULL};
	char key[PBX_KEY_MAX];
	int err;

	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "scenarios"))
		return -EINVAL;
	err = prov_store_list(pv, &names, "SMEMBERS %s", key);
	for (size_t i = 0; !err && i < names.n; i++) {
		long long v = 0;

		if (pbx_key(key, sizeof(key), tenant, "scenario:%s",
			    names.v[i]))
			continue;
		err = prov_store_int(pv, &v, "HGET %s version", key);
		if (!err)
			err = prov_strv_add(&r->items, "%s v%lld", names.v[i],
					    v);
	}
	prov_strv_reset(&names);
	return err;
}

int prov_scenario_activate(struct provision *pv,
			   const Pbx__V1__ProvRequest__ScenarioActivate *q,
			   struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	const char *name = prov_str(q->name);
	char key[PBX_KEY_MAX];
	long long have = 0;
	bool owned = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_number(r, number);
	if (!err)
		err = prov_check_id(r, "scenario name", name);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (!err)
		err = prov_number_owned(pv, tenant, number, &owned);
	if (err)
		return err;
	if (!owned)
		return prov_fail(r, -ENOENT,
				 "number %s is not connected to tenant %s",
				 number, tenant);
	if (pbx_key(key, sizeof(key), tenant, "scenario:%s", name))
		return -EINVAL;
	err = prov_store_int(pv, &have, "HEXISTS %s json", key);
	if (err)
		return err;
	if (!have)
		return prov_fail(r, -ENOENT, "scenario %s does not exist",
				 name);
	if (pbx_key(key, sizeof(key), tenant, "number:%s", number))
		return -EINVAL;
	return prov_store_do(pv, "HSET %s scenario %s", key, name);
}
