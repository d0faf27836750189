/* Walk state codec: one compact printable string per call, so the router
 * keeps a call's position in a single Redis hash field:
 *   w1|<node>|<phase>|<flags>|<tries>|<timer>|<timer_seq>|<steps>|
 *      <digits>|<target>
 * <node> and <target> are %XX-escaped outside [A-Za-z0-9_.:+-]; numbers
 * are decimal; flags bit 0 answered, bit 1 ended. Decode accepts exactly
 * this and nothing else, so a corrupt field never becomes a state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_internal.h"
#include "scenario_walk.h"

#define STATE_TAG "w1"

static bool plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
	       c == '+' || c == '-';
}

struct wbuf {
	char *p;
	size_t size, len;
	bool full;
};

static void put(struct wbuf *b, const char *s, size_t n)
{
	if (b->full || b->len + n >= b->size) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void put_esc(struct wbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};

		if (plain(*c))
			put(b, (const char *)c, 1);
		else
			put(b, e, 3);
	}
}

static void put_num(struct wbuf *b, unsigned long v)
{
	char n[24];
	int len = snprintf(n, sizeof(n), "|%lu", v);

	put(b, n, (size_t)len);
}

static bool digits_ok(const char *s)
{
	for (; *s; s++) {
		if (!((*s >= '0' && *s <= '9') || *s == '*' || *s == '#'))
			return false;
	}
	return true;
}

int scenario_walk_state_encode(const struct walk_state *st, char *buf,
			       size_t size)
{
	struct wbuf b = {buf, size, 0, false};

	if (!st || !buf || !size)
		return -EINVAL;
	if (!memchr(st->node, '\0', sizeof(st->node)) ||
	    !memchr(st->digits, '\0', sizeof(st->digits)) ||
	    !memchr(st->target, '\0', sizeof(st->target)) ||
	    st->phase >= PH_COUNT || !digits_ok(st->digits))
		return -EINVAL;
	put(&b, STATE_TAG "|", 3);
	put_esc(&b, st->node);
	put_num(&b, st->phase);
	put_num(&b, (st->answered ? 1u : 0u) | (st->ended ? 2u : 0u));
	put_num(&b, st->tries);
	put_num(&b, st->timer);
	put_num(&b, st->timer_seq);
	put_num(&b, st->steps);
	put(&b, "|", 1);
	put(&b, st->digits, strlen(st->digits));
	put(&b, "|", 1);
	put_esc(&b, st->target);
	if (b.full) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	buf[b.len] = '\0';
	return (int)b.len;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads an escaped field up to '|' or the end into out (size incl.
 * NUL); returns the position after it or NULL. */
static const char *get_esc(const char *p, char *out, size_t size)
{
	size_t n = 0;

	while (*p && *p != '|') {
		unsigned char c;

		if (*p == '%') {
			int h = hexval(p[1]), l = h >= 0 ? hexval(p[2]) : -1;

			if (h < 0 || l < 0)
				return NULL;
			c = (unsigned char)(h << 4 | l);
			/* Escapes are only for what plain() refuses. */
			if (plain(c) || c == 0)
				return NULL;
			p += 3;
		} else if (plain((unsigned char)*p)) {
			c = (unsigned char)*p++;
		} else {
			return NULL;
		}
		if (n + 1 >= size)
			return NULL;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return p;
}

static const char *get_num(const char *p, unsigned long max, unsigned long *v)
{
	unsigned long n = 0;
	const char *s;

	if (*p != '|')
		return NULL;
	s = ++p;
	while (*p >= '0' && *p <= '9') {
		unsigned long d = (unsigned long)(*p - '0');

		if (d > max || n > (max - d) / 10)
			return NULL;
		n = n * 10 + d;
		p++;
	}
	if (p == s || (p - s > 1 && *s == '0'))
		return NULL;
	*v = n;
	return p;
}

int scenario_walk_state_decode(struct walk_state *st, const char *buf)
{
	struct walk_state t;
	unsigned long phase, flags, tries, timer, seq, steps;
	const char *p = buf;
	size_t n;

	if (!st || !buf)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	if (strncmp(p, STATE_TAG "|", 3))
		return -EINVAL;
	p = get_esc(p + 3, t.node, sizeof(t.node));
	if (!p || !(p = get_num(p, PH_COUNT - 1, &phase)) ||
	    !(p = get_num(p, 3, &flags)) || !(p = get_num(p, 255, &tries)) ||
	    !(p = get_num(p, UINT32_MAX, &timer)) ||
	    !(p = get_num(p, UINT32_MAX, &seq)) ||
	    !(p = get_num(p, UINT32_MAX, &steps)) || *p++ != '|')
		return -EINVAL;
	for (n = 0; *p && *p != '|'; p++) {
		if (n + 1 >= sizeof(t.digits) ||
		    !((*p >= '0' && *p <= '9') || *p == '*' || *p == '#'))
			return -EINVAL;
		t.digits[n++] = *p;
	}
	if (*p++ != '|')
		return -EINVAL;
	p = get_esc(p, t.target, sizeof(t.target));
	if (!p || *p)
		return -EINVAL;
	if (!t.node[0] && phase != PH_NONE)
		return -EINVAL;
	if (timer > seq)
		return -EINVAL; /* a timer id is never ahead of the counter */
	t.phase = (uint8_t)phase;
	t.answered = flags & 1;
	t.ended = (flags & 2) != 0;
	t.tries = (uint8_t)tries;
	t.timer = (uint32_t)timer;
	t.timer_seq = (uint32_t)seq;
	t.steps = (uint32_t)steps;
	*st = t;
	return 0;
}
