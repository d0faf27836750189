/* Prompts: recordings a tenant's scenarios play. An upload is converted
 * once (prompt_convert.c) and stored in one HSET, so a reader sees either
 * the old prompt or the whole new one, never a mix of laws or lengths.
 * A prompt that a scenario or an object (queue music, a voicemail
 * greeting) still plays cannot be deleted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"
#include "prompt_convert.h"
#include "prov.h"
#include "scenario.h"

int prov_prompt_upload(struct provision *pv,
		       const Pbx__V1__ProvRequest__PromptUpload *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	struct prompt_audio *pa = NULL;
	char key[PBX_KEY_MAX], ms[16], bytes[24], now[24];
	const char *argv[12];
	size_t lens[12];
	char why[256] = "";
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "prompt name", name);
	if (err)
		return err;
	if (q->wav.len > PROMPT_MAX_INPUT)
		return prov_fail(r, -EFBIG,
				 "upload is %zu bytes; the limit is 16 MiB",
				 q->wav.len);
	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;

	err = prompt_convert(&pa, q->wav.data, q->wav.len, why, sizeof(why));
	if (err == -EINVAL || err == -EFBIG)
		return prov_fail(r, err, "%s", why);
	if (err) {
		PLOG_ERR("prompt %s: conversion failed: %s", name,
			 why[0] ? why : strerror(-err));
		return err == -ENOMEM ? err : -EIO;
	}

	if (pbx_key(key, sizeof(key), tenant, "prompt:%s", name)) {
		prompt_audio_free(pa);
		return -EINVAL;
	}
	snprintf(ms, sizeof(ms), "%u", pa->ms);
	snprintf(bytes, sizeof(bytes), "%zu", pa->len);
	snprintf(now, sizeof(now), "%llu",
		 (unsigned long long)pbx_clock_now_ms());
	argv[0] = "HSET";
	argv[1] = key;
	argv[2] = "ulaw";
	argv[3] = (const char *)pa->ulaw;
	lens[3] = pa->len;
	argv[4] = "alaw";
	argv[5] = (const char *)pa->alaw;
	lens[5] = pa->len;
	argv[6] = "ms";
	argv[7] = ms;
	argv[8] = "bytes";
	argv[9] = bytes;
	argv[10] = "uploaded_ms";
	argv[11] = now;
	for (int i = 0; i < 12; i++) {
		if (i != 3 && i != 5)
			lens[i] = strlen(argv[i]);
	}
	err = prov_store_argv(pv, NULL, 12, argv, lens);
	prompt_audio_free(pa);
	/* Listed only once its audio is stored, so a scenario that passed
	 * the reference check always finds something to play. */
	if (!err && !pbx_key(key, sizeof(key), tenant, "prompts"))
		err = prov_store_do(pv, "SADD %s %s", key, name);
	if (!err)
		PLOG_INFO("prompt %s stored: %s ms", name, ms);
	return err;
}

int prov_prompt_list(struct provision *pv,
		     const Pbx__V1__ProvRequest__TenantRef *q,
		     struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	struct prov_strv names = {.v = NULL};
	char key[PBX_KEY_MAX];
	int err;

	err = prov_tenant_members(pv, r, tenant, "prompts", &names);
	for (size_t i = 0; !err && i < names.n; i++) {
		char *ms = NULL;

		if (pbx_key(key, sizeof(key), tenant, "prompt:%s", names.v[i]))
			continue;
		err = prov_store_str(pv, &ms, "HGET %s ms", key);
		if (!err)
			err = prov_strv_add(&r->items, "%s %sms", names.v[i],
					    ms ? ms : "?");
		free(ms);
	}
	prov_strv_reset(&names);
	return err;
}

int prov_prompt_delete(struct provision *pv,
		       const Pbx__V1__ProvRequest__PromptRef *q,
		       struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	const char *name = prov_str(q->name);
	char key[PBX_KEY_MAX], hkey[PBX_KEY_MAX];
	long long member = 0;
	int err;

	err = prov_check_tenant(r, tenant);
	if (!err)
		err = prov_check_id(r, "prompt name", name);
	if (!err)
		err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key(key, sizeof(key), tenant, "prompts"))
		return -EINVAL;
	err = prov_store_int(pv, &member, "SISMEMBER %s %s", key, name);
	if (err)
		return err;
	if (pbx_key(hkey, sizeof(hkey), tenant, "prompt:%s", name))
		return -EINVAL;
	/* The audio may outlive the listing after a delete cut short by a
	 * Redis failure: a retry must still finish the job. */
	if (!member)
		err = prov_store_int(pv, &member, "EXISTS %s", hkey);
	if (err)
		return err;
	if (!member)
		return prov_already_absent(r);
	/* A call that reaches a node playing a deleted prompt fails with
	 * "Media Failed": refuse while a scenario version that runs, will
	 * run or is the latest still plays it (as objects are kept). */
	err = prov_object_refuse_used(pv, r, tenant, SCENARIO_REF_PROMPT,
				      name);
	if (err)
		return err;
	/* Unlisted first, so no new scenario can pass lint against a prompt
	 * that is about to vanish. */
	err = prov_store_do(pv, "SREM %s %s", key, name);
	if (!err)
		err = prov_store_do(pv, "UNLINK %s", hkey);
	return err;
}
