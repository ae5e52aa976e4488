/**
 * The Lua scripts of the Redis room store (./redis.ts): each is one atomic step on one room, so
 * concurrent processes never see a half-made change. A room is two hashes that share one TTL,
 * `room:<id>` (the record, the swarm as JSON, `seeded`, and `ver`, a random tag each change of
 * what a swarm step reads gets anew) and `peers:<id>` (`m:<peer>` = role, then a space and the
 * address if known; `p:<peer>` = its partners, space-separated; `o:<peer>` = the process holding its socket),
 * plus two sorted sets for every room: `expiries` (by when each room dies) and `swarm-due` (by
 * when its earliest lease ends). Each process's members are also listed in its set
 * `proc-members:<process>` as `<room> <peer>`, so the members of a process that died can be found
 * without reading every room (see ./redis-liveness.ts).
 *
 * KEYS are always room, peers, expiries, swarm-due and the key prefix (from which a script names
 * the member set of whichever process holds a member's socket); ARGV[1..5] are always the room
 * id, the store's clock, the grace period, the maximum age and the TTL margin, in milliseconds.
 */

/**
 * Lua that takes every member of the room whose peers hash is `peers` out of its process's member
 * set, before the room's keys go.
 */
const DISOWN_ALL = `
local function disown_all(prefix, id, peers)
  local flat = redis.call('HGETALL', peers)
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 'o:' then
      redis.call('SREM', prefix .. 'proc-members:' .. flat[i + 1], id .. ' ' .. string.sub(flat[i], 3))
    end
  end
end
`;

const PRELUDE = `${DISOWN_ALL}
local ROOM, PEERS, EXPIRIES, DUE, PREFIX = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ID, NOW, GRACE, MAX_AGE, MARGIN =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function int(x) return string.format('%.0f', x) end
local function live()
  local e = redis.call('HGET', ROOM, 'expires')
  return e and tonumber(e) > NOW
end
-- The room's expiry, in its record, its keys' TTL (a margin past it, so a room no sweep took
-- still goes) and the expiries set.
local function set_expiry(expires)
  redis.call('HSET', ROOM, 'expires', int(expires))
  local ttl = math.max(expires - NOW, 0) + MARGIN
  redis.call('PEXPIRE', ROOM, int(ttl))
  redis.call('PEXPIRE', PEERS, int(ttl))
  redis.call('ZADD', EXPIRIES, int(expires), ID)
end
-- A room someone serves (its sharer online, or a proven recipient seed) lives to its maximum
-- age; when the last of them goes, the grace period starts (never past the maximum age).
local function keep_alive(before, after)
  local oldest = tonumber(redis.call('HGET', ROOM, 'created')) + MAX_AGE
  if after then set_expiry(oldest)
  elseif before then set_expiry(math.min(NOW + GRACE, oldest)) end
end
local function served(seeded)
  return redis.call('HGET', ROOM, 'sharer') ~= '' or seeded == '1'
end
local function has_word(list, word)
  return string.find(' ' .. (list or '') .. ' ', ' ' .. word .. ' ', 1, true) ~= nil
end
-- The member leaves the set of its process's members.
local function disown(peer)
  local owner = redis.call('HGET', PEERS, 'o:' .. peer)
  if not owner then return end
  redis.call('SREM', PREFIX .. 'proc-members:' .. owner, ID .. ' ' .. peer)
  redis.call('HDEL', PEERS, 'o:' .. peer)
end
local function remove_word(list, word)
  local kept = {}
  for w in string.gmatch(list or '', '%S+') do if w ~= word then kept[#kept + 1] = w end end
  return table.concat(kept, ' ')
end
`;

/** ARGV[6..]: sharer token, meta, password hash ('' for none), empty swarm JSON, new version. */
const RESTORE = `
if live() then return 0 end
disown_all(PREFIX, ID, PEERS)
redis.call('DEL', ROOM, PEERS)
redis.call('ZREM', DUE, ID)
redis.call('HSET', ROOM, 'token', ARGV[6], 'meta', ARGV[7], 'hash', ARGV[8], 'created', int(NOW),
  'sharer', '', 'swarm', ARGV[9], 'seeded', '0', 'ver', ARGV[10])
set_expiry(NOW + math.min(GRACE, MAX_AGE))
return 1
`;

const DELETE = `
if not live() then return 0 end
disown_all(PREFIX, ID, PEERS)
redis.call('DEL', ROOM, PEERS)
redis.call('ZREM', EXPIRIES, ID)
redis.call('ZREM', DUE, ID)
return 1
`;

/** ARGV[6]: the sharer's peer id. */
const SHARER_ONLINE = `
if not live() then return 0 end
redis.call('HSET', ROOM, 'sharer', ARGV[6])
set_expiry(tonumber(redis.call('HGET', ROOM, 'created')) + MAX_AGE)
return 1
`;

/** ARGV[6]: the peer id going offline. */
const SHARER_OFFLINE = `
if not live() or redis.call('HGET', ROOM, 'sharer') ~= ARGV[6] then return 0 end
redis.call('HSET', ROOM, 'sharer', '')
keep_alive(true, served(redis.call('HGET', ROOM, 'seeded')))
return 1
`;

/**
 * ARGV[6..]: peer id, role, address ('' when unknown), the room's limit, the per-address cap
 * (-1 for none), the shared number of sharer sockets, a new version, the process holding the
 * member's socket ('' for none) and its heartbeat's TTL. Adding a member is also a heartbeat of
 * its process (unless that was given up), so a process that has not beaten yet is not taken for
 * dead.
 */
