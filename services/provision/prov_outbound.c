/* Outbound calls of a tenant's extensions: the policy (the fields of
 * scenario_outbound.h's table) and each extension's permission and
 * caller ID, in the tenant's hash pbx:{<t>}:outbound, which the router
 * reads for every outbound call. A caller ID must be a number the tenant
 * owns (pbx:{sys}:did:<n>), checked here and again by the router at call
 * time. Tenant-scoped like every operation with a tenant field
 * (prov_auth.c). docs/employees.md "Outbound calls". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"
#include "scenario.h"
#include "scenario_outbound.h"

#define SETTINGS_MAX 16
#define FIELD_MAX 96
#define VALUE_MAX 40

/* An extension's own fields (stored as ext:<e>:<name>): its outbound
 * permission and caller ID; do-not-disturb (Kamailio reads it for every
 * ring of the extension) and call forwarding (the router reads them for
 * every call to it), the pickup group (the router, when it rings the
 * extension and when a phone dials *8): docs/employees.md. */
static const struct scenario_out_field ext_fields[] = {
	{"outbound", SCENARIO_OUT_BOOL, "on"},
	{"caller_id", SCENARIO_OUT_NUMBER, "(the tenant's)"},
	{"dnd", SCENARIO_OUT_BOOL, "off"},
	{"fwd_always", SCENARIO_OUT_TARGET, "none"},
	{"fwd_busy", SCENARIO_OUT_TARGET, "none"},
	{"fwd_noanswer", SCENARIO_OUT_TARGET, "none"},
	{"fwd_timeout", SCENARIO_OUT_SECONDS, "20"},
	{"pickup_group", SCENARIO_OUT_NAME, "none"},
};
#define EXT_NFIELDS (sizeof(ext_fields) / sizeof(*ext_fields))

/* What a refused value of each kind should have been. */
static const char *const kind_rule[] = {
	[SCENARIO_OUT_BOOL] = "%s is on or off",
	[SCENARIO_OUT_COUNT] = "%s is a whole number from 0 to 100000",
	[SCENARIO_OUT_NUMBER] = "%s is a phone number",
	[SCENARIO_OUT_TARGET] = "%s is an extension or a phone number, or "
				"none",
	[SCENARIO_OUT_SECONDS] = "%s is a number of seconds from 5 to 120",
	[SCENARIO_OUT_NAME] = "%s is a name of 1 to 32 letters, digits, "
			      "'_', '-' or '.', or none",
};

struct field_set {
	const struct scenario_out_field *tab;
	size_t n;
	const char *ext; /* NULL: the tenant's fields */
};

static int field_name(const struct field_set *fs, size_t i, char *buf)
{
	if (!fs->ext) {
		snprintf(buf, FIELD_MAX, "%s", fs->tab[i].name);
		return 0;
	}
	return scenario_outbound_ext_field(buf, FIELD_MAX, fs->ext,
					   fs->tab[i].name);
}

/* A caller ID as the operator wrote it: canonical, and the tenant's. */
static int parse_number(struct provision *pv, struct prov_reply *r,
			const char *tenant, const char *in, char *out)
{
	bool owned = false;
	int err;

	if (scenario_number_canon(in, out, VALUE_MAX) < 0)
		return prov_fail(r, -EINVAL, "caller_id \"%s\" is not a "
					     "phone number", in);
	err = prov_number_owned(pv, tenant, out, &owned);
	if (err)
		return err;
	if (!owned)
		return prov_fail(r, -EINVAL,
				 "caller_id %s is not a number of tenant %s "
				 "(pbxctl number list %s)",
				 out, tenant, tenant);
	return 0;
}

/* Checks every setting before writing any: a refused request changes
 * nothing. */
