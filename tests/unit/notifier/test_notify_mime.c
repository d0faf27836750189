/* Tests for services/notifier/notify_mime.c: base64 against known
 * vectors, the message's headers and structure, the attachment decoding
 * back to its bytes, and every input that must be refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "notify_mime.h"
#include "pbx_test.h"

TestSuite(notify_mime, .fini = pbx_test_fini);

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(notify_mime_b64_size(n));

	cr_assert_not_null(out);
	notify_mime_b64(out, (const uint8_t *)s, n);
	return out;
}

Test(notify_mime, base64_matches_rfc4648_vectors)
{
	static const char *const v[][2] = {
		{"", ""},		{"f", "Zg==\r\n"},
		{"fo", "Zm8=\r\n"},	{"foo", "Zm9v\r\n"},
		{"foob", "Zm9vYg==\r\n"}, {"fooba", "Zm9vYmE=\r\n"},
		{"foobar", "Zm9vYmFy\r\n"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *o = b64(v[i][0]);

		cr_expect_str_eq(o, v[i][1], "base64(\"%s\")", v[i][0]);
		free(o);
	}
}

Test(notify_mime, base64_lines_are_76_characters_and_crlf)
{
	char in[101];
	char *o;

	memset(in, 'x', 100);
	in[100] = '\0';
	o = b64(in);
	/* Same as `base64 -w 76` of 100 'x' (coreutils). */
	cr_expect_str_eq(o, "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
			    "eHh4eHh4eHh4eHh4eHh4eHh4eHh4\r\n"
			    "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
			    "eHh4eHh4eA==\r\n");
	free(o);
}

Test(notify_mime, addresses_that_could_inject_are_refused)
{
	cr_expect(notify_mime_addr_valid("anna@example.com"));
	cr_expect(notify_mime_addr_valid("a.b+vm@mail.example.org"));
	cr_expect_not(notify_mime_addr_valid(NULL));
	cr_expect_not(notify_mime_addr_valid(""));
	cr_expect_not(notify_mime_addr_valid("anna"));
	cr_expect_not(notify_mime_addr_valid("@example.com"));
	cr_expect_not(notify_mime_addr_valid("anna@"));
	cr_expect_not(notify_mime_addr_valid("a@b@c"));
	cr_expect_not(notify_mime_addr_valid("anna@example.com\r\nBcc: x@y"));
	cr_expect_not(notify_mime_addr_valid("anna@example.com>"));
	cr_expect_not(notify_mime_addr_valid("a nna@example.com"));
	cr_expect_not(notify_mime_addr_valid("a@x.com,b@y.com"));

	char long_addr[300];
	memset(long_addr, 'a', sizeof(long_addr));
	long_addr[0] = 'x';
	long_addr[10] = '@';
	long_addr[299] = '\0';
	cr_expect_not(notify_mime_addr_valid(long_addr));
}

static const uint8_t wav[] = {'R', 'I', 'F', 'F', 0, 1, 2, 0xff, 0xfe};

static struct notify_mail mail(void)
{
	return (struct notify_mail){
		.from = "vm@pbx.example",
		.to = "anna@example.com",
		.subject = "New voicemail from 79990000001 (3 s)",
		.text = "line one\nline two\n",
		.message_id = "1700000000000-abcdef.email.acme",
		.date_ms = 1700000000000ull,
		.attach_name = "voicemail-1.wav",
		.attach_type = "audio/wav",
		.attach = wav,
		.attach_len = sizeof(wav),
	};
}

