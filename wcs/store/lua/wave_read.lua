-- wave_read: the read-only snapshot and pre-reads of the command layer (wcs/store/ops.c). It
-- changes nothing and touches only its declared keys. ARGV[7] mode:
--  'open'   KEYS[4] open orders set, KEYS[5] wave hash; ARGV[8] cap. {'ok', wave exists '0'|'1',
--           order ids...}; refused (ESTATE) when the set holds more than cap ids.
--  'candidates' KEYS[4..] order hashes; ARGV[8] carrier ('' any). Per key '0' when the order
--           is no wave candidate (absent, not confirmed, on hold, in a wave, another carrier),
--           else '1' and 11 values: state, hold, carrier, priority, ship_date, zone, updated_ts,
--           wave, lines, backorder, short_since. Only a confirmed order's fields are read.
--  'lines'  KEYS[4..] order lines hashes. Per key: n, then n x (sku, qty, lot) by line number.
--  'sets'   KEYS[4..] sets. Per key: n, then its n members sorted.
--  'quants' KEYS[4..] quant hashes. Per key 9 values: exists '0'|'1', sku, loc, lot, on_hand,
--           reserved (plus units on hold), expiry, in_date, missing (units a short pick did not
--           find, not yet counted; '' none).
--  'fields' KEYS[4..] hashes. Per key: n, then its n field names sorted.
--  'get'    KEYS[4] a string key. Its value ('' when absent).
--  'release' KEYS[4] wave hash, KEYS[5] task counter. The state ('' no such wave), the orders
--           JSON as stored, the next task number, then n and the n order ids, then m and the m
--           batch ids with each one's task count (wave_batches of the prelude).
--  'zfirst' KEYS[4] a sorted set; ARGV[8] (optional) a retry count k. Its first member, or with
--           k its member at rank k modulo its size, so claimants retrying after a race spread
--           over the set instead of meeting again on its first member ('' when empty).
--  'short'  (pick.short) KEYS[4] order, KEYS[5] order lines, KEYS[6] task counter, KEYS[7]
--           backorder counter, KEYS[8] open counts, KEYS[9] the SKU's quant set; ARGV[8] line
--           no, ARGV[9] location. The order's state, carrier, priority, ship_date, zone,
--           backorder, the line's lot, both counters, the location's open count ('' none),
--           then n and the n quant keys (sorted).
if #KEYS < 4 or #ARGV < 7 then
    return err('EARG', 'wave_read takes at least 4 keys and 7 arguments')
end
local mode, out = ARGV[7], {'ok'}
local function s(v)
    if v == false or v == nil then
        return ''
    end
    return tostring(v)
