-- wave_plan: builds a wave from the confirmed orders without a hold, atomically: orders sorted
-- by priority rank, ship date and id; each order is reserved whole (every line from the
-- product's quants in key order, the lot when the line names one; on_hand - reserved is never
-- exceeded, as in reserve_commit) or skipped with its reason; the wave limits stop the wave.
-- KEYS[4] wave hash, KEYS[5] open orders set.
-- ARGV[7] key prefix, ARGV[8] wave id, ARGV[9] carrier ('' any), ARGV[10] max orders,
-- ARGV[11] max lines, ARGV[12] max units (0: no limit), ARGV[13] priority names JSON, highest
-- first, ARGV[14] JSON array of locations that hold no reservable stock (input, quality,
-- output, ...). Returns {'ok', orders JSON, skipped JSON [{order, reason}], lines, units}.
if #KEYS ~= 5 or #ARGV ~= 14 then
    return err('EARG', 'wave_plan takes 5 keys and 14 arguments')
end
local P, wid, carrier = ARGV[7], ARGV[8], ARGV[9]
local max_o, max_l, max_u = int_arg(ARGV[10]), int_arg(ARGV[11]), int_arg(ARGV[12])
local okp, prios = pcall(cjson.decode, ARGV[13])
local okx, excl = pcall(cjson.decode, ARGV[14])
if not okx or type(excl) ~= 'table' then
    return err('EARG', 'bad excluded locations')
end
local skip_loc = {}
for _, l in ipairs(excl) do
    skip_loc[l] = true
end
if string.sub(KEYS[1], 1, #P) ~= P or not is_id(wid) or (carrier ~= '' and not is_id(carrier)) or
    not max_o or not max_l or not max_u or not okp or type(prios) ~= 'table' then
    return err('EARG', 'bad prefix, wave id, carrier, limits or priorities')
end
if seen() then
    return {'dup'}
end
if redis.call('EXISTS', KEYS[4]) == 1 then
    return err('ESTATE', 'wave ' .. wid .. ' exists')
end
local rank = {}
for i, p in ipairs(prios) do
    rank[p] = i
end
local cands = {}
for _, o in ipairs(redis.call('SMEMBERS', KEYS[5])) do
    local v = redis.call('HMGET', P .. 'order:' .. o, 'state', 'hold', 'carrier', 'priority',
        'ship_date')
    if v[1] == 'confirmed' and v[2] ~= '1' and (carrier == '' or v[3] == carrier) then
        cands[#cands + 1] = {id = o, rank = rank[v[4]] or (#prios + 1), date = v[5] or ''}
    end
end
if #cands == 0 then
    return err('ESTATE', 'no confirmed order without a hold' ..
        (carrier ~= '' and (' for carrier ' .. carrier) or '') .. ' to wave')
end
table.sort(cands, function(a, b)
    if a.rank ~= b.rank then
        return a.rank < b.rank
    end
    if a.date ~= b.date then
        return a.date ~= '' and (b.date == '' or a.date < b.date)
    end
    return a.id < b.id
end)
local taken, picked, skipped = {}, {}, {}
local n_lines, n_units = 0, 0
local function quants_of(sku)
    local ks = redis.call('SMEMBERS', P .. 'sku:' .. sku .. ':quants')
    table.sort(ks)
    return ks
end
for _, c in ipairs(cands) do
    local raw = redis.call('HGETALL', P .. 'order:' .. c.id .. ':lines')
    local lines, units = {}, 0
    for i = 1, #raw, 2 do
        local l = cjson.decode(raw[i + 1])
        lines[#lines + 1] = l
        units = units + l.qty
    end
    local why = nil
    if max_o > 0 and #picked >= max_o then
        why = 'wave limit of ' .. max_o .. ' orders reached'
    elseif max_l > 0 and n_lines + #lines > max_l then
        why = 'wave limit of ' .. max_l .. ' lines reached'
    elseif max_u > 0 and n_units + units > max_u then
        why = 'wave limit of ' .. max_u .. ' units reached'
    end
    local alloc, use = {}, {}
    for _, l in ipairs(lines) do
        if why then
            break
        end
        local need, avail_all = l.qty, 0
        for _, k in ipairs(quants_of(l.sku)) do
            local v = redis.call('HMGET', k, 'on_hand', 'reserved', 'lot', 'loc')
            if (l.lot == nil or l.lot == v[3]) and not skip_loc[v[4]] then
                local a = num(v[1]) - num(v[2]) - (taken[k] or 0) - (use[k] or 0)
                if a > 0 then
                    avail_all = avail_all + a
                    local q = math.min(a, need)
                    if q > 0 then
                        alloc[#alloc + 1] = {k, q}
                        use[k] = (use[k] or 0) + q
                        need = need - q
                    end
                end
            end
        end
        if need > 0 then
            why = 'short: ' .. l.sku .. (l.lot and (' lot ' .. l.lot) or '') .. ' needs ' ..
                l.qty .. ', available ' .. avail_all
        end
    end
    if why then
        skipped[#skipped + 1] = {order = c.id, reason = why}
    else
        for k, q in pairs(use) do
            taken[k] = (taken[k] or 0) + q
        end
        picked[#picked + 1] = {id = c.id, alloc = alloc}
        n_lines, n_units = n_lines + #lines, n_units + units
    end
end
if #picked == 0 then
    return err('ESTATE', 'no order can be waved: ' .. skipped[1].order .. ' ' ..
        skipped[1].reason)
end
local ids = {}
for _, o in ipairs(picked) do
    local rk = P .. 'order:' .. o.id .. ':resv'
    local before, after = {}, {}
    for _, a in ipairs(o.alloc) do
        if before[a[1]] == nil then
            before[a[1]] = num(redis.call('HGET', a[1], 'reserved'))
        end
        after[a[1]] = redis.call('HINCRBY', a[1], 'reserved', a[2])
        redis.call('HINCRBY', rk, a[1], a[2])
    end
    redis.call('HSET', P .. 'order:' .. o.id, 'state', 'waved', 'wave', wid, 'updated_ts', ARGV[4])
    journal('reserve', o.id, before, after)
    ids[#ids + 1] = o.id
end
local ids_json = cjson.encode(ids)
redis.call('HSET', KEYS[4], 'state', 'planned', 'orders', ids_json, 'n_orders', #ids,
    'carrier', carrier, 'lines', n_lines, 'units', n_units, 'created_ts', ARGV[4], 'by', ARGV[1])
redis.call('HINCRBY', KEYS[3], 'waves', 1)
redis.call('HINCRBY', KEYS[3], 'reservations', #ids)
redis.call('HINCRBY', KEYS[3], 'reserved_units', n_units)
journal('wave_plan', wid, {}, {orders = ids, lines = n_lines, units = n_units})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', ids_json, #skipped > 0 and cjson.encode(skipped) or '[]', tostring(n_lines),
    tostring(n_units)}
