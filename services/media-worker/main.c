/* media-worker: wiring only. Config, logging, libre, ZeroMQ, the worker,
 * the loop; teardown in reverse. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <zmq.h>

#include <re.h>

#include "mw_config.h"
#include "pbx_bus.h"
#include "pbx_log.h"
#include "tmr_wheel.h"
#include "worker.h"

/* Two RTP sockets per call (caller and callee legs) plus SIP, ZeroMQ,
 * timerfd and signalfd; libre indexes its fd table by fd number, so size
 * it before any fd_listen. */
static int fd_budget(long capacity)
{
	struct rlimit rl;
	rlim_t want = 2 * (rlim_t)capacity + 256;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			PLOG_WARN("cannot raise the fd limit: %s",
				  strerror(errno));
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < want)
		PLOG_WARN("fd limit %llu is below 2 x capacity %ld + 256",
			  (unsigned long long)rl.rlim_cur, capacity);
	return (int)want;
}

int main(int argc, char **argv)
{
	struct mw_config cfg;
	enum pbx_log_level lvl = PBX_LOG_INFO;
	struct worker *w = NULL;
	void *zctx = NULL;
	int err;

	err = mw_config_load(&cfg, argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	pbx_log_level_parse(cfg.log_level, &lvl);
	pbx_log_init("media-worker", lvl);
	/* Wrong credentials stop start-up here, with Redis's reason; an
	 * unreachable Redis does not (prompts are read lazily). */
	if (pbx_redis_check(cfg.redis_host, (int)cfg.redis_port,
			    &cfg.redis_cred))
		return 1;

	/* Before any thread exists (ZeroMQ starts its own). */
	signal(SIGPIPE, SIG_IGN);
	err = worker_signals_block();
	if (err) {
		PLOG_ERR("cannot block signals: %s", strerror(-err));
		return 1;
	}
	/* libre's timers run on tmr_wheel.c's wheel (issue 17): only if
	 * libre's own calls reach it, else none of them would ever fire. */
	if (!tmr_wheel_bound()) {
		PLOG_ERR("libre's timer functions are not bound to the "
			 "worker's timer wheel (tmr_wheel.c): not starting");
		return 1;
	}
	err = libre_init();
	if (err) {
		PLOG_ERR("libre_init: %s", strerror(err));
		return 1;
	}
	err = fd_setsize(fd_budget(cfg.capacity));
	zctx = pbx_zmq_ctx_new();
	if (err || !zctx) {
		PLOG_ERR("start-up failed: %s",
			 err ? strerror(err) : "zmq_ctx_new");
		goto out;
	}
	err = worker_alloc(&w, &cfg, zctx);
	if (err) {
		PLOG_ERR("start-up failed: %s", strerror(-err));
		goto out;
	}

	err = re_main(NULL);
	if (err)
		PLOG_ERR("event loop: %s", strerror(err));

out:
	worker_free(w);
	if (zctx)
		zmq_ctx_term(zctx);
	libre_close();
	/* libre keeps count of its allocations: anything left is a leak of
	 * ours (ASan sees only malloc). */
	tmr_debug();
	mem_debug();
	PLOG_INFO("stopped");
	return err ? 1 : 0;
}
