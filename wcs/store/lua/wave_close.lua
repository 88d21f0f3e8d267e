-- wave_close: finishes the waves a wave.plan opened: a wave that received orders becomes
-- 'planned' (with the planner's batch count and why it was closed); one that received none is
-- deleted. KEYS[4..] wave hashes. ARGV[7] JSON array, per wave {id, batches, closed, plan?}:
-- plan is the planner's cart batches [{cutoff, picks: [{o, l, sku, loc, lot, exp, n}]}] in
-- pick-path order, kept as the wave's `batch_plan` for wave.release.
-- Returns {'ok', then per wave: state ('planned'|'dropped'), orders JSON, lines, units}.
local n = #KEYS - 3
local ok, info = pcall(cjson.decode, ARGV[7] or '')
if n < 1 or #ARGV ~= 7 or not ok or type(info) ~= 'table' or #info ~= n then
    return err('EARG', 'wave_close takes one {id, batches, closed} per wave key')
end
for i = 1, n do
    if type(info[i]) ~= 'table' or not is_id(info[i].id) then
        return err('EARG', 'bad wave id')
    end
end
if seen() then
    return {'dup'}
end
local out = {'ok'}
for i = 1, n do
    local v = redis.call('HMGET', KEYS[3 + i], 'state', 'orders', 'n_orders', 'lines', 'units')
    if v[1] ~= 'planning' then
        return err('ESTATE', 'wave ' .. info[i].id .. ' is ' .. tostring(v[1] or 'gone') ..
            ': it is no longer being planned')
    end
end
for i = 1, n do
    local k, id = KEYS[3 + i], info[i].id
    local v = redis.call('HMGET', k, 'orders', 'n_orders', 'lines', 'units')
    if num(v[2]) == 0 then
        redis.call('DEL', k)
        journal('wave_drop', id, {state = 'planning'}, {})
        out[#out + 1] = 'dropped'
        out[#out + 1] = '[]'
        out[#out + 1] = '0'
        out[#out + 1] = '0'
    else
        local plan = info[i].plan
        if type(plan) ~= 'table' or next(plan) == nil then
            plan = '[]'
        else
            plan = cjson.encode(plan)
        end
        redis.call('HSET', k, 'state', 'planned', 'batches', tonumber(info[i].batches) or 0,
            'closed', tostring(info[i].closed or ''), 'updated_ts', ARGV[4], 'batch_plan', plan)
        redis.call('HINCRBY', KEYS[3], 'waves', 1)
        journal('wave_plan', id, {state = 'planning'},
            {orders = cjson.decode(v[1]), lines = num(v[3]), units = num(v[4])})
        out[#out + 1] = 'planned'
        out[#out + 1] = v[1]
        out[#out + 1] = tostring(num(v[3]))
        out[#out + 1] = tostring(num(v[4]))
    end
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return out
