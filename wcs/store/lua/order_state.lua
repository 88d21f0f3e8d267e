-- order_state: hold, release or cancel an order. hold: a draft, confirmed or reserved order is
-- kept out of waves; release: ends a hold (and confirms a draft); cancel: up to 'waved', gives
-- back every reservation and leaves the order's wave. Cancelled and shipped orders refuse all.
-- Every key it touches is declared: the C side reads the order's wave and the quants it holds
-- first and passes them; the script re-checks both and refuses with 'changed meanwhile, retry'
-- when they moved (the C side then reads again and retries, OPS_RETRIES_MAX times).
-- KEYS[4] order hash, KEYS[5] order reservations hash, KEYS[6] open orders set, then for cancel
-- KEYS[7] the order's wave hash when ARGV[9] names one, then the quants the order holds.
-- ARGV[7] order id, ARGV[8] 'hold'|'release'|'cancel', ARGV[9] the order's wave id as read
-- ('' none). Returns {'ok', state, hold ('0'|'1'), units unreserved}.
if #KEYS < 6 or #ARGV ~= 9 then
    return err('EARG', 'order_state takes 6 or more keys and 9 arguments')
end
local id, act, rwave = ARGV[7], ARGV[8], ARGV[9]
if not is_id(id) or (act ~= 'hold' and act ~= 'release' and act ~= 'cancel') or
    (rwave ~= '' and not is_id(rwave)) then
    return err('EARG', 'bad order id, action or wave')
end
local first_q = rwave ~= '' and 8 or 7
if rwave ~= '' and string.sub(KEYS[7], -(#rwave + 6)) ~= ':wave:' .. rwave then
    return err('EARG', 'KEYS[7] is not the wave ' .. rwave)
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'state', 'hold', 'wave')
local st, hold, wave = v[1], v[2] or '0', v[3]
local function changed()
    return err('ESTATE', 'order ' .. id .. ' changed meanwhile, retry')
end
if act == 'cancel' and st and (wave or '') ~= rwave then
    return changed()
end
local declared = {}
for i = first_q, #KEYS do
    declared[KEYS[i]] = true
end
if act == 'cancel' and st then
    local held = redis.call('HKEYS', KEYS[5])
    if #held ~= #KEYS - first_q + 1 then
        return changed()
    end
    for _, k in ipairs(held) do
        if not declared[k] then
            return changed()
        end
    end
end
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
        local wk = KEYS[7]
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
