-- wave_state: cancel a planning, planned or released (without pick tasks) wave whose orders
-- are all still 'waved' (every reservation is given back, the orders return
-- to 'confirmed'). Release goes through wave_release (pick tasks); the 'release' action here
-- is kept for callers of ops_wave_action without tasks. Every key it touches is declared: for
-- cancel the C side reads the wave's order list and each order's reserved quants first and
-- passes their keys; the script refuses
-- with 'changed meanwhile, retry' when the list or a reservation set moved (the C side then
-- reads again and retries, OPS_RETRIES_MAX times).
-- KEYS[4] wave hash; for cancel then per order (in list order) its hash and reservations hash,
-- then the quants of each order in turn. ARGV[7] wave id, ARGV[8] 'release' or 'cancel',
-- ARGV[9] the order list JSON as read, ARGV[10] JSON array of each order's quant count; for a
-- released wave then KEYS: the released batches zset, its batches, its pick tasks, and ARGV[11]
-- its batch ids JSON as read ('' none), ARGV[12] first task number, ARGV[13] task count: the
-- tasks become 'cancelled', the batches too and leave the claim index.
-- Returns {'ok', state, orders JSON, units unreserved}.
if #KEYS < 4 or #ARGV ~= 13 then
    return err('EARG', 'wave_state takes 4 or more keys and 13 arguments')
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
    -- A wave released to the pickers has pick tasks and batches (wave_release), declared by
    -- the caller after the quants; nothing is picked yet while every order is still 'waved'.
    local tv = redis.call('HMGET', KEYS[4], 'tasks', 'first_task', 'batch_ids')
    local ntasks = num(tv[1])
    if ntasks > 0 and ((tv[3] or '') ~= ARGV[11] or num(tv[2]) ~= num(ARGV[12]) or
        ntasks ~= num(ARGV[13])) then
        return err('ESTATE', 'wave ' .. wid .. ' changed meanwhile, retry')
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
    local nb = 0
    if ntasks > 0 then
        nb = #(cjson.decode(ARGV[11]))
    end
    local extra = ntasks > 0 and (1 + nb + ntasks) or 0
    if #KEYS ~= 4 + 2 * #orders + nq + extra then
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
        redis.call('HDEL', ok_, 'wave', 'pack_station', 'tasks_open')
        if #held > 0 then
            journal('unreserve', o, before, after)
        end
    end
    if ntasks > 0 then
        local k0 = #KEYS - extra + 1
        for i = 1, nb do
            local bk = KEYS[k0 + i]
            redis.call('HSET', bk, 'state', 'cancelled', 'open', '[]', 'updated_ts', ARGV[4])
            redis.call('ZREM', KEYS[k0], string.match(bk, ':batch:([^:]+)$'))
        end
        for i = k0 + nb + 1, #KEYS do
            redis.call('HSET', KEYS[i], 'state', 'cancelled', 'updated_ts', ARGV[4])
        end
        journal('tasks_cancel', wid, {tasks = ntasks, batches = nb}, {state = 'cancelled'})
    end
    new_st = 'cancelled'
end
redis.call('HSET', KEYS[4], 'state', new_st, 'updated_ts', ARGV[4])
journal('wave_' .. act, wid, {state = st}, {state = new_st})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', new_st, v[2] or '[]', tostring(units)}
