//! String commands: GET and SET with their variants (SETNX, SETEX, PSETEX, GETSET, GETDEL,
//! GETEX), MGET / MSET / MSETNX, in-place edits (APPEND, SETRANGE), counters (INCR family,
//! INCRBYFLOAT), ranges (GETRANGE, SUBSTR, STRLEN) and LCS. Bit operations live elsewhere.
//!
//! Stored values are built as Redis's `tryObjectEncoding` would leave them (`Value::string`:
//! `int`, `embstr` or `raw`), edits in place turn a value `raw` as `dbUnshareStringValue` does,
//! and INCRBYFLOAT stores its text unencoded, so OBJECT ENCODING answers what Redis answers.
//! `ks.dirty` moves exactly where Redis bumps `server.dirty`.
//!
//! Lookups follow Redis's two kinds: commands that read (GET, MGET, GETRANGE...) use `ks.get`,
//! which counts keyspace hits and misses; commands that write look keys up with `get_mut`,
//! which does not. Both touch the key's access clock.

use thin_vec::ThinVec;

use crate::config::notify;
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::errors;
use crate::store::value::Value;
use crate::util::long_double::{self, LongDouble};
use crate::util::parse_i64_strict;

// ---- shared helpers ----

/// What a GET-style read found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Missing,
    Found,
    WrongType,
}

/// Replies the string at `key` (null when missing, WRONGTYPE for other types), as Redis's
/// `getGenericCommand`, which GET, GETSET, GETDEL and SET ... GET share.
#[inline]
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> Read {
    let mut tmp = itoa::Buffer::new();
    match ctx.ks.get(key) {
        None => {
            ctx.out.null();
            Read::Missing
        }
        Some(v) => match v.str_bytes(&mut tmp) {
            Some(b) => {
                ctx.out.bulk(b);
                Read::Found
            }
            None => {
                ctx.out.error(errors::WRONGTYPE);
                Read::WrongType
            }
        },
    }
}

/// Returns the option word as C's string functions see it: up to its first NUL byte. Redis
/// compares options with `strcasecmp` and friends, so `"nx\0junk"` counts as `NX`.
#[inline]
fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&c| c == 0) {
        Some(n) => &arg[..n],
        None => arg,
    }
}

/// True when a string of `size` bytes grown by `add` bytes stays within
/// `proto-max-bulk-len` (Redis's `checkStringLength`, overflow included).
fn length_ok(ctx: &Ctx, size: i64, add: i64) -> bool {
    let max = ctx.server.config.read().proto_max_bulk_len;
    let total = (size as u64).wrapping_add(add as u64) as i64;
    !(total > max || total < size || total < add)
}

// ---- SET family option parsing ----

const NX: u16 = 1 << 0;
const XX: u16 = 1 << 1;
const EX: u16 = 1 << 2;
const PX: u16 = 1 << 3;
const KEEPTTL: u16 = 1 << 4;
const GET: u16 = 1 << 5;
const EXAT: u16 = 1 << 6;
const PXAT: u16 = 1 << 7;
const PERSIST: u16 = 1 << 8;

/// Which command's options are being parsed: SET takes NX/XX/GET/KEEPTTL, GETEX takes
/// PERSIST; both take EX/PX/EXAT/PXAT.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptsFor {
    Set,
    GetEx,
}

/// Parsed options of SET or GETEX: the flags and the expire argument, if any.
struct ExtOpts<'a> {
    flags: u16,
    expire: Option<&'a [u8]>,
}

/// Parses the options of SET (from argv[3]) or GETEX (from argv[2]) with Redis's rules: an
/// option conflicting with one already given is a syntax error, as is an expire keyword with
/// no value after it; a repeated expire keyword takes the last value. Returns `None` on a
/// syntax error.
fn parse_ext<'a>(argv: &[&'a [u8]], which: OptsFor) -> Option<ExtOpts<'a>> {
    let set = which == OptsFor::Set;
    let mut flags = 0u16;
    let mut expire = None;
    let mut j = if set { 3 } else { 2 };
    while j < argv.len() {
        let opt = c_str(argv[j]);
        let next = argv.get(j + 1).copied();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        // For each expire keyword, the other expire keywords and the TTL-keeping options it
        // cannot be combined with.
        let expire_kw = if is("ex") {
            Some((EX, KEEPTTL | PERSIST | EXAT | PX | PXAT))
        } else if is("px") {
            Some((PX, KEEPTTL | PERSIST | EX | EXAT | PXAT))
        } else if is("exat") {
            Some((EXAT, KEEPTTL | PERSIST | EX | PX | PXAT))
        } else if is("pxat") {
            Some((PXAT, KEEPTTL | PERSIST | EX | EXAT | PX))
        } else {
            None
        };
        if let Some((flag, conflicts)) = expire_kw {
            if flags & conflicts != 0 || next.is_none() {
                return None;
            }
            flags |= flag;
            expire = next;
            j += 2;
            continue;
        }
        if set && is("nx") && flags & XX == 0 {
            flags |= NX;
        } else if set && is("xx") && flags & NX == 0 {
            flags |= XX;
        } else if set && is("get") {
            flags |= GET;
        } else if set && is("keepttl") && flags & (PERSIST | EX | EXAT | PX | PXAT) == 0 {
            flags |= KEEPTTL;
        } else if !set && is("persist") && flags & (EX | EXAT | PX | PXAT | KEEPTTL) == 0 {
            flags |= PERSIST;
        } else {
            return None;
        }
        j += 1;
    }
    Some(ExtOpts { flags, expire })
}

/// Why an expire argument was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BadExpire {
    NotInteger,
    /// Not positive, or overflowing once turned into absolute milliseconds.
    Invalid,
}

/// Turns the argument of EX / PX / EXAT / PXAT into an absolute Unix time in milliseconds,
/// with Redis's checks: the number must be positive, seconds must not overflow when turned
/// into milliseconds, and a relative time must not overflow when `now` is added.
fn expire_at(arg: &[u8], flags: u16, now: i64) -> Result<i64, BadExpire> {
    let n = parse_i64_strict(arg).ok_or(BadExpire::NotInteger)?;
    let seconds = flags & (EX | EXAT) != 0;
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(BadExpire::Invalid);
    }
    let mut ms = if seconds { n * 1000 } else { n };
    if flags & (EX | PX) != 0 {
        // Redis adds the clock in C and catches the wrap-around by the sign of the result.
        ms = ms.wrapping_add(now);
    }
    if ms <= 0 { Err(BadExpire::Invalid) } else { Ok(ms) }
}

/// Replies the error for a refused expire argument of command `name`.
fn reply_bad_expire(ctx: &mut Ctx, e: BadExpire, name: &str) {
    match e {
        BadExpire::NotInteger => ctx.out.error(errors::NOT_INTEGER),
        BadExpire::Invalid => ctx.out.error(&errors::invalid_expire(name)),
    }
}

