-- count_read: the read-only pre-reads of counting, transfers, the KPI snapshot and the audit
-- (wcs/store/ops_count.c). Changes nothing and touches only its declared keys. ARGV[7] mode:
--  'task'     KEYS[4] task hash, KEYS[5] approval counter, KEYS[6] the location's quant set.
--             {'ok', kind, state, target, sku, approval seq, n, n sorted quant keys}.
--  'plan'     KEYS[4] last-counted hash, KEYS[5] open counts hash, KEYS[6] scheduled-per-day
--             hash; ARGV[8] the day. {'ok', scheduled that day, n, n x (location, ts), m,
--             m locations with an open count}.
--  'all'      KEYS[4] a hash. {'ok', field, value, ...} (fields sorted).
--  'transfer' KEYS[4] transfer hash, KEYS[5] its reservations. {'ok', state ('' none), from,
--             to, transit, dest, units, shipped, received, n, n x (quant, qty) sorted}.
if #ARGV < 7 then
    return err('EARG', 'count_read takes a mode')
end
local mode, out = ARGV[7], {'ok'}
local function s(v)
    if v == false or v == nil then
        return ''
    end
    return tostring(v)
end
local function pairs_sorted(key)
    local raw = redis.call('HGETALL', key)
    local idx = {}
    for i = 1, #raw, 2 do
        idx[#idx + 1] = i
    end
    table.sort(idx, function(a, b)
        return raw[a] < raw[b]
    end)
    local res = {}
    for _, i in ipairs(idx) do
        res[#res + 1] = raw[i]
        res[#res + 1] = raw[i + 1]
    end
    return res
end
if mode == 'task' then
    if #KEYS ~= 6 then
        return err('EARG', 'task takes the task, the approval counter and the location set')
    end
    local t = redis.call('HMGET', KEYS[4], 'kind', 'state', 'target', 'sku')
    for j = 1, 4 do
        out[#out + 1] = s(t[j])
    end
    out[#out + 1] = s(redis.call('GET', KEYS[5]) or '0')
    local m = redis.call('SMEMBERS', KEYS[6])
    table.sort(m)
    out[#out + 1] = tostring(#m)
    for _, k in ipairs(m) do
        out[#out + 1] = k
    end
elseif mode == 'plan' then
    if #KEYS ~= 6 or not ARGV[8] then
        return err('EARG', 'plan takes three hashes and a day')
    end
    out[#out + 1] = s(redis.call('HGET', KEYS[6], ARGV[8]) or '0')
    local c = pairs_sorted(KEYS[4])
    out[#out + 1] = tostring(#c / 2)
    for _, v in ipairs(c) do
        out[#out + 1] = v
    end
    local o = redis.call('HKEYS', KEYS[5])
    table.sort(o)
    out[#out + 1] = tostring(#o)
    for _, v in ipairs(o) do
        out[#out + 1] = v
    end
elseif mode == 'all' then
    if #KEYS ~= 4 then
        return err('EARG', 'all takes one hash')
    end
    for _, v in ipairs(pairs_sorted(KEYS[4])) do
        out[#out + 1] = v
    end
elseif mode == 'transfer' then
    if #KEYS ~= 5 then
        return err('EARG', 'transfer takes the transfer and its reservations')
    end
    local t = redis.call('HMGET', KEYS[4], 'state', 'from', 'to', 'transit', 'dest', 'units',
        'shipped', 'received')
    for j = 1, 8 do
        out[#out + 1] = s(t[j])
    end
    local r = pairs_sorted(KEYS[5])
    out[#out + 1] = tostring(#r / 2)
    for _, v in ipairs(r) do
        out[#out + 1] = v
    end
else
    return err('EARG', 'unknown count_read mode')
end
return out
