/* The tenant's voice-assistant recogniser (hash pbx:{<t>}:asr,
 * docs/services/asr-bridge.md "Per-tenant recogniser"): engine, url,
 * language, secret. The router reads it for every Listen; the bridge
 * connects to the url. Tenant-scoped like every operation with a tenant
 * field (prov_auth.c): the url is the tenant's input, so the bridge
 * refuses private and loopback servers unless the operator allows them
 * (its vosk_private). The secret is write-only: shown as "(set)", never
 * logged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "prov.h"

enum { F_ENGINE, F_URL, F_LANGUAGE, F_SECRET, F_COUNT };
#define VALUE_MAX 1024 /* the bridge's AsrStart bounds: url < 1024 */
#define SECRET_MAX 511

static const char *const engines[] = {"pocketsphinx", "vosk"};

static bool url_ok(const char *u)
{
	const char *p = !strncmp(u, "ws://", 5)	   ? u + 5
			: !strncmp(u, "wss://", 6) ? u + 6
						   : NULL;
	size_t auth;

	if (!p || !*p || *p == '/')
		return false;
	auth = strcspn(p, "/");
	return !memchr(p, '@', auth); /* credentials go in the secret */
}

static bool lang_ok(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || v[i] == '-'))
			return false;
	return true;
}

static bool english(const char *v)
{
	return !v[0] || !strcmp(v, "en") || !strcmp(v, "en-us");
}

static bool printable(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || (unsigned char)*v >= 0x7f)
			return false;
	return true;
}

/* One field: its name, and the refusal of a bad value (NULL: good). */
static const char *engine_bad(const char *v)
{
	for (size_t i = 0; i < sizeof(engines) / sizeof(*engines); i++)
		if (!strcmp(v, engines[i]))
			return NULL;
	return "engine must be pocketsphinx or vosk";
}
static const char *url_bad(const char *v)
{
	return url_ok(v) ? NULL
			 : "url must be ws://host[:port][/path] or wss://..., "
			   "without user@";
}
static const char *lang_bad(const char *v)
{
	return lang_ok(v) ? NULL : "language must be like en, ru or en-us";
}
static const char *secret_bad(const char *v)
{
	return strlen(v) <= SECRET_MAX ? NULL
				       : "secret must be at most 511 characters";
}

static const struct {
	const char *name;
	const char *(*bad)(const char *v);
	bool secret;
} fields[F_COUNT] = {
	[F_ENGINE] = {"engine", engine_bad, false},
	[F_URL] = {"url", url_bad, false},
	[F_LANGUAGE] = {"language", lang_bad, false},
	[F_SECRET] = {"secret", secret_bad, true},
};

static int field_of(const char *name, size_t len)
{
	for (int i = 0; i < F_COUNT; i++)
		if (strlen(fields[i].name) == len &&
		    !strncmp(fields[i].name, name, len))
			return i;
	return -1;
}

/* The stored hash into v[] (strdup'd values, NULL unset). */
static int load(struct provision *pv, const char *key, char *v[F_COUNT])
{
	redisReply *rr = NULL;
	int err = prov_store_cmd(pv, &rr, "HGETALL %s", key);

	for (size_t k = 0; !err && rr->type == REDIS_REPLY_ARRAY &&
			   k + 1 < rr->elements;
	     k += 2) {
		int f = field_of(rr->element[k]->str,
				 strlen(rr->element[k]->str));

		if (f >= 0 && !v[f] &&
		    !(v[f] = strdup(rr->element[k + 1]->str)))
			err = -ENOMEM;
	}
	if (rr)
		freeReplyObject(rr);
	return err;
}

static int show(struct prov_reply *r, char *const v[F_COUNT])
{
	const char *engine = v[F_ENGINE] ? v[F_ENGINE] : "pocketsphinx";

	return prov_strv_add(&r->items,
			     "asr: engine=%s url=%s language=%s secret=%s",
			     engine, v[F_URL] ? v[F_URL] : "(none)",
			     v[F_LANGUAGE] ? v[F_LANGUAGE] : "(default: en)",
			     v[F_SECRET] ? "(set)" : "(none)");
}

/* The whole setting makes sense: vosk needs its url; only vosk hears
 * other languages than English. */
static const char *consistent(char *const v[F_COUNT])
{
	bool vosk = v[F_ENGINE] && !strcmp(v[F_ENGINE], "vosk");

	if (vosk && !v[F_URL])
		return "engine=vosk needs url=ws://... or wss://...";
	if (!vosk && v[F_LANGUAGE] && !english(v[F_LANGUAGE]))
		return "only engine=vosk hears other languages than English "
		       "(Debian has no pocketsphinx model for them)";
	return NULL;
}

int prov_asr_set(struct provision *pv,
		 const Pbx__V1__ProvRequest__AsrSet *q, struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant), *why;
	char key[PBX_KEY_MAX], *v[F_COUNT] = {NULL};
	bool given[F_COUNT] = {false};
	int err = prov_check_tenant(r, tenant);

	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_of(key, sizeof(key), tenant, PBX_K_ASR))
		return -EINVAL;
	if (q->clear) {
		err = prov_store_do(pv, "DEL %s", key);
		return err ? err : show(r, v);
	}
	err = load(pv, key, v);
	for (size_t i = 0; !err && i < q->n_settings; i++) {
		const char *s = prov_str(q->settings[i]), *eq = strchr(s, '=');
		int f = eq ? field_of(s, (size_t)(eq - s)) : -1;

		if (f < 0) {
			err = prov_fail(r, -EINVAL,
					"asr settings are engine=, url=, "
					"language=, secret= (name=value)");
			break;
		}
		if (strlen(eq + 1) >= VALUE_MAX || !printable(eq + 1)) {
			err = prov_fail(r, -EINVAL,
					"%s must be at most %d printable "
					"characters without spaces",
					fields[f].name, VALUE_MAX - 1);
			break;
		}
		why = eq[1] ? fields[f].bad(eq + 1) : NULL;
		if (why) {
			err = prov_fail(r, -EINVAL, "%s", why);
			break;
		}
		free(v[f]); /* "name=" removes it */
		v[f] = eq[1] ? strdup(eq + 1) : NULL;
		given[f] = true;
		if (eq[1] && !v[f])
			err = -ENOMEM;
	}
	if (!err && (why = consistent(v)))
		err = prov_fail(r, -EINVAL, "%s", why);
	for (int f = 0; !err && f < F_COUNT; f++) {
		if (!given[f])
			continue;
		err = v[f] ? prov_store_do(pv, "HSET %s %s %s", key,
					   fields[f].name, v[f])
			   : prov_store_do(pv, "HDEL %s %s", key,
					   fields[f].name);
	}
	if (!err)
		err = show(r, v);
	for (int f = 0; f < F_COUNT; f++) {
		if (v[f] && fields[f].secret)
			explicit_bzero(v[f], strlen(v[f]));
		free(v[f]);
	}
	return err;
}
