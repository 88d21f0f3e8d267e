-- approval_apply: a second person approves a pending adjustment; it is applied with adjust's
-- rules in the same script (the stock may have moved since the request) and its alarm cleared.
-- The approver must differ from the requester (segregation of duties).
-- The C side reads the approval's sku, location and lot first and declares the keys they name;
-- the script refuses with 'changed meanwhile, retry' when they differ (or were not known).
-- KEYS[4] approval hash, then (when the approval was read) KEYS[5] quant, KEYS[6] location
-- index, KEYS[7] sku index, KEYS[8] the approval's alarm. ARGV[7] approval id, ARGV[8]
-- approver, ARGV[9] sku, ARGV[10] location, ARGV[11] lot as read.
-- Returns {'ok', sku, location, lot, delta, on_hand after, requester}.
if (#KEYS ~= 4 and #KEYS ~= 8) or #ARGV ~= 11 then
    return err('EARG', 'approval_apply takes 4 or 8 keys and 11 arguments')
end
local id, who = ARGV[7], ARGV[8]
if not is_id(id) or who == '' then
    return err('EARG', 'bad approval id or approver')
end
if seen() then
    return {'dup'}
end
local a = redis.call('HMGET', KEYS[4], 'state', 'requester', 'sku', 'loc', 'lot', 'qty', 'reason',
    'value_cents')
if not a[1] then
    return err('EUNKNOWN', 'unknown approval "' .. id .. '"')
end
if a[1] ~= 'pending' then
    return err('ESTATE', 'approval ' .. id .. ' is ' .. a[1])
end
if a[2] == who then
    return err('ESTATE', 'approver must differ from requester')
end
local sku, loc, lot, d = a[3], a[4], a[5], int_arg(a[6])
if #KEYS ~= 8 or sku ~= ARGV[9] or loc ~= ARGV[10] or lot ~= ARGV[11] then
    return err('ESTATE', 'approval ' .. id .. ' changed meanwhile, retry')
end
local q = KEYS[5]
local v = redis.call('HMGET', q, 'on_hand', 'reserved')
local on_hand, reserved = num(v[1]), num(v[2])
if on_hand + d < 0 then
    return err('ESTATE', 'quant ' .. q .. ' has ' .. on_hand .. ', adjust ' .. d ..
        ' would make it negative')
end
if on_hand + d < reserved then
    return err('ESTATE', 'quant ' .. q .. ' has ' .. reserved .. ' reserved, adjust ' .. d ..
        ' would leave ' .. (on_hand + d))
end
if not v[1] then
    redis.call('HSET', q, 'sku', sku, 'loc', loc, 'lot', lot, 'reserved', 0)
    redis.call('SADD', KEYS[6], q)
    redis.call('SADD', KEYS[7], q)
end
redis.call('HINCRBY', q, 'on_hand', d)
if string.sub(a[7] or '', 1, 6) == 'count ' then
    -- a count's adjustment: the count established what is there, short picks included
    redis.call('HDEL', q, 'missing')
end
redis.call('HINCRBY', KEYS[3], 'adjustments', 1)
if tonumber(a[8] or '') and tonumber(a[8]) >= 0 then
    redis.call('HINCRBY', KEYS[3], 'adjusted_value_cents', math.floor(tonumber(a[8])))
end
if d > 0 then
    redis.call('HINCRBY', KEYS[3], 'adjusted_units_in', d)
else
    redis.call('HINCRBY', KEYS[3], 'adjusted_units_out', -d)
end
redis.call('HSET', KEYS[4], 'state', 'approved', 'approver', who, 'approved_ts', ARGV[4])
redis.call('DEL', KEYS[8])
journal('adjust', sku, {quant = q, on_hand = on_hand},
    {quant = q, on_hand = on_hand + d, delta = d, reason = a[7], approval = id,
        requester = a[2], approver = who})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', sku, loc, lot, tostring(d), tostring(on_hand + d), a[2]}
