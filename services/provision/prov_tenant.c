/* Tenants: create (idempotent), list and delete, with the cluster-wide
 * tenant set and SIP domain index. A tenant exists once it is a member of
 * pbx:{sys}:tenants; create adds it last and delete removes it last, so a
 * write cut short by a Redis failure is finished by simply retrying it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "pbx_media_store.h"
#include "prov.h"
#include "scenario.h"

#define NAME_MAX_LEN 128
#define DOMAIN_MAX_LEN 253
#define SCAN_BATCH 200

/* A host name: dot-separated labels of 1..63 letters, digits and '-', not
 * starting or ending with '-'. Lower-cased in place (SIP domains compare
 * case-insensitively, the index must not). */
static bool domain_sane(char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > DOMAIN_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
		d[i] = (char)tolower(c);
	}
	return label > 0 && d[n - 1] != '-';
}

static bool name_sane(const char *s)
{
	size_t n = strlen(s);

	if (n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (iscntrl((unsigned char)s[i]))
			return false;
	}
	return true;
}

int prov_tenant_create(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantCreate *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	char domain[DOMAIN_MAX_LEN + 2];
	char tkey[PBX_KEY_MAX], dkey[PBX_KEY_MAX], skey[PBX_KEY_MAX];
	char *cur = NULL, *owner = NULL;
	bool set = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (err)
		return err;
	if (!name_sane(name))
		return prov_fail(r, -EINVAL,
				 "name must be at most %d characters without "
				 "control characters",
				 NAME_MAX_LEN);
	if (!name[0])
		name = tenant;
	if (prov_str(q->domain)[0]) {
		if (strlen(q->domain) > DOMAIN_MAX_LEN)
			return prov_fail(r, -EINVAL,
					 "domain must be a host name of at "
					 "most %d characters",
					 DOMAIN_MAX_LEN);
		snprintf(domain, sizeof(domain), "%s", q->domain);
	} else {
		snprintf(domain, sizeof(domain), "%s.pbx.local", tenant);
	}
	if (!domain_sane(domain))
		return prov_fail(r, -EINVAL,
				 "domain must be a host name such as "
				 "acme.pbx.local");
	if (pbx_key(tkey, sizeof(tkey), tenant, "tenant") ||
	    pbx_key_sys(dkey, sizeof(dkey), "domain:%s", domain) ||
	    pbx_key_sys(skey, sizeof(skey), "tenants"))
		return -EINVAL;

	err = prov_store_str(pv, &cur, "HGET %s domain", tkey);
	if (err)
		goto out;
	if (cur && strcmp(cur, domain)) {
		err = prov_fail(r, -EEXIST,
				"tenant %s already exists with domain %s",
				tenant, cur);
		goto out;
	}
	/* Claim the domain first: the claim is the only step that can lose
	 * a race, and it must not leave a half-made tenant behind. */
	err = prov_store_set_nx(pv, dkey, tenant, &set);
	if (err)
		goto out;
	if (!set) {
		err = prov_store_str(pv, &owner, "GET %s", dkey);
		if (err)
			goto out;
		if (owner && strcmp(owner, tenant)) {
			err = prov_fail(r, -EEXIST,
					"domain %s is used by another tenant",
					domain);
			goto out;
		}
	}
	if (!cur) {
		err = prov_store_do(pv,
				    "HSET %s name %s domain %s "
				    "created_ms %llu",
				    tkey, name, domain,
				    (unsigned long long)pbx_clock_now_ms());
		if (err)
			goto out;
	}
	err = prov_store_do(pv, "SADD %s %s", skey, tenant);
out:
	free(cur);
	free(owner);
	return err;
}

/* A setting of the tenant hash (pbx:{t}:tenant <field>), already
 * checked: stored when value is not empty, then shown as "<field>: <v>"
 * (dflt when never set). */
static int setting(struct provision *pv, struct prov_reply *r,
		   const char *tenant, const char *field, const char *value,
		   const char *dflt)
{
	char key[PBX_KEY_MAX];
	char *cur = NULL;
	int err;

	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_TENANT))
		return -EINVAL;
	if (value[0]) {
		err = prov_store_do(pv, "HSET %s %s %s", key, field, value);
		if (err)
			return err;
		PLOG_INFO("%s %s", field, value);
	}
	err = prov_store_str(pv, &cur, "HGET %s %s", key, field);
	if (!err)
		err = prov_strv_add(&r->items, "%s: %s", field,
				    cur && cur[0] ? cur : dflt);
	free(cur);
	return err;
}

/* The languages the system sound set speaks (the media worker's say.c
 * and queue_prompts.cmake). */
static const char *const languages[] = {"en", "ru"};

int prov_tenant_language(struct provision *pv,
			 const Pbx__V1__ProvRequest__TenantLanguage *q,
			 struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *lang = prov_str(q->language);
	bool known = !lang[0];
	int err;

	err = prov_check_tenant(r, tenant);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(languages) / sizeof(*languages); i++)
		known = known || !strcmp(lang, languages[i]);
	if (!known)
		return prov_fail(r, -EINVAL,
				 "unknown language; the languages are: en, ru");
	return setting(pv, r, tenant, "language", lang, "en");
}

/* The zone voicemail's "message received <day> at <time>" is said in
 * (the media worker reads it at each *97 / *98). A name the system's
 * tzdata has (scenario_tz.c, the schedules' reader), else refused. */
