-- tote_update: a fact of the sorter (route decision, confirmation, loss, lane state, refused
-- input) recorded on one record hash with its journal entry.
-- KEYS[4] the record hash (wcs:{s}:tote:<id>, wcs:{s}:lane:<id> or wcs:{s}:sorter).
-- ARGV[7] journal op, ARGV[8] subject id, ARGV[9] KPI counter to increment ('' none),
-- ARGV[10..] field, value pairs to set on the record (none: the fact is only journaled).
if #KEYS ~= 4 or #ARGV < 9 or (#ARGV - 9) % 2 ~= 0 then
    return err('EARG', 'tote_update takes 4 keys and 9 + 2n arguments')
end
if not string.match(ARGV[7], '^[%w_.]+$') or #ARGV[7] > 32 then
    return err('EARG', 'bad journal op')
end
if not is_id(ARGV[8]) then
    return err('EARG', 'bad subject id')
end
if ARGV[9] ~= '' and not string.match(ARGV[9], '^[%w_]+$') then
    return err('EARG', 'bad counter name')
end
for i = 10, #ARGV, 2 do
    if not string.match(ARGV[i], '^[%w_]+$') or #ARGV[i] > 32 or #ARGV[i + 1] > 256 then
        return err('EARG', 'bad field ' .. ARGV[i])
    end
end
if seen() then
    return {'dup'}
end
local before, after, kv = {}, {}, {}
for i = 10, #ARGV, 2 do
    local old = redis.call('HGET', KEYS[4], ARGV[i])
    before[ARGV[i]] = old or cjson.null
    after[ARGV[i]] = ARGV[i + 1]
    kv[#kv + 1] = ARGV[i]
    kv[#kv + 1] = ARGV[i + 1]
end
if #kv > 0 then
    redis.call('HSET', KEYS[4], unpack(kv))
end
if ARGV[9] ~= '' then
    redis.call('HINCRBY', KEYS[3], ARGV[9], 1)
end
journal(ARGV[7], ARGV[8], before, after)
return done()
