/* Redis connections: blocking with timeouts, and async on libevent with
 * automatic reconnect; both authenticate as the service's ACL user and,
 * with Sentinels configured, connect to the primary they name. Owns the
 * async context, the reconnect timer and the process's Sentinel list. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pbx_log.h"
#include "pbx_redis_priv.h"

/* A refused AUTH is a configuration error, not an outage: retried, but
 * slowly, so the log says it every 5 s instead of twice a second. */
#define RETRY_MS 500
#define RETRY_AUTH_MS 5000
/* A Sentinel is asked at each (re)connect, from the event loop too: on
 * loopback or a LAN it answers in well under a millisecond, and one that
 * is down refuses at once; this bounds the wait for one that is
 * unreachable (connect, then the command). */
#define SENTINEL_TIMEOUT_MS 250
#define SENTINEL_MAX 8


int pbx_redis_cred_load(struct pbx_redis_cred *cred, const char *user,
			const char *password, const char *password_file)
{
	char line[sizeof(cred->password) + 2];
	size_t len;
	FILE *f;

	memset(cred, 0, sizeof(*cred));
	if (strlen(user) >= sizeof(cred->user)) {
		fprintf(stderr, "config: redis_user: too long\n");
		return -EINVAL;
	}
	snprintf(cred->user, sizeof(cred->user), "%s", user);
	if (*password || !*password_file) {
		if (strlen(password) >= sizeof(cred->password)) {
			fprintf(stderr, "config: redis_password: too long\n");
			return -EINVAL;
		}
		snprintf(cred->password, sizeof(cred->password), "%s",
			 password);
		return 0;
	}
	f = fopen(password_file, "r");
	if (!f) {
		int err = errno;

		fprintf(stderr, "config: redis_password_file: cannot open "
				"%s: %s\n",
			password_file, strerror(err));
		return err == ENOENT ? -ENOENT : -EACCES;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	len = strlen(line);
	while (len && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	if (!len || len >= sizeof(cred->password)) {
		fprintf(stderr, "config: redis_password_file: %s: %s\n",
			password_file,
			len ? "first line too long" : "empty first line");
		memset(line, 0, sizeof(line));
		return -EINVAL;
	}
	memcpy(cred->password, line, len + 1);
	memset(line, 0, sizeof(line));
	return 0;
}

static const char *cred_user(const struct pbx_redis_cred *cred)
{
	return cred->user[0] ? cred->user : "default";
}

unsigned long pbx_redis_errors;

char pbx_redis_sentinels_value[256];
char pbx_redis_master_value[256];
char pbx_redis_sentinel_pass_file_value[256];

/* The parsed Sentinel setting, filled once (sentinel_setup()). Under
 * sent_lock: a process may connect from two threads (the notifier's MWI
 * thread). */
static pthread_mutex_t sent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool parsed;
	int err;
	int n;
	struct {
		char host[256];
		int port;
	} s[SENTINEL_MAX];
	int next;                     /* the one that answered last */
	struct pbx_redis_cred cred;   /* requirepass of the Sentinels */
	char last[300];               /* the primary last named, logged once */
} sent;

bool pbx_redis_sentinel_on(void)
{
	return pbx_redis_sentinels_value[0] != '\0';
}

bool pbx_redis_reply_stale(const redisReply *reply)
{
	return reply && reply->type == REDIS_REPLY_ERROR && reply->str &&
	       (!strncmp(reply->str, "READONLY", 8) ||
		!strncmp(reply->str, "MASTERDOWN", 10));
}

/* "host:port" or "[v6]:port" (len bytes of item) into host/port; 0 or
 * -EINVAL. */
int pbx_redis_addr_parse(const char *item, size_t len, char *host,
			 size_t hsize, int *port)
{
	const char *h = item, *colon = NULL;
	size_t hlen;
	char num[8];
	char *end;
	long p;

	for (size_t i = 0; i < len; i++)
		if (item[i] == ':')
			colon = item + i;
	if (!colon || colon == item || (size_t)(item + len - colon) > 6)
		return -EINVAL;
	hlen = (size_t)(colon - item);
	if (h[0] == '[') {
		if (hlen < 3 || h[hlen - 1] != ']')
			return -EINVAL;
		h++;
		hlen -= 2;
	} else if (memchr(h, ':', hlen)) {
		return -EINVAL; /* a bare v6 address: needs brackets */
	}
	if (hlen >= hsize)
		return -EINVAL;
	memcpy(num, colon + 1, (size_t)(item + len - colon) - 1);
	num[item + len - colon - 1] = '\0';
	p = strtol(num, &end, 10);
	if (!num[0] || *end || p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)p;
	return 0;
}

static int sentinel_parse(void)
{
	const char *p = pbx_redis_sentinels_value;

	if (!pbx_redis_master_value[0] ||
	    strspn(pbx_redis_master_value,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789_.-") != strlen(pbx_redis_master_value)) {
		fprintf(stderr, "config: redis_master: '%s' is not a name "
				"(letters, digits, '_', '.', '-')\n",
			pbx_redis_master_value);
		return -EINVAL;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (sent.n == SENTINEL_MAX ||
		    pbx_redis_addr_parse(p, len, sent.s[sent.n].host,
				  sizeof(sent.s[sent.n].host),
				  &sent.s[sent.n].port)) {
			fprintf(stderr, "config: redis_sentinels: '%.*s' is "
					"not host:port (at most %d, "
					"comma-separated)\n",
				(int)len, p, SENTINEL_MAX);
			return -EINVAL;
		}
		sent.n++;
		p += len;
		if (*p)
			p++;
	}
	return pbx_redis_cred_load(&sent.cred, "", "",
				   pbx_redis_sentinel_pass_file_value);
}

/* Parses the setting once; the result (0 or -EINVAL, printed) is kept.
 * Called with sent_lock held. */
static int sentinel_setup_locked(void)
{
	if (!sent.parsed) {
		sent.parsed = true;
		sent.err = sentinel_parse();
	}
	return sent.err;
}

static int sentinel_setup(void)
{
	int err;

	pthread_mutex_lock(&sent_lock);
	err = sentinel_setup_locked();
	pthread_mutex_unlock(&sent_lock);
	return err;
}

/* AUTH on a fresh blocking connection. Returns 0, -EACCES (refused,
 * logged with Redis's reason) or -EIO (no answer, logged). */
static int auth_sync(redisContext *c, const char *host, int port,
		     const struct pbx_redis_cred *cred)
{
	redisReply *reply;
	int err = 0;

	if (!cred || !cred->password[0])
		return 0;
	if (cred->user[0])
		reply = redisCommand(c, "AUTH %s %s", cred->user,
				     cred->password);
	else
		reply = redisCommand(c, "AUTH %s", cred->password);
	if (!reply) {
		PLOG_ERR("redis %s:%d: AUTH as '%s': %s", host, port,
			 cred_user(cred), c->errstr);
		return -EIO;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("redis %s:%d: Redis refused user '%s': %s (check "
			 "redis_user and redis_password_file)",
			 host, port, cred_user(cred), reply->str);
		err = -EACCES;
	}
	freeReplyObject(reply);
	return err;
}

/* Asks one Sentinel for the primary; 0 with host/port set, or -EAGAIN
 * (it is down, refuses, or does not know the name). */
static int sentinel_ask(int i, char *host, size_t hsize, int *port)
{
	struct timeval tv = {0, SENTINEL_TIMEOUT_MS * 1000};
	redisContext *c = redisConnectWithTimeout(sent.s[i].host,
						  sent.s[i].port, tv);
	redisReply *r = NULL;
	int err = -EAGAIN;

	if (!c || c->err) {
		if (c)
			redisFree(c);
		return -EAGAIN;
	}
	redisSetTimeout(c, tv);
	if (!auth_sync(c, sent.s[i].host, sent.s[i].port, &sent.cred))
		r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
				 pbx_redis_master_value);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[0]->len < hsize) {
		snprintf(host, hsize, "%s", r->element[0]->str);
		*port = atoi(r->element[1]->str);
		err = *port > 0 && *port < 65536 ? 0 : -EAGAIN;
	}
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return err;
}

