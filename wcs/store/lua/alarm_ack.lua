-- alarm_ack: a person acknowledges an active alarm (once).
-- KEYS[4] alarm hash. ARGV[7] alarm id, ARGV[8] note. Returns {'ok'}.
if #KEYS ~= 4 or #ARGV ~= 8 then
    return err('EARG', 'alarm_ack takes 4 keys and 8 arguments')
end
if not is_id(ARGV[7]) then
    return err('EARG', 'bad alarm id')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'state', 'acked_by')
if not v[1] then
    return err('EUNKNOWN', 'unknown alarm "' .. ARGV[7] .. '"')
end
if v[2] then
    return err('ESTATE', 'alarm ' .. ARGV[7] .. ' was acknowledged by ' .. v[2])
end
redis.call('HSET', KEYS[4], 'acked_by', ARGV[1], 'acked_ts', ARGV[4], 'note', ARGV[8])
journal('alarm_ack', ARGV[7], {state = v[1]}, {state = v[1], acked_by = ARGV[1], note = ARGV[8]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok'}
