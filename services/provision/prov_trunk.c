/* Trunks: the operator's carrier connections, shared by all tenants. The
 * keys are read by Kamailio: the trunk hash for outbound calls (address,
 * digest credentials, number format), pbx:{sys}:trunk_ip:<ip> to tell an
 * inbound carrier call by its source address, and pbx:{sys}:trunk_default
 * for the route out. The password is never stored: the trunk hash keeps
 * HA1 = MD5(username:realm:password) for the carrier's realm, which is all
 * Kamailio's uac_auth("1") needs to answer its digest challenge (and all a
 * reader of Redis learns); the request's copy is wiped after hashing.
 * Each write is one Lua script
 * over {sys} keys, so Kamailio never sees a trunk half-added or an index
 * pointing at a removed trunk. */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pbx_keys.h"
#include "pbx_log.h"
#include "prov.h"

#define HOST_MAX 253
#define USERNAME_MAX 64
#define PASSWORD_MAX 128
#define REALM_MAX 128
#define SIP_PORT 5060

/* KEYS: trunk hash, trunk set, trunk_ip:<ip>, trunk_default.
 * ARGV: name, address, ip, username, ha1, format, trunk_ip prefix, realm.
 * Returns {0, became default 0/1} or {-1, owner} when another trunk holds
 * the IP. */
static const char add_lua[] =
	"local owner = redis.call('GET', KEYS[3]) "
	"if owner and owner ~= ARGV[1] then return {-1, owner} end "
	"local old = redis.call('HGET', KEYS[1], 'ip') "
	"if old and old ~= ARGV[3] then "
	"  local ok = ARGV[7] .. old "
	"  if redis.call('GET', ok) == ARGV[1] then redis.call('DEL', ok) end "
	"end "
	"redis.call('DEL', KEYS[1]) "
	"redis.call('HSET', KEYS[1], 'address', ARGV[2], 'ip', ARGV[3], "
	"'format', ARGV[6]) "
	"if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'username', "
	"ARGV[4], 'realm', ARGV[8], 'ha1', ARGV[5]) end "
	"redis.call('SET', KEYS[3], ARGV[1]) "
	"redis.call('SADD', KEYS[2], ARGV[1]) "
	"if redis.call('SET', KEYS[4], ARGV[1], 'NX') then return {0, 1} end "
	"return {0, 0}";

/* KEYS: trunk hash, trunk set, trunk_default, tenant_trunks. ARGV: name,
 * trunk_ip prefix. The default moves to the first remaining trunk by
 * name, so outbound calls keep a route while any trunk is left. The
 * trunk leaves every tenant's list in the same step (the others keep
 * their order); a tenant left with none takes the default again.
 * Returns {0, new default or '', "t1,t2" the tenants whose list changed}
 * or {-1, '', ''} when the trunk does not exist. */
static const char remove_lua[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 and "
	"redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then "
	"return {-1, '', ''} end "
	"local ip = redis.call('HGET', KEYS[1], 'ip') "
	"if ip then "
	"  local k = ARGV[2] .. ip "
	"  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end "
	"end "
	"redis.call('DEL', KEYS[1]) "
	"redis.call('SREM', KEYS[2], ARGV[1]) "
	"local nd = '' "
	"if redis.call('GET', KEYS[3]) == ARGV[1] then "
	"  local m = redis.call('SMEMBERS', KEYS[2]) "
	"  table.sort(m) "
	"  if #m > 0 then redis.call('SET', KEYS[3], m[1]) nd = m[1] "
	"  else redis.call('DEL', KEYS[3]) end "
	"end "
	"local all = redis.call('HGETALL', KEYS[4]) "
	"local hit = {} "
	"for i = 1, #all, 2 do "
	"  local keep, was = {}, false "
	"  for t in string.gmatch(all[i + 1], '[^,]+') do "
	"    if t == ARGV[1] then was = true else keep[#keep + 1] = t end "
	"  end "
	"  if was then "
	"    hit[#hit + 1] = all[i] "
	"    if #keep == 0 then redis.call('HDEL', KEYS[4], all[i]) "
	"    else redis.call('HSET', KEYS[4], all[i], "
	"      table.concat(keep, ',')) end "
	"  end "
	"end "
	"table.sort(hit) "
	"return {0, nd, table.concat(hit, ',')}";

/* KEYS: tenant_trunks, trunk set, tenants. ARGV: tenant, "a,b", names...
 * Checked and written in one step, so no list ever names a trunk that
 * is being removed. Returns {0, ''}, {-1, name} for a name that is no
 * trunk, {-2, ''} for an unknown tenant. */
static const char assign_lua[] =
	"if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then "
	"return {-2, ''} end "
	"for i = 3, #ARGV do "
	"  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then "
	"  return {-1, ARGV[i]} end "
	"end "
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"return {0, ''}";

static const char *const formats[] = {"e164", "national", "local"};

/* Splits "host[:port]" into host and port; a host name or dotted IPv4
 * address. */
static int parse_address(struct prov_reply *r, const char *addr,
			 char host[HOST_MAX + 1], unsigned *port)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

	*port = SIP_PORT;
	if (n == 0 || n > HOST_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (!isalnum(c) && c != '.' && c != '-')
			goto bad;
	}
	memcpy(host, addr, n);
	host[n] = '\0';
	/* All digits and dots: only a dotted quad. getaddrinfo would take
	 * "100" or "10.1" as the legacy inet_aton forms (0.0.0.100), and a
	 * host name's last label is never numeric. */
	if (strspn(host, "0123456789.") == n) {
		struct in_addr a;

		if (inet_pton(AF_INET, host, &a) != 1)
			goto bad;
	}
	if (colon) {
		char *end;
		long p;

		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
			return prov_fail(r, -EINVAL,
					 "the trunk port must be 1 to 65535");
		*port = (unsigned)p;
	}
	return 0;
bad:
	return prov_fail(r, -EINVAL,
			 "the trunk address must be host[:port], e.g. "
			 "sip.carrier.example:5060 or 192.0.2.10");
}

