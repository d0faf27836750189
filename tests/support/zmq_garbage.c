/* zmq_garbage: a test client that sends a service something that is not a
 * request it can serve, and checks that the service answers with a BusError
 * envelope instead of crashing or staying silent.
 *
 *   zmq_garbage <endpoint> [random|empty|wrong-body|multipart|big:<MiB>]
 *               [timeout_ms]
 *
 * big:<MiB> sends one frame of that many MiB of random bytes (the memory
 * bound test). With $PBX_KEY (a CURVE .key) the socket is a CURVE client
 * of the server whose public key is $PBX_SERVER_KEY (default:
 * provision.pub beside the key); $PBX_ROUTING_ID sets a routing id to
 * claim. Without $PBX_KEY, $PBX_RUN/keys/operator.key is used when it
 * exists (the stack's operator key, as pbxctl does).
 *
 * Exit 0: an Envelope with body error came back; 1: anything else (no
 * answer, an undecodable answer, another body); 2: usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "pbx_bus.h"
#include "pbx_curve.h"
#include <libgen.h>
#include <unistd.h>

#define GARBAGE_LEN 512

static int send_garbage(void *sock, const char *mode)
{
	uint8_t buf[GARBAGE_LEN];

	srand((unsigned)time(NULL));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	/* Field number 0 is invalid protobuf, so "random" can never happen
	 * to decode as a valid Envelope and make the test flaky. */
	buf[0] = 0x07;

	if (!strncmp(mode, "big:", 4)) {
		size_t len = (size_t)atol(mode + 4) * 1024 * 1024;
		uint8_t *big = len ? malloc(len) : NULL;
		int rc;

		if (!big)
			return -EINVAL;
		for (size_t i = 0; i < len; i++)
			big[i] = buf[i % sizeof(buf)];
		rc = zmq_send(sock, big, len, 0) < 0 ? -errno : 0;
		free(big);
		return rc;
	}
	if (!strcmp(mode, "random"))
		return zmq_send(sock, buf, sizeof(buf), 0) < 0 ? -errno : 0;
	if (!strcmp(mode, "empty"))
		return zmq_send(sock, "", 0, 0) < 0 ? -errno : 0;
	if (!strcmp(mode, "multipart")) {
		if (zmq_send(sock, buf, 16, ZMQ_SNDMORE) < 0)
			return -errno;
		return zmq_send(sock, buf + 16, 16, 0) < 0 ? -errno : 0;
	}
	if (!strcmp(mode, "wrong-body")) {
		/* A well-formed envelope whose body no service should take
		 * from a stranger: a reply with no request behind it. */
		Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
		Pbx__V1__ProvResponse resp = PBX__V1__PROV_RESPONSE__INIT;
		uint8_t *out;
		size_t len;
		int rc;

		env.message_id = "garbage-1";
		env.body_case = PBX__V1__ENVELOPE__BODY_PROV_RESPONSE;
		env.prov_response = &resp;
		if (pbx_envelope_encode(&env, &out, &len))
			return -ENOMEM;
		rc = zmq_send(sock, out, len, 0) < 0 ? -errno : 0;
		free(out);
		return rc;
	}
	return -EINVAL;
}

static int set_curve(void *sock)
{
	const char *key = getenv("PBX_KEY"), *srv = getenv("PBX_SERVER_KEY");
	const char *rid = getenv("PBX_ROUTING_ID"), *run = getenv("PBX_RUN");
	char def[4096], sp[4096], d[4096], spub[PBX_CURVE_Z85];
	struct pbx_curve_keypair kp;

	if (rid && rid[0])
		zmq_setsockopt(sock, ZMQ_ROUTING_ID, rid, strlen(rid));
	if ((!key || !key[0]) && run && run[0]) {
		snprintf(def, sizeof(def), "%s/keys/operator.key", run);
		if (access(def, F_OK) == 0)
			key = def;
	}
	if (!key || !key[0])
		return 0;
	if (!srv || !srv[0]) {
		snprintf(d, sizeof(d), "%s", key);
		snprintf(sp, sizeof(sp), "%s/provision.pub", dirname(d));
		srv = sp;
	}
	if (pbx_curve_load_secret(key, &kp) ||
	    pbx_curve_load_public(srv, spub)) {
		fprintf(stderr, "zmq_garbage: cannot read %s or %s\n", key,
			srv);
		return -EINVAL;
	}
	zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, spub, 40);
	zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kp.pub, 40);
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp.sec, 40);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "random";
	int timeout_ms = argc > 3 ? atoi(argv[3]) : 3000;
	int zero = 0, rc = 1;
	zmq_pollitem_t it;
	void *ctx, *sock;
	zmq_msg_t msg;

	if (argc < 2 || argc > 4 || timeout_ms <= 0) {
		fprintf(stderr, "usage: zmq_garbage <endpoint> "
				"[random|empty|wrong-body|multipart|big:MiB] "
				"[timeout_ms]\n");
		return 2;
	}
	ctx = zmq_ctx_new();
	sock = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	/* A refused handshake leaves no connection: a send must not wait
	 * for one forever. */
	zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof(timeout_ms));
	if (set_curve(sock)) {
		rc = 2;
		goto out;
	}
	if (zmq_connect(sock, argv[1])) {
		fprintf(stderr, "zmq_garbage: connect %s: %s\n", argv[1],
			zmq_strerror(errno));
		goto out;
	}
	if (send_garbage(sock, mode)) {
		fprintf(stderr, "zmq_garbage: cannot send (mode %s)\n", mode);
		rc = 2;
		goto out;
	}
	it = (zmq_pollitem_t){.socket = sock, .events = ZMQ_POLLIN};
	if (zmq_poll(&it, 1, timeout_ms) <= 0) {
		fprintf(stderr, "zmq_garbage: no answer within %d ms\n",
			timeout_ms);
		goto out;
	}
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, sock, 0) >= 0) {
		Pbx__V1__Envelope *env = pbx_envelope_decode(
			zmq_msg_data(&msg), zmq_msg_size(&msg));

		if (env && env->body_case == PBX__V1__ENVELOPE__BODY_ERROR) {
			printf("error %d: %s\n", env->error->code,
			       env->error->text);
			rc = 0;
		} else {
			fprintf(stderr, "zmq_garbage: the answer is %s\n",
				env ? "not a BusError" : "not an Envelope");
		}
		pbx_envelope_free(env);
	}
	zmq_msg_close(&msg);
out:
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return rc;
}
