/* Numbers (DIDs): connecting one to a tenant, disconnecting it, listing
 * them. pbx:{sys}:did:<number> is the truth the router reads to find the
 * tenant; it is claimed with SET NX so two tenants racing for one number
 * cannot both win. A refusal never names the other tenant. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "prov.h"

int prov_number_owned(struct provision *pv, const char *tenant,
		      const char *number, bool *owned)
{
	char key[PBX_KEY_MAX];
	char *owner = NULL;
	int err;

	*owned = false;
	if (pbx_key_sys(key, sizeof(key), "did:%s", number))
		return -EINVAL;
	err = prov_store_str(pv, &owner, "GET %s", key);
	if (!err)
		*owned = owner && !strcmp(owner, tenant);
	free(owner);
	return err;
}

/* The tenant-side records of a connected number. HSETNX: connecting again
 * must not switch the number back from the scenario activated since. */
static int link_number(struct provision *pv, const char *tenant,
		       const char *number)
{
	char key[PBX_KEY_MAX];
	int err;

	if (pbx_key(key, sizeof(key), tenant, "numbers"))
		return -EINVAL;
	err = prov_store_do(pv, "SADD %s %s", key, number);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "number:%s", number))
		return -EINVAL;
	return prov_store_do(pv, "HSETNX %s scenario default", key);
}

int prov_number_connect(struct provision *pv,
			const Pbx__V1__ProvRequest__Number *q,
			struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	char dkey[PBX_KEY_MAX];
	char *owner = NULL;
	bool claimed, other;
	bool set = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_number(r, number);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_sys(dkey, sizeof(dkey), "did:%s", number))
		return -EINVAL;

	err = prov_store_str(pv, &owner, "GET %s", dkey);
	if (err)
		return err;
	claimed = owner != NULL;
	other = owner && strcmp(owner, tenant);
	free(owner);
	if (other)
		goto taken;
	/* The scenario comes before the claim: the router may route the
	 * number the moment the index names the tenant. */
	err = prov_scenario_ensure_default(pv, tenant, r);
	if (!err && !claimed) {
		err = prov_store_set_nx(pv, dkey, tenant, &set);
		if (!err && !set) {
			bool mine = false;

			/* Lost a race: fine only if the winner was us. */
			err = prov_number_owned(pv, tenant, number, &mine);
			if (!err && !mine)
				goto taken;
		}
	}
	if (err)
		return err;
	return link_number(pv, tenant, number);
taken:
	return prov_fail(r, -EEXIST,
			 "number %s is connected to another tenant", number);
}

int prov_number_disconnect(struct provision *pv,
			   const Pbx__V1__ProvRequest__Number *q,
			   struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *number = prov_str(q->number);
	char key[PBX_KEY_MAX];
	long long member = 0;
	bool owned = false;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_number(r, number);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "numbers"))
		return -EINVAL;
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, number);
	if (!err)
		err = prov_number_owned(pv, tenant, number, &owned);
	if (err)
		return err;
	if (!member && !owned)
		return prov_fail(r, -ENOENT,
				 "number %s is not connected to tenant %s",
				 number, tenant);
	/* Routing stops first (the index), then the tenant's records. */
	if (pbx_key_sys(key, sizeof(key), "did:%s", number))
		return -EINVAL;
	err = prov_store_del_if(pv, key, tenant);
	if (!err && !pbx_key(key, sizeof(key), tenant, "numbers"))
		err = prov_store_do(pv, "SREM %s %s", key, number);
	if (!err && !pbx_key(key, sizeof(key), tenant, "number:%s", number))
		err = prov_store_do(pv, "DEL %s", key);
	return err;
}

int prov_number_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantRef *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	struct prov_strv nums = {.v = NULL};
	char key[PBX_KEY_MAX];
	int err;

	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "numbers"))
		return -EINVAL;
	err = prov_store_list(pv, &nums, "SMEMBERS %s", key);
	for (size_t i = 0; !err && i < nums.n; i++) {
		char *sc = NULL;

		if (pbx_key(key, sizeof(key), tenant, "number:%s", nums.v[i]))
			continue;
		err = prov_store_str(pv, &sc, "HGET %s scenario", key);
		if (!err)
			err = prov_strv_add(&r->items, "%s %s", nums.v[i],
					    sc ? sc : "-");
		free(sc);
	}
	prov_strv_reset(&nums);
	return err;
}
