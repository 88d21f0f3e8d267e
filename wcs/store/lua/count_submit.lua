-- count_submit: a counter's blind count of a location closes its open count task. Per quant the
-- variance (counted - on_hand; a quant not listed counts 0) becomes, through the adjustment
-- rules: nothing (zero variance); an adjustment applied at once with reason 'count CNT-<n>'
-- (within the thresholds); or a pending approval ADJ-<n> for a second person (above them, or
-- when the value is unknown and the site has a value threshold, or when the count is below
-- what is reserved: the reservation cannot be honoured and the alarm KEYS[9] is raised).
-- The C side reads the task, the approval counter and the location's quants first and declares
-- every key; the script refuses with 'changed meanwhile, retry' when they moved.
-- KEYS[4] task, KEYS[5] open counts hash, KEYS[6] last-counted hash, KEYS[7] approval counter,
-- KEYS[8] the location's quant set, KEYS[9] the alarm count.<task>.reserved; then n quants,
-- n sku index sets (of the quants, in order), n approval hashes (ADJ-<seq+1>..) and n their
-- alarms (approval-ADJ-<seq+k>).
-- ARGV[7] task id, ARGV[8] location, ARGV[9] approval counter as read, ARGV[10] the location's
-- quant set size as read, ARGV[11] qty threshold, ARGV[12] value threshold (cents, 0 none),
-- ARGV[13] n, then per quant: sku, lot, counted ('' not listed: 0), unit value cents ('').
-- Returns {'ok', results JSON, approvals JSON, flagged '0'|'1'}.
local n = int_arg(ARGV[13] or '')
if not n or n < 0 or #KEYS ~= 9 + 4 * n or #ARGV ~= 13 + 4 * n then
    return err('EARG', 'count_submit takes 9 + 4n keys and 13 + 4n arguments')
end
local tid, loc = ARGV[7], ARGV[8]
local seq, card = int_arg(ARGV[9]), int_arg(ARGV[10])
local qthr, vthr = int_arg(ARGV[11]), int_arg(ARGV[12])
if not is_id(tid) or not is_path(loc) or not seq or not card or not qthr or qthr < 0 or
    not vthr or vthr < 0 then
    return err('EARG', 'bad task, location, counter, thresholds')
end
local lines = {}
for i = 1, n do
    local b = 13 + 4 * (i - 1)
    local sku, lot, c, u = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
    local counted = c == '' and 0 or int_arg(c)
    local unit = u ~= '' and int_arg(u) or nil
    if not is_id(sku) or not is_lot(lot) or not counted or counted < 0 or
        (u ~= '' and (not unit or unit < 0)) then
        return err('EARG', 'bad sku, lot, counted quantity or unit value of quant ' .. i)
    end
    lines[i] = {sku = sku, lot = lot, counted = counted, listed = c ~= '', unit = unit}
end
if seen() then
    return {'dup'}
end
local t = redis.call('HMGET', KEYS[4], 'kind', 'state', 'target', 'sku')
if not t[1] then
    return err('EUNKNOWN', 'unknown count task "' .. tid .. '"')
end
if t[1] ~= 'count' then
    return err('ESTATE', 'task ' .. tid .. ' is a ' .. t[1] .. ' task, not a count')
end
if t[2] ~= 'open' then
    return err('ESTATE', 'count ' .. tid .. ' is ' .. t[2] .. ': it was submitted before')
end
if t[3] ~= loc then
    return err('ESTATE', 'scanned location ' .. loc .. ' is not the location of count ' .. tid ..
        ' (' .. tostring(t[3]) .. ')')
end
if redis.call('SCARD', KEYS[8]) ~= card or num(redis.call('GET', KEYS[7])) ~= seq then
    return err('ESTATE', 'count ' .. tid .. ' changed meanwhile, retry')
