/* Scenario: the tenant's routing graph, parsed from its JSON document
 * (docs/scenario.md) into an immutable, indexed object with every option
 * pre-extracted into typed structs; the tenant objects the graph refers to
 * by name (queues, lists, schedules, boxes, conference rooms); the lint
 * that refuses a broken document; number normalisation and time zones.
 * One parsed scenario and one object set serve many calls concurrently
 * (read-only after construction). The walk is in scenario_walk.h, the
 * dry-run driver in scenario_sim.h. */
#ifndef SCENARIO_H
#define SCENARIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every element of the product. The values are stable (stored nowhere,
 * but tooling may switch on them). */
enum node_type {
	NODE_SUBSCRIBER, /* ring an extension, external or mobile number */
	NODE_FAX,	 /* receive a fax into a fax box (paid option) */
	NODE_QUEUE,	 /* hold the caller until an agent answers */
	NODE_SCHEDULE,	 /* working time or not */
	NODE_LIST,	 /* caller number in a black / white list or not */
	NODE_IVR,	 /* voice menu: prompt + DTMF */
	NODE_ASSISTANT,	 /* voice assistant: prompt + speech recognition */
	NODE_CONFERENCE, /* join a conference room (PIN) */
	NODE_GREETING,	 /* play a prompt */
	NODE_VOICEMAIL,	 /* record a message into a voicemail box */
	NODE_CRM,	 /* ask the CRM who owns the caller, ring them */
	NODE_HANGUP,	 /* end the call with a SIP cause */
	NODE_TYPE_COUNT
};

/* The outcome vocabulary (docs/scenario.md "Outcomes"): every node ends
 * its turn with one of these words, and an output of the same name (an
 * arrow) says where the call goes next. One vocabulary for all nodes:
 *   next            default continuation (greeting; fallback of
 *                   subscriber and crm outcomes)
 *   answered        a person answered: the call is bridged and ends there
 *                   (terminal: never an arrow)
 *   no_answer       rang for the whole timeout
 *   busy            the target was busy
 *   unavailable     the target was unreachable / not registered
 *   timeout         waited for input (ivr) or in a queue (max wait) for
 *                   the whole time; the queue's mandatory exit route
 *   invalid         ivr input that matches no choice, retries used up
 *   digit:<d>       ivr choice, d in 0-9 * #
 *   extension       ivr direct extension dialing: the dialled extension
 *                   did not answer
 *   exit_key:<d>    the caller left the queue with key d
 *   full            the queue is at its maximum length
 *   no_agents       the queue has no agents logged in
 *   match/no_match  schedule open / closed
 *   in_list/not_in_list
 *   phrase:<name>   assistant recognised the phrase
 *   not_recognized  assistant heard speech it does not know (or below
 *                   the confidence threshold), retries used up
 *   no_input        assistant heard nothing
 *   not_found       crm knows no owner for the caller
 *   crm_error       crm did not answer (error or lookup timeout)
 * Macros for the fixed words, so code and docs never drift: */
/* An assistant's bounds (what the asr-bridge takes, docs/scenario.md):
 * phrases per node, synonyms per phrase (its name included), bytes per
 * synonym or phrase name. */
#define SCENARIO_PHRASES_MAX 32
#define SCENARIO_SYNONYMS_MAX 16
#define SCENARIO_SYNONYM_LEN_MAX 128

#define SCENARIO_OUT_NEXT "next"
#define SCENARIO_OUT_ANSWERED "answered"
#define SCENARIO_OUT_NO_ANSWER "no_answer"
#define SCENARIO_OUT_BUSY "busy"
#define SCENARIO_OUT_UNAVAILABLE "unavailable"
#define SCENARIO_OUT_TIMEOUT "timeout"
#define SCENARIO_OUT_INVALID "invalid"
#define SCENARIO_OUT_EXTENSION "extension"
#define SCENARIO_OUT_FULL "full"
#define SCENARIO_OUT_NO_AGENTS "no_agents"
#define SCENARIO_OUT_MATCH "match"
#define SCENARIO_OUT_NO_MATCH "no_match"
#define SCENARIO_OUT_IN_LIST "in_list"
#define SCENARIO_OUT_NOT_IN_LIST "not_in_list"
#define SCENARIO_OUT_NOT_RECOGNIZED "not_recognized"
#define SCENARIO_OUT_NO_INPUT "no_input"
#define SCENARIO_OUT_NOT_FOUND "not_found"
#define SCENARIO_OUT_CRM_ERROR "crm_error"

