-- import_quant: sets a quant's on_hand from an imported stock record (wcs import). The same
-- quantity again changes nothing ('unchanged', not journaled); never below what is reserved.
-- KEYS[4] quant, KEYS[5] location index, KEYS[6] sku index. ARGV[7] sku, ARGV[8] location,
-- ARGV[9] lot, ARGV[10] on_hand, optional ARGV[11] expiry (YYYY-MM-DD, '' none) and ARGV[12]
-- in_date (ISO-8601, '' none): FEFO and FIFO read them (wave.plan refuses a quant of a product
-- with expiry dates that has none). Returns {'ok', 'created'|'updated'|'unchanged'}.
if #KEYS ~= 6 or (#ARGV ~= 10 and #ARGV ~= 12) then
    return err('EARG', 'import_quant takes 6 keys and 10 or 12 arguments')
end
local expiry, in_date = ARGV[11] or '', ARGV[12] or ''
if #expiry > 10 or #in_date > 40 or string.find(expiry .. in_date, '[^%w:.+-]') then
    return err('EARG', 'bad expiry or in_date')
end
local q = int_arg(ARGV[10])
if not is_id(ARGV[7]) or not is_path(ARGV[8]) or not is_lot(ARGV[9]) or not q or q < 0 then
    return err('EARG', 'bad sku, location, lot or quantity')
end
if seen() then
    return {'dup'}
end
local v = redis.call('HMGET', KEYS[4], 'on_hand', 'reserved', 'expiry', 'in_date')
local dated = #ARGV == 12
if v[1] and num(v[1]) == q and
    (not dated or ((v[3] or '') == expiry and (v[4] or '') == in_date)) then
    return {'ok', 'unchanged'}
end
if q < num(v[2]) then
    return err('ESTATE', 'quant ' .. KEYS[4] .. ' has ' .. num(v[2]) .. ' reserved, import of ' ..
        q .. ' refused')
end
if not v[1] then
    redis.call('HSET', KEYS[4], 'sku', ARGV[7], 'loc', ARGV[8], 'lot', ARGV[9], 'reserved', 0)
    redis.call('SADD', KEYS[5], KEYS[4])
    redis.call('SADD', KEYS[6], KEYS[4])
end
redis.call('HSET', KEYS[4], 'on_hand', q)
if dated then
    for _, f in ipairs({{'expiry', expiry}, {'in_date', in_date}}) do
        if f[2] ~= '' then
            redis.call('HSET', KEYS[4], f[1], f[2])
        else
            redis.call('HDEL', KEYS[4], f[1])
        end
    end
end
redis.call('HINCRBY', KEYS[3], 'imported_quants', 1)
journal('import_stock', ARGV[7], {quant = KEYS[4], on_hand = num(v[1])},
    {quant = KEYS[4], on_hand = q, expiry = dated and expiry or nil,
     in_date = dated and in_date or nil})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', v[1] and 'updated' or 'created'}
