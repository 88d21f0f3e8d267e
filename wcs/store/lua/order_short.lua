-- order_short: wave.plan marks an order it skipped because stock was missing (a short line in
-- the planner) with `short_since` (the first time only), so that the next wave.plans reserve it
-- before the orders without (urgent lines, as a backorder's follow-up order). Only a confirmed
-- order in no wave is marked; otherwise nothing changes. wave_reserve removes the mark.
-- KEYS[4] order hash. ARGV[7] order id.
-- Returns {'ok', 'marked'|'unchanged'}.
if #KEYS ~= 4 or #ARGV ~= 7 or not is_id(ARGV[7]) then
    return err('EARG', 'order_short takes an order')
end
if seen() then
    return {'dup'}
end
local o = redis.call('HMGET', KEYS[4], 'state', 'wave', 'short_since')
if o[1] ~= 'confirmed' or (o[2] and o[2] ~= '') or o[3] then
    return {'ok', 'unchanged'}
end
redis.call('HSET', KEYS[4], 'short_since', ARGV[4])
journal('order_short', ARGV[7], {}, {short_since = ARGV[4]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', 'marked'}
