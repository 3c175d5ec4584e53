/**
 * @module rate-limit/redis-scripts
 * The token buckets of memory-store.ts, written in Lua so that one Redis call checks and takes both
 * dimensions of a key atomically for every replica. Read memory-store.ts first: these scripts are that
 * arithmetic line for line (levels in unit·ms, refill under the stored limit, then the new limit caps).
 *
 * The clock is Redis's own `TIME`, never a replica's: replicas whose clocks disagree would otherwise
 * refill the same bucket at different rates. Redis >= 5 replicates a script's effects, not the script,
 * so calling TIME before writing is allowed (and `replicate_commands` makes it explicit on 5.x/6.x).
 *
 * One hash per key: rl/rv/rt = requests limit, level, time; tl/tv/tt/tg = tokens limit, level, time and
 * generation (which bucket a reservation came from, like the bucket object the memory store compares).
 * Each call sets PEXPIRE to the time until every bucket is full again plus a margin: a full bucket is
 * the same as no bucket, so an expired key changes nothing and Redis holds only keys in use.
 *
 * Numbers are written with %.17g, which round-trips a double exactly (Lua's tostring keeps 14 digits).
 */

/** KEYS[1] = the key's hash; ARGV = rpm, tpm (0 = unlimited), cost (whole tokens), TTL margin (ms). */
export const RESERVE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local UNIT = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = KEYS[1]
local rpm, tpm, cost, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if rpm == 0 and tpm == 0 then
  redis.call('DEL', key)
  return {1, 0, -1, -1, -1, -1, -1, ''}
end
local f = redis.call('HMGET', key, 'rl', 'rv', 'rt', 'tl', 'tv', 'tt', 'tg')

local function current(limit, l, v, at)
  if limit == 0 then return nil end
  local b
  if not l then
    b = {limit = limit, level = limit * UNIT, at = now, new = true}
  else
    b = {limit = tonumber(l), level = tonumber(v), at = tonumber(at)}
  end
  local cap = b.limit * UNIT
  if now > b.at then
    b.level = math.min(cap, b.level + (now - b.at) * b.limit)
    b.at = now
  end
  b.level = math.min(cap, b.level)
  b.limit = limit
  b.level = math.min(limit * UNIT, b.level)
  return b
end
local function wait(b, need)
  if b.level >= need then return 0 end
  return math.ceil((need - b.level) / b.limit)
end
local function fmt(n) return string.format('%.17g', n) end

local req = current(rpm, f[1], f[2], f[3])
local tok = current(tpm, f[4], f[5], f[6])
local gen = f[7]
if tok and (tok.new or not gen) then gen = t[1] .. '.' .. t[2] end

local allowed, reason, retry = 1, 0, -1
if tok and cost > tok.limit then
  allowed, reason = 0, 3
else
  local rw, tw = 0, 0
  if req then rw = wait(req, UNIT) end
  if tok then tw = wait(tok, cost * UNIT) end
  if rw > 0 or tw > 0 then
    allowed, retry = 0, math.max(rw, tw)
    if tw > rw then reason = 2 else reason = 1 end
  else
    if req then req.level = req.level - UNIT end
    if tok then tok.level = tok.level - cost * UNIT end
  end
end

local out = {allowed, reason, retry, -1, -1, -1, -1, ''}
local ttl = 0
if req then
  redis.call('HSET', key, 'rl', fmt(req.limit), 'rv', fmt(req.level), 'rt', fmt(req.at))
  out[4] = math.max(0, math.floor(req.level / UNIT))
  out[5] = math.ceil((req.limit * UNIT - req.level) / req.limit)
  ttl = math.max(ttl, out[5])
else
  redis.call('HDEL', key, 'rl', 'rv', 'rt')
end
if tok then
  redis.call('HSET', key, 'tl', fmt(tok.limit), 'tv', fmt(tok.level), 'tt', fmt(tok.at), 'tg', gen)
  out[6] = math.max(0, math.floor(tok.level / UNIT))
  out[7] = math.ceil((tok.limit * UNIT - tok.level) / tok.limit)
  out[8] = gen
  ttl = math.max(ttl, out[7])
else
  redis.call('HDEL', key, 'tl', 'tv', 'tt', 'tg')
end
redis.call('PEXPIRE', key, ttl + margin)
return out
`;

/**
 * KEYS[1] = the key's hash; ARGV = generation, tokens to give back (reserved − actual; negative = an
 * excess to charge), TTL margin (ms). Returns 1 when applied, 0 when the bucket is gone or was replaced.
 */
export const SETTLE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local UNIT = 60000
local key = KEYS[1]
local f = redis.call('HMGET', key, 'tl', 'tv', 'tt', 'tg', 'rl', 'rv', 'rt')
if not f[1] or f[4] ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delta, margin = tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, level, at = tonumber(f[1]), tonumber(f[2]), tonumber(f[3])
local cap = limit * UNIT
if now > at then
  level = math.min(cap, level + (now - at) * limit)
  at = now
end
level = math.min(cap, level + delta * UNIT)
redis.call('HSET', key, 'tv', string.format('%.17g', level), 'tt', string.format('%.17g', at))
local ttl = math.ceil((cap - level) / limit)
if f[5] then
  local rl, rv, rt = tonumber(f[5]), tonumber(f[6]), tonumber(f[7])
  local rlevel = math.min(rl * UNIT, rv + math.max(0, now - rt) * rl)
  ttl = math.max(ttl, math.ceil((rl * UNIT - rlevel) / rl))
end
redis.call('PEXPIRE', key, ttl + margin)
return 1
`;