/* The IPv4 address host resolves to now (first answer). */
static int resolve(struct prov_reply *r, const char *host,
		   char ip[INET_ADDRSTRLEN])
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc || !res)
		return prov_fail(r, -EINVAL,
				 "cannot resolve %s to an IPv4 address: %s",
				 host, rc ? gai_strerror(rc) : "no address");
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
		  ip, INET_ADDRSTRLEN);
	freeaddrinfo(res);
	return 0;
}

static bool text_sane(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isgraph((unsigned char)s[i]))
			return false;
	}
	return true;
}

static int check_format(struct prov_reply *r, const char **format)
{
	if (!(*format)[0]) {
		*format = formats[0];
		return 0;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcmp(formats[i], *format))
			return 0;
	}
	return prov_fail(r, -EINVAL,
			 "the number format must be e164, national or local");
}

static int add(struct provision *pv, const Pbx__V1__ProvRequest__TrunkAdd *q,
	       struct prov_reply *r)
{
	const char *name = prov_str(q->name);
	const char *user = prov_str(q->username);
	const char *password = prov_str(q->password);
	const char *format = prov_str(q->number_format);
	const char *realm = prov_str(q->realm);
	char host[HOST_MAX + 1], ip[INET_ADDRSTRLEN], address[HOST_MAX + 8];
	char ha1[33] = "";
	char hkey[PBX_KEY_MAX], skey[PBX_KEY_MAX], ikey[PBX_KEY_MAX];
	char dkey[PBX_KEY_MAX], prefix[PBX_KEY_MAX];
	redisReply *rep = NULL;
	unsigned port;
	int err;

	err = prov_check_id(r, "trunk name", name);
	if (!err)
		err = parse_address(r, prov_str(q->address), host, &port);
	if (!err)
		err = check_format(r, &format);
	if (err)
		return err;
	if (!user[0] != !password[0])
		return prov_fail(r, -EINVAL,
				 "give both a username and a password, or "
				 "neither");
	if (!text_sane(user, USERNAME_MAX))
		return prov_fail(r, -EINVAL,
				 "the username must be at most %d printable "
				 "characters without spaces",
				 USERNAME_MAX);
	if (!text_sane(password, PASSWORD_MAX))
		return prov_fail(r, -EINVAL,
				 "the password must be at most %d printable "
				 "characters without spaces",
				 PASSWORD_MAX);
	if (user[0] && !realm[0])
		return prov_fail(r, -EINVAL,
				 "a trunk with credentials needs --realm, the "
				 "carrier's digest realm (the password is "
				 "stored only as "
				 "MD5(username:realm:password))");
	if (!user[0] && realm[0])
		return prov_fail(r, -EINVAL,
				 "--realm goes with --username and "
				 "--password");
	if (!text_sane(realm, REALM_MAX) || strchr(realm, '"'))
		return prov_fail(r, -EINVAL,
				 "the realm must be at most %d printable "
				 "characters without spaces or quotes",
				 REALM_MAX);
	if (user[0]) {
		err = prov_extension_ha1(ha1, user, realm, password);
		if (err)
			return err;
	}
	err = resolve(r, host, ip);
	if (err)
		return err;
	snprintf(address, sizeof(address), "%s:%u", host, port);
	if (pbx_key_sys(hkey, sizeof(hkey), "trunk:%s", name) ||
	    pbx_key_sys(skey, sizeof(skey), "trunks") ||
	    pbx_key_sys(ikey, sizeof(ikey), "trunk_ip:%s", ip) ||
	    pbx_key_sys(dkey, sizeof(dkey), "trunk_default") ||
	    pbx_key_sys(prefix, sizeof(prefix), "trunk_ip:"))
		return -EINVAL;
	err = prov_store_cmd(pv, &rep,
			     "EVAL %s 4 %s %s %s %s %s %s %s %s %s %s %s %s",
			     add_lua, hkey, skey, ikey, dkey, name, address,
			     ip, user, ha1, format, prefix, realm);
	explicit_bzero(ha1, sizeof(ha1));
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -EIO;
	}
	if (rep->element[0]->integer) {
		err = prov_fail(r, -EEXIST, "%s (%s) is already trunk %s", ip,
				host,
				rep->element[1]->str ? rep->element[1]->str
						     : "?");
	} else {
		PLOG_INFO("trunk %s: %s (%s), %s%s%s", name, address, ip,
			  format, user[0] ? ", digest auth" : "",
			  rep->element[1]->integer ? ", default" : "");
	}
	freeReplyObject(rep);
	return err;
}

