-- putaway_confirm: the receiver scanned the location a putaway task's goods went into. Moves
-- the units from the task's source to that location (which the command layer checked against
-- the suggestion and the putaway rules) within its capacity, counted over the quants the
-- location holds (pre-read and declared; 'changed meanwhile, retry' when the set changed).
-- KEYS[4] task hash, KEYS[5] source quant, KEYS[6] target quant, KEYS[7] target location index
-- set, KEYS[8] sku index set, KEYS[9] open putaway tasks set, KEYS[10..] the quants of the
-- target location as read.
-- ARGV[7] task id, ARGV[8] sku, ARGV[9] lot, ARGV[10] source, ARGV[11] target location,
-- ARGV[12] qty (0: what is left), ARGV[13] cap units, ARGV[14] cap weight g, ARGV[15] cap
-- volume cm3 (0: no limit), ARGV[16] unit weight g, ARGV[17] unit volume cm3, ARGV[18] how
-- ('suggested'|'alternative'), then 2 per declared quant: its unit weight g and volume cm3.
-- Returns {'ok', state, moved, left, qty moved now}.
local nq = #KEYS - 9
if nq < 0 or #ARGV ~= 18 + 2 * nq then
    return err('EARG', 'putaway_confirm takes 9 keys, the location quants and their sizes')
end
local want = int_arg(ARGV[12])
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_lot(ARGV[9]) or not is_path(ARGV[10]) or
    not is_path(ARGV[11]) or not want or want < 0 then
    return err('EARG', 'bad task, sku, lot, location or quantity')
end
if seen() then
    return {'dup'}
end
local t = redis.call('HMGET', KEYS[4], 'kind', 'state', 'sku', 'lot', 'source', 'qty', 'moved')
if not t[1] or t[1] ~= 'putaway' then
    return err('EUNKNOWN', 'unknown putaway task "' .. ARGV[7] .. '"')
end
if t[2] ~= 'open' then
    return err('ESTATE', 'task ' .. ARGV[7] .. ' is ' .. t[2])
end
if t[3] ~= ARGV[8] or (t[4] or '') ~= ARGV[9] or t[5] ~= ARGV[10] then
    return err('ESTATE', 'task ' .. ARGV[7] .. ' changed meanwhile, retry')
end
local left = num(t[6]) - num(t[7])
local q = want == 0 and left or want
if q > left then
    return err('ESTATE', 'task ' .. ARGV[7] .. ' has ' .. left .. ' units left, confirmed ' .. q)
end
local s = redis.call('HMGET', KEYS[5], 'on_hand', 'reserved', 'hold', 'expiry', 'in_date')
local free = num(s[1]) - num(s[2]) - num(s[3])
if free < q then
    return err('ESTATE', ARGV[10] .. ' has ' .. free .. ' free units of ' .. ARGV[8] ..
        ' (on hand ' .. num(s[1]) .. ', reserved ' .. num(s[2]) .. ', on hold ' .. num(s[3]) ..
        '), task ' .. ARGV[7] .. ' moves ' .. q)
end
if redis.call('SCARD', KEYS[7]) ~= nq then
    return err('ESTATE', 'location ' .. ARGV[11] .. ' changed meanwhile, retry')
end
local units, weight, volume = q, q * num(ARGV[16]), q * num(ARGV[17])
for i = 1, nq do
    if redis.call('SISMEMBER', KEYS[7], KEYS[9 + i]) == 0 then
        return err('ESTATE', 'location ' .. ARGV[11] .. ' changed meanwhile, retry')
    end
    local oh = num(redis.call('HGET', KEYS[9 + i], 'on_hand'))
    units = units + oh
    weight = weight + oh * num(ARGV[18 + 2 * i - 1])
    volume = volume + oh * num(ARGV[18 + 2 * i])
end
local caps = {{'units', units, num(ARGV[13])}, {'weight_g', weight, num(ARGV[14])},
              {'volume_cm3', volume, num(ARGV[15])}}
for _, c in ipairs(caps) do
    if c[3] > 0 and c[2] > c[3] then
        return err('ESTATE', 'location ' .. ARGV[11] .. ' has no room: ' .. c[1] .. ' would be ' ..
            c[2] .. ', capacity ' .. c[3])
    end
end
local to_before = num(redis.call('HGET', KEYS[6], 'on_hand'))
redis.call('HINCRBY', KEYS[5], 'on_hand', -q)
redis.call('HSETNX', KEYS[6], 'reserved', 0)
redis.call('HSET', KEYS[6], 'sku', ARGV[8], 'loc', ARGV[11], 'lot', ARGV[9])
if s[4] and s[4] ~= '' then
    redis.call('HSET', KEYS[6], 'expiry', s[4])
end
if s[5] and s[5] ~= '' then
    redis.call('HSETNX', KEYS[6], 'in_date', s[5])
end
redis.call('HINCRBY', KEYS[6], 'on_hand', q)
redis.call('SADD', KEYS[7], KEYS[6])
redis.call('SADD', KEYS[8], KEYS[6])
local moved = num(t[7]) + q
local state = moved >= num(t[6]) and 'done' or 'open'
redis.call('HSET', KEYS[4], 'moved', moved, 'state', state, 'location', ARGV[11], 'how', ARGV[18],
    'confirmed_by', ARGV[1], 'confirmed_ts', ARGV[4])
if state == 'done' then
    redis.call('SREM', KEYS[9], ARGV[7])
end
redis.call('HINCRBY', KEYS[3], 'putaways', 1)
redis.call('HINCRBY', KEYS[3], 'putaway_units', q)
journal('putaway', ARGV[7], {from = KEYS[5], from_on_hand = num(s[1]), to = KEYS[6],
    to_on_hand = to_before}, {from = KEYS[5], from_on_hand = num(s[1]) - q, to = KEYS[6],
    to_on_hand = to_before + q, qty = q, how = ARGV[18], state = state})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', state, tostring(moved), tostring(num(t[6]) - moved), tostring(q)}
