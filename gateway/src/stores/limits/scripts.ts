import { luaScript } from '../redis.ts';

/**
 * The check, atomically over every item (the Lua twin of `memory.ts` + `viewSliding`).
 * KEYS[i]: counter of item i. ARGV[1]: now (ms); then 5 values per item:
 * mode ('s' sliding | 'c' calendar), limit, cost, a, b — sliding: a = bucket ms, b = bucket
 * count; calendar: a = period end (ms), b unused.
 * Sliding counters are hashes {bucket index -> amount}; calendar counters are strings.
 * Reply: refused item (1-based, 0 = admitted), then used, resetMs, retryAfterMs per item, as
 * strings (a Lua number reply would be truncated to an integer, losing USD cents).
 */
export const checkScript = luaScript(`
local now = tonumber(ARGV[1])
local EPS = 1e-9
local out = {}
local refused, refusedRetry = 0, -1
for i = 1, #KEYS do
  local key = KEYS[i]
  local o = 1 + (i - 1) * 5
  local mode, limit, cost = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local a, b = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
  local used, reset, retry = 0, 0, 0
  if mode == 's' then
    local oldest = math.floor(now / a) - b + 1
    local flat = redis.call('HGETALL', key)
    local live, stale, newest = {}, {}, nil
    for j = 1, #flat, 2 do
      local idx, v = tonumber(flat[j]), tonumber(flat[j + 1])
      if idx < oldest then
        stale[#stale + 1] = flat[j]
      else
        used = used + v
        live[#live + 1] = { idx, v }
        if v > 0 and (newest == nil or idx > newest) then newest = idx end
      end
    end
    if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
    if newest then reset = (newest + b) * a - now end
    if used + cost > limit + EPS then
      retry = b * a
      if cost <= limit + EPS then
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
        local current = math.floor(now / a)
        redis.call('HINCRBYFLOAT', KEYS[i], tostring(current), ARGV[o + 3])
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
 * than the limit); extra consumption is still charged, to the current bucket.
 */
export const settleScript = luaScript(`
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
      if tonumber(redis.call('HINCRBYFLOAT', key, field, ARGV[o + 2])) < 0 then
        redis.call('HSET', key, field, '0')
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
