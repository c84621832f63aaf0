//! One Lua script per operation.
//!
//! Redis runs a script atomically but does not roll it back when it fails halfway, so each
//! script does every read and check first and writes only after the last check. Every key
//! a script touches is in `KEYS`, and they all carry the subject's hash tag (see
//! [`keys`](crate::keys)), so no script crosses a slot, on a standalone server and a
//! cluster alike. Absent values are returned as `''` because a Lua `nil` ends a reply
//! array.
//!
//! TTLs are passed in milliseconds, relative, as computed by the caller from its own clock;
//! the subject's expiry set records the server time (`TIME`) until which each family can
//! matter, so that `insert_family` can drop dead families from the subject's hash. Scripts
//! are replicated by their effects (the only mode since Redis 7), so reading `TIME` before
//! writing is allowed.

use std::sync::LazyLock;

use redis::Script;

/// Helpers every script may use: server time in ms, "make the key's TTL at least `ttl`
/// ms", and an integer as text.
const PRELUDE: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local function int(n) return string.format('%.0f', n) end
";

/// `insert_family`. KEYS: token, subject hash, subject's family expiry set. ARGV: family
/// id, family record, issued_us, expires_us, ttl_ms. Returns `ok`, or `conflict` if the
/// subject already has the token id or the family id.
///
/// Also drops up to 64 families whose last token can no longer matter (by server time),
/// so a subject's hash does not grow with every login it ever made; the sorted set makes
/// finding them O(log n) rather than a scan of the hash.
pub(crate) static INSERT_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local fid, ttl = ARGV[1], tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[2], 'f:' .. fid) == 1 then
  return 'conflict'
end
local now = now_ms()
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. int(now), 'LIMIT', 0, 64)
-- checks done; writes from here on
for _, id in ipairs(dead) do
  redis.call('HDEL', KEYS[2], 'f:' .. id, 'r:' .. id)
  redis.call('ZREM', KEYS[3], id)
end
redis.call('HSET', KEYS[1], 'f', fid, 'i', ARGV[3], 'e', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[2], 'f:' .. fid, ARGV[2])
redis.call('ZADD', KEYS[3], int(now + ttl), fid)
extend(KEYS[2], ttl)
extend(KEYS[3], ttl)
return 'ok'
",
    )
});

/// `rotate`. KEYS: old token, new token, subject hash, family expiry set. ARGV: old id,
/// new id, issued_us, expires_us, now_us, ttl_ms. Replies, in the order the trait checks
/// them (`conflict`: the subject already has the new token id):
/// `{notfound}`, `{revoked, family, record, revocation}`, `{expired}`,
/// `{consumed, family, record, consumed_us, child}`, `{conflict}`,
/// `{rotated, family, record}`.
pub(crate) static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
-- a <= b for canonical signed decimal integers: exact for any i64, where Lua's doubles
-- are exact only within 2^53 µs (about 285 years either side of 1970).
local function le(a, b)
  local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if na ~= nb then return na end
  if a == b then return true end
  if #a ~= #b then return (#a < #b) ~= na end
  return (a < b) ~= na
end
local tok = redis.call('HMGET', KEYS[1], 'f', 'e', 'c', 'n')
local fid = tok[1]
if not fid then return {'notfound'} end
local fam = redis.call('HMGET', KEYS[3], 'f:' .. fid, 'r:' .. fid)
if not fam[1] then return {'notfound'} end
if fam[2] then return {'revoked', fid, fam[1], fam[2]} end
-- What the reply carries must decode, or the caller would see an error for a rotation
-- that happened.
if not string.match(fam[1], '^[01]:%-?%d+$') then
  return redis.error_reply('CORRUPT family record ' .. fid)
end
if not (tok[2] and string.match(tok[2], '^%-?%d+$')) then
  return redis.error_reply('CORRUPT token record without a valid expiry')
