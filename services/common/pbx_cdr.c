/* Call detail records (pbx_cdr.h): the field table, the bounded trace
 * and the disposition rule. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "pbx_cdr.h"

#define F(n, t)                                                                \
	{#n, t, offsetof(struct pbx_cdr, n),                                   \
	 sizeof(((struct pbx_cdr *)0)->n)}
const struct pbx_cdr_field pbx_cdr_fields[PBX_CDR_NFIELDS] = {
	F(tenant, PBX_CDR_STR),	      F(call_id, PBX_CDR_STR),
	F(number, PBX_CDR_STR),	      F(caller, PBX_CDR_STR),
	F(start_ms, PBX_CDR_U64),     F(answer_ms, PBX_CDR_U64),
	F(bridge_ms, PBX_CDR_U64),    F(end_ms, PBX_CDR_U64),
	F(duration_ms, PBX_CDR_U64),  F(talk_ms, PBX_CDR_U64),
	F(disposition, PBX_CDR_STR),  F(sip_code, PBX_CDR_UINT),
	F(reason, PBX_CDR_STR),	      F(worker, PBX_CDR_STR),
	F(answered_by, PBX_CDR_STR),  F(scenario, PBX_CDR_STR),
	F(version, PBX_CDR_LONG),     F(outcome, PBX_CDR_STR),
	F(trace, PBX_CDR_STR),	      F(truncated, PBX_CDR_BOOL),
};
#undef F

const char *pbx_cdr_get(const struct pbx_cdr *cdr,
			const struct pbx_cdr_field *f, char *buf, size_t size)
{
	const char *p = (const char *)cdr + f->off;

	switch (f->type) {
	case PBX_CDR_STR:
		return p;
	case PBX_CDR_U64:
		snprintf(buf, size, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PBX_CDR_UINT:
		snprintf(buf, size, "%u", *(const unsigned *)p);
		break;
	case PBX_CDR_LONG:
		snprintf(buf, size, "%ld", *(const long *)p);
		break;
	case PBX_CDR_BOOL:
		snprintf(buf, size, "%d", *(const bool *)p ? 1 : 0);
		break;
	}
	return buf;
}

/* A string copied with its control characters made spaces (a record
 * comes from calls: a caller id can hold anything); the trace keeps its
 * newlines, which separate hops. */
static void copy_clean(char *dst, size_t size, const char *src, bool lines)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = (ch < 0x20 && !(lines && ch == '\n')) || ch == 0x7f
				 ? ' '
				 : (char)ch;
	}
	dst[i] = '\0';
}