end
if mode == 'open' then
    local cap = int_arg(ARGV[8] or '')
    if #KEYS ~= 5 or not cap then
        return err('EARG', 'open takes the open set, the wave and a cap')
    end
    local n = redis.call('SCARD', KEYS[4])
    if n > cap then
        return err('ESTATE', n .. ' open orders exceed the snapshot limit of ' .. cap ..
            ': plan per carrier or raise the limit')
    end
    out[2] = tostring(redis.call('EXISTS', KEYS[5]))
    local ids = redis.call('SMEMBERS', KEYS[4])
    table.sort(ids)
    for _, id in ipairs(ids) do
        out[#out + 1] = id
    end
elseif mode == 'candidates' then
    local carrier = ARGV[8] or ''
    for i = 4, #KEYS do
        -- Most open orders are already waved or further on: one field decides for them.
        local v = redis.call('HGET', KEYS[i], 'state') == 'confirmed' and
            redis.call('HMGET', KEYS[i], 'state', 'hold', 'carrier', 'priority', 'ship_date',
                'zone', 'updated_ts', 'wave', 'lines', 'backorder', 'short_since')
        if v and (v[2] == '1' or (v[8] or '') ~= '' or (carrier ~= '' and v[3] ~= carrier)) then
            v = false
        end
        out[#out + 1] = v and '1' or '0'
        for j = 1, v and 11 or 0 do
            out[#out + 1] = s(v[j])
        end
    end
elseif mode == 'lines' then
    for i = 4, #KEYS do
        local raw = redis.call('HGETALL', KEYS[i])
        local lines = {}
        for j = 1, #raw, 2 do
            local ok, l = pcall(cjson.decode, raw[j + 1])
            if not ok or type(l) ~= 'table' then
                return err('ESTATE', 'unreadable order line in ' .. KEYS[i])
            end
            lines[#lines + 1] = {tonumber(raw[j]) or 0, l}
        end
        table.sort(lines, function(a, b)
            return a[1] < b[1]
        end)
        out[#out + 1] = tostring(#lines)
        for _, e in ipairs(lines) do
            out[#out + 1] = s(e[2].sku)
            out[#out + 1] = string.format('%d', tonumber(e[2].qty) or 0)
            out[#out + 1] = s(e[2].lot)
        end
    end
elseif mode == 'sets' or mode == 'fields' then
    for i = 4, #KEYS do
        local m = mode == 'sets' and redis.call('SMEMBERS', KEYS[i]) or
            redis.call('HKEYS', KEYS[i])
        table.sort(m)
        out[#out + 1] = tostring(#m)
        for _, k in ipairs(m) do
            out[#out + 1] = k
        end
    end
elseif mode == 'quants' then
    for i = 4, #KEYS do
        local v = redis.call('HMGET', KEYS[i], 'sku', 'loc', 'lot', 'on_hand', 'reserved',
            'expiry', 'in_date', 'missing', 'hold')
        -- Units on hold (quality, returns) count as reserved: the planner must not take them.
        if num(v[9]) > 0 then
            v[5] = tostring(math.min(num(v[4]), num(v[5]) + num(v[9])))
        end
        out[#out + 1] = v[1] and '1' or '0'
        for j = 1, 8 do
            out[#out + 1] = s(v[j])
        end
    end
elseif mode == 'get' then
    if #KEYS ~= 4 then
        return err('EARG', 'get takes one key')
    end
    out[2] = s(redis.call('GET', KEYS[4]))
elseif mode == 'release' then
    if #KEYS ~= 5 then
        return err('EARG', 'release takes the wave and the task counter')
    end
    local v = redis.call('HMGET', KEYS[4], 'state', 'orders', 'batch_plan')
    local ok, orders = pcall(cjson.decode, v[2] or '[]')
    if not ok or type(orders) ~= 'table' then
        orders = {}
    end
    local batches = wave_batches('x', v[3], orders) or {}
    out[#out + 1] = s(v[1])
    out[#out + 1] = s(v[2])
    out[#out + 1] = tostring(num(redis.call('GET', KEYS[5])) + 1)
    out[#out + 1] = tostring(#orders)
    for _, o in ipairs(orders) do
        out[#out + 1] = o
    end
    out[#out + 1] = tostring(#batches)
    for _, b in ipairs(batches) do
        out[#out + 1] = tostring(#b.picks)
    end
elseif mode == 'zfirst' then
    local k = 0
    if ARGV[8] then
        k = int_arg(ARGV[8])
    end
    if #KEYS ~= 4 or #ARGV > 8 or not k or k < 0 then
        return err('EARG', 'zfirst takes one key and an optional rank')
    end
    if k > 0 then
        local n = redis.call('ZCARD', KEYS[4])
        k = n > 0 and k % n or 0
    end
    out[2] = s(redis.call('ZRANGE', KEYS[4], k, k)[1])
elseif mode == 'short' then
    if #KEYS ~= 9 or #ARGV ~= 9 then
        return err('EARG', 'short takes 6 keys, a line and a location')
    end
    local v = redis.call('HMGET', KEYS[4], 'state', 'carrier', 'priority', 'ship_date', 'zone',
        'backorder')
    for j = 1, 6 do
        out[#out + 1] = s(v[j])
    end
    local okl, l = pcall(cjson.decode, redis.call('HGET', KEYS[5], ARGV[8]) or '{}')
    out[#out + 1] = okl and type(l) == 'table' and s(l.lot) or ''
    out[#out + 1] = tostring(num(redis.call('GET', KEYS[6])))
    out[#out + 1] = tostring(num(redis.call('GET', KEYS[7])))
    out[#out + 1] = s(redis.call('HGET', KEYS[8], ARGV[9]))
    local m = redis.call('SMEMBERS', KEYS[9])
    table.sort(m)
    out[#out + 1] = tostring(#m)
    for _, k in ipairs(m) do
        out[#out + 1] = k
    end
else
    return err('EARG', 'unknown wave_read mode')
end
return out
