/* Test support: a loopback port for an in-process test to listen on.
 *
 * Not a kernel-chosen (bind to 0) port: those come from the ephemeral range
 * (32768-60999), the same range every outgoing connection of every test
 * running beside this one takes its source port from, so the port can be
 * gone between our check and the service's bind ("Address already in
 * use"). These come from 20000-31999, below that range, starting at a place
 * that depends on the pid (Criterion and ctest run tests side by side, each
 * in its own process) and moving on at each call; a port is handed out only
 * if it binds for UDP and TCP both right now. */
#ifndef TEST_PORT_H
#define TEST_PORT_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEST_PORT_LOW 20000u
#define TEST_PORT_SPAN 12000u

static inline bool test_port_binds(int type, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port)};
	int fd = socket(AF_INET, type, 0);
	bool ok;

	if (fd < 0)
		return false;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* A port free on 127.0.0.1 for UDP and TCP; 0 when none is found. */
static inline uint16_t test_free_port(void)
{
	static unsigned next;

	if (!next)
		next = ((unsigned)getpid() * 2654435761u) % TEST_PORT_SPAN + 1;
	for (int i = 0; i < 200; i++) {
		/* Steps of 7: the even/odd pairs an RTP test wants and the
		 * neighbouring pids' starting points stay apart. */
		uint16_t port = (uint16_t)(TEST_PORT_LOW + next % TEST_PORT_SPAN);

		next += 7;
		if (test_port_binds(SOCK_DGRAM, port) &&
		    test_port_binds(SOCK_STREAM, port))
			return port;
	}
	return 0;
}
#endif
