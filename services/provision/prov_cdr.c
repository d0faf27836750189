/* Call records: list (newest first, filtered) and show one with its path
 * node by node, from the tenant's stream pbx:{t}:cdr that the router
 * writes (route_cdr.c; the fields are pbx_cdr.h's). Tenant scoped like
 * every operation (prov_auth.c: the query's tenant). Bounded: at most
 * PROV_CDR_LIMIT_MAX records answered and PROV_CDR_SCAN_MAX read per
 * request, whatever the filters. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_cdr.h"
#include "prov.h"
#include "scenario.h"

#define PROV_CDR_LIMIT_DEFAULT 50
#define PROV_CDR_LIMIT_MAX 1000
/* Records read from the stream for one list: filters that match rarely
 * stop here with a warning rather than read a whole month. */
#define PROV_CDR_SCAN_MAX 20000
#define PROV_CDR_BATCH 200

/* The caller as given, and its canonical number when it is one. */
static bool caller_matches(const char *want, const char *want_canon,
			   const char *caller)
{
	char canon[40];

	if (!want[0] || !strcmp(want, caller))
		return true;
	return want_canon[0] &&
	       scenario_number_canon(caller, canon, sizeof(canon)) > 0 &&
	       !strcmp(canon, want_canon);
}

static bool matches(const Pbx__V1__CdrQuery *q, const char *caller_canon,
		    const struct pbx_cdr *c)
{
	const char *num = prov_str(q->number), *disp = prov_str(q->disposition);

	if (q->since_ms && c->start_ms < q->since_ms)
		return false;
	if (q->until_ms && c->start_ms > q->until_ms)
		return false;
	if (num[0] && strcmp(num, c->number))
		return false;
	if (disp[0] && strcmp(disp, c->disposition))
		return false;
	return caller_matches(prov_str(q->caller), caller_canon, c->caller);
}

/* "a > b > c": the nodes in the order visited, a node repeated only when
 * the call came back to it after another. */
static void path_text(const struct pbx_cdr *c, char *out, size_t size)
{
	struct pbx_cdr_hop h;
	char buf[512], last[96] = "";
	size_t pos = 0, len = 0;
	int rc;

	out[0] = '\0';
	while ((rc = pbx_cdr_trace_next(c->trace, &pos, &h, buf,
					sizeof(buf))) != 0) {
		if (rc < 0 || !strcmp(last, h.node))
			continue;
		snprintf(last, sizeof(last), "%s", h.node);
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					len ? " > " : "", h.node);
		if (len >= size) {
			len = size - 1;
			break;
		}
	}
	if (c->truncated && len + 8 < size)
		snprintf(out + len, size - len, " > ...");
}

/* One list line: "<id> <start> <caller> -> <number> <disposition> <code>
 * <seconds>s [by <who>] path <nodes>". */
static int list_line(struct prov_reply *r, const struct pbx_cdr *c)
{
	char when[32], path[1024];

	prov_time_iso(when, sizeof(when), c->start_ms);
	path_text(c, path, sizeof(path));
	return prov_strv_add(&r->items,
			     "%s %s %s -> %s %s %u %" PRIu64 ".%01" PRIu64
			     "s%s%s path %s",
			     c->id, when, c->caller[0] ? c->caller : "anonymous",
			     c->number, c->disposition, c->sip_code,
			     c->duration_ms / 1000, c->duration_ms % 1000 / 100,
			     c->answered_by[0] ? " by " : "", c->answered_by,
			     path[0] ? path : "-");
}

static int json_line(FILE *f, const struct pbx_cdr *c)
{
	char *s = pbx_cdr_json(c, NULL);

	if (!s)
		return -ENOMEM;
	fprintf(f, "%s\n", s);
	free(s);
	return 0;
}

static int check_query(struct provision *pv, const Pbx__V1__CdrQuery *q,
		       struct prov_reply *r)
{
	const char *fmt = prov_str(q->format), *disp = prov_str(q->disposition);
	int err = prov_tenant_known(pv, r, q->tenant);

