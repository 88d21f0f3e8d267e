-- note: journals an outcome that changed nothing else (a refused command, an import summary).
-- ARGV[7] op, ARGV[8] subject, ARGV[9] after (a JSON object). Returns {'ok'}.
if #KEYS ~= 3 or #ARGV ~= 9 then
    return err('EARG', 'note takes 3 keys and 9 arguments')
end
local ok, after = pcall(cjson.decode, ARGV[9])
if ARGV[7] == '' or #ARGV[7] > 63 or #ARGV[8] > 128 or not ok or type(after) ~= 'table' then
    return err('EARG', 'bad op, subject or JSON')
end
-- The caller's JSON text is kept as given (cjson would not keep its key order).
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'ts', ARGV[4], 'actor', ARGV[1],
    'cause', ARGV[2], 'op', ARGV[7], 'op_id', ARGV[3], 'subject', ARGV[8], 'before', '{}',
    'after', ARGV[9])
return {'ok'}