/* What a reference in a scenario points at. The resolver is asked
 * "does <name> of <kind> exist in this tenant?". The first three keep
 * their old values. FEATURE asks whether a paid / optional tenant feature
 * is enabled; the names asked are "fax" (a fax node needs it). Kinds
 * QUEUE..CONFERENCE are also the tenant object kinds (see below). */
enum scenario_ref {
	SCENARIO_REF_PROMPT,
	SCENARIO_REF_QUEUE,
	SCENARIO_REF_EXTENSION,
	SCENARIO_REF_LIST,
	SCENARIO_REF_SCHEDULE,
	SCENARIO_REF_FAX_BOX,
	SCENARIO_REF_VOICEMAIL_BOX,
	SCENARIO_REF_CONFERENCE,
	SCENARIO_REF_FEATURE,
	SCENARIO_REF_COUNT
};

/* "prompt", "queue", "extension", "list", "schedule", "fax_box",
 * "voicemail_box", "conference", "feature"; "?" for a bad value. */
const char *scenario_ref_name(enum scenario_ref kind);
/* Name -> kind; -EINVAL for an unknown name. */
int scenario_ref_find(const char *name, enum scenario_ref *kind);
/* True for the kinds that are tenant objects (queue, list, schedule,
 * fax_box, voicemail_box, conference). */
bool scenario_ref_is_object(enum scenario_ref kind);

struct scenario;
struct scenario_objects;

/* Problems found in a document or object, one line each:
 * "node <id>: <sentence>" (or "document: ..." / "<kind> <name>: ..."),
 * errors and warnings counted. Warnings start "warning: ". Text that does
 * not fit is cut at a line boundary and ends with "...". */
struct scenario_report {
	char text[8192];
	size_t len;
	unsigned errors;
	unsigned warnings;
};

/* Answers "does <name> of <kind> exist in this tenant?". */
typedef bool(scenario_ref_h)(enum scenario_ref kind, const char *name,
			     void *arg);

/* Parses and lints json. Returns 0 and sets *scp (owned by the caller, free
 * with scenario_free) when there is no error; -EINVAL with every problem in
 * rep otherwise (rep may be NULL); -ENOMEM. Warnings do not fail.
 * refh NULL skips the reference checks. Same as scenario_parse_objs with
 * objs NULL. */
int scenario_parse(struct scenario **scp, const char *json,
		   scenario_ref_h *refh, void *arg,
		   struct scenario_report *rep);

/* As scenario_parse, plus the lint rules that need object contents (a
 * schedule that can never match, a list that matches nobody, a queue's
 * options). objs may be NULL. When refh is NULL and objs is not, the
 * existence of referenced objects is checked against objs (prompts,
 * extensions and features are then not checked). When refh is given it
 * answers every existence question and objs only serves contents; a
 * referenced object missing from objs is then not content-checked. */
int scenario_parse_objs(struct scenario **scp, const char *json,
			const struct scenario_objects *objs,
			scenario_ref_h *refh, void *arg,
			struct scenario_report *rep);

/* NULL-safe. */
void scenario_free(struct scenario *sc);

size_t scenario_node_count(const struct scenario *sc);
/* Id of the start node (borrowed from sc). */
const char *scenario_start(const struct scenario *sc);
/* True when the call's first step is the same for every call to the
 * number: the start node decides without the caller, the time, the
 * tenant's objects or features (a hang-up). The edge may then repeat the
 * decision for a while without asking (RouteDecision.edge_cache_ms). */
bool scenario_start_is_constant(const struct scenario *sc);

/* The time zone the scenario "lives in", for the simulator's local times:
 * the document's top-level "timezone" if set, else the zone of the first
 * schedule reached from the start (breadth first; inline or an object in
 * objs), else "UTC". Borrowed from sc or objs. */
const char *scenario_timezone(const struct scenario *sc,
			      const struct scenario_objects *objs);

/* Calls h once per reference the scenario makes (node id given), e.g. so
 * provisioning can refuse to delete an object in use. Features included
 * (kind FEATURE, name "fax"). */
typedef void(scenario_ref_each_h)(enum scenario_ref kind, const char *name,
				  const char *node, void *arg);
