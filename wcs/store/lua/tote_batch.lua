-- tote_batch: several facts of the sorter in one call (the daemon batches its bookkeeping), each
-- applied as tote_update does: fields set on its record, a KPI counter, one journal entry.
-- KEYS[3 + r] the record hash of fact r. ARGV[7] the number of facts n (1..32); then per fact:
-- op, subject id, counter ('' none), cause, field count f, then f field, value pairs.
-- The whole batch shares one op id: a replay applies none of it twice.
local n = int_arg(ARGV[7])
if not n or n < 1 or n > 32 or #KEYS ~= 3 + n then
    return err('EARG', 'tote_batch takes 3 + n keys for n = 1..32 facts')
end
local recs, i = {}, 8
for r = 1, n do
    local op, subject, counter, cause = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    local nf = int_arg(ARGV[i + 4])
    if not op or not string.match(op, '^[%w_.]+$') or #op > 32 then
        return err('EARG', 'fact ' .. r .. ': bad journal op')
    end
    if not is_id(subject) then
        return err('EARG', 'fact ' .. r .. ': bad subject id')
    end
    if counter ~= '' and not string.match(counter, '^[%w_]+$') then
        return err('EARG', 'fact ' .. r .. ': bad counter name')
    end
    if #cause > 256 or not nf or nf < 0 or nf > 32 or i + 4 + 2 * nf > #ARGV then
        return err('EARG', 'fact ' .. r .. ': bad cause or field count')
    end
    for f = 0, nf - 1 do
        local k, v = ARGV[i + 5 + 2 * f], ARGV[i + 6 + 2 * f]
        if not string.match(k, '^[%w_]+$') or #k > 32 or #v > 256 then
            return err('EARG', 'fact ' .. r .. ': bad field ' .. k)
        end
    end
    recs[r] = {op = op, subject = subject, counter = counter, cause = cause, first = i + 5, nf = nf}
    i = i + 5 + 2 * nf
end
if i ~= #ARGV + 1 then
    return err('EARG', 'tote_batch argument count does not match its facts')
end
if seen() then
    return {'dup'}
end
for r = 1, n do
    local rec, key = recs[r], KEYS[3 + r]
    local before, after, names, kv = {}, {}, {}, {}
    for f = 0, rec.nf - 1 do
        names[#names + 1] = ARGV[rec.first + 2 * f]
        kv[#kv + 1] = ARGV[rec.first + 2 * f]
        kv[#kv + 1] = ARGV[rec.first + 2 * f + 1]
        after[ARGV[rec.first + 2 * f]] = ARGV[rec.first + 2 * f + 1]
    end
    if #names > 0 then
        local old = redis.call('HMGET', key, unpack(names))
        for f = 1, #names do
            before[names[f]] = old[f] or cjson.null
        end
        redis.call('HSET', key, unpack(kv))
    end
    if rec.counter ~= '' then
        redis.call('HINCRBY', KEYS[3], rec.counter, 1)
    end
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'ts', ARGV[4], 'actor', ARGV[1],
        'cause', rec.cause, 'op', rec.op, 'op_id', ARGV[3], 'subject', rec.subject,
        'before', cjson.encode(before), 'after', cjson.encode(after))
end
return done()
