-- wave_state: release a planned wave to the floor, or cancel a planning, planned or released
-- wave whose orders are all still 'waved' (every reservation is given back, the orders return
-- to 'confirmed'). Every key it touches is declared: for cancel the C side reads the wave's
-- order list and each order's reserved quants first and passes their keys; the script refuses
-- with 'changed meanwhile, retry' when the list or a reservation set moved (the C side then
-- reads again and retries once).
-- KEYS[4] wave hash; for cancel then per order (in list order) its hash and reservations hash,
-- then the quants of each order in turn. ARGV[7] wave id, ARGV[8] 'release' or 'cancel',
-- ARGV[9] the order list JSON as read, ARGV[10] JSON array of each order's quant count.
-- Returns {'ok', state, orders JSON, units unreserved}.
if #KEYS < 4 or #ARGV ~= 10 then
    return err('EARG', 'wave_state takes 4 or more keys and 10 arguments')
end
local wid, act = ARGV[7], ARGV[8]
local okc, counts = pcall(cjson.decode, ARGV[10])
if not is_id(wid) or (act ~= 'release' and act ~= 'cancel') or not okc or
    type(counts) ~= 'table' then
    return err('EARG', 'bad wave id, action or quant counts')
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
    if st ~= 'planning' and st ~= 'planned' and st ~= 'released' then
        return err('ESTATE', 'wave ' .. wid .. ' is ' .. st .. ': it can no longer be cancelled')
    end
    local function changed()
        return err('ESTATE', 'wave ' .. wid .. ' changed meanwhile, retry')
    end
    if (v[2] or '[]') ~= ARGV[9] or #counts ~= #orders then
        return changed()
    end
    local nq = 0
    for _, c in ipairs(counts) do
        nq = nq + (tonumber(c) or 0)
    end
    if #KEYS ~= 4 + 2 * #orders + nq then
        return changed()
    end
    for i, o in ipairs(orders) do
        local ost = redis.call('HGET', KEYS[3 + 2 * i], 'state')
        if ost ~= 'waved' then
            return err('ESTATE', 'order ' .. o .. ' of wave ' .. wid .. ' is ' .. tostring(ost) ..
                ': the wave can no longer be cancelled')
        end
    end
    local q0 = 4 + 2 * #orders
    for i, _ in ipairs(orders) do
        local held, mine = redis.call('HKEYS', KEYS[4 + 2 * i]), {}
        for j = 1, counts[i] do
            mine[KEYS[q0 + j]] = true
        end
        if #held ~= counts[i] then
            return changed()
        end
        for _, k in ipairs(held) do
            if not mine[k] then
                return changed()
            end
        end
        q0 = q0 + counts[i]
    end
    for i, o in ipairs(orders) do
        local ok_, rk = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
        local held = redis.call('HGETALL', rk)
        local before, after = {}, {}
        for j = 1, #held, 2 do
            local k, q = held[j], num(held[j + 1])
            before[k] = num(redis.call('HGET', k, 'reserved'))
            after[k] = redis.call('HINCRBY', k, 'reserved', -q)
            units = units + q
        end
        redis.call('DEL', rk)
        redis.call('HSET', ok_, 'state', 'confirmed', 'updated_ts', ARGV[4])
        redis.call('HDEL', ok_, 'wave')
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
