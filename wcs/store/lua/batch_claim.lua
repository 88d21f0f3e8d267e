-- batch_claim: a picker takes a released batch (or takes up again the batch it holds). The C
-- side reads the batch's task list first and declares the task keys; 'changed meanwhile, retry'
-- when the list moved. KEYS[4] released batches zset, KEYS[5] batch hash, KEYS[6..] its tasks.
-- ARGV[7] batch id, ARGV[8] picker, ARGV[9] the tasks JSON as read, ARGV[10] 'next' when the
-- picker asked for the next released batch (not this one by name): one another picker took
-- meanwhile is 'changed meanwhile, retry' (the C side reads the released batches again).
-- Returns {'ok', batch, wave, orders JSON, tasks JSON [{task, seq, location, sku, lot, expiry,
-- qty, picked, order, state}], state before}.
if #KEYS < 5 or #ARGV ~= 10 or (ARGV[10] ~= '' and ARGV[10] ~= 'next') then
    return err('EARG', 'batch_claim takes 5 or more keys and 10 arguments')
end
local bid, who = ARGV[7], ARGV[8]
if not is_id(bid) or who == '' then
    return err('EARG', 'bad batch id or picker')
end
if seen() then
    return {'dup'}
end
local b = redis.call('HMGET', KEYS[5], 'state', 'assignee', 'wave', 'tasks', 'orders')
if not b[1] then
    return err('EUNKNOWN', 'unknown batch "' .. bid .. '"')
end
local taken = b[1] == 'done' or (b[1] == 'assigned' and b[2] ~= who)
if (b[4] or '[]') ~= ARGV[9] or #KEYS ~= 5 + #(cjson.decode(ARGV[9])) or
    (taken and ARGV[10] == 'next') then
    return err('ESTATE', 'batch ' .. bid .. ' changed meanwhile, retry')
end
if b[1] == 'done' then
    return err('ESTATE', 'batch ' .. bid .. ' is done')
end
if b[1] == 'assigned' and b[2] ~= who then
    return err('ESTATE', 'batch ' .. bid .. ' is assigned to ' .. tostring(b[2]))
end
local tasks = {}
for i = 6, #KEYS do
    local t = redis.call('HMGET', KEYS[i], 'seq', 'location', 'sku', 'lot', 'expiry', 'qty',
        'picked', 'order', 'state')
    local id = string.match(KEYS[i], ':task:([^:]+)$')
    redis.call('HSET', KEYS[i], 'assignee', who)
    tasks[#tasks + 1] = {task = id, seq = num(t[1]), location = t[2], sku = t[3], lot = t[4] or '',
        expiry = t[5] or '', qty = num(t[6]), picked = num(t[7]), order = t[8], state = t[9]}
end
redis.call('HSET', KEYS[5], 'state', 'assigned', 'assignee', who, 'claimed_ts', ARGV[4])
redis.call('ZREM', KEYS[4], bid)
if b[1] ~= 'assigned' then
    redis.call('HINCRBY', KEYS[3], 'batches_claimed', 1)
end
journal('batch_claim', bid, {state = b[1], assignee = b[2] or ''}, {state = 'assigned',
    assignee = who})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', bid, b[3] or '', b[5] or '[]', #tasks > 0 and cjson.encode(tasks) or '[]', b[1]}
