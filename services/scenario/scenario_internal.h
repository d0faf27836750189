/* Parsed scenario and compiled object layout, shared by the parser, the
 * linter, the object store and the walker (internal to pbx_scenario).
 * Everything the walk reads per step is pre-extracted here at parse time:
 * typed options, output targets by outcome word and key, compiled
 * schedules and lists; no JSON is touched on the hot path. */
#ifndef SCENARIO_INTERNAL_H
#define SCENARIO_INTERNAL_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "scenario_walk.h"

/* The fixed outcome words (see scenario.h) as indexes. */
enum out_word {
	O_NEXT,
	O_NO_ANSWER,
	O_BUSY,
	O_UNAVAILABLE,
	O_TIMEOUT,
	O_INVALID,
	O_EXTENSION,
	O_FULL,
	O_NO_AGENTS,
	O_MATCH,
	O_NO_MATCH,
	O_IN_LIST,
	O_NOT_IN_LIST,
	O_NOT_RECOGNIZED,
	O_NO_INPUT,
	O_NOT_FOUND,
	O_CRM_ERROR,
	O_FAILED,
	O_WORDS
};
extern const char *const scenario_out_words[O_WORDS];

/* Keys of "digit:<k>" / "exit_key:<k>" outputs: 0-9, * (10), # (11). */
#define KEY_COUNT 12
int scenario_key_index(char c); /* -1 for anything else */
extern const char scenario_key_chars[KEY_COUNT + 1];

struct scenario_out {
	const char *name; /* points into the JSON document */
	int target;	  /* node index */
};

/* Phases of a call inside its node (walk_state.phase). Stored in the
 * encoded state: append only, never renumber. */
enum walk_phase {
	PH_NONE,       /* nothing pending (pure nodes, before START) */
	PH_ANSWER,     /* ANSWER sent; the node continues on ANSWERED */
	PH_PLAY,       /* greeting prompt playing */
	PH_MENU,       /* ivr prompt playing */
	PH_MENU_WAIT,  /* ivr prompt done, input timer running */
	PH_DIGITS,     /* ivr collecting extension digits */
	PH_INVALID,    /* ivr invalid-input prompt playing */
	PH_EXT_RING,   /* ivr ringing the dialled extension */
	PH_RING,       /* subscriber ringing */
	PH_QUEUE,      /* in a queue */
	PH_CRM_LOOKUP, /* waiting for the CRM (lookup timer running) */
	PH_CRM_RING,   /* ringing the CRM owner */
	PH_LISTEN,     /* assistant prompt + recogniser running */
	PH_BRIDGED,    /* a person answered: the walk is done */
	PH_MEDIA,      /* voicemail / fax / conference running: done */
	PH_ENDED,      /* REJECT / HANGUP sent, or the caller hung up */
	PH_FAX,        /* fax with outputs running: FAX_RESULT goes on */
	PH_COUNT
};

/* ---- time zones (scenario_tz.c) ---- */
struct tz;
/* Loads (once) and returns the zone, NULL if unknown. Thread-safe; the
 * zone lives as long as the process. */
const struct tz *scenario_tz_get(const char *zone);
/* UTC offset in seconds at utc; *isdst set when not NULL. */
int32_t scenario_tz_offset(const struct tz *tz, int64_t utc, bool *isdst);
const char *scenario_tz_name(const struct tz *tz);

/* Days since 1970-01-01 <-> civil date (proleptic Gregorian). */
int64_t scenario_days_from_civil(int64_t y, unsigned m, unsigned d);
void scenario_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* ---- schedules (scenario_schedule.c) ---- */
struct sched_ival {
	uint16_t from, to; /* minutes 0..1440; to <= from: crosses midnight */
};

struct sched_day {
	struct sched_ival *iv;
	size_t n;
};

struct sched_exc {
	bool yearly;	      /* date is MM-DD every year */
	int32_t from, to;     /* yyyymmdd (one-off) or mmdd (yearly), incl. */
	struct sched_day day; /* n == 0: closed all day */
};

