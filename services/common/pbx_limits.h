/* Per-tenant limits: their names in the tenant hash (pbx:{t}:tenant) and
 * the defaults that apply while a tenant has none set. Provisioning
 * writes them, the router enforces calls and cps when it places a call,
 * Kamailio enforces carrier legs (deploy/kamailio/kamailio.cfg, which
 * carries the same default). */
#ifndef PBX_LIMITS_H
#define PBX_LIMITS_H

#define PBX_LIMIT_CALLS_FIELD "limit_calls"
#define PBX_LIMIT_CPS_FIELD "limit_cps"
#define PBX_LIMIT_CARRIER_FIELD "limit_carrier_legs"

/* Generous for an office, small enough that one tenant (or a fraud on
 * its behalf) cannot take the platform or a carrier account down. */
#define PBX_LIMIT_CALLS_DEFAULT 200
#define PBX_LIMIT_CPS_DEFAULT 50
#define PBX_LIMIT_CARRIER_DEFAULT 10

#endif
