/* The tenant's notification settings: its webhook URL and the secret the
 * notifier signs with (hash pbx:{<tenant>}:notify, docs/services/
 * notifier.md). Tenant-scoped like every operation with a tenant field
 * (prov_auth.c): a tenant key sets only its own webhook. The secret is
 * write-only: notify_get says whether one is set, never what it is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "prov.h"

#define URL_MAX 512
#define SECRET_MIN 16
#define SECRET_MAX 256

bool prov_url_ok(const char *u, size_t max)
{
	size_t n = strlen(u);

	if (n > max || (strncmp(u, "http://", 7) &&
			    strncmp(u, "https://", 8)))
		return false;
	if (!u[strncmp(u, "http://", 7) ? 8 : 7])
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c <= ' ' || c >= 0x7f || strchr("\"<>\\^`{|}", c))
			return false;
	}
	return true;
}

static bool secret_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < SECRET_MIN || n > SECRET_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	}
	return true;
}

static int notify_key(struct provision *pv, struct prov_reply *r,
		      const char *tenant, char *key)
{
	int err = prov_check_tenant(r, tenant);

	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (!err && pbx_key_of(key, PBX_KEY_MAX, tenant, PBX_K_NOTIFY))
		err = -EINVAL;
	return err;
}

int prov_notify_set(struct provision *pv,
		    const Pbx__V1__ProvRequest__NotifyWebhook *q,
		    struct prov_reply *r)
{
	const char *url = prov_str(q->url), *secret = prov_str(q->secret);
	char key[PBX_KEY_MAX];
	int err;

	err = notify_key(pv, r, prov_str(q->tenant), key);
	if (err)
		return err;
	if (!url[0]) {
		err = prov_store_do(pv, "HDEL %s webhook_url webhook_secret",
				    key);
		return err ? err : prov_strv_add(&r->items, "webhook: none");
	}
	if (!prov_url_ok(url, URL_MAX))
		return prov_fail(r, -EINVAL,
				 "webhook url must be http:// or https:// "
				 "and at most %d printable characters",
				 URL_MAX);
	if (!secret_ok(secret))
		return prov_fail(r, -EINVAL,
				 "webhook secret must be %d to %d printable "
				 "characters without spaces",
				 SECRET_MIN, SECRET_MAX);
	err = prov_store_do(pv, "HSET %s webhook_url %s webhook_secret %s",
			    key, url, secret);
	return err ? err
		   : prov_strv_add(&r->items, "webhook: %s (secret set)", url);
}

int prov_notify_get(struct provision *pv,
		    const Pbx__V1__ProvRequest__TenantRef *q,
		    struct prov_reply *r)
{
	char key[PBX_KEY_MAX], *url = NULL;
	long long has = 0;
	int err;

	err = notify_key(pv, r, prov_str(q->tenant), key);
	if (!err)
		err = prov_store_str(pv, &url, "HGET %s webhook_url", key);
	if (!err)
		err = prov_store_int(pv, &has, "HEXISTS %s webhook_secret",
				     key);
	if (!err)
		err = url ? prov_strv_add(&r->items, "webhook: %s (secret %s)",
					  url, has ? "set" : "missing")
			  : prov_strv_add(&r->items, "webhook: none");
	free(url);
	return err;
}
