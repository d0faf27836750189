/* RTP port ranges of the media workers: each live worker holds a lease on
 * its range in the hash pbx:{sys}:rtp:leases (PBX_KS_RTP_LEASES, field =
 * worker id, value "<min> <max> <expires_ms>"), claimed at start and
 * renewed with every periodic heartbeat. One Lua script owns the rule, so
 * two workers starting at once cannot both take a range: a configured
 * range that overlaps a live lease of another worker is refused naming
 * that worker; a block is allocated as the lowest free run of ports in a
 * pool. The same script reads the worker's operator drain mark
 * (PBX_KS_WORKER_DRAIN), so one round trip a heartbeat serves both. */
#ifndef PBX_RTP_LEASE_H
#define PBX_RTP_LEASE_H
#include <stdarg.h>
#include <stdint.h>

#include "pbx_keys.h"

struct redisReply;

/* Runs one command (hiredis format) on a blocking connection: 0 with *rp
 * set (the caller frees it), or a negative errno. */
typedef int(pbx_redis_vcmd_h)(void *arg, struct redisReply **rp,
			      const char *fmt, va_list ap);

struct pbx_rtp_claim {
	const char *worker; /* its id (pbx_id_valid) */
	unsigned min, max;  /* block 0: the range; else the pool */
	unsigned block;	    /* 0, or the number of ports to allocate */
	unsigned lease_ms;  /* the lease lasts this long from now */
};

/* The drain marks an operator sets (pbxctl worker drain [--exit]). */
#define PBX_DRAIN_WAIT "wait"
#define PBX_DRAIN_EXIT "exit"

struct pbx_rtp_lease {
	unsigned min, max;	   /* 0: ours; -EADDRINUSE: the other's */
	char other[PBX_ID_MAX + 1]; /* -EADDRINUSE: the worker holding it */
	char drain[8];		   /* 0: "", PBX_DRAIN_WAIT or _EXIT */
};

/* Claims (or renews: the same range, block 0) q's range for q->worker.
 * Leases past their expiry are dropped on the way; a worker's own old
 * lease never conflicts with it (restarted under the same id). Returns 0
 * (*out: the range held and the drain mark), -EADDRINUSE (a live worker,
 * out->other, holds out->min..max that overlaps), -ENOSPC (no free block
 * in the pool), -EINVAL (bad claim), -EPROTO (unexpected reply), or the
 * command's error (Redis down). */
int pbx_rtp_lease_claim(pbx_redis_vcmd_h *cmd, void *arg,
			const struct pbx_rtp_claim *q,
			struct pbx_rtp_lease *out);
/* Gives the worker's lease back (clean stop). 0 or the command's error. */
int pbx_rtp_lease_release(pbx_redis_vcmd_h *cmd, void *arg,
			  const char *worker);

/* An "exit" drain mark becomes "wait" (kept otherwise): a worker that
 * exits after its last call leaves itself drained, so its replacement
 * under the same id starts with no calls until `pbxctl worker undrain`.
 * 0 or the command's error. */
int pbx_worker_drain_settle(pbx_redis_vcmd_h *cmd, void *arg,
			    const char *worker);

#endif
