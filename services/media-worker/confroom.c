/* Conference rooms: the room table, members joining and leaving, music on
 * hold while a room is not live, the mix on the pacer, tones, mute. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confroom.h"
#include "mixer.h"
#include "mwcall_priv.h"
#include "pacer.h"
#include "pbx_clock.h"
#include "pbx_keys.h"
#include "pbx_log.h"

enum {
	ROOM_KEY_MAX = 2 * PBX_ID_MAX + 2,
	JOIN_HZ = 1400, /* a rising pair on join, falling on leave */
	JOIN_HZ2 = 1800,
	TONE_MS = 240,
};

struct confroom_room;

/* Owned by its room (room->members); call->conf points at it. */
struct confroom_member {
	struct le le;
	struct confroom_room *room;
	struct mwcall *call;
	bool muted;
	bool moderator;
	bool star; /* the last digit was '*' */
	uint8_t *moh; /* libre mem, referenced */
	size_t moh_len;
	struct mixer_in in;
	int16_t frame[MIXER_SAMPLES]; /* this period's, if `talked` */
	bool talked;
};

/* Owned by the table; exists while it has members. */
struct confroom_room {
	struct le he;
	struct confroom_table *t;
	char key[ROOM_KEY_MAX]; /* tenant "/" room */
	struct list members;
	unsigned n, moderators;
	bool wait_moderator;
	bool end_with_moderator;
	bool ending; /* the last moderator left: members are ended one by
		      * one from tmr_end */
	struct tmr tmr_end;
	bool live;
	struct pacer_entry pe;
	const int16_t *tone; /* playing to everyone: the table's */
	size_t tone_len, tone_pos;
};

struct confroom_table {
	struct pacer *pacer;
	struct hash *rooms;
	unsigned nrooms;
	int16_t *join_tone, *leave_tone;
	size_t join_len, leave_len;
};

static void room_key(char *key, size_t size, const char *tenant,
		     const char *room)
{
	snprintf(key, size, "%s/%s", tenant, room);
}

static bool key_cmp(struct le *le, void *arg)
{
	const struct confroom_room *r = le->data;

	return !strcmp(r->key, arg);
}

static struct confroom_room *room_find(const struct confroom_table *t,
				       const char *key)
{
	struct le *le = hash_lookup(t->rooms, hash_joaat_str(key), key_cmp,
				    (void *)key);

	return le ? le->data : NULL;
}

/* ---- the mix ---- */

static void member_send(struct confroom_member *m, const uint8_t *payload,
			uint64_t now_ms)
{
	struct mwcall *call = m->call;
	uint8_t pkt[PLAYER_PKT_SIZE];

	/* Music or a prompt owns the stream while it plays; on hold the
	 * member is sent nothing (and no sequence number is used). */
	if (call->playing != PLAY_NONE || !call->leg.can_send)
		return;
	if (player_frame(&call->leg.out, payload, pkt, now_ms))
		leg_send(&call->leg, pkt, sizeof(pkt));
}

static void mix_once(struct confroom_room *r, uint64_t now_ms)
{
	int32_t acc[MIXER_SAMPLES];
	uint8_t out[MIXER_SAMPLES];
	const int16_t *tone = NULL;
	struct le *le;

	memset(acc, 0, sizeof(acc));
	for (le = list_head(&r->members); le; le = le->next) {
		struct confroom_member *m = le->data;

		m->talked = mixer_in_pop(&m->in, m->frame) && !m->muted;
		if (m->talked)
			mixer_add(acc, m->frame);
	}
	if (r->tone) {
		tone = r->tone + r->tone_pos;
		r->tone_pos += MIXER_SAMPLES;
		if (r->tone_pos >= r->tone_len)
			r->tone = NULL;
	}
	for (le = list_head(&r->members); le; le = le->next) {
		struct confroom_member *m = le->data;

		mixer_out(out, acc, m->talked ? m->frame : NULL, tone,
			  m->call->leg.codec.law);
		member_send(m, out, now_ms);
	}
}

static void room_tick(uint64_t periods, uint64_t now_ms, void *arg)
{
	struct confroom_room *r = arg;

	/* After a stall, no more than the queues can hold: older audio is
	 * gone anyway, and a burst would only fill the phones' buffers. */
	if (periods > MIXER_DEPTH)
		periods = MIXER_DEPTH;
	while (periods--)
		mix_once(r, now_ms);
}