/// How a SET-family command answers when it stores (first) or is stopped by NX/XX (second).
#[derive(Clone, Copy)]
enum SetReplies {
    /// `+OK` / null (SET, SETEX, PSETEX).
    OkNull,
    /// `:1` / `:0` (SETNX).
    OneZero,
}

/// The body of SET, SETNX, SETEX and PSETEX (Redis's `setGenericCommand`): validates the
/// expire, replies the old value for GET, honours NX/XX, stores `val` (clearing the TTL unless
/// KEEPTTL) and sets the new expire.
fn set_generic(
    ctx: &mut Ctx,
    name: &str,
    flags: u16,
    key: &[u8],
    val: &[u8],
    expire: Option<&[u8]>,
    replies: SetReplies,
) {
    let when = match expire.map(|arg| expire_at(arg, flags, ctx.ks.now)) {
        Some(Err(e)) => return reply_bad_expire(ctx, e, name),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let get = flags & GET != 0;
    if get && get_generic(ctx, key) == Read::WrongType {
        return;
    }
    // A write lookup: touches the key's access clock even when NX/XX then stops the command.
    let found = ctx.ks.get_mut(key).is_some();
    if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
        if !get {
            match replies {
                SetReplies::OkNull => ctx.out.null(),
                SetReplies::OneZero => ctx.out.int(0),
            }
        }
        return;
    }
    let value = Value::string(val);
    match when {
        Some(t) => ctx.ks.set_with_expire(key, value, Some(t)),
        None => ctx.ks.set(key, value, flags & KEEPTTL != 0),
    }
    ctx.notify(notify::STRING, "set", key);
    if let Some(t) = when {
        ctx.notify(notify::GENERIC, "expire", key);
        // Propagated with its absolute time, as Redis rewrites it.
        ctx.propagate_as(&[b"SET", key, val, b"PXAT", itoa::Buffer::new().format(t).as_bytes()]);
    }
    if !get {
        match replies {
            SetReplies::OkNull => ctx.out.ok(),
            SetReplies::OneZero => ctx.out.int(1),
        }
    }
}

// ---- GET / SET and variants ----

/// GET key
fn get(ctx: &mut Ctx, argv: &[&[u8]]) {
    get_generic(ctx, argv[1]);
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
fn set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 3 {
        // The benchmark's hot path: no options to parse, nothing to check.
        ctx.ks.set(argv[1], Value::string(argv[2]), false);
        ctx.notify(notify::STRING, "set", argv[1]);
        return ctx.out.ok();
    }
    let Some(opts) = parse_ext(argv, OptsFor::Set) else { return ctx.syntax_error() };
    set_generic(ctx, "set", opts.flags, argv[1], argv[2], opts.expire, SetReplies::OkNull);
    if opts.flags & GET != 0 && opts.expire.is_none() && ctx.propagating() {
        // Propagated without its GET, as Redis does.
        let rest: Vec<&[u8]> =
            argv.iter().copied().filter(|a| !a.eq_ignore_ascii_case(b"get")).collect();
        ctx.propagate_as(&rest);
    }
}

/// SETNX key value
fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    set_generic(ctx, "setnx", NX, argv[1], argv[2], None, SetReplies::OneZero);
}

/// SETEX key seconds value
fn setex(ctx: &mut Ctx, argv: &[&[u8]]) {
    set_generic(ctx, "setex", EX, argv[1], argv[3], Some(argv[2]), SetReplies::OkNull);
}

/// PSETEX key milliseconds value
fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) {
    set_generic(ctx, "psetex", PX, argv[1], argv[3], Some(argv[2]), SetReplies::OkNull);
}

/// GETSET key value
fn getset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if get_generic(ctx, argv[1]) == Read::WrongType {
        return;
    }
    ctx.ks.set(argv[1], Value::string(argv[2]), false);
    ctx.notify(notify::STRING, "set", argv[1]);
    ctx.propagate_as(&[b"SET", argv[1], argv[2]]);
}

/// GETDEL key
fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    if get_generic(ctx, argv[1]) == Read::Found && ctx.ks.remove(argv[1]).is_some() {
        ctx.notify(notify::GENERIC, "del", argv[1]);
        ctx.propagate_as(&[b"DEL", argv[1]]);
    }
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]
fn getex(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(opts) = parse_ext(argv, OptsFor::GetEx) else { return ctx.syntax_error() };
    let key = argv[1];
    let now = ctx.ks.now;
    // The expire is validated only once the key is known to hold a string, as in Redis.
    let when = opts.expire.map(|arg| expire_at(arg, opts.flags, now));
    let mut tmp = itoa::Buffer::new();
    let when = match ctx.ks.get(key) {
        None => return ctx.out.null(),
        Some(v) => match (v.str_bytes(&mut tmp), when) {
            (None, _) => return ctx.out.error(errors::WRONGTYPE),
            (Some(_), Some(Err(e))) => return reply_bad_expire(ctx, e, "getex"),
            (Some(b), when) => {
                ctx.out.bulk(b);
                when.and_then(Result::ok)
            }
        },
    };
    match when {
        // An absolute time already past deletes the key, as an expire would.
        Some(t) if opts.flags & (EXAT | PXAT) != 0 && t <= now && !ctx.ks.loading => {
            ctx.ks.remove(key);
            ctx.notify(notify::GENERIC, "del", key);
            let lazy = &ctx.server.store.tunables.lazy_expire;
            let del: &[u8] = if lazy.load(std::sync::atomic::Ordering::Relaxed) {
                b"UNLINK"
            } else {
                b"DEL"
            };
            ctx.propagate_as(&[del, key]);
        }
        Some(t) => {
            ctx.ks.set_expire(key, Some(t));
            ctx.notify(notify::GENERIC, "expire", key);
            ctx.propagate_as(&[b"PEXPIREAT", key, itoa::Buffer::new().format(t).as_bytes()]);
        }
        // PERSIST on a key without a TTL changes nothing (and dirties nothing).
        None if opts.flags & PERSIST != 0 && ctx.ks.expire_of(key).flatten().is_some() => {
            ctx.ks.set_expire(key, None);
            ctx.notify(notify::GENERIC, "persist", key);
            ctx.propagate_as(&[b"PERSIST", key]);
        }
        None => {}
    }
}

// ---- multi-key ----

/// MGET key [key ...]
fn mget(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.array(argv.len() - 1);
    let mut tmp = itoa::Buffer::new();
    for key in &argv[1..] {
        // Keys of other types read as null here rather than WRONGTYPE.
        match ctx.ks.get(key).and_then(|v| v.str_bytes(&mut tmp)) {
            Some(b) => ctx.out.bulk(b),
            None => ctx.out.null(),
        }
    }
}

