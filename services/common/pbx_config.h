/* Declarative configuration: each service has one table of items (name,
 * type, default, bounds, help). Values come from the defaults, then a
 * "key = value" file, then PBX_<KEY> environment variables. An unknown key or
 * a bad value fails start-up naming the key. */
#ifndef PBX_CONFIG_H
#define PBX_CONFIG_H
#include <stdbool.h>
#include <stdio.h>

/* PBX_CFG_SECRET is a string that --print-config never shows (it prints
 * "(set)" or nothing): passwords. */
enum pbx_config_type {
	PBX_CFG_STR,
	PBX_CFG_INT,
	PBX_CFG_BOOL,
	PBX_CFG_SECRET,
};

struct pbx_config_item {
	const char *name;          /* lower_snake; env var is PBX_<UPPER> */
	enum pbx_config_type type;
	void *ptr;                 /* char[PBX_CFG_STRLEN], long, bool */
	const char *def;           /* default, as text */
	long min, max;             /* bounds for INT */
	const char *help;
};

#define PBX_CFG_STRLEN 256

/* Applies defaults, file (may be NULL) and environment. Returns 0 or
 * -EINVAL after printing the offending key to stderr. */
int pbx_config_load(const struct pbx_config_item *items, size_t n,
		    const char *file);
int pbx_config_set(const struct pbx_config_item *items, size_t n,
		   const char *key, const char *value);
void pbx_config_print(const struct pbx_config_item *items, size_t n,
		      FILE *f);

/* Standard main() argument handling: --config FILE, --set key=value,
 * --print-config, --help. Returns 0 to run, 1 when the program should exit
 * successfully (printed config or help), -EINVAL on bad arguments. */
int pbx_config_main(const struct pbx_config_item *items, size_t n,
		    const char *service, int argc, char **argv);

#endif
