/* The changes of one voicemail message, the same wherever they are made:
 * provisioning (pbxctl vm heard|delete) and the media worker (a phone's
 * keys after *97 / *98, docs/voicemail.md). Each is one Lua script on the
 * tenant's slot (the message must be in the box's sorted set, so a
 * message is reached only through its own tenant and box), then the MWI
 * job for the notifier (pbx_notify.h), then, for a delete, the file:
 * Redis never names a missing file, and the tenant's byte count (its
 * quota, pbx:{t}:vm:bytes) loses the message's bytes in the same script
 * that unlists it. */
#ifndef PBX_VM_BOX_H
#define PBX_VM_BOX_H
#include <stdarg.h>

struct redisReply;

/* The PIN lock-out of a box against phones (docs/voicemail.md): this many
 * wrong PINs within PBX_VM_PIN_LOCK_S of the first (the TTL of
 * pbx:{t}:vm:pinfail:<box>) lock it; the media worker counts, pbxctl vm
 * unlock clears. */
#define PBX_VM_PIN_LOCK_AFTER 10
#define PBX_VM_PIN_LOCK_S 900

/* One Redis command of the caller's connection: 0 with *rp (the caller
 * frees it), or a negative errno (a server error reply is an error). */
typedef int(pbx_vm_cmd_h)(void *arg, struct redisReply **rp,
			  const char *fmt, va_list ap);

struct pbx_vm_store {
	pbx_vm_cmd_h *cmd;
	void *arg;
	const char *media_root; /* where the message files are */
};

/* Marks message `id` of `box` heard. 0; -ENOENT: not in that box;
 * -EINVAL: a bad tenant, box or id; -EIO: Redis. */
int pbx_vm_heard(const struct pbx_vm_store *s, const char *tenant,
		 const char *box, const char *id);
/* Deletes message `id` of `box`: unlisted and uncounted, MWI job, then
 * its file. Same returns. */
int pbx_vm_delete(const struct pbx_vm_store *s, const char *tenant,
		  const char *box, const char *id);

/* Checks a whole voicemail_box document as provisioning's object put does
 * (scenario_object_check: the PIN's 4-8 digits...). 0, or -EINVAL. */
typedef int(pbx_vm_check_h)(const char *json);

/* Sets `field` of box's voicemail_box object to the string value (the
 * object is created if the box has none), as `pbxctl object put` would
 * store it: the whole document checked, stored in the tenant's objects
 * hash, pbx:{t}:objects_rev bumped in the same script. Used from a
 * phone (a new PIN). 0; -EINVAL (bad input, or check refused); -EPROTO
 * the stored document is not a JSON object; -EAGAIN changed twice while
 * we wrote; -EIO Redis. */
int pbx_vm_box_set(const struct pbx_vm_store *s, const char *tenant,
		   const char *box, const char *field, const char *value,
		   pbx_vm_check_h *check);

#endif
