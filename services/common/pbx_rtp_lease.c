/* RTP range leases of the media workers (pbx_rtp_lease.h): the claim
 * script and its reply. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_rtp_lease.h"

/* KEYS[1] leases, KEYS[2] drain marks; ARGV worker, min, max, block,
 * lease_ms. Redis's own clock (TIME) dates the leases, so workers on
 * hosts whose clocks differ still agree on which lease is live. Replies
 * {"ok", min, max, drain}, {"taken", other, min, max} or {"full"}. */
static const char claim_script[] =
	"local id = ARGV[1]\n"
	"local lo, hi = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local block, lease = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local all = redis.call('HGETALL', KEYS[1])\n"
	"local live = {}\n"
	"for i = 1, #all, 2 do\n"
	"  local a, b, e = string.match(all[i + 1], '^(%d+) (%d+) (%d+)$')\n"
	"  if not a or tonumber(e) <= now then\n"
	"    redis.call('HDEL', KEYS[1], all[i])\n"
	"  elseif all[i] ~= id then\n"
	"    live[#live + 1] = {tonumber(a), tonumber(b), all[i]}\n"
	"  end\n"
	"end\n"
	"table.sort(live, function(x, y) return x[1] < y[1] end)\n"
	"if block > 0 then\n"
	"  local s = lo\n"
	"  for _, r in ipairs(live) do\n"
	"    if r[2] >= s and r[1] <= s + block - 1 then s = r[2] + 1 end\n"
	"  end\n"
	"  if s + block - 1 > hi then return {'full'} end\n"
	"  lo, hi = s, s + block - 1\n"
	"else\n"
	"  for _, r in ipairs(live) do\n"
	"    if r[2] >= lo and r[1] <= hi then\n"
	"      return {'taken', r[3], tostring(r[1]), tostring(r[2])}\n"
	"    end\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], id, lo .. ' ' .. hi .. ' ' .. (now + lease))\n"
	"local d = redis.call('HGET', KEYS[2], id)\n"
	"return {'ok', tostring(lo), tostring(hi), d or ''}\n";

static int run(pbx_redis_vcmd_h *cmd, void *arg, redisReply **rp,
	       const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = cmd(arg, rp, fmt, ap);
	va_end(ap);
	return err;
}

/* A command whose reply only says whether it worked. */
static int run_done(pbx_redis_vcmd_h *cmd, void *arg, const char *fmt, ...)
{
	redisReply *r = NULL;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = cmd(arg, &r, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	err = r->type == REDIS_REPLY_ERROR ? -EIO : 0;
	freeReplyObject(r);
	return err;
}

static int port_of(const redisReply *e, unsigned *v)
{
	char *end;
	unsigned long x;

	if (e->type != REDIS_REPLY_STRING)
		return -EPROTO;
	x = strtoul(e->str, &end, 10);
	if (end == e->str || *end || x > 65535)
		return -EPROTO;
	*v = (unsigned)x;
	return 0;
}

static int parse_reply(const redisReply *r, struct pbx_rtp_lease *out)
{
	const char *what;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return -EPROTO;
	what = r->element[0]->str;
	if (!strcmp(what, "full"))
		return -ENOSPC;
	if (r->elements != 4)
		return -EPROTO;
	if (!strcmp(what, "ok")) {
		const redisReply *d = r->element[3];

		if (port_of(r->element[1], &out->min) ||
		    port_of(r->element[2], &out->max) ||
		    d->type != REDIS_REPLY_STRING)
			return -EPROTO;
		/* Anything but the two marks reads as a plain drain. */
		snprintf(out->drain, sizeof(out->drain), "%s",
			 !d->str[0] || !strcmp(d->str, PBX_DRAIN_EXIT)
				 ? d->str
				 : PBX_DRAIN_WAIT);
		return 0;
	}
	if (strcmp(what, "taken") ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    port_of(r->element[2], &out->min) ||
	    port_of(r->element[3], &out->max))
		return -EPROTO;
	snprintf(out->other, sizeof(out->other), "%s", r->element[1]->str);
	return -EADDRINUSE;
}

int pbx_rtp_lease_claim(pbx_redis_vcmd_h *cmd, void *arg,
			const struct pbx_rtp_claim *q,
			struct pbx_rtp_lease *out)
{
	char leases[PBX_KEY_MAX], drain[PBX_KEY_MAX];
	redisReply *r = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (!q->worker || !pbx_id_valid(q->worker) || q->min < 1 ||
	    q->min > q->max || q->max > 65535 || !q->lease_ms ||
	    q->block > q->max - q->min + 1)
		return -EINVAL;
	if (pbx_key_sys_of(leases, sizeof(leases), PBX_KS_RTP_LEASES) ||
	    pbx_key_sys_of(drain, sizeof(drain), PBX_KS_WORKER_DRAIN))
		return -EINVAL;
	err = run(cmd, arg, &r, "EVAL %s 2 %s %s %s %u %u %u %u",
		  claim_script, leases, drain, q->worker, q->min, q->max,
		  q->block, q->lease_ms);
	if (err)
		return err;
	err = r->type == REDIS_REPLY_ERROR ? -EIO : parse_reply(r, out);
	freeReplyObject(r);
	return err;
}

int pbx_rtp_lease_release(pbx_redis_vcmd_h *cmd, void *arg,
			  const char *worker)
{
	char leases[PBX_KEY_MAX];

	if (!worker || !pbx_id_valid(worker) ||
	    pbx_key_sys_of(leases, sizeof(leases), PBX_KS_RTP_LEASES))
		return -EINVAL;
	return run_done(cmd, arg, "HDEL %s %s", leases, worker);
}

int pbx_worker_drain_settle(pbx_redis_vcmd_h *cmd, void *arg,
			    const char *worker)
{
	char drain[PBX_KEY_MAX];

	if (!worker || !pbx_id_valid(worker) ||
	    pbx_key_sys_of(drain, sizeof(drain), PBX_KS_WORKER_DRAIN))
		return -EINVAL;
	return run_done(cmd, arg, "EVAL %s 1 %s %s %s %s",
			"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] "
			"then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) "
			"end return 1",
			drain, worker, PBX_DRAIN_EXIT, PBX_DRAIN_WAIT);
}
