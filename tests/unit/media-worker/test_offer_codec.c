/* Tests for offer_codec.c: which G.711 codec the worker answers with. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <re.h>

#include "offer_codec.h"
#include "pbx_test.h"

TestSuite(offer_codec, .fini = pbx_test_fini);

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(offer_codec, pcmu_first_is_chosen)
{
	const struct offer_fmt v[] = {{0, "PCMU", 8000}, {8, "PCMA", 8000}};
	struct offer_codec c;

	cr_assert_eq(offer_codec_pick(&c, v, N(v)), 0);
	cr_assert_eq(c.pt, 0);
	cr_assert_eq(c.law, OFFER_ULAW);
	cr_assert_eq(c.te_pt, -1);
}

Test(offer_codec, pcma_first_is_chosen_honouring_caller_order)
{
	const struct offer_fmt v[] = {{8, NULL, 0}, {0, NULL, 0}};
	struct offer_codec c;

	cr_assert_eq(offer_codec_pick(&c, v, N(v)), 0);
	cr_assert_eq(c.pt, 8);
	cr_assert_eq(c.law, OFFER_ALAW);
}

Test(offer_codec, no_g711_is_not_supported)
{
	const struct offer_fmt v[] = {{9, "G722", 8000},
				      {18, "G729", 8000},
				      {101, "telephone-event", 8000}};
	struct offer_codec c;

	cr_assert_eq(offer_codec_pick(&c, v, N(v)), -ENOTSUP);
	cr_assert_eq(offer_codec_pick(&c, v, 0), -ENOTSUP);
}

Test(offer_codec, telephone_event_is_ignored_for_choice_but_remembered)
{
	const struct offer_fmt v[] = {{101, "telephone-event", 8000},
				      {9, "G722", 8000},
				      {8, "PCMA", 8000}};
	struct offer_codec c;

	cr_assert_eq(offer_codec_pick(&c, v, N(v)), 0);
	cr_assert_eq(c.pt, 8);
	cr_assert_eq(c.te_pt, 101);
}

Test(offer_codec, wideband_telephone_event_is_not_used)
{
	const struct offer_fmt v[] = {{100, "telephone-event", 16000},
				      {0, NULL, 0}};
	struct offer_codec c;

	cr_assert_eq(offer_codec_pick(&c, v, N(v)), 0);
	cr_assert_eq(c.te_pt, -1);
}

Test(offer_codec, dynamic_pcmu_at_8000_is_accepted_with_its_type)
{
	const struct offer_fmt v[] = {
		{97, "PCMU", 16000}, {96, "pcmu", 8000}, {8, "PCMA", 8000}};
	struct offer_codec c;

	cr_assert_eq(offer_codec_pick(&c, v, N(v)), 0);
	cr_assert_eq(c.pt, 96);
	cr_assert_eq(c.law, OFFER_ULAW);
}

/* The same through libre's SDP parser, as the worker uses it. */
static int choose_from(const char *sdp_text, struct offer_codec *c)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct mbuf *mb = mbuf_alloc(512);
	struct sa laddr;
	int err;

	cr_assert_not_null(mb);
	sa_set_str(&laddr, "127.0.0.1", 0);
	cr_assert_eq(sdp_session_alloc(&sess, &laddr), 0);
	cr_assert_eq(sdp_media_add(&m, sess, "audio", 20000, "RTP/AVP"), 0);
	mbuf_write_str(mb, sdp_text);
	mb->pos = 0;
	err = sdp_decode(sess, mb, true);
	if (!err)
		err = offer_codec_choose(c, m);
	else
		err = -EBADMSG;
	mem_deref(mb);
	mem_deref(sess);
	return err;
}

#define SDP_HEAD                                                              \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"                          \
	"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"

Test(offer_codec, sdp_offer_order_is_kept_by_the_parser)
{
	struct offer_codec c;

	cr_assert_eq(choose_from(SDP_HEAD
				 "m=audio 40000 RTP/AVP 101 8 0\r\n"
				 "a=rtpmap:101 telephone-event/8000\r\n"
				 "a=fmtp:101 0-15\r\n",
				 &c),
		     0);
	cr_assert_eq(c.pt, 8);
	cr_assert_eq(c.te_pt, 101);
}

Test(offer_codec, sdp_offer_without_g711_is_not_supported)
{
	struct offer_codec c;

	cr_assert_eq(
		choose_from(SDP_HEAD "m=audio 40000 RTP/AVP 9 18\r\n", &c),
		-ENOTSUP);
}