enum sched_override { SCHED_AUTO, SCHED_OPEN, SCHED_CLOSED };

struct sched {
	const struct tz *tz;
	const char *zone;	  /* borrowed from the document */
	struct sched_day week[7]; /* 0 = Sunday */
	struct sched_exc *exc;	  /* one-off first, then yearly */
	size_t nexc;
	enum sched_override override;
	bool never; /* no interval anywhere */
};

/* Compiles a schedule from a JSON object whose fields are checked here
 * (timezone, windows, exceptions, holidays, override; others ignored).
 * Problems go to rep prefixed by `who` ("node x" / "schedule"). */
int scenario_sched_compile(struct sched **sp, json_t *obj, const char *who,
			   struct scenario_report *rep);
void scenario_sched_free(struct sched *s);
bool scenario_sched_open(const struct sched *s, int64_t now_ms);

/* ---- lists (scenario_list.c) ---- */
struct nlist;
int scenario_list_compile(struct nlist **lp, json_t *obj, const char *who,
			  struct scenario_report *rep);
void scenario_list_free(struct nlist *l);
bool scenario_list_match(const struct nlist *l, const char *caller);
size_t scenario_list_size(const struct nlist *l);

/* ---- objects (scenario_objects.c) ---- */
struct obj_queue {
	const char *strategy;
	uint32_t max_wait_s, max_len, agent_timeout_s, wrapup_s, periodic_s;
	const char *moh, *periodic_prompt, *entry_prompt;
	bool announce_position, announce_wait, join_empty;
	/* The call-back exit: its key ('\0' none), confirmation prompt
	 * (NULL: the system sound), window, retries and their interval. */
	char cb_key;
	const char *cb_prompt;
	uint32_t cb_window_s, cb_retries, cb_retry_s;
	size_t nagents;
	const char **agents; /* nagents strings of root or of nums; ours */
	const char **kinds;  /* each agent's: "extension", "external", ... */
	char *nums; /* the agent ids of numbers, SCENARIO_AGENT_NUMBER_MAX each */
};

struct obj_fax {
	bool t38, ecm;
	bool pdf;	   /* format "pdf" (the default) */
	const char *ident; /* our station id, NULL: none */
	const char *header; /* page header line, NULL: none */
	uint32_t max_faxes; /* quota: faxes kept in the box, 0 no limit */
	uint32_t max_bytes; /* quota: bytes of its files, 0 no limit */
};

struct obj_vm {
	uint32_t max_s;
	const char *greeting;
};

struct obj_conf {
	const char *pin, *moderator_pin;
	uint32_t pin_retries, max_members;
	bool join_muted;
	bool wait_moderator;
	bool end_with_moderator;
	bool announce;
	const char *moh;
	const char *number; /* dialled from a menu with room_dialing */
};

struct scenario_object {
	enum scenario_ref kind;
	char *name;
	json_t *root; /* owns the strings below */
	union {
		struct sched *sched;
		struct nlist *list;
		struct obj_queue queue;
		struct obj_fax fax;
		struct obj_vm vm;
		struct obj_conf conf;
	};
	struct scenario_object *next; /* hash chain */
};

const struct scenario_object *
scenario_objects_find(const struct scenario_objects *objs,
		      enum scenario_ref kind, const char *name);
/* The one conference room whose number is `number`; NULL when none or
 * more than one has it (ambiguous: no room). */
const struct scenario_object *
scenario_objects_room_by_number(const struct scenario_objects *objs,
				const char *number);

/* ---- nodes ---- */
struct n_subscriber {
	enum walk_dest dest;
	const char *target;
	uint32_t timeout_s; /* 0: rings until answered / busy / gone */
	const char *caller_id;
};

/* Recording of the bridge a subscriber, queue or crm node makes: the
 * node's own "record*" options, else the document's. */
struct n_rec {
	bool on;
	uint8_t channels;   /* 1 mixed mono, 2 caller left / callee right */
	const char *prompt; /* played to the caller at the bridge, or NULL */
};

