-- approval_request: an inventory adjustment above the approval thresholds waits for a second
-- person: records a pending approval ADJ-<n> and its alarm, changes no stock. A decrease the
-- stock cannot take now is refused at once (adjust's rules).
-- The id is the counter's next value: the C side reads the counter, names the approval and
-- alarm keys of that id, and the script refuses with 'changed meanwhile, retry' when another
-- request took the id first (the C side then reads again and retries, OPS_RETRIES_MAX times).
-- KEYS[4] approval counter, KEYS[5] quant, KEYS[6] the new approval hash, KEYS[7] its alarm.
-- ARGV[7] the expected id (ADJ-<n>), ARGV[8] sku, ARGV[9] location, ARGV[10] lot, ARGV[11] delta,
-- ARGV[12] reason, ARGV[13] value in cents ('' unknown), ARGV[14] why it needs approval.
-- Returns {'ok', approval id}.
if #KEYS ~= 7 or #ARGV ~= 14 then
    return err('EARG', 'approval_request takes 7 keys and 14 arguments')
end
local d = int_arg(ARGV[11])
if not is_id(ARGV[7]) or not is_id(ARGV[8]) or not is_path(ARGV[9]) or
    not is_lot(ARGV[10]) or not d or d == 0 or ARGV[12] == '' then
    return err('EARG', 'bad id, sku, location, lot, delta or reason')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[5], 'on_hand', 'reserved')
local on_hand, reserved = num(v[1]), num(v[2])
if on_hand + d < 0 then
    return err('ESTATE', 'quant ' .. KEYS[5] .. ' has ' .. on_hand .. ', adjust ' .. d ..
        ' would make it negative')
end
if on_hand + d < reserved then
    return err('ESTATE', 'quant ' .. KEYS[5] .. ' has ' .. reserved .. ' reserved, adjust ' ..
        d .. ' would leave ' .. (on_hand + d))
end
if 'ADJ-' .. (num(redis.call('GET', KEYS[4])) + 1) ~= ARGV[7] then
    return err('ESTATE', 'approval ids changed meanwhile, retry')
end
local id = 'ADJ-' .. redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[6], 'kind', 'adjust', 'state', 'pending', 'requester',
    ARGV[1], 'cause', ARGV[2], 'sku', ARGV[8], 'loc', ARGV[9], 'lot', ARGV[10], 'qty', d,
    'reason', ARGV[12], 'value_cents', ARGV[13], 'why', ARGV[14], 'ts', ARGV[4])
redis.call('HSET', KEYS[7], 'text', 'adjustment ' .. id .. ' of ' .. d ..
    ' ' .. ARGV[8] .. ' at ' .. ARGV[9] .. ' needs approval (' .. ARGV[14] .. ')', 'state',
    'active', 'ts', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'approvals_requested', 1)
journal('approval_request', id, {}, {sku = ARGV[8], loc = ARGV[9], lot = ARGV[10], delta = d,
    reason = ARGV[12], why = ARGV[14]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', id}
