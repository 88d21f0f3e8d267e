-- wave_open: claims the ids of the waves a wave.plan is about to fill: each is created in state
-- 'planning' with an empty order list, or nothing is created when any exists. wave_reserve then
-- adds orders to them and wave_close finishes them.
-- KEYS[4..] wave hashes. ARGV[7] carrier ('' any), ARGV[8..] the wave ids (one per key).
-- Returns {'ok'}.
local n = #KEYS - 3
if n < 1 or #ARGV ~= 7 + n then
    return err('EARG', 'wave_open takes one wave id per wave key')
end
for i = 1, n do
    if not is_id(ARGV[7 + i]) then
        return err('EARG', 'bad wave id')
    end
end
if seen() then
    return {'dup'}
end
for i = 1, n do
    if redis.call('EXISTS', KEYS[3 + i]) == 1 then
        return err('ESTATE', 'wave ' .. ARGV[7 + i] .. ' exists')
    end
end
for i = 1, n do
    redis.call('HSET', KEYS[3 + i], 'state', 'planning', 'orders', '[]', 'n_orders', 0, 'lines', 0,
        'units', 0, 'carrier', ARGV[7], 'created_ts', ARGV[4], 'by', ARGV[1])
    journal('wave_open', ARGV[7 + i], {}, {state = 'planning'})
end
return done()
