/* Argument vectors of queue script runs (qm_script.h): the keys of the
 * tenant in the script's KEYS order, the op, the time, the op's
 * arguments. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_keys.h"
#include "qm_script.h"

/* The script's keys, in its KEYS order (qm.lua's header). */
static const enum pbx_tkey script_keys[] = {
	PBX_K_QM_CALLS, PBX_K_QM_AGENTS, PBX_K_QM_WAIT,	 PBX_K_QM_OFFERED,
	PBX_K_QM_TIMERS, PBX_K_QM_STATE, PBX_K_QM_STATS,
};
#define NKEYS (sizeof(script_keys) / sizeof(script_keys[0]))

_Static_assert(QM_SCRIPT_OP == 3 + NKEYS, "the op follows the keys");

void qm_args_add(struct qm_args *a, const char *s)
{
	size_t n = strlen(s);
	char *copy;

	if (a->err)
		return;
	if (a->n == a->cap) {
		int cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, (size_t)cap * sizeof(*v));
		size_t *len;

		if (!v) {
			a->err = true;
			return;
		}
		a->v = v;
		len = realloc(a->len, (size_t)cap * sizeof(*len));
		if (!len) {
			a->err = true;
			return;
		}
		a->len = len;
		a->cap = cap;
	}
	copy = malloc(n + 1);
	if (!copy) {
		a->err = true;
		return;
	}
	memcpy(copy, s, n + 1);
	a->v[a->n] = copy;
	a->len[a->n++] = n;
}

void qm_args_addf(struct qm_args *a, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		a->err = true;
	else
		qm_args_add(a, buf);
}

void qm_args_reset(struct qm_args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a->len);
	memset(a, 0, sizeof(*a));
}

int qm_script_head(struct qm_args *a, const char *tenant, const char *op,
		   uint64_t now_ms)
{
	char key[PBX_KEY_MAX];

	if (!pbx_tenant_valid(tenant))
		return -EINVAL;
	qm_args_add(a, "EVAL"); /* placeholders: qm_script_argv */
	qm_args_add(a, "-");
	qm_args_addf(a, "%zu", NKEYS);
	for (size_t i = 0; i < NKEYS; i++) {
		pbx_key_of(key, sizeof(key), tenant, script_keys[i]);
		qm_args_add(a, key);
	}
	qm_args_add(a, op);
	qm_args_addf(a, "%llu", (unsigned long long)now_ms);
	return a->err ? -ENOMEM : 0;
}

void qm_script_argv(const struct qm_args *a, const char *sha,
		    const char **argv, size_t *argvlen)
{
	for (int i = 2; i < a->n; i++) {
		argv[i] = a->v[i];
		argvlen[i] = a->len[i];
	}
	argv[0] = sha ? "EVALSHA" : "EVAL";
	argv[1] = sha ? sha : qm_lua;
	argvlen[0] = strlen(argv[0]);
	argvlen[1] = strlen(argv[1]);
}

const char qm_due_lua[] =
	"local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1') "
	"if tonumber(ARGV[3]) < cur then return 0 end "
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) "
	"if ARGV[2] == '0' then redis.call('ZREM', KEYS[1], ARGV[1]) "
	"else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end "
	"return 1";

int qm_script_due_keys(char *kdue, char *kseq, size_t size)
{
	int err = pbx_key_sys_of(kdue, size, PBX_KS_QM_DUE);

	return err ? err : pbx_key_sys_of(kseq, size, PBX_KS_QM_DUESEQ);
}

bool qm_script_reason_valid(const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return false;
	}
	return true;
}