end
local only = t[4] or ''
-- Decide every quant first (nothing written yet).
local results, napp, flagged = {}, 0, false
local moves = {}
for i = 1, n do
    local l, q = lines[i], KEYS[9 + i]
    if only ~= '' and l.sku ~= only then
        return err('ESTATE', 'count ' .. tid .. ' counts only ' .. only .. ', not ' .. l.sku)
    end
    local v = redis.call('HMGET', q, 'on_hand', 'reserved')
    local on_hand, reserved = num(v[1]), num(v[2])
    local d = l.counted - on_hand
    local r = {sku = l.sku, lot = l.lot, on_hand = on_hand, reserved = reserved,
        counted = l.counted, variance = d, action = 'match'}
    if d ~= 0 then
        local a = d < 0 and -d or d
        local why = nil
        if l.counted < reserved then
            why = 'counted ' .. l.counted .. ' below the ' .. reserved ..
                ' reserved: the reservation cannot be honoured'
            r.flagged = true
            flagged = true
        elseif qthr == 0 then
            why = 'every adjustment needs approval'
        elseif a > qthr then
            why = 'quantity ' .. a .. ' above the threshold of ' .. qthr
        elseif vthr > 0 and not l.unit then
            why = 'value unknown (no unit_value_cents) and the site has a value threshold'
        elseif vthr > 0 and a * l.unit > vthr then
            why = 'value ' .. (a * l.unit) .. ' cents above the threshold of ' .. vthr .. ' cents'
        end
        if why then
            napp = napp + 1
            r.action = 'approval'
            r.approval = 'ADJ-' .. (seq + napp)
            r.why = why
        else
            r.action = 'adjusted'
        end
    end
    if l.listed or on_hand ~= 0 or reserved ~= 0 then
        results[#results + 1] = r
    end
    moves[i] = r
end
-- Write.
local reason = 'count ' .. tid
local approvals, nvar = {}, 0
for i = 1, n do
    local l, q, r = lines[i], KEYS[9 + i], moves[i]
    if r.variance ~= 0 then
        nvar = nvar + 1
    end
    if r.action ~= 'approval' then
        -- The count is the truth: units short picks reported missing are no longer set aside
        -- (with an approval pending, approval_apply clears them when the count is applied).
        redis.call('HDEL', q, 'missing')
    end
    if r.action == 'adjusted' then
        local d = r.variance
        if redis.call('EXISTS', q) == 0 then
            redis.call('HSET', q, 'sku', l.sku, 'loc', loc, 'lot', l.lot, 'reserved', 0)
            redis.call('SADD', KEYS[8], q)
            redis.call('SADD', KEYS[9 + n + i], q)
        end
        redis.call('HINCRBY', q, 'on_hand', d)
        redis.call('HINCRBY', KEYS[3], 'adjustments', 1)
        redis.call('HINCRBY', KEYS[3], d > 0 and 'adjusted_units_in' or 'adjusted_units_out',
            d > 0 and d or -d)
        if l.unit then
            redis.call('HINCRBY', KEYS[3], 'adjusted_value_cents', (d > 0 and d or -d) * l.unit)
        end
        journal('adjust', l.sku, {quant = q, on_hand = r.on_hand},
            {quant = q, on_hand = r.on_hand + d, delta = d, reason = reason, task = tid})
    elseif r.action == 'approval' then
        local id = 'ADJ-' .. redis.call('INCR', KEYS[7])
        local k = #approvals + 1
        local value = l.unit and tostring((r.variance < 0 and -r.variance or r.variance) * l.unit)
            or ''
        redis.call('HSET', KEYS[9 + 2 * n + k], 'kind', 'adjust', 'state', 'pending',
            'requester', ARGV[1], 'cause', ARGV[2], 'sku', l.sku, 'loc', loc, 'lot', l.lot, 'qty',
            r.variance, 'reason', reason, 'value_cents', value, 'why', r.why, 'ts', ARGV[4],
            'task', tid)
        redis.call('HSET', KEYS[9 + 3 * n + k], 'text', 'adjustment ' .. id .. ' of ' ..
            r.variance .. ' ' .. l.sku .. ' at ' .. loc .. ' needs approval (' .. r.why .. ')',
            'state', 'active', 'ts', ARGV[4])
        redis.call('HINCRBY', KEYS[3], 'approvals_requested', 1)
        journal('approval_request', id, {}, {sku = l.sku, loc = loc, lot = l.lot,
            delta = r.variance, reason = reason, why = r.why, task = tid})
        approvals[k] = {approval = id, sku = l.sku, lot = l.lot, qty = r.variance, why = r.why,
            flagged = r.flagged or false}
    end
end
if flagged then
    redis.call('HSET', KEYS[9], 'text', 'count ' .. tid .. ' at ' .. loc ..
        ' found less than is reserved: the reservation cannot be honoured', 'state', 'active',
        'ts', ARGV[4], 'task', tid)
end
local rtext = #results > 0 and cjson.encode(results) or '[]'
local atext = #approvals > 0 and cjson.encode(approvals) or '[]'
redis.call('HSET', KEYS[4], 'state', 'done', 'counted_by', ARGV[1], 'counted_ts', ARGV[4],
    'variances', nvar, 'approvals', #approvals, 'result', rtext)
redis.call('HDEL', KEYS[5], loc)
if only == '' then
    redis.call('HSET', KEYS[6], loc, ARGV[4])
end
redis.call('HINCRBY', KEYS[3], 'counts_done', 1)
redis.call('HINCRBY', KEYS[3], 'count_quants', #results)
redis.call('HINCRBY', KEYS[3], 'count_variances', nvar)
if flagged then
    redis.call('HINCRBY', KEYS[3], 'counts_reserved_short', 1)
end
journal('count_submit', tid, {state = 'open'}, {state = 'done', location = loc,
    variances = nvar, approvals = #approvals, flagged = flagged})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', rtext, atext, flagged and '1' or '0'}