struct n_ivr {
	const char *prompt, *invalid_prompt;
	uint32_t timeout_ms, inter_digit_ms, ext_timeout_s;
	uint8_t retries, ext_min, ext_max;
	bool barge_in, ext_dialing;
	bool room_dialing; /* the dialled digits may be a room's number */
	uint16_t ext_keys; /* bit per key: starts an extension */
};

struct n_assistant {
	const char *prompt, *retry_prompt;
	struct scenario_phrase *phrases;
	int *phrase_out;	   /* target per phrase, -1 none */
	const char **phrase_oname; /* "phrase:<name>" output per phrase */
	size_t nphrases;
	double confidence;
	uint32_t timeout_ms;
	uint8_t retries;
};

struct n_queue {
	const char *queue;
	uint32_t max_wait_s;   /* 0: from the object / 600 */
	int announce_position; /* -1: from the object */
	int announce_wait;
	const char *periodic_prompt, *moh, *entry_prompt;
	uint32_t periodic_s;
	int priority;
	char exit_keys[KEY_COUNT + 1];
};

struct n_ref_or_inline {
	const char *name; /* object reference, or NULL: inline */
	void *inl;	  /* struct sched * / struct nlist * */
};

struct n_crm {
	const char *crm;
	uint32_t timeout_s, lookup_ms;
	const char *caller_id;
};

struct n_end {
	unsigned code;
	const char *reason;
};

struct n_box {
	const char *box;
	uint32_t max_s; /* voicemail: 0 from the box */
	const char *greeting;
	uint32_t pin_retries; /* conference: 0 from the room */
};

struct scenario_node {
	const char *id; /* points into the JSON document */
	enum node_type type;
	/* Set on a document the structure lint refused, which is still
	 * indexed so the graph rules can report too: untyped (type missing
	 * or unknown; type reads NODE_HANGUP) is left out of the rules
	 * that depend on the type; malformed (untyped, or bad id or
	 * options) is not compiled and gets no per-node rules. */
	bool untyped, malformed;
	json_t *opts; /* borrowed from root; may be NULL */
	struct scenario_out *outs;
	size_t nouts;
	int out[O_WORDS];   /* target node index per outcome word, -1 */
	int key[KEY_COUNT]; /* digit:<k> / exit_key:<k> targets, -1 */
	struct n_rec rec;   /* subscriber, queue, crm */
	union {
		struct n_subscriber sub;
		struct n_ivr ivr;
		struct n_assistant as;
		struct n_queue queue;
		struct n_ref_or_inline ref; /* schedule, list */
		struct n_crm crm;
		struct n_end end;
		struct n_box box; /* fax, voicemail, conference,
				   * greeting (prompt in box) */
	};
};

struct scenario {
	json_t *root;		     /* owns every string above */
	struct scenario_node *nodes; /* sorted by id */
	size_t n;
	int start;
	const char *timezone; /* top-level "timezone" or NULL */
	struct n_rec rec;     /* top-level "record*": the nodes' default */
};

/* Pure nodes are decided on the spot and their arrows followed in the
 * same step (scenario_walk.c, enter()); every other node waits for the
 * world or ends the call. */
static inline bool scenario_node_pure(const struct scenario_node *nd)
{
	return !nd->untyped &&
	       (nd->type == NODE_SCHEDULE || nd->type == NODE_LIST);
}

int scenario_node_index(const struct scenario *sc, const char *id);
/* The target node index of output `name`, or -1. */
int scenario_node_out(const struct scenario_node *nd, const char *name);

/* Pre-extracts the typed options of every node (after the structure
 * lint passed and outputs are resolved). Problems go to rep; returns
 * the number of errors, or -ENOMEM. */
int scenario_compile(struct scenario *sc, struct scenario_report *rep);
void scenario_compile_free(struct scenario_node *nd);

/* Folds text for phrase comparison: lowercase (ASCII and Cyrillic), ё as
 * е, punctuation and runs of spaces as one space. */
void scenario_text_fold(const char *in, char *out, size_t size);

void scenario_report_add(struct scenario_report *rep, bool error,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
