/* Tests for services/edge-bridge/netstring.c: framing across reads, several
 * frames per read, and every way a peer can break the framing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"
#include "pbx_test.h"

#define MAX_FRAMES 8

/* Collects the frames a feed produced. */
struct frames {
	int n;
	char data[MAX_FRAMES][128];
	size_t len[MAX_FRAMES];
	int stop_at; /* return -ECANCELED on this frame number (1-based) */
};

static int collect(const char *data, size_t len, void *arg)
{
	struct frames *f = arg;

	cr_assert_lt(f->n, MAX_FRAMES);
	cr_assert_lt(len, sizeof(f->data[0]));
	cr_assert_eq(data[len], '\0', "frames are NUL-terminated");
	memcpy(f->data[f->n], data, len);
	f->len[f->n] = len;
	f->n++;
	return f->n == f->stop_at ? -ECANCELED : 0;
}

static struct netstring *ns;

static void setup(void)
{
	cr_assert_eq(netstring_alloc(&ns, 0), 0);
}

static void teardown(void)
{
	netstring_free(ns);
	ns = NULL;
	pbx_test_fini();
}

TestSuite(netstring, .init = setup, .fini = teardown);

static int feed(const char *s, struct frames *f)
{
	return netstring_feed(ns, s, strlen(s), collect, f);
}

Test(netstring, one_frame_in_one_read)
{
	struct frames f = {0};

	cr_assert_eq(feed("5:hello,", &f), 0);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.len[0], 5);
	cr_assert_str_eq(f.data[0], "hello");
}

Test(netstring, frame_fed_byte_by_byte)
{
	const char *s = "12:{\"tindex\":1},";
	struct frames f = {0};

	for (size_t i = 0; i < strlen(s); i++) {
		cr_assert_eq(netstring_feed(ns, s + i, 1, collect, &f), 0);
		cr_assert_eq(f.n, i + 1 == strlen(s) ? 1 : 0,
			     "frame delivered only on the comma (byte %zu)",
			     i);
	}
	cr_assert_str_eq(f.data[0], "{\"tindex\":1}");
}

Test(netstring, two_frames_in_one_buffer)
{
	struct frames f = {0};

	cr_assert_eq(feed("3:abc,4:defg,", &f), 0);
	cr_assert_eq(f.n, 2);
	cr_assert_str_eq(f.data[0], "abc");
	cr_assert_str_eq(f.data[1], "defg");
}

Test(netstring, frame_split_inside_length_and_data)
{
	struct frames f = {0};

	cr_assert_eq(feed("1", &f), 0);
	cr_assert_eq(feed("1:hello", &f), 0);
	cr_assert_eq(feed(" world,3:x", &f), 0);
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.data[0], "hello world");
	cr_assert_eq(feed("yz,", &f), 0);
	cr_assert_eq(f.n, 2);
	cr_assert_str_eq(f.data[1], "xyz");
}

Test(netstring, empty_frame_is_valid)
{
	struct frames f = {0};

	cr_assert_eq(feed("0:,", &f), 0);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.len[0], 0);
}

Test(netstring, non_digit_length_is_rejected)
{
	struct frames f = {0};

	cr_assert_eq(feed("x:abc,", &f), -EPROTO);
	cr_assert_eq(f.n, 0);
}

Test(netstring, missing_length_is_rejected)
{
	struct frames f = {0};

	cr_assert_eq(feed(":abc,", &f), -EPROTO);
}

Test(netstring, negative_length_is_rejected)
{
	struct frames f = {0};

	cr_assert_eq(feed("-3:abc,", &f), -EPROTO);
}

Test(netstring, leading_zero_is_rejected)
{
	struct frames f = {0};

	cr_assert_eq(feed("03:abc,", &f), -EPROTO);
}

Test(netstring, missing_comma_is_rejected)
{
	struct frames f = {0};

	cr_assert_eq(feed("3:abc;4:defg,", &f), -EPROTO);
	cr_assert_eq(f.n, 0, "the unterminated frame is not delivered");
}

Test(netstring, length_longer_than_data_eats_next_frame_then_fails)
{
	struct frames f = {0};

	/* "5:abc,3" — the comma is payload, and '3' is not a comma. */
	cr_assert_eq(feed("5:abc,3:def,", &f), -EPROTO);
	cr_assert_eq(f.n, 0);
}

Test(netstring, frames_before_an_error_are_delivered)
{
	struct frames f = {0};

	cr_assert_eq(feed("2:ok,2:bad!", &f), -EPROTO);
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.data[0], "ok");
}

Test(netstring, oversized_frame_is_rejected_before_its_data)
{
	struct frames f = {0};

	/* 65537 > 64 KiB: refused from the length alone. */
	cr_assert_eq(feed("65537:", &f), -EMSGSIZE);
	cr_assert_eq(f.n, 0);
}

Test(netstring, huge_length_does_not_overflow)
{
	struct frames f = {0};

	cr_assert_eq(feed("99999999999999999999999999:", &f), -EMSGSIZE);
}

Test(netstring, frame_of_exactly_max_len_is_accepted)
{
	size_t n = NETSTRING_MAX_LEN;
	char *buf = malloc(n + 16);
	int hlen;

	cr_assert_not_null(buf);
	hlen = snprintf(buf, 16, "%zu:", n);

	memset(buf + hlen, 'a', n);
	buf[hlen + n] = ',';
	cr_assert_eq(netstring_feed(ns, buf, (size_t)hlen + n + 1, NULL,
				    NULL),
		     0);
	free(buf);
}

Test(netstring, error_sticks_until_reset)
{
	struct frames f = {0};

	cr_assert_eq(feed("3:abc!", &f), -EPROTO);
	cr_assert_eq(feed("3:abc,", &f), -EPROTO, "still failed");
	cr_assert_eq(f.n, 0);
	netstring_reset(ns);
	cr_assert_eq(feed("3:abc,", &f), 0);
	cr_assert_eq(f.n, 1);
}

Test(netstring, reset_drops_a_partial_frame)
{
	struct frames f = {0};

	cr_assert_eq(feed("10:abc", &f), 0);
	netstring_reset(ns);
	cr_assert_eq(feed("2:hi,", &f), 0);
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.data[0], "hi");
}

Test(netstring, handler_error_stops_the_feed)
{
	struct frames f = {.stop_at = 1};

	cr_assert_eq(feed("1:a,1:b,", &f), -ECANCELED);
	cr_assert_eq(f.n, 1);
}

Test(netstring, encode_round_trips)
{
	struct frames f = {0};
	char *out;
	size_t len;

	cr_assert_eq(netstring_encode(&out, &len, "{\"a\":1}", 7), 0);
	cr_assert_eq(len, 10);
	cr_assert_eq(memcmp(out, "7:{\"a\":1},", len), 0);
	cr_assert_eq(netstring_feed(ns, out, len, collect, &f), 0);
	cr_assert_str_eq(f.data[0], "{\"a\":1}");
	free(out);
}