const ADD_MEMBER = `
if not live() then return 'room-not-found' end
local peer, role, address = ARGV[6], ARGV[7], ARGV[8]
local limit, per_address, sharer_sockets = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
if redis.call('HEXISTS', PEERS, 'm:' .. peer) == 1 then return 'ok' end
local sharers, recipients, from_address = 0, 0, 0
local flat = redis.call('HGETALL', PEERS)
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 2) == 'm:' then
    local r, a = string.match(flat[i + 1], '^(%S+) ?(.*)$')
    if r == 'sharer' then sharers = sharers + 1
    else
      recipients = recipients + 1
      if address ~= '' and a == address then from_address = from_address + 1 end
    end
  end
end
if role == 'sharer' then
  if sharers >= sharer_sockets then return 'full' end
else
  if recipients >= limit - 1 then return 'full' end
  if per_address >= 0 and from_address >= per_address then return 'address-full' end
end
local entry = role
if address ~= '' then entry = role .. ' ' .. address end
redis.call('HSET', PEERS, 'm:' .. peer, entry)
local owner = ARGV[13]
if owner ~= '' then
  redis.call('HSET', PEERS, 'o:' .. peer, owner)
  redis.call('SADD', PREFIX .. 'proc-members:' .. owner, ID .. ' ' .. peer)
  if redis.call('EXISTS', PREFIX .. 'proc-gone:' .. owner) == 0 then
    redis.call('SET', PREFIX .. 'proc:' .. owner, '1', 'PX', ARGV[14])
    redis.call('SADD', PREFIX .. 'procs', owner)
  end
end
redis.call('PEXPIRE', PEERS, redis.call('PTTL', ROOM))
redis.call('HSET', ROOM, 'ver', ARGV[12])
return 'ok'
`;

/** ARGV[6..]: the two peers, a new version. */
const ADD_PARTNERS = `
local a, b = ARGV[6], ARGV[7]
if not live() or a == b then return 0 end
if redis.call('HEXISTS', PEERS, 'm:' .. a) == 0 or redis.call('HEXISTS', PEERS, 'm:' .. b) == 0 then
  return 0
end
local changed = false
for _, pair in ipairs({ { a, b }, { b, a } }) do
  local list = redis.call('HGET', PEERS, 'p:' .. pair[1]) or ''
  if not has_word(list, pair[2]) then
    if list == '' then list = pair[2] else list = list .. ' ' .. pair[2] end
    redis.call('HSET', PEERS, 'p:' .. pair[1], list)
    changed = true
  end
end
if changed then redis.call('HSET', ROOM, 'ver', ARGV[8]) end
return 1
`;

/**
 * The write half of a swarm step (compare and set). ARGV[6..]: the version the step read, a new
 * version, the new swarm JSON, whether a proven recipient seed was in the pool before and is
 * after ('1'/'0'), the swarm's next lease deadline ('' for none), and the member to remove with
 * its partner links ('' for none). Returns {-1} when the room is gone, {0} when the version
 * moved on (the caller runs the step again), else {1, partners of the removed member}.
 */
const WRITE_SWARM = `
if not live() then return { -1 } end
if redis.call('HGET', ROOM, 'ver') ~= ARGV[6] then return { 0 } end
local leaving, partners = ARGV[12], {}
if leaving ~= '' then
  if redis.call('HDEL', PEERS, 'm:' .. leaving) == 0 then return { -1 } end
  disown(leaving)
  for other in string.gmatch(redis.call('HGET', PEERS, 'p:' .. leaving) or '', '%S+') do
    partners[#partners + 1] = other
    local list = remove_word(redis.call('HGET', PEERS, 'p:' .. other), leaving)
    if list == '' then redis.call('HDEL', PEERS, 'p:' .. other)
    else redis.call('HSET', PEERS, 'p:' .. other, list) end
  end
  redis.call('HDEL', PEERS, 'p:' .. leaving)
end
local before = served(ARGV[9])
redis.call('HSET', ROOM, 'swarm', ARGV[8], 'seeded', ARGV[10], 'ver', ARGV[7])
keep_alive(before, served(ARGV[10]))
if ARGV[11] == '' then redis.call('ZREM', DUE, ID) else redis.call('ZADD', DUE, ARGV[11], ID) end
return { 1, partners }
`;

/**
 * Takes up to ARGV[3] rooms whose expiry is due by ARGV[2] out of the expiries set and deletes
 * them, in one step, so each goes to exactly one sweeping process. KEYS: expiries, swarm-due;
 * ARGV[1]: the key prefix. A room whose record says it lives on (which no change leaves) gets its
 * entry back instead.
 */
export const SWEEP = `${DISOWN_ALL}
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local gone = {}
for _, id in ipairs(ids) do
  local room = ARGV[1] .. 'room:' .. id
  local e = redis.call('HGET', room, 'expires')
  if e and tonumber(e) > now then
    redis.call('ZADD', KEYS[1], e, id)
  else
    disown_all(ARGV[1], id, ARGV[1] .. 'peers:' .. id)
    redis.call('DEL', room, ARGV[1] .. 'peers:' .. id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    gone[#gone + 1] = id
  end
end
return gone
`;

/**
 * Claims up to ARGV[3] rooms with a lease due by ARGV[1]: each moves to ARGV[2] in swarm-due, so
 * no other process takes it meanwhile and another does if this one dies before tending it (the
 * step that tends it sets its real next deadline). KEYS: swarm-due.
 */
export const CLAIM_DUE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`;

const room = (body: string) => PRELUDE + body;

export const ROOM_SCRIPTS = {
  restore: room(RESTORE),
  delete: room(DELETE),
  sharerOnline: room(SHARER_ONLINE),
  sharerOffline: room(SHARER_OFFLINE),
  addMember: room(ADD_MEMBER),
  addPartners: room(ADD_PARTNERS),
  writeSwarm: room(WRITE_SWARM),
} as const;