/* The primary's address from the first Sentinel that names it, starting
 * with the one that answered last. 0, -EAGAIN (none did: logged) or
 * -EINVAL (bad setting). With sent_lock held. */
static int sentinel_primary_locked(char *host, size_t hsize, int *port)
{
	char now[sizeof(sent.last)];
	int err = sentinel_setup_locked();

	if (err)
		return err;
	for (int k = 0; k < sent.n; k++) {
		int i = (sent.next + k) % sent.n;

		if (sentinel_ask(i, host, hsize, port))
			continue;
		sent.next = i;
		snprintf(now, sizeof(now), "%s:%d", host, *port);
		if (strcmp(now, sent.last)) {
			PLOG_INFO("redis: Sentinel %s:%d names %s the "
				  "primary of '%s'",
				  sent.s[i].host, sent.s[i].port, now,
				  pbx_redis_master_value);
			memcpy(sent.last, now, sizeof(sent.last));
		}
		return 0;
	}
	PLOG_WARN("redis: no Sentinel of %s names the primary of '%s'",
		  pbx_redis_sentinels_value, pbx_redis_master_value);
	pbx_redis_errors++;
	return -EAGAIN;
}

static int sentinel_primary(char *host, size_t hsize, int *port)
{
	int err;

	pthread_mutex_lock(&sent_lock);
	err = sentinel_primary_locked(host, hsize, port);
	pthread_mutex_unlock(&sent_lock);
	return err;
}