/// Stores every key/value pair of argv[1..]; with `nx`, nothing at all when any key exists.
fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], name: &str, nx: bool) {
    if argv.len().is_multiple_of(2) {
        return ctx.out.error(&errors::wrong_arity(name));
    }
    if nx {
        for pair in argv[1..].chunks_exact(2) {
            if ctx.ks.get_mut(pair[0]).is_some() {
                return ctx.out.int(0);
            }
        }
    }
    for pair in argv[1..].chunks_exact(2) {
        ctx.ks.set(pair[0], Value::string(pair[1]), false);
        ctx.notify(notify::STRING, "set", pair[0]);
    }
    if nx { ctx.out.int(1) } else { ctx.out.ok() }
}

/// MSET key value [key value ...]
fn mset(ctx: &mut Ctx, argv: &[&[u8]]) {
    mset_generic(ctx, argv, "mset", false);
}

/// MSETNX key value [key value ...]
fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    mset_generic(ctx, argv, "msetnx", true);
}

// ---- in-place edits and ranges ----

/// APPEND key value
fn append(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, add) = (argv[1], argv[2]);
    let Some(cur_len) = ctx.ks.get_mut(key).map(|v| v.str_len()) else {
        // A new key is stored as SET would store it (possibly int-encoded).
        ctx.ks.set(key, Value::string(add), false);
        ctx.notify(notify::STRING, "append", key);
        return ctx.out.int(add.len() as i64);
    };
    let Some(cur_len) = cur_len else { return ctx.out.error(errors::WRONGTYPE) };
    if !length_ok(ctx, cur_len as i64, add.len() as i64) {
        return ctx.out.error(errors::STRING_TOO_LONG);
    }
    let Some(s) = ctx.ks.get_mut(key).and_then(Value::make_raw_mut) else {
        return ctx.out.error(errors::WRONGTYPE);
    };
    s.extend_from_slice(add);
    let len = s.len();
    ctx.ks.dirty += 1;
    ctx.notify(notify::STRING, "append", key);
    ctx.out.int(len as i64);
}

/// SETRANGE key offset value
fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (key, patch) = (argv[1], argv[3]);
    let Some(offset) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if offset < 0 {
        return ctx.out.error(errors::OFFSET_OUT_OF_RANGE);
    }
    let cur_len = match ctx.ks.get_mut(key) {
        None => None,
        Some(v) => match v.str_len() {
            Some(n) => Some(n),
            None => return ctx.out.error(errors::WRONGTYPE),
        },
    };
    if patch.is_empty() {
        // Nothing to write: no key is created and an existing one keeps its encoding.
        return ctx.out.int(cur_len.unwrap_or(0) as i64);
    }
    if !length_ok(ctx, offset, patch.len() as i64) {
        return ctx.out.error(errors::STRING_TOO_LONG);
    }
    // Both fit in proto-max-bulk-len (an i64), so these conversions and the sum are exact.
    let (start, end) = (offset as usize, offset as usize + patch.len());
    let len = match cur_len {
        None => {
            let mut s = ThinVec::with_capacity(end);
            s.resize(start, 0);
            s.extend_from_slice(patch);
            ctx.ks.set(key, Value::Raw(s), false);
            ctx.notify(notify::STRING, "setrange", key);
            end
        }
        Some(_) => {
            let Some(s) = ctx.ks.get_mut(key).and_then(Value::make_raw_mut) else {
                return ctx.out.error(errors::WRONGTYPE);
            };
            if s.len() < end {
                s.resize(end, 0);
            }
            s[start..end].copy_from_slice(patch);
            let len = s.len();
            ctx.ks.dirty += 1;
            ctx.notify(notify::STRING, "setrange", key);
            len
        }
    };
    ctx.out.int(len as i64);
}

/// GETRANGE key start end (and SUBSTR key start end)
fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(start) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let Some(end) = parse_i64_strict(argv[3]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let mut tmp = itoa::Buffer::new();
    let s = match ctx.ks.get(argv[1]) {
        None => return ctx.out.bulk(b""),
        Some(v) => match v.str_bytes(&mut tmp) {
            Some(s) => s,
            None => return ctx.out.error(errors::WRONGTYPE),
        },
    };
    match substr_range(s.len(), start, end) {
        Some((a, b)) => ctx.out.bulk(&s[a..=b]),
        None => ctx.out.bulk(b""),
    }
}

/// Returns the inclusive byte range GETRANGE answers for a string of `len` bytes, negative
/// indexes counting from the end and both ends clamped to the string; `None` when empty.
fn substr_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let n = len as i64;
    let start = if start < 0 { n + start } else { start }.max(0);
    let end = if end < 0 { n + end } else { end }.max(0).min(n - 1);
    if len == 0 || start > end { None } else { Some((start as usize, end as usize)) }
}

/// STRLEN key
fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]).map(Value::str_len) {
        None => ctx.out.int(0),
        Some(Some(n)) => ctx.out.int(n as i64),
        Some(None) => ctx.out.error(errors::WRONGTYPE),
    }
}

// ---- counters ----

/// Adds `by` to the integer at `key` (0 when missing) and replies the result. An
/// int-encoded value is updated in place, without allocating.
fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) {
    let new = match ctx.ks.get_mut(key) {
        Some(v) => {
            let cur = match v {
                Value::Int(n) => *n,
                _ => {
                    let mut tmp = itoa::Buffer::new();
                    let Some(b) = v.str_bytes(&mut tmp) else {
                        return ctx.out.error(errors::WRONGTYPE);
                    };
                    let Some(n) = parse_i64_strict(b) else {
                        return ctx.out.error(errors::NOT_INTEGER);
                    };
                    n
                }
            };
            let Some(new) = cur.checked_add(by) else {
                return ctx.out.error(errors::INCR_OVERFLOW);
            };
            match v {
                Value::Int(n) => *n = new,
                _ => *v = Value::Int(new),
            }
            ctx.ks.dirty += 1;
            new
        }
        None => {
            ctx.ks.set(key, Value::Int(by), false);
            by
        }
    };
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(new);
}

/// INCR key
fn incr(ctx: &mut Ctx, argv: &[&[u8]]) {
    incr_decr(ctx, argv[1], 1);
}

/// DECR key
fn decr(ctx: &mut Ctx, argv: &[&[u8]]) {
    incr_decr(ctx, argv[1], -1);
}

/// INCRBY key increment
fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(by) = parse_i64_strict(argv[2]) else { return ctx.out.error(errors::NOT_INTEGER) };
    incr_decr(ctx, argv[1], by);
}

/// DECRBY key decrement
fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(by) = parse_i64_strict(argv[2]) else { return ctx.out.error(errors::NOT_INTEGER) };
    // The negation of i64::MIN does not exist.
    let Some(by) = by.checked_neg() else { return ctx.out.error(errors::DECR_OVERFLOW) };
    incr_decr(ctx, argv[1], by);
}

