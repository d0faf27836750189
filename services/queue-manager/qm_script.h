/* The queue script (qm.lua) for whoever runs it: the queue-manager, by
 * SHA on its asynchronous connection, and provisioning (agent state from
 * pbxctl, statistics), by text on its blocking one. One place builds the
 * arguments of a run, so both name the same keys in the same order. */
#ifndef QM_SCRIPT_H
#define QM_SCRIPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The script's text (qm_lua.c, generated from qm.lua at build time). */
extern const char qm_lua[];

/* An argument vector for one script run, built up then sent. Owned by
 * its builder; strings are copies. */
struct qm_args {
	char **v;
	size_t *len;
	int n, cap;
	bool err; /* out of memory while building: the run fails */
};
void qm_args_add(struct qm_args *a, const char *s);
void qm_args_addf(struct qm_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void qm_args_reset(struct qm_args *a);

/* Index of the op name in a run's vector (its arguments follow "now"). */
#define QM_SCRIPT_OP 10

/* Starts a's vector for one run of op on tenant's keys at now_ms: two
 * slots for the command and the script (see qm_script_argv), "7", the
 * tenant's keys, op, now. 0, -EINVAL (not a tenant id), -ENOMEM. */
int qm_script_head(struct qm_args *a, const char *tenant, const char *op,
		   uint64_t now_ms);

/* Fills argv / argvlen (a->n entries each) for hiredis: EVALSHA sha when
 * sha is given, else EVAL with the text, then the rest of a. The pointers
 * are a's and the script's: valid while a lives. */
void qm_script_argv(const struct qm_args *a, const char *sha,
		    const char **argv, size_t *argvlen);

/* A pause reason (shown to people, stored in the agent's record): at
 * most 64 printable characters. The one rule, for every way in. */
bool qm_script_reason_valid(const char *reason);

/* The cluster-wide timer index (pbx:{sys}:qm:due, :dueseq): every run
 * ends with the event {"due", earliest timer ms or "", tseq}; whoever ran
 * it records that with this script, "EVAL qm_due_lua 2 <due key> <seq
 * key> <tenant> <due ms, 0: none> <tseq>", which ignores a report older
 * (by tseq) than the stored one. qm_script_due_keys writes the two keys
 * (buffers of size bytes each): 0 or -ENAMETOOLONG. */
extern const char qm_due_lua[];
int qm_script_due_keys(char *kdue, char *kseq, size_t size);

#endif