Test(offer_codec, sdp_offer_with_port_zero_is_not_supported)
{
	struct offer_codec c;

	cr_assert_eq(choose_from(SDP_HEAD "m=audio 0 RTP/AVP 0\r\n", &c),
		     -ENOTSUP);
}

Test(offer_codec, sdp_offer_over_srtp_is_not_supported)
{
	struct offer_codec c;

	cr_assert_eq(choose_from(SDP_HEAD "m=audio 40000 RTP/SAVP 0\r\n", &c),
		     -ENOTSUP);
}

/* offer_codec_trim() of text into a NUL-terminated buffer. */
static const char *trim(const char *in, bool audio, unsigned *trimmed)
{
	static char out[1024];
	int n = offer_codec_trim(out, sizeof(out) - 1, in, strlen(in), audio,
				 trimmed);

	cr_assert_geq(n, 0);
	out[n] = '\0';
	return out;
}

Test(offer_codec, trim_keeps_the_audio_line_and_cuts_others_to_their_m_line)
{
	unsigned n;

	cr_assert_str_eq(trim(SDP_HEAD "m=video 5000 RTP/AVP 96\r\n"
				       "c=IN IP4 10.0.0.1\r\n"
				       "a=rtpmap:96 H264\r\n" /* malformed */
				       "m=audio 4000 RTP/AVP 0\r\n"
				       "a=rtpmap:0 PCMU/8000\r\n"
				       "a=sendrecv\r\n"
				       "m=audio 4002 RTP/AVP 8\r\n"
				       "a=rtpmap:8 PCMA/8000\r\n",
			      true, &n),
			 SDP_HEAD "m=video 5000 RTP/AVP 96\r\n"
				  "m=audio 4000 RTP/AVP 0\r\n"
				  "a=rtpmap:0 PCMU/8000\r\n"
				  "a=sendrecv\r\n"
				  "m=audio 4002 RTP/AVP 8\r\n");
	cr_assert_eq(n, 2);
	/* Without audio: the session part and the m= lines only. */
	cr_assert_str_eq(trim(SDP_HEAD "m=audio 4000 RTP/AVP 0\r\n"
				       "a=rtpmap:0 PCMU\r\n",
			      false, &n),
			 SDP_HEAD "m=audio 4000 RTP/AVP 0\r\n");
	cr_assert_eq(n, 1);
	/* Bare LF line ends, no final line end, nothing to cut. */
	cr_assert_str_eq(trim("v=0\nm=audio 1 RTP/AVP 0\na=x", true, &n),
			 "v=0\nm=audio 1 RTP/AVP 0\na=x");
	cr_assert_eq(n, 0);
}

Test(offer_codec, trimmed_offer_with_a_malformed_video_rtpmap_decodes)
{
	const char *bad = SDP_HEAD "m=audio 4000 RTP/AVP 0\r\n"
				   "m=video 5000 RTP/AVP 96\r\n"
				   "a=rtpmap:96 H264\r\n";
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct mbuf *mb = mbuf_alloc(512);
	struct sa laddr;
	const char *t;

	cr_assert_not_null(mb);
	cr_assert_eq(sa_set_str(&laddr, "127.0.0.1", 0), 0);
	cr_assert_eq(sdp_session_alloc(&sess, &laddr), 0);
	cr_assert_eq(sdp_media_add(&m, sess, "audio", 20000, "RTP/AVP"), 0);
	/* libre refuses the whole body for the video line... */
	mbuf_write_str(mb, bad);
	mb->pos = 0;
	cr_assert_eq(sdp_decode(sess, mb, true), EBADMSG);
	/* ... and takes it without the video line's attributes. */
	t = trim(bad, true, NULL);
	mbuf_rewind(mb);
	mbuf_write_str(mb, t);
	mb->pos = 0;
	cr_assert_eq(sdp_decode(sess, mb, true), 0);
	cr_assert_eq(sdp_media_rport(m), 4000);
	mem_deref(mb);
	mem_deref(sess);
}

Test(offer_codec, trim_refuses_a_buffer_too_small)
{
	char out[8];

	cr_assert_eq(offer_codec_trim(out, sizeof(out), SDP_HEAD,
				      strlen(SDP_HEAD), true, NULL),
		     -ENOSPC);
}
