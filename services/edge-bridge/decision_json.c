/* Kamailio evapi JSON <-> pbx.v1 CallNew / RouteDecision: field checks and
 * the two reply shapes Kamailio's ROUTER_DECISION route understands. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decision_json.h"

int decision_json_parse(json_t **rootp, enum decision_json_event *evp,
			const char *data, size_t len)
{
	json_t *root, *ev;
	const char *name;

	if (!rootp || !evp || !data)
		return -EINVAL;
	/* REJECT_DUPLICATES: a second "tindex" must not silently win. */
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return -EINVAL;
	ev = json_object_get(root, "event");
	if (!json_is_object(root) || !json_is_string(ev)) {
		json_decref(root);
		return -EINVAL;
	}
	name = json_string_value(ev);
	if (!strcmp(name, "call.new"))
		*evp = DECISION_JSON_CALL_NEW;
	else if (!strcmp(name, "call.canceled"))
		*evp = DECISION_JSON_CALL_CANCELED;
	else
		*evp = DECISION_JSON_UNKNOWN;
	*rootp = root;
	return 0;
}

static int get_uint(uint64_t *vp, const json_t *root, const char *key,
		    uint64_t max)
{
	const json_t *v = json_object_get(root, key);
	json_int_t i;

	if (!json_is_integer(v))
		return -EINVAL;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return -EINVAL;
	*vp = (uint64_t)i;
	return 0;
}

/* required: empty strings count as missing (a Call-ID of "" is useless). */
static int get_str(const char **sp, const json_t *root, const char *key,
		   bool required)
{
	const json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v)) {
		*sp = "";
		return required ? -EINVAL : 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	*sp = json_string_value(v);
	if (required && !**sp)
		return -EINVAL;
	return 0;
}

/* The caller's identity as Kamailio established it. source defaults to
 * "unknown" (a Kamailio that predates it); the detail fields a source
 * needs are required, those of other sources are dropped, so the router
 * never sees, say, a caller_tenant on a trunk call. Returns the bad key or
 * NULL. */
static const char *get_source(Pbx__V1__CallNew *m, const json_t *root)
{
	const char *source, *trunk, *domain, *tenant;

	if (get_str(&source, root, "source", false))
		return "source";
	if (!*source)
		source = "unknown";
	if (strcmp(source, "trunk") && strcmp(source, "extension") &&
	    strcmp(source, "unknown") && strcmp(source, "worker"))
		return "source";
	if (get_str(&trunk, root, "source_trunk", false))
		return "source_trunk";
	if (get_str(&domain, root, "caller_domain", false))
		return "caller_domain";
	if (get_str(&tenant, root, "caller_tenant", false))
		return "caller_tenant";
	m->source = (char *)source;
	m->source_trunk = (char *)"";
	m->caller_domain = (char *)"";
	m->caller_tenant = (char *)"";
	if (!strcmp(source, "trunk")) {
		if (!*trunk)
			return "source_trunk";
		m->source_trunk = (char *)trunk;
	} else if (!strcmp(source, "extension")) {
		if (!*domain)
			return "caller_domain";
		if (!*tenant)
			return "caller_tenant";
		m->caller_domain = (char *)domain;
		m->caller_tenant = (char *)tenant;
	}
	return NULL;
}

int decision_json_call_new(struct decision_json_call *call,
			   const char **badp, const json_t *root,
			   const char *edge_id)
{
	static const struct {
		const char *key;
		bool required;
		size_t off;
	} strs[] = {
#define S(k, req, f) {k, req, offsetof(Pbx__V1__CallNew, f)}
		S("from_user", false, from_user),
		S("from_uri", true, from_uri),
		S("to_user", false, to_user),
		S("to_uri", true, to_uri),
		S("src_ip", true, src_ip),
		S("transport", true, transport),
#undef S
	};
	Pbx__V1__CallNew *m;
	const char *bad = NULL;
	uint64_t v;

	if (!call || !root)
		return -EINVAL;
	memset(call, 0, sizeof(*call));
	m = &call->msg;
	pbx__v1__call_new__init(m);
	m->edge_id = (char *)(edge_id ? edge_id : "");

	if (get_uint(&v, root, "tindex", UINT32_MAX)) {
		bad = "tindex";
		goto out;
	}
	m->tindex = (uint32_t)v;
	if (get_uint(&v, root, "tlabel", UINT32_MAX)) {
		bad = "tlabel";
		goto out;
	}
	m->tlabel = (uint32_t)v;
	if (get_str(&call->call_id, root, "callid", true)) {
		bad = "callid";
		goto out;
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *s;

		if (get_str(&s, root, strs[i].key, strs[i].required)) {
			bad = strs[i].key;
			goto out;
		}
		/* protobuf-c wants char *; we never write through it. */
		*(char **)((char *)m + strs[i].off) = (char *)s;
	}
	if (get_uint(&v, root, "src_port", 65535)) {
		bad = "src_port";
		goto out;
	}
	m->src_port = (uint32_t)v;
	bad = get_source(m, root);
out:
	if (badp)
		*badp = bad;
	return bad ? -EINVAL : 0;
}

