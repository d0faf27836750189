/* Data migrations, run once per process on the first Redis connection
 * (provisioning is the only writer of the keys they touch). Each is
 * idempotent: a run cut short by a crash is finished by the next start.
 *
 * Numbers: releases before the canonical number form stored a number as
 * it was typed ("+74951234567", "8 495..."). The router now looks up the
 * canonical form only, so every index entry and tenant record under
 * another form moves to the canonical key. Two tenants holding two forms
 * of one number cannot both keep it: the canonical holder keeps it, the
 * other entry stays where it is (so nothing is lost) and is logged for
 * the operator to resolve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"

/* Moves one tenant's records of number `from` to `to`. */
static int move_tenant_records(struct provision *pv, const char *tenant,
			       const char *from, const char *to)
{
	char kfrom[PBX_KEY_MAX], kto[PBX_KEY_MAX], kset[PBX_KEY_MAX];
	long long has_from = 0, has_to = 0;
	int err;

	if (pbx_key(kfrom, sizeof(kfrom), tenant, "number:%s", from) ||
	    pbx_key(kto, sizeof(kto), tenant, "number:%s", to) ||
	    pbx_key(kset, sizeof(kset), tenant, "numbers"))
		return -EINVAL;
	err = prov_store_int(pv, &has_from, "EXISTS %s", kfrom);
	if (!err)
		err = prov_store_int(pv, &has_to, "EXISTS %s", kto);
	if (!err && has_from)
		/* Both: the tenant had two forms; the canonical one's
		 * scenario settings win. */
		err = has_to ? prov_store_do(pv, "DEL %s", kfrom)
			     : prov_store_do(pv, "RENAME %s %s", kfrom, kto);
	if (!err)
		err = prov_store_do(pv, "SADD %s %s", kset, to);
	if (!err)
		err = prov_store_do(pv, "SREM %s %s", kset, from);
	return err;
}

/* One index key "pbx:{sys}:did:<number>" in a non-canonical form. */
static int migrate_did(struct provision *pv, const char *number)
{
	char canon[40], kold[PBX_KEY_MAX], knew[PBX_KEY_MAX];
	char *tenant = NULL, *owner = NULL;
	bool set = false;
	int err;

	if (scenario_number_canon(number, canon, sizeof(canon)) < 0) {
		PLOG_WARN("migrate: index entry for '%s' is not a number; "
			  "left as it is",
			  number);
		return 0;
	}
	if (!strcmp(canon, number))
		return 0;
	if (pbx_key_sys(kold, sizeof(kold), "did:%s", number) ||
	    pbx_key_sys(knew, sizeof(knew), "did:%s", canon))
		return -EINVAL;
	err = prov_store_str(pv, &tenant, "GET %s", kold);
	if (err || !tenant || !pbx_tenant_valid(tenant))
		goto out;
	err = prov_store_set_nx(pv, knew, tenant, &set);
	if (!err && !set)
		err = prov_store_str(pv, &owner, "GET %s", knew);
	if (err)
		goto out;
	if (!set && (!owner || strcmp(owner, tenant))) {
		PLOG_ERR("migrate: number '%s' of tenant %s is the same number "
			 "as %s, held by another tenant; left unrouted: "
			 "disconnect one of them",
			 number, tenant, canon);
		goto out;
	}
	err = move_tenant_records(pv, tenant, number, canon);
	if (!err)
		err = prov_store_del_if(pv, kold, tenant);
	if (!err)
		PLOG_INFO("migrate: number '%s' of tenant %s is now stored as "
			  "%s",
			  number, tenant, canon);
out:
	free(tenant);
	free(owner);
	return err;
}

struct did_batch {
	size_t plen; /* length of the "pbx:{sys}:did:" prefix */
};

static int migrate_batch(struct provision *pv, const redisReply *keys,
			 void *arg)
{
	const struct did_batch *b = arg;
	struct prov_strv nums = {.v = NULL};
	int err = 0;

	/* Copied first: migrating writes while the reply is in use. */
	for (size_t i = 0; !err && i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		if (k->type == REDIS_REPLY_STRING && k->len > b->plen)
			err = prov_strv_add(&nums, "%s", k->str + b->plen);
	}
	for (size_t i = 0; !err && i < nums.n; i++)
		err = migrate_did(pv, nums.v[i]);
	prov_strv_reset(&nums);
	return err;
}

int prov_migrate_numbers(struct provision *pv)
{
	char prefix[PBX_KEY_MAX], match[PBX_KEY_MAX];
	struct did_batch b;

	if (pbx_key_sys(prefix, sizeof(prefix), "did:") ||
	    pbx_key_sys(match, sizeof(match), "did:*"))
		return -EINVAL;
	b.plen = strlen(prefix);
	return prov_store_scan(pv, match, 1000, migrate_batch, &b);
}
