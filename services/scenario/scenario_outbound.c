/* Outbound calls of extensions: the class of a dialled number and the
 * tenant's outbound policy (fields, defaults, decision), shared by
 * provisioning and the router (scenario_outbound.h). Pure. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "scenario_outbound.h"

/* +7 numbers by the digit after the 7 (Russian plan; Kazakhstan shares
 * the country code with 6 and 7). A digit not listed is no one's. */
static const struct {
	char digit;
	enum scenario_dest d;
} plus7[] = {
	{'3', SCENARIO_DEST_NATIONAL},	    {'4', SCENARIO_DEST_NATIONAL},
	{'8', SCENARIO_DEST_NATIONAL},	    {'9', SCENARIO_DEST_MOBILE},
	{'6', SCENARIO_DEST_INTERNATIONAL}, {'7', SCENARIO_DEST_INTERNATIONAL},
};

/* Emergency numbers: 112, which reaches every service in Russia (and
 * Europe), and 911, which phones sold elsewhere dial. Not 101-104 or
 * 01-04 (Russia's fire, police, ambulance, gas): offices number their
 * extensions like that, and a missing extension 103 must never call an
 * ambulance. */
static const char *const emergency[] = {"112", "911"};

static const char *const dest_names[SCENARIO_DEST_COUNT] = {
	[SCENARIO_DEST_NATIONAL] = "national",
	[SCENARIO_DEST_MOBILE] = "mobile",
	[SCENARIO_DEST_INTERNATIONAL] = "international",
	[SCENARIO_DEST_EMERGENCY] = "emergency",
	[SCENARIO_DEST_SHORT] = "short",
	[SCENARIO_DEST_INVALID] = "invalid",
};

/* E.164: at most 15 digits with the country code. */
#define E164_MAX 15

enum scenario_dest scenario_dest_class(const char *canon)
{
	size_t n;

	if (!canon || !canon[0])
		return SCENARIO_DEST_INVALID;
	/* The canonical form keeps '+' only on international numbers that
	 * would read as national without it. */
	if (canon[0] == '+')
		return SCENARIO_DEST_INTERNATIONAL;
	n = strlen(canon);
	if (strspn(canon, "0123456789") != n)
		return SCENARIO_DEST_INVALID;
	if (n < 10) {
		for (size_t i = 0; i < sizeof(emergency) / sizeof(*emergency);
		     i++)
			if (!strcmp(canon, emergency[i]))
				return SCENARIO_DEST_EMERGENCY;
		return SCENARIO_DEST_SHORT;
	}
	if (n > E164_MAX)
		return SCENARIO_DEST_INVALID;
	if (canon[0] != '7')
		return SCENARIO_DEST_INTERNATIONAL;
	if (n != 11)
		return SCENARIO_DEST_INVALID;
	for (size_t i = 0; i < sizeof(plus7) / sizeof(*plus7); i++)
		if (plus7[i].digit == canon[1])
			return plus7[i].d;
	return SCENARIO_DEST_INVALID;
}

const char *scenario_dest_name(enum scenario_dest d)
{
	return (unsigned)d < SCENARIO_DEST_COUNT ? dest_names[d] : "invalid";
}

/* The classes a tenant may open come first, in enum order. */
const struct scenario_out_field scenario_out_fields[] = {
	{"national", SCENARIO_OUT_BOOL, "on"},
	{"mobile", SCENARIO_OUT_BOOL, "on"},
	{"international", SCENARIO_OUT_BOOL, "off"},
	{"emergency", SCENARIO_OUT_BOOL, "off"},
	{"max_legs", SCENARIO_OUT_COUNT, "10"},
	{"cpm", SCENARIO_OUT_COUNT, "30"},
	{"caller_id", SCENARIO_OUT_NUMBER, ""},
};
const size_t scenario_out_nfields =
	sizeof(scenario_out_fields) / sizeof(*scenario_out_fields);

#define F_MAX_LEGS 4
#define F_CPM 5
#define F_CALLER_ID 6
#define COUNT_MAX 100000

void scenario_outbound_init(struct scenario_outbound *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < scenario_out_nfields; i++)
		scenario_outbound_apply(p, i, scenario_out_fields[i].def);
	p->ext_allowed = true;
}

static void copy_num(char *dst, const char *v)
{
	/* Stored by provisioning in canonical form; anything else (longer
	 * than a number can be) counts as none. */
	if (strlen(v) < SCENARIO_OUT_NUM_MAX &&
	    strspn(v, "+0123456789") == strlen(v))
		strcpy(dst, v);
	else
		dst[0] = '\0';
}

