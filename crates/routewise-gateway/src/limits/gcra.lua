-- Admission for one request against deployment quotas, atomically, on Redis's clock.
--
-- Each quota is a GCRA bucket: the key holds its theoretical arrival time (TAT, microseconds
-- on the server's clock). A request costing n units at emission interval T is allowed when
-- max(TAT, now) + n*T - tau <= now, where tau (the burst tolerance) is the bucket's capacity
-- times T; allowing it stores the new TAT. A refused request stores nothing.
--
-- Groups: a group is one deployment's pair of buckets, requests then tokens
-- (KEYS[2g-1], KEYS[2g]). ARGV[1] = 1 when group 1 must pass (the deployment named in
-- `model`); the remaining groups are candidates in plan order, and the first one whose
-- buckets pass is charged along with group 1. ARGV[2] = 1 when an unlimited candidate
-- follows them (so the request is admitted even if all of them are out of quota).
-- ARGV[3] = the request's estimated tokens. Then four numbers per group: request interval,
-- request tolerance, token interval, token tolerance (microseconds; interval 0 = no limit).
--
-- Returns {admitted, chosen group (0 = none), refusing group, refused kind (1 requests,
-- 2 tokens), wait us, then for the reported group: remaining requests, requests reset us,
-- remaining tokens, tokens reset us (-1 = no such limit)}. The reported group is group 1
-- when required, else the chosen one, or the refusing one on a refusal.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local required = tonumber(ARGV[1])
local fallback = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local groups = #KEYS / 2

local function bucket(key, interval, tau, n)
  -- returns allowed, new TAT (or wait when refused), remaining, reset
  local tat = tonumber(redis.call('GET', key)) or 0
  if tat < now then tat = now end
  local new = tat + n * interval
  if new - tau > now then
    return false, new - tau - now, math.max(0, math.floor((tau - (tat - now)) / interval)), tat - now
  end
  return true, new, math.max(0, math.floor((tau - (new - now)) / interval)), new - now
end

local function group(g)
  local a = 3 + (g - 1) * 4
  local ri, rtau = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ti, ttau = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local ok, wait, kind = true, 0, 0
  local snap = {-1, 0, -1, 0}
  local writes = {}
  if ri > 0 then
    local allowed, v, rem, reset = bucket(KEYS[2 * g - 1], ri, rtau, 1)
    snap[1], snap[2] = rem, reset
    if allowed then writes[2 * g - 1] = v else ok, wait, kind = false, v, 1 end
  end
  if ti > 0 then
    local allowed, v, rem, reset = bucket(KEYS[2 * g], ti, ttau, cost)
    snap[3], snap[4] = rem, reset
    if allowed then
      writes[2 * g] = v
    else
      if v > wait then wait, kind = v, 2 end
      ok = false
    end
  end
  return ok, wait, kind, snap, writes
end

local function commit(writes)
  for k, tat in pairs(writes) do
    local ttl = math.ceil((tat - now) / 1000) + 1000
    redis.call('SET', KEYS[k], string.format('%.0f', math.ceil(tat)), 'PX', ttl)
  end
end

local function refusal(g, kind, wait, snap)
  return {0, 0, g, kind, math.ceil(wait), snap[1], snap[2], snap[3], snap[4]}
end

local first = 1
local r_snap, r_writes
if required == 1 then
  local ok, wait, kind
  ok, wait, kind, r_snap, r_writes = group(1)
  if not ok then return refusal(1, kind, wait, r_snap) end
  first = 2
end

local chosen, c_snap = 0, nil
local best_g, best_kind, best_wait, best_snap = 0, 0, nil, nil
for g = first, groups do
  local ok, wait, kind, snap, writes = group(g)
  if ok then
    chosen, c_snap = g, snap
    commit(writes)
    break
  end
  if best_wait == nil or wait < best_wait then
    best_g, best_kind, best_wait, best_snap = g, kind, wait, snap
  end
end

if chosen == 0 and fallback == 0 and best_wait ~= nil then
  return refusal(best_g, best_kind, best_wait, best_snap)
end
if r_writes then commit(r_writes) end
local snap = r_snap or c_snap or {-1, 0, -1, 0}
return {1, chosen, 0, 0, 0, snap[1], snap[2], snap[3], snap[4]}
