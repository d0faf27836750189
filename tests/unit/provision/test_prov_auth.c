/* Tests for prov_auth.c: the key-name authorisation of every provisioning
 * operation, driven by the ProvRequest descriptor so that an operation
 * added to the proto is covered without editing this file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_test.h"
#include "prov.h"

static void fini(void)
{
	pbx_test_fini();
}

TestSuite(prov_auth, .fini = fini);

/* The operations a tenant key may never run. */
static bool operator_only(const char *op)
{
	static const char *const ops[] = {
		"tenant_create", "tenant_list",  "tenant_delete", "trunk_add",
		"trunk_remove",  "trunk_list",   "tenant_feature", "tenant_limits",
		"vm_quota",      "worker_list",  "worker_drain", "worker_undrain",
		"trunk_assign",
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
		if (!strcmp(op, ops[i]))
			return true;
	return false;
}

/* Builds request q for operation field f with tenant (when the
 * operation's message has one); returns the sub-message to free. */
static ProtobufCMessage *build(Pbx__V1__ProvRequest *q,
			       const ProtobufCFieldDescriptor *f,
			       const char *tenant)
{
	const ProtobufCMessageDescriptor *md = f->descriptor;
	ProtobufCMessage *sub = calloc(1, md->sizeof_message);
	const ProtobufCFieldDescriptor *tf;

	cr_assert_not_null(sub);
	protobuf_c_message_init(md, sub);
	tf = protobuf_c_message_descriptor_get_field_by_name(md, "tenant");
	if (tf)
		*(const char **)((char *)sub + tf->offset) = tenant;
	pbx__v1__prov_request__init(q);
	q->op_case = (Pbx__V1__ProvRequest__OpCase)f->id;
	*(ProtobufCMessage **)((char *)q + f->offset) = sub;
	return sub;
}

static int check(const char *user, const ProtobufCFieldDescriptor *f,
		 const char *tenant, Pbx__V1__ProvResponse__Status *st)
{
	Pbx__V1__ProvRequest q;
	struct prov_reply r = {.error = NULL};
	ProtobufCMessage *sub = build(&q, f, tenant);
	int err = prov_auth_check(user, &q, &r);

	*st = r.status;
	prov_reply_reset(&r);
	free(sub);
	return err;
}

Test(prov_auth, every_operation_by_key_kind)
{
	const ProtobufCMessageDescriptor *d =
		&pbx__v1__prov_request__descriptor;
	Pbx__V1__ProvResponse__Status st;
	unsigned ops = 0;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		bool op_only = operator_only(f->name);

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		ops++;
		/* No CURVE, or an operator key: everything. */
		cr_assert_eq(check("", f, "b", &st), 0, "%s", f->name);
		cr_assert_eq(check("operator", f, "b", &st), 0, "%s",
			     f->name);
		/* Another tenant's key: nothing. */
		cr_assert_eq(check("tenant-a", f, "b", &st), -EACCES, "%s",
			     f->name);
		cr_assert_eq(
			st,
			PBX__V1__PROV_RESPONSE__STATUS__STATUS_PERMISSION_DENIED,
			"%s", f->name);
		/* Its own tenant: all but the operator's operations. */
		cr_assert_eq(check("tenant-b", f, "b", &st),
			     op_only ? -EACCES : 0, "%s", f->name);
		/* An operation with the tenant left empty is not its own. */
		if (!op_only)
			cr_assert_eq(check("tenant-b", f, "", &st), -EACCES,
				     "%s", f->name);
	}
	cr_assert_geq(ops, 28);
}

Test(prov_auth, tenant_scope_of_key_names)
{
	cr_assert_str_eq(prov_auth_tenant_scope("tenant-acme"), "acme");
	cr_assert_null(prov_auth_tenant_scope("tenant-"));
	cr_assert_null(prov_auth_tenant_scope("operator"));
	cr_assert_null(prov_auth_tenant_scope(NULL));
}
