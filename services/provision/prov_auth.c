/* Authorisation of provisioning requests by the caller's CURVE key name
 * (its User-Id, docs/security.md "Buses"): a key named tenant-<t> may run
 * only the operations about tenant <t>; any other allowed key is an
 * operator's and may run everything. Without CURVE (no User-Id) every
 * request is an operator's: the socket is then open to whoever can reach
 * it, which is why the stack always configures CURVE. */
#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <string.h>

#include "prov.h"

#define TENANT_KEY_PREFIX "tenant-"

/* Operations that create, delete or enumerate tenants, or change what
 * tenants share (carrier trunks, paid features, the media workers):
 * operator keys only. */
static const Pbx__V1__ProvRequest__OpCase operator_only[] = {
	PBX__V1__PROV_REQUEST__OP_TENANT_CREATE,
	PBX__V1__PROV_REQUEST__OP_TENANT_LIST,
	PBX__V1__PROV_REQUEST__OP_TENANT_DELETE,
	PBX__V1__PROV_REQUEST__OP_TRUNK_ADD,
	PBX__V1__PROV_REQUEST__OP_TRUNK_REMOVE,
	PBX__V1__PROV_REQUEST__OP_TRUNK_LIST,
	PBX__V1__PROV_REQUEST__OP_TRUNK_ASSIGN,
	PBX__V1__PROV_REQUEST__OP_TENANT_FEATURE,
	PBX__V1__PROV_REQUEST__OP_TENANT_LIMITS,
	PBX__V1__PROV_REQUEST__OP_VM_QUOTA,
	PBX__V1__PROV_REQUEST__OP_WORKER_LIST,
	PBX__V1__PROV_REQUEST__OP_WORKER_DRAIN,
	PBX__V1__PROV_REQUEST__OP_WORKER_UNDRAIN,
};

const char *prov_auth_tenant_scope(const char *user)
{
	size_t n = strlen(TENANT_KEY_PREFIX);

	if (!user || strncmp(user, TENANT_KEY_PREFIX, n) || !user[n])
		return NULL;
	return user + n;
}

const char *prov_request_tenant_field(const Pbx__V1__ProvRequest *q)
{
	const ProtobufCFieldDescriptor *op, *tf;
	const ProtobufCMessage *sub;

	/* The oneof case is the field number of the operation's message,
	 * and every operation that names a tenant has a string "tenant". */
	op = protobuf_c_message_descriptor_get_field(
		&pbx__v1__prov_request__descriptor, (unsigned)q->op_case);
	if (!op || op->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	sub = *(const ProtobufCMessage *const *)((const char *)q +
						   op->offset);
	if (!sub)
		return NULL;
	tf = protobuf_c_message_descriptor_get_field_by_name(sub->descriptor,
							     "tenant");
	if (!tf || tf->type != PROTOBUF_C_TYPE_STRING)
		return NULL;
	return *(const char *const *)((const char *)sub + tf->offset);
}

int prov_auth_check(const char *user, const Pbx__V1__ProvRequest *q,
		    struct prov_reply *r)
{
	const char *scope = prov_auth_tenant_scope(user), *t;

	if (!user || !user[0] || !scope)
		return 0; /* no CURVE, or an operator key */
	for (size_t i = 0; i < sizeof(operator_only) / sizeof(*operator_only);
	     i++) {
		if (q->op_case == operator_only[i])
			return prov_fail(r, -EACCES,
					 "this needs an operator key; key %s "
					 "may only manage tenant %s",
					 user, scope);
	}
	t = prov_request_tenant_field(q);
	if (!t || strcmp(t, scope))
		return prov_fail(r, -EACCES,
				 "key %s may only manage tenant %s", user,
				 scope);
	return 0;
}