/* ---- room state ---- */

static void room_tone(struct confroom_room *r, const int16_t *tone,
		      size_t len)
{
	r->tone = tone;
	r->tone_len = len;
	r->tone_pos = 0;
}

/* Live: two members or more, and a moderator among them if the room
 * waits for one. Not live: everyone hears music and nothing is mixed. */
static void room_update(struct confroom_room *r)
{
	bool live = r->n >= 2 && (!r->wait_moderator || r->moderators);
	struct le *le;

	for (le = list_head(&r->members); le; le = le->next) {
		struct confroom_member *m = le->data;
		struct mwcall *call = m->call;

		if (!live && call->playing == PLAY_NONE) {
			if (mwcall_moh(call, m->moh, m->moh_len, 0))
				PLOG_WARN("conference %s: no music on hold "
					  "for %s",
					  r->key, mwcall_callid(call));
		} else if (live && call->playing == PLAY_MOH) {
			mwcall_stop_play(call);
		}
		if (live && !r->live)
			mixer_in_clear(&m->in); /* no stale audio */
	}
	if (live && !r->live)
		pacer_add(r->t->pacer, &r->pe);
	else if (!live && r->live)
		pacer_remove(r->t->pacer, &r->pe);
	r->live = live;
}

static void room_free(struct confroom_room *r)
{
	tmr_cancel(&r->tmr_end);
	pacer_remove(r->t->pacer, &r->pe);
	hash_unlink(&r->he);
	r->t->nrooms--;
	free(r);
}

int confroom_join(struct confroom_table *t, struct mwcall *call,
		  const char *room, const struct confroom_opts *o,
		  unsigned *count)
{
	uint32_t max = o && o->max_members && o->max_members <
						      CONFROOM_MEMBERS_MAX
			       ? o->max_members
			       : CONFROOM_MEMBERS_MAX;
	char key[ROOM_KEY_MAX];
	struct confroom_member *m;
	struct confroom_room *r;
	int err;

	if (!t || !call || !o || !count || !room || !pbx_id_valid(room) ||
	    !o->moh || !o->moh_len)
		return -EINVAL;
	*count = 0;
	if (call->conf || (call->ring && call->ring->bridged))
		return -EALREADY;
	room_key(key, sizeof(key), mwcall_tenant(call), room);
	r = room_find(t, key);
	if (r && r->n >= max) {
		*count = r->n;
		return -ENOSPC;
	}
	if (!call->answered) {
		err = mwcall_answer_caller(call, 0);
		if (err)
			return err;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			free(m);
			return -ENOMEM;
		}
		r->t = t;
		snprintf(r->key, sizeof(r->key), "%s", key);
		r->wait_moderator = o->wait_moderator;
		r->end_with_moderator = o->end_with_moderator;
		tmr_init(&r->tmr_end);
		list_init(&r->members);
		pacer_entry_init(&r->pe, room_tick, r);
		hash_append(t->rooms, hash_joaat_str(r->key), &r->he, r);
		t->nrooms++;
	}
	m->room = r;
	m->call = call;
	m->muted = o->muted;
	m->moderator = o->moderator;
	m->moh = mem_ref(o->moh);
	m->moh_len = o->moh_len;
	list_append(&r->members, &m->le, m);
	r->n++;
	r->moderators += m->moderator;
	call->conf = m;
	/* A prompt of the router's (the PIN prompt) ends here: the room's
	 * audio takes over. */
	if (call->playing == PLAY_PROMPT || call->playing == PLAY_MOH)
		mwcall_player_stop(call);
	room_update(r);
	if (r->live)
		room_tone(r, t->join_tone, t->join_len);
	*count = r->n;
	PLOG_INFO("conference %s: joined%s%s, %u member(s)%s", r->key,
		  m->moderator ? " as moderator" : "",
		  m->muted ? " muted" : "", r->n,
		  r->live ? "" : " (music on hold)");
	return 0;
}

/* Ends the first member's call (its handler frees the call, and with it
 * the member, and the room after its last one); again from the timer
 * until nobody is left. One a turn: no list walk while calls free. */