/* True when the reply to ROLE says primary (logged when not). */
static bool role_is_primary(const redisReply *r, const char *host, int port)
{
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    !strcmp(r->element[0]->str, "master"))
		return true;
	PLOG_WARN("redis %s:%d: not the primary (yet): %s", host, port,
		  r && r->type == REDIS_REPLY_ERROR ? r->str
		  : r && r->type == REDIS_REPLY_ARRAY && r->elements &&
				  r->element[0]->type == REDIS_REPLY_STRING
			  ? r->element[0]->str
			  : "no answer to ROLE");
	pbx_redis_errors++;
	return false;
}

static redisContext *connect_sync(const char *host, int port,
				  const struct pbx_redis_cred *cred,
				  int timeout_ms, int *errp)
{
	if (pbx_redis_cluster_value)
		return pbx_redis_cluster_connect(host, port, cred, timeout_ms,
						 errp);
	return pbx_redis_connect_one(host, port, cred, timeout_ms, errp);
}

redisContext *pbx_redis_connect_one(const char *host, int port,
				    const struct pbx_redis_cred *cred,
				    int timeout_ms, int *errp)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	char primary[256];
	redisContext *c;
	redisReply *role;

	if (pbx_redis_sentinel_on()) {
		*errp = sentinel_primary(primary, sizeof(primary), &port);
		if (*errp)
			return NULL;
		host = primary;
	}
	c = redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		PLOG_ERR("redis %s:%d: %s", host, port,
			 c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		pbx_redis_errors++;
		*errp = -ECONNREFUSED;
		return NULL;
	}
	redisSetTimeout(c, tv);
	*errp = auth_sync(c, host, port, cred);
	if (*errp) {
		pbx_redis_errors++;
		redisFree(c);
		return NULL;
	}
	if (!pbx_redis_sentinel_on())
		return c;
	/* Between a failover and the Sentinels' next answer the old
	 * address can be a replica (or the demoted primary). */
	role = redisCommand(c, "ROLE");
	if (!role_is_primary(role, host, port)) {
		if (role)
			freeReplyObject(role);
		redisFree(c);
		*errp = -EAGAIN;
		return NULL;
	}
	freeReplyObject(role);
	return c;
}

redisContext *pbx_redis_connect(const char *host, int port,
				const struct pbx_redis_cred *cred,
				int timeout_ms)
{
	int err;

	return connect_sync(host, port, cred, timeout_ms, &err);
}

int pbx_redis_check(const char *host, int port,
		    const struct pbx_redis_cred *cred)
{
	int err;
	redisContext *c;

	if (pbx_redis_sentinel_on() && sentinel_setup())
		return -EINVAL;
	if ((pbx_redis_cluster_value || pbx_redis_nodes_value[0]) &&
	    pbx_redis_cluster_setup())
		return -EINVAL;
	c = connect_sync(host, port, cred, 1000, &err);
	if (c)
		pbx_redis_close(c);
	return err == -EACCES ? -EACCES : 0;
}