int pbx_cdr_set(struct pbx_cdr *cdr, const char *name, const char *value)
{
	const struct pbx_cdr_field *f = NULL;
	unsigned long long v;
	char *p, *end;

	for (size_t i = 0; i < PBX_CDR_NFIELDS; i++) {
		if (!strcmp(pbx_cdr_fields[i].name, name))
			f = &pbx_cdr_fields[i];
	}
	if (!f)
		return -ENOENT;
	if (!value)
		return -EINVAL;
	p = (char *)cdr + f->off;
	if (f->type == PBX_CDR_STR) {
		copy_clean(p, f->size, value, f->off ==
				offsetof(struct pbx_cdr, trace));
		return 0;
	}
	if (!value[0] || strspn(value, "0123456789") != strlen(value))
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno)
		return -EINVAL;
	switch (f->type) {
	case PBX_CDR_U64:
		*(uint64_t *)p = v;
		break;
	case PBX_CDR_UINT:
		if (v > 999)
			return -EINVAL; /* a SIP code */
		*(unsigned *)p = (unsigned)v;
		break;
	case PBX_CDR_LONG:
		if (v > 1000000000ULL)
			return -EINVAL;
		*(long *)p = (long)v;
		break;
	case PBX_CDR_BOOL:
		if (v > 1)
			return -EINVAL;
		*(bool *)p = v == 1;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* One word of a hop: no spaces, no control characters, "-" if empty. */
static size_t word(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	if (!src || !src[0])
		src = "-";
	for (; *src && n + 1 < size; src++) {
		unsigned char ch = (unsigned char)*src;

		dst[n++] = ch <= 0x20 || ch == 0x7f ? '_' : (char)ch;
	}
	dst[n] = '\0';
	return n;
}

int pbx_cdr_trace_add(char *trace, size_t size, bool *cut, int64_t at_ms,
		      const char *event, const char *node, const char *type,
		      const char *what, const char *output)
{
	char w[5][96], line[512];
	size_t len = strlen(trace);
	int n;

	if (*cut)
		return -ENOSPC;
	word(w[0], sizeof(w[0]), event);
	word(w[1], sizeof(w[1]), node);
	word(w[2], sizeof(w[2]), type);
	word(w[3], sizeof(w[3]), what);
	word(w[4], sizeof(w[4]), output);
	n = snprintf(line, sizeof(line), "%" PRId64 " %s %s %s %s %s\n",
		     at_ms < 0 ? 0 : at_ms, w[0], w[1], w[2], w[3], w[4]);
	if (n < 0 || len + (size_t)n + 1 > size) {
		*cut = true;
		return -ENOSPC;
	}
	memcpy(trace + len, line, (size_t)n + 1);
	return 0;
}

int pbx_cdr_trace_next(const char *trace, size_t *pos,
		       struct pbx_cdr_hop *hop, char *buf, size_t size)
{
	const char *s = trace + *pos, *nl;
	const char **dst[] = {&hop->event, &hop->node, &hop->type, &hop->what,
			      &hop->output};
	size_t n;
	char *p, *save = NULL, *end;

	if (!*s)
		return 0;
	nl = strchr(s, '\n');
	n = nl ? (size_t)(nl - s) : strlen(s);
	*pos += n + (nl ? 1 : 0);
	if (n + 1 > size)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	p = strtok_r(buf, " ", &save);
	if (!p)
		return -EINVAL;
	hop->at_ms = strtoll(p, &end, 10);
	if (*end)
		return -EINVAL;
	for (size_t i = 0; i < 5; i++) {
		p = strtok_r(NULL, " ", &save);
		if (!p)
			return -EINVAL;
		*dst[i] = strcmp(p, "-") ? p : "";
	}
	return strtok_r(NULL, " ", &save) ? -EINVAL : 1;
}

/* The disposition rule: the first row whose test holds names it, with
 * the code and reason a record gets when the router knew none. */
static bool lost(const struct pbx_cdr *c)
{
	return c->end == PBX_CDR_END_LOST;
}
static bool person(const struct pbx_cdr *c)
{
	return c->answered_by[0] != '\0';
}
static bool voicemail(const struct pbx_cdr *c)
{
	return !strcmp(c->outcome, "voicemail");
}
static bool fax(const struct pbx_cdr *c)
{
	return !strcmp(c->outcome, "fax");
}
static bool conference(const struct pbx_cdr *c)
{
	return !strcmp(c->outcome, "conference");
}
/* Refused: before any worker took it, or by the walk on the worker
 * (a REJECT decided by the real first step). */
static bool rejected(const struct pbx_cdr *c)
{
	return c->end == PBX_CDR_END_REJECT || !strcmp(c->outcome, "rejected");
}
static bool busy_code(const struct pbx_cdr *c)
{
	return rejected(c) &&
	       (c->sip_code == 486 || c->sip_code == 600);
}
/* A server error (5xx); a 6xx is the scenario's own answer (a hang-up
 * node's default is 603 Decline). */
static bool error_code(const struct pbx_cdr *c)
{
	return (c->sip_code >= 500 && c->sip_code < 600) || !strcmp(c->outcome, "failed") ||
	       !strcmp(c->outcome, "loop");
}
static bool caller(const struct pbx_cdr *c)
{
	return c->end == PBX_CDR_END_CALLER;
}
static bool ring_no_answer(const struct pbx_cdr *c)
{
	return !strcmp(c->ring, "no_answer");
}
static bool ring_busy(const struct pbx_cdr *c)
{
	return !strcmp(c->ring, "busy");
}
static bool ring_unavailable(const struct pbx_cdr *c)
{
	return !strcmp(c->ring, "unavailable");
}
static bool always(const struct pbx_cdr *c)
{
	(void)c;
	return true;
}

static const struct disp_rule {
	const char *name;
	bool (*test)(const struct pbx_cdr *c);
	unsigned code; /* when none was given */
	const char *reason;
} rules[] = {
	{"failed", lost, 503, "Media Worker Lost"},
	{"answered", person, 200, "OK"},
	{"voicemail", voicemail, 200, "OK"},
	{"fax", fax, 200, "OK"},
	{"conference", conference, 200, "OK"},
	{"busy", busy_code, 486, "Busy Here"},
	{"failed", error_code, 500, "Server Error"},
	/* A ring nobody took says more than how the call ended after it
	 * (the walk's hang-up, a refusal before answer, the caller giving
	 * up on the prompt that followed). */
	{"no_answer", ring_no_answer, 480, "No Answer"},
	{"busy", ring_busy, 486, "Busy Here"},
	{"unavailable", ring_unavailable, 480, "Temporarily Unavailable"},
	{"rejected", rejected, 403, "Forbidden"},
	{"caller_hangup", caller, 487, "Request Terminated"},
	{"hangup", always, 200, "OK"},
};

void pbx_cdr_finish(struct pbx_cdr *c)
{
	const struct disp_rule *r = &rules[sizeof(rules) / sizeof(*rules) - 1];

	if (c->start_ms == 0 || c->start_ms > c->end_ms)
		c->start_ms = c->end_ms;
	if (c->answer_ms > c->end_ms)
		c->answer_ms = c->end_ms;
	if (c->bridge_ms > c->end_ms)
		c->bridge_ms = c->end_ms;
	c->duration_ms = c->end_ms - c->start_ms;
	c->talk_ms = c->bridge_ms ? c->end_ms - c->bridge_ms : 0;
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
		if (rules[i].test(c)) {
			r = &rules[i];
			break;
		}
	}
	snprintf(c->disposition, sizeof(c->disposition), "%s", r->name);
	/* The router knew no code (the caller hung up, a person answered):
	 * the row's; a lost worker's whatever was planned; a caller who
	 * hangs up on an answered call clears it normally. */
	if (c->sip_code == 0 || r->test == lost) {
		bool clear = r->test == caller && c->answer_ms;

		c->sip_code = clear ? 200 : r->code;
		snprintf(c->reason, sizeof(c->reason), "%s",
			 clear ? "OK" : r->reason);
	}
}

