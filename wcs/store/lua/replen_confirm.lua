-- replen_confirm: the replenisher's scans of one replenishment move: the source location, the
-- product (GTIN, lot, expiry as pick checks them), the quantity and the pick face. Each check
-- refused with its reason (nothing changes); then the units move from the source quant (on
-- hand and the task's reservation) to the face's quant of the same product and lot, journaled
-- as op 'replenish' (a move for wcs audit). The task is done when all its units moved: the
-- face's open count drops and the face is no longer busy.
-- KEYS[4] task, KEYS[5] open replenishments hash, KEYS[6] busy faces hash, KEYS[7] source
-- quant, KEYS[8] face quant, KEYS[9] the face's quant index, KEYS[10] the SKU's quant index.
-- ARGV[7] task id, ARGV[8] scanned source location, ARGV[9] GTIN, ARGV[10] the GTIN's product
-- ('' none), ARGV[11] lot (US: none), ARGV[12] expiry ('' none), ARGV[13] qty, ARGV[14]
-- scanned face, ARGV[15] user.
-- Returns {'ok', moved, remaining, state, face, sku, source}.
if #KEYS ~= 10 or #ARGV ~= 15 then
    return err('EARG', 'replen_confirm takes 10 keys and 15 arguments')
end
local tid, q, who = ARGV[7], int_arg(ARGV[13]), ARGV[15]
if not is_id(tid) or not q or q < 1 or who == '' then
    return err('EARG', 'bad task id, quantity or user')
end
if seen() then
    return {'dup'}
end
local t = redis.call('HMGET', KEYS[4], 'kind', 'state', 'assignee', 'sku', 'lot', 'expiry', 'from',
    'to', 'qty', 'moved')
if not t[1] then
    return err('EUNKNOWN', 'unknown task "' .. tid .. '"')
end
if t[1] ~= 'replenish' then
    return err('ESTATE', 'task ' .. tid .. ' is a ' .. t[1] .. ' task, not a replenishment')
end
if t[2] ~= 'open' then
    return err('ESTATE', 'task ' .. tid .. ' is ' .. tostring(t[2]))
end
local sku, lot, exp, from, to = t[4], t[5] or '', t[6] or '', t[7], t[8]
if (t[3] or '') ~= '' and t[3] ~= who then
    return err('ESTATE', 'task ' .. tid .. ' is assigned to ' .. t[3])
end
if KEYS[6] ~= site_key('replen:faces') or KEYS[5] ~= site_key('replen:open') or
    KEYS[7] ~= site_key('quant:' .. sku .. ':' .. from .. ':' .. lot) or
    KEYS[8] ~= site_key('quant:' .. sku .. ':' .. to .. ':' .. lot) then
    return err('ESTATE', 'task ' .. tid .. ' changed meanwhile, retry')
end
local remaining = num(t[9]) - num(t[10])
if ARGV[8] ~= from then
    return err('ESTATE', 'scanned location ' .. ARGV[8] .. ' is not ' .. from ..
        ', the source of task ' .. tid)
end
if ARGV[10] ~= sku then
    if ARGV[10] == '' then
        return err('ESTATE', 'scanned GTIN ' .. ARGV[9] .. ' is no product of the site, task ' ..
            tid .. ' is for ' .. sku)
    end
    return err('ESTATE', 'scanned GTIN ' .. ARGV[9] .. ' is product ' .. ARGV[10] .. ', task ' ..
        tid .. ' is for ' .. sku)
end
if lot ~= '' and ARGV[11] == '\31' then
    return err('ESTATE', 'scan has no lot (AI 10), task ' .. tid .. ' is for lot ' .. lot)
end
if lot ~= '' and ARGV[11] ~= lot then
    return err('ESTATE', 'scanned lot ' .. ARGV[11] .. ', task ' .. tid .. ' is for lot ' .. lot)
end
if ARGV[12] ~= '' and ARGV[12] ~= exp then
    return err('ESTATE', 'scanned expiry ' .. ARGV[12] .. ', task ' .. tid .. ' is for ' ..
        (exp ~= '' and ('expiry ' .. exp) or 'stock without an expiry'))
end
if q > remaining then
    return err('ESTATE', 'qty ' .. q .. ' is more than the ' .. remaining ..
        ' remaining on task ' .. tid)
end
if ARGV[14] ~= to then
    return err('ESTATE', 'scanned location ' .. ARGV[14] .. ' is not ' .. to ..
        ', the pick face of task ' .. tid)
end
local sv = redis.call('HMGET', KEYS[7], 'on_hand', 'reserved', 'expiry', 'in_date')
local s_on, s_res = num(sv[1]), num(sv[2])
if s_on < q or s_res < q then
    return err('ESTATE', 'source quant ' .. KEYS[7] .. ' has ' .. s_on .. ' on hand and ' .. s_res ..
        ' reserved, task ' .. tid .. ' moves ' .. q)
end
-- Apply.
local f_on = num(redis.call('HGET', KEYS[8], 'on_hand'))
redis.call('HINCRBY', KEYS[7], 'on_hand', -q)
redis.call('HINCRBY', KEYS[7], 'reserved', -q)
redis.call('HSETNX', KEYS[8], 'reserved', 0)
redis.call('HSET', KEYS[8], 'sku', sku, 'loc', to, 'lot', lot)
if sv[3] and sv[3] ~= '' then
    redis.call('HSETNX', KEYS[8], 'expiry', sv[3])
end
if sv[4] and sv[4] ~= '' then
    redis.call('HSETNX', KEYS[8], 'in_date', sv[4])
end
redis.call('HINCRBY', KEYS[8], 'on_hand', q)
redis.call('SADD', KEYS[9], KEYS[8])
redis.call('SADD', KEYS[10], KEYS[8])
local moved = num(t[10]) + q
local state = moved >= num(t[9]) and 'done' or 'open'
redis.call('HSET', KEYS[4], 'moved', moved, 'state', state, 'assignee', who, 'updated_ts', ARGV[4])
if state == 'done' then
    local field = to .. '|' .. sku
    if redis.call('HINCRBY', KEYS[5], field, -1) <= 0 then
        redis.call('HDEL', KEYS[5], field)
    end
    if redis.call('HGET', KEYS[6], to) == tid then
        redis.call('HDEL', KEYS[6], to)
    end
    redis.call('HINCRBY', KEYS[3], 'replen_done', 1)
else
    redis.call('HSET', KEYS[6], to, tid)
end
redis.call('HINCRBY', KEYS[3], 'replen_confirms', 1)
redis.call('HINCRBY', KEYS[3], 'replen_units', q)
journal('replenish', tid, {from = KEYS[7], from_on_hand = s_on, to = KEYS[8], to_on_hand = f_on},
    {from = KEYS[7], from_on_hand = s_on - q, to = KEYS[8], to_on_hand = f_on + q, qty = q,
     task = tid})
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[6])
return {'ok', tostring(moved), tostring(num(t[9]) - moved), state, to, sku, from}
