/* The protobuf schema of scenario documents (proto/pbx/v1/scenario.proto)
 * and the engine's option table describe the same options: a field added
 * to one and not the other fails here, so the two never drift. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbx/v1/scenario.pb-c.h"
#include "pbx_test.h"
#include "scenario_types.h"

TestSuite(scenario_schema, .fini = pbx_test_fini);

/* The oneof field of ScenarioNode that carries each element's options. */
static const ProtobufCMessageDescriptor *options_of(const char *type)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(
			&pbx__v1__scenario_node__descriptor, type);

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return f->descriptor;
}

Test(scenario_schema, every_element_has_a_proto_options_message)
{
	for (int t = 0; t < NODE_TYPE_COUNT; t++) {
		const struct type_spec *ts = scenario_types_get(t);

		cr_assert_not_null(options_of(ts->name),
				   "ScenarioNode has no field \"%s\"",
				   ts->name);
	}
}

Test(scenario_schema, proto_and_engine_list_the_same_options)
{
	for (int t = 0; t < NODE_TYPE_COUNT; t++) {
		const struct type_spec *ts = scenario_types_get(t);
		const ProtobufCMessageDescriptor *md = options_of(ts->name);
		unsigned n = 0;

		cr_assert_not_null(md);
		for (const struct opt_spec *o = ts->opts; o->name; o++) {
			cr_assert_not_null(
				protobuf_c_message_descriptor_get_field_by_name(
					md, o->name),
				"%s: option \"%s\" is missing from %s",
				ts->name, o->name, md->name);
			n++;
		}
		cr_assert_eq(md->n_fields, n,
			     "%s: %s has %u fields, the engine %u options",
			     ts->name, md->name, md->n_fields, n);
	}
}
