/**
 * Lua scripts of the Redis stores. Each decision is one script run (EVALSHA through ioredis
 * `defineCommand`), atomic on the Redis server, with the time taken from Redis `TIME` so that
 * gateways with drifting clocks still share one timeline. The last argument of each script is
 * an optional clock override in ms, used only by tests (never reachable from config).
 *
 * Keys of one counter carry the same hash tag (`...{counter}:l`, `...{counter}:s`), so they live
 * in one slot of a Redis Cluster and a script touches a single node.
 */

const NOW = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local now
if ARGV[#ARGV] ~= '' then now = tonumber(ARGV[#ARGV]) else
  local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end`;

/**
 * Sliding-window log. KEYS: log (sorted set of admitted units, score = time in ms, member =
 * "<id>:<weight>"), sum (string, total weight in the log). ARGV: limit, periodMs, weight, id, now?
 * Returns {allowed 0|1, used, waitMs (-1: never), member}.
 */
export const SLIDING_HIT = `${NOW}
local limit = tonumber(ARGV[1]); local period = tonumber(ARGV[2]); local w = tonumber(ARGV[3])
local cut = now - period
local sum = tonumber(redis.call('GET', KEYS[2]) or '0')
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cut)
if #old > 0 then
  for i = 1, #old do sum = sum - tonumber(string.match(old[i], ':(%d+)$')) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cut)
  if sum < 0 then sum = 0 end
  if sum == 0 and redis.call('ZCARD', KEYS[1]) == 0 then
    redis.call('DEL', KEYS[2])
  else
    redis.call('SET', KEYS[2], sum, 'KEEPTTL')
  end
end
if sum + w <= limit then
  local first
  local member = ''
  if w > 0 then
    member = ARGV[4] .. ':' .. w
    redis.call('ZADD', KEYS[1], now, member)
    sum = sum + w
    redis.call('SET', KEYS[2], sum, 'PX', math.ceil(period))
    redis.call('PEXPIRE', KEYS[1], math.ceil(period))
  end
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = period
  if #oldest > 0 then wait = tonumber(oldest[2]) + period - now end
  return {1, sum, math.ceil(wait), member}
end
if w > limit then return {0, sum, -1, ''} end
local need = sum + w - limit
if redis.call('ZCARD', KEYS[1]) == sum then
  -- every unit has weight 1: the need-th oldest entry frees enough
  local e = redis.call('ZRANGE', KEYS[1], need - 1, need - 1, 'WITHSCORES')
  if #e > 0 then return {0, sum, math.ceil(tonumber(e[2]) + period - now), ''} end
  return {0, sum, math.ceil(period), ''}
end
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local freed = 0
for i = 1, #entries, 2 do
  freed = freed + tonumber(string.match(entries[i], ':(%d+)$'))
  if freed >= need then return {0, sum, math.ceil(tonumber(entries[i + 1]) + period - now), ''} end
end
return {0, sum, math.ceil(period), ''}
`;

/** KEYS: log, sum. ARGV: member, now? (unused). Removes the member and its weight. */
export const SLIDING_REFUND = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  local w = tonumber(string.match(ARGV[1], ':(%d+)$'))
  local sum = tonumber(redis.call('GET', KEYS[2]) or '0') - w
  if sum < 0 then sum = 0 end
  redis.call('SET', KEYS[2], sum, 'KEEPTTL')
end
return 1
`;

/**
 * Fixed-period quota. KEYS: hash {p: period index, c: calls, b: bytes}. ARGV: calls limit (-1:
 * none), bytes limit (-1: none), periodMs (0: lifetime), anchorMs, addCalls, now?
 * Returns {allowed 0|1, calls, bytes, resetMs (-1: never), period}.
 */
export const QUOTA_HIT = `${NOW}
local climit = tonumber(ARGV[1]); local blimit = tonumber(ARGV[2])
local period = tonumber(ARGV[3]); local anchor = tonumber(ARGV[4]); local add = tonumber(ARGV[5])
local idx = 0
local reset = -1
if period > 0 then
  idx = math.floor((now - anchor) / period)
  reset = math.ceil(anchor + (idx + 1) * period - now)
end
local h = redis.call('HMGET', KEYS[1], 'p', 'c', 'b')
local c = 0; local b = 0
if h[1] and tonumber(h[1]) == idx then c = tonumber(h[2]) or 0; b = tonumber(h[3]) or 0 end
if (climit >= 0 and c + add > climit) or (blimit >= 0 and b >= blimit) then
  return {0, c, b, reset, idx}
end
c = c + add
redis.call('HSET', KEYS[1], 'p', idx, 'c', c, 'b', b)
if period > 0 then redis.call('PEXPIRE', KEYS[1], reset + 1000) end
return {1, c, b, reset, idx}
`;

/** KEYS: hash. ARGV: period index, calls delta, bytes delta, now? (unused). */
export const QUOTA_ADD = `
local p = redis.call('HGET', KEYS[1], 'p')
if p and tonumber(p) == tonumber(ARGV[1]) then
  local c = redis.call('HINCRBY', KEYS[1], 'c', ARGV[2])
  if c < 0 then redis.call('HSET', KEYS[1], 'c', 0) end
  redis.call('HINCRBY', KEYS[1], 'b', ARGV[3])
end
return 1
`;