static void end_next(void *arg)
{
	struct confroom_room *r = arg;
	struct confroom_member *m = list_ledata(list_head(&r->members));
	struct mwcall_event ev = {.kind = MWCALL_EV_CLOSED,
				  .ended = true,
				  .detail = "the moderator left"};
	bool last = r->n == 1;

	if (!m)
		return;
	mwcall_log_ctx(m->call);
	PLOG_INFO("conference %s: the moderator left; ending the call",
		  r->key);
	mwcall_emit(m->call, &ev); /* frees m, and r when it was the last */
	pbx_log_ctx(NULL, NULL);
	if (!last)
		tmr_start(&r->tmr_end, 0, end_next, r);
}

void confroom_member_leave(struct confroom_member *m)
{
	struct confroom_room *r;
	bool m_was_moderator;

	if (!m)
		return;
	r = m->room;
	list_unlink(&m->le);
	r->n--;
	r->moderators -= m->moderator;
	m_was_moderator = m->moderator;
	m->call->conf = NULL;
	mem_deref(m->moh);
	PLOG_INFO("conference %s: left, %u member(s) remain", r->key, r->n);
	free(m);
	if (!r->n) {
		room_free(r);
		return;
	}
	if (r->end_with_moderator && !r->moderators && !r->ending &&
	    m_was_moderator) {
		r->ending = true;
		tmr_start(&r->tmr_end, 0, end_next, r);
		return;
	}
	room_update(r);
	if (r->live)
		room_tone(r, r->t->leave_tone, r->t->leave_len);
}

/* ---- member input ---- */

void confroom_member_audio(struct confroom_member *m, const uint8_t *payload,
			   size_t len)
{
	/* Queued even while muted: unmuting then takes fresh frames, and
	 * the queue bounds itself. */
	mixer_in_push(&m->in, payload, len, m->call->leg.codec.law);
}

static void member_set_mute(struct confroom_member *m, bool muted)
{
	struct mwcall_event ev = {.kind = MWCALL_EV_CONF_MUTED,
				  .muted = muted};

	m->muted = muted;
	PLOG_INFO("conference %s: %s", m->room->key,
		  muted ? "muted" : "unmuted");
	mwcall_emit(m->call, &ev);
}

void confroom_member_digit(struct confroom_member *m, char digit)
{
	if (m->star && digit == '6')
		member_set_mute(m, !m->muted);
	m->star = digit == '*';
}

void confroom_member_resume(struct confroom_member *m)
{
	room_update(m->room);
}

bool confroom_member_muted(const struct confroom_member *m)
{
	return m->muted;
}

int confroom_mute(struct mwcall *call, bool muted)
{
	if (!call || !call->conf)
		return -ENOENT;
	member_set_mute(call->conf, muted);
	return 0;
}

/* ---- the table ---- */

int confroom_table_alloc(struct confroom_table **tp, struct pacer *pacer)
{
	struct confroom_table *t;
	int err;

	if (!tp || !pacer)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pacer = pacer;
	err = -hash_alloc(&t->rooms, 256);
	if (!err)
		err = mixer_tone(&t->join_tone, &t->join_len, JOIN_HZ,
				 JOIN_HZ2, TONE_MS);
	if (!err)
		err = mixer_tone(&t->leave_tone, &t->leave_len, JOIN_HZ2,
				 JOIN_HZ, TONE_MS);
	if (err) {
		confroom_table_free(t);
		return err;
	}
	*tp = t;
	return 0;
}

void confroom_table_free(struct confroom_table *t)
{
	if (!t)
		return;
	if (t->nrooms)
		PLOG_WARN("conference: %u room(s) left at exit", t->nrooms);
	mem_deref(t->rooms);
	free(t->join_tone);
	free(t->leave_tone);
	free(t);
}

unsigned confroom_count(const struct confroom_table *t)
{
	return t ? t->nrooms : 0;
}

unsigned confroom_members(const struct confroom_table *t, const char *tenant,
			  const char *room)
{
	char key[ROOM_KEY_MAX];
	const struct confroom_room *r;

	if (!t || !tenant || !room)
		return 0;
	room_key(key, sizeof(key), tenant, room);
	r = room_find(t, key);
	return r ? r->n : 0;
}
