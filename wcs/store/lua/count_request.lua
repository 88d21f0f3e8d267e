-- count_request: opens a cycle-count task CNT-<n> for a location (optionally one product); one
-- open count per location. The id is the counter's next value, read by the C side first (the
-- task key is declared); 'changed meanwhile, retry' when another request took it.
-- KEYS[4] open counts hash (location -> task), KEYS[5] task counter, KEYS[6] the new task hash.
-- ARGV[7] the expected id (CNT-<n>), ARGV[8] location, ARGV[9] sku ('' all).
-- Returns {'ok', task id}.
if #KEYS ~= 6 or #ARGV ~= 9 then
    return err('EARG', 'count_request takes 6 keys and 9 arguments')
end
if not is_id(ARGV[7]) or not is_path(ARGV[8]) or (ARGV[9] ~= '' and not is_id(ARGV[9])) then
    return err('EARG', 'bad id, location or sku')
end
if seen() then
    return {'dup'}
end
local open = redis.call('HGET', KEYS[4], ARGV[8])
if open then
    return err('ESTATE', 'location ' .. ARGV[8] .. ' already has an open count ' .. open)
end
if 'CNT-' .. (num(redis.call('GET', KEYS[5])) + 1) ~= ARGV[7] then
    return err('ESTATE', 'task ids changed meanwhile, retry')
end
local id = 'CNT-' .. redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[6], 'kind', 'count', 'state', 'open', 'target', ARGV[8], 'sku',
    ARGV[9], 'by', ARGV[1], 'ts', ARGV[4])
redis.call('HSET', KEYS[4], ARGV[8], id)
redis.call('HINCRBY', KEYS[3], 'counts_requested', 1)
journal('count_request', id, {}, {location = ARGV[8], sku = ARGV[9]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', id}
