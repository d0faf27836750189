/* Start-up steps and the signal loop shared by services' main(). */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "pbx_log.h"
#include "pbx_service.h"

int pbx_service_start(const char *service, const char *log_level,
		      struct pbx_service_redis *r)
{
	enum pbx_log_level lvl;

	if (pbx_log_level_parse(log_level, &lvl)) {
		fprintf(stderr, "config: log_level: '%s' is not one of error, "
				"warn, info, debug\n",
			log_level);
		return 2;
	}
	if (pbx_redis_cred_load(&r->cred, r->user, r->password,
				r->password_file))
		return 2;
	memset(r->password, 0, sizeof(r->password));
	pbx_log_init(service, lvl);
	signal(SIGPIPE, SIG_IGN);
	return pbx_redis_check(r->host, (int)r->port, &r->cred) ? 1 : 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

void pbx_service_run(struct event_base *base)
{
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);

	if (sigint)
		event_add(sigint, NULL);
	if (sigterm)
		event_add(sigterm, NULL);
	event_base_dispatch(base);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
}
