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
//! which counts keyspace hits and misses; commands that write look keys up with `get_mut` /
//! `peek`, which do not.

use thin_vec::ThinVec;

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
    let found = ctx.ks.peek(key).is_some();
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
        return ctx.out.ok();
    }
    let Some(opts) = parse_ext(argv, OptsFor::Set) else { return ctx.syntax_error() };
    set_generic(ctx, "set", opts.flags, argv[1], argv[2], opts.expire, SetReplies::OkNull);
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
}

/// GETDEL key
fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    if get_generic(ctx, argv[1]) == Read::Found {
        ctx.ks.remove(argv[1]);
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
        Some(t) if opts.flags & (EXAT | PXAT) != 0 && t <= now => {
            ctx.ks.remove(key);
        }
        Some(t) => {
            ctx.ks.set_expire(key, Some(t));
        }
        None if opts.flags & PERSIST != 0 => {
            if ctx.ks.expire_of(key).flatten().is_some() {
                ctx.ks.set_expire(key, None);
            }
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
    if argv.len() % 2 == 0 {
        return ctx.out.error(&errors::wrong_arity(name));
    }
    if nx {
        for pair in argv[1..].chunks_exact(2) {
            if ctx.ks.peek(pair[0]).is_some() {
                return ctx.out.int(0);
            }
        }
    }
    for pair in argv[1..].chunks_exact(2) {
        ctx.ks.set(pair[0], Value::string(pair[1]), false);
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
    let Some(cur_len) = ctx.ks.peek(key).map(|e| e.value().str_len()) else {
        // A new key is stored as SET would store it (possibly int-encoded).
        ctx.ks.set(key, Value::string(add), false);
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
    let cur_len = match ctx.ks.peek(key) {
        None => None,
        Some(e) => match e.value().str_len() {
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
        if close {
            if let Some((a0, a1, b0, b1)) = run.take() {
                let len = (a1 - a0 + 1) as u64;
                if want_matches && (min_len == 0 || len >= min_len) {
                    runs.push(Match { a: (a0, a1), b: (b0, b1) });
                }
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