void scenario_refs(const struct scenario *sc, scenario_ref_each_h *h,
		   void *arg);

const char *scenario_type_name(enum node_type t);
/* Name -> type; -EINVAL for an unknown name. */
int scenario_type_find(const char *name, enum node_type *t);
/* True when the live path can execute the element today (its media /
 * service side exists); lint warns about the others, and the router ends
 * calls that reach them with a clear SIP error. */
bool scenario_type_supported(enum node_type t);

/* The document a newly connected number gets: its calls go to the tenant's
 * default queue, and a queue timeout hangs up (the exit route). */
const char *scenario_default_json(void);

/* ---- Tenant objects ----------------------------------------------------
 * Objects are JSON documents stored per tenant, kind and name
 * (docs/scenario.md "Objects" gives every schema):
 *   queue          {"strategy","max_wait","max_len","agents","agent_timeout",
 *                   "wrapup","moh","announce_position","announce_wait",
 *                   "periodic_prompt","periodic_interval","entry_prompt",
 *                   "join_empty"}
 *   list           {"mode","entries","regions","anonymous"}
 *   schedule       {"timezone"*,"windows","exceptions","holidays",
 *                   "override"}
 *   fax_box        {"email","format","t38","ecm","ident","header"}
 *   voicemail_box  {"email","max_length","greeting","pin","attach",
 *                   "transcribe"}
 *   conference     {"pin","moderator_pin","pin_retries","max_members",
 *                   "join_muted","wait_moderator","end_with_moderator",
 *                   "announce","moh"}
 */

/* Checks one object document of `kind` ("queue", "list", "schedule",
 * "fax_box", "voicemail_box", "conference"). Returns 0 (warnings may be
 * in rep) or -EINVAL with every problem in rep, one line each, prefixed
 * "<kind>: " (rep may be NULL). Provisioning calls it before storing. */
int scenario_object_check(const char *kind, const char *json,
			  struct scenario_report *rep);

/* A set of compiled tenant objects that lint and the walk read. Owned by
 * the caller; build it, then share it read-only (it must outlive every
 * walk step and every scenario parse that uses it). */
int scenario_objects_alloc(struct scenario_objects **objsp);
void scenario_objects_free(struct scenario_objects *objs);
/* Checks and compiles one object into objs; an object of the same kind
 * and name is replaced. 0, -EINVAL (problems in rep, objs unchanged) or
 * -ENOMEM. */
int scenario_objects_add(struct scenario_objects *objs, const char *kind,
			 const char *name, const char *json,
			 struct scenario_report *rep);
/* Removes one object; 0 or -ENOENT. */
int scenario_objects_remove(struct scenario_objects *objs, const char *kind,
			    const char *name);
size_t scenario_objects_count(const struct scenario_objects *objs);
/* Another conference room of objs with the same dialable `number` as room
 * `name` (its name; *number: that number), or NULL: room numbers are
 * unique per tenant. */
const char *scenario_objects_room_sharing(const struct scenario_objects *objs,
					  const char *name,
					  const char **number);
bool scenario_objects_has(const struct scenario_objects *objs,
			  enum scenario_ref kind, const char *name);
/* A scenario_ref_h over an object set (arg is the const objs): answers
 * object kinds from it and true for prompts, extensions and features, so
 * it can be chained behind a resolver that knows those. */
bool scenario_objects_ref(enum scenario_ref kind, const char *name, void *arg);

/* Is schedule `name` open at now_ms (Unix ms)? 0, -ENOENT (no such
 * schedule), -EINVAL. The same function the walk uses. */
int scenario_objects_schedule_open(const struct scenario_objects *objs,
				   const char *name, int64_t now_ms,
				   bool *open);
/* Is caller (any form, e.g. "+7 495 123-45-67", "", "anonymous") in list
 * `name`? 0, -ENOENT, -EINVAL. The same function the walk uses. */
int scenario_objects_list_match(const struct scenario_objects *objs,
				const char *name, const char *caller,
				bool *in);

/* A queue object as its service reads it: the compiled values with their
 * defaults applied (docs/scenario.md "queue"); strings and the agent list
 * belong to objs and live as long as it does. */
