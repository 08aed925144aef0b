import { luaScript } from '../redis.ts';

/** `fmt` writes 17 significant digits, so that an amount read back is the same double. */
const FMT_LUA = `
local function fmt(v) return string.format('%.17g', v) end
`;

/**
 * Shared Lua for sliding counters. A sliding counter is a hash: one field per bucket index
 * (amount), plus `sum` (the amount of every bucket from `low` on), `low` (the oldest bucket `sum`
 * still counts) and `top` (the newest bucket holding a positive amount, '' when none). A check
 * reads those and the current bucket in one HMGET and, once a second at most, subtracts the
 * buckets that left the window: no pass over all 60 buckets per call (that pass was ~60% of the
 * script's time). A hash without `sum`/`low` (new, or invalidated by a settle) is rebuilt from its
 * buckets once.
 */
const SLIDING_LUA = `
local function rebuild(key, oldest)
  local flat = redis.call('HGETALL', key)
  local sum, top, stale = 0, nil, {}
  for j = 1, #flat, 2 do
    local idx = tonumber(flat[j])
    if idx then
      if idx < oldest then
        stale[#stale + 1] = flat[j]
      else
        local v = tonumber(flat[j + 1])
        sum = sum + v
        if v > 0 and (top == nil or idx > top) then top = idx end
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return sum, top
end
-- sum, top and the current bucket's amount of a sliding counter, stale buckets dropped
local function slide(key, current, b)
  local oldest = current - b + 1
  local m = redis.call('HMGET', key, 'sum', 'low', 'top', tostring(current))
  local sum, low, top, cur = tonumber(m[1]), tonumber(m[2]), tonumber(m[3]), tonumber(m[4]) or 0
  if sum == nil or low == nil or oldest - low > b then
    sum, top = rebuild(key, oldest)
  elseif low < oldest then
    local gone = {}
    for idx = low, oldest - 1 do gone[#gone + 1] = tostring(idx) end
    local vs = redis.call('HMGET', key, unpack(gone))
    for j = 1, #vs do sum = sum - (tonumber(vs[j]) or 0) end
    redis.call('HDEL', key, unpack(gone))
  else
    return sum, top, cur
  end
  -- no positive bucket left: the window is empty, whatever float residue the sum carries
  if top ~= nil and top < oldest then top = nil end
  if top == nil then sum = 0 end
  redis.call('HSET', key, 'sum', fmt(sum), 'low', oldest, 'top', top or '')
  return sum, top, cur
end
`;

/**
 * The check, atomically over every item (the Lua twin of `memory.ts` + `viewSliding`).
 * KEYS[i]: counter of item i. ARGV[1]: now (ms); then 5 values per item:
 * mode ('s' sliding | 'c' calendar), limit, cost, a, b — sliding: a = bucket ms, b = bucket
 * count; calendar: a = period end (ms), b unused.
 * Sliding counters are hashes (see SLIDING_LUA); calendar counters are strings.
 * Reply: refused item (1-based, 0 = admitted), then used, resetMs, retryAfterMs per item, as
 * strings (a Lua number reply would be truncated to an integer, losing USD cents).
 */
