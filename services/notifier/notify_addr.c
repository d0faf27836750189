/* The guard on a libcurl transfer to a tenant's URL (notify_addr.h). */
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>

#include "notify_addr.h"
#include "pbx_addr.h"

static curl_socket_t open_public(void *arg, curlsocktype purpose,
				 struct curl_sockaddr *a)
{
	char *refused = arg;

	(void)purpose;
	if (pbx_addr_private(&a->addr)) {
		if (getnameinfo(&a->addr, a->addrlen, refused,
				NOTIFY_ADDR_REFUSED_MAX, NULL, 0,
				NI_NUMERICHOST))
			snprintf(refused, NOTIFY_ADDR_REFUSED_MAX, "?");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

void notify_addr_guard(void *easy, char *refused)
{
	refused[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_public);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, refused);
}
