/* Tests for mw_rtp.c: the RTP header bytes, checked against libre's own
 * decoder as an independent implementation; the receive accounting of
 * lost (sequence gaps) and late packets across wrap-around, a new SSRC
 * and a renumbering jump. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <re.h>

#include "mw_rtp.h"
#include "pbx_test.h"

TestSuite(mw_rtp, .fini = pbx_test_fini);

Test(mw_rtp, header_bytes_match_rfc3550_layout)
{
	const struct mw_rtp_hdr h = {true, 8, 0x1234, 0xdeadbeef, 0x01020304};
	const uint8_t want[12] = {0x80, 0x88, 0x12, 0x34, 0xde, 0xad,
				  0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
	uint8_t buf[MW_RTP_HDR_SIZE];

	mw_rtp_encode(buf, &h);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(mw_rtp, libre_decodes_what_we_encode)
{
	const struct mw_rtp_hdr h = {false, 0, 65535, 4294967295u, 42};
	struct rtp_header lh;
	struct mbuf *mb = mbuf_alloc(64);
	uint8_t buf[MW_RTP_HDR_SIZE];

	mw_rtp_encode(buf, &h);
	mbuf_write_mem(mb, buf, sizeof(buf));
	mb->pos = 0;
	cr_assert_eq(rtp_hdr_decode(&lh, mb), 0);
	cr_assert_eq(lh.ver, 2);
	cr_assert_eq(lh.m, 0);
	cr_assert_eq(lh.pt, 0);
	cr_assert_eq(lh.seq, 65535);
	cr_assert_eq(lh.ts, 4294967295u);
	cr_assert_eq(lh.ssrc, 42);
	mem_deref(mb);
}

Test(mw_rtp, decode_round_trips_and_skips_csrc_and_extension)
{
	uint8_t buf[64] = {0};
	struct mw_rtp_hdr h = {true, 101, 7, 160, 9}, out;

	mw_rtp_encode(buf, &h);
	cr_assert_eq(mw_rtp_decode(&out, buf, 12), 12);
	cr_assert(out.marker);
	cr_assert_eq(out.pt, 101);
	cr_assert_eq(out.seq, 7);
	cr_assert_eq(out.ts, 160);
	cr_assert_eq(out.ssrc, 9);

	buf[0] = 0x80 | 0x10 | 2; /* extension, 2 CSRCs */
	buf[20 + 3] = 1;	  /* extension length: 1 word */
	cr_assert_eq(mw_rtp_decode(&out, buf, 28), 28);
	cr_assert_eq(mw_rtp_decode(&out, buf, 27), -EBADMSG);
}

Test(mw_rtp, decode_refuses_non_rtp)
{
	uint8_t buf[12] = {0x40};
	struct mw_rtp_hdr out;

	cr_assert_eq(mw_rtp_decode(&out, buf, sizeof(buf)), -EBADMSG);
	cr_assert_eq(mw_rtp_decode(&out, buf, 11), -EBADMSG);
}

Test(mw_rtp, seq_counts_gaps_as_lost_and_behind_as_late)
{
	struct mw_rtp_seq s = {0};
	unsigned long lost = 0, late = 0;
	const uint16_t seqs[] = {100, 101, 102, 105, 103, 106, 106, 107};

	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		mw_rtp_seq_update(&s, 7, seqs[i], &lost, &late);
	/* 103 and 104 missing at 105; 103 came late; 106 twice. */
	cr_expect_eq(lost, 2);
	cr_expect_eq(late, 2);
}

Test(mw_rtp, seq_wraps_and_restarts_without_counting)
{
	struct mw_rtp_seq s = {0};
	unsigned long lost = 0, late = 0;

	mw_rtp_seq_update(&s, 7, 65534, &lost, &late);
	mw_rtp_seq_update(&s, 7, 65535, &lost, &late);
	mw_rtp_seq_update(&s, 7, 1, &lost, &late); /* 0 missing */
	cr_expect_eq(lost, 1);
	cr_expect_eq(late, 0);
	/* Another stream (a new SSRC) and a renumbered one: no loss. */
	mw_rtp_seq_update(&s, 8, 40000, &lost, &late);
	mw_rtp_seq_update(&s, 8, 40001, &lost, &late);
	mw_rtp_seq_update(&s, 8, 10, &lost, &late);
	mw_rtp_seq_update(&s, 8, 11, &lost, &late);
	cr_expect_eq(lost, 1);
	cr_expect_eq(late, 0);
}
