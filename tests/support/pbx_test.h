/* Test support: leak check for Criterion suites. Criterion 2.4.1 reports a
 * test as passed even when LeakSanitizer finds a leak in it, so every suite
 * runs PBX_TEST_LEAK_CHECK() in its .fini and aborts on a leak. */
#ifndef PBX_TEST_H
#define PBX_TEST_H
#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PBX_HAVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PBX_HAVE_ASAN 1
#endif

#ifdef PBX_HAVE_ASAN
#include <sanitizer/lsan_interface.h>
#define PBX_TEST_LEAK_CHECK()                                                 \
	do {                                                                  \
		if (__lsan_do_recoverable_leak_check())                      \
			abort();                                              \
	} while (0)
#else
#define PBX_TEST_LEAK_CHECK() ((void)0)
#endif

static inline void pbx_test_fini(void)
{
	PBX_TEST_LEAK_CHECK();
}

#endif
