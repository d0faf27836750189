/* The media worker registry's value (pbx:{sys}:workers, PBX_KS_WORKERS,
 * one field per worker id): routers write it from each heartbeat, routers
 * and provision (pbxctl worker list) read it. One format, here:
 * "<seen_ms> <load> <capacity> <draining 0|1> <sip-uri> [<rtp_ip>
 * <rtp_min>-<rtp_max> <exit 0|1>]"; the bracketed part is absent in
 * values written by older routers or for workers that do not report it. */
#ifndef PBX_WORKER_REG_H
#define PBX_WORKER_REG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pbx_worker_reg {
	uint64_t seen_ms; /* wall clock of the heartbeat (the router's) */
	unsigned load, capacity;
	bool draining;	  /* by its heartbeat */
	bool drain_exit;  /* ... exiting after its last call */
	char sip_uri[128];
	char rtp_ip[64]; /* "" and 0-0 when not reported */
	unsigned rtp_min, rtp_max;
};

/* 0, or -EINVAL for a value that does not parse (a bad URI included). */
int pbx_worker_reg_parse(const char *val, struct pbx_worker_reg *r);
/* Writes r's value into buf: 0, -EINVAL (a field with a space, a URI
 * that is not sip:), -ENAMETOOLONG. */
int pbx_worker_reg_format(char *buf, size_t size,
			  const struct pbx_worker_reg *r);

#endif
