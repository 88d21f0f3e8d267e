-- ship_confirm: a packed carton was confirmed in its carrier's lane. Its shipment becomes
-- shipped (once: a later confirmation answers 'again'; a resend of the same op id, whose first
-- reply was lost, answers 'shipped' again), the order shipped when none of its shipments is
-- still open, the shipping KPIs counted.
-- KEYS[4] shipment, KEYS[5] carton tote hash, KEYS[6] order, KEYS[7] open orders set.
-- ARGV[7] shipment id, ARGV[8] sscc, ARGV[9] lane id, ARGV[10] '1' on time, '0' late.
-- Returns {'ok', 'shipped'|'again', order, order state, carrier, weight mg, items JSON}.
if #KEYS ~= 7 or #ARGV ~= 10 then
    return err('EARG', 'ship_confirm takes 7 keys and 10 arguments')
end
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_id(ARGV[9]) or
    (ARGV[10] ~= '1' and ARGV[10] ~= '0') then
    return err('EARG', 'bad shipment, sscc, lane or on-time flag')
end
local sh = redis.call('HMGET', KEYS[4], 'order', 'sscc', 'state', 'carrier', 'weight_mg', 'items')
if not sh[1] then
    return err('EUNKNOWN', 'unknown shipment "' .. ARGV[7] .. '"')
end
if sh[2] ~= ARGV[8] then
    return err('ESTATE', 'shipment ' .. ARGV[7] .. ' has sscc ' .. tostring(sh[2]))
end
local ostate = redis.call('HGET', KEYS[6], 'state') or ''
if seen() then
    -- This very call was applied and its reply lost (the store resent it after a link loss):
    -- answer as the first time, so that its caller publishes the one evt/ship.
    return {'ok', 'shipped', sh[1], ostate, sh[4] or '', sh[5] or '0', sh[6] or '[]'}
end
if sh[3] == 'shipped' then
    return {'ok', 'again', sh[1], ostate, sh[4] or '', sh[5] or '0', sh[6] or '[]'}
end
redis.call('HSET', KEYS[4], 'state', 'shipped', 'shipped_ts', ARGV[4], 'lane', ARGV[9],
    'on_time', ARGV[10])
redis.call('HSET', KEYS[5], 'state', 'shipped', 'ts', ARGV[4])
local open = redis.call('HINCRBY', KEYS[6], 'shipments_open', -1)
local nstate = ostate
if open <= 0 then
    redis.call('HSET', KEYS[6], 'state', 'shipped', 'shipments_open', 0, 'updated_ts', ARGV[4])
    redis.call('SREM', KEYS[7], sh[1])
    nstate = 'shipped'
end
redis.call('HINCRBY', KEYS[3], 'shipments', 1)
-- The units leaving the site, for wcs audit (the carton's items as pack_commit wrote them).
local okj, items = pcall(cjson.decode, sh[6] or '[]')
if not okj or type(items) ~= 'table' then
    items = sh[6] or ''
end
redis.call('HINCRBY', KEYS[3], ARGV[10] == '1' and 'ship_on_time' or 'ship_late', 1)
journal('ship_confirm', ARGV[7], {state = sh[3], order_state = ostate},
    {state = 'shipped', order = sh[1], order_state = nstate, sscc = ARGV[8], lane = ARGV[9],
     on_time = ARGV[10] == '1', items = items})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', 'shipped', sh[1], nstate, sh[4] or '', sh[5] or '0', sh[6] or '[]'}