int prov_tenant_timezone(struct provision *pv,
			 const Pbx__V1__ProvRequest__TenantTimezone *q,
			 struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *zone = prov_str(q->timezone);
	int err;

	err = prov_check_tenant(r, tenant);
	if (err)
		return err;
	if (zone[0] && !scenario_tz_valid(zone))
		return prov_fail(r, -EINVAL,
				 "unknown time zone \"%.64s\"; a name of the "
				 "tz database, e.g. Europe/Moscow or UTC",
				 zone);
	return setting(pv, r, tenant, "timezone", zone, "UTC");
}

int prov_tenant_list(struct provision *pv, struct prov_reply *r)
{
	struct prov_strv tenants = {.v = NULL};
	char key[PBX_KEY_MAX];
	int err;

	if (pbx_key_sys(key, sizeof(key), "tenants"))
		return -EINVAL;
	err = prov_store_list(pv, &tenants, "SMEMBERS %s", key);
	for (size_t i = 0; !err && i < tenants.n; i++) {
		redisReply *rep = NULL;
		const char *t = tenants.v[i];

		if (pbx_key(key, sizeof(key), t, "tenant"))
			continue; /* not ours to list: written by hand */
		err = prov_store_cmd(pv, &rep, "HMGET %s domain name", key);
		if (err)
			break;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
			const redisReply *d = rep->element[0];
			const redisReply *n = rep->element[1];

			err = prov_strv_add(
				&r->items, "%s %s %s", t,
				d->type == REDIS_REPLY_STRING ? d->str : "-",
				n->type == REDIS_REPLY_STRING ? n->str : t);
		}
		freeReplyObject(rep);
	}
	prov_strv_reset(&tenants);
	return err;
}

/* Removes the number index entries that still point at this tenant. */
static int drop_numbers(struct provision *pv, const char *tenant)
{
	struct prov_strv nums = {.v = NULL};
	char key[PBX_KEY_MAX];
	int err;

	err = prov_store_members(pv, tenant, "numbers", &nums);
	for (size_t i = 0; !err && i < nums.n; i++) {
		if (pbx_key_sys(key, sizeof(key), "did:%s", nums.v[i]))
			continue;
		err = prov_store_del_if(pv, key, tenant);
	}
	prov_strv_reset(&nums);
	return err;
}

/* Deletes every pbx:{tenant}:* key. SCAN, not KEYS: KEYS blocks the whole
 * server for as long as it walks the keyspace, calls included. */
/* UNLINK of one SCAN batch (UNLINK frees big prompt values off the main
 * thread of Redis). */
static int unlink_batch(struct provision *pv, const redisReply *keys,
			void *arg)
{
	size_t n = keys->elements + 1;
	const char **argv = calloc(n, sizeof(*argv));
	size_t *lens = calloc(n, sizeof(*lens));
	int err = -ENOMEM;

	(void)arg;
	if (argv && lens) {
		argv[0] = "UNLINK";
		lens[0] = 6;
		for (size_t i = 0; i < keys->elements; i++) {
			argv[i + 1] = keys->element[i]->str;
			lens[i + 1] = keys->element[i]->len;
		}
		err = prov_store_argv(pv, NULL, (int)n, argv, lens);
	}
	free(argv);
	free(lens);
	return err;
}

static int drop_keys(struct provision *pv, const char *tenant)
{
	char match[PBX_KEY_MAX];

	if (pbx_key(match, sizeof(match), tenant, "*"))
		return -EINVAL;
	return prov_store_scan(pv, match, SCAN_BATCH, unlink_batch, NULL);
}

int prov_tenant_delete(struct provision *pv,
		       const Pbx__V1__ProvRequest__TenantRef *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	char key[PBX_KEY_MAX];
	char *domain = NULL;
	int err;

	err = prov_check_tenant(r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "tenant"))
		return -EINVAL;
	err = prov_store_str(pv, &domain, "HGET %s domain", key);
	if (err)
		return err;
	if (!domain) {
		long long member = 0;

		/* No tenant hash: deleted already, or a create that never
		 * got that far (listed without its hash: finish removing
		 * it below). */
		if (pbx_key_sys(key, sizeof(key), "tenants"))
			return -EINVAL;
		err = prov_store_int(pv, &member, "SISMEMBER %s %s", key,
				     tenant);
		if (err)
			return err;
		if (!member)
			return prov_already_absent(r);
	}
	/* Indexes first, so no call is routed into a half-deleted tenant;
	 * the set member last, so a failed delete can be retried. */
	err = drop_numbers(pv, tenant);
	if (!err && domain &&
	    !pbx_key_sys(key, sizeof(key), "domain:%s", domain))
		err = prov_store_del_if(pv, key, tenant);
	free(domain);
	if (!err)
		err = drop_keys(pv, tenant);
	/* Its trunk choice ({sys}: not among its own keys). */
	if (!err && !pbx_key_sys_of(key, sizeof(key), PBX_KS_TENANT_TRUNKS))
		err = prov_store_do(pv, "HDEL %s %s", key, tenant);
	if (!err && !pbx_key_sys(key, sizeof(key), "tenants"))
		err = prov_store_do(pv, "SREM %s %s", key, tenant);
	/* Its files last: nothing in Redis names them any more. */
	if (!err) {
		int n = pbx_media_store_remove_tenant(pv->media_root, tenant);

		if (n < 0)
			PLOG_WARN("tenant %s: media files not removed: %s",
				  tenant, strerror(-n));
		PLOG_INFO("tenant %s deleted (%d media files)", tenant,
			  n < 0 ? 0 : n);
	}
	return err;
}
