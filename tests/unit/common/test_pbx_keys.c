/* Tests for pbx_keys.c: every tenant key is hash-tagged by its tenant (so
 * a Redis Cluster keeps a tenant in one slot and no suffix can move a key
 * to another tenant's tag), identifiers are checked, lengths bounded. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx_keys.h"
#include "pbx_test.h"

TestSuite(pbx_keys, .fini = pbx_test_fini);

/* Redis Cluster's rule: the hash tag is what lies between the first '{'
 * and the first '}' after it, if that is not empty; else the whole key. */
static void hash_tag(const char *key, char *tag, size_t size)
{
	const char *o = strchr(key, '{'), *c = o ? strchr(o + 1, '}') : NULL;

	if (!o || !c || c == o + 1) {
		snprintf(tag, size, "%s", key);
		return;
	}
	snprintf(tag, size, "%.*s", (int)(c - o - 1), o + 1);
}

Test(pbx_keys, tenant_key_is_tagged_by_its_tenant)
{
	char key[PBX_KEY_MAX], tag[PBX_KEY_MAX];

	cr_assert_eq(pbx_key(key, sizeof(key), "acme", "prompt:%s", "welcome"),
		     0);
	cr_assert_str_eq(key, "pbx:{acme}:prompt:welcome");
	hash_tag(key, tag, sizeof(tag));
	cr_assert_str_eq(tag, "acme");
}

Test(pbx_keys, suffix_cannot_move_the_key_to_another_tag)
{
	static const char *const suffixes[] = {
		"call:{other}", "{sys}:workers", "}{other}", "x}:{y",
	};
	char key[PBX_KEY_MAX], tag[PBX_KEY_MAX];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		cr_assert_eq(pbx_key(key, sizeof(key), "acme", "%s",
				     suffixes[i]),
			     0);
		hash_tag(key, tag, sizeof(tag));
		cr_assert_str_eq(tag, "acme", "key %s", key);
	}
}

Test(pbx_keys, sys_keys_are_tagged_sys)
{
	char key[PBX_KEY_MAX], tag[PBX_KEY_MAX];

	cr_assert_eq(pbx_key_sys(key, sizeof(key), "workers"), 0);
	cr_assert_str_eq(key, "pbx:{sys}:workers");
	hash_tag(key, tag, sizeof(tag));
	cr_assert_str_eq(tag, "sys");
	cr_assert_eq(pbx_key_sys(key, sizeof(key), "number:%s", "+7495"), 0);
	cr_assert_str_eq(key, "pbx:{sys}:number:+7495");
}

Test(pbx_keys, tenant_ids_that_could_forge_a_tag_are_refused)
{
	static const char *const bad[] = {
		"",	   "sys",      "a}b",	  "{acme}", "acme:x", "a b",
		"a\r\nb", "a*",	       "../acme", "a{",	    "é",
	};
	char key[PBX_KEY_MAX] = "untouched";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(pbx_key(key, sizeof(key), bad[i], "x"), -EINVAL,
			     "tenant '%s'", bad[i]);
	cr_assert_eq(pbx_key(key, sizeof(key), NULL, "x"), -EINVAL);
	cr_assert_not(pbx_tenant_valid("sys"));
	cr_assert(pbx_id_valid("sys")); /* an id, just not a tenant */
	cr_assert(pbx_tenant_valid("acme-1.b_2"));
}

Test(pbx_keys, id_length_is_bounded)
{
	char id[PBX_ID_MAX + 2];

	memset(id, 'a', PBX_ID_MAX);
	id[PBX_ID_MAX] = '\0';
	cr_assert(pbx_id_valid(id));
	id[PBX_ID_MAX] = 'a';
	id[PBX_ID_MAX + 1] = '\0';
	cr_assert_not(pbx_id_valid(id));
	cr_assert_not(pbx_id_valid(NULL));
}

Test(pbx_keys, longest_tenant_and_suffix_fit_the_max)
{
	char tenant[PBX_ID_MAX + 1], key[PBX_KEY_MAX];

	memset(tenant, 't', PBX_ID_MAX);
	tenant[PBX_ID_MAX] = '\0';
	/* "pbx:{" + 64 + "}:" + suffix < 512 for any id-sized suffix. */
	cr_assert_eq(pbx_key(key, sizeof(key), tenant, "prompt:%s", tenant),
		     0);
	cr_assert_eq(strlen(key), 5 + PBX_ID_MAX + 2 + 7 + PBX_ID_MAX);
}

