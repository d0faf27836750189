/* pbxctl RPC: one request envelope out on a DEALER socket, one reply
 * envelope back, within a deadline. */
#ifndef PBXCTL_RPC_H
#define PBXCTL_RPC_H

#include "pbx/v1/envelope.pb-c.h"

/* Sends req to server and waits up to timeout_ms for the envelope that
 * answers it. Returns 0 and sets *envp (free with pbx_envelope_free());
 * -ETIMEDOUT when nothing came in time; -EINVAL for an endpoint ZeroMQ
 * does not accept; -EPROTO when the answer is not a pbx.v1 Envelope;
 * -ENOMEM; -EACCES when the server refused key_file at the handshake.
 * key_file "" or NULL: plaintext; else server_pub_file is the server's
 * public key. */
int pbxctl_rpc_call(const char *server, const char *key_file,
		    const char *server_pub_file, int timeout_ms,
		    const Pbx__V1__ProvRequest *req, Pbx__V1__Envelope **envp);

#endif
