"""The key counters' Lua script: one call per key id and batch, atomic in Redis (see ``vllora.keys.redis_limits``).

Each counter is read at most once per call and written once at its end (one ZCARD, one ZADD for all admitted
requests, one INCRBY per tokens counter), the decisions kept exact by counting in the script meanwhile.
"""

# ARGV[1]: JSON [member prefix, ops]. KEYS[1] is the rpm set; ops name other keys by their index in KEYS (0: none).
#   settle: [0, tpm key, token correction, spend key, cost (a string)]
#   admit:  [1, now ms, rpm, tpm, estimated tokens, budget, elapsed share of the minute, tpm key, previous tpm key,
#            spend key]            (rpm, tpm, budget: -1 when the key has none)
#   lease:  [2, now ms, rpm, tpm, wanted requests, wanted tokens, budget, elapsed share of the minute, tpm key,
#            previous tpm key, spend key, chunk end ms, member prefix]   (``vllora.keys.lease``)
#   return: [3, member prefix, first, last]   (a chunk's unused requests leave the rpm window)
# Returns JSON: one [ok, reason, retry ms, remaining requests, remaining tokens, spent, 0, 0] per admission, and for
# a lease [ok, reason, retry ms, granted requests, granted tokens, spent, remaining requests, remaining tokens], in order.
BATCH = """
local req = cjson.decode(ARGV[1])
local prefix = req[1]
local out = {}
local num = {}  -- KEYS index -> its value as read once per call (GET), or as INCRBYFLOAT answered
local add = {}  -- KEYS index -> what this call adds to that integer counter: one INCRBY each, at the end
local ttl = {}  -- KEYS index -> the PEXPIRE to set once, at the end
local function get(i)
  local v = num[i]
  if v == nil then
    v = tonumber(redis.call('GET', KEYS[i]) or '0')
    num[i] = v
  end
  return v + (add[i] or 0)
end
local members = {}  -- admitted requests not yet in the rpm set: one ZADD at the end (score, member, ...)
local function flush_members()
  if #members > 0 then
    redis.call('ZADD', KEYS[1], unpack(members))
    members = {}
  end
end
local count = nil  -- the rpm set's size (with the members above), kept current from one ZCARD
local pruned = nil
local function counted(now)
  if pruned ~= now then
    local removed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
    if count == nil then
      count = redis.call('ZCARD', KEYS[1]) + #members / 2
    else
      count = count - removed
    end
    pruned = now
  end
  return count
end
local function retry_rpm(now)
  flush_members()
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return 60000 - (now - tonumber(oldest[2]))
end
local function zcall(cmd, names, extra)  -- ZADD/ZREM in slices of 500 names
  local done = 0
  local args = {}
  for j = 1, #names do
    if extra ~= nil then args[#args + 1] = extra end
    args[#args + 1] = names[j]
    if #args >= 1000 or j == #names then
      done = done + redis.call(cmd, KEYS[1], unpack(args))
      args = {}
    end
  end
  return done
end
for i, op in ipairs(req[2]) do
  if op[1] == 0 then
    if op[2] > 0 then
      add[op[2]] = (add[op[2]] or 0) + op[3]
      ttl[op[2]] = 130000
    end
    if op[4] > 0 then
      num[op[4]] = tonumber(redis.call('INCRBYFLOAT', KEYS[op[4]], op[5]))
    end
  elseif op[1] == 2 then
    local now, rpm, tpm, want, wtok, budget, elapsed = op[2], op[3], op[4], op[5], op[6], op[7], op[8]
    local spent = 0
    if op[11] > 0 then
      spent = get(op[11])
    end
    local decision = nil
    if budget >= 0 and spent >= budget then
      decision = {0, 'budget', 0, 0, 0, tostring(spent), 0, 0}
    end
    local grant, left = want, -1
    if decision == nil and rpm >= 0 then
      grant = math.min(want, rpm - counted(now))
      if grant <= 0 then
        decision = {0, 'rpm', 0, 0, 0, tostring(spent), 0, 0}
      end
    end
    local tgrant, used = 0, 0
    if decision == nil and tpm >= 0 then
      used = get(op[10]) * (1 - elapsed) + get(op[9])
      tgrant = math.floor(math.min(wtok, tpm - used))
      if tgrant <= 0 then
        decision = {0, 'tpm', 0, 0, 0, tostring(spent), 0, 0}
      else
        add[op[9]] = (add[op[9]] or 0) + tgrant
        ttl[op[9]] = 130000
      end
    end
    if decision == nil then
      if rpm >= 0 then
        flush_members()
        local names = {}
        for j = 1, grant do
          names[j] = op[13] .. j
        end
        zcall('ZADD', names, op[12])
        count = count + grant
        left = rpm - count
        ttl[1] = math.max(ttl[1] or 0, op[12] - now + 61000)
      end
      decision = {1, '', 0, grant, tgrant, tostring(spent), left, math.floor(tpm - used - tgrant)}
    end
    out[#out + 1] = decision
  elseif op[1] == 3 then
    flush_members()
    local names = {}
    for j = op[3], op[4] do
      names[#names + 1] = op[2] .. j
    end
    local removed = zcall('ZREM', names, nil)
    if count ~= nil then
      count = count - removed
    end
  else
    local now, rpm, tpm, est, budget, elapsed = op[2], op[3], op[4], op[5], op[6], op[7]
    local spent = 0
    if op[10] > 0 then
      spent = get(op[10])
    end
    local decision = nil
    if budget >= 0 and spent >= budget then
      decision = {0, 'budget', 0, -1, -1, tostring(spent), 0, 0}
    end
    if decision == nil and rpm >= 0 then
      if counted(now) >= rpm then
        decision = {0, 'rpm', retry_rpm(now), 0, -1, tostring(spent), 0, 0}
      end
    end
    local used = 0
    if decision == nil and tpm >= 0 then
      used = get(op[9]) * (1 - elapsed) + get(op[8])
      if used > 0 and used + est > tpm then
        decision = {0, 'tpm', math.floor((1 - elapsed) * 60000), -1, 0, tostring(spent), 0, 0}
      else
        add[op[8]] = (add[op[8]] or 0) + est
        ttl[op[8]] = 130000
      end
    end
    if decision == nil then
      local left = -1
      if rpm >= 0 then
        members[#members + 1] = now
        members[#members + 1] = prefix .. i
        count = count + 1
        left = rpm - count
        ttl[1] = math.max(ttl[1] or 0, 61000)
      end
      decision = {1, '', 0, left, math.floor(tpm - used - est), tostring(spent), 0, 0}
    end
    out[#out + 1] = decision
  end
end
flush_members()
for i, n in pairs(add) do
  if n ~= 0 then
    redis.call('INCRBY', KEYS[i], n)
  end
end
for i, ms in pairs(ttl) do
  redis.call('PEXPIRE', KEYS[i], ms)
end
return cjson.encode(out)
"""
