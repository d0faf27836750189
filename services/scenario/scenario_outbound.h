/* Outbound calls of a tenant's extensions: the class of a dialled
 * number (national, mobile, international, emergency, short) and the
 * tenant's outbound policy (which classes may go out, the limits, the
 * caller ID, the per-extension permission) as one table of fields, which
 * provisioning writes and shows and the router reads and applies. Pure:
 * no I/O (docs/employees.md "Outbound calls"). */
#ifndef SCENARIO_OUTBOUND_H
#define SCENARIO_OUTBOUND_H
#include <stdbool.h>
#include <stddef.h>

/* What a dialled number is, from its canonical form
 * (scenario_number_canon). The home numbering plan is Russia's (+7). */
enum scenario_dest {
	SCENARIO_DEST_NATIONAL,	     /* +7 3xx/4xx/8xx (fixed, 8-800) */
	SCENARIO_DEST_MOBILE,	     /* +7 9xx */
	SCENARIO_DEST_INTERNATIONAL, /* another country (+7 6xx/7xx are
				      * Kazakhstan's) */
	SCENARIO_DEST_EMERGENCY,     /* 112, 911 */
	SCENARIO_DEST_SHORT,	     /* any other number under 10 digits */
	SCENARIO_DEST_INVALID,	     /* +7 with a wrong length or a
				      * prefix no one has, over 15 digits */
	SCENARIO_DEST_COUNT
};

enum scenario_dest scenario_dest_class(const char *canon);
/* "national", "mobile", ... (logs, docs). */
const char *scenario_dest_name(enum scenario_dest d);

#define SCENARIO_OUT_NUM_MAX 33

/* A tenant's outbound policy with one extension's settings, as read. */
struct scenario_outbound {
	bool allow[SCENARIO_DEST_COUNT]; /* national, mobile, international,
					  * emergency (short/invalid never) */
	long max_legs;			 /* concurrent outbound calls */
	long cpm;			 /* new outbound calls per minute */
	char caller_id[SCENARIO_OUT_NUM_MAX]; /* the tenant's default */
	bool ext_allowed;		      /* the extension's permission */
	char ext_caller_id[SCENARIO_OUT_NUM_MAX];
};

/* The defaults: national and mobile allowed, international and
 * emergency not, 10 legs, 30 calls a minute, no caller ID, every
 * extension allowed. */
void scenario_outbound_init(struct scenario_outbound *p);

/* The policy's fields in the tenant's outbound hash, one table:
 * provisioning validates and shows them, the router reads them (in this
 * order) with HMGET. Per extension <e>: "ext:<e>:outbound" (on|off) and
 * "ext:<e>:caller_id". */
enum scenario_out_field_kind {
	SCENARIO_OUT_BOOL,   /* "on" | "off" (stored "1" / "0") */
	SCENARIO_OUT_COUNT,  /* 0..100000 */
	SCENARIO_OUT_NUMBER, /* a canonical number, "" none */
	/* An extension's forwarding target (docs/employees.md
	 * "Forwarding"): an extension or an outside number, canonical;
	 * "" none. Not checked against the tenant's numbers. */
	SCENARIO_OUT_TARGET,
	/* A ring time in seconds, SCENARIO_FWD_TIMEOUT_MIN..MAX. */
	SCENARIO_OUT_SECONDS,
	/* A name (docs/employees.md "Pickup": the pickup group): 1 to
	 * SCENARIO_OUT_NAME_MAX of [A-Za-z0-9_.-]; "" none. */
	SCENARIO_OUT_NAME,
};
#define SCENARIO_OUT_NAME_MAX 32
#define SCENARIO_FWD_TIMEOUT_MIN 5
#define SCENARIO_FWD_TIMEOUT_MAX 120
#define SCENARIO_FWD_TIMEOUT_DEF 20
struct scenario_out_field {
	const char *name; /* field and pbxctl option (with '_' as '-') */
	enum scenario_out_field_kind kind;
	const char *def;  /* shown when unset */
};
extern const struct scenario_out_field scenario_out_fields[];
extern const size_t scenario_out_nfields;
#define SCENARIO_OUT_EXT_FIELDS 2 /* outbound, caller_id */

/* Applies one stored value (NULL: unset, the default stays) of field i
 * of the table; i == nfields and nfields + 1 are the extension's
 * outbound and caller_id. */
void scenario_outbound_apply(struct scenario_outbound *p, size_t i,
			     const char *value);

/* The extension's two fields' names in the hash; 0 or -ENAMETOOLONG. */
int scenario_outbound_ext_field(char *buf, size_t size, const char *ext,
				const char *what);

/* Parses what an operator typed for a field ("on"/"off", a count, a
 * forwarding target, seconds): the stored form into out. 0, -EINVAL.
 * (Caller IDs are checked by provisioning: canonical and the
 * tenant's.) */
int scenario_outbound_parse(const struct scenario_out_field *f,
			    const char *in, char *out, size_t size);

/* The policy's answer to one call. */
struct scenario_out_verdict {
	unsigned code;	       /* 0: allowed, else the SIP answer */
	const char *reason;    /* its reason phrase */
	const char *caller_id; /* allowed: the number to present */
	const char *kind;      /* allowed: X-Pbx-Dest, external | mobile */
	bool exempt;	       /* allowed: an emergency call, never refused
				* by the limits */
};

/* Decides a call to a number of class d: 404 for a short number (no
 * such extension), 484 an invalid one, 403 a class the tenant does not
 * allow, an extension without permission, no caller ID. The limits and
 * whether the caller ID is still the tenant's are the router's (they
 * need Redis). */
void scenario_outbound_decide(const struct scenario_outbound *p,
			      enum scenario_dest d,
			      struct scenario_out_verdict *v);

#endif
