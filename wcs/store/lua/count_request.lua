-- count_request: opens a cycle-count task CNT-<n> for a location (optionally one product); one
-- open count per location. KEYS[4] open counts hash (location -> task), KEYS[5] task counter.
-- ARGV[7] key prefix, ARGV[8] location, ARGV[9] sku ('' all). Returns {'ok', task id}.
if #KEYS ~= 5 or #ARGV ~= 9 then
    return err('EARG', 'count_request takes 5 keys and 9 arguments')
end
local P = ARGV[7]
if string.sub(KEYS[1], 1, #P) ~= P or not is_path(ARGV[8]) or
    (ARGV[9] ~= '' and not is_id(ARGV[9])) then
    return err('EARG', 'bad prefix, location or sku')
end
if seen() then
    return {'dup'}
end
local open = redis.call('HGET', KEYS[4], ARGV[8])
if open then
    return err('ESTATE', 'location ' .. ARGV[8] .. ' already has an open count ' .. open)
end
local id = 'CNT-' .. redis.call('INCR', KEYS[5])
redis.call('HSET', P .. 'task:' .. id, 'kind', 'count', 'state', 'open', 'target', ARGV[8], 'sku',
    ARGV[9], 'by', ARGV[1], 'ts', ARGV[4])
redis.call('HSET', KEYS[4], ARGV[8], id)
redis.call('HINCRBY', KEYS[3], 'counts_requested', 1)
journal('count_request', id, {}, {location = ARGV[8], sku = ARGV[9]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', id}
