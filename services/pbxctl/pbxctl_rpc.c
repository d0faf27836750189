/* pbxctl RPC: a short-lived zmq context and DEALER socket per call; the
 * deadline covers connect, send and the wait for the answer together. */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "pbx_bus.h"
#include "pbx_clock.h"
#include "pbx_curve.h"
#include "pbxctl_rpc.h"

/* Receives one multipart message; the payload is its last part (a DEALER
 * gets no routing frame, but tolerate extra parts). */
static int recv_payload(void *sock, zmq_msg_t *payload)
{
	int more = 0;
	size_t sz = sizeof(more);

	do {
		zmq_msg_close(payload);
		zmq_msg_init(payload);
		if (zmq_msg_recv(payload, sock, ZMQ_DONTWAIT) < 0)
			return -errno;
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
	} while (more);
	return 0;
}

/* True when env answers the request msgid. A BusError with no reply_to
 * answers too: the server could not read which request it was. */
static bool answers(const Pbx__V1__Envelope *env, const char *msgid)
{
	const char *rt = env->reply_to ? env->reply_to : "";

	if (!strcmp(rt, msgid))
		return true;
	return !rt[0] && env->body_case == PBX__V1__ENVELOPE__BODY_ERROR;
}

/* True when the monitor reported a failed handshake (a refused key). */
static bool handshake_failed(void *mon)
{
	bool failed = false;
	zmq_msg_t ev;

	for (;;) {
		uint16_t event = 0;
		int more = 0;
		size_t sz = sizeof(more);

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0)
			break;
		if (zmq_msg_size(&ev) >= 2)
			memcpy(&event, zmq_msg_data(&ev), 2);
		if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
			     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
			failed = true;
		zmq_getsockopt(mon, ZMQ_RCVMORE, &more, &sz);
		zmq_msg_close(&ev);
		if (more) {
			zmq_msg_init(&ev);
			zmq_msg_recv(&ev, mon, 0);
			zmq_msg_close(&ev);
		}
	}
	zmq_msg_close(&ev);
	return failed;
}

static int wait_answer(void *sock, void *mon, const char *msgid,
		       uint64_t deadline, Pbx__V1__Envelope **envp)
{
	zmq_msg_t payload;
	int err = -ETIMEDOUT;

	zmq_msg_init(&payload);
	for (;;) {
		uint64_t now = pbx_clock_mono_ms();
		zmq_pollitem_t it[2] = {
			{.socket = sock, .events = ZMQ_POLLIN},
			{.socket = mon, .events = ZMQ_POLLIN},
		};
		Pbx__V1__Envelope *env;
		int rc;

		if (now >= deadline)
			break;
		rc = zmq_poll(it, mon ? 2 : 1, (long)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		if (mon && (it[1].revents & ZMQ_POLLIN) &&
		    handshake_failed(mon)) {
			err = -EACCES;
			break;
		}
		if (!(it[0].revents & ZMQ_POLLIN))
			continue;
		if (recv_payload(sock, &payload))
			continue;
		env = pbx_envelope_decode(zmq_msg_data(&payload),
					  zmq_msg_size(&payload));
		if (!env) {
			err = -EPROTO;
			break;
		}
		if (answers(env, msgid)) {
			*envp = env;
			err = 0;
			break;
		}
		pbx_envelope_free(env); /* a stale answer: keep waiting */
	}
	zmq_msg_close(&payload);
	return err;
}

/* Makes sock a CURVE client of the server whose key is in server_pub. */
static int set_curve(void *sock, const char *key_file,
		     const char *server_pub)
{
	struct pbx_curve_keypair kp;
	char srv[PBX_CURVE_Z85];
	int err = pbx_curve_load_secret(key_file, &kp);

	if (!err)
		err = pbx_curve_load_public(server_pub, srv);
	if (!err && (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, srv, 40) ||
		     zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kp.pub, 40) ||
		     zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp.sec, 40)))
		err = -EINVAL;
	memset(&kp, 0, sizeof(kp));
	return err ? -ENOKEY : 0;
}

static int rpc_once(const char *server, const char *key_file,
		    const char *server_pub_file, int timeout_ms,
		    const Pbx__V1__ProvRequest *req, Pbx__V1__Envelope **envp)
{
	void *mon = NULL;
	Pbx__V1__Envelope env = PBX__V1__ENVELOPE__INIT;
	uint64_t deadline = pbx_clock_mono_ms() + (uint64_t)timeout_ms;
	char msgid[64];
	uint8_t *buf = NULL;
	size_t len = 0;
	void *ctx, *sock;
	int zero = 0, err;

	ctx = zmq_ctx_new();
	if (!ctx)
		return -ENOMEM;
	sock = zmq_socket(ctx, ZMQ_DEALER);
	if (!sock) {
		zmq_ctx_term(ctx);
		return -ENOMEM;
	}
	/* Never hang in close on an unsent request; never block a send
	 * longer than the whole call may take. */
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof(timeout_ms));
	if (key_file && key_file[0]) {
		err = set_curve(sock, key_file, server_pub_file);
		if (err)
			goto out;
		/* A refused key shows only as a failed handshake: watch for
		 * it, so the user reads "refused", not "no answer". */
		if (!zmq_socket_monitor(sock, "inproc://pbxctl.monitor",
					ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
						ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)) {
			mon = zmq_socket(ctx, ZMQ_PAIR);
			if (mon && zmq_connect(mon, "inproc://pbxctl.monitor")) {
				zmq_close(mon);
				mon = NULL;
			}
		}
	}
	if (zmq_connect(sock, server)) {
		err = -EINVAL;
		goto out;
	}

	pbx_bus_msgid(msgid, sizeof(msgid));
	env.message_id = msgid;
	env.timestamp_ms = pbx_clock_now_ms();
	env.body_case = PBX__V1__ENVELOPE__BODY_PROV_REQUEST;
	env.prov_request = (Pbx__V1__ProvRequest *)req;
	err = pbx_envelope_encode(&env, &buf, &len);
	if (err)
		goto out;
	/* Without ZMQ_IMMEDIATE the DEALER queues on the pending connection,
	 * so a server that is still starting gets the request once up. */
	if (zmq_send(sock, buf, len, 0) < 0) {
		err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto out;
	}
	err = wait_answer(sock, mon, msgid, deadline, envp);
out:
	free(buf);
	if (mon) {
		zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_close(mon);
	}
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return err;
}

int pbxctl_rpc_call(const char *server, const char *key_file,
		    const char *server_pub_file, int timeout_ms,
		    const Pbx__V1__ProvRequest *req, Pbx__V1__Envelope **envp)
{
	uint64_t deadline = pbx_clock_mono_ms() + (uint64_t)timeout_ms;
	int err;

	/* A refused handshake is final for libzmq; the service also refuses
	 * one while it serves max_clients others, so ask again while time
	 * remains (a key it does not know is refused every time). Every
	 * request is safe to repeat, and a refused one never ran. */
	for (;;) {
		uint64_t now = pbx_clock_mono_ms();

		err = rpc_once(server, key_file, server_pub_file,
			       (int)(deadline - now), req, envp);
		if (err != -EACCES || pbx_clock_mono_ms() + 250 >= deadline)
			return err;
		usleep(200 * 1000);
	}
}