int prov_trunk_add(struct provision *pv,
		   const Pbx__V1__ProvRequest__TrunkAdd *q,
		   struct prov_reply *r)
{
	int err = add(pv, q, r);

	/* The request buffer is the bus's, freed (not wiped) after we
	 * return: wipe the password now, whatever happened. */
	if (q->password)
		explicit_bzero(q->password, strlen(q->password));
	return err;
}

int prov_trunk_remove(struct provision *pv,
		      const Pbx__V1__ProvRequest__TrunkRef *q,
		      struct prov_reply *r)
{
	const char *name = prov_str(q->name);
	char hkey[PBX_KEY_MAX], skey[PBX_KEY_MAX], dkey[PBX_KEY_MAX];
	char prefix[PBX_KEY_MAX], akey[PBX_KEY_MAX];
	redisReply *rep = NULL;
	const char *nd, *hit;
	int err;

	err = prov_check_id(r, "trunk name", name);
	if (err)
		return err;
	if (pbx_key_sys(hkey, sizeof(hkey), "trunk:%s", name) ||
	    pbx_key_sys(skey, sizeof(skey), "trunks") ||
	    pbx_key_sys(dkey, sizeof(dkey), "trunk_default") ||
	    pbx_key_sys(prefix, sizeof(prefix), "trunk_ip:") ||
	    pbx_key_sys_of(akey, sizeof(akey), PBX_KS_TENANT_TRUNKS))
		return -EINVAL;
	err = prov_store_cmd(pv, &rep, "EVAL %s 4 %s %s %s %s %s %s",
			     remove_lua, hkey, skey, dkey, akey, name, prefix);
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -EIO;
	}
	nd = rep->element[1]->str ? rep->element[1]->str : "";
	hit = rep->element[2]->str ? rep->element[2]->str : "";
	if (rep->element[0]->integer) {
		err = prov_already_absent(r);
	} else {
		if (nd[0])
			PLOG_INFO("trunk %s removed; %s is the default now",
				  name, nd);
		/* Said to the operator: these tenants' calls now leave
		 * through their next trunk, or the default one. */
		if (hit[0]) {
			PLOG_INFO("trunk %s removed from the trunks of %s",
				  name, hit);
			err = prov_strv_add(&r->items,
					    "removed from the trunks of %s",
					    hit);
		}
	}
	freeReplyObject(rep);
	return err;
}

/* "<tenant> trunks <list>" or "... default (<name>|none)". */
static int assign_show(struct provision *pv, const char *tenant,
		       const char *akey, struct prov_reply *r)
{
	char dkey[PBX_KEY_MAX];
	char *list = NULL, *def = NULL;
	int err;

	if (pbx_key_sys(dkey, sizeof(dkey), "trunk_default"))
		return -EINVAL;
	err = prov_store_str(pv, &list, "HGET %s %s", akey, tenant);
	if (!err)
		err = prov_store_str(pv, &def, "GET %s", dkey);
	if (!err && list)
		err = prov_strv_add(&r->items, "%s trunks %s", tenant, list);
	else if (!err)
		err = prov_strv_add(&r->items, "%s trunks default (%s)",
				    tenant, def ? def : "none");
	free(list);
	free(def);
	return err;
}

