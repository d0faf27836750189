/* Extensions: SIP accounts of a tenant. Only the digest hashes Kamailio's
 * registrar checks against are stored (ha1 for "ext", ha1b for
 * "ext@domain" user names); the clear password is hashed and wiped here
 * and never stored or logged. The password must pass prov_password.c's
 * rule. An extension that a scenario rings, or a queue lists as an agent,
 * cannot be removed. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "prov.h"
#include "prov_password.h"
#include "scenario.h"

#define EXT_MIN_DIGITS 2
#define EXT_MAX_DIGITS 8

int prov_extension_ha1(char out[33], const char *user, const char *realm,
		       const char *password)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *in = NULL;
	int n, ok;

	n = asprintf(&in, "%s:%s:%s", user, realm, password);
	if (n < 0)
		return -ENOMEM;
	ok = EVP_Digest(in, (size_t)n, md, &mdlen, EVP_md5(), NULL);
	explicit_bzero(in, (size_t)n);
	free(in);
	if (!ok || mdlen != 16)
		return -EIO;
	for (unsigned int i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

static int check_ext(struct prov_reply *r, const char *ext)
{
	size_t n = strlen(ext);

	if (pbx_id_valid(ext) && n >= EXT_MIN_DIGITS && n <= EXT_MAX_DIGITS &&
	    strspn(ext, "0123456789") == n)
		return 0;
	return prov_fail(r, -EINVAL, "extension must be %d to %d digits",
			 EXT_MIN_DIGITS, EXT_MAX_DIGITS);
}

/* Everything after the field checks; the caller wipes the password
 * whatever happens here. */
static int add(struct provision *pv, const char *tenant, const char *ext,
	       const char *password, struct prov_reply *r)
{
	char key[PBX_KEY_MAX], ha1[33], ha1b[33], user_at[PBX_KEY_MAX];
	char *domain = NULL, *name = NULL, why[128];
	int err;

	/* The rules that need no storage first: a weak password is refused
	 * the same whether or not Redis is up. */
	if (prov_password_check(password, ext, tenant, NULL, why,
				sizeof(why)))
		return prov_fail(r, -EINVAL, "%s", why);
	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "tenant"))
		return -EINVAL;
	err = prov_store_str(pv, &domain, "HGET %s domain", key);
	if (!err)
		err = prov_store_str(pv, &name, "HGET %s name", key);
	if (!err && !domain)
		err = prov_fail(r, -EIO,
				"tenant %s has no domain; create it again "
				"to repair it",
				tenant);
	if (!err &&
	    prov_password_check(password, ext, tenant, name, why, sizeof(why)))
		err = prov_fail(r, -EINVAL, "%s", why);
	free(name);
	if (err) {
		free(domain);
		return err;
	}
	/* The realm is the tenant's SIP domain, as Kamailio's auth uses. */
	snprintf(user_at, sizeof(user_at), "%s@%s", ext, domain);
	err = prov_extension_ha1(ha1, ext, domain, password);
	if (!err)
		err = prov_extension_ha1(ha1b, user_at, domain, password);
	free(domain);
	if (err)
		return err;

	if (pbx_key(key, sizeof(key), tenant, "ext:%s", ext))
		return -EINVAL;
	err = prov_store_do(pv, "HSET %s ha1 %s ha1b %s", key, ha1, ha1b);
	if (!err && !pbx_key(key, sizeof(key), tenant, "exts"))
		err = prov_store_do(pv, "SADD %s %s", key, ext);
	return err;
}

int prov_extension_add(struct provision *pv,
		       const Pbx__V1__ProvRequest__ExtensionAdd *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *ext = prov_str(q->ext);
	const char *password = prov_str(q->password);
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = check_ext(r, ext);
	if (!err)
		err = add(pv, tenant, ext, password, r);
	/* The request buffer is the bus's, freed (not wiped) after we
	 * return; wipe the password now, refused or not, so it does not
	 * linger in freed heap. */
	explicit_bzero((char *)password, strlen(password));
	return err;
}

int prov_extension_remove(struct provision *pv,
			  const Pbx__V1__ProvRequest__ExtensionRef *q,
			  struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *ext = prov_str(q->ext);
	char key[PBX_KEY_MAX];
	long long member = 0;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = check_ext(r, ext);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "exts"))
		return -EINVAL;
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, ext);
	if (err)
		return err;
	if (!member) {
		/* An add cut short stores credentials before listing them:
		 * make sure none are left that could still register. */
		if (pbx_key(key, sizeof(key), tenant, "ext:%s", ext))
			return -EINVAL;
		err = prov_store_do(pv, "DEL %s", key);
		return err ? err : prov_already_absent(r);
	}
	/* A scenario that rings a removed extension sends its callers down
	 * the unavailable branch for good: refuse while one still does. */
	err = prov_object_refuse_used(pv, r, tenant, SCENARIO_REF_EXTENSION,
				      ext);
	if (err)
		return err;
	/* Credentials first: a half-done remove must not leave a password
	 * that still registers. */
	if (pbx_key(key, sizeof(key), tenant, "ext:%s", ext))
		return -EINVAL;
	err = prov_store_do(pv, "DEL %s", key);
	if (!err && !pbx_key(key, sizeof(key), tenant, "exts"))
		err = prov_store_do(pv, "SREM %s %s", key, ext);
	/* A new extension of that number starts from the defaults. */
	if (!err)
		err = prov_outbound_forget(pv, tenant, ext);
	return err;
}

int prov_extension_list(struct provision *pv,
			const Pbx__V1__ProvRequest__TenantRef *q,
			struct prov_reply *r)
{
	return prov_tenant_members(pv, r, prov_str(q->tenant), "exts",
				   &r->items);
}
