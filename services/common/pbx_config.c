/* Declarative configuration: defaults, then file, then environment; every
 * value checked against its item's type and bounds. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_config.h"
#include "pbx_log.h"

static const struct pbx_config_item *
find_item(const struct pbx_config_item *items, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(items[i].name, key))
			return &items[i];
	}
	return NULL;
}

static int set_item(const struct pbx_config_item *it, const char *value)
{
	char *end;
	long v;

	switch (it->type) {
	case PBX_CFG_STR:
	case PBX_CFG_SECRET:
		if (strlen(value) >= PBX_CFG_STRLEN) {
			fprintf(stderr, "config: %s: value too long\n",
				it->name);
			return -EINVAL;
		}
		/* The one choice item every service shares (pbx_log.h). */
		if (it->ptr == pbx_log_format_value &&
		    pbx_log_format_parse(value) < 0) {
			fprintf(stderr, "config: %s: '%s' is not text or "
					"json\n",
				it->name, value);
			return -EINVAL;
		}
		snprintf((char *)it->ptr, PBX_CFG_STRLEN, "%s", value);
		return 0;
	case PBX_CFG_INT:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end) {
			fprintf(stderr, "config: %s: '%s' is not an integer\n",
				it->name, value);
			return -EINVAL;
		}
		if (v < it->min || v > it->max) {
			fprintf(stderr,
				"config: %s: %ld is outside %ld..%ld\n",
				it->name, v, it->min, it->max);
			return -EINVAL;
		}
		*(long *)it->ptr = v;
		return 0;
	case PBX_CFG_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "1") ||
		    !strcmp(value, "yes"))
			*(bool *)it->ptr = true;
		else if (!strcmp(value, "false") || !strcmp(value, "0") ||
			 !strcmp(value, "no"))
			*(bool *)it->ptr = false;
		else {
			fprintf(stderr, "config: %s: '%s' is not a boolean\n",
				it->name, value);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

int pbx_config_set(const struct pbx_config_item *items, size_t n,
		   const char *key, const char *value)
{
	const struct pbx_config_item *it = find_item(items, n, key);

	if (!it) {
		fprintf(stderr, "config: unknown key '%s'\n", key);
		return -EINVAL;
	}
	return set_item(it, value);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(const struct pbx_config_item *items, size_t n,
		     const char *file)
{
	char line[1024];
	int lineno = 0, err = 0;
	FILE *f = fopen(file, "r");

	if (!f) {
		fprintf(stderr, "config: cannot open %s: %s\n", file,
			strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq;

		lineno++;
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			fprintf(stderr, "config: %s:%d: expected key = value\n",
				file, lineno);
			err = -EINVAL;
			break;
		}
		*eq = '\0';
		err = pbx_config_set(items, n, trim(s), trim(eq + 1));
		if (err)
			break;
	}
	fclose(f);
	return err;
}

int pbx_config_load(const struct pbx_config_item *items, size_t n,
		    const char *file)
{
	int err;

	for (size_t i = 0; i < n; i++) {
		err = set_item(&items[i], items[i].def);
		if (err)
			return err;
	}
	if (file) {
		err = load_file(items, n, file);
		if (err)
			return err;
	}
	for (size_t i = 0; i < n; i++) {
		char env[128] = "PBX_";
		size_t k = 4;
		const char *v;

		for (const char *p = items[i].name; *p && k < sizeof(env) - 1;
		     p++)
			env[k++] = (char)toupper((unsigned char)*p);
		env[k] = '\0';
		v = getenv(env);
		if (v) {
			err = set_item(&items[i], v);
			if (err)
				return err;
		}
	}
	return 0;
}

void pbx_config_print(const struct pbx_config_item *items, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		const struct pbx_config_item *it = &items[i];

		switch (it->type) {
		case PBX_CFG_STR:
			fprintf(f, "%s = %s\n", it->name, (char *)it->ptr);
			break;
		case PBX_CFG_SECRET:
			/* Never the value: the output goes to logs and
			 * tickets. */
			fprintf(f, "%s = %s\n", it->name,
				*(char *)it->ptr ? "(set)" : "");
			break;
		case PBX_CFG_INT:
			fprintf(f, "%s = %ld\n", it->name, *(long *)it->ptr);
			break;
		case PBX_CFG_BOOL:
			fprintf(f, "%s = %s\n", it->name,
				*(bool *)it->ptr ? "true" : "false");
			break;
		}
	}
}

static void usage(const struct pbx_config_item *items, size_t n,
		  const char *service)
{
	printf("usage: %s [--config FILE] [--set key=value]... "
	       "[--print-config]\n\nsettings (env PBX_<KEY> overrides the "
	       "file, --set overrides both):\n",
	       service);
	for (size_t i = 0; i < n; i++)
		printf("  %-22s %s (default: %s)\n", items[i].name,
		       items[i].help, items[i].def);
}

int pbx_config_main(const struct pbx_config_item *items, size_t n,
		    const char *service, int argc, char **argv)
{
	const char *file = NULL;
	bool print = false;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "--print-config")) {
			print = true;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			usage(items, n, service);
			return 1;
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n", service,
				argv[i]);
			return -EINVAL;
		}
	}
	err = pbx_config_load(items, n, file);
	if (err)
		return err;
	for (int i = 1; i < argc; i++) {
		char kv[512], *eq;

		if (strcmp(argv[i], "--set") || i + 1 >= argc)
			continue;
		snprintf(kv, sizeof(kv), "%s", argv[++i]);
		eq = strchr(kv, '=');
		if (!eq) {
			fprintf(stderr, "%s: --set takes key=value\n", service);
			return -EINVAL;
		}
		*eq = '\0';
		err = pbx_config_set(items, n, kv, eq + 1);
		if (err)
			return err;
	}
	if (print) {
		pbx_config_print(items, n, stdout);
		return 1;
	}
	return 0;
}
