/* Queue-manager registry (qms.h): a small table, in memory, refreshed by
 * heartbeats. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qms.h"

void qms_init(struct qms *q, uint64_t ttl_ms)
{
	memset(q, 0, sizeof(*q));
	q->ttl_ms = ttl_ms;
}

int qms_heartbeat(struct qms *q, const char *id, uint64_t now_ms)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= sizeof(q->qm[0].id))
		return -EINVAL;
	for (size_t i = 0; i < q->n; i++) {
		if (!strcmp(q->qm[i].id, id)) {
			q->qm[i].seen_ms = now_ms;
			return 0;
		}
	}
	/* A slot of an instance long gone is reused. */
	for (size_t i = 0; i < q->n; i++) {
		if (now_ms - q->qm[i].seen_ms > 10 * q->ttl_ms) {
			snprintf(q->qm[i].id, sizeof(q->qm[i].id), "%s", id);
			q->qm[i].seen_ms = now_ms;
			return 0;
		}
	}
	if (q->n == QMS_MAX)
		return -ENOSPC;
	snprintf(q->qm[q->n].id, sizeof(q->qm[0].id), "%s", id);
	q->qm[q->n++].seen_ms = now_ms;
	return 0;
}

const char *qms_pick(struct qms *q, uint64_t now_ms)
{
	for (size_t i = 0; i < q->n; i++) {
		struct qm_info *m = &q->qm[(q->next + i) % q->n];

		if (now_ms - m->seen_ms <= q->ttl_ms) {
			q->next = (q->next + i + 1) % q->n;
			return m->id;
		}
	}
	return NULL;
}
