/* The media worker: one libre control thread owning the SIP stack, the call
 * table, the router links and the heartbeat. Signals arrive through a
 * signalfd on the same loop: SIGUSR1 drains, SIGINT / SIGTERM stop (hang up
 * every call, final heartbeat with capacity 0, then re_cancel()). */
#ifndef WORKER_H
#define WORKER_H

struct mw_config;
struct worker;

/* Blocks SIGINT, SIGTERM and SIGUSR1 for the calling thread and every
 * thread it starts later (call before pbx_zmq_ctx_new()), so that only the
 * worker's signalfd sees them. */
int worker_signals_block(void);

/* Needs libre_init() and fd_setsize() done. cfg and zctx must outlive the
 * worker. Binds SIP, connects the routers, sends the first heartbeat.
 * Sets *wp only on success. */
int worker_alloc(struct worker **wp, const struct mw_config *cfg, void *zctx);
/* After re_main() returned. NULL-safe. */
void worker_free(struct worker *w);

#endif
