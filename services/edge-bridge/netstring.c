/* Netstring framing: the incremental parser state machine and the encoder.
 * The parser copies payload bytes into one buffer of max_len + 1 allocated
 * up front, so a peer cannot make it allocate on its behalf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"

enum netstring_state {
	NS_LEN,   /* reading decimal digits up to ':' */
	NS_DATA,  /* copying `need` payload bytes */
	NS_COMMA, /* expecting the closing ',' */
	NS_FAILED /* framing lost; only netstring_reset() recovers */
};

/* Owned by whoever allocated it (one per evapi connection object). */
struct netstring {
	enum netstring_state state;
	int err;        /* the error that put us in NS_FAILED */
	size_t max_len;
	size_t need;    /* announced payload length */
	size_t have;    /* payload bytes copied so far */
	size_t ndigits; /* digits seen in the length prefix */
	char *buf;      /* max_len + 1 bytes (room for the NUL) */
};

int netstring_alloc(struct netstring **nsp, size_t max_len)
{
	struct netstring *ns;

	if (!nsp)
		return -EINVAL;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	ns->max_len = max_len ? max_len : NETSTRING_MAX_LEN;
	ns->buf = malloc(ns->max_len + 1);
	if (!ns->buf) {
		free(ns);
		return -ENOMEM;
	}
	netstring_reset(ns);
	*nsp = ns;
	return 0;
}

void netstring_free(struct netstring *ns)
{
	if (!ns)
		return;
	free(ns->buf);
	free(ns);
}

void netstring_reset(struct netstring *ns)
{
	ns->state = NS_LEN;
	ns->err = 0;
	ns->need = 0;
	ns->have = 0;
	ns->ndigits = 0;
}

static int fail(struct netstring *ns, int err)
{
	ns->state = NS_FAILED;
	ns->err = err;
	return err;
}

/* One byte of the length prefix. */
static int feed_len(struct netstring *ns, char c)
{
	if (c >= '0' && c <= '9') {
		/* "0" is the only length allowed to start with a zero:
		 * "007:" would be read differently by other parsers. */
		if (ns->ndigits == 1 && ns->need == 0)
			return fail(ns, -EPROTO);
		ns->need = ns->need * 10 + (size_t)(c - '0');
		ns->ndigits++;
		/* Checked per digit, so need never overflows. */
		if (ns->need > ns->max_len)
			return fail(ns, -EMSGSIZE);
		return 0;
	}
	if (c == ':' && ns->ndigits > 0) {
		ns->have = 0;
		ns->state = ns->need ? NS_DATA : NS_COMMA;
		return 0;
	}
	return fail(ns, -EPROTO);
}

int netstring_feed(struct netstring *ns, const char *buf, size_t len,
		   netstring_frame_h *frameh, void *arg)
{
	size_t i = 0;
	int err;

	if (!ns || (!buf && len))
		return -EINVAL;
	if (ns->state == NS_FAILED)
		return ns->err;

	while (i < len) {
		switch (ns->state) {
		case NS_LEN:
			err = feed_len(ns, buf[i++]);
			if (err)
				return err;
			break;
		case NS_DATA: {
			size_t n = ns->need - ns->have;

			if (n > len - i)
				n = len - i;
			memcpy(ns->buf + ns->have, buf + i, n);
			ns->have += n;
			i += n;
			if (ns->have == ns->need)
				ns->state = NS_COMMA;
			break;
		}
		case NS_COMMA:
			if (buf[i++] != ',')
				return fail(ns, -EPROTO);
			ns->buf[ns->need] = '\0';
			/* Ready for the next frame before the callback, so
			 * a handler that returns 0 leaves a consistent
			 * parser. */
			ns->state = NS_LEN;
			ns->ndigits = 0;
			err = frameh ? frameh(ns->buf, ns->need, arg) : 0;
			ns->need = 0;
			if (err)
				return fail(ns, err);
			break;
		case NS_FAILED:
			return ns->err;
		}
	}
	return 0;
}

int netstring_encode(char **outp, size_t *outlenp, const char *data,
		     size_t len)
{
	char head[24];
	int hlen;
	char *out;

	if (!outp || !outlenp || (!data && len))
		return -EINVAL;
	hlen = snprintf(head, sizeof(head), "%zu:", len);
	out = malloc((size_t)hlen + len + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, head, (size_t)hlen);
	if (len)
		memcpy(out + hlen, data, len);
	out[(size_t)hlen + len] = ',';
	*outp = out;
	*outlenp = (size_t)hlen + len + 1;
	return 0;
}
