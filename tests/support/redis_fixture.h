/* Test support: a real redis-server on a free loopback port, started and
 * stopped by an in-process test (no persistence, its own process group so
 * a crashed test leaves nothing behind once the fixture's stop runs). */
#ifndef REDIS_FIXTURE_H
#define REDIS_FIXTURE_H
#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_port.h"

struct redis_fixture {
	pid_t pid;
	int port;
	bool cluster; /* set before start: --cluster-enabled yes (its
		       * nodes file in /tmp, removed at stop) */
};

/* A TCP port on 127.0.0.1 that was free a moment ago (test_port.h says
 * why not one the kernel picks). */
static inline int redis_fixture_free_port(void)
{
	uint16_t port = test_free_port();

	return port ? port : -1;
}

/* Starts a server on port_num: 0 when it answers PING within 5 s. */
static inline int redis_fixture_start_port(struct redis_fixture *f,
					   int port_num)
{
	char port[16];

	f->port = port_num;
	if (f->port < 0)
		return -1;
	snprintf(port, sizeof(port), "%d", f->port);
	f->pid = fork();
	if (f->pid < 0)
		return -1;
	if (f->pid == 0) {
		/* Dies with the test process (Criterion runs each test in a
		 * worker that may crash), and keeps off its output pipes. */
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		if (f->cluster) {
			char nodes[64];

			/* A stale file (a test killed before its stop)
			 * would bring back an old cluster's nodes. */
			snprintf(nodes, sizeof(nodes),
				 "/tmp/pbx-test-nodes-%d.conf", f->port);
			unlink(nodes);
			execlp("redis-server", "redis-server", "--port", port,
			       "--bind", "127.0.0.1", "--save", "",
			       "--appendonly", "no", "--loglevel", "warning",
			       "--dir", "/tmp", "--cluster-enabled", "yes",
			       "--cluster-config-file", nodes, (char *)NULL);
		}
		execlp("redis-server", "redis-server", "--port", port,
		       "--bind", "127.0.0.1", "--save", "", "--appendonly",
		       "no", "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct timeval tv = {1, 0};

		if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			f->pid = 0; /* it could not start (port taken) */
			return -1;
		}
		redisContext *rc =
			redisConnectWithTimeout("127.0.0.1", f->port, tv);
		redisReply *r = rc && !rc->err
					? redisCommand(rc, "PING")
					: NULL;
		int ok = r && r->type == REDIS_REPLY_STATUS;

		if (r)
			freeReplyObject(r);
		if (rc)
			redisFree(rc);
		if (ok)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* 0 when a redis-server answers PING on a free port (f->port) within 5 s.
 * A Cluster node also listens on port + 10000 (its bus): both must be
 * free, and another port is tried when the server could not bind. */
static inline int redis_fixture_start(struct redis_fixture *f)
{
	for (int tries = 0; tries < 10; tries++) {
		int port = redis_fixture_free_port();

		if (port > 0 && f->cluster &&
		    !test_port_binds(SOCK_STREAM, (uint16_t)(port + 10000)))
			continue;
		if (!redis_fixture_start_port(f, port))
			return 0;
		if (!f->cluster)
			return -1;
	}
	return -1;
}

static inline void redis_fixture_stop(struct redis_fixture *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
		if (f->cluster) {
			char nodes[64];

			snprintf(nodes, sizeof(nodes),
				 "/tmp/pbx-test-nodes-%d.conf", f->port);
			unlink(nodes);
		}
	}
}

/* A new, empty server on the port of a stopped one (clients that kept
 * reconnecting find it there). */
static inline int redis_fixture_restart(struct redis_fixture *f)
{
	redis_fixture_stop(f);
	return redis_fixture_start_port(f, f->port);
}

/* One blocking command for test set-up; returns the reply (caller frees)
 * or NULL. */
static inline redisReply *redis_fixture_vcmd(const struct redis_fixture *f,
					     const char *fmt, va_list ap)
{
	struct timeval tv = {2, 0};
	redisContext *rc = redisConnectWithTimeout("127.0.0.1", f->port, tv);
	redisReply *r = NULL;

	if (!rc || rc->err) {
		if (rc)
			redisFree(rc);
		return NULL;
	}
	r = redisvCommand(rc, fmt, ap);
	redisFree(rc);
	return r;
}

static inline redisReply *redis_fixture_cmd(const struct redis_fixture *f,
					    const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redis_fixture_vcmd(f, fmt, ap);
	va_end(ap);
	return r;
}

/* Takes a redis_fixture_cmd reply of a set-up command (frees it): 0 when
 * the command worked, -EIO when not. */
static inline int redis_fixture_ok(redisReply *r)
{
	int ok = r && r->type != REDIS_REPLY_ERROR;

	if (r)
		freeReplyObject(r);
	return ok ? 0 : -EIO;
}

#endif
