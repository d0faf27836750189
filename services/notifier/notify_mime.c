/* Builds the notification e-mail (notify_mime.h): headers, a text part
 * and the base64 attachment, CRLF throughout. The boundary contains "=_",
 * which neither base64 nor our text can contain, so it never collides
 * with the content. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify_mime.h"

bool notify_mime_addr_valid(const char *addr)
{
	const char *at;
	size_t n;

	if (!addr)
		return false;
	n = strlen(addr);
	at = strchr(addr, '@');
	if (n < 3 || n > NOTIFY_ADDR_MAX || !at || at == addr ||
	    !at[1] || strchr(at + 1, '@'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (c <= ' ' || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return false;
	}
	return true;
}

size_t notify_mime_b64_size(size_t len)
{
	size_t chars = (len + 2) / 3 * 4;

	/* 76 characters a line, each line + CRLF, + NUL. */
	return chars + (chars / 76 + 1) * 2 + 1;
}

size_t notify_mime_b64(char *out, const uint8_t *in, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, col = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = left > 1 ? tab[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? tab[v & 63] : '=';
		col += 4;
		if (col == 76) {
			out[o++] = '\r';
			out[o++] = '\n';
			col = 0;
		}
	}
	if (col) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = '\0';
	return o;
}

/* A growing buffer; on the first failure it stays failed (err). */
struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	char *p;
	size_t cap;

	if (b->err || b->len + more + 1 <= b->cap)
		return;
	cap = (b->len + more + 1) * 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	sb_reserve(b, (size_t)n);
	if (b->err)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The text with bare LF made CRLF and control characters (but tab)
 * dropped: the body cannot end the SMTP DATA or break the MIME. */
static void sb_text(struct sbuf *b, const char *s)
{
	sb_reserve(b, strlen(s) * 2 + 2);
	if (b->err)
		return;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n') {
			b->p[b->len++] = '\r';
			b->p[b->len++] = '\n';
		} else if (c >= ' ' || c == '\t') {
			b->p[b->len++] = (char)c;
		}
	}
	b->p[b->len] = '\0';
}

/* A header value: printable ASCII only, anything else '?'. */
static void sb_header(struct sbuf *b, const char *name, const char *v)
{
	sb_printf(b, "%s: ", name);
	sb_reserve(b, strlen(v) + 2);
	if (b->err)
		return;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		b->p[b->len++] = c >= ' ' && c < 0x7f ? (char)c : '?';
	}
	b->p[b->len++] = '\r';
	b->p[b->len++] = '\n';
	b->p[b->len] = '\0';
}

static bool id_valid(const char *id)
{
	if (!id || !*id || strlen(id) > 128)
		return false;
	for (; *id; id++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
			    *id))
			return false;
	}
	return true;
}

int notify_mime_build(const struct notify_mail *m, char **outp,
		      size_t *lenp)
{
	bool attach = m->attach_name && m->attach_name[0];
	struct sbuf b = {0};
	time_t t = (time_t)(m->date_ms / 1000);
	char date[64];
	struct tm tm;

	if (!notify_mime_addr_valid(m->from) || !notify_mime_addr_valid(m->to) ||
	    !m->subject || !m->text || !id_valid(m->message_id) ||
	    (attach && (!id_valid(m->attach_name) || !m->attach_type ||
			!m->attach)))
		return -EINVAL;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

	sb_printf(&b, "From: <%s>\r\nTo: <%s>\r\n", m->from, m->to);
	sb_header(&b, "Subject", m->subject);
	sb_printf(&b,
		  "Date: %s\r\nMessage-ID: <%s@pbx>\r\nMIME-Version: 1.0\r\n",
		  date, m->message_id);
	if (attach)
		sb_printf(&b,
			  "Content-Type: multipart/mixed; "
			  "boundary=\"=_pbx_%s\"\r\n\r\n"
			  "This is a MIME message.\r\n"
			  "--=_pbx_%s\r\n",
			  m->message_id, m->message_id);
	sb_printf(&b, "Content-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: 8bit\r\n\r\n");
	sb_text(&b, m->text);
	if (attach) {
		size_t n = notify_mime_b64_size(m->attach_len);

		sb_printf(&b,
			  "\r\n--=_pbx_%s\r\n"
			  "Content-Type: %s; name=\"%s\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n"
			  "Content-Disposition: attachment; "
			  "filename=\"%s\"\r\n\r\n",
			  m->message_id, m->attach_type, m->attach_name,
			  m->attach_name);
		sb_reserve(&b, n);
		if (!b.err)
			b.len += notify_mime_b64(b.p + b.len, m->attach,
						 m->attach_len);
		sb_printf(&b, "--=_pbx_%s--\r\n", m->message_id);
	}
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*outp = b.p;
	*lenp = b.len;
	return 0;
}