/* Decodes base64 (the test's own decoder). */
static size_t unb64(const char *s, uint8_t *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '-'; s++) {
		const char *p = strchr(tab, *s);

		if (*s == '=' || !p)
			continue;
		acc = acc << 6 | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

Test(notify_mime, multipart_with_the_attachment_decoding_to_its_bytes)
{
	struct notify_mail m = mail();
	char *msg = NULL, *p;
	uint8_t back[64];
	size_t len = 0;

	cr_assert_eq(notify_mime_build(&m, &msg, &len), 0);
	cr_assert_eq(strlen(msg), len);
	cr_expect(strstr(msg, "From: <vm@pbx.example>\r\n") == msg);
	cr_expect_not_null(strstr(msg, "\r\nTo: <anna@example.com>\r\n"));
	cr_expect_not_null(strstr(
		msg, "\r\nSubject: New voicemail from 79990000001 (3 s)\r\n"));
	cr_expect_not_null(
		strstr(msg, "\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	cr_expect_not_null(strstr(
		msg, "\r\nMessage-ID: <1700000000000-abcdef.email.acme@pbx>"));
	cr_expect_not_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
	cr_expect_not_null(strstr(
		msg, "Content-Type: multipart/mixed; boundary=\"=_pbx_"
		     "1700000000000-abcdef.email.acme\"\r\n"));
	/* Every line ends CRLF: no bare LF anywhere. */
	for (p = msg; (p = strchr(p, '\n')); p++)
		cr_assert(p > msg && p[-1] == '\r', "bare LF at %zu",
			  (size_t)(p - msg));
	cr_expect_not_null(strstr(msg, "line one\r\nline two\r\n"));
	cr_expect_not_null(strstr(
		msg, "Content-Disposition: attachment; "
		     "filename=\"voicemail-1.wav\"\r\n"));
	cr_expect_not_null(
		strstr(msg, "\r\nContent-Transfer-Encoding: base64\r\n"));
	p = strstr(msg, "filename=\"voicemail-1.wav\"\r\n\r\n");
	cr_assert_not_null(p);
	p += strlen("filename=\"voicemail-1.wav\"\r\n\r\n");
	cr_assert_eq(unb64(p, back), sizeof(wav));
	cr_expect_eq(memcmp(back, wav, sizeof(wav)), 0);
	cr_expect_not_null(strstr(
		msg, "\r\n--=_pbx_1700000000000-abcdef.email.acme--\r\n"));
	free(msg);
}

Test(notify_mime, without_attachment_a_plain_text_message)
{
	struct notify_mail m = mail();
	char *msg = NULL;
	size_t len;

	m.attach_name = NULL;
	cr_assert_eq(notify_mime_build(&m, &msg, &len), 0);
	cr_expect_null(strstr(msg, "multipart"));
	cr_expect_null(strstr(msg, "base64"));
	cr_expect_not_null(
		strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"));
	free(msg);
}

Test(notify_mime, header_and_body_cannot_be_broken_out_of)
{
	struct notify_mail m = mail();
	char *msg = NULL;
	size_t len;

	m.subject = "hi\r\nBcc: evil@example.com";
	m.text = "a\r\n.\r\nMAIL FROM:<x@y>\x01\n";
	cr_assert_eq(notify_mime_build(&m, &msg, &len), 0);
	cr_expect_null(strstr(msg, "\r\nBcc:"));
	cr_expect_not_null(strstr(msg, "Subject: hi??Bcc: evil@example.com"));
	cr_expect_null(strchr(msg, '\x01'));
	free(msg);
}

Test(notify_mime, bad_input_is_refused)
{
	struct notify_mail m = mail();
	char *msg = NULL;
	size_t len;

	m.to = "not an address";
	cr_expect_eq(notify_mime_build(&m, &msg, &len), -EINVAL);
	m = mail();
	m.message_id = "a b";
	cr_expect_eq(notify_mime_build(&m, &msg, &len), -EINVAL);
	m = mail();
	m.attach_name = "../x\".wav";
	cr_expect_eq(notify_mime_build(&m, &msg, &len), -EINVAL);
	m = mail();
	m.text = NULL;
	cr_expect_eq(notify_mime_build(&m, &msg, &len), -EINVAL);
	cr_expect_null(msg);
}
