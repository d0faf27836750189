-- Queue-manager state machine: every change to a tenant's queues, agents
-- and timers is one run of this script, so Redis applies it atomically and
-- any number of queue-manager instances can share the state. Loaded once
-- (SCRIPT LOAD) and run with EVALSHA (qm_store.c).
--
-- KEYS (one tenant, one hash tag, so one Cluster slot; pbx_keys.h names):
--   1 calls    hash call id -> JSON {q m p enq dl st n ag skip agent ans wu
--                                 an jp lp cb cbid cbr cbt}
--   2 agents   hash agent -> JSON {st reason since idle call q off missed wu
--                                  pend calls talk}
--   3 wait     sorted set (lex) of waiting calls "<queue>:<rank>:<call>",
--              rank = 2 digits (10 - priority) and 15 digits of enqueue ms:
--              the first member of a queue's range is its next caller
--   4 offered  the same members while the call rings an agent
--   5 timers   sorted set "<kind>:<what>" -> due ms: o:<n>:<call> offer n
--              expires, w:<call> max wait, u:<agent> wrap-up ends,
--              b:<call> a bridged call's longest talk (its end was never
--              reported), a:<agent> / q:<queue> wake-ups (dispatch there),
--              p:<call> its position is checked (news when it changed),
--              r:<call> a call-back tries again (back to its place)
--   6 state    hash <queue>:rr (round-robin memory), tseq (timer sequence),
--              <queue>:ewt (recent wait per place ahead, ms)
--   7 stats    hash <queue>:<counter> -> count
-- ARGV[1] op, ARGV[2] now (Unix ms, the caller's clock), then per op.
--
-- Returns a list of events, each a list of strings:
--   offer  call queue n timeout_ms agent...   ring these agents
--   cboffer call queue n timeout_ms number caller_id agent
--                                             a call-back: call the agent,
--                                             then the caller's number
--   cancel call n agent...                    stop ringing them
--   result call queue kind detail [wait_s]    queued(position) timeout full
--                                             no_agents exit_key(digit)
--                                             failed(why)
--   agent  agent state reason pending         an agent's state now
--   ready  agent                              free now: dispatch its queues
--   queue  queue                              a caller is back: dispatch it
--   stats  queue waiting offered oldest_enq_ms
--   due    earliest_timer_ms|"" tseq          always last
--
-- Call states: wait (in the wait set), offer (in offered), talk, cbwait (a
-- call-back between tries: in neither set, its place kept in m).
--
-- Agent states: ready ringing busy wrapup paused out. An agent without a
-- record is ready (a queue's agents are logged in until they log out).
-- "pend" holds a pause or logout asked for during a call: it applies when
-- the call ends.

local K_CALLS, K_AGENTS, K_WAIT, K_OFFERED, K_TIMERS, K_STATE, K_STATS =
	KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local RANK_LEN = 17
-- A call-back's offer lasts the agent's ring, then the caller's (the
-- router rings the caller's number at most this long), then the grace.
local CB_RING_MS = 30000

local out = {}
local function emit(ev)
	out[#out + 1] = ev
end

-- Records are read once per run and written back at the end.
local agents, adirty = {}, {}
local function agent(id)
	local a = agents[id]
	if a then
		return a
	end
	local v = redis.call('HGET', K_AGENTS, id)
	if v then
		a = cjson.decode(v)
	else
		a = {st = 'ready', idle = 0, missed = 0}
	end
	agents[id] = a
	return a
end
local function touch(id)
	adirty[id] = true
end

local calls, cdirty = {}, {}
local function call(id)
	local c = calls[id]
	if c == nil then
		local v = redis.call('HGET', K_CALLS, id)
		c = v and cjson.decode(v) or false
		calls[id] = c
	end
	return c or nil
end
local function call_save(id, c)
	calls[id] = c
	cdirty[id] = true
end
local function call_del(id)
	calls[id] = false
	cdirty[id] = true
end

local tchanged = false
local function timer_add(m, due)
	redis.call('ZADD', K_TIMERS, due, m)
	tchanged = true
end
local function timer_del(m)
	redis.call('ZREM', K_TIMERS, m)
	tchanged = true
end

local function stat(q, name, by)
	redis.call('HINCRBY', K_STATS, q .. ':' .. name, by or 1)
end

local function range(q)
	return '[' .. q .. ':', '(' .. q .. ';'
end

-- list without x
local function without(list, x)
	local rest = {}
	for _, v in ipairs(list or {}) do
		if v ~= x then
			rest[#rest + 1] = v
		end
	end
	return rest
end

local function contains(list, x)
	for _, v in ipairs(list or {}) do
		if v == x then
			return true
		end
	end
	return false
end

local function finish()
	for id in pairs(adirty) do
		redis.call('HSET', K_AGENTS, id, cjson.encode(agents[id]))
	end
	for id in pairs(cdirty) do
		if calls[id] then
			local json = cjson.encode(calls[id])
			redis.call('HSET', K_CALLS, id, json)
		else
			redis.call('HDEL', K_CALLS, id)
		end
	end
	local seq
	if tchanged then
		seq = redis.call('HINCRBY', K_STATE, 'tseq', 1)
	else
		seq = tonumber(redis.call('HGET', K_STATE, 'tseq') or '0')
	end
	local h = redis.call('ZRANGE', K_TIMERS, 0, 0, 'WITHSCORES')
	emit({'due', h[2] or '', tostring(seq)})
	return out
end

-- ---- agents ----------------------------------------------------------

local function agent_event(id, a)
	emit({'agent', id, a.st, a.reason or '', a.pend and a.pend.st or ''})
end

local function agent_clear(a)
	a.call, a.q, a.off, a.wu = nil, nil, nil, nil
	a.since = now
end

-- Free now. quiet: no 'ready' event (the caller must not dispatch at once).
local function agent_ready(id, a, quiet)
	agent_clear(a)
	a.st, a.reason = 'ready', nil
	touch(id)
	if not quiet then
		emit({'ready', id})
	end
end

local function agent_apply_pend(id, a)
	local p = a.pend
	a.pend = nil
	agent_clear(a)
	a.st, a.reason = p.st, p.reason
	touch(id)
	agent_event(id, a)
end

local function agent_free(a)
	return a.st == 'ready' or (a.st == 'wrapup' and (a.wu or 0) <= now)
end

-- An offer to this agent is over without a call. missed: it rang out, was
-- busy or unreachable, which counts towards the automatic pause.
local function agent_release(id, a, missed, max_missed, quiet)
	if a.pend then
		return agent_apply_pend(id, a)
	end
	if missed then
		a.missed = (a.missed or 0) + 1
		if max_missed > 0 and a.missed >= max_missed then
			agent_clear(a)
			a.st = 'paused'
			a.reason = 'auto: ' .. a.missed .. ' missed offers'
			touch(id)
			agent_event(id, a)
			return
		end
	end
	agent_ready(id, a, quiet)
end

-- A call of this agent ended: wrap-up (wu ms), or ready at once.
local function agent_after_call(id, a, wu)
	a.idle = now
	if a.pend then
		return agent_apply_pend(id, a)
	end
	if wu and wu > 0 then
		agent_clear(a)
		a.st, a.wu = 'wrapup', now + wu
		timer_add('u:' .. id, a.wu)
		touch(id)
	else
		agent_ready(id, a)
	end
end

-- ---- calls -----------------------------------------------------------

local function position(c)
	if c.st ~= 'wait' then
		return 0
	end
	local lo = range(c.q)
	return redis.call('ZLEXCOUNT', K_WAIT, lo, '(' .. c.m) + 1
end

-- The estimated wait (s) of the caller at pos: the queue's recent wait per
-- place (an average of answered callers' wait divided by their position
-- at joining, the newest weighing 1/4) times pos; 0 while no caller of
-- the queue was answered.
local function estimate(q, pos)
	local ewt = tonumber(redis.call('HGET', K_STATE, q .. ':ewt') or '')
	if not ewt or pos < 1 then
		return 0
	end
	return math.ceil(ewt * pos / 1000)
end

-- QUEUED with the caller's position and its estimated wait.
local function queued(id, c)
	local pos = position(c)
	c.lp = pos
	emit({'result', id, c.q, 'queued', tostring(pos),
	      tostring(estimate(c.q, pos))})
end

-- Takes the offer back from every agent still ringing for it (no miss).
-- quiet: nobody was told to ring (no cancel), and nobody is dispatched.
local function offer_withdraw(id, c, quiet)
	local ev = {'cancel', id, tostring(c.n)}
	for _, aid in ipairs(c.ag or {}) do
		local a = agent(aid)
		if a.st == 'ringing' and a.call == id then
			agent_release(aid, a, false, 0, quiet)
		end
		ev[#ev + 1] = aid
	end
	if #ev > 3 and not quiet then
		emit(ev)
	end
	timer_del('o:' .. c.n .. ':' .. id)
	redis.call('ZREM', K_OFFERED, c.m)
end

-- The offer is over and nobody took the call: back to its place.
local function call_requeue(id, c, quiet)
	timer_del('o:' .. c.n .. ':' .. id)
	redis.call('ZREM', K_OFFERED, c.m)
	redis.call('ZADD', K_WAIT, 0, c.m)
	c.st, c.ag = 'wait', nil
	call_save(id, c)
	if not quiet then
		emit({'queue', c.q})
	end
end

-- The caller leaves the queue before talking to anyone.
local function call_remove(id, c)
	if c.st == 'offer' then
		offer_withdraw(id, c)
	else
		redis.call('ZREM', K_WAIT, c.m)
	end
	timer_del('w:' .. id)
	timer_del('p:' .. id)
	timer_del('r:' .. id)
	call_del(id)
end

-- The bridged call ended.
local function call_ended(id, c, aid, a)
	local t = now - c.ans
	timer_del('b:' .. id)
	stat(c.q, 'talk_ms', t)
	stat(c.q, 'agent:' .. aid .. ':talk_ms', t)
	a.talk = (a.talk or 0) + t
	call_del(id)
	agent_after_call(aid, a, c.wu)
end

-- ---- ops -------------------------------------------------------------

local ops = {}

-- call queue priority max_wait_ms max_len join_empty wrapup_ms caller
-- announce_ms agent...
function ops.enqueue()
	local id, q = ARGV[3], ARGV[4]
	local c = call(id)
	if c then
		if c.q == q then
			queued(id, c)
		else
			emit({'result', id, q, 'failed', 'in queue ' .. c.q})
		end
		return
	end
	local lo, hi = range(q)
	local waiting = redis.call('ZLEXCOUNT', K_WAIT, lo, hi) +
		redis.call('ZLEXCOUNT', K_OFFERED, lo, hi)
	local max_len = tonumber(ARGV[7])
	if max_len > 0 and waiting >= max_len then
		stat(q, 'full')
		emit({'result', id, q, 'full', ''})
		return
	end
	if ARGV[8] == '0' then
		local any = false
		for i = 12, #ARGV do
			if agent(ARGV[i]).st ~= 'out' then
				any = true
				break
			end
		end
		if not any then
			stat(q, 'no_agents')
			emit({'result', id, q, 'no_agents', ''})
			return
		end
	end
	local prio = tonumber(ARGV[5])
	c = {q = q, p = prio, enq = now, dl = now + tonumber(ARGV[6]),
	     st = 'wait', n = 0, wu = tonumber(ARGV[9]), caller = ARGV[10],
	     an = tonumber(ARGV[11])}
	c.m = q .. ':' .. string.format('%02d%015.0f', 10 - prio, now) ..
		':' .. id
	redis.call('ZADD', K_WAIT, 0, c.m)
	timer_add('w:' .. id, c.dl)
	if c.an > 0 then
		timer_add('p:' .. id, now + c.an)
	end
	stat(q, 'joined')
	queued(id, c)
	c.jp = c.lp
	call_save(id, c)
end

-- Chooses the agents to ring for call c of queue qd, by its strategy,
-- among the free ones. An agent that missed this call is skipped while
-- another agent is free (then the skip list starts over).
local function pick(qd, c)
	local elig, seen = {}, {}
	for _, id in ipairs(qd.agents) do
		if not seen[id] and agent_free(agent(id)) then
			elig[#elig + 1] = id
		end
		seen[id] = true
	end
	if #elig == 0 then
		return elig
	end
	if c.skip then
		local rest = {}
		for _, id in ipairs(elig) do
			if not contains(c.skip, id) then
				rest[#rest + 1] = id
			end
		end
		if #rest == 0 then
			c.skip = nil
		else
			elig = rest
		end
	end
	local s = qd.strategy
	if s == 'ring_all' and not c.cb then
		return elig
	elseif s == 'random' then
		qd.rnd = (qd.rnd * 48271) % 2147483647
		return {elig[(qd.rnd % #elig) + 1]}
	elseif s == 'round_robin' then
		local last = redis.call('HGET', K_STATE, qd.name .. ':rr')
		local pos, n, free = 0, #qd.agents, {}
		for j, id in ipairs(qd.agents) do
			if id == last then
				pos = j
			end
		end
		for _, id in ipairs(elig) do
			free[id] = true
		end
		for j = 1, n do
			local id = qd.agents[((pos + j - 1) % n) + 1]
			if free[id] then
				local k = qd.name .. ':rr'
				redis.call('HSET', K_STATE, k, id)
				return {id}
			end
		end
	elseif s == 'longest_idle' or s == 'least_calls' then
		-- least_calls: fewest answered in this queue, then the
		-- longest idle
		local best, bc, bi
		for _, id in ipairs(elig) do
			local n = 0
			if s == 'least_calls' then
				local k = qd.name .. ':agent:' .. id ..
					':calls'
				n = tonumber(redis.call('HGET', K_STATS, k) or
					'0')
			end
			local idle = agent(id).idle or 0
			if not best or n < bc or (n == bc and idle < bi) then
				best, bc, bi = id, n, idle
			end
		end
		return {best}
	end
	return {elig[1]} -- linear: the first free agent in the object's order
end

local function reserve(qd, id, c, chosen)
	c.n = (c.n or 0) + 1
	c.st, c.ag = 'offer', chosen
	redis.call('ZREM', K_WAIT, c.m)
	redis.call('ZADD', K_OFFERED, 0, c.m)
	local ev = {'offer', id, qd.name, tostring(c.n), qd.timeout_ms}
	local t = qd.timer_ms
	if c.cb then
		-- one agent, then the caller's number
		ev = {'cboffer', id, qd.name, tostring(c.n), qd.timeout_ms,
		      c.cb, c.cbid or ''}
		t = t + CB_RING_MS
	end
	timer_add('o:' .. c.n .. ':' .. id, now + t)
	for _, aid in ipairs(chosen) do
		local a = agent(aid)
		if a.st == 'wrapup' then
			timer_del('u:' .. aid)
		end
		agent_clear(a)
		a.st, a.call, a.q, a.off = 'ringing', id, qd.name, c.n
		touch(aid)
		ev[#ev + 1] = aid
	end
	call_save(id, c)
	stat(qd.name, 'offers', #chosen)
	emit(ev)
end

-- rand max_offers nqueues, then per queue: name strategy timeout_ms
-- timer_ms nagents agent... Offers the best waiting caller of these
-- queues (priority, then waiting time) to its queue's agents, again and
-- again, until no queue has both a caller and a free agent.
function ops.dispatch()
	local qs, i = {}, 6
	local rnd = tonumber(ARGV[3])
	for _ = 1, tonumber(ARGV[5]) do
		local qd = {name = ARGV[i], strategy = ARGV[i + 1],
			    timeout_ms = ARGV[i + 2],
			    timer_ms = tonumber(ARGV[i + 3]), agents = {},
			    rnd = rnd}
		local na = tonumber(ARGV[i + 4])
		i = i + 5
		for j = 1, na do
			qd.agents[j] = ARGV[i + j - 1]
		end
		i = i + na
		qs[#qs + 1] = qd
	end
	local offers, max = 0, tonumber(ARGV[4])
	while offers < max do
		local best, bkey
		for _, qd in ipairs(qs) do
			if not qd.done and not qd.head then
				local lo, hi = range(qd.name)
				qd.head = redis.call('ZRANGEBYLEX', K_WAIT, lo,
						     hi, 'LIMIT', 0, 1)[1]
				qd.done = not qd.head
			end
			if not qd.done then
				local key = string.sub(qd.head, #qd.name + 2)
				if not best or key < bkey then
					best, bkey = qd, key
				end
			end
		end
		if not best then
			break
		end
		local id = string.sub(bkey, RANK_LEN + 2)
		local c = call(id)
		if not c then
			-- a member without a record cannot be served
			redis.call('ZREM', K_WAIT, best.head)
			best.head = nil
		else
			local chosen = pick(best, c)
			if #chosen == 0 then
				best.done = true
			else
				reserve(best, id, c, chosen)
				best.head = nil
				offers = offers + 1
			end
		end
	end
end

-- The agent's ring for call id ended without a call: a miss.
local function missed(id, c, aid, a, max_missed)
	stat(a.q, 'agent:' .. aid .. ':missed')
	if c and c.st == 'offer' then
		c.ag = without(c.ag, aid)
		c.skip = c.skip or {}
		c.skip[#c.skip + 1] = aid
		call_save(id, c)
		if #c.ag == 0 then
			call_requeue(id, c)
		end
	end
	agent_release(aid, a, true, max_missed)
end

-- The agent answered call id. Refused (a cancel for the router to drop
-- the leg) when the caller is gone, another agent has the call, or this
-- agent is reserved for another call; returns true when accepted.
local function answered(id, c, aid, a, n, ringing, sl_ms, talk_max_ms)
	if c and c.st == 'talk' and c.agent == aid then
		return true -- repeated
	end
	if not c or c.st == 'talk' or
		(not ringing and (a.st == 'ringing' or a.st == 'busy')) then
		emit({'cancel', id, tostring(n), aid})
		return false
	end
	if c.st == 'offer' then
		c.ag = without(c.ag, aid)
		offer_withdraw(id, c)
	else
		-- answered after its offer expired: the phone is bridged,
		-- reality wins over the reservation
		redis.call('ZREM', K_WAIT, c.m)
	end
	timer_del('w:' .. id)
	timer_del('p:' .. id)
	if a.st == 'wrapup' then
		timer_del('u:' .. aid)
	end
	if not ringing and (a.st == 'paused' or a.st == 'out') then
		a.pend = {st = a.st, reason = a.reason}
	end
	agent_clear(a)
	a.st, a.call, a.q, a.missed, a.reason = 'busy', id, c.q, 0, nil
	a.calls = (a.calls or 0) + 1
	touch(aid)
	c.st, c.agent, c.ans, c.ag, c.skip = 'talk', aid, now, nil, nil
	call_save(id, c)
	timer_add('b:' .. id, now + talk_max_ms)
	local w = now - c.enq
	-- the recent wait per place, for estimates
	local kw = c.q .. ':ewt'
	local sample = w / math.max(c.jp or 1, 1)
	local ewt = tonumber(redis.call('HGET', K_STATE, kw) or '')
	ewt = ewt and (3 * ewt + sample) / 4 or sample
	redis.call('HSET', K_STATE, kw, tostring(math.floor(ewt)))
	stat(c.q, 'answered')
	stat(c.q, 'wait_ms', w)
	if w <= sl_ms then
		stat(c.q, 'answered_sl')
	end
	-- the threshold answered_sl was counted with, for whoever reads it
	redis.call('HSET', K_STATS, c.q .. ':sl_ms', sl_ms)
	stat(c.q, 'agent:' .. aid .. ':calls')
	if c.cb then
		stat(c.q, 'callback_done')
	end
	return true
end

-- A call-back's agent answered, its caller did not: no miss of the
-- agent's. The call tries again from its place after cbt ms while it has
-- retries, else it is given up.
local function callback_failed(id, c, aid, a)
	timer_del('o:' .. c.n .. ':' .. id)
	redis.call('ZREM', K_OFFERED, c.m)
	agent_release(aid, a, false, 0)
	stat(c.q, 'callback_tries')
	if (c.cbr or 0) <= 0 then
		timer_del('w:' .. id)
		call_del(id)
		stat(c.q, 'callback_failed')
		return
	end
	c.cbr = c.cbr - 1
	c.st, c.ag = 'cbwait', nil
	timer_add('r:' .. id, now + c.cbt)
	call_save(id, c)
end

-- call agent offer result max_missed sl_ms talk_max_ms. Reports may
-- arrive out of
-- order (a router sends them to any instance): a hang-up that overtakes
-- its answer is the answer and the hang-up; an answer that comes after
-- the hang-up finds no call and is refused.
function ops.result()
	local id, aid, n, res = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
	local max_missed, sl_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
	local talk_max_ms = tonumber(ARGV[9])
	local c, a = call(id), agent(aid)
	local ringing = a.st == 'ringing' and a.call == id and
		(n == 0 or a.off == n)
	if res == 'answered' then
		answered(id, c, aid, a, n, ringing, sl_ms, talk_max_ms)
	elseif res == 'cb_failed' then
		if ringing and c and c.cb and c.st == 'offer' then
			callback_failed(id, c, aid, a)
		end -- else stale
	elseif res ~= 'hung_up' then
		if ringing then
			missed(id, c, aid, a, max_missed)
		end -- else stale: the offer is over already
	elseif c and (c.st ~= 'talk' or c.agent == aid) then
		if c.st == 'talk' or answered(id, c, aid, a, n, ringing,
					      sl_ms, talk_max_ms) then
			call_ended(id, c, aid, a)
		end
	elseif a.st == 'busy' and a.call == id then
		agent_after_call(aid, a, 0) -- its call record is gone
	end
end

-- The caller asked to be called back and its call ended: it keeps its
-- place (its member, so its rank); its max wait becomes the call-back
-- window; no position news (nobody listens).
local function callback(id, c)
	if c.st == 'offer' then
		offer_withdraw(id, c)
		call_requeue(id, c, true)
	end
	c.cb, c.cbid = ARGV[6], ARGV[7]
	c.dl = now + tonumber(ARGV[8])
	c.cbr, c.cbt = tonumber(ARGV[9]), tonumber(ARGV[10])
	c.an = 0
	timer_del('p:' .. id)
	timer_add('w:' .. id, c.dl)
	call_save(id, c)
	stat(c.q, 'callback')
	emit({'queue', c.q})
end

-- call reason(hangup|exit_key|callback) digit [number caller_id
-- window_ms retries retry_ms]
function ops.leave()
	local id = ARGV[3]
	local c = call(id)
	if not c then
		return
	end
	if c.st == 'talk' then
		return call_ended(id, c, c.agent, agent(c.agent))
	end
	if ARGV[4] == 'callback' then
		if not c.cb then
			callback(id, c)
		end
		return
	end
	call_remove(id, c)
	if ARGV[4] == 'exit_key' then
		stat(c.q, 'exited')
		emit({'result', id, c.q, 'exit_key', ARGV[5]})
	else
		stat(c.q, 'abandoned')
		stat(c.q, 'abandoned_wait_ms', now - c.enq)
	end
end

-- call offer retry_ms: the offer could not be sent to any router. Taken
-- back without a miss; the queue is tried again after retry_ms (not at
-- once: with no router connected that would spin).
function ops.unoffer()
	local id, n = ARGV[3], tonumber(ARGV[4])
	local c = call(id)
	if not c or c.st ~= 'offer' or c.n ~= n then
		return
	end
	offer_withdraw(id, c, true)
	call_requeue(id, c, true)
	timer_add('q:' .. c.q, now + tonumber(ARGV[5]))
end

-- agent action(login|logout|pause|resume) reason wake(0|1)
-- wake 1: whoever runs this does not dispatch; an agent that became free
-- gets a wake-up timer, which any queue-manager fires.
function ops.agent()
	local aid, action, reason = ARGV[3], ARGV[4], ARGV[5]
	local a = agent(aid)
	local during = a.st == 'ringing' or a.st == 'busy'
	local was = a.st
	if reason == '' then
		reason = nil
	end
	if action == 'login' then
		if a.st == 'out' then
			a.missed, a.idle = 0, now
			agent_ready(aid, a)
		elseif a.pend and a.pend.st == 'out' then
			a.pend = nil
		end
	elseif action == 'logout' then
		if during then
			a.pend = {st = 'out'}
		elseif a.st ~= 'out' then
			if a.st == 'wrapup' then
				timer_del('u:' .. aid)
			end
			agent_clear(a)
			a.st, a.reason = 'out', nil
		end
	elseif action == 'pause' then
		if during then
			a.pend = {st = 'paused', reason = reason or 'paused'}
		elseif a.st ~= 'out' then
			if a.st == 'wrapup' then
				timer_del('u:' .. aid)
			end
			agent_clear(a)
			a.st, a.reason = 'paused', reason or 'paused'
		end
	elseif action == 'resume' then
		if a.st == 'paused' then
			a.missed = 0
			agent_ready(aid, a)
		elseif a.pend and a.pend.st == 'paused' then
			a.pend = nil
		end
	else
		return redis.error_reply('unknown agent action ' .. action)
	end
	touch(aid)
	if ARGV[6] == '1' and was ~= 'ready' and a.st == 'ready' then
		timer_add('a:' .. aid, now)
	end
	agent_event(aid, a)
end

-- limit max_missed: fires the timers that are due.
function ops.timers()
	local max_missed = tonumber(ARGV[4])
	local due = redis.call('ZRANGEBYSCORE', K_TIMERS, '-inf', now,
			       'LIMIT', 0, tonumber(ARGV[3]))
	for _, m in ipairs(due) do
		timer_del(m)
		local kind, rest = string.sub(m, 1, 1), string.sub(m, 3)
		if kind == 'o' then
			-- nobody reported on the offer in time: every agent
			-- still ringing missed it
			local n, id = string.match(rest, '^(%d+):(.*)$')
			local c = call(id)
			if c and c.st == 'offer' and c.n == tonumber(n) then
				local ev = {'cancel', id, n}
				c.skip = c.skip or {}
				for _, aid in ipairs(c.ag) do
					local a = agent(aid)
					ev[#ev + 1] = aid
					c.skip[#c.skip + 1] = aid
					local still = a.st == 'ringing' and
						a.call == id
					if still then
						stat(c.q, 'agent:' .. aid ..
							':missed')
						agent_release(aid, a, true,
							      max_missed)
					end
				end
				emit(ev)
				call_requeue(id, c)
			end
		elseif kind == 'w' then
			local c = call(rest)
			if c and c.cb and c.st == 'offer' then
				-- a call-back under way: its result decides
				timer_add('w:' .. rest, now + CB_RING_MS)
			elseif c and c.cb and c.st ~= 'talk' then
				-- nobody to tell: its caller hung up long ago
				call_remove(rest, c)
				stat(c.q, 'callback_expired')
			elseif c and c.st ~= 'talk' then
				call_remove(rest, c)
				stat(c.q, 'timeout')
				emit({'result', rest, c.q, 'timeout', ''})
			end
		elseif kind == 'r' then
			-- a call-back tries again, from its place
			local c = call(rest)
			if c and c.st == 'cbwait' then
				redis.call('ZADD', K_WAIT, 0, c.m)
				c.st = 'wait'
				call_save(rest, c)
				emit({'queue', c.q})
			end
		elseif kind == 'u' then
			local a = agent(rest)
			if a.st == 'wrapup' then
				agent_ready(rest, a)
			end
		elseif kind == 'b' then
			-- nobody reported the end of this bridged call (its
			-- router died with it): its agent is free again
			local c = call(rest)
			if c and c.st == 'talk' then
				stat(c.q, 'talk_limit')
				call_ended(rest, c, c.agent, agent(c.agent))
			end
		elseif kind == 'p' then
			-- the caller's place: news when it changed (so at
			-- most once per announcement period)
			local c = call(rest)
			if c and c.st ~= 'talk' and (c.an or 0) > 0 then
				if c.st == 'wait' and position(c) ~= c.lp then
					queued(rest, c)
					call_save(rest, c)
				end
				timer_add('p:' .. rest, now + c.an)
			end
		elseif kind == 'a' then
			emit({'ready', rest})
		elseif kind == 'q' then
			emit({'queue', rest})
		end
	end
end

-- queue...: who waits now in each.
function ops.stats()
	for i = 3, #ARGV do
		local q = ARGV[i]
		local lo, hi = range(q)
		local w = redis.call('ZRANGEBYLEX', K_WAIT, lo, hi)
		local o = redis.call('ZRANGEBYLEX', K_OFFERED, lo, hi)
		local oldest = ''
		for _, list in ipairs({w, o}) do
			for _, m in ipairs(list) do
				local enq = tonumber(string.sub(m,
					#q + 4, #q + 1 + RANK_LEN))
				if oldest == '' or enq < oldest then
					oldest = enq
				end
			end
		end
		emit({'stats', q, tostring(#w), tostring(#o),
		      tostring(oldest)})
	end
end

-- nothing: reports the earliest timer (a sweep uses it).
function ops.due()
end

local f = ops[op]
if not f then
	return redis.error_reply('unknown op ' .. tostring(op))
end
local err = f()
if err then
	return err
end
return finish()
