/* Test support: the log level of in-process services under test. Errors
 * only (harness probes warn by design), unless PBX_TEST_LOG=warn|info|debug
 * asks for more. */
#ifndef TEST_LOG_H
#define TEST_LOG_H
#include <stdlib.h>

#include "pbx_log.h"

static inline void test_log_init(const char *service)
{
	enum pbx_log_level lvl;

	if (!getenv("PBX_TEST_LOG") ||
	    pbx_log_level_parse(getenv("PBX_TEST_LOG"), &lvl))
		lvl = PBX_LOG_ERROR;
	pbx_log_init(service, lvl);
}

#endif
