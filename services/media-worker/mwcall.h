/* One media call: the libre SIP session (UAS), its SDP offer/answer, the
 * RTP socket and the prompt player. Knows nothing about the bus or the
 * call table: it reports to its owner through two callbacks. */
#ifndef MWCALL_H
#define MWCALL_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

#include "offer_codec.h"

struct mwcall;
struct pacer;

/* What every call needs from the worker; outlives all calls. */
struct mwcall_env {
	struct sipsess_sock *sock;
	struct pacer *pacer;
	struct sa rtp_ip;
	uint16_t rtp_port_min;
	uint16_t rtp_port_max;
	const char *cuser; /* Contact user part: the worker id */
};

/* The dialog ended without us: caller's BYE or CANCEL (err ECONNRESET),
 * no ACK for our 200 (ETIMEDOUT), or a transport error. The handler must
 * mwcall_free() the call (it may do so inside the callback). */
typedef void(mwcall_close_h)(struct mwcall *call, int err, void *arg);
/* The prompt started by mwcall_play(..., seq) has been sent completely. */
typedef void(mwcall_done_h)(struct mwcall *call, uint64_t seq, void *arg);

/* Answers an INVITE: decodes the SDP offer, picks G.711, opens an RTP
 * socket and sends 200 OK with the answer. Returns 0 (the call owns the
 * session), -ENOTSUP no SDP offer or no G.711 in it (reply 488),
 * -EBADMSG unparsable SDP (reply 400), or another negative errno (reply
 * 500). On error no final response has been sent and no callback fires. */
int mwcall_accept(struct mwcall **callp, const struct mwcall_env *env,
		  const struct sip_msg *msg, const char *tenant,
		  mwcall_close_h *closeh, mwcall_done_h *doneh, void *arg);

/* Frees the call and its RTP socket. An answered session gets a BYE
 * (libre sends it once the ACK is in, if it is not yet); an unanswered one
 * a 486, unless mwcall_reject() answered it first. NULL-safe. */
void mwcall_free(struct mwcall *call);
/* Final response `code` for a call not answered yet; -EALREADY if it was
 * answered (hang up with mwcall_free() instead). */
int mwcall_reject(struct mwcall *call, uint16_t code, const char *reason);

/* Plays audio (in the call's law, copied) `loops` times, replacing what
 * plays now. done fires with seq at the end. 0, -EINVAL, -ENOMEM. */
int mwcall_play(struct mwcall *call, const uint8_t *audio, size_t len,
		uint32_t loops, uint64_t seq);
void mwcall_stop_play(struct mwcall *call);

const char *mwcall_tenant(const struct mwcall *call);
const char *mwcall_callid(const struct mwcall *call);
const char *mwcall_caller(const struct mwcall *call);
const char *mwcall_dialed(const struct mwcall *call);
enum offer_law mwcall_law(const struct mwcall *call);
bool mwcall_answered(const struct mwcall *call);

#endif