Test(pbx_keys, a_key_that_does_not_fit_is_an_error_not_a_cut)
{
	char key[16], big[PBX_KEY_MAX + 8];

	cr_assert_eq(pbx_key(key, sizeof(key), "acme", "call:12345"),
		     -ENAMETOOLONG);
	cr_assert_eq(pbx_key(key, sizeof(key), "acme", "c"), 0); /* 13 */
	cr_assert_eq(pbx_key(key, 5, "acme", "c"), -ENAMETOOLONG);
	cr_assert_eq(pbx_key_sys(key, sizeof(key), "workers:long"),
		     -ENAMETOOLONG);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(pbx_key(key, sizeof(key), "acme", "%s", big),
		     -ENAMETOOLONG);
	{
		char k[PBX_KEY_MAX];

		cr_assert_eq(pbx_key(k, sizeof(k), "acme", "%s", big),
			     -ENAMETOOLONG);
	}
}

Test(pbx_keys, numbers)
{
	char n[40];

	cr_assert(pbx_number_valid("74951234567"));
	cr_assert(pbx_number_valid("+74951234567"));
	cr_assert(pbx_number_valid("1"));
	cr_assert_not(pbx_number_valid(""));
	cr_assert_not(pbx_number_valid("+"));
	cr_assert_not(pbx_number_valid("+7(495)1234567"));
	cr_assert_not(pbx_number_valid("7495 123"));
	cr_assert_not(pbx_number_valid("++7"));
	cr_assert_not(pbx_number_valid(NULL));
	/* 32 characters at most, the '+' included. */
	memset(n, '1', 32);
	n[32] = '\0';
	cr_assert(pbx_number_valid(n));
	n[0] = '+';
	cr_assert(pbx_number_valid(n));
	memset(n, '1', 33);
	n[33] = '\0';
	cr_assert_not(pbx_number_valid(n));
	n[0] = '+';
	cr_assert_not(pbx_number_valid(n));
}

Test(pbx_keys, catalogue_names_every_key_once_under_its_tag)
{
	char key[PBX_KEY_MAX], tag[PBX_KEY_MAX];
	char seen[PBX_K_COUNT][PBX_KEY_MAX];

	for (int k = 0; k < PBX_K_COUNT; k++) {
		cr_assert_eq(pbx_key_of(key, sizeof(key), "acme", k), 0,
			     "key %d", k);
		hash_tag(key, tag, sizeof(tag));
		cr_assert_str_eq(tag, "acme", "key %s", key);
		for (int j = 0; j < k; j++)
			cr_assert_str_neq(seen[j], key, "key %s twice", key);
		snprintf(seen[k], sizeof(seen[k]), "%s", key);
	}
	cr_assert_eq(pbx_key_of(key, sizeof(key), "acme", PBX_K_QM_AGENTS), 0);
	cr_assert_str_eq(key, "pbx:{acme}:qm:agents");
	cr_assert_eq(pbx_key_of(key, sizeof(key), "sys", PBX_K_QM_AGENTS),
		     -EINVAL);
	cr_assert_eq(pbx_key_of(key, sizeof(key), "acme", PBX_K_COUNT),
		     -EINVAL);
	for (int k = 0; k < PBX_KS_COUNT; k++) {
		cr_assert_eq(pbx_key_sys_of(key, sizeof(key), k), 0);
		hash_tag(key, tag, sizeof(tag));
		cr_assert_str_eq(tag, "sys", "key %s", key);
	}
	cr_assert_eq(pbx_key_sys_of(key, sizeof(key), PBX_KS_COUNT), -EINVAL);
}

Test(pbx_keys, sub_keys_take_ids_only)
{
	char key[PBX_KEY_MAX];

	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), "acme", PBX_K_VM_BOX,
				    "general"),
		     0);
	cr_assert_str_eq(key, "pbx:{acme}:vm:box:general");
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), "acme", PBX_K_VM_MSG,
				    "1-ab"),
		     0);
	cr_assert_str_eq(key, "pbx:{acme}:vm:msg:1-ab");
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), "acme", PBX_K_FAX_MSG,
				    "1-ab"),
		     0);
	cr_assert_str_eq(key, "pbx:{acme}:fax:msg:1-ab");
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), "acme", PBX_K_FAX_BOX,
				    "office"),
		     0);
	cr_assert_str_eq(key, "pbx:{acme}:fax:box:office");
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), "acme", PBX_K_VM_BOX,
				    "a}:{b"),
		     -EINVAL);
	cr_assert_eq(pbx_key_sub_of(key, sizeof(key), "acme", PBX_K_VM_BOX,
				    ""),
		     -EINVAL);
}