struct scenario_queue {
	const char *strategy; /* ring_all, round_robin, longest_idle, ... */
	uint32_t max_wait_s, max_len, agent_timeout_s, wrapup_s;
	bool join_empty;
	size_t nagents;
	/* In the object's order: an extension, or a phone number as its
	 * agent id "+<digits>" (scenario_agent_number). */
	const char *const *agents;
	/* Each agent's kind, as Ring.dest_kind names it: "extension",
	 * "external" or "mobile" (numbers ring through the tenant's trunk). */
	const char *const *kinds;
};
/* 0, -ENOENT (no such queue), -EINVAL. */
int scenario_objects_queue(const struct scenario_objects *objs,
			   const char *name, struct scenario_queue *q);

/* A conference object as the router reads it on every event of a call in
 * its PIN entry (docs/scenario.md "conference"); strings belong to objs.
 * pin / moderator_pin NULL: none. */
struct scenario_conference {
	const char *pin, *moderator_pin;
	uint32_t pin_retries, max_members; /* max_members 0: unlimited */
	bool join_muted;
	bool wait_moderator; /* members hear music until a moderator joins */
	bool end_with_moderator; /* the last moderator's leave ends it */
	bool announce;		 /* the joiner hears the count first */
	const char *moh;     /* prompt, or NULL: built-in music */
};
/* 0, -ENOENT (no such room), -EINVAL. */
int scenario_objects_conference(const struct scenario_objects *objs,
				const char *name,
				struct scenario_conference *cf);

/* ---- Numbers ------------------------------------------------------------
 * Normalises a phone number to the digits-only international form, so
 * the "+7...", "8..." and "7..." forms of one Russian number are equal:
 *   1. every character but digits is dropped; a leading "+" or "00" or
 *      "810" (international prefixes) marks the rest as international;
 *   2. without an international prefix, 11 digits starting with 8 become
 *      7 + the last 10 ("8 495 ..." -> "7495..."), and exactly 10 digits
 *      get a leading 7 (a Russian national number);
 *   3. anything else keeps its digits (extensions, short numbers).
 * Writes "" for an anonymous caller (no digits: "", "anonymous",
 * "Restricted"). Returns the length written, -ENOSPC if size is too
 * small, -EINVAL for NULL arguments. Masks in lists are normalised by
 * the same rules (docs/scenario.md "Number normalisation"). */
int scenario_number_normalise(const char *in, char *out, size_t size);

/* The canonical form of a number someone wrote or dialled: the key a
 * connected number is stored under and looked up by (provisioning, the
 * router's called number). Accepts what a person or a SIP/tel URI user
 * part carries: digits, one leading '+', visual separators (space, tab,
 * '-', '.', '(', ')') and %XX escapes of those; then normalises as
 * above. Returns the length (1..32 digits), -EINVAL for anything else
 * (letters, '*', '#', no digits, a '+' after the first digit), -ENOSPC
 * when the result does not fit. */
int scenario_number_canon(const char *in, char *out, size_t size);

/* The agent id of a queue agent that is a phone number (a queue object's
 * {"external": N} or {"mobile": N}, `pbxctl queue agent ... N`): "+" and
 * the canonical digits (scenario_number_canon), 10 to 15 of them (E.164).
 * An extension never starts with "+", so the two never meet. Returns the
 * length, -EINVAL (not such a number), -ENOSPC (size < 17 may be). */
int scenario_agent_number(const char *in, char *out, size_t size);
#define SCENARIO_AGENT_NUMBER_MAX 17 /* "+" 15 digits NUL */

/* ---- Time zones ---------------------------------------------------------
 * A TZif (v2+) reader over the system tzdata (/usr/share/zoneinfo) with a
 * per-process zone cache (thread-safe; zones are loaded once and kept),
 * so evaluating a schedule never touches the process-global TZ. */

/* True when zone names a readable IANA zone ("Europe/Moscow", "UTC"). */
bool scenario_tz_valid(const char *zone);
/* UTC Unix seconds -> local broken-down time in zone (tm_gmtoff and
 * tm_isdst set, tm_zone NULL). 0, -ENOENT unknown zone, -EINVAL. */
struct tm;
int scenario_tz_local(const char *zone, int64_t utc, struct tm *tm);
/* Local wall time in zone (tm_year..tm_sec read, the rest ignored) ->
 * UTC Unix seconds. A time skipped by a DST change is moved forward by
 * the gap; a repeated one takes its first occurrence. 0, -ENOENT,
 * -EINVAL. */
int scenario_tz_utc(const char *zone, const struct tm *local, int64_t *utc);

#endif