int decision_json_canceled(const char **callidp, const json_t *root)
{
	if (!callidp || !root)
		return -EINVAL;
	return get_str(callidp, root, "callid", true);
}

/* Kamailio copies reason into the status line and tenant into a header
 * (append_hf): a CR or LF there would let the router, or whoever fakes it,
 * inject SIP headers. NULL counts as clean (it becomes ""). */
static bool is_clean(const char *s, bool allow_space)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space))
			return false;
	}
	return true;
}

/* Serialises obj (consumed) into *jsonp. json_pack() fails on NULL or
 * invalid UTF-8, which is bad input rather than a lack of memory. */
static int dump(char **jsonp, json_t *obj)
{
	char *s;

	if (!obj)
		return -EINVAL;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s)
		return -ENOMEM;
	*jsonp = s;
	return 0;
}

int decision_json_reject(char **jsonp, uint32_t tindex, uint32_t tlabel,
			 unsigned code, const char *reason,
			 const char *tenant, uint32_t cache_ms)
{
	/* 1xx-3xx would leave the caller hanging or redirect it nowhere. */
	if (!jsonp || code < 400 || code > 699 || !is_clean(reason, true) ||
	    !is_clean(tenant, false))
		return -EINVAL;
	/* "s?" would emit null for a NULL string; Kamailio's jansson_get
	 * then leaves the variable untouched, so always send a string. */
	if (!reason || !*reason)
		reason = "Rejected";
	if (!tenant)
		tenant = "";
	/* At most a minute: a stale answer must not outlive an operator's
	 * change for long, whatever a router says. */
	if (code == 503)
		cache_ms = 0;
	else if (cache_ms > 60000)
		cache_ms = 60000;
	return dump(jsonp,
		    json_pack("{s:I, s:I, s:s, s:I, s:s, s:s, s:I}", "tindex",
			      (json_int_t)tindex, "tlabel", (json_int_t)tlabel,
			      "action", "reject", "code", (json_int_t)code,
			      "reason", reason, "tenant", tenant, "cache_ms",
			      (json_int_t)cache_ms));
}

static bool sip_uri_ok(const char *uri)
{
	return uri && (!strncmp(uri, "sip:", 4) || !strncmp(uri, "sips:", 5)) &&
	       is_clean(uri, false);
}

int decision_json_media(char **jsonp, uint32_t tindex, uint32_t tlabel,
			const char *uri, const char *tenant,
			const char *worker, const char *alt_uri)
{
	if (!alt_uri)
		alt_uri = "";
	if (!jsonp || !sip_uri_ok(uri) || !is_clean(tenant, false) ||
	    !is_clean(worker, false) || (*alt_uri && !sip_uri_ok(alt_uri)))
		return -EINVAL;
	return dump(jsonp,
		    json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "tindex",
			      (json_int_t)tindex, "tlabel", (json_int_t)tlabel,
			      "action", "media", "uri", uri, "tenant",
			      tenant ? tenant : "", "worker",
			      worker ? worker : "", "alt_uri", alt_uri));
}

int decision_json_from_decision(char **jsonp, uint32_t tindex,
				uint32_t tlabel,
				const Pbx__V1__RouteDecision *d,
				const char *tenant)
{
	if (!jsonp || !d)
		return -EINVAL;
	switch (d->action) {
	case PBX__V1__ROUTE_DECISION__ACTION__ACTION_REJECT:
		return decision_json_reject(jsonp, tindex, tlabel, d->sip_code,
					    d->reason, tenant,
					    d->edge_cache_ms);
	case PBX__V1__ROUTE_DECISION__ACTION__ACTION_MEDIA:
		return decision_json_media(jsonp, tindex, tlabel, d->media_uri,
					   tenant, d->worker_id,
					   d->alt_media_uri);
	default:
		return -EINVAL;
	}
}

int decision_json_call_end(char **jsonp, const char *call_id,
			   const char *reason)
{
	if (!jsonp || !call_id || !*call_id || !is_clean(call_id, false) ||
	    !is_clean(reason, true))
		return -EINVAL;
	return dump(jsonp, json_pack("{s:s, s:s, s:s}", "event", "call.end",
				     "callid", call_id, "reason",
				     reason && *reason ? reason : "ended"));
}
