/* Test support: a router as media workers see it, for Criterion tests. A
 * ZeroMQ ROUTER (pbx_bus) bound on the caller's libre loop that records
 * every MediaEvent and the last WorkerHeartbeat, and sends MediaCommands
 * to the worker that last spoke to it. Failures are Criterion asserts. */
#ifndef TEST_ROUTER_H
#define TEST_ROUTER_H
#include <stdbool.h>
#include <stdint.h>

#include <re.h>

#include "pbx_bus.h"

#include "pbx/v1/envelope.pb-c.h"

enum { TEST_ROUTER_EVENTS = 64 };

/* One MediaEvent as received. */
struct test_router_ev {
	int kind; /* Pbx__V1__MediaEvent__Kind */
	uint64_t seq;
	uint32_t sip_code;
	char detail[96];
	char digit;
	int ring_result;
	uint32_t timer_id;
	char callid[128];
	char caller[64];
	char dialed[64];
	char reply_to[64]; /* the message_id of the command it answers */
	char leg[64];	   /* RING_RESULT of a named leg */
	uint32_t conf_members;
	bool conf_muted;
	char fax_id[64];   /* FAX_DONE */
	int fax_result;
	unsigned fax_pages;
};

/* Owned by the test; fields are read by it. */
struct test_router {
	struct pbx_bus *bus;
	int fd;
	struct pbx_bus_peer peer; /* the worker that last sent */
	bool have_peer;
	struct tmr tmr_poll;
	struct tmr tmr_kick;
	struct test_router_ev evs[TEST_ROUTER_EVENTS];
	unsigned nev;
	char callid[256]; /* of the last INCOMING */
	/* the last heartbeat */
	unsigned hbs;
	uint32_t hb_load;
	uint32_t hb_capacity;
	bool hb_draining;
	uint64_t seq; /* of the last command sent */
};

/* Binds endpoint ep on zctx (libre_init() done). r must be zeroed. */
void test_router_open(struct test_router *r, void *zctx, const char *ep);
/* NULL-safe on a zeroed router (fd -1 or 0 never opened). */
void test_router_close(struct test_router *r);

/* Sends mc (its seq set to the next number, returned; message_id
 * "cmd-<seq>") about call `callid` of `tenant` to the worker that last
 * sent us something. */
uint64_t test_router_send(struct test_router *r, Pbx__V1__MediaCommand *mc,
			  const char *tenant, const char *callid);

unsigned test_router_count(const struct test_router *r, int kind);
/* The first event of `kind`, or NULL. */
const struct test_router_ev *test_router_find(const struct test_router *r,
					      int kind);
/* The most recent event (there must be one). */
const struct test_router_ev *test_router_last(const struct test_router *r);
/* Runs the loop until an event of `kind` arrived, or ms passed. */
bool test_router_wait(struct test_router *r, int kind, uint32_t ms);

#endif
