/* Tenant features: paid or optional parts of the product a tenant must
 * have switched on before its scenarios may use them (fax today). The
 * list is closed, so a typo is refused instead of silently stored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"

static const char *const features[] = {"fax"};

static bool feature_known(const char *f)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		if (!strcmp(features[i], f))
			return true;
	}
	return false;
}

int prov_feature_enabled(struct provision *pv, const char *tenant,
			 const char *feature, bool *on)
{
	char key[PBX_KEY_MAX];
	long long v = 0;
	int err;

	*on = false;
	if (pbx_key(key, sizeof(key), tenant, "tenant"))
		return -EINVAL;
	err = prov_store_int(pv, &v, "HGET %s feature_%s", key, feature);
	if (!err)
		*on = v == 1;
	return err;
}

int prov_feature_set(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantFeature *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *feature = prov_str(q->feature);
	char key[PBX_KEY_MAX];
	int err;

	err = prov_check_tenant(r, tenant);
	if (err)
		return err;
	if (!feature_known(feature))
		return prov_fail(r, -EINVAL,
				 "unknown feature; the features are: fax");
	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "tenant"))
		return -EINVAL;
	/* Stored versions that use a feature being switched off are kept:
	 * versions are immutable, and they were valid when put. The next
	 * put of such a scenario is refused by lint. */
	err = prov_store_do(pv, "HSET %s feature_%s %d", key, feature,
			    q->enabled ? 1 : 0);
	if (err)
		return err;
	PLOG_INFO("feature %s %s", feature, q->enabled ? "on" : "off");
	if (!q->enabled) {
		struct prov_strv users = {.v = NULL};

		/* Done either way; say which call flows just changed. */
		err = prov_object_users(pv, tenant, SCENARIO_REF_FEATURE,
					feature, &users);
		for (size_t i = 0; !err && i < users.n; i++)
			err = prov_strv_add(&r->warnings,
					    "%s uses %s; calls that reach it "
					    "are refused now",
					    users.v[i], feature);
		prov_strv_reset(&users);
	}
	return err;
}
