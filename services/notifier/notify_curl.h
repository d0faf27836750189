/* libcurl's multi interface on a libevent loop: transfers (SMTP, HTTP)
 * run without ever blocking the loop. One per notifier. */
#ifndef NOTIFY_CURL_H
#define NOTIFY_CURL_H
#include <curl/curl.h>

struct event_base;
struct notify_curl;

/* A transfer ended: res is CURLE_OK or the error, code the SMTP / HTTP
 * response code (0 when none arrived). Called once per started transfer,
 * from the loop, after which the easy handle is cleaned up. */
typedef void(notify_curl_done_h)(CURLcode res, long code, const char *err,
				 void *arg);

int notify_curl_alloc(struct notify_curl **cp, struct event_base *base);
/* Transfers still running are ended without their callbacks. */
void notify_curl_free(struct notify_curl *c);

/* Starts easy (owned by c from now on, also on error). 0, or -EIO
 * (easy cleaned up; doneh never called). */
int notify_curl_start(struct notify_curl *c, CURL *easy,
		      notify_curl_done_h *doneh, void *arg);

/* Transfers running. */
unsigned notify_curl_running(const struct notify_curl *c);

#endif