static void schedule_retry(struct pbx_redis *r)
{
	int ms = r->auth_refused ? RETRY_AUTH_MS : RETRY_MS;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(r->retry, &tv);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
	struct pbx_redis *r = arg;
	redisReply *rep = reply;

	if (!ac->data)
		return; /* freed on purpose */
	if (!rep) /* the link went: on_disconnect retries */
		return;
	if (rep->type == REDIS_REPLY_ERROR) {
		PLOG_ERR("redis %s:%d: Redis refused user '%s': %s (check "
			 "redis_user and redis_password_file); retrying in "
			 "%d s",
			 r->host, r->port, cred_user(&r->cred), rep->str,
			 RETRY_AUTH_MS / 1000);
		r->auth_refused = true;
		pbx_redis_errors++;
		/* on_disconnect schedules the retry. */
		redisAsyncDisconnect(r->ac);
		return;
	}
	r->auth_refused = false;
	if (pbx_redis_sentinel_on())
		return; /* up once on_role sees the primary */
	r->connected = true;
	PLOG_INFO("redis %s:%d: connected as '%s'", r->host, r->port,
		  cred_user(&r->cred));
}

/* With Sentinels: the server is taken only if it is the primary. */
static void on_role(redisAsyncContext *ac, void *reply, void *arg)
{
	struct pbx_redis *r = arg;

	if (!ac->data || !reply || !r->ac || r->auth_refused)
		return; /* freed, the link went or AUTH failed: on_disconnect
			 * retries */
	if (!role_is_primary(reply, r->host, r->port)) {
		redisAsyncDisconnect(r->ac);
		return;
	}
	r->connected = true;
	PLOG_INFO("redis %s:%d: connected to the primary as '%s'", r->host,
		  r->port, cred_user(&r->cred));
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct pbx_redis *r = ac->data;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		PLOG_WARN("redis %s:%d: connect failed: %s", r->host, r->port,
			  ac->errstr);
		pbx_redis_errors++;
		r->ac = NULL;
		schedule_retry(r);
		return;
	}
	if (!r->cred.password[0] && !pbx_redis_sentinel_on()) {
		r->connected = true;
		PLOG_INFO("redis %s:%d: connected", r->host, r->port);
	}
	/* Else connected once on_auth sees AUTH accepted. */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct pbx_redis *r = ac->data;

	if (!r)
		return; /* freed on purpose */
	PLOG_WARN("redis %s:%d: disconnected (%s)", r->host, r->port,
		  status == REDIS_OK ? "closed" : ac->errstr);
	if (status != REDIS_OK) /* not our own disconnect */
		pbx_redis_errors++;
	r->ac = NULL;
	r->connected = false;
	schedule_retry(r);
}