	if (err)
		return err;
	if (fmt[0] && strcmp(fmt, "json"))
		return prov_fail(r, -EINVAL, "format is \"json\" or empty");
	if (disp[0] && !pbx_cdr_disposition_valid(disp))
		return prov_fail(r, -EINVAL,
				 "disposition must be one of answered, "
				 "no_answer, busy, unavailable, rejected, "
				 "failed, caller_hangup, hangup, voicemail, "
				 "fax, conference");
	if (strlen(prov_str(q->caller)) > 64)
		return prov_fail(r, -EINVAL,
				 "caller is at most 64 characters");
	if (q->limit > PROV_CDR_LIMIT_MAX)
		return prov_fail(r, -EINVAL, "limit is 1 to %d",
				 PROV_CDR_LIMIT_MAX);
	if (q->since_ms && q->until_ms && q->since_ms > q->until_ms)
		return prov_fail(r, -EINVAL, "since is after until");
	return 0;
}

int prov_cdr_list(struct provision *pv, const Pbx__V1__CdrQuery *q,
		  struct prov_reply *r)
{
	char key[PBX_KEY_MAX], end[PBX_CDR_ID_MAX + 24], start[32];
	char caller_canon[40] = "";
	unsigned limit = q->limit ? q->limit : PROV_CDR_LIMIT_DEFAULT;
	unsigned found = 0, scanned = 0;
	bool json = !strcmp(prov_str(q->format), "json"), more = true;
	static struct pbx_cdr c; /* 5 KB: not on the stack */
	char *body = NULL;
	size_t body_len = 0;
	FILE *out = NULL;
	int err = check_query(pv, q, r);

	if (err)
		return err;
	if (pbx_key_of(key, sizeof(key), q->tenant, PBX_K_CDR))
		return prov_fail(r, -EINVAL, "bad tenant");
	if (prov_str(q->caller)[0] &&
	    scenario_number_canon(q->caller, caller_canon,
				  sizeof(caller_canon)) <= 0)
		caller_canon[0] = '\0';
	/* Entry ids are the write time: a call is written when it ends,
	 * at or after it started, so until bounds the ids only loosely
	 * (a call that started before until may have ended after it:
	 * read from the newest and filter on start_ms). */
	snprintf(end, sizeof(end), "+");
	snprintf(start, sizeof(start), "%" PRIu64 "", q->since_ms);
	if (json) {
		out = open_memstream(&body, &body_len);
		if (!out)
			return -ENOMEM;
	}
	while (more && found < limit && scanned < PROV_CDR_SCAN_MAX) {
		redisReply *rep;

		err = prov_store_cmd(pv, &rep, "XREVRANGE %s %s %s COUNT %d",
				     key, end, q->since_ms ? start : "-",
				     PROV_CDR_BATCH);
		if (err)
			break;
		if (rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			err = -EIO;
			break;
		}
		more = rep->elements == PROV_CDR_BATCH;
		for (size_t i = 0; i < rep->elements && found < limit; i++) {
			const redisReply *e = rep->element[i];

			scanned++;
			if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
			    e->element[0]->type == REDIS_REPLY_STRING)
				snprintf(end, sizeof(end), "(%s",
					 e->element[0]->str);
			if (pbx_cdr_from_entry(&c, e) || !matches(q, caller_canon,
								  &c))
				continue;
			found++;
			err = json ? json_line(out, &c) : list_line(r, &c);
			if (err)
				break;
		}
		freeReplyObject(rep);
		if (err)
			break;
	}
	if (out) {
		fclose(out);
		if (!err) {
			r->body = body;
			body = NULL;
		}
		free(body);
	}
	if (err)
		return err;
	if (scanned >= PROV_CDR_SCAN_MAX && found < limit && more)
		prov_strv_add(&r->warnings,
			      "stopped after reading %d records; narrow the "
			      "time range (--since, --until) to see older "
			      "ones",
			      PROV_CDR_SCAN_MAX);
	return 0;
}

static void show_time(FILE *f, const char *label, uint64_t ms)
{
	char when[32];

	if (!ms) {
		fprintf(f, "%-12s -\n", label);
		return;
	}
	prov_time_iso(when, sizeof(when), ms);
	fprintf(f, "%-12s %s (%" PRIu64 ")\n", label, when, ms);
}

/* The record field by field, then its path one hop a line, as
 * `pbxctl scenario simulate` prints a hop: "| node <id> (<type>):
 * <what> -> <output>". */