static int apply(struct provision *pv, struct prov_reply *r,
		 const char *tenant, const char *key,
		 const struct field_set *fs, char *const *settings,
		 size_t nset)
{
	char names[SETTINGS_MAX][FIELD_MAX], vals[SETTINGS_MAX][VALUE_MAX];
	const char *hset[2 + 2 * SETTINGS_MAX], *hdel[2 + SETTINGS_MAX];
	int nhset = 2, nhdel = 2, err;

	if (nset > SETTINGS_MAX)
		return prov_fail(r, -EINVAL, "at most %d settings at once",
				 SETTINGS_MAX);
	hset[0] = "HSET";
	hdel[0] = "HDEL";
	hset[1] = hdel[1] = key;
	for (size_t k = 0; k < nset; k++) {
		const char *s = prov_str(settings[k]), *eq = strchr(s, '=');
		size_t i;

		for (i = 0; eq && i < fs->n; i++)
			if (strlen(fs->tab[i].name) == (size_t)(eq - s) &&
			    !strncmp(s, fs->tab[i].name, (size_t)(eq - s)))
				break;
		if (!eq || i == fs->n)
			return prov_fail(r, -EINVAL,
					 "unknown setting \"%.40s\": name=value "
					 "with a name of: %s%s%s",
					 s, fs->tab[0].name,
					 fs->n > 2 ? ", ..." : ", ",
					 fs->tab[fs->n - 1].name);
		if (field_name(fs, i, names[k]))
			return prov_fail(r, -EINVAL, "extension too long");
		if ((fs->tab[i].kind == SCENARIO_OUT_NUMBER ||
		     fs->tab[i].kind == SCENARIO_OUT_TARGET ||
		     fs->tab[i].kind == SCENARIO_OUT_NAME) &&
		    (!eq[1] || !strcmp(eq + 1, "none"))) {
			hdel[nhdel++] = names[k];
			continue;
		}
		if (fs->tab[i].kind == SCENARIO_OUT_NUMBER) {
			err = parse_number(pv, r, tenant, eq + 1, vals[k]);
		} else if (scenario_outbound_parse(&fs->tab[i], eq + 1,
						   vals[k], VALUE_MAX)) {
			err = prov_fail(r, -EINVAL, kind_rule[fs->tab[i].kind],
					fs->tab[i].name);
		} else if (fs->ext && fs->tab[i].kind == SCENARIO_OUT_TARGET &&
			   !strcmp(vals[k], fs->ext)) {
			err = prov_fail(r, -EINVAL,
					"%s: an extension cannot forward to "
					"itself",
					fs->tab[i].name);
		} else {
			err = 0;
		}
		if (err)
			return err;
		hset[nhset++] = names[k];
		hset[nhset++] = vals[k];
	}
	if (nhset > 2) {
		err = prov_store_argv(pv, NULL, nhset, hset, NULL);
		if (err)
			return err;
	}
	if (nhdel > 2) {
		err = prov_store_argv(pv, NULL, nhdel, hdel, NULL);
		if (err)
			return err;
	}
	if (nset)
		PLOG_INFO("outbound settings of %s%s changed (%zu)",
			  fs->ext ? "extension " : "the tenant",
			  fs->ext ? fs->ext : "", nset);
	return 0;
}

/* The reply: every field, "name value" or "name <default> (default)". */
static int show(struct provision *pv, struct prov_reply *r, const char *key,
		const struct field_set *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		char name[FIELD_MAX], *v = NULL;
		const struct scenario_out_field *f = &fs->tab[i];
		int err = field_name(fs, i, name);

		if (!err)
			err = prov_store_str(pv, &v, "HGET %s %s", key, name);
		if (err)
			return err;
		if (v && f->kind == SCENARIO_OUT_BOOL)
			err = prov_strv_add(&r->items, "%s %s", f->name,
					    strcmp(v, "1") ? "off" : "on");
		else if (v)
			err = prov_strv_add(&r->items, "%s %s", f->name, v);
		else
			err = prov_strv_add(&r->items, "%s %s (default)",
					    f->name, f->def[0] ? f->def : "none");
		free(v);
		if (err)
			return err;
	}
	return 0;
}

int prov_outbound_set(struct provision *pv,
		      const Pbx__V1__ProvRequest__OutboundSet *q,
		      struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const struct field_set fs = {scenario_out_fields, scenario_out_nfields,
				     NULL};
	char key[PBX_KEY_MAX];
	int err = prov_tenant_known(pv, r, tenant);

	if (err)
		return err;
	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_OUTBOUND))
		return -EINVAL;
	err = apply(pv, r, tenant, key, &fs, q->settings, q->n_settings);
	return err ? err : show(pv, r, key, &fs);
}

int prov_extension_set(struct provision *pv,
		       const Pbx__V1__ProvRequest__ExtensionSet *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant), *ext = prov_str(q->ext);
	const struct field_set fs = {ext_fields, EXT_NFIELDS, ext};
	char key[PBX_KEY_MAX];
	long long member = 0;
	int err = prov_tenant_known(pv, r, tenant);

	if (err)
		return err;
	if (!pbx_id_valid(ext) || pbx_key(key, sizeof(key), tenant, "exts"))
		return prov_fail(r, -EINVAL, "bad extension \"%.40s\"", ext);
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, ext);
	if (err)
		return err;
	if (!member)
		return prov_fail(r, -ENOENT, "no extension %s in tenant %s",
				 ext, tenant);
	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_OUTBOUND))
		return -EINVAL;
	err = apply(pv, r, tenant, key, &fs, q->settings, q->n_settings);
	return err ? err : show(pv, r, key, &fs);
}

int prov_outbound_forget(struct provision *pv, const char *tenant,
			 const char *ext)
{
	char key[PBX_KEY_MAX], names[EXT_NFIELDS][FIELD_MAX];
	const char *argv[2 + EXT_NFIELDS];

	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_OUTBOUND))
		return -EINVAL;
	argv[0] = "HDEL";
	argv[1] = key;
	for (size_t i = 0; i < EXT_NFIELDS; i++) {
		if (scenario_outbound_ext_field(names[i], FIELD_MAX, ext,
						ext_fields[i].name))
			return -EINVAL;
		argv[2 + i] = names[i];
	}
	return prov_store_argv(pv, NULL, 2 + EXT_NFIELDS, argv, NULL);
}
