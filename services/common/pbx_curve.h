/* CURVE keys and the ZAP allow-list (docs/security.md, "Buses"). A key
 * pair lives in two files: <name>.key holds the Z85 secret key (0600; the
 * public key is derived from it), <name>.pub the Z85 public key. A server
 * accepts a client only when the client's public key is in a .pub file of
 * the allow-list directory named for the socket's ZAP domain; the file's
 * stem becomes the connection's User-Id (what the bus hands to handlers). */
#ifndef PBX_CURVE_H
#define PBX_CURVE_H
#include <stdbool.h>
#include <stddef.h>

#define PBX_CURVE_Z85 41 /* 40 Z85 characters and a NUL */
#define PBX_CURVE_NAME 64

struct pbx_curve_keypair {
	char pub[PBX_CURVE_Z85];
	char sec[PBX_CURVE_Z85];
};

/* A key name: 1 to 63 letters, digits, '_', '.' or '-', not starting with
 * '.' (it becomes a file name and a User-Id). */
bool pbx_curve_name_valid(const char *name);

/* Writes dir/<name>.key (0600) and dir/<name>.pub (0644); -EEXIST when the
 * key file exists already (a key is never overwritten). */
int pbx_curve_keygen(const char *dir, const char *name);

/* Reads a .key file (the public half is derived). -ENOENT, -EACCES, or
 * -EINVAL for a file that holds no Z85 key. */
int pbx_curve_load_secret(const char *file, struct pbx_curve_keypair *kp);
/* Reads a .pub file into pub. */
int pbx_curve_load_public(const char *file, char pub[PBX_CURVE_Z85]);

/* Looks up the 32-byte public key in dir's *.pub files; on a match copies
 * the file's stem to name and returns 0, else -ENOENT. The directory is
 * read at every call, so a key added or removed counts from the next
 * handshake on. */
int pbx_curve_allowed(const char *dir, const unsigned char key[32],
		      char *name, size_t size);

/* ZAP handler (RFC 27) serving one zmq context from its own thread: a REP
 * socket on inproc://zeromq.zap.01 that answers CURVE requests for the
 * domains given, each with its allow-list directory; anything else is
 * refused (400). Start it before binding any CURVE server socket: libzmq
 * accepts every client while no handler is bound. */
struct pbx_zap;
struct pbx_zap_domain {
	const char *domain;
	const char *allow_dir;
	/* Optional cap on connections: monitor is the inproc endpoint the
	 * server socket publishes ZMQ_EVENT_ACCEPTED / DISCONNECTED on
	 * (pbx_bus_opts.monitor); a handshake is refused while more than
	 * max_peers TCP connections (the new one included) are open, so at
	 * most max_peers authenticated peers hold receive buffers. */
	const char *monitor;
	int max_peers;
};
int pbx_zap_start(struct pbx_zap **zp, void *zctx,
		  const struct pbx_zap_domain *domains, size_t n);
/* Stops the thread and closes the socket (before zmq_ctx_term). */
void pbx_zap_stop(struct pbx_zap *z);

#endif
