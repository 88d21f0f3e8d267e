-- count_request: opens a cycle-count task CNT-<n> for a location (optionally one product); one
-- open count per location. The id is the counter's next value, read by the C side first (the
-- task key is declared); 'changed meanwhile, retry' when another request took it.
-- KEYS[4] open counts hash (location -> task), KEYS[5] task counter, KEYS[6] the new task hash;
-- scheduled by the daemon's counting scheduler also KEYS[7] the scheduled-per-day hash.
-- ARGV[7] the expected id (CNT-<n>), ARGV[8] location, ARGV[9] sku ('' all); scheduled also
-- ARGV[10] the day (YYYY-MM-DD), ARGV[11] the daily maximum, ARGV[12] the class (A, B, C, '').
-- Returns {'ok', task id}. A scheduled request is refused (ESTATE 'daily maximum ...') when the
-- day already has its maximum of scheduled tasks.
local sched = #KEYS == 7
if not ((#KEYS == 6 and #ARGV == 9) or (sched and #ARGV == 12)) then
    return err('EARG', 'count_request takes 6 keys and 9 arguments (7 and 12 scheduled)')
end
if not is_id(ARGV[7]) or not is_path(ARGV[8]) or (ARGV[9] ~= '' and not is_id(ARGV[9])) then
    return err('EARG', 'bad id, location or sku')
end
local max = sched and int_arg(ARGV[11]) or 0
if sched and (not string.match(ARGV[10], '^%d%d%d%d%-%d%d%-%d%d$') or not max or max < 1 or
    not string.match(ARGV[12], '^[ABC]?$')) then
    return err('EARG', 'bad day, daily maximum or class')
end
if seen() then
    return {'dup'}
end
local open = redis.call('HGET', KEYS[4], ARGV[8])
if open then
    return err('ESTATE', 'location ' .. ARGV[8] .. ' already has an open count ' .. open)
end
if sched and num(redis.call('HGET', KEYS[7], ARGV[10])) >= max then
    return err('ESTATE', 'daily maximum of ' .. max .. ' scheduled counts reached for ' ..
        ARGV[10])
end
if 'CNT-' .. (num(redis.call('GET', KEYS[5])) + 1) ~= ARGV[7] then
    return err('ESTATE', 'task ids changed meanwhile, retry')
end
local id = 'CNT-' .. redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[6], 'kind', 'count', 'state', 'open', 'target', ARGV[8], 'sku',
    ARGV[9], 'by', ARGV[1], 'ts', ARGV[4], 'origin', sched and 'schedule' or 'request')
if sched then
    redis.call('HSET', KEYS[6], 'class', ARGV[12])
    redis.call('HINCRBY', KEYS[7], ARGV[10], 1)
    redis.call('HINCRBY', KEYS[3], 'counts_scheduled', 1)
end
redis.call('HSET', KEYS[4], ARGV[8], id)
redis.call('HINCRBY', KEYS[3], 'counts_requested', 1)
journal('count_request', id, {}, {location = ARGV[8], sku = ARGV[9],
    origin = sched and 'schedule' or 'request', class = sched and ARGV[12] or nil})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', id}
