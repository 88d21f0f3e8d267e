-- quality_release: a QA decision on units held in a quality location: 'release' lifts the hold
-- and opens a putaway task PUT-<n> to the planner's suggestion; 'scrap' lifts the hold and moves
-- the units to the warehouse's scrap location (a loss, counted in scrapped_units).
-- KEYS[4] held quant, KEYS[5] scrap quant, KEYS[6] scrap location index set, KEYS[7] sku index
-- set, KEYS[8] task counter, KEYS[9] the new task hash, KEYS[10] open putaway tasks set.
-- ARGV[7] decision ('release'|'scrap'), ARGV[8] qty, ARGV[9] sku, ARGV[10] quality location,
-- ARGV[11] lot, ARGV[12] scrap location, ARGV[13] task id ('' for scrap), ARGV[14] suggested
-- location, ARGV[15] reason code, ARGV[16] reason text.
-- Returns {'ok', hold left, on_hand left, task id or ''}.
if #KEYS ~= 10 or #ARGV ~= 16 then
    return err('EARG', 'quality_release takes 10 keys and 16 arguments')
end
local q, rel = int_arg(ARGV[8]), ARGV[7] == 'release'
if (not rel and ARGV[7] ~= 'scrap') or not q or q <= 0 or not is_id(ARGV[9]) or
    not is_path(ARGV[10]) or not is_lot(ARGV[11]) or not is_path(ARGV[12]) or
    (rel and not is_id(ARGV[13])) then
    return err('EARG', 'bad decision, quantity, sku, location, lot or task')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'on_hand', 'reserved', 'hold', 'expiry', 'in_date')
if not v[1] then
    return err('EUNKNOWN', 'no stock of ' .. ARGV[9] .. (ARGV[11] ~= '' and (' lot ' .. ARGV[11]) or '') ..
        ' at ' .. ARGV[10])
end
local on_hand, reserved, hold = num(v[1]), num(v[2]), num(v[3])
if hold < q then
    return err('ESTATE', ARGV[9] .. (ARGV[11] ~= '' and (' lot ' .. ARGV[11]) or '') .. ' at ' ..
        ARGV[10] .. ' has ' .. hold .. ' units on hold, asked ' .. q)
end
if rel and 'PUT-' .. (num(redis.call('GET', KEYS[8])) + 1) ~= ARGV[13] then
    return err('ESTATE', 'task ids changed meanwhile, retry')
end
redis.call('HINCRBY', KEYS[4], 'hold', -q)
local task = ''
if rel then
    task = 'PUT-' .. redis.call('INCR', KEYS[8])
    redis.call('HSET', KEYS[9], 'kind', 'putaway', 'state', 'open', 'sku', ARGV[9], 'lot',
        ARGV[11], 'qty', q, 'moved', 0, 'source', ARGV[10], 'target', ARGV[14], 'reason_code',
        ARGV[15], 'reason', ARGV[16], 'by', ARGV[1], 'ts', ARGV[4])
    redis.call('SADD', KEYS[10], task)
    redis.call('HINCRBY', KEYS[3], 'quality_released_units', q)
else
    local to_before = num(redis.call('HGET', KEYS[5], 'on_hand'))
    redis.call('HINCRBY', KEYS[4], 'on_hand', -q)
    redis.call('HSETNX', KEYS[5], 'reserved', 0)
    redis.call('HSET', KEYS[5], 'sku', ARGV[9], 'loc', ARGV[12], 'lot', ARGV[11])
    if v[4] and v[4] ~= '' then
        redis.call('HSET', KEYS[5], 'expiry', v[4])
    end
    redis.call('HINCRBY', KEYS[5], 'on_hand', q)
    redis.call('SADD', KEYS[6], KEYS[5])
    redis.call('SADD', KEYS[7], KEYS[5])
    redis.call('HINCRBY', KEYS[3], 'quality_scrapped_units', q)
    redis.call('HINCRBY', KEYS[3], 'scrapped_units', q)
    on_hand = on_hand - q
    journal('scrap', ARGV[9], {from = KEYS[4], to = KEYS[5], to_on_hand = to_before},
        {from = KEYS[4], to = KEYS[5], to_on_hand = to_before + q, qty = q, why = 'quality'})
end
redis.call('HINCRBY', KEYS[3], 'held_units', -q)
journal('quality_' .. ARGV[7], ARGV[9], {quant = KEYS[4], hold = hold, on_hand = on_hand +
    (rel and 0 or q)}, {quant = KEYS[4], hold = hold - q, on_hand = on_hand, qty = q, task = task})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(hold - q), tostring(on_hand), task}