end
if le(tok[2], ARGV[5]) then return {'expired'} end
if tok[3] then return {'consumed', fid, fam[1], tok[3], tok[4] or ''} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'conflict'} end
local ttl = tonumber(ARGV[6])
local live_until = now_ms() + ttl
-- checks done; writes from here on
redis.call('HSET', KEYS[1], 'c', ARGV[5], 'n', ARGV[2])
redis.call('HSET', KEYS[2], 'f', fid, 'i', ARGV[3], 'e', ARGV[4], 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[4], 'GT', int(live_until), fid)
-- Both were created with a TTL by insert_family; GT only ever lengthens it.
redis.call('PEXPIRE', KEYS[3], ttl, 'GT')
redis.call('PEXPIRE', KEYS[4], ttl, 'GT')
return {'rotated', fid, fam[1]}
",
    )
});

/// `revoke_token`. KEYS: token, subject. ARGV: revocation. Returns 1 if the family
/// changed, else 0.
pub(crate) static REVOKE_TOKEN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local fid = redis.call('HGET', KEYS[1], 'f')
if not fid then return 0 end
if redis.call('HEXISTS', KEYS[2], 'f:' .. fid) == 0 then return 0 end
return redis.call('HSETNX', KEYS[2], 'r:' .. fid, ARGV[1])
",
    )
});

/// `revoke_family`. KEYS: subject. ARGV: family id, revocation. Returns 1 or 0.
pub(crate) static REVOKE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('HEXISTS', KEYS[1], 'f:' .. ARGV[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'r:' .. ARGV[1], ARGV[2])
",
    )
});

/// `revoke_subject`. KEYS: subject. ARGV: revocation. Returns how many families changed.
pub(crate) static REVOKE_SUBJECT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local names = redis.call('HKEYS', KEYS[1])
local revoked, todo = {}, {}
for _, name in ipairs(names) do
  if string.sub(name, 1, 2) == 'r:' then revoked[string.sub(name, 3)] = true end
end
for _, name in ipairs(names) do
  local id = string.sub(name, 3)
  if string.sub(name, 1, 2) == 'f:' and not revoked[id] then
    todo[#todo + 1] = 'r:' .. id
    todo[#todo + 1] = ARGV[1]
  end
end
-- checks done; writes from here on (one HSET per family: unpack() would hit Lua's stack
-- limit for a subject with thousands of families)
for i = 1, #todo, 2 do redis.call('HSET', KEYS[1], todo[i], todo[i + 1]) end
return #todo / 2
",
    )
});

/// `token_status`. KEYS: token, subject. Returns `{}` if either record is missing, else
/// the token's `f i e c p n` and the family's `f:` and `r:` fields.
pub(crate) static TOKEN_STATUS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local tok = redis.call('HMGET', KEYS[1], 'f', 'i', 'e', 'c', 'p', 'n')
if not tok[1] then return {} end
local fam = redis.call('HMGET', KEYS[2], 'f:' .. tok[1], 'r:' .. tok[1])
if not fam[1] then return {} end
return {tok[1], tok[2] or '', tok[3] or '', tok[4] or '', tok[5] or '', tok[6] or '',
        fam[1], fam[2] or ''}
",
    )
});

/// `family_status`. KEYS: subject. ARGV: family id. Returns `{}` or `{record, revocation}`.
pub(crate) static FAMILY_STATUS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local fam = redis.call('HMGET', KEYS[1], 'f:' .. ARGV[1], 'r:' .. ARGV[1])
if not fam[1] then return {} end
return {fam[1], fam[2] or ''}
",
    )
});

/// The current record of a token (the child that `rotate` reports on `Consumed`).
/// KEYS: token. Returns `{}` or its `f i e c p n`.
pub(crate) static TOKEN_RECORD: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local tok = redis.call('HMGET', KEYS[1], 'f', 'i', 'e', 'c', 'p', 'n')
if not tok[1] then return {} end
return {tok[1], tok[2] or '', tok[3] or '', tok[4] or '', tok[5] or '', tok[6] or ''}
",
    )
});

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}
