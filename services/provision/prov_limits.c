/* Per-tenant limits (concurrent calls, calls per second, concurrent
 * carrier legs): set by the operator, stored in the tenant hash, read by
 * the router and Kamailio (pbx_limits.h). A limit never set shows its
 * default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_limits.h"
#include "pbx_log.h"
#include "prov.h"

#define LIMIT_MAX 1000000

static const struct limit_def {
	const char *label;
	const char *field;
	int def;
} limits[] = {
	{"calls", PBX_LIMIT_CALLS_FIELD, PBX_LIMIT_CALLS_DEFAULT},
	{"cps", PBX_LIMIT_CPS_FIELD, PBX_LIMIT_CPS_DEFAULT},
	{"carrier_legs", PBX_LIMIT_CARRIER_FIELD, PBX_LIMIT_CARRIER_DEFAULT},
};

#define N_LIMITS (sizeof(limits) / sizeof(limits[0]))

int prov_limits_set(struct provision *pv,
		    const Pbx__V1__ProvRequest__TenantLimits *q,
		    struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const int32_t want[N_LIMITS] = {q->calls, q->cps, q->carrier_legs};
	char key[PBX_KEY_MAX];
	int err;

	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	for (size_t i = 0; i < N_LIMITS; i++)
		if (want[i] < -1 || want[i] > LIMIT_MAX)
			return prov_fail(r, -EINVAL,
					 "limit %s must be 0 to %d (-1: "
					 "unchanged)",
					 limits[i].label, LIMIT_MAX);
	if (pbx_key(key, sizeof(key), tenant, "tenant"))
		return -EINVAL;
	for (size_t i = 0; i < N_LIMITS; i++) {
		if (want[i] < 0)
			continue;
		err = prov_store_do(pv, "HSET %s %s %d", key, limits[i].field,
				    (int)want[i]);
		if (err)
			return err;
		PLOG_INFO("limit %s = %d", limits[i].label, (int)want[i]);
	}
	for (size_t i = 0; i < N_LIMITS; i++) {
		char *v = NULL;

		err = prov_store_str(pv, &v, "HGET %s %s", key,
				     limits[i].field);
		if (err)
			return err;
		if (v)
			err = prov_strv_add(&r->items, "%s %s", limits[i].label,
					    v);
		else
			err = prov_strv_add(&r->items, "%s %d (default)",
					    limits[i].label, limits[i].def);
		free(v);
		if (err)
			return err;
	}
	return 0;
}
