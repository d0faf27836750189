/* The tenant's CRM (docs/services/crm-connector.md): per vendor the
 * settings of that vendor's table (crm_adapter.h, the one list the
 * connector reads too) in pbx:{<t>}:crm:<crm>, and the CRM user ->
 * extension table in pbx:{<t>}:crm:map:<crm>. Tenant-scoped like every
 * operation with a tenant field (prov_auth.c). Secrets (the Bitrix24
 * webhook URL, which carries its code; the API's HMAC key; amoCRM's
 * client secret and tokens) are write-only: crm_show says "(set)", and
 * nothing here logs a value. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crm_adapter.h"
#include "pbx_keys.h"
#include "prov.h"

#define SETTINGS_MAX 16
#define VALUE_MAX 2048

static int crm_keys(struct provision *pv, struct prov_reply *r,
		    const char *tenant, const char *crm,
		    const struct crm_adapter **ad, char *key, char *map)
{
	int err = prov_check_tenant(r, tenant);

	if (err)
		return err;
	*ad = crm_adapter_find(crm);
	if (!*ad)
		return prov_fail(r, -EINVAL,
				 "crm must be bitrix24, amocrm or api");
	err = prov_tenant_known(pv, r, tenant);
	if (!err && (pbx_key_sub_of(key, PBX_KEY_MAX, tenant, PBX_K_CRM, crm) ||
		     pbx_key_sub_of(map, PBX_KEY_MAX, tenant, PBX_K_CRM_MAP,
				    crm)))
		err = -EINVAL;
	return err;
}

static bool printable(const char *v)
{
	for (; *v; v++) {
		if ((unsigned char)*v <= ' ' || (unsigned char)*v >= 0x7f)
			return false;
	}
	return true;
}

static bool integer(const char *v, long long lo, long long hi)
{
	char *end;
	long long n = strtoll(v, &end, 10);

	return *v && !*end && n >= lo && n <= hi;
}

static bool choice_ok(const char *const *choices, const char *v)
{
	for (; *choices; choices++) {
		if (!strcmp(*choices, v))
			return true;
	}
	return false;
}

/* "a, b or c" */
static const char *choices_text(const char *const *choices)
{
	static char buf[128];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
				      i == 0	       ? ""
				      : choices[i + 1] ? ", "
						       : " or ",
				      choices[i]);
	return buf;
}

/* One "name=value" of the vendor's table: 0 with *name / *value pointing
 * into buf, or the refusal. */
static int setting(struct prov_reply *r, const struct crm_adapter *ad,
		   const char *item, char *buf, size_t size,
		   const struct crm_field **f, const char **value)
{
	char *eq;

	if (strlen(item) >= size)
		return prov_fail(r, -EINVAL, "a crm setting is over %d "
					     "characters", VALUE_MAX);
	snprintf(buf, size, "%s", item);
	eq = strchr(buf, '=');
	if (!eq)
		return prov_fail(r, -EINVAL, "crm settings are name=value");
	*eq = '\0';
	*value = eq + 1;
	*f = crm_adapter_field(ad, buf);
	if (!*f)
		return prov_fail(r, -EINVAL, "%s takes no setting '%.32s'",
				 ad->name, buf);
	if ((*f)->url && !prov_url_ok(*value, CRM_URL_MAX - 1))
		return prov_fail(r, -EINVAL,
				 "%s must be an http:// or https:// URL of "
				 "printable characters",
				 buf);
	if (!strcmp(buf, "cache_ttl_s") && !integer(*value, 0, 86400))
		return prov_fail(r, -EINVAL, "cache_ttl_s must be 0 to 86400");
	if (!strcmp(buf, "expires_at") && !integer(*value, 0, 1LL << 40))
		return prov_fail(r, -EINVAL,
				 "expires_at must be Unix seconds");
	if (!**value || !printable(*value))
		return prov_fail(r, -EINVAL,
				 "%s must be printable characters without "
				 "spaces",
				 buf);
	if ((*f)->choices && !choice_ok((*f)->choices, *value))
		return prov_fail(r, -EINVAL, "%s must be %s", buf,
				 choices_text((*f)->choices));
	if (!strcmp(buf, "secret") && strlen(*value) < 16)
		return prov_fail(r, -EINVAL,
				 "secret must be at least 16 characters");
	return 0;
}

