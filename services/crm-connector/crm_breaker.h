/* Circuit breaker per (tenant, CRM): after `failures` failed requests in
 * a row the CRM is not asked for `open_ms` (lookups answer crm_error at
 * once, so a dead CRM does not hold every call for its lookup timeout);
 * then one trial request is let through (half-open): its success closes
 * the breaker, its failure opens it again. Bounded table; a tenant that
 * finds no slot is never broken (it is asked as if closed). Times are
 * monotonic ms passed in. */
#ifndef CRM_BREAKER_H
#define CRM_BREAKER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crm_breaker;

int crm_breaker_alloc(struct crm_breaker **bp, size_t slots,
		      unsigned failures, uint64_t open_ms);
void crm_breaker_free(struct crm_breaker *b);
/* May this tenant's CRM be asked now? In the half-open state only the
 * first caller is allowed until its result is reported. */
bool crm_breaker_allow(struct crm_breaker *b, const char *tenant,
		       const char *crm, uint64_t now_ms);
/* The result of an allowed request. */
void crm_breaker_report(struct crm_breaker *b, const char *tenant,
			const char *crm, bool ok, uint64_t now_ms);
/* True while open (for logs and tests). */
bool crm_breaker_open(struct crm_breaker *b, const char *tenant,
		      const char *crm, uint64_t now_ms);

#endif
