-- wave_reserve: commits one order of a wave.plan: reserves exactly the quants and quantities the
-- planner chose, all or nothing (reserve_commit's rule: on_hand - reserved >= qty per quant,
-- lines on one quant summed), and only if the order is still as the snapshot read it
-- (confirmed, not held, in no wave, same updated_ts) and the wave is still being planned. The
-- order becomes 'waved' in the wave and joins the wave's order list.
-- KEYS[4] order hash, KEYS[5] order reservations hash, KEYS[6] wave hash, KEYS[7..6+n] quants,
-- then for a backorder's follow-up order (its `backorder` field) the backorder hash and the
-- open backorders zset: the backorder becomes reserved. A waved order loses `short_since`.
-- ARGV[7] order id, ARGV[8] wave id, ARGV[9] the order's updated_ts in the snapshot, ARGV[10]
-- the order's line count, ARGV[10+i] qty on KEYS[6+i].
-- Returns {'ok'}, {'dup'}, {'short', quant, requested, available, ...} changing nothing, or
-- ESTATE 'order X changed since the snapshot: ...'.
local n = #ARGV - 10
local extra = #KEYS - 6 - n
if n < 1 or (extra ~= 0 and extra ~= 2) then
    return err('EARG', 'wave_reserve takes one quantity per quant')
end
local oid, wid, lines = ARGV[7], ARGV[8], int_arg(ARGV[10])
if not is_id(oid) or not is_id(wid) or not lines or lines < 0 then
    return err('EARG', 'bad order id, wave id or line count')
end
local keys, want = sum_lines(6, 10, n)
if not keys then
    return want
end
if seen() then
    return {'dup'}
end
local w = redis.call('HMGET', KEYS[6], 'state', 'orders')
if w[1] ~= 'planning' then
    return err('ESTATE', 'wave ' .. wid .. ' is ' .. tostring(w[1] or 'gone') ..
        ': it is no longer being planned')
end
local o = redis.call('HMGET', KEYS[4], 'state', 'hold', 'wave', 'updated_ts', 'backorder')
local why = nil
if o[1] ~= 'confirmed' then
    why = 'it is ' .. tostring(o[1] or 'gone')
elseif o[2] == '1' then
    why = 'it is on hold'
elseif o[3] and o[3] ~= '' then
    why = 'it is in wave ' .. o[3]
elseif (o[4] or '') ~= ARGV[9] then
    why = 'it was updated'
end
if not why and (o[5] or '') ~= '' and (extra ~= 2 or KEYS[7 + n] ~= site_key('backorder:' .. o[5])) then
    why = 'it is the follow-up of backorder ' .. o[5]
elseif not why and (o[5] or '') == '' and extra ~= 0 then
    why = 'it has no backorder'
end
if why then
    return err('ESTATE', 'order ' .. oid .. ' changed since the snapshot: ' .. why)
end
local short, before, after, units = reserve_all(keys, want, KEYS[5])
if short then
    return {'short', unpack(short)}
end
local list = cjson.decode(w[2] or '[]')
if type(list) ~= 'table' or next(list) == nil then
    list = {}
end
list[#list + 1] = oid
redis.call('HSET', KEYS[6], 'orders', cjson.encode(list), 'n_orders', #list)
redis.call('HINCRBY', KEYS[6], 'lines', lines)
redis.call('HINCRBY', KEYS[6], 'units', units)
redis.call('HSET', KEYS[4], 'state', 'waved', 'wave', wid, 'updated_ts', ARGV[4])
redis.call('HDEL', KEYS[4], 'short_since')
if extra == 2 then
    -- A backorder's follow-up order: the backorder is reserved and leaves the open backorders.
    redis.call('HSET', KEYS[7 + n], 'state', 'reserved', 'wave', wid, 'reserved_ts', ARGV[4])
    redis.call('ZREM', KEYS[8 + n], o[5])
    journal('backorder_reserved', o[5], {state = 'open'}, {state = 'reserved', order = oid,
        wave = wid})
end
redis.call('HINCRBY', KEYS[3], 'reservations', 1)
redis.call('HINCRBY', KEYS[3], 'reserved_units', units)
journal('reserve', oid, before, after)
return done()
