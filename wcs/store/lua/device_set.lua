-- device_set: enables or disables a device (a device never set is enabled).
-- KEYS[4] device hash. ARGV[7] device id, ARGV[8] '1' enable or '0' disable, ARGV[9] reason.
-- Returns {'ok', 'enabled'|'disabled'}.
if #KEYS ~= 4 or #ARGV ~= 9 then
    return err('EARG', 'device_set takes 4 keys and 9 arguments')
end
if not is_id(ARGV[7]) or (ARGV[8] ~= '0' and ARGV[8] ~= '1') then
    return err('EARG', 'bad device id or state')
end
if seen() then
    return {'dup'}
end
local cur = redis.call('HGET', KEYS[4], 'enabled') or '1'
local word = ARGV[8] == '1' and 'enabled' or 'disabled'
if cur == ARGV[8] then
    return err('ESTATE', 'device ' .. ARGV[7] .. ' is already ' .. word)
end
redis.call('HSET', KEYS[4], 'enabled', ARGV[8], 'by', ARGV[1], 'reason', ARGV[9], 'ts', ARGV[4])
journal(ARGV[8] == '1' and 'device_enable' or 'device_disable', ARGV[7], {enabled = cur == '1'},
    {enabled = ARGV[8] == '1', reason = ARGV[9]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', word}
