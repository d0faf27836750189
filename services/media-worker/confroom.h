/* Conference rooms of one worker: a table of rooms keyed by tenant and
 * room name, each with its members (calls) and one pacer entry that mixes
 * for all of them every 20 ms (mixer.h: each hears everyone but itself;
 * PCMU and PCMA members in one room). A room exists while it has members:
 * made by the first join, freed when the last call leaves (the call's
 * end). While a room is not live (one member, or wait_moderator and no
 * moderator in it) its members hear music on hold; a join or a leave in a
 * live room plays a tone to everyone. A member's `*6` toggles its mute.
 * The worker owns the table; each call owns nothing of it: its member is
 * the room's, and leaves with mwcall_free(). */
#ifndef CONFROOM_H
#define CONFROOM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct confroom_table;
struct confroom_member;
struct mwcall;
struct pacer;

enum {
	/* Members of one room at most, whatever ConfJoin asks: the mix of
	 * a room is one pass over its members every 20 ms on the worker's
	 * only thread. */
	CONFROOM_MEMBERS_MAX = 100,
};

struct confroom_opts {
	bool muted;
	bool moderator;
	bool wait_moderator; /* taken from the join that made the room */
	bool end_with_moderator; /* likewise: the last moderator's leave
				  * ends every member's call */
	uint32_t max_members; /* 0 or above CONFROOM_MEMBERS_MAX: that */
	/* Music on hold in the call's law: a libre mem object, referenced
	 * by the member while it is in the room. */
	uint8_t *moh;
	size_t moh_len;
};

int confroom_table_alloc(struct confroom_table **tp, struct pacer *pacer);
/* Every call must have left (mwcall_free) before. NULL-safe. */
void confroom_table_free(struct confroom_table *t);

/* Puts call (answered first if needed) into room `room` of its tenant.
 * *count: the members with this call, or (on -ENOSPC) those already in.
 * 0, -EINVAL (bad room name or arguments), -EALREADY (the call is in a
 * room or bridged), -ENOSPC (full), -ENOMEM, or the answer's error. */
int confroom_join(struct confroom_table *t, struct mwcall *call,
		  const char *room, const struct confroom_opts *o,
		  unsigned *count);
/* Mutes or unmutes the call in its room. 0 or -ENOENT (in no room). */
int confroom_mute(struct mwcall *call, bool muted);

/* For pbxctl and tests: rooms in the table, members of one. */
unsigned confroom_count(const struct confroom_table *t);
/* Members of tenant's `room`, 0 if there is no such room. */
unsigned confroom_members(const struct confroom_table *t, const char *tenant,
			  const char *room);

/* Called by the call (mwcall.c) only. */
/* A packet of the member's audio (its law); RTP path, never frees. */
void confroom_member_audio(struct confroom_member *m, const uint8_t *payload,
			   size_t len);
/* A digit from the member (`*6`: mute toggle); never frees. */
void confroom_member_digit(struct confroom_member *m, char digit);
bool confroom_member_muted(const struct confroom_member *m);
/* A prompt on the member ended: it hears the room (or its music). */
void confroom_member_resume(struct confroom_member *m);
/* The call ends: leaves its room (freed when it was the last). */
void confroom_member_leave(struct confroom_member *m);

#endif