/// INCRBYFLOAT key increment
fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let cur = match ctx.ks.get_mut(key) {
        None => LongDouble::from_i64(0),
        Some(Value::Int(n)) => LongDouble::from_i64(*n),
        Some(v) => {
            let mut tmp = itoa::Buffer::new();
            let Some(b) = v.str_bytes(&mut tmp) else {
                return ctx.out.error(errors::WRONGTYPE);
            };
            let Some(x) = LongDouble::parse(b) else { return ctx.out.error(errors::NOT_FLOAT) };
            x
        }
    };
    let Some(by) = LongDouble::parse(argv[2]) else { return ctx.out.error(errors::NOT_FLOAT) };
    let Some(sum) = cur.checked_add(&by) else { return ctx.out.error(errors::INCR_NAN) };
    let mut buf = [0u8; long_double::MAX_CHARS];
    let text = sum.format_human(&mut buf);
    // Stored as text, never int-encoded (Redis's createStringObjectFromLongDouble); an
    // existing key keeps its TTL.
    let value = Value::bytes(text, false);
    match ctx.ks.get_mut(key) {
        Some(v) => {
            *v = value;
            ctx.ks.dirty += 1;
        }
        None => ctx.ks.set(key, value, false),
    }
    ctx.notify(notify::STRING, "incrbyfloat", key);
    // Propagated as the value it produced, so replaying it cannot round differently.
    ctx.propagate_as(&[b"SET", key, text, b"KEEPTTL"]);
    ctx.out.bulk(text);
}

// ---- LCS ----

/// A common run found by LCS IDX: inclusive ranges in the first and second string.
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