static int start_connect(struct pbx_redis *r)
{
	redisAsyncContext *ac;

	if (pbx_redis_sentinel_on() &&
	    sentinel_primary(r->host, sizeof(r->host), &r->port))
		return -EAGAIN;
	ac = redisAsyncConnect(r->host, r->port);
	if (!ac)
		return -ENOMEM;
	if (ac->err) {
		PLOG_WARN("redis %s:%d: %s", r->host, r->port, ac->errstr);
		pbx_redis_errors++;
		redisAsyncFree(ac);
		return -ECONNREFUSED;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
	/* Queued before anything else, so no command of ours can run
	 * unauthenticated. */
	if (r->cred.password[0]) {
		int rc;

		if (r->cred.user[0])
			rc = redisAsyncCommand(ac, on_auth, r, "AUTH %s %s",
					       r->cred.user,
					       r->cred.password);
		else
			rc = redisAsyncCommand(ac, on_auth, r, "AUTH %s",
					       r->cred.password);
		if (rc != REDIS_OK)
			goto nomem;
	}
	if (pbx_redis_sentinel_on() &&
	    redisAsyncCommand(ac, on_role, r, "ROLE") != REDIS_OK)
		goto nomem;
	return 0;
nomem:
	r->ac = NULL;
	ac->data = NULL;
	redisAsyncFree(ac);
	return -ENOMEM;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_redis *r = arg;

	(void)fd;
	(void)what;
	if (!r->ac && start_connect(r))
		schedule_retry(r);
}

int pbx_redis_alloc(struct pbx_redis **rp, struct event_base *base,
		    const char *host, int port,
		    const struct pbx_redis_cred *cred)
{
	struct pbx_redis *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->kind = PBX_REDIS_KIND_ONE;
	r->base = base;
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
	if (cred)
		r->cred = *cred;
	if (pbx_redis_cluster_value) {
		int err = pbx_redis_cluster_alloc(r);

		if (err) {
			free(r);
			return err;
		}
		*rp = r;
		return 0;
	}
	r->retry = evtimer_new(base, retry_cb, r);
	if (!r->retry) {
		free(r);
		return -ENOMEM;
	}
	if (start_connect(r))
		schedule_retry(r);
	*rp = r;
	return 0;
}

void pbx_redis_free(struct pbx_redis *r)
{
	if (!r)
		return;
	if (r->cl) {
		pbx_redis_cluster_free(r);
		memset(&r->cred, 0, sizeof(r->cred));
		free(r);
		return;
	}
	if (r->ac) {
		redisAsyncContext *ac = r->ac;

		/* Pending callbacks run inside redisAsyncFree with NULL
		 * replies; they must see the connection as down. */
		r->ac = NULL;
		r->connected = false;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	event_free(r->retry);
	memset(&r->cred, 0, sizeof(r->cred));
	free(r);
}

redisAsyncContext *pbx_redis_ctx(struct pbx_redis *r)
{
	if (r && r->cl)
		return pbx_redis_cluster_ctx(r);
	return r && r->connected ? r->ac : NULL;
}

void pbx_redis_flush(struct pbx_redis *r)
{
	if (r && r->cl)
		pbx_redis_cluster_flush(r);
	else if (r && r->connected)
		redisAsyncHandleWrite(r->ac);
}

/* True when ac belongs to a Cluster node (its commands are routed). */
static bool routed(const redisAsyncContext *ac)
{
	return pbx_redis_cluster_value && ac->data &&
	       *(const int *)ac->data == PBX_REDIS_KIND_NODE;
}

int pbx_redis_vacmd(redisAsyncContext *ac, redisCallbackFn *fn, void *priv,
		    const char *fmt, va_list ap)
{
	char *cmd;
	int len;

	if (!routed(ac))
		return redisvAsyncCommand(ac, fn, priv, fmt, ap);
	len = redisvFormatCommand(&cmd, fmt, ap);
	if (len < 0)
		return REDIS_ERR;
	return pbx_redis_cluster_send(ac, fn, priv, cmd, (size_t)len);
}

int pbx_redis_acmd(redisAsyncContext *ac, redisCallbackFn *fn, void *priv,
		   const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = pbx_redis_vacmd(ac, fn, priv, fmt, ap);
	va_end(ap);
	return rc;
}

int pbx_redis_acmd_argv(redisAsyncContext *ac, redisCallbackFn *fn,
			void *priv, int argc, const char **argv,
			const size_t *argvlen)
{
	char *cmd;
	int len;

	if (!routed(ac))
		return redisAsyncCommandArgv(ac, fn, priv, argc, argv,
					     argvlen);
	len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return REDIS_ERR;
	return pbx_redis_cluster_send(ac, fn, priv, cmd, (size_t)len);
}

int pbx_redis_acmd_formatted(redisAsyncContext *ac, redisCallbackFn *fn,
			     void *priv, const char *cmd, size_t len)
{
	char *copy;

	if (!routed(ac))
		return redisAsyncFormattedCommand(ac, fn, priv, cmd, len);
	copy = malloc(len);
	if (!copy)
		return REDIS_ERR;
	memcpy(copy, cmd, len);
	return pbx_redis_cluster_send(ac, fn, priv, copy, len);
}

void *pbx_redis_vcmd(redisContext *c, const char *fmt, va_list ap)
{
	void *reply;
	char *cmd;
	int len;

	if (!pbx_redis_cluster_value || !pbx_redis_cluster_handle(c))
		return redisvCommand(c, fmt, ap);
	len = redisvFormatCommand(&cmd, fmt, ap);
	if (len < 0)
		return NULL;
	reply = pbx_redis_cluster_cmd(c, cmd, (size_t)len);
	free(cmd);
	return reply;
}

void *pbx_redis_cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	void *reply;

	va_start(ap, fmt);
	reply = pbx_redis_vcmd(c, fmt, ap);
	va_end(ap);
	return reply;
}

void *pbx_redis_cmd_argv(redisContext *c, int argc, const char **argv,
			 const size_t *argvlen)
{
	void *reply;
	char *cmd;
	int len;

	if (!pbx_redis_cluster_value || !pbx_redis_cluster_handle(c))
		return redisCommandArgv(c, argc, argv, argvlen);
	len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return NULL;
	reply = pbx_redis_cluster_cmd(c, cmd, (size_t)len);
	free(cmd);
	return reply;
}

void pbx_redis_close(redisContext *c)
{
	if (!c)
		return;
	if (pbx_redis_cluster_value)
		pbx_redis_cluster_close(c);
	redisFree(c);
}