export const checkScript = luaScript(`${FMT_LUA}${SLIDING_LUA}
local now = tonumber(ARGV[1])
local EPS = 1e-9
local out = {}
local sliding = {}
local refused, refusedRetry = 0, -1
for i = 1, #KEYS do
  local key = KEYS[i]
  local o = 1 + (i - 1) * 5
  local mode, limit, cost = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local a, b = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
  local used, reset, retry = 0, 0, 0
  if mode == 's' then
    local current = math.floor(now / a)
    local sum, top, cur = slide(key, current, b)
    sliding[i] = { sum, top, cur, current }
    used = sum
    if top then reset = (top + b) * a - now end
    if used + cost > limit + EPS then
      retry = b * a
      if cost <= limit + EPS then
        -- refused (rare): when enough of the oldest buckets will have left for cost to fit
        local flat = redis.call('HGETALL', key)
        local live = {}
        for j = 1, #flat, 2 do
          local idx = tonumber(flat[j])
          if idx then live[#live + 1] = { idx, tonumber(flat[j + 1]) } end
        end
        table.sort(live, function(x, y) return x[1] < y[1] end)
        local freed = 0
        for _, e in ipairs(live) do
          freed = freed + e[2]
          if used - freed + cost <= limit + EPS then
            retry = (e[1] + b) * a - now
            break
          end
        end
      end
    end
  else
    used = tonumber(redis.call('GET', key) or '0')
    if used > 0 then reset = a - now end
    retry = a - now
  end
  if used + cost > limit + EPS and retry > refusedRetry then
    refused, refusedRetry = i, retry
  end
  out[#out + 1] = tostring(used)
  out[#out + 1] = tostring(reset)
  out[#out + 1] = tostring(retry)
end
if refused == 0 then
  for i = 1, #KEYS do
    local o = 1 + (i - 1) * 5
    local mode, cost = ARGV[o + 1], tonumber(ARGV[o + 3])
    local a, b = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
    if cost > 0 then
      if mode == 's' then
        local s = sliding[i]
        local current = s[4]
        redis.call('HSET', KEYS[i], tostring(current), fmt(s[3] + cost), 'sum', fmt(s[1] + cost), 'top', current)
        redis.call('PEXPIREAT', KEYS[i], tostring((current + b) * a))
      else
        redis.call('INCRBYFLOAT', KEYS[i], ARGV[o + 3])
        redis.call('PEXPIREAT', KEYS[i], tostring(a))
      end
    end
  end
end
table.insert(out, 1, tostring(refused))
return out
`);

/**
 * Settle: add each delta to the bucket/period of the reservation, never below 0.
 * ARGV[1]: now, ARGV[2]: reservedAt; then 4 values per item: mode, delta, a, b (as above).
 * A sliding reservation that already left the window is not given back (that would admit more
 * than the limit); extra consumption is still charged, to the current bucket. A sliding counter's
 * running sum (SLIDING_LUA) follows the bucket, or is dropped for the next check to rebuild.
 */
export const settleScript = luaScript(`${FMT_LUA}
local now, at = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, #KEYS do
  local key = KEYS[i]
  local o = 2 + (i - 1) * 4
  local mode, delta = ARGV[o + 1], tonumber(ARGV[o + 2])
  local a, b = tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
  if mode == 's' then
    local current = math.floor(now / a)
    local bucket = math.floor(at / a)
    if bucket <= current - b then
      if delta > 0 then bucket = current else bucket = nil end
    end
    if bucket then
      local field = tostring(bucket)
      local m = redis.call('HMGET', key, 'sum', 'low', 'top', field)
      local sum, low, top = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
      local v = (tonumber(m[4]) or 0) + delta
      local applied = delta
      if v < 0 then applied, v = delta - v, 0 end
      if sum == nil or low == nil or bucket < low or (v <= 0 and bucket == top) then
        -- no running sum to keep, or the newest positive bucket emptied: the next check rebuilds
        redis.call('HSET', key, field, fmt(v))
        redis.call('HDEL', key, 'sum', 'low', 'top')
      elseif v > 0 and (top == nil or bucket > top) then
        redis.call('HSET', key, field, fmt(v), 'sum', fmt(sum + applied), 'top', bucket)
      else
        redis.call('HSET', key, field, fmt(v), 'sum', fmt(sum + applied))
      end
      local expiresAt = (bucket + b) * a
      local ttl = redis.call('PTTL', key)
      if ttl < 0 or expiresAt - now > ttl then
        redis.call('PEXPIREAT', key, tostring(expiresAt))
      end
    end
  else
    if tonumber(redis.call('INCRBYFLOAT', key, ARGV[o + 2])) < 0 then
      redis.call('SET', key, '0', 'KEEPTTL')
    end
    redis.call('PEXPIREAT', key, tostring(a))
  end
end
return 1
`);
