-- order_state: hold, release or cancel an order. hold: a draft, confirmed or reserved order is
-- kept out of waves; release: ends a hold (and confirms a draft); cancel: up to 'waved', gives
-- back every reservation and leaves the order's wave. Cancelled and shipped orders refuse all.
-- KEYS[4] order hash, KEYS[5] order reservations hash, KEYS[6] open orders set.
-- ARGV[7] key prefix wcs:{<site>}:, ARGV[8] order id, ARGV[9] 'hold'|'release'|'cancel'.
-- Returns {'ok', state, hold ('0'|'1'), units unreserved}.
if #KEYS ~= 6 or #ARGV ~= 9 then
    return err('EARG', 'order_state takes 6 keys and 9 arguments')
end
local P, id, act = ARGV[7], ARGV[8], ARGV[9]
if not is_id(id) or string.sub(KEYS[1], 1, #P) ~= P or
    (act ~= 'hold' and act ~= 'release' and act ~= 'cancel') then
    return err('EARG', 'bad prefix, order id or action')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'state', 'hold', 'wave')
local st, hold, wave = v[1], v[2] or '0', v[3]
if not st then
    return err('EUNKNOWN', 'unknown order "' .. id .. '"')
end
if st == 'cancelled' or st == 'shipped' then
    return err('ESTATE', 'order ' .. id .. ' is ' .. st .. ': no further changes')
end
local new_st, new_hold, units = st, hold, 0
if act == 'hold' then
    if hold == '1' then
        return err('ESTATE', 'order ' .. id .. ' is already on hold')
    end
    if st ~= 'draft' and st ~= 'confirmed' and st ~= 'reserved' then
        return err('ESTATE', 'order ' .. id .. ' is ' .. st ..
            ': only a draft, confirmed or reserved order can be held')
    end
    new_hold = '1'
elseif act == 'release' then
    if hold ~= '1' and st ~= 'draft' then
        return err('ESTATE', 'order ' .. id .. ' is not on hold')
    end
    new_hold = '0'
    if st == 'draft' then
        new_st = 'confirmed'
    end
else
    if st ~= 'draft' and st ~= 'confirmed' and st ~= 'reserved' and st ~= 'waved' then
        return err('ESTATE', 'order ' .. id .. ' is ' .. st .. ': it can no longer be cancelled')
    end
    new_st, new_hold = 'cancelled', '0'
    local held = redis.call('HGETALL', KEYS[5])
    local before, after = {}, {}
    for i = 1, #held, 2 do
        local k, q = held[i], num(held[i + 1])
        before[k] = num(redis.call('HGET', k, 'reserved'))
        after[k] = redis.call('HINCRBY', k, 'reserved', -q)
        units = units + q
    end
    if #held > 0 then
        redis.call('DEL', KEYS[5])
        journal('unreserve', id, before, after)
    end
    if wave and wave ~= '' then
        local wk = P .. 'wave:' .. wave
        local ok, list = pcall(cjson.decode, redis.call('HGET', wk, 'orders') or '[]')
        if ok and type(list) == 'table' then
            local keep = {}
            for _, o in ipairs(list) do
                if o ~= id then
                    keep[#keep + 1] = o
                end
            end
            redis.call('HSET', wk, 'orders', #keep > 0 and cjson.encode(keep) or '[]',
                'n_orders', #keep)
        end
        redis.call('HDEL', KEYS[4], 'wave')
    end
    redis.call('SREM', KEYS[6], id)
    redis.call('HINCRBY', KEYS[3], 'orders_cancelled', 1)
end
redis.call('HSET', KEYS[4], 'state', new_st, 'hold', new_hold, 'updated_ts', ARGV[4])
journal('order_' .. act, id, {state = st, hold = hold}, {state = new_st, hold = new_hold})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', new_st, new_hold, tostring(units)}
