-- import_master: writes master records (products or locations of the site config) from
-- `wcs import --master`. A record equal to the stored hash changes nothing ('unchanged', not
-- journaled); otherwise the hash is replaced by exactly the given fields (import_<kind>).
-- KEYS[4..] one record key each. ARGV[7] kind ('product'|'location'), ARGV[8] record count,
-- then per record: id, field count f, f x (field, value).
-- Returns {'ok', one 'created'|'updated'|'unchanged' per record}.
local kind, n = ARGV[7], int_arg(ARGV[8])
if (kind ~= 'product' and kind ~= 'location') or not n or n < 1 or n ~= #KEYS - 3 then
    return err('EARG', 'import_master takes a kind, a record count and one key per record')
end
local recs, a = {}, 9
for i = 1, n do
    local id, nf = ARGV[a], int_arg(ARGV[a + 1])
    local ok_id = (kind == 'product' and is_id(id)) or (kind == 'location' and is_path(id))
    local suffix = ':' .. kind .. ':' .. (id or '')
    if not ok_id or string.sub(KEYS[3 + i], -#suffix) ~= suffix then
        return err('EARG', 'bad ' .. kind .. ' id or key for record ' .. i)
    end
    if not nf or nf < 1 or a + 1 + 2 * nf > #ARGV then
        return err('EARG', 'bad field count for ' .. kind .. ' ' .. id)
    end
    local fields = {}
    for f = 1, nf do
        local name, value = ARGV[a + 2 * f], ARGV[a + 2 * f + 1]
        if name == '' or fields[name] then
            return err('EARG', 'empty or repeated field in ' .. kind .. ' ' .. id)
        end
        fields[name] = value
    end
    recs[i] = {id = id, nf = nf, fields = fields, first = a + 2}
    a = a + 2 + 2 * nf
end
if a ~= #ARGV + 1 then
    return err('EARG', 'import_master: ' .. (#ARGV + 1 - a) .. ' arguments left over')
end
if seen() then
    return {'dup'}
end
-- Read everything first.
local out, changed = {'ok'}, 0
for i, r in ipairs(recs) do
    local flat = redis.call('HGETALL', KEYS[3 + i])
    local before, nb = {}, 0
    for j = 1, #flat, 2 do
        before[flat[j]] = flat[j + 1]
        nb = nb + 1
    end
    r.before = before
    if nb == 0 then
        r.status = 'created'
    else
        r.status = 'unchanged'
        if nb ~= r.nf then
            r.status = 'updated'
        else
            for name, value in pairs(r.fields) do
                if before[name] ~= value then
                    r.status = 'updated'
                    break
                end
            end
        end
    end
    out[#out + 1] = r.status
end
for i, r in ipairs(recs) do
    if r.status ~= 'unchanged' then
        local k = KEYS[3 + i]
        redis.call('DEL', k)
        redis.call('HSET', k, unpack(ARGV, r.first, r.first + 2 * r.nf - 1))
        journal('import_' .. kind, r.id, r.before, r.fields)
        changed = changed + 1
    end
end
if changed > 0 then
    redis.call('HINCRBY', KEYS[3], 'imported_' .. kind .. 's', changed)
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return out