static int show_text(const struct pbx_cdr *c, char **body)
{
	struct pbx_cdr_hop h;
	char buf[512];
	size_t pos = 0, len = 0;
	FILE *f = open_memstream(body, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	fprintf(f, "%-12s %s\n", "id", c->id);
	fprintf(f, "%-12s %s\n", "call", c->call_id);
	fprintf(f, "%-12s %s\n", "caller", c->caller[0] ? c->caller
							   : "anonymous");
	fprintf(f, "%-12s %s\n", "number", c->number);
	show_time(f, "start", c->start_ms);
	show_time(f, "answer", c->answer_ms);
	show_time(f, "bridged", c->bridge_ms);
	show_time(f, "end", c->end_ms);
	fprintf(f, "%-12s %" PRIu64 ".%03" PRIu64 " s (talk %" PRIu64
		   ".%03" PRIu64 " s)\n",
		"duration", c->duration_ms / 1000, c->duration_ms % 1000,
		c->talk_ms / 1000, c->talk_ms % 1000);
	fprintf(f, "%-12s %s\n", "disposition", c->disposition);
	fprintf(f, "%-12s %u %s\n", "sip", c->sip_code, c->reason);
	fprintf(f, "%-12s %s\n", "answered by",
		c->answered_by[0] ? c->answered_by : "-");
	fprintf(f, "%-12s %s\n", "worker", c->worker[0] ? c->worker : "-");
	fprintf(f, "%-12s %s v%ld\n", "scenario",
		c->scenario[0] ? c->scenario : "-", c->version);
	fprintf(f, "%-12s %s\n", "outcome", c->outcome[0] ? c->outcome : "-");
	fprintf(f, "path:\n");
	while ((rc = pbx_cdr_trace_next(c->trace, &pos, &h, buf,
					sizeof(buf))) != 0) {
		if (rc < 0)
			continue;
		fprintf(f, "  [+%" PRId64 ".%03" PRId64 "s] %-12s| node %s (%s): "
			   "%s%s%s\n",
			h.at_ms / 1000, h.at_ms % 1000, h.event, h.node,
			h.type, h.what, h.output[0] ? " -> " : "", h.output);
	}
	if (!c->trace[0])
		fprintf(f, "  (no scenario node visited)\n");
	if (c->truncated)
		fprintf(f, "  ... (path cut at %d bytes: the rest of the "
			   "call is not recorded)\n",
			PBX_CDR_TRACE_MAX);
	fclose(f);
	return *body ? 0 : -ENOMEM;
}

int prov_cdr_show(struct provision *pv, const Pbx__V1__CdrQuery *q,
		  struct prov_reply *r)
{
	char key[PBX_KEY_MAX];
	static struct pbx_cdr c;
	redisReply *rep;
	int err = check_query(pv, q, r);

	if (err)
		return err;
	if (!pbx_cdr_id_valid(q->id))
		return prov_fail(r, -EINVAL,
				 "id must be a record id like "
				 "1765000000000-0 (cdr list shows them)");
	if (pbx_key_of(key, sizeof(key), q->tenant, PBX_K_CDR))
		return prov_fail(r, -EINVAL, "bad tenant");
	err = prov_store_cmd(pv, &rep, "XRANGE %s %s %s", key, q->id, q->id);
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
	    pbx_cdr_from_entry(&c, rep->element[0])) {
		freeReplyObject(rep);
		return prov_fail(r, -ENOENT, "no call record %s in tenant %s",
				 q->id, q->tenant);
	}
	freeReplyObject(rep);
	if (!strcmp(prov_str(q->format), "json")) {
		r->body = pbx_cdr_json(&c, NULL);
		return r->body ? 0 : -ENOMEM;
	}
	return show_text(&c, &r->body);
}

int prov_cdr_webhook(struct provision *pv, const Pbx__V1__CdrWebhook *q,
		     struct prov_reply *r)
{
	char key[PBX_KEY_MAX];
	char *url = NULL;
	int err = prov_tenant_known(pv, r, q->tenant);

	if (err)
		return err;
	if (pbx_key_of(key, sizeof(key), q->tenant, PBX_K_NOTIFY))
		return prov_fail(r, -EINVAL, "bad tenant");
	err = q->enabled ? prov_store_do(pv, "HSET %s cdr 1", key)
			 : prov_store_do(pv, "HDEL %s cdr", key);
	if (!err)
		err = prov_store_str(pv, &url, "HGET %s webhook_url", key);
	if (err)
		return err;
	if (q->enabled && (!url || !url[0]))
		prov_strv_add(&r->warnings,
			      "tenant %s has no webhook yet: call records are "
			      "posted once `notify webhook` sets one",
			      q->tenant);
	free(url);
	return prov_strv_add(&r->items, "call records to the webhook: %s",
			     q->enabled ? "on" : "off");
}