/* The settings as crm_show prints them: secrets never in clear. */
static int show_one(struct provision *pv, struct prov_reply *r,
		    const struct crm_adapter *ad, const char *key,
		    const char *map)
{
	redisReply *rr = NULL;
	char line[1024];
	size_t n = 0;
	int err;

	err = prov_store_cmd(pv, &rr, "HGETALL %s", key);
	if (err)
		return err;
	if (rr->type != REDIS_REPLY_ARRAY || rr->elements == 0) {
		freeReplyObject(rr);
		return 0;
	}
	n = (size_t)snprintf(line, sizeof(line), "crm %s:", ad->name);
	for (size_t i = 0; i < ad->nfields && n < sizeof(line); i++) {
		const struct crm_field *f = &ad->fields[i];
		const char *v = NULL;

		for (size_t k = 0; k + 1 < rr->elements; k += 2) {
			if (rr->element[k]->type == REDIS_REPLY_STRING &&
			    !strcmp(rr->element[k]->str, f->name) &&
			    rr->element[k + 1]->type == REDIS_REPLY_STRING)
				v = rr->element[k + 1]->str;
		}
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%s",
				      f->name,
				      !v	  ? (f->required ? "(missing)"
							 : "(default)")
				      : f->secret ? "(set)"
						  : v);
	}
	freeReplyObject(rr);
	err = prov_strv_add(&r->items, "%s", line);
	rr = NULL;
	if (!err)
		err = prov_store_cmd(pv, &rr, "HGETALL %s", map);
	for (size_t k = 0; !err && rr && rr->type == REDIS_REPLY_ARRAY &&
			   k + 1 < rr->elements;
	     k += 2)
		err = prov_strv_add(&r->items, "crm %s: user %s -> %s",
				    ad->name, rr->element[k]->str,
				    rr->element[k + 1]->str);
	if (rr)
		freeReplyObject(rr);
	return err;
}

int prov_crm_set(struct provision *pv, const Pbx__V1__ProvRequest__CrmSet *q,
		 struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const struct crm_adapter *ad;
	char key[PBX_KEY_MAX], map[PBX_KEY_MAX];
	const char *argv[2 + 2 * SETTINGS_MAX];
	char buf[SETTINGS_MAX][VALUE_MAX + 64];
	redisReply *rr = NULL;
	int argc = 2, err;

	err = crm_keys(pv, r, tenant, prov_str(q->crm), &ad, key, map);
	if (err)
		return err;
	if (q->clear && q->n_settings == 0) {
		err = prov_store_do(pv, "DEL %s %s", key, map);
		return err ? err
			   : prov_strv_add(&r->items, "crm %s: none",
					   ad->name);
	}
	if (q->n_settings == 0 || q->n_settings > SETTINGS_MAX)
		return prov_fail(r, -EINVAL, "1 to %d crm settings",
				 SETTINGS_MAX);
	argv[0] = "HSET";
	argv[1] = key;
	for (size_t i = 0; i < q->n_settings; i++) {
		const struct crm_field *f = NULL;
		const char *value = NULL;

		err = setting(r, ad, prov_str(q->settings[i]), buf[i],
			      sizeof(buf[i]), &f, &value);
		if (err)
			return err;
		argv[argc++] = f->name;
		argv[argc++] = value;
	}
	/* A clear first makes the settings exactly these (else they are
	 * added to what is there). */
	if (q->clear)
		err = prov_store_do(pv, "DEL %s", key);
	if (!err)
		err = prov_store_argv(pv, &rr, argc, argv, NULL);
	if (rr)
		freeReplyObject(rr);
	memset(buf, 0, sizeof(buf));
	return err ? err : show_one(pv, r, ad, key, map);
}

int prov_crm_show(struct provision *pv, const Pbx__V1__ProvRequest__CrmRef *q,
		  struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant), *crm = prov_str(q->crm);
	const struct crm_adapter *const *all, *ad;
	char key[PBX_KEY_MAX], map[PBX_KEY_MAX];
	size_t n;
	int err;

	all = crm_adapter_all(&n);
	for (size_t i = 0; i < n; i++) {
		if (crm[0] && strcmp(crm, all[i]->name))
			continue;
		err = crm_keys(pv, r, tenant, all[i]->name, &ad, key, map);
		if (!err)
			err = show_one(pv, r, ad, key, map);
		if (err)
			return err;
	}
	if (crm[0] && !crm_adapter_find(crm))
		return prov_fail(r, -EINVAL,
				 "crm must be bitrix24, amocrm or api");
	return r->items.n ? 0 : prov_strv_add(&r->items, "crm: none");
}

int prov_crm_map(struct provision *pv, const Pbx__V1__ProvRequest__CrmMap *q,
		 struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant), *user = prov_str(q->user);
	const char *ext = prov_str(q->ext);
	const struct crm_adapter *ad;
	char key[PBX_KEY_MAX], map[PBX_KEY_MAX], exts[PBX_KEY_MAX];
	long long known = 0;
	int err;

	err = crm_keys(pv, r, tenant, prov_str(q->crm), &ad, key, map);
	if (!err)
		err = prov_check_id(r, "crm user", user);
	if (err)
		return err;
	if (!ext[0]) {
		err = prov_store_do(pv, "HDEL %s %s", map, user);
		return err ? err
			   : prov_strv_add(&r->items, "crm %s: user %s -> none",
					   ad->name, user);
	}
	err = prov_check_id(r, "extension", ext);
	if (!err && !pbx_key(exts, sizeof(exts), tenant, "exts"))
		err = prov_store_int(pv, &known, "SISMEMBER %s %s", exts, ext);
	if (err)
		return err;
	if (!known)
		return prov_fail(r, -ENOENT, "tenant %s has no extension %s",
				 tenant, ext);
	err = prov_store_do(pv, "HSET %s %s %s", map, user, ext);
	return err ? err
		   : prov_strv_add(&r->items, "crm %s: user %s -> %s",
				   ad->name, user, ext);
}
