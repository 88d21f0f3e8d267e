-- label_reprint: records a reprint of a shipment's label (the printing is the owner's flow).
-- KEYS[4] shipment hash. ARGV[7] shipment id, ARGV[8] printer ('' the station's).
-- Returns {'ok', tote}.
if #KEYS ~= 4 or #ARGV ~= 8 then
    return err('EARG', 'label_reprint takes 4 keys and 8 arguments')
end
if not is_id(ARGV[7]) or (ARGV[8] ~= '' and not is_id(ARGV[8])) then
    return err('EARG', 'bad shipment or printer id')
end
if seen() then
    return {'dup'}
end
local tote = redis.call('HGET', KEYS[4], 'tote')
if not tote then
    return err('EUNKNOWN', 'unknown shipment "' .. ARGV[7] .. '"')
end
redis.call('HINCRBY', KEYS[3], 'labels_reprinted', 1)
journal('label_reprint', ARGV[7], {}, {tote = tote, printer = ARGV[8]})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tote}
