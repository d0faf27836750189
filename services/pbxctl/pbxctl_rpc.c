/* pbxctl RPC: a short-lived zmq context and DEALER socket per call; the
 * deadline covers connect, send and the wait for the answer together. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "pbx_bus.h"
#include "pbx_clock.h"
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

static int wait_answer(void *sock, const char *msgid, uint64_t deadline,
		       Pbx__V1__Envelope **envp)
{
	zmq_msg_t payload;
	int err = -ETIMEDOUT;

	zmq_msg_init(&payload);
	for (;;) {
		uint64_t now = pbx_clock_mono_ms();
		zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
		Pbx__V1__Envelope *env;
		int rc;

		if (now >= deadline)
			break;
		rc = zmq_poll(&it, 1, (long)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
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

int pbxctl_rpc_call(const char *server, int timeout_ms,
		    const Pbx__V1__ProvRequest *req, Pbx__V1__Envelope **envp)
{
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
	err = wait_answer(sock, msgid, deadline, envp);
out:
	free(buf);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return err;
}
