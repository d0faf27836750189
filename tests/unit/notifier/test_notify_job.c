/* Tests for services/notifier/notify_job.c: a job from Redis is checked
 * field by field before the notifier acts on it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "notify_job.h"
#include "pbx_test.h"

TestSuite(notify_job, .fini = pbx_test_fini);

/* A fake reply array of field/value strings (hiredis's own types). */
struct fields {
	redisReply top;
	redisReply *ptrs[16];
	redisReply items[16];
};

static void fill(struct fields *f, const char *const *kv, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->top.type = REDIS_REPLY_ARRAY;
	f->top.elements = n;
	f->top.element = f->ptrs;
	for (size_t i = 0; i < n; i++) {
		f->items[i].type = REDIS_REPLY_STRING;
		f->items[i].str = (char *)kv[i];
		f->items[i].len = strlen(kv[i]);
		f->ptrs[i] = &f->items[i];
	}
}

static const char *const producer[] = {
	"kind", "voicemail", "tenant", "acme", "box", "general",
	"ref",	"1796641840537-c1ef5382c3290790"};

Test(notify_job, a_producers_job_parses)
{
	struct notify_job j;
	struct fields f;

	fill(&f, producer, 8);
	cr_assert_eq(notify_job_parse(&j, "1-0", &f.top), 0);
	cr_expect_str_eq(j.id, "1-0");
	cr_expect_str_eq(j.kind, "voicemail");
	cr_expect_str_eq(j.tenant, "acme");
	cr_expect_str_eq(j.box, "general");
	cr_expect_str_eq(j.ref, "1796641840537-c1ef5382c3290790");
	cr_expect_str_empty(j.channel);
	cr_expect_eq(notify_job_media(&j), PBX_MEDIA_VOICEMAIL);
	cr_expect_eq(notify_job_channels(&j), 1u << NOTIFY_CH_EMAIL |
						      1u << NOTIFY_CH_WEBHOOK |
						      1u << NOTIFY_CH_MWI);
}

Test(notify_job, a_box_change_fans_out_to_mwi_only)
{
	const char *kv[8];
	struct notify_job j;
	struct fields f;

	memcpy(kv, producer, sizeof(producer));
	kv[1] = "mwi";
	fill(&f, kv, 8);
	cr_assert_eq(notify_job_parse(&j, "1-0", &f.top), 0);
	cr_expect_eq(notify_job_channels(&j), 1u << NOTIFY_CH_MWI);
}

Test(notify_job, a_fax_fans_out_to_email_and_webhook_with_its_own_row)
{
	const char *kv[8];
	const struct notify_kind *k;
	struct notify_job j;
	struct fields f;

	memcpy(kv, producer, sizeof(producer));
	kv[1] = "fax";
	kv[5] = "office";
	fill(&f, kv, 8);
	cr_assert_eq(notify_job_parse(&j, "1-0", &f.top), 0);
	cr_expect_eq(notify_job_channels(&j),
		     1u << NOTIFY_CH_EMAIL | 1u << NOTIFY_CH_WEBHOOK);
	k = notify_job_kind_of(&j);
	cr_assert_not_null(k);
	cr_expect_eq(k->item, NOTIFY_ITEM_FAX);
	cr_expect_str_eq(k->event, "fax.received");
	cr_expect_str_eq(k->object, "fax_box");
	cr_expect_eq(k->msg_key, PBX_K_FAX_MSG);
	cr_expect_eq(notify_job_media(&j), PBX_MEDIA_FAX_PDF);
	/* voicemail keeps its event name and its own hash */
	kv[1] = "voicemail";
	fill(&f, kv, 8);
	cr_assert_eq(notify_job_parse(&j, "1-0", &f.top), 0);
	cr_expect_str_eq(notify_job_kind_of(&j)->event, "voicemail");
	cr_expect_eq(notify_job_kind_of(&j)->msg_key, PBX_K_VM_MSG);
}

Test(notify_job, a_channel_job_needs_a_known_channel_and_its_source)
{
	const char *kv[12];
	struct notify_job j;
	struct fields f;

	memcpy(kv, producer, sizeof(producer));
	kv[8] = "channel";
	kv[9] = "webhook";
	kv[10] = "src";
	kv[11] = "1796641840537-0";
	fill(&f, kv, 12);
	cr_assert_eq(notify_job_parse(&j, "1796641840538-3", &f.top), 0);
	cr_expect_str_eq(j.channel, "webhook");
	cr_expect_str_eq(j.src, "1796641840537-0");
	kv[9] = "sms";
	fill(&f, kv, 12);
	cr_expect_eq(notify_job_parse(&j, "2-0", &f.top), -EINVAL);
	kv[9] = "email";
	kv[11] = "not-an-id";
	fill(&f, kv, 12);
	cr_expect_eq(notify_job_parse(&j, "2-0", &f.top), -EINVAL);
}

Test(notify_job, bad_fields_are_refused)
{
	static const struct {
		int at;
		const char *value;
	} bad[] = {
		{1, "fax-unknown"}, {3, "sys"},	 {3, "../etc"},
		{5, "a b"},	    {7, "../../x"}, {7, "UPPER"},
	};
	const char *kv[8];
	struct notify_job j;
	struct fields f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(kv, producer, sizeof(producer));
		kv[bad[i].at] = bad[i].value;
		fill(&f, kv, 8);
		cr_expect_eq(notify_job_parse(&j, "1-0", &f.top), -EINVAL,
			     "field %d = %s", bad[i].at, bad[i].value);
	}
	fill(&f, producer, 6); /* no ref */
	cr_expect_eq(notify_job_parse(&j, "1-0", &f.top), -EINVAL);
	fill(&f, producer, 8);
	cr_expect_eq(notify_job_parse(&j, "nope", &f.top), -EINVAL);
	cr_expect_eq(notify_job_parse(&j, "1-0", NULL), -EINVAL);
}

Test(notify_job, an_overlong_value_is_refused_not_cut)
{
	char longv[200];
	const char *kv[8];
	struct notify_job j;
	struct fields f;

	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	memcpy(kv, producer, sizeof(producer));
	kv[3] = longv;
	fill(&f, kv, 8);
	cr_expect_eq(notify_job_parse(&j, "1-0", &f.top), -EINVAL);
}

Test(notify_job, a_call_record_goes_to_the_webhook_only)
{
	static const char *const kv[] = {"kind", "cdr", "tenant", "acme",
					 "box", "cdr", "ref",
					 "1796641840537-0"};
	struct notify_job j;
	struct fields f;

	fill(&f, kv, 8);
	cr_assert_eq(notify_job_parse(&j, "1-0", &f.top), 0);
	cr_expect_eq(notify_job_kind_of(&j)->item, NOTIFY_ITEM_CDR);
	cr_expect_str_eq(notify_job_kind_of(&j)->event, "call.ended");
	cr_expect_eq(notify_job_channels(&j), 1u << NOTIFY_CH_WEBHOOK);
}
