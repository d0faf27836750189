/* Call detail records: one per ended call, with the path it took through
 * the scenario. Owns the record's fields (one table: the stream entry's
 * field names, what the RPC and the webhook show), the trace text the
 * router accumulates hop by hop while the call lives (bounded: past
 * PBX_CDR_TRACE_MAX the rest is dropped and the record says so), and the
 * one rule that turns how a call ended into its disposition. The router
 * writes records (route_cdr.c), provision lists them, the notifier posts
 * them; all three speak this file. Pure: no I/O (the entry and JSON forms
 * read a hiredis reply and build jansson values). */
#ifndef PBX_CDR_H
#define PBX_CDR_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pbx_keys.h"

/* Bytes of trace text a record keeps ("<+ms> <EVENT> <node> <type>
 * <what> <output>" lines, '\n' apart). About 60 hops: a call's path is
 * far shorter; a caller looping through a menu for an hour is cut. */
#define PBX_CDR_TRACE_MAX 4096
/* The longest stream id ("<ms>-<seq>"). */
#define PBX_CDR_ID_MAX 48
/* Fields of one record (pbx_cdr_fields): the table's rows. */
#define PBX_CDR_NFIELDS 20
/* Retention defaults (router config cdr_max_entries, cdr_max_age_s). */
#define PBX_CDR_MAX_ENTRIES_DEFAULT 100000
#define PBX_CDR_MAX_AGE_S_DEFAULT (30L * 24 * 3600)

/* How the call ended, as the router saw it. */
enum pbx_cdr_end {
	PBX_CDR_END_CALLER,   /* the caller hung up (BYE / CANCEL) */
	PBX_CDR_END_US,	      /* we ended it (scenario hang-up, voicemail
			       * done, an error) */
	PBX_CDR_END_REJECT,   /* refused before any media worker took it */
	PBX_CDR_END_LOST,     /* its media worker died (reaped) */
};

struct pbx_cdr {
	char id[PBX_CDR_ID_MAX]; /* stream id once stored ("" before) */
	char tenant[PBX_ID_MAX + 1];
	char call_id[256];
	char number[33];	 /* dialled, canonical */
	char caller[65];
	uint64_t start_ms;	 /* the router first heard of the call */
	uint64_t answer_ms;	 /* the caller's leg answered (0: never) */
	uint64_t bridge_ms;	 /* a person answered (0: never) */
	uint64_t end_ms;
	uint64_t duration_ms;	 /* end - start */
	uint64_t talk_ms;	 /* end - bridge (0: nobody answered) */
	char disposition[16];	 /* pbx_cdr_finish: answered, no_answer,
				  * busy, unavailable, rejected, failed,
				  * caller_hangup, hangup, voicemail, fax,
				  * conference */
	unsigned sip_code;	 /* the final code (200 for an answered
				  * call ended normally) */
	char reason[96];
	char worker[65];	 /* the media worker ("" rejected at once) */
	char answered_by[80];	 /* extension / agent / number that
				  * answered ("" nobody) */
	char scenario[80];
	long version;
	char outcome[16];	 /* the walk's last outcome ("" none) */
	char trace[PBX_CDR_TRACE_MAX];
	bool truncated;		 /* the trace was cut at its bound */
	/* Inputs of pbx_cdr_finish, not stored. */
	enum pbx_cdr_end end;
	char ring[16];		 /* the last ring's result when nobody
				  * answered: no_answer, busy,
				  * unavailable ("" no ring) */
};

/* One row per stored field: its name in the stream entry and in JSON. */
enum pbx_cdr_ftype { PBX_CDR_STR, PBX_CDR_U64, PBX_CDR_UINT, PBX_CDR_LONG,
		     PBX_CDR_BOOL };
struct pbx_cdr_field {
	const char *name;
	enum pbx_cdr_ftype type;
	size_t off, size;
};
extern const struct pbx_cdr_field pbx_cdr_fields[PBX_CDR_NFIELDS];

/* The value of field f of cdr as text into buf (numbers in decimal,
 * bools 0/1); returns buf, or the string itself for a string field. */
const char *pbx_cdr_get(const struct pbx_cdr *cdr,
			const struct pbx_cdr_field *f, char *buf,
			size_t size);
/* Sets field `name` from its text (a string is cut at its bound and
 * stripped of control characters; a number must be all digits): 0,
 * -ENOENT unknown name (ignored by readers: newer writers), -EINVAL. */
int pbx_cdr_set(struct pbx_cdr *cdr, const char *name, const char *value);

/* Appends one hop to a trace (size: PBX_CDR_TRACE_MAX or less): "<at_ms>
 * <event> <node> <type> <what> <output>", each word stripped of spaces and
 * control characters ("-" when empty or NULL). A hop that does not fit
 * is dropped with every later one and *cut set: a trace is a prefix of
 * the path, never a hole in it. 0, or -ENOSPC when dropped. */
int pbx_cdr_trace_add(char *trace, size_t size, bool *cut, int64_t at_ms,
		      const char *event, const char *node, const char *type,
		      const char *what, const char *output);

/* One parsed trace line (pointers into buf, which it fills). */
struct pbx_cdr_hop {
	int64_t at_ms;
	const char *event, *node, *type, *what, *output; /* "" none */
};
/* Walks trace line by line: *pos starts at 0; 1 and hop filled, 0 at the
 * end, -EINVAL for a line that is no hop (skipped on the next call). */
int pbx_cdr_trace_next(const char *trace, size_t *pos,
		       struct pbx_cdr_hop *hop, char *buf, size_t size);

/* Completes a record from what the router saw: duration and talk time,
 * the disposition (one rule, pbx_cdr.c's table), and a code and reason
 * when none was given (200 answered, 487 a caller who gave up, 503 a
 * lost worker). */
void pbx_cdr_finish(struct pbx_cdr *cdr);

struct redisReply;
/* Fills cdr from a stream entry ([id, [field, value, ...]], as XRANGE
 * returns each): 0, or -EINVAL (not an entry, a bad value); unknown
 * fields are skipped (a newer writer). */
int pbx_cdr_from_entry(struct pbx_cdr *cdr, const struct redisReply *entry);

/* The record as one JSON object (compact, one line): "id", every field
 * of the table but the trace text, and "path": [{"at_ms", "event",
 * "node", "type", "what", "output"}...]. malloc'd (free()), NULL out of
 * memory. extra (may be NULL) is merged in first (a webhook's event
 * fields). */
char *pbx_cdr_json(const struct pbx_cdr *cdr, json_t *extra);

/* Whether s is one of the dispositions pbx_cdr_finish gives. */
bool pbx_cdr_disposition_valid(const char *s);

/* Whether s is a stream id "<ms>-<seq>". */
bool pbx_cdr_id_valid(const char *s);

#endif
