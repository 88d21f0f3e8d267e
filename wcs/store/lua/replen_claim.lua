-- replen_claim: a replenisher takes an open replenishment task (or takes up again the one it
-- holds). While it is claimed, the pick face is busy: pick tasks there wait (task_pick).
-- KEYS[4] task hash, KEYS[5] busy faces hash (field face: the task filling it).
-- ARGV[7] task id, ARGV[8] user.
-- Returns {'ok', task, sku, lot, expiry, from, to, qty, moved, state before}.
if #KEYS ~= 5 or #ARGV ~= 8 then
    return err('EARG', 'replen_claim takes 5 keys and 8 arguments')
end
local tid, who = ARGV[7], ARGV[8]
if not is_id(tid) or who == '' then
    return err('EARG', 'bad task id or user')
end
if seen() then
    return {'dup'}
end
local t = redis.call('HMGET', KEYS[4], 'kind', 'state', 'assignee', 'sku', 'lot', 'expiry', 'from',
    'to', 'qty', 'moved')
if not t[1] then
    return err('EUNKNOWN', 'unknown task "' .. tid .. '"')
end
if t[1] ~= 'replenish' then
    return err('ESTATE', 'task ' .. tid .. ' is a ' .. t[1] .. ' task, not a replenishment')
end
if t[2] ~= 'open' then
    return err('ESTATE', 'task ' .. tid .. ' is ' .. tostring(t[2]))
end
if (t[3] or '') ~= '' and t[3] ~= who then
    return err('ESTATE', 'task ' .. tid .. ' is assigned to ' .. t[3])
end
if KEYS[5] ~= site_key('replen:faces') then
    return err('EARG', 'KEYS[5] is not the busy faces hash')
end
local busy = redis.call('HGET', KEYS[5], t[8])
if busy and busy ~= tid then
    return err('ESTATE', 'pick face ' .. t[8] .. ' is being filled by ' .. busy)
end
redis.call('HSET', KEYS[4], 'assignee', who, 'claimed_ts', ARGV[4])
redis.call('HSET', KEYS[5], t[8], tid)
if (t[3] or '') == '' then
    redis.call('HINCRBY', KEYS[3], 'replen_claims', 1)
end
journal('replen_claim', tid, {assignee = t[3] or ''}, {assignee = who, to = t[8]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tid, t[4], t[5] or '', t[6] or '', t[7], t[8], t[9], t[10], t[3] or ''}