int prov_trunk_assign(struct provision *pv,
		      const Pbx__V1__ProvRequest__TrunkAssign *q,
		      struct prov_reply *r)
{
	const char *tenant = prov_str(q->tenant);
	char akey[PBX_KEY_MAX], skey[PBX_KEY_MAX], tkey[PBX_KEY_MAX];
	char list[PROV_TRUNKS_MAX * (PBX_ID_MAX + 1) + 1] = "";
	const char *argv[7 + PROV_TRUNKS_MAX];
	redisReply *rep = NULL;
	int err, argc = 0;

	err = prov_tenant_known(pv, r, tenant);
	if (err)
		return err;
	if (pbx_key_sys_of(akey, sizeof(akey), PBX_KS_TENANT_TRUNKS) ||
	    pbx_key_sys(skey, sizeof(skey), "trunks") ||
	    pbx_key_sys(tkey, sizeof(tkey), "tenants"))
		return -EINVAL;
	if (q->clear && q->n_trunks)
		return prov_fail(r, -EINVAL,
				 "give trunk names or clear, not both");
	if (q->clear) {
		err = prov_store_do(pv, "HDEL %s %s", akey, tenant);
		if (!err)
			PLOG_INFO("tenant %s: outbound legs take the default "
				  "trunk",
				  tenant);
		return err ? err : assign_show(pv, tenant, akey, r);
	}
	if (!q->n_trunks)
		return assign_show(pv, tenant, akey, r);
	if (q->n_trunks > PROV_TRUNKS_MAX)
		return prov_fail(r, -EINVAL, "at most %d trunks per tenant",
				 PROV_TRUNKS_MAX);
	for (size_t i = 0; i < q->n_trunks; i++) {
		const char *t = prov_str(q->trunks[i]);

		err = prov_check_id(r, "trunk name", t);
		if (err)
			return err;
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(t, q->trunks[k]))
				return prov_fail(r, -EINVAL,
						 "trunk %s is named twice", t);
		}
		if (i)
			strcat(list, ",");
		strcat(list, t);
	}
	argv[argc++] = "EVAL";
	argv[argc++] = assign_lua;
	argv[argc++] = "3";
	argv[argc++] = akey;
	argv[argc++] = skey;
	argv[argc++] = tkey;
	argv[argc++] = tenant;
	argv[argc++] = list;
	for (size_t i = 0; i < q->n_trunks; i++)
		argv[argc++] = q->trunks[i];
	err = prov_store_argv(pv, &rep, argc, argv, NULL);
	if (err)
		return err;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		return -EIO;
	}
	if (rep->element[0]->integer == -1)
		err = prov_fail(r, -ENOENT, "no trunk %s (pbxctl trunk list)",
				rep->element[1]->str ? rep->element[1]->str
						     : "?");
	else if (rep->element[0]->integer)
		err = prov_fail(r, -ENOENT, "unknown tenant %s", tenant);
	freeReplyObject(rep);
	if (err)
		return err;
	PLOG_INFO("tenant %s: outbound legs take trunks %s", tenant, list);
	return assign_show(pv, tenant, akey, r);
}

int prov_trunk_list(struct provision *pv, struct prov_reply *r)
{
	struct prov_strv names = {.v = NULL};
	char key[PBX_KEY_MAX];
	char *def = NULL;
	int err;

	if (pbx_key_sys(key, sizeof(key), "trunk_default"))
		return -EINVAL;
	err = prov_store_str(pv, &def, "GET %s", key);
	if (!err && pbx_key_sys(key, sizeof(key), "trunks"))
		err = -EINVAL;
	if (!err)
		err = prov_store_list(pv, &names, "SMEMBERS %s", key);
	for (size_t i = 0; !err && i < names.n; i++) {
		redisReply *rep = NULL;
		const char *f[5];

		if (pbx_key_sys(key, sizeof(key), "trunk:%s", names.v[i]))
			continue;
		/* Never the HA1: it is not even read. */
		err = prov_store_cmd(pv, &rep,
				     "HMGET %s address ip format username "
				     "realm",
				     key);
		if (err)
			break;
		for (size_t k = 0; k < 5; k++)
			f[k] = rep->type == REDIS_REPLY_ARRAY &&
					       rep->elements == 5 &&
					       rep->element[k]->type ==
						       REDIS_REPLY_STRING
				       ? rep->element[k]->str
				       : NULL;
		err = prov_strv_add(&r->items,
				    "%s %s ip %s format %s%s%s%s%s%s",
				    names.v[i], f[0] ? f[0] : "-",
				    f[1] ? f[1] : "-", f[2] ? f[2] : "e164",
				    f[3] ? " user " : "", f[3] ? f[3] : "",
				    f[4] ? " realm " : "", f[4] ? f[4] : "",
				    def && !strcmp(def, names.v[i])
					    ? " default"
					    : "");
		freeReplyObject(rep);
	}
	free(def);
	prov_strv_reset(&names);
	return err;
}
