/* Redis key scheme: builds tenant-tagged and cluster-wide keys and checks the
 * identifiers that go into them, so no key can be forged across tenants. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pbx_keys.h"

bool pbx_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (n == 0 || n > PBX_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

bool pbx_number_valid(const char *num)
{
	size_t n, i = 0;

	if (!num)
		return false;
	n = strlen(num);
	if (n > 0 && num[0] == '+')
		i = 1;
	if (n - i == 0 || n > 32)
		return false;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)num[i]))
			return false;
	}
	return true;
}

bool pbx_tenant_valid(const char *tenant)
{
	return pbx_id_valid(tenant) && strcmp(tenant, "sys") != 0;
}

static int key_vformat(char *buf, size_t size, const char *tag,
		       const char *fmt, va_list ap)
{
	int n = snprintf(buf, size, "pbx:{%s}:", tag);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	int m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	if (m < 0 || (size_t)m >= size - (size_t)n)
		return -ENAMETOOLONG;
	return 0;
}

int pbx_key(char *buf, size_t size, const char *tenant, const char *fmt, ...)
{
	va_list ap;
	int err;

	if (!pbx_tenant_valid(tenant))
		return -EINVAL;
	va_start(ap, fmt);
	err = key_vformat(buf, size, tenant, fmt, ap);
	va_end(ap);
	return err;
}

int pbx_key_sys(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = key_vformat(buf, size, "sys", fmt, ap);
	va_end(ap);
	return err;
}

static const char *const tenant_keys[PBX_K_COUNT] = {
	[PBX_K_OBJECTS] = "objects",
	[PBX_K_OBJECTS_REV] = "objects_rev",
	[PBX_K_TENANT] = "tenant",
	[PBX_K_PROMPT] = "prompt",
	[PBX_K_PROMPTS] = "prompts",
	[PBX_K_QM_CALLS] = "qm:calls",
	[PBX_K_QM_AGENTS] = "qm:agents",
	[PBX_K_QM_WAIT] = "qm:wait",
	[PBX_K_QM_OFFERED] = "qm:offered",
	[PBX_K_QM_TIMERS] = "qm:timers",
	[PBX_K_QM_STATE] = "qm:state",
	[PBX_K_QM_STATS] = "qm:stats",
	[PBX_K_VM_MSG] = "vm:msg",
	[PBX_K_VM_BOX] = "vm:box",
	[PBX_K_VM_QUOTA] = "vm:quota",
	[PBX_K_VM_BYTES] = "vm:bytes",
	[PBX_K_VM_PINFAIL] = "vm:pinfail",
	[PBX_K_NOTIFY] = "notify",
	[PBX_K_CONF_ROOM] = "conf:room",
	[PBX_K_CONF_MEMBERS] = "conf:members",
	[PBX_K_FAX_MSG] = "fax:msg",
	[PBX_K_FAX_BOX] = "fax:box",
	[PBX_K_FAX_BYTES] = "fax:bytes",
	[PBX_K_CRM] = "crm",
	[PBX_K_CRM_MAP] = "crm:map",
	[PBX_K_REC_MSG] = "rec:msg",
	[PBX_K_REC_LIST] = "rec:list",
	[PBX_K_REC_BYTES] = "rec:bytes",
	[PBX_K_CDR] = "cdr",
	[PBX_K_OUTBOUND] = "outbound",
	[PBX_K_OUT_LEGS] = "out:legs",
	[PBX_K_OUT_CPM] = "out:cpm",
	[PBX_K_ASR] = "asr",
	[PBX_K_PICKUP_RING] = "pickup:ring",
	[PBX_K_PICKUP_INFO] = "pickup:info",
	[PBX_K_EXT_WORKER] = "extw",
};

static const char *const sys_keys[PBX_KS_COUNT] = {
	[PBX_KS_QM_DUE] = "qm:due",
	[PBX_KS_QM_DUESEQ] = "qm:dueseq",
	[PBX_KS_QM_TENANTS] = "qm:tenants",
	[PBX_KS_NOTIFY_JOBS] = "notify:jobs",
	[PBX_KS_NOTIFY_DEAD] = "notify:dead",
	[PBX_KS_NOTIFY_ERRORS] = "notify:errors",
	[PBX_KS_CONF_CTL] = "conf:ctl",
	[PBX_KS_CONF_CASCADE] = "conf:cascade",
	[PBX_KS_WORKERS] = "workers",
	[PBX_KS_WORKER_DRAIN] = "worker:drain",
	[PBX_KS_RTP_LEASES] = "rtp:leases",
	[PBX_KS_TENANT_TRUNKS] = "tenant_trunks",
};

int pbx_key_of(char *buf, size_t size, const char *tenant, enum pbx_tkey k)
{
	if ((unsigned)k >= PBX_K_COUNT)
		return -EINVAL;
	return pbx_key(buf, size, tenant, "%s", tenant_keys[k]);
}

int pbx_key_sub_of(char *buf, size_t size, const char *tenant,
		   enum pbx_tkey k, const char *sub)
{
	if ((unsigned)k >= PBX_K_COUNT || !pbx_id_valid(sub))
		return -EINVAL;
	return pbx_key(buf, size, tenant, "%s:%s", tenant_keys[k], sub);
}

int pbx_key_sys_of(char *buf, size_t size, enum pbx_skey k)
{
	if ((unsigned)k >= PBX_KS_COUNT)
		return -EINVAL;
	return pbx_key_sys(buf, size, "%s", sys_keys[k]);
}

int pbx_key_sys_sub_of(char *buf, size_t size, enum pbx_skey k,
		       const char *sub)
{
	if ((unsigned)k >= PBX_KS_COUNT || !pbx_id_valid(sub))
		return -EINVAL;
	return pbx_key_sys(buf, size, "%s:%s", sys_keys[k], sub);
}
