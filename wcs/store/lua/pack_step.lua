-- pack_step: one step of a pack station's session (open, tote added, item verified or refused,
-- weight refused, carton to QA, held, reset) recorded on the station hash, with the same fields
-- set on each of the session's totes (e.g. dest qa), and one journal entry. The caller passes
-- the whole session; only the station fields whose value changes are written and journaled
-- (before/after), so a verified unit costs its own change, not the session's size.
-- KEYS[4] station hash, KEYS[5..] tote hashes.
-- ARGV[7] journal op, ARGV[8] station id, ARGV[9] KPI counter ('' none), ARGV[10] n station
-- fields, then n field/value pairs for the station, then field/value pairs for every tote.
if #KEYS < 4 or #ARGV < 10 then
    return err('EARG', 'pack_step takes 4+ keys and 10+ arguments')
end
if not string.match(ARGV[7], '^[%w_.]+$') or #ARGV[7] > 32 or not is_id(ARGV[8]) then
    return err('EARG', 'bad journal op or station id')
end
if ARGV[9] ~= '' and not string.match(ARGV[9], '^[%w_]+$') then
    return err('EARG', 'bad counter name')
end
local nst = int_arg(ARGV[10])
if not nst or nst < 0 or 10 + 2 * nst > #ARGV or (#ARGV - 10) % 2 ~= 0 then
    return err('EARG', 'bad station field count')
end
for i = 11, #ARGV, 2 do
    if not string.match(ARGV[i], '^[%w_]+$') or #ARGV[i] > 32 or #ARGV[i + 1] > 8192 then
        return err('EARG', 'bad field ' .. ARGV[i])
    end
end
if (#ARGV - 10 - 2 * nst) > 0 and #KEYS == 4 then
    return err('EARG', 'tote fields without totes')
end
if seen() then
    return {'dup'}
end
local before, after, kv, names = {}, {}, {}, {}
for i = 11, 10 + 2 * nst, 2 do
    names[#names + 1] = ARGV[i]
end
local old = #names > 0 and redis.call('HMGET', KEYS[4], unpack(names)) or {}
for k = 1, #names do
    local v = ARGV[10 + 2 * k]
    if old[k] ~= v then
        before[names[k]] = old[k] or cjson.null
        after[names[k]] = v
        kv[#kv + 1] = names[k]
        kv[#kv + 1] = v
    end
end
if #kv > 0 then
    redis.call('HSET', KEYS[4], unpack(kv))
end
local tkv = {}
for i = 11 + 2 * nst, #ARGV, 2 do
    tkv[#tkv + 1] = ARGV[i]
    tkv[#tkv + 1] = ARGV[i + 1]
end
if #tkv > 0 then
    local totes = {}
    for k = 5, #KEYS do
        redis.call('HSET', KEYS[k], unpack(tkv))
        totes[#totes + 1] = string.match(KEYS[k], ':tote:(.*)$')
    end
    after.totes_set = {}
    for i = 1, #tkv, 2 do
        after.totes_set[tkv[i]] = tkv[i + 1]
    end
    after.on_totes = totes
end
if ARGV[9] ~= '' then
    redis.call('HINCRBY', KEYS[3], ARGV[9], 1)
end
journal(ARGV[7], ARGV[8], before, after)
return done()