void scenario_outbound_apply(struct scenario_outbound *p, size_t i,
			     const char *value)
{
	bool on;

	if (!value)
		return;
	on = !strcmp(value, "1") || !strcmp(value, "on");
	if (i == scenario_out_nfields) {
		p->ext_allowed = on;
	} else if (i == scenario_out_nfields + 1) {
		copy_num(p->ext_caller_id, value);
	} else if (i == F_MAX_LEGS) {
		p->max_legs = strtol(value, NULL, 10);
	} else if (i == F_CPM) {
		p->cpm = strtol(value, NULL, 10);
	} else if (i == F_CALLER_ID) {
		copy_num(p->caller_id, value);
	} else if (i < SCENARIO_DEST_COUNT) {
		p->allow[i] = on;
	}
}

int scenario_outbound_ext_field(char *buf, size_t size, const char *ext,
				const char *what)
{
	int n = snprintf(buf, size, "ext:%s:%s", ext, what);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int scenario_outbound_parse(const struct scenario_out_field *f,
			    const char *in, char *out, size_t size)
{
	char *end;
	long v;

	if (!f || !in || size < 8)
		return -EINVAL;
	switch (f->kind) {
	case SCENARIO_OUT_BOOL:
		if (!strcmp(in, "on") || !strcmp(in, "off")) {
			snprintf(out, size, "%s", in[1] == 'n' ? "1" : "0");
			return 0;
		}
		return -EINVAL;
	case SCENARIO_OUT_COUNT:
		v = strtol(in, &end, 10);
		if (!in[0] || *end || v < 0 || v > COUNT_MAX)
			return -EINVAL;
		snprintf(out, size, "%ld", v);
		return 0;
	case SCENARIO_OUT_SECONDS:
		v = strtol(in, &end, 10);
		if (!in[0] || *end || v < SCENARIO_FWD_TIMEOUT_MIN ||
		    v > SCENARIO_FWD_TIMEOUT_MAX)
			return -EINVAL;
		snprintf(out, size, "%ld", v);
		return 0;
	case SCENARIO_OUT_TARGET:
		/* One number form for every number (the normaliser); the
		 * router decides at call time whether it is an extension. */
		return scenario_number_canon(in, out, size) > 0 ? 0 : -EINVAL;
	case SCENARIO_OUT_NAME:
		if (!in[0] || strlen(in) > SCENARIO_OUT_NAME_MAX ||
		    strlen(in) >= size)
			return -EINVAL;
		for (const char *c = in; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("_-.", *c))
				return -EINVAL;
		snprintf(out, size, "%s", in);
		return 0;
	default:
		return -EINVAL;
	}
}

void scenario_outbound_decide(const struct scenario_outbound *p,
			      enum scenario_dest d,
			      struct scenario_out_verdict *v)
{
	memset(v, 0, sizeof(*v));
	switch (d) {
	case SCENARIO_DEST_SHORT:
		/* Neither an extension nor a number we route: as before. */
		v->code = 404;
		v->reason = "Not Found";
		return;
	case SCENARIO_DEST_INVALID:
		v->code = 484;
		v->reason = "Address Incomplete (not a valid number)";
		return;
	case SCENARIO_DEST_NATIONAL:
	case SCENARIO_DEST_MOBILE:
	case SCENARIO_DEST_INTERNATIONAL:
	case SCENARIO_DEST_EMERGENCY:
		break;
	default:
		v->code = 484;
		v->reason = "Address Incomplete (not a valid number)";
		return;
	}
	if (!p->allow[d]) {
		static const char *const why[] = {
			[SCENARIO_DEST_NATIONAL] =
				"Forbidden (national calls not allowed)",
			[SCENARIO_DEST_MOBILE] =
				"Forbidden (mobile calls not allowed)",
			[SCENARIO_DEST_INTERNATIONAL] =
				"Forbidden (international calls not allowed)",
			[SCENARIO_DEST_EMERGENCY] =
				"Forbidden (emergency calls not routed)",
		};

		v->code = 403;
		v->reason = why[d];
		return;
	}
	/* An emergency call the tenant routes is every extension's, and no
	 * count may refuse it. */
	v->exempt = d == SCENARIO_DEST_EMERGENCY;
	if (!p->ext_allowed && !v->exempt) {
		v->code = 403;
		v->reason = "Forbidden (outbound calls not allowed for this "
			    "extension)";
		return;
	}
	v->caller_id = p->ext_caller_id[0] ? p->ext_caller_id : p->caller_id;
	if (!v->caller_id[0]) {
		v->code = 403;
		v->reason = "Forbidden (no outbound caller ID set)";
		v->caller_id = NULL;
		return;
	}
	v->kind = d == SCENARIO_DEST_MOBILE ? "mobile" : "external";
}