/// The longest common subsequence of `a` and `b`, by the classic dynamic-programming table
/// (`table[i * (b.len() + 1) + j]` = LCS length of `a[..i]` and `b[..j]`, which the caller
/// allocated zeroed). Walks the table back from the end to build the subsequence (when
/// `want_string`) and the runs of consecutive matches of at least `min_len` bytes, last run
/// first (when `want_matches`). Returns (length, subsequence, runs).
fn lcs_compute(
    a: &[u8],
    b: &[u8],
    table: &mut [u32],
    want_string: bool,
    want_matches: bool,
    min_len: u64,
) -> (u32, Vec<u8>, Vec<Match>) {
    let w = b.len() + 1;
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[a.len() * w + b.len()];
    let mut out = Vec::new();
    let mut runs = Vec::new();
    if !(want_string || want_matches) {
        return (total, out, runs);
    }
    if want_string {
        out = vec![0u8; total as usize];
    }
    let (mut i, mut j, mut k) = (a.len(), b.len(), total as usize);
    // The run being extended backwards: (a_start, a_end, b_start, b_end).
    let mut run: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && j > 0 {
        let mut close = false;
        if a[i - 1] == b[j - 1] {
            if want_string {
                out[k - 1] = a[i - 1];
            }
            match &mut run {
                None => run = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => close = true,
            }
            // A run touching the start of either string cannot grow further.
            if run.is_some_and(|r| r.0 == 0 || r.2 == 0) {
                close = true;
            }
            k -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            close = run.is_some();
        }
        if close && let Some((a0, a1, b0, b1)) = run.take() {
            let len = (a1 - a0 + 1) as u64;
            if want_matches && (min_len == 0 || len >= min_len) {
                runs.push(Match { a: (a0, a1), b: (b0, b1) });
            }
        }
    }
    (total, out, runs)
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx, argv: &[&[u8]]) {
    // Both keys are read (and counted) before anything is checked, as in Redis.
    let a = ctx.ks.get(argv[1]).map(Value::to_vec);
    let b = ctx.ks.get(argv[2]).map(Value::to_vec);
    let (a, b) = match (a, b) {
        (Some(None), _) | (_, Some(None)) => return ctx.out.error(errors::LCS_NOT_STRINGS),
        (a, b) => (a.flatten().unwrap_or_default(), b.flatten().unwrap_or_default()),
    };
    let (mut get_len, mut get_idx, mut with_len, mut min_len) = (false, false, false, 0u64);
    let mut j = 3;
    while j < argv.len() {
        let opt = c_str(argv[j]);
        if opt.eq_ignore_ascii_case(b"idx") {
            get_idx = true;
        } else if opt.eq_ignore_ascii_case(b"len") {
            get_len = true;
        } else if opt.eq_ignore_ascii_case(b"withmatchlen") {
            with_len = true;
        } else if opt.eq_ignore_ascii_case(b"minmatchlen") && j + 1 < argv.len() {
            let Some(n) = parse_i64_strict(argv[j + 1]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            min_len = n.max(0) as u64;
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    if get_len && get_idx {
        return ctx.out.error(errors::LCS_LEN_AND_IDX);
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return ctx.out.error(errors::LCS_TOO_LONG);
    }
    // The table is transient but can be huge; Redis caps it at proto-max-bulk-len bytes.
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let max = ctx.server.config.read().proto_max_bulk_len;
    if cells.saturating_mul(4) > max.max(0) as u64 {
        return ctx.out.error(errors::LCS_TABLE_TOO_BIG);
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return ctx.out.error(errors::LCS_ALLOC_FAILED);
    }
    table.resize(cells as usize, 0);
    let want_string = !get_len && !get_idx;
    let (total, text, runs) = lcs_compute(&a, &b, &mut table, want_string, get_idx, min_len);
    if get_idx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(runs.len());
        for m in &runs {
            ctx.out.array(if with_len { 3 } else { 2 });
            ctx.out.array(2);
            ctx.out.int(m.a.0 as i64);
            ctx.out.int(m.a.1 as i64);
            ctx.out.array(2);
            ctx.out.int(m.b.0 as i64);
            ctx.out.int(m.b.1 as i64);
            if with_len {
                ctx.out.int((m.a.1 - m.a.0 + 1) as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else if get_len {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&text);
    }
}

// ---- table ----

const KEY1: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const KEYS_ALL: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };
const KEYS_PAIRS: KeySpec = KeySpec::Range { first: 1, last: -1, step: 2 };
const KEYS_TWO: KeySpec = KeySpec::Range { first: 1, last: 2, step: 1 };

const GETRANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The \
    complexity is ultimately determined by the returned length, but because creating a \
    substring from an existing string is very cheap, it can be considered O(1) for small \
    strings.";

pub const COMMANDS: &[Command] = &[
    Command {
        keys: KEY1,
        group: "string",
        summary: "Get the value of a key",
        acl: &["string"],
        ..Command::new("get", 2, READONLY | FAST, get)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Set the string value of a key",
        acl: &["string"],
        ..Command::new("set", -3, WRITE | DENYOOM, set)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Set the value of a key, only if the key does not exist",
        acl: &["string"],
        ..Command::new("setnx", 3, WRITE | DENYOOM | FAST, setnx)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.0.0",
        summary: "Set the value and expiration of a key",
        acl: &["string"],
        ..Command::new("setex", 4, WRITE | DENYOOM, setex)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.6.0",
        summary: "Set the value and expiration in milliseconds of a key",
        acl: &["string"],
        ..Command::new("psetex", 4, WRITE | DENYOOM, psetex)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Set the string value of a key and return its old value",
        acl: &["string"],
        ..Command::new("getset", 3, WRITE | DENYOOM | FAST, getset)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "6.2.0",
        summary: "Get the value of a key and delete the key",
        acl: &["string"],
        ..Command::new("getdel", 2, WRITE | FAST, getdel)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "6.2.0",
        summary: "Get the value of a key and optionally set its expiration",
        acl: &["string"],
        ..Command::new("getex", -2, WRITE | FAST, getex)
    },
    Command {
        keys: KEYS_ALL,
        group: "string",
        summary: "Get the values of all the given keys",
        complexity: "O(N) where N is the number of keys to retrieve.",
        acl: &["string"],
        ..Command::new("mget", -2, READONLY | FAST, mget)
    },
    Command {
        keys: KEYS_PAIRS,
        group: "string",
        since: "1.0.1",
        summary: "Set multiple keys to multiple values",
        complexity: "O(N) where N is the number of keys to set.",
        acl: &["string"],
        ..Command::new("mset", -3, WRITE | DENYOOM, mset)
    },
    Command {
        keys: KEYS_PAIRS,
        group: "string",
        since: "1.0.1",
        summary: "Set multiple keys to multiple values, only if none of the keys exist",
        complexity: "O(N) where N is the number of keys to set.",
        acl: &["string"],
        ..Command::new("msetnx", -3, WRITE | DENYOOM, msetnx)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.0.0",
        summary: "Append a value to a key",
        complexity: "O(1). The amortized time complexity is O(1) assuming the appended value \
            is small and the already present value is of any size, since the dynamic string \
            library used by Redis will double the free space available on every reallocation.",
        acl: &["string"],
        ..Command::new("append", 3, WRITE | DENYOOM | FAST, append)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.2.0",
        summary: "Get the length of the value stored in a key",
        acl: &["string"],
        ..Command::new("strlen", 2, READONLY | FAST, strlen)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Increment the integer value of a key by one",
        acl: &["string"],
        ..Command::new("incr", 2, WRITE | DENYOOM | FAST, incr)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Decrement the integer value of a key by one",
        acl: &["string"],
        ..Command::new("decr", 2, WRITE | DENYOOM | FAST, decr)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Increment the integer value of a key by the given amount",
        acl: &["string"],
        ..Command::new("incrby", 3, WRITE | DENYOOM | FAST, incrby)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Decrement the integer value of a key by the given number",
        acl: &["string"],
        ..Command::new("decrby", 3, WRITE | DENYOOM | FAST, decrby)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.6.0",
        summary: "Increment the float value of a key by the given amount",
        acl: &["string"],
        ..Command::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, incrbyfloat)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.4.0",
        summary: "Get a substring of the string stored at a key",
        complexity: GETRANGE_COMPLEXITY,
        acl: &["string"],
        ..Command::new("getrange", 4, READONLY, getrange)
    },
    Command {
        keys: KEY1,
        group: "string",
        since: "2.2.0",
        summary: "Overwrite part of a string at key starting at the specified offset",
        complexity: "O(1), not counting the time taken to copy the new string in place. \
            Usually, this string is very small so the amortized complexity is O(1). Otherwise, \
            complexity is O(M) with M being the length of the value argument.",
        acl: &["string"],
        ..Command::new("setrange", 4, WRITE | DENYOOM, setrange)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Get a substring of the string stored at a key",
        complexity: GETRANGE_COMPLEXITY,
        acl: &["string"],
        ..Command::new("substr", 4, READONLY, getrange)
    },
    Command {
        keys: KEYS_TWO,
        group: "string",
        since: "7.0.0",
        summary: "Find longest common substring",
        complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        acl: &["string"],
        ..Command::new("lcs", -3, READONLY, lcs)
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::testing::{Harness, bulk, err};
    use crate::config::Config;
    use crate::protocol::reply::Value as R;
    use std::sync::atomic::Ordering;

    fn ok() -> R {
        R::Simple("OK".into())
    }

    fn encoding(h: &Harness, key: &str) -> &'static str {
        let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
        ks.peek(key.as_bytes()).map(|e| e.value().encoding_name()).unwrap_or("none")
    }

    /// Returns the key's expire time: `None` when missing, `Some(None)` without a TTL.
    fn expire(h: &Harness, key: &str) -> Option<Option<i64>> {
        let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
        ks.expire_of(key.as_bytes())
    }

    fn dirty(h: &Harness) -> u64 {
        h.server.stats.dirty.load(Ordering::Relaxed)
    }

    fn int_pairs(v: &[(i64, i64)]) -> R {
        R::Array(v.iter().map(|&(a, b)| R::Array(vec![R::Int(a), R::Int(b)])).collect())
    }

    #[test]
    fn set_options_and_their_conflicts() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SET", "k", "1", "nx"]), ok());
        assert_eq!(h.run(&["SET", "k", "2", "NX"]), R::Null);
        assert_eq!(h.run(&["SET", "nokey", "2", "xx"]), R::Null);
        assert_eq!(h.run(&["SET", "k", "2", "xx"]), ok());
        assert_eq!(h.run(&["SET", "k", "3", "get"]), bulk("2"));
        assert_eq!(h.run(&["SET", "k", "4", "get", "nx"]), bulk("3"));
        assert_eq!(h.run(&["GET", "k"]), bulk("3"));
        assert_eq!(h.run(&["SET", "new", "v", "get", "xx"]), R::Null);
        assert_eq!(h.run(&["GET", "new"]), R::Null);
        for bad in [
            &["SET", "k", "v", "xx", "nx"][..],
            &["SET", "k", "v", "nx", "xx"],
            &["SET", "k", "v", "ex", "10", "px", "100"],
            &["SET", "k", "v", "ex"],
            &["SET", "k", "v", "keepttl", "ex", "10"],
            &["SET", "k", "v", "exat", "10", "keepttl"],
            &["SET", "k", "v", "persist"],
            &["SET", "k", "v", "nxx"],
        ] {
            assert_eq!(h.run(bad), err(errors::SYNTAX), "{bad:?}");
        }
        // A repeated expire keyword is allowed; the last value wins.
        assert_eq!(h.run(&["SET", "k", "v", "ex", "10", "ex", "20"]), ok());
        let t = expire(&h, "k").unwrap().unwrap() - crate::util::now_ms();
        assert!((15_000..=20_000).contains(&t), "{t}");
        // Options are compared as C strings: anything after a NUL byte is ignored.
        assert_eq!(h.run_bytes(&[b"SET", b"k", b"w", b"nx\0junk"]), R::Null);
    }

    #[test]
    fn set_expire_validation() {
        let mut h = Harness::new();
        let invalid = err("ERR invalid expire time in 'set' command");
        for args in [
            ["ex", "0"],
            ["ex", "-1"],
            ["px", "0"],
            ["ex", "9223372036854775807"],
            ["ex", "9223372036854776"],
            ["px", "9223372036854775807"],
            ["exat", "-5"],
        ] {
            assert_eq!(h.run(&["SET", "k", "v", args[0], args[1]]), invalid, "{args:?}");
        }
        assert_eq!(h.run(&["SET", "k", "v", "ex", "abc"]), err(errors::NOT_INTEGER));
        assert_eq!(h.run(&["SET", "k", "v", "ex", "1.5"]), err(errors::NOT_INTEGER));
        assert_eq!(h.run(&["EXISTS", "k"]), R::Int(0));
        assert_eq!(h.run(&["SET", "k", "v", "pxat", "9223372036854775807"]), ok());
        assert_eq!(expire(&h, "k"), Some(Some(i64::MAX)));
        assert_eq!(
            h.run(&["SETEX", "k", "0", "v"]),
            err("ERR invalid expire time in 'setex' command")
        );
        assert_eq!(
            h.run(&["PSETEX", "k", "-3", "v"]),
            err("ERR invalid expire time in 'psetex' command")
        );
    }

    #[test]
    fn set_ttl_handling() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SET", "k", "v", "px", "100000"]), ok());
        let t = expire(&h, "k").unwrap().unwrap();
        assert_eq!(h.run(&["SET", "k", "v2", "keepttl"]), ok());
        assert_eq!(expire(&h, "k"), Some(Some(t)));
        assert_eq!(h.run(&["SET", "k", "v3"]), ok());
        assert_eq!(expire(&h, "k"), Some(None));
        assert_eq!(h.run(&["SETEX", "k", "100", "v"]), ok());
        assert!(expire(&h, "k").unwrap().is_some());
        assert_eq!(h.run(&["GETSET", "k", "w"]), bulk("v"));
        assert_eq!(expire(&h, "k"), Some(None), "GETSET clears the TTL");
        // An absolute time in the past stores a key that is already gone.
        assert_eq!(h.run(&["SET", "k", "v", "exat", "1"]), ok());
        assert_eq!(h.run(&["GET", "k"]), R::Null);
    }

    #[test]
    fn setnx_getset_getdel() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SETNX", "k", "a"]), R::Int(1));
        assert_eq!(h.run(&["SETNX", "k", "b"]), R::Int(0));
        assert_eq!(h.run(&["GET", "k"]), bulk("a"));
        assert_eq!(h.run(&["GETSET", "n", "x"]), R::Null);
        assert_eq!(h.run(&["GET", "n"]), bulk("x"));
        assert_eq!(h.run(&["GETDEL", "k"]), bulk("a"));
        assert_eq!(h.run(&["GETDEL", "k"]), R::Null);
        assert_eq!(h.run(&["EXISTS", "k"]), R::Int(0));
    }

    #[test]
    fn getex_options() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["GETEX", "nokey", "ex", "-1"]), R::Null, "no key, no expire check");
        h.run(&["SET", "k", "v"]);
        assert_eq!(h.run(&["GETEX", "k"]), bulk("v"));
        assert_eq!(expire(&h, "k"), Some(None));
        assert_eq!(
            h.run(&["GETEX", "k", "ex", "-1"]),
            err("ERR invalid expire time in 'getex' command")
        );
        assert_eq!(h.run(&["GETEX", "k", "ex", "x"]), err(errors::NOT_INTEGER));
        for bad in [
            &["GETEX", "k", "nx"][..],
            &["GETEX", "k", "keepttl"],
            &["GETEX", "k", "persist", "ex", "1"],
            &["GETEX", "k", "ex", "1", "persist"],
            &["GETEX", "k", "px"],
        ] {
            assert_eq!(h.run(bad), err(errors::SYNTAX), "{bad:?}");
        }
        assert_eq!(h.run(&["GETEX", "k", "ex", "100"]), bulk("v"));
        let t = expire(&h, "k").unwrap().unwrap() - crate::util::now_ms();
        assert!((95_000..=100_000).contains(&t), "{t}");
        let before = dirty(&h);
        assert_eq!(h.run(&["GETEX", "k", "persist"]), bulk("v"));
        assert_eq!(expire(&h, "k"), Some(None));
        assert_eq!(dirty(&h), before + 1);
        assert_eq!(h.run(&["GETEX", "k", "persist"]), bulk("v"));
        assert_eq!(dirty(&h), before + 1, "PERSIST without a TTL changes nothing");
        let at = (crate::util::now_ms() + 50_000).to_string();
        assert_eq!(h.run(&["GETEX", "k", "pxat", &at]), bulk("v"));
        assert_eq!(expire(&h, "k"), Some(Some(at.parse().unwrap())));
        // A past absolute time deletes the key after replying its value.
        assert_eq!(h.run(&["GETEX", "k", "exat", "1"]), bulk("v"));
        assert_eq!(h.run(&["EXISTS", "k"]), R::Int(0));
    }

    #[test]
    fn mget_mset_msetnx() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["MSET", "a", "1", "b", "2"]), ok());
        assert_eq!(
            h.run(&["MGET", "a", "nokey", "b"]),
            R::Array(vec![bulk("1"), R::Null, bulk("2")])
        );
        assert_eq!(
            h.run(&["MSET", "a", "1", "b"]),
            err("ERR wrong number of arguments for 'mset' command")
        );
        assert_eq!(
            h.run(&["MSETNX", "x", "1", "y"]),
            err("ERR wrong number of arguments for 'msetnx' command")
        );
        assert_eq!(h.run(&["MSETNX", "c", "3", "a", "9"]), R::Int(0));
        assert_eq!(h.run(&["EXISTS", "c"]), R::Int(0));
        assert_eq!(h.run(&["MSETNX", "c", "3", "c", "4"]), R::Int(1));
        assert_eq!(h.run(&["GET", "c"]), bulk("4"));
        let before = dirty(&h);
        h.run(&["MSET", "a", "1", "b", "2", "a", "3"]);
        assert_eq!(dirty(&h), before + 3);
        assert_eq!(h.run(&["GET", "a"]), bulk("3"));
    }

    #[test]
    fn encodings_follow_redis() {
        let mut h = Harness::new();
        h.run(&["SET", "k", "1234"]);
        assert_eq!(encoding(&h, "k"), "int");
        assert_eq!(h.run(&["SETRANGE", "k", "0", ""]), R::Int(4));
        assert_eq!(encoding(&h, "k"), "int", "an empty SETRANGE leaves the value alone");
        assert_eq!(h.run(&["SETRANGE", "k", "0", "2"]), R::Int(4));
        assert_eq!(encoding(&h, "k"), "raw");
        assert_eq!(h.run(&["GET", "k"]), bulk("2234"));
        assert_eq!(h.run(&["INCR", "k"]), R::Int(2235));
        assert_eq!(encoding(&h, "k"), "int");
        assert_eq!(h.run(&["APPEND", "k", ""]), R::Int(4));
        assert_eq!(encoding(&h, "k"), "raw", "APPEND unshares even when adding nothing");
        assert_eq!(h.run(&["APPEND", "new", "42"]), R::Int(2));
        assert_eq!(encoding(&h, "new"), "int", "APPEND to nothing stores like SET");
        h.run(&["SET", "f", "1.5"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "1.5"]), bulk("3"));
        assert_eq!(encoding(&h, "f"), "embstr", "INCRBYFLOAT stores text");
        h.run(&["SET", "s", &"x".repeat(44)]);
        assert_eq!(encoding(&h, "s"), "embstr");
        h.run(&["SET", "s", &"x".repeat(45)]);
        assert_eq!(encoding(&h, "s"), "raw");
        assert_eq!(h.run(&["SETRANGE", "sr", "0", "ab"]), R::Int(2));
        assert_eq!(encoding(&h, "sr"), "raw");
    }

    #[test]
    fn append_and_strlen() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["APPEND", "k", "hello"]), R::Int(5));
        assert_eq!(h.run(&["APPEND", "k", " world"]), R::Int(11));
        assert_eq!(h.run(&["GET", "k"]), bulk("hello world"));
        assert_eq!(h.run(&["STRLEN", "k"]), R::Int(11));
        assert_eq!(h.run(&["STRLEN", "nokey"]), R::Int(0));
        h.run(&["SET", "n", "-555"]);
        assert_eq!(h.run(&["STRLEN", "n"]), R::Int(4));
        assert_eq!(h.run(&["APPEND", "n", "1"]), R::Int(5));
        assert_eq!(h.run(&["GET", "n"]), bulk("-5551"));
    }

    #[test]
    fn length_limit_follows_live_config() {
        let cfg = Config { proto_max_bulk_len: 10, ..Config::default() };
        let mut h = Harness::with_config(cfg);
        h.run(&["SET", "k", "12345"]);
        assert_eq!(h.run(&["APPEND", "k", "123456"]), err(errors::STRING_TOO_LONG));
        assert_eq!(h.run(&["APPEND", "k", "12345"]), R::Int(10));
        assert_eq!(h.run(&["SETRANGE", "k", "10", "x"]), err(errors::STRING_TOO_LONG));
        assert_eq!(h.run(&["SETRANGE", "new", "9", "xy"]), err(errors::STRING_TOO_LONG));
        assert_eq!(h.run(&["EXISTS", "new"]), R::Int(0));
        h.server.config.write().proto_max_bulk_len = 512 * 1024 * 1024;
        assert_eq!(h.run(&["APPEND", "k", "x"]), R::Int(11));
    }

    #[test]
    fn setrange_cases() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SETRANGE", "k", "0", ""]), R::Int(0));
        assert_eq!(h.run(&["EXISTS", "k"]), R::Int(0));
        assert_eq!(h.run(&["SETRANGE", "k", "1", "foo"]), R::Int(4));
        assert_eq!(h.run(&["GET", "k"]), R::Bulk(b"\0foo".to_vec()));
        h.run(&["SET", "k", "foo"]);
        assert_eq!(h.run(&["SETRANGE", "k", "1", "b"]), R::Int(3));
        assert_eq!(h.run(&["GET", "k"]), bulk("fbo"));
        assert_eq!(h.run(&["SETRANGE", "k", "4", "bar"]), R::Int(7));
        assert_eq!(h.run(&["GET", "k"]), R::Bulk(b"fbo\0bar".to_vec()));
        assert_eq!(h.run(&["SETRANGE", "k", "-1", "x"]), err(errors::OFFSET_OUT_OF_RANGE));
        assert_eq!(h.run(&["SETRANGE", "k", "x", "x"]), err(errors::NOT_INTEGER));
        for off in ["536870908", "9223372036854775807", "2147483647"] {
            assert_eq!(h.run(&["SETRANGE", "k", off, "world"]), err(errors::STRING_TOO_LONG));
        }
        let before = dirty(&h);
        h.run(&["SETRANGE", "k", "0", ""]);
        assert_eq!(dirty(&h), before);
        h.run(&["SETRANGE", "k", "0", "F"]);
        assert_eq!(dirty(&h), before + 1);
    }

    #[test]
    fn getrange_cases() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["GETRANGE", "nokey", "0", "-1"]), bulk(""));
        h.run(&["SET", "k", "Hello World"]);
        let cases = [
            ("0", "3", "Hell"),
            ("0", "-1", "Hello World"),
            ("-4", "-1", "orld"),
            ("5", "3", ""),
            ("5", "5000", " World"),
            ("-5000", "10000", "Hello World"),
            ("-1", "-5", ""),
            ("0", "4294967297", "Hello World"),
            ("-9223372036854775808", "9223372036854775807", "Hello World"),
        ];
        for (a, b, want) in cases {
            assert_eq!(h.run(&["GETRANGE", "k", a, b]), bulk(want), "{a} {b}");
            assert_eq!(h.run(&["SUBSTR", "k", a, b]), bulk(want), "{a} {b}");
        }
        assert_eq!(h.run(&["GETRANGE", "k", "a", "1"]), err(errors::NOT_INTEGER));
        h.run(&["SET", "i", "1234"]);
        assert_eq!(h.run(&["GETRANGE", "i", "-3", "-1"]), bulk("234"));
        h.run(&["SET", "e", ""]);
        assert_eq!(h.run(&["GETRANGE", "e", "0", "-1"]), bulk(""));
        assert_eq!(substr_range(0, -1, 0), None);
        assert_eq!(substr_range(3, 0, 0), Some((0, 0)));
    }

    #[test]
    fn incr_family() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["INCR", "n"]), R::Int(1));
        assert_eq!(h.run(&["INCRBY", "n", "17179869184"]), R::Int(17179869185));
        assert_eq!(h.run(&["DECRBY", "n", "17179869186"]), R::Int(-1));
        assert_eq!(h.run(&["DECR", "n"]), R::Int(-2));
        assert_eq!(h.run(&["INCRBY", "n", "abc"]), err(errors::NOT_INTEGER));
        assert_eq!(h.run(&["INCRBY", "n", "9223372036854775808"]), err(errors::NOT_INTEGER));
        assert_eq!(h.run(&["DECRBY", "n", "-9223372036854775808"]), err(errors::DECR_OVERFLOW));
        h.run(&["SET", "n", "9223372036854775807"]);
        assert_eq!(h.run(&["INCR", "n"]), err(errors::INCR_OVERFLOW));
        h.run(&["SET", "n", "-9223372036854775808"]);
        assert_eq!(h.run(&["DECR", "n"]), err(errors::INCR_OVERFLOW));
        for bad in ["    11", "11    ", " 11 ", "011", "1.5", ""] {
            h.run(&["SET", "s", bad]);
            assert_eq!(h.run(&["INCR", "s"]), err(errors::NOT_INTEGER), "{bad:?}");
        }
        // A numeric string that is not int-encoded still counts.
        h.run(&["SETRANGE", "r", "0", "41"]);
        assert_eq!(h.run(&["INCR", "r"]), R::Int(42));
        // The TTL survives an increment.
        h.run(&["SET", "t", "5", "ex", "100"]);
        assert_eq!(h.run(&["INCR", "t"]), R::Int(6));
        assert!(expire(&h, "t").unwrap().is_some());
    }

    #[test]
    fn incr_updates_int_in_place() {
        let mut h = Harness::new();
        h.run(&["SET", "n", "20000"]);
        let addr = |h: &Harness| {
            let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
            ks.peek(b"n").map(|e| e.value() as *const Value as usize)
        };
        let before = addr(&h);
        assert_eq!(h.run(&["INCR", "n"]), R::Int(20001));
        assert_eq!(addr(&h), before);
        assert_eq!(encoding(&h, "n"), "int");
    }

    #[test]
    fn incrbyfloat_cases() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "1"]), bulk("1"));
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "0.25"]), bulk("1.25"));
        h.run(&["SET", "f", "10.5"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
        h.run(&["SET", "f", "1"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "-1.1"]), bulk("-0.1"));
        h.run(&["SET", "f", "17179869184"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "1.5"]), bulk("17179869185.5"));
        h.run(&["SET", "f", "5.0e3"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
        h.run(&["DEL", "z"]);
        h.run(&["INCRBYFLOAT", "z", &(1.0f64 / 41.0).to_string()]);
        assert_eq!(h.run(&["INCRBYFLOAT", "z", &(-1.0f64 / 41.0).to_string()]), bulk("0"));
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "abc"]), err(errors::NOT_FLOAT));
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "nan"]), err(errors::NOT_FLOAT));
        assert_eq!(h.run(&["INCRBYFLOAT", "f", "+inf"]), err(errors::INCR_NAN));
        for bad in ["    11", "11    ", " 11 "] {
            h.run(&["SET", "s", bad]);
            assert_eq!(h.run(&["INCRBYFLOAT", "s", "1.0"]), err(errors::NOT_FLOAT), "{bad:?}");
        }
        // The stored value is checked before the increment.
        assert_eq!(h.run(&["INCRBYFLOAT", "s", "abc"]), err(errors::NOT_FLOAT));
        h.run(&["SET", "s", "1"]);
        h.run(&["SETRANGE", "s", "2", "2"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "s", "1"]), err(errors::NOT_FLOAT), "embedded NUL");
        h.run(&["SET", "t", "5", "ex", "100"]);
        assert_eq!(h.run(&["INCRBYFLOAT", "t", "0.5"]), bulk("5.5"));
        assert!(expire(&h, "t").unwrap().is_some(), "the TTL survives");
    }

    const RNA1: &str = concat!(
        "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGC",
        "TGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACT",
        "CGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG",
    );
    const RNA2: &str = concat!(
        "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAA",
        "AATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGG",
        "ACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT",
    );

    #[test]
    fn lcs_string_len_and_indexes() {
        let mut h = Harness::new();
        h.run(&["SET", "a", RNA1]);
        h.run(&["SET", "b", RNA2]);
        let want = &RNA1[1..RNA1.len() - 12];
        assert_eq!(h.run(&["LCS", "a", "b"]), bulk(want));
        assert_eq!(h.run(&["LCS", "a", "b", "LEN"]), R::Int(want.len() as i64));
        let R::Array(v) = h.run(&["LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "5"])
        else {
            panic!("not an array")
        };
        assert_eq!(v.len(), 4);
        assert_eq!(v[0], bulk("matches"));
        assert_eq!(
            v[1],
            R::Array(vec![R::Array(vec![
                R::Array(vec![R::Int(1), R::Int(222)]),
                R::Array(vec![R::Int(13), R::Int(234)]),
                R::Int(222),
            ])])
        );
        assert_eq!(v[2], bulk("len"));
        assert_eq!(v[3], R::Int(227));
        h.run(&["SET", "x", "ohmytext"]);
        h.run(&["SET", "y", "mynewtext"]);
        let R::Array(v) = h.run(&["LCS", "x", "y", "IDX"]) else { panic!("not an array") };
        let R::Array(m) = &v[1] else { panic!("matches") };
        assert_eq!(m[0], int_pairs(&[(4, 7), (5, 8)]));
        assert_eq!(m[1], int_pairs(&[(2, 3), (0, 1)]));
        assert_eq!(h.run(&["LCS", "x", "nokey"]), bulk(""));
        assert_eq!(h.run(&["LCS", "x", "y", "IDX", "LEN"]), err(errors::LCS_LEN_AND_IDX));
        assert_eq!(h.run(&["LCS", "x", "y", "MINMATCHLEN"]), err(errors::SYNTAX));
        assert_eq!(h.run(&["LCS", "x", "y", "MINMATCHLEN", "z"]), err(errors::NOT_INTEGER));
    }

    #[test]
    fn lcs_idx_is_a_map_in_resp3() {
        let mut h = Harness::new();
        h.out.resp3 = true;
        h.run(&["SET", "x", "ohmytext"]);
        h.run(&["SET", "y", "mynewtext"]);
        let R::Map(m) = h.run(&["LCS", "x", "y", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"])
        else {
            panic!("not a map")
        };
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].0, bulk("matches"));
        let mut run = int_pairs(&[(4, 7), (5, 8)]);
        if let R::Array(v) = &mut run {
            v.push(R::Int(4));
        }
        assert_eq!(m[0].1, R::Array(vec![run]));
        assert_eq!(m[1], (bulk("len"), R::Int(6)));
        assert_eq!(h.run(&["GET", "nokey"]), R::Null);
    }

    #[test]
    fn lcs_table_is_capped() {
        let cfg = Config { proto_max_bulk_len: 1000, ..Config::default() };
        let mut h = Harness::with_config(cfg);
        h.run(&["SET", "a", &"a".repeat(20)]);
        h.run(&["SET", "b", &"a".repeat(20)]);
        assert_eq!(h.run(&["LCS", "a", "b", "LEN"]), err(errors::LCS_TABLE_TOO_BIG));
        h.run(&["SET", "b", &"a".repeat(5)]);
        assert_eq!(h.run(&["LCS", "a", "b", "LEN"]), R::Int(5));
    }

    #[test]
    fn dirty_counts_like_redis() {
        let mut h = Harness::new();
        let d0 = dirty(&h);
        h.run(&["SET", "k", "1"]);
        h.run(&["SET", "k", "1", "nx"]);
        h.run(&["GET", "k"]);
        h.run(&["INCR", "k"]);
        h.run(&["INCRBYFLOAT", "k", "1"]);
        h.run(&["APPEND", "k", "x"]);
        h.run(&["GETDEL", "nokey"]);
        h.run(&["SET", "k", "v", "ex", "0"]);
        assert_eq!(dirty(&h) - d0, 4);
    }
}
