-- wave_state: release a planned wave to the floor, or cancel a planned or released wave whose
-- orders are all still 'waved' (every reservation is given back, the orders return to
-- 'confirmed'). KEYS[4] wave hash. ARGV[7] key prefix, ARGV[8] wave id, ARGV[9] 'release' or
-- 'cancel'. Returns {'ok', state, orders JSON, units unreserved}.
if #KEYS ~= 4 or #ARGV ~= 9 then
    return err('EARG', 'wave_state takes 4 keys and 9 arguments')
end
local P, wid, act = ARGV[7], ARGV[8], ARGV[9]
if string.sub(KEYS[1], 1, #P) ~= P or not is_id(wid) or (act ~= 'release' and act ~= 'cancel') then
    return err('EARG', 'bad prefix, wave id or action')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'state', 'orders')
local st = v[1]
if not st then
    return err('EUNKNOWN', 'unknown wave "' .. wid .. '"')
end
local orders = cjson.decode(v[2] or '[]')
local new_st, units = st, 0
if act == 'release' then
    if st ~= 'planned' then
        return err('ESTATE', 'wave ' .. wid .. ' is ' .. st .. ': only a planned wave can be released')
    end
    new_st = 'released'
else
    if st ~= 'planned' and st ~= 'released' then
        return err('ESTATE', 'wave ' .. wid .. ' is ' .. st .. ': it can no longer be cancelled')
    end
    for _, o in ipairs(orders) do
        local ost = redis.call('HGET', P .. 'order:' .. o, 'state')
        if ost ~= 'waved' then
            return err('ESTATE', 'order ' .. o .. ' of wave ' .. wid .. ' is ' .. tostring(ost) ..
                ': the wave can no longer be cancelled')
        end
    end
    for _, o in ipairs(orders) do
        local rk = P .. 'order:' .. o .. ':resv'
        local held = redis.call('HGETALL', rk)
        local before, after = {}, {}
        for i = 1, #held, 2 do
            local k, q = held[i], num(held[i + 1])
            before[k] = num(redis.call('HGET', k, 'reserved'))
            after[k] = redis.call('HINCRBY', k, 'reserved', -q)
            units = units + q
        end
        redis.call('DEL', rk)
        redis.call('HSET', P .. 'order:' .. o, 'state', 'confirmed', 'updated_ts', ARGV[4])
        redis.call('HDEL', P .. 'order:' .. o, 'wave')
        if #held > 0 then
            journal('unreserve', o, before, after)
        end
    end
    new_st = 'cancelled'
end
redis.call('HSET', KEYS[4], 'state', new_st, 'updated_ts', ARGV[4])
journal('wave_' .. act, wid, {state = st}, {state = new_st})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', new_st, v[2] or '[]', tostring(units)}