bool pbx_cdr_disposition_valid(const char *s)
{
	for (size_t i = 0; s && i < sizeof(rules) / sizeof(*rules); i++) {
		if (!strcmp(rules[i].name, s))
			return true;
	}
	return false;
}

bool pbx_cdr_id_valid(const char *s)
{
	unsigned long long ms, seq;
	char end;

	return s && strlen(s) < PBX_CDR_ID_MAX &&
	       strspn(s, "0123456789-") == strlen(s) &&
	       sscanf(s, "%llu-%llu%c", &ms, &seq, &end) == 2;
}

int pbx_cdr_from_entry(struct pbx_cdr *cdr, const redisReply *entry)
{
	const redisReply *f;

	memset(cdr, 0, sizeof(*cdr));
	if (!entry || entry->type != REDIS_REPLY_ARRAY ||
	    entry->elements != 2 ||
	    entry->element[0]->type != REDIS_REPLY_STRING ||
	    !pbx_cdr_id_valid(entry->element[0]->str))
		return -EINVAL;
	snprintf(cdr->id, sizeof(cdr->id), "%s", entry->element[0]->str);
	f = entry->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
		return -EINVAL;
	for (size_t i = 0; i < f->elements; i += 2) {
		if (f->element[i]->type != REDIS_REPLY_STRING ||
		    f->element[i + 1]->type != REDIS_REPLY_STRING)
			return -EINVAL;
		if (pbx_cdr_set(cdr, f->element[i]->str,
				f->element[i + 1]->str) == -EINVAL)
			return -EINVAL;
	}
	return 0;
}

static json_t *path_json(const char *trace)
{
	json_t *a = json_array();
	struct pbx_cdr_hop h;
	char buf[512];
	size_t pos = 0;
	int rc;

	while (a && (rc = pbx_cdr_trace_next(trace, &pos, &h, buf,
					     sizeof(buf))) != 0) {
		if (rc < 0)
			continue;
		if (json_array_append_new(
			    a, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}",
					 "at_ms", (json_int_t)h.at_ms, "event",
					 h.event, "node", h.node, "type",
					 h.type, "what", h.what, "output",
					 h.output))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *pbx_cdr_json(const struct pbx_cdr *cdr, json_t *extra)
{
	json_t *o = json_object();
	char *s = NULL;
	int bad = !o;

	if (!bad && extra)
		bad = json_object_update(o, extra);
	if (!bad)
		bad = json_object_set_new(o, "id", json_string(cdr->id));
	for (size_t i = 0; !bad && i < PBX_CDR_NFIELDS; i++) {
		const struct pbx_cdr_field *f = &pbx_cdr_fields[i];
		const char *p = (const char *)cdr + f->off;
		json_t *v;

		switch (f->type) {
		case PBX_CDR_STR:
			if (f->off == offsetof(struct pbx_cdr, trace))
				continue; /* as "path" */
			v = json_string(p);
			break;
		case PBX_CDR_U64:
			v = json_integer((json_int_t) * (const uint64_t *)p);
			break;
		case PBX_CDR_UINT:
			v = json_integer((json_int_t) * (const unsigned *)p);
			break;
		case PBX_CDR_LONG:
			v = json_integer((json_int_t) * (const long *)p);
			break;
		default:
			v = json_boolean(*(const bool *)p);
			break;
		}
		bad = json_object_set_new(o, f->name, v);
	}
	if (!bad)
		bad = json_object_set_new(o, "path", path_json(cdr->trace));
	if (!bad)
		s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}
