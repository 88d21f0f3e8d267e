-- Prelude of every wcs store script (wcs/store/lua/prelude.lua), prepended at build time.
-- Common keys: KEYS[1] journal stream, KEYS[2] op id key (replay dedup), KEYS[3] KPI hash.
-- Common args: ARGV[1] actor, ARGV[2] cause, ARGV[3] op id, ARGV[4] ts (epoch ms),
-- ARGV[5] journal MAXLEN (~), ARGV[6] op id TTL (s). A script's own args start at ARGV[7].
-- Rule: validate everything and read the state first; write only when nothing can fail, so a
-- refused call changes nothing. Errors are "<CODE> text": EARG (arguments), ESTATE (refused by
-- the current stock), EUNKNOWN (a referenced record does not exist).
local function err(code, msg)
    return redis.error_reply(code .. ' ' .. msg)
end

local function int_arg(s)
    if type(s) ~= 'string' or #s > 16 or not string.match(s, '^%-?%d+$') then
        return nil
    end
    return tonumber(s)
end

local function is_id(s)
    return type(s) == 'string' and #s >= 1 and #s <= 63 and string.match(s, '^[%w_.%-]+$') ~= nil
end

local function is_path(s)
    if type(s) ~= 'string' or #s < 1 or #s > 127 then
        return false
    end
    for seg in string.gmatch(s .. '/', '([^/]*)/') do
        if not is_id(seg) then
            return false
        end
    end
    return true
end

local function is_lot(s)
    return s == '' or is_id(s)
end

local function num(v)
    return tonumber(v) or 0
end

local function common_error()
    if #KEYS < 3 or #ARGV < 6 then
        return 'EARG missing common keys or arguments'
    end
    if ARGV[1] == '' or #ARGV[1] > 128 then
        return 'EARG actor must be 1..128 bytes'
    end
    if #ARGV[2] > 256 then
        return 'EARG cause longer than 256 bytes'
    end
    if not is_id(ARGV[3]) then
        return 'EARG bad op id'
    end
    local ts, maxlen, ttl = int_arg(ARGV[4]), int_arg(ARGV[5]), int_arg(ARGV[6])
    if not ts or ts < 0 or not maxlen or maxlen < 1 or not ttl or ttl < 1 then
        return 'EARG ts, journal maxlen and op ttl must be positive integers'
    end
    return nil
end

local function seen()
    return redis.call('EXISTS', KEYS[2]) == 1
end

local function journal(op, subject, before, after)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'ts', ARGV[4], 'actor', ARGV[1],
        'cause', ARGV[2], 'op', op, 'op_id', ARGV[3], 'subject', subject,
        'before', cjson.encode(before), 'after', cjson.encode(after))
end

local function done()
    redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
    return {'ok'}
end

do
    local e = common_error()
    if e then
        return redis.error_reply(e)
    end
end

-- All or nothing: reserves want[k] on every quant key k of keys (in that order) and records it
-- in the order's reservation hash res_key, or reserves nothing. Returns short (a flat list of
-- key, wanted, available for every quant that cannot give what is wanted) and nothing else, or
-- nil, before (reserved per key before), after (reserved per key after) and the units reserved.
local function reserve_all(keys, want, res_key)
    local short, before = {}, {}
    for _, k in ipairs(keys) do
        -- 'hold': units on quality or return hold, never reservable (receipt_scan).
        local v = redis.call('HMGET', k, 'on_hand', 'reserved', 'hold')
        local avail = num(v[1]) - num(v[2]) - num(v[3])
        before[k] = num(v[2])
        if avail < want[k] then
            short[#short + 1] = k
            short[#short + 1] = tostring(want[k])
            short[#short + 1] = tostring(avail)
        end
    end
    if #short > 0 then
        return short
    end
    local after, units = {}, 0
    for _, k in ipairs(keys) do
        after[k] = redis.call('HINCRBY', k, 'reserved', want[k])
        redis.call('HINCRBY', res_key, k, want[k])
        units = units + want[k]
    end
    return nil, before, after, units
end

-- The quantities of n lines, KEYS[key0 + i] with ARGV[arg0 + i] (a positive integer), summed
-- per quant key. Returns keys (each quant once, in first-seen order) and want (key -> qty), or
-- nil and the error reply for a bad quantity.
local function sum_lines(key0, arg0, n)
    local want, keys = {}, {}
    for i = 1, n do
        local q = int_arg(ARGV[arg0 + i])
        if not q or q <= 0 then
            return nil, err('EARG', 'quantity must be a positive integer: ' .. ARGV[arg0 + i])
        end
        local k = KEYS[key0 + i]
        if not want[k] then
            want[k] = 0
            keys[#keys + 1] = k
        end
        want[k] = want[k] + q
    end
    return keys, want
end

-- The pick batches of wave wid as wave.release makes them (wave_read 'release' and
-- wave_release agree through this one function): the wave's batch_plan (the planner's cart
-- batches in path order, JSON text) with the picks of orders no longer in the wave's order list
-- (orders: decoded list) left out and empty batches dropped; batches are numbered <wid>-B1,
-- -B2... in plan order. Returns a list of {id, cutoff, picks = {{o, l, sku, loc, lot, exp, n}}},
-- or nil for an unreadable plan.
local function wave_batches(wid, plan_text, orders)
    local ok, plan = pcall(cjson.decode, plan_text or '[]')
    if not ok or type(plan) ~= 'table' then
        return nil
    end
    local member, out = {}, {}
    for _, o in ipairs(orders) do
        member[o] = true
    end
    for _, b in ipairs(plan) do
        local picks = {}
        for _, p in ipairs(type(b.picks) == 'table' and b.picks or {}) do
            if member[p.o] then
                picks[#picks + 1] = p
            end
        end
        if #picks > 0 then
            out[#out + 1] = {id = wid .. '-B' .. (#out + 1), cutoff = tonumber(b.cutoff) or 0,
                picks = picks}
        end
    end
    return out
end
