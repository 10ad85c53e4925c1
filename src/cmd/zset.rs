//! Sorted set commands: ZADD / ZINCRBY, removal (ZREM, ZREMRANGEBY*), reads (ZCARD, ZSCORE,
//! ZMSCORE, ZRANK, ZCOUNT, ZLEXCOUNT), the ZRANGE family and ZRANGESTORE, pops (ZPOPMIN,
//! ZPOPMAX, ZMPOP), ZRANDMEMBER, the set operations (ZUNION, ZINTER, ZDIFF, their STORE forms,
//! ZINTERCARD) and ZSCAN.
//!
//! The data structure is `store::types::zset`; this file parses arguments, picks ranks and
//! writes replies, following Redis 7.0's `t_zset.c` command by command: the order in which
//! errors are checked, which lookups count keyspace hits, the RESP2/RESP3 reply shapes, and the
//! encoding of created keys (`zsetTypeCreate`, `zsetConvertToListpackIfNeeded`).
//!
//! Scores are formatted as Redis 7.0 prints doubles (`%.17g`, `inf`, `-inf`, `-0`), as bulk
//! strings in RESP2 and doubles in RESP3. Score arguments are parsed with the C library's
//! `strtod`, as Redis does, so hexadecimal floats, range errors and whitespace rules match.
//!
//! The pop work is in [`zpop_op`], which the blocking pops (BZPOPMIN & co.) call too.

use std::sync::atomic::Ordering as AtomicOrdering;

use smallvec::SmallVec;

use crate::command::table::{Arg, ArgType, KeySpecDef, doc_flags, key_flags};
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::config::notify;
use crate::protocol::errors;
use crate::protocol::reply::Reply;
use crate::store::Keyspace;
use crate::store::types::zset::{LexBound, LexRange, Limits, ScoreRange, ZSet};
use crate::store::value::Value;
use crate::util::glob::glob_match;
use crate::util::parse_i64_strict;

// ---- number parsing and formatting ----

/// Runs the C library's `strtod` over `s` (NUL-terminated copy); returns the value, how many
/// bytes it consumed, and whether it reported a range error.
fn c_strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut stack = [0u8; 128];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if s.len() < stack.len() {
        stack[..s.len()].copy_from_slice(s);
        &mut stack[..=s.len()]
    } else {
        heap.extend_from_slice(s);
        heap.push(0);
        &mut heap
    };
    let start = buf.as_ptr() as *const libc::c_char;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated; strtod reads up to the NUL and sets `end` inside it;
    // errno is the calling thread's own.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(start, &mut end);
        let erange = *libc::__errno_location() == libc::ERANGE;
        (v, end.offset_from(start) as usize, erange)
    }
}

/// Parses a score, an increment or a weight as Redis's `getDoubleFromObject`: the whole string
/// must be a number, no leading space, not NaN, no overflow nor underflow to zero.
pub(crate) fn parse_score(s: &[u8]) -> Option<f64> {
    if let Some(v) = parse_plain_int(s) {
        return Some(v);
    }
    if s.is_empty() || matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (v, used, erange) = c_strtod(s);
    if used != s.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// The fast path of [`parse_score`] for the common plain integer (`-`? and 1 to 15 digits):
/// exact in a double, so the value is what `strtod` returns (`-0` included), at a fraction of
/// its cost (about 500 instructions a call). `None` sends anything else to `strtod`.
#[inline]
fn parse_plain_int(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    // Below 10^15 < 2^53: the conversion is exact.
    let v = n as f64;
    Some(if neg { -v } else { v })
}

/// Parses one end of a score interval as Redis's `zslParseRange`: `strtod` up to the end of the
/// C string (so leading spaces and an empty string pass), not NaN; `(` makes it exclusive.
fn parse_range_end(s: &[u8]) -> Option<(f64, bool)> {
    let (s, ex) = match s.first() {
        Some(b'(') => (&s[1..], true),
        _ => (s, false),
    };
    let (v, used, _) = c_strtod(s);
    // C stops at the first NUL: the rest of the argument is not looked at.
    let c_len = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    if used != c_len || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, minex) = parse_range_end(min)?;
    let (max, maxex) = parse_range_end(max)?;
    Some(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// Parses one end of a lex interval (`-`, `+`, `[member`, `(member`).
fn parse_lex_end(s: &[u8]) -> Option<LexBound<'_>> {
    let lone = s.len() == 1 || s.get(1) == Some(&0);
    match s.first()? {
        b'+' if lone => Some(LexBound::PosInf),
        b'-' if lone => Some(LexBound::NegInf),
        b'(' => Some(LexBound::Excl(&s[1..])),
        b'[' => Some(LexBound::Incl(&s[1..])),
        _ => None,
    }
}

fn parse_lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
    Some(LexRange {
        min: parse_lex_end(min)?,
        max: parse_lex_end(max)?,
    })
}

/// Formats a score as Redis 7.0 prints doubles (`%.17g`; `inf`, `-inf`, `-0`) into `buf`.
pub(crate) fn fmt_score(v: f64, buf: &mut [u8; 32]) -> &[u8] {
    let n = if v == 0.0 {
        let s: &[u8] = if v.is_sign_negative() { b"-0" } else { b"0" };
        buf[..s.len()].copy_from_slice(s);
        s.len()
    } else if v.is_infinite() {
        let s: &[u8] = if v > 0.0 { b"inf" } else { b"-inf" };
        buf[..s.len()].copy_from_slice(s);
        s.len()
    } else if v.fract() == 0.0 && v.abs() < 4.5e15 {
        // Integers below 2^52 print the same under %.17g as in decimal.
        let mut t = itoa::Buffer::new();
        let s = t.format(v as i64).as_bytes();
        buf[..s.len()].copy_from_slice(s);
        s.len()
    } else {
        // SAFETY: %.17g of a finite double needs at most 24 bytes plus the NUL; snprintf
        // writes no more than the size it is given.
        let n = unsafe {
            libc::snprintf(
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
                c"%.17g".as_ptr(),
                v,
            )
        };
        (n.max(0) as usize).min(buf.len() - 1)
    };
    &buf[..n]
}

/// Replies a score: a double in RESP3, a bulk string in RESP2 (Redis's `addReplyDouble`).
#[inline]
pub(crate) fn reply_score(out: &mut Reply, v: f64) {
    let mut b = [0u8; 32];
    let s = fmt_score(v, &mut b);
    if out.resp3 {
        out.buf.push(b',');
        out.buf.extend_from_slice(s);
        out.buf.extend_from_slice(b"\r\n");
    } else {
        out.bulk(s);
    }
}

/// Parses a `long` argument; replies the error and returns `None` when it is not one.
fn long_arg(out: &mut Reply, arg: &[u8]) -> Option<i64> {
    let v = parse_i64_strict(arg);
    if v.is_none() {
        out.error(errors::NOT_INTEGER);
    }
    v
}

// ---- lookups ----

/// The encoding thresholds in force.
#[inline]
fn limits(ctx: &Ctx) -> Limits {
    let t = &ctx.server.store.tunables;
    Limits {
        entries: t.zset_max_listpack_entries.load(AtomicOrdering::Relaxed) as usize,
        value: t.zset_max_listpack_value.load(AtomicOrdering::Relaxed) as usize,
    }
}

/// Looks a sorted set up for reading: `Err` for another type, `Ok(None)` when missing.
#[inline]
fn read<'k>(ks: &'k mut Keyspace, key: &[u8]) -> Result<Option<&'k ZSet>, ()> {
    match ks.get(key) {
        None => Ok(None),
        Some(v) => v.as_zset().map(Some).ok_or(()),
    }
}

/// Looks a sorted set up for writing: `Err` for another type, `Ok(None)` when missing.
#[inline]
fn write<'k>(ks: &'k mut Keyspace, key: &[u8]) -> Result<Option<&'k mut ZSet>, ()> {
    match ks.get_mut(key) {
        None => Ok(None),
        Some(v) => v.as_zset_mut().map(Some).ok_or(()),
    }
}

/// Deletes a key a command just emptied. Redis's `dbDelete` there adds no change of its own
/// (the command counts the elements it removed), so neither does this.
fn delete_emptied(ks: &mut Keyspace, key: &[u8]) {
    if ks.remove(key).is_some() {
        ks.dirty -= 1;
        ks.notify(notify::GENERIC, "del", key);
    }
}

/// Stores `z` at `key` as the result of a STORE command (replacing any value and its TTL), or
/// deletes `key` when `z` is empty; replies the result's size. As Redis's store commands do.
/// `event` is the command's keyspace event (`zunionstore`, ...).
fn store_result(ctx: &mut Ctx, key: &[u8], z: ZSet, event: &'static str) {
    let n = z.len();
    if n > 0 {
        ctx.ks.set(key, Value::ZSet(Box::new(z)), false);
        ctx.notify(notify::ZSET, event, key);
    } else if ctx.ks.delete(key) {
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.out.int(n as i64);
}

/// Builds a sorted set from members in ascending order, in the encoding Redis would give it
/// (`zsetConvertToListpackIfNeeded`).
fn build_sorted(items: &[(Vec<u8>, f64)], lim: Limits) -> ZSet {
    let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSet::with_hint(items.len(), max_len, lim);
    for (m, s) in items {
        z.push(m, *s, lim);
    }
    z
}

/// Sorts (member, score) pairs into a sorted set's order.
fn sort_items(items: &mut [(Vec<u8>, f64)]) {
    items.sort_unstable_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
}

// ---- ZADD / ZINCRBY ----

const Z_NX: u8 = 1;
const Z_XX: u8 = 2;
const Z_GT: u8 = 4;
const Z_LT: u8 = 8;
const Z_CH: u8 = 16;
const Z_INCR: u8 = 32;

/// What adding one member did (Redis's `ZADD_OUT_*`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddOutcome {
    Added,
    Updated,
    /// Processed, but the score did not change.
    Same,
    /// Not processed (NX on a present member, XX on an absent one, GT/LT refused).
    Nop,
}

/// Adds or updates one member under ZADD's flags (Redis's `zsetAdd`); returns what happened
/// and the member's score now, or `Err` when an increment makes the score NaN.
fn zset_add(
    z: &mut ZSet,
    score: f64,
    member: &[u8],
    flags: u8,
    lim: Limits,
) -> Result<(AddOutcome, f64), ()> {
    // One lookup of the member: `decide` sees its current score and picks the new one.
    let mut out = Ok((AddOutcome::Nop, score));
    z.add_with(member, lim, |cur| {
        let Some(cur) = cur else {
            if flags & Z_XX != 0 {
                return None;
            }
            out = Ok((AddOutcome::Added, score));
            return Some(score);
        };
        if flags & Z_NX != 0 {
            out = Ok((AddOutcome::Nop, cur));
            return None;
        }
        let mut score = score;
        if flags & Z_INCR != 0 {
            score += cur;
            if score.is_nan() {
                out = Err(());
                return None;
            }
        }
        if (flags & Z_LT != 0 && score >= cur) || (flags & Z_GT != 0 && score <= cur) {
            out = Ok((AddOutcome::Nop, cur));
            return None;
        }
        if score != cur {
            out = Ok((AddOutcome::Updated, score));
            Some(score)
        } else {
            out = Ok((AddOutcome::Same, score));
            None
        }
    });
    out
}

/// What ZADD did over its pairs.
struct Tally {
    added: i64,
    updated: i64,
    processed: i64,
    /// The score of the last member processed (ZADD INCR's reply).
    last: f64,
    /// An increment made a score NaN; the pairs after it were not applied.
    failed: bool,
}

/// Applies ZADD's score-member pairs to `z`, in order, stopping at a NaN result.
fn zadd_apply(z: &mut ZSet, pairs: &[&[u8]], scores: &[f64], flags: u8, lim: Limits) -> Tally {
    let mut t = Tally {
        added: 0,
        updated: 0,
        processed: 0,
        last: 0.0,
        failed: false,
    };
    for (p, &score) in pairs.chunks_exact(2).zip(scores) {
        match zset_add(z, score, p[1], flags, lim) {
            Err(()) => {
                t.failed = true;
                break;
            }
            Ok((o, s)) => {
                match o {
                    AddOutcome::Added => t.added += 1,
                    AddOutcome::Updated => t.updated += 1,
                    _ => {}
                }
                if o != AddOutcome::Nop {
                    t.processed += 1;
                }
                t.last = s;
            }
        }
    }
    t
}

/// The body of ZADD and ZINCRBY (Redis's `zaddGenericCommand`).
fn zadd_generic(ctx: &mut Ctx, argv: &[&[u8]], mut flags: u8) {
    let mut i = 2;
    while i < argv.len() {
        let o = argv[i];
        // Options are 2 to 4 letters; anything else starts the score-member pairs (a quick
        // exit for the usual ZADD without options).
        if !(2..=4).contains(&o.len()) {
            break;
        }
        let f = if o.eq_ignore_ascii_case(b"nx") {
            Z_NX
        } else if o.eq_ignore_ascii_case(b"xx") {
            Z_XX
        } else if o.eq_ignore_ascii_case(b"ch") {
            Z_CH
        } else if o.eq_ignore_ascii_case(b"incr") {
            Z_INCR
        } else if o.eq_ignore_ascii_case(b"gt") {
            Z_GT
        } else if o.eq_ignore_ascii_case(b"lt") {
            Z_LT
        } else {
            break;
        };
        flags |= f;
        i += 1;
    }
    let pairs = &argv[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return ctx.syntax_error();
    }
    let elements = pairs.len() / 2;
    if flags & Z_NX != 0 && flags & Z_XX != 0 {
        return ctx.out.error(errors::ZADD_NX_XX);
    }
    let gtlt = flags & (Z_GT | Z_LT);
    if (gtlt != 0 && flags & Z_NX != 0) || gtlt == Z_GT | Z_LT {
        return ctx.out.error(errors::ZADD_GT_LT_NX);
    }
    let incr = flags & Z_INCR != 0;
    if incr && elements > 1 {
        return ctx.out.error(errors::ZADD_INCR_PAIR);
    }
    let mut scores: SmallVec<[f64; 8]> = SmallVec::with_capacity(elements);
    for p in pairs.chunks_exact(2) {
        match parse_score(p[0]) {
            Some(s) => scores.push(s),
            None => return ctx.out.error(errors::NOT_FLOAT),
        }
    }
    let key = argv[1];
    let lim = limits(ctx);
    // One lookup when the key exists (the common case); a second after creating it.
    let tally = match write(&mut ctx.ks, key) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(Some(z)) => Some(zadd_apply(z, pairs, &scores, flags, lim)),
        Ok(None) => None,
    };
    let tally = match tally {
        Some(t) => t,
        None => {
            if flags & Z_XX != 0 {
                return if incr { ctx.out.null() } else { ctx.out.int(0) };
            }
            // Redis 7.0's ZADD picks the encoding from the first member alone (not the
            // element count): a listpack unless it is disabled or that member is too long.
            let mut z = if lim.entries == 0 || pairs[1].len() > lim.value {
                ZSet::with_hint(usize::MAX, 0, lim)
            } else {
                ZSet::new()
            };
            // One allocation for the members of a new key (they may convert it later, or
            // repeat, so this is room, not a promise).
            if elements <= lim.entries {
                z.reserve_for(
                    pairs
                        .chunks_exact(2)
                        .map(|p| p[1])
                        .zip(scores.iter().copied()),
                );
            }
            let db = ctx.ks.db;
            ctx.ks.insert_in(db, key, Value::ZSet(Box::new(z)), None);
            let Ok(Some(z)) = write(&mut ctx.ks, key) else {
                return ctx.out.error(errors::WRONGTYPE);
            };
            zadd_apply(z, pairs, &scores, flags, lim)
        }
    };
    let Tally {
        added,
        updated,
        processed,
        last,
        failed,
    } = tally;
    ctx.ks.dirty += (added + updated) as u64;
    if added + updated > 0 {
        ctx.notify(notify::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    if failed {
        return ctx.out.error(errors::ZSCORE_NAN);
    }
    if incr {
        if processed > 0 {
            reply_score(ctx.out, last)
        } else {
            ctx.out.null()
        }
    } else {
        ctx.out.int(if flags & Z_CH != 0 {
            added + updated
        } else {
            added
        });
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, 0);
}

/// ZINCRBY key increment member
fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    zadd_generic(ctx, argv, Z_INCR);
}

// ---- removal ----

/// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let z = match write(&mut ctx.ks, key) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(z)) => z,
    };
    let mut deleted = 0;
    for m in &argv[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let emptied = z.is_empty();
    if deleted > 0 {
        ctx.notify(notify::ZSET, "zrem", key);
    }
    if emptied {
        delete_emptied(&mut ctx.ks, key);
    }
    ctx.ks.dirty += deleted;
    ctx.out.int(deleted as i64);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// The body of ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX.
fn zremrange_generic(ctx: &mut Ctx, argv: &[&[u8]], kind: RangeKind) {
    enum R<'a> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange<'a>),
    }
    let range = match kind {
        RangeKind::Score => match parse_score_range(argv[2], argv[3]) {
            Some(r) => R::Score(r),
            None => return ctx.out.error(errors::ZRANGE_NOT_FLOAT),
        },
        RangeKind::Lex => match parse_lex_range(argv[2], argv[3]) {
            Some(r) => R::Lex(r),
            None => return ctx.out.error(errors::ZRANGE_NOT_LEX),
        },
        _ => {
            let Some(a) = long_arg(ctx.out, argv[2]) else {
                return;
            };
            let Some(b) = long_arg(ctx.out, argv[3]) else {
                return;
            };
            R::Rank(a, b)
        }
    };
    let key = argv[1];
    let z = match write(&mut ctx.ks, key) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(z)) => z,
    };
    let (start, end) = match range {
        R::Rank(a, b) => match rank_span(a, b, z.len()) {
            Some(s) => s,
            None => return ctx.out.int(0),
        },
        R::Score(r) => z.score_ranks(&r),
        R::Lex(r) => z.lex_ranks(&r),
    };
    let deleted = z.remove_ranks(start, end);
    let emptied = z.is_empty();
    if deleted > 0 {
        let event = match kind {
            RangeKind::Score => "zremrangebyscore",
            RangeKind::Lex => "zremrangebylex",
            _ => "zremrangebyrank",
        };
        ctx.notify(notify::ZSET, event, key);
    }
    if emptied {
        delete_emptied(&mut ctx.ks, key);
    }
    ctx.ks.dirty += deleted as u64;
    ctx.out.int(deleted as i64);
}

/// Turns a ZRANGE-style index pair (negative from the end) into the rank span `start..end`;
/// `None` when it is empty.
fn rank_span(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize + 1))
}

/// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange_generic(ctx, argv, RangeKind::Rank);
}

/// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange_generic(ctx, argv, RangeKind::Score);
}

/// ZREMRANGEBYLEX key min max
fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zremrange_generic(ctx, argv, RangeKind::Lex);
}

// ---- simple reads ----

/// ZCARD key
fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => ctx.out.int(z.len() as i64),
    }
}

/// ZSCORE key member
fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.null(),
        Ok(Some(z)) => match z.score(argv[2]) {
            Some(s) => reply_score(ctx.out, s),
            None => ctx.out.null(),
        },
    }
}

/// ZMSCORE key member [member ...]
fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let z = match read(&mut ctx.ks, argv[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(z) => z,
    };
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply_score(ctx.out, s),
            None => ctx.out.null(),
        }
    }
}

/// The body of ZRANK and ZREVRANK.
fn zrank_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) {
    match read(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.null(),
        Ok(Some(z)) => match z.rank(argv[2]) {
            Some((r, _)) => ctx.out.int(if rev {
                (z.len() - 1 - r) as i64
            } else {
                r as i64
            }),
            None => ctx.out.null(),
        },
    }
}

/// ZRANK key member
fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrank_generic(ctx, argv, false);
}

/// ZREVRANK key member
fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrank_generic(ctx, argv, true);
}

/// ZCOUNT key min max
fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_score_range(argv[2], argv[3]) else {
        return ctx.out.error(errors::ZRANGE_NOT_FLOAT);
    };
    match read(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => {
            let (a, b) = z.score_ranks(&r);
            ctx.out.int((b - a) as i64)
        }
    }
}

/// ZLEXCOUNT key min max
fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(r) = parse_lex_range(argv[2], argv[3]) else {
        return ctx.out.error(errors::ZRANGE_NOT_LEX);
    };
    match read(&mut ctx.ks, argv[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(z)) => {
            let (a, b) = z.lex_ranks(&r);
            ctx.out.int((b - a) as i64)
        }
    }
}

// ---- the ZRANGE family ----

/// Replies the members of ranks `start..end` (walked backwards with `rev`), with their scores
/// when asked: flat pairs in RESP2, [member, score] arrays in RESP3.
fn reply_ranks(out: &mut Reply, z: &ZSet, start: usize, end: usize, rev: bool, scores: bool) {
    let n = end.saturating_sub(start);
    let nested = scores && out.resp3;
    out.array(if scores && !nested { n * 2 } else { n });
    z.walk(start, end, rev, |m, s| {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if scores {
            reply_score(out, s);
        }
        true
    });
}

/// Applies LIMIT offset count to the rank span `a..b` of a score or lex range, walked forwards
/// or backwards, as Redis's range walks do (a negative offset skips everything, a negative
/// count takes everything). Returns the span to walk.
fn apply_limit(a: usize, b: usize, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    if offset < 0 {
        return (0, 0);
    }
    let avail = (b - a) as u64;
    let off = offset as u64;
    if off >= avail {
        return (0, 0);
    }
    let left = avail - off;
    let take = if limit < 0 {
        left
    } else {
        left.min(limit as u64)
    } as usize;
    let off = off as usize;
    if rev {
        (b - off - take, b - off)
    } else {
        (a + off, a + off + take)
    }
}

/// The body of ZRANGE, ZRANGESTORE, ZREVRANGE and the BYSCORE / BYLEX forms (Redis's
/// `zrangeGenericCommand`). `first` is the index of the source key; `store` for ZRANGESTORE
/// (whose destination is `argv[1]`).
fn zrange_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    first: usize,
    store: bool,
    kind: RangeKind,
    rev: Option<bool>,
) {
    let (mut kind, mut rev) = (kind, rev);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < argv.len() {
        let o = argv[j];
        let left = argv.len() - j - 1;
        if !store && o.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else if o.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let Some(a) = long_arg(ctx.out, argv[j + 1]) else {
                return;
            };
            let Some(b) = long_arg(ctx.out, argv[j + 2]) else {
                return;
            };
            (offset, limit) = (a, b);
            j += 2;
        } else if rev.is_none() && o.eq_ignore_ascii_case(b"rev") {
            rev = Some(true);
        } else if kind == RangeKind::Auto && o.eq_ignore_ascii_case(b"bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && o.eq_ignore_ascii_case(b"byscore") {
            kind = RangeKind::Score;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        return ctx.out.error(errors::ZRANGE_LIMIT_RANK);
    }
    if withscores && kind == RangeKind::Lex {
        return ctx.out.error(errors::ZRANGE_WITHSCORES_LEX);
    }
    // Reverse score and lex ranges are given as max then min.
    let (mut lo, mut hi) = (argv[first + 1], argv[first + 2]);
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    enum R<'a> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange<'a>),
    }
    let range = match kind {
        RangeKind::Score => match parse_score_range(lo, hi) {
            Some(r) => R::Score(r),
            None => return ctx.out.error(errors::ZRANGE_NOT_FLOAT),
        },
        RangeKind::Lex => match parse_lex_range(lo, hi) {
            Some(r) => R::Lex(r),
            None => return ctx.out.error(errors::ZRANGE_NOT_LEX),
        },
        _ => {
            let Some(a) = long_arg(ctx.out, lo) else {
                return;
            };
            let Some(b) = long_arg(ctx.out, hi) else {
                return;
            };
            R::Rank(a, b)
        }
    };
    let z = match read(&mut ctx.ks, argv[first]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => {
            if store {
                return store_result(ctx, argv[1], ZSet::new(), "zrangestore");
            }
            return ctx.out.array(0);
        }
        Ok(Some(z)) => z,
    };
    let len = z.len();
    let (start, end) = match range {
        R::Rank(a, b) => match rank_span(a, b, len) {
            // Reverse ranks count from the top.
            Some((s, e)) if rev => (len - e, len - s),
            Some(span) => span,
            None => (0, 0),
        },
        R::Score(r) => {
            let (a, b) = z.score_ranks(&r);
            apply_limit(a, b, rev, offset, limit)
        }
        R::Lex(r) => {
            let (a, b) = z.lex_ranks(&r);
            apply_limit(a, b, rev, offset, limit)
        }
    };
    if !store {
        return reply_ranks(ctx.out, z, start, end, rev, withscores);
    }
    let mut items: Vec<(Vec<u8>, f64)> = Vec::with_capacity(end.saturating_sub(start));
    z.walk(start, end, rev, |m, s| {
        items.push((m.to_vec(), s));
        true
    });
    // As Redis builds the destination: created for the known length (none for score and lex
    // ranges), then fed in reply order, converting when it outgrows the listpack. Which
    // members went in while it was a listpack shows (a listpack turns -0 into 0).
    let lim = limits(ctx);
    let hint = if matches!(range, R::Rank(..)) {
        items.len()
    } else {
        0
    };
    let mut dst = ZSet::with_hint(hint, 0, lim);
    for (m, s) in &items {
        dst.insert(m, *s, lim);
    }
    store_result(ctx, argv[1], dst, "zrangestore");
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeKind::Auto, None);
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 2, true, RangeKind::Auto, None);
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeKind::Rank, Some(true));
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeKind::Score, Some(false));
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeKind::Score, Some(true));
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeKind::Lex, Some(false));
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) {
    zrange_generic(ctx, argv, 1, false, RangeKind::Lex, Some(true));
}

// ---- pops ----

/// Why [`zpop_op`] popped nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PopMiss {
    /// No key of the list holds a sorted set (all missing).
    Empty,
    /// The first existing key holds another type.
    WrongType,
}

/// What [`zpop_op`] reports as it pops.
pub(crate) enum Popped<'a> {
    /// First, once: the key popped from and how many members will come.
    Key(&'a [u8], usize),
    /// Then each member and its score, in pop order.
    Member(&'a [u8], f64),
}

/// Pops up to `count` members (`count` >= 1) from the first of `keys` that exists: the lowest
/// scores, or the highest with `max`. Reports the key and each member to `f` (see [`Popped`])
/// and deletes the key when it empties. The work behind ZPOPMIN, ZPOPMAX, ZMPOP and the
/// blocking pops (Redis's `genericZpopCommand`, without the reply). Returns the number popped.
pub(crate) fn zpop_op(
    ks: &mut Keyspace,
    keys: &[&[u8]],
    max: bool,
    count: usize,
    f: &mut dyn FnMut(Popped),
) -> Result<usize, PopMiss> {
    for &key in keys {
        let z = match write(ks, key) {
            Err(()) => return Err(PopMiss::WrongType),
            Ok(None) => continue,
            Ok(Some(z)) => z,
        };
        let len = z.len();
        let n = count.min(len);
        f(Popped::Key(key, n));
        let (start, end) = if max { (len - n, len) } else { (0, n) };
        z.walk(start, end, max, |m, s| {
            f(Popped::Member(m, s));
            true
        });
        z.remove_ranks(start, end);
        let emptied = z.is_empty();
        ks.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        if emptied {
            delete_emptied(ks, key);
        }
        ks.dirty += n as u64;
        return Ok(n);
    }
    Err(PopMiss::Empty)
}

/// Replies a pop, as Redis's `genericZpopCommand` shapes it: with `emitkey` (ZMPOP) the key
/// then the elements; `nested`: [member, score] pairs rather than a flat list.
/// Returns the key popped from and how many members, when something was popped.
fn zpop_reply(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    max: bool,
    count: i64,
    emitkey: bool,
    nested: bool,
) -> Option<(Vec<u8>, usize)> {
    let out = &mut *ctx.out;
    let mut popped = None;
    let r = zpop_op(
        &mut ctx.ks,
        keys,
        max,
        count.max(1) as usize,
        &mut |p| match p {
            Popped::Key(key, n) => {
                popped = Some((key.to_vec(), n));
                if emitkey {
                    out.array(2);
                    out.bulk(key);
                    out.array(n);
                } else if nested {
                    out.array(n);
                } else {
                    out.array(n * 2);
                }
            }
            Popped::Member(m, s) => {
                if nested {
                    out.array(2);
                }
                out.bulk(m);
                reply_score(out, s);
            }
        },
    );
    match r {
        Ok(_) => {}
        Err(PopMiss::WrongType) => ctx.out.error(errors::WRONGTYPE),
        Err(PopMiss::Empty) => {
            if emitkey {
                ctx.out.null_array()
            } else {
                ctx.out.array(0)
            }
        }
    }
    popped
}

/// The body of ZPOPMIN and ZPOPMAX.
fn zpop_min_max(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    if argv.len() > 3 {
        return ctx.syntax_error();
    }
    let mut count = -1;
    if argv.len() == 3 {
        // Not a number and a negative one get the same error (getPositiveLongFromObject).
        match parse_i64_strict(argv[2]) {
            Some(n) if n >= 0 => count = n,
            _ => return ctx.out.error(errors::POSITIVE),
        }
    }
    if count == 0 {
        // Only the type of the key is checked (Redis looks the key up first).
        return match read(&mut ctx.ks, argv[1]) {
            Err(()) => ctx.out.error(errors::WRONGTYPE),
            Ok(_) => ctx.out.array(0),
        };
    }
    let nested = ctx.out.resp3 && count != -1;
    zpop_reply(ctx, &argv[1..2], max, count, false, nested);
}

/// ZPOPMIN key [count]
fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_min_max(ctx, argv, false);
}

/// ZPOPMAX key [count]
fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    zpop_min_max(ctx, argv, true);
}

/// Parses a `numkeys` argument at `argv[at]` with the keys after it; `None` when it is not a
/// positive integer or more keys are announced than given.
fn numkeys_span(argv: &[&[u8]], at: usize) -> Option<std::ops::Range<usize>> {
    let n = parse_i64_strict(argv.get(at)?)?;
    if n < 1 || n as u64 > (argv.len() - at - 1) as u64 {
        return None;
    }
    Some(at + 1..at + 1 + n as usize)
}

/// Key positions of `cmd numkeys key ...` (ZUNION, ZINTER, ZDIFF, ZINTERCARD, ZMPOP).
fn keys_numkeys_at_1(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_span(argv, 1)
        .map(|r| r.collect())
        .unwrap_or_default()
}

/// Key positions of `cmd dst numkeys key ...` (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE).
fn keys_dst_numkeys(argv: &[&[u8]]) -> Vec<usize> {
    let mut v = vec![1];
    if let Some(r) = numkeys_span(argv, 2) {
        v.extend(r);
    }
    v
}

/// Parses a count of ZMPOP style: an integer from 1 on, else `msg`.
fn positive_or(arg: &[u8], msg: &'static str) -> Result<i64, &'static str> {
    match parse_i64_strict(arg) {
        Some(n) if n >= 1 => Ok(n),
        _ => Err(msg),
    }
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let numkeys = match positive_or(argv[1], errors::NUMKEYS_POSITIVE) {
        Ok(n) => n as usize,
        Err(e) => return ctx.out.error(e),
    };
    let where_idx = 2usize.saturating_add(numkeys);
    if where_idx >= argv.len() {
        return ctx.syntax_error();
    }
    let max = if argv[where_idx].eq_ignore_ascii_case(b"min") {
        false
    } else if argv[where_idx].eq_ignore_ascii_case(b"max") {
        true
    } else {
        return ctx.syntax_error();
    };
    let mut count = -1i64;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count == -1 && argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
            j += 1;
            match positive_or(argv[j], errors::COUNT_POSITIVE) {
                Ok(n) => count = n,
                Err(e) => return ctx.out.error(e),
            }
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let count = if count == -1 { 1 } else { count };
    if let Some((key, n)) = zpop_reply(ctx, &argv[2..where_idx], max, count, true, true) {
        // Propagated as the plain pop of the key it popped from, as Redis does.
        let cmd: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        ctx.propagate_as(&[cmd, &key, itoa::Buffer::new().format(n).as_bytes()]);
    }
}

// ---- ZRANDMEMBER ----

/// The most picks a negative ZRANDMEMBER count may ask for (2^28: replies of gigabytes).
const MAX_RANDOM_PICKS: u64 = 1 << 28;

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    use rand::RngExt;
    let mut rng = rand::rng();
    if argv.len() == 2 {
        return match read(&mut ctx.ks, argv[1]) {
            Err(()) => ctx.out.error(errors::WRONGTYPE),
            Ok(None) => ctx.out.null(),
            Ok(Some(z)) => match z.get(rng.random_range(0..z.len().max(1))) {
                Some((m, _)) => ctx.out.bulk(m),
                None => ctx.out.null(),
            },
        };
    }
    let l = match parse_i64_strict(argv[2]) {
        None => return ctx.out.error(errors::NOT_INTEGER),
        Some(i64::MIN) => {
            return ctx
                .out
                .error(&errors::out_of_range_between(-i64::MAX, i64::MAX));
        }
        Some(l) => l,
    };
    let withscores = argv.len() == 4;
    if argv.len() > 4 || (withscores && !argv[3].eq_ignore_ascii_case(b"withscores")) {
        return ctx.syntax_error();
    }
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return ctx.out.error(errors::VALUE_OUT_OF_RANGE);
    }
    let (count, uniq) = if l >= 0 {
        (l as u64, true)
    } else {
        (l.unsigned_abs(), false)
    };
    let z = match read(&mut ctx.ks, argv[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.array(0),
        Ok(Some(z)) => z,
    };
    // Ours: a negative count asks for that many picks whatever the set's size; past this
    // bound the reply could not fit in memory (Redis would try, and run out), so it is
    // refused rather than left to stall the server.
    if !uniq && count > MAX_RANDOM_PICKS {
        return ctx.out.error(errors::VALUE_OUT_OF_RANGE);
    }
    let out = &mut *ctx.out;
    if count == 0 {
        return out.array(0);
    }
    let size = z.len();
    let nested = withscores && out.resp3;
    let header = |out: &mut Reply, n: usize| {
        out.array(if withscores && !nested { n * 2 } else { n });
    };
    let emit = |out: &mut Reply, m: &[u8], s: f64| {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            reply_score(out, s);
        }
    };
    // Negative count: repetitions allowed, each pick uniform over the whole set.
    if !uniq || count == 1 {
        let n = count as usize;
        header(out, n);
        for _ in 0..n {
            if let Some((m, s)) = z.get(rng.random_range(0..size)) {
                emit(out, m, s);
            }
        }
        return;
    }
    // Asking for the whole set or more: all of it.
    if count >= size as u64 {
        header(out, size);
        z.for_each(|m, s| emit(out, m, s));
        return;
    }
    // Distinct picks: a partial shuffle of the ranks when most are wanted, random draws with a
    // seen-set when few are.
    let count = count as usize;
    let ranks: Vec<usize> = if count * 3 > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = rng.random_range(i..size);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let r = rng.random_range(0..size);
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    header(out, count);
    for r in ranks {
        if let Some((m, s)) = z.get(r) {
            emit(out, m, s);
        }
    }
}

// ---- ZUNION / ZINTER / ZDIFF ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Folds `val` into `target` (Redis's `zunionInterAggregate`: a sum of opposite infinities
/// is 0).
#[inline]
fn aggregate(target: &mut f64, val: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// The length of an input (sorted set or set), `Err` for another type. Missing keys are empty.
fn input_len(ks: &mut Keyspace, key: &[u8], write: bool) -> Result<usize, ()> {
    let v = if write {
        ks.get_mut(key).map(|v| &*v)
    } else {
        ks.get(key)
    };
    match v {
        None => Ok(0),
        Some(Value::ZSet(z)) => Ok(z.len()),
        Some(Value::Set(s)) => Ok(s.len()),
        Some(_) => Err(()),
    }
}

/// Calls `f` with every member of an input and its score (1 for a plain set's members).
fn for_each_input(ks: &mut Keyspace, key: &[u8], mut f: impl FnMut(&[u8], f64)) {
    match ks.peek(key).map(|e| e.value()) {
        Some(Value::ZSet(z)) => z.for_each(f),
        Some(Value::Set(s)) => s.for_each_member(|m| f(m, 1.0)),
        _ => {}
    }
}

/// Returns the score of `member` in an input, if it is there (1 for a plain set's members).
fn input_score(ks: &mut Keyspace, key: &[u8], member: &[u8]) -> Option<f64> {
    match ks.peek(key).map(|e| e.value()) {
        Some(Value::ZSet(z)) => z.score(member),
        Some(Value::Set(s)) => s.contains(member).then_some(1.0),
        _ => None,
    }
}

/// The body of ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
/// `zunionInterDiffGenericCommand`). `dst`: the destination of a STORE form; `at`: the index
/// of numkeys.
fn zsetop_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    dst: Option<&[u8]>,
    at: usize,
    op: SetOp,
    card_only: bool,
) {
    let Some(setnum) = long_arg(ctx.out, argv[at]) else {
        return;
    };
    if setnum < 1 {
        let name = ctx.server.table.entries[ctx.entry].full_name.clone();
        return ctx.out.error(&errors::zset_at_least_one_key(&name));
    }
    if setnum as u64 > (argv.len() - at - 1) as u64 {
        return ctx.syntax_error();
    }
    let setnum = setnum as usize;
    let keys = &argv[at + 1..at + 1 + setnum];
    // Type checks come first, in key order.
    let mut inputs: Vec<(&[u8], usize, f64)> = Vec::with_capacity(setnum);
    for &k in keys {
        // Read lookups even for the STORE forms, as Redis's `lookupKeyRead` of the sources.
        match input_len(&mut ctx.ks, k, false) {
            Ok(n) => inputs.push((k, n, 1.0)),
            Err(()) => return ctx.out.error(errors::WRONGTYPE),
        }
    }
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0u64;
    let mut j = at + 1 + setnum;
    while j < argv.len() {
        let o = argv[j];
        let left = argv.len() - j;
        if op != SetOp::Diff && !card_only && left > setnum && o.eq_ignore_ascii_case(b"weights") {
            j += 1;
            for inp in inputs.iter_mut() {
                match parse_score(argv[j]) {
                    Some(w) => inp.2 = w,
                    None => return ctx.out.error(errors::WEIGHT_NOT_FLOAT),
                }
                j += 1;
            }
            continue;
        } else if op != SetOp::Diff
            && !card_only
            && left >= 2
            && o.eq_ignore_ascii_case(b"aggregate")
        {
            let a = argv[j + 1];
            how = if a.eq_ignore_ascii_case(b"sum") {
                Aggregate::Sum
            } else if a.eq_ignore_ascii_case(b"min") {
                Aggregate::Min
            } else if a.eq_ignore_ascii_case(b"max") {
                Aggregate::Max
            } else {
                return ctx.syntax_error();
            };
            j += 2;
        } else if dst.is_none() && !card_only && o.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
            j += 1;
        } else if card_only && left >= 2 && o.eq_ignore_ascii_case(b"limit") {
            match parse_i64_strict(argv[j + 1]) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => return ctx.out.error(errors::LIMIT_NEGATIVE),
            }
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    if op != SetOp::Diff {
        // Smallest first: intersections look the candidates of the smallest up in the others.
        inputs.sort_by_key(|i| i.1);
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0u64;
    match op {
        SetOp::Inter => {
            if inputs[0].1 > 0 {
                let (k0, _, w0) = inputs[0];
                let mut cands: Vec<(Vec<u8>, f64)> = Vec::with_capacity(inputs[0].1);
                for_each_input(&mut ctx.ks, k0, |m, s| {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    cands.push((m.to_vec(), score));
                });
                for &(k, _, w) in &inputs[1..] {
                    cands.retain_mut(|(m, score)| match input_score(&mut ctx.ks, k, m) {
                        Some(v) => {
                            aggregate(score, v * w, how);
                            true
                        }
                        None => false,
                    });
                }
                if card_only {
                    cardinality = cands.len() as u64;
                    if limit > 0 {
                        cardinality = cardinality.min(limit);
                    }
                } else {
                    result = cands;
                }
            }
        }
        SetOp::Union => {
            let mut acc: std::collections::HashMap<Vec<u8>, f64> =
                std::collections::HashMap::with_capacity(inputs.last().map_or(0, |i| i.1));
            for &(k, n, w) in &inputs {
                if n == 0 {
                    continue;
                }
                for_each_input(&mut ctx.ks, k, |m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            if inputs[0].1 > 0 {
                let k0 = inputs[0].0;
                let mut cands: Vec<(Vec<u8>, f64)> = Vec::with_capacity(inputs[0].1);
                for_each_input(&mut ctx.ks, k0, |m, s| cands.push((m.to_vec(), s)));
                for &(k, n, _) in &inputs[1..] {
                    if n == 0 {
                        continue;
                    }
                    cands.retain(|(m, _)| input_score(&mut ctx.ks, k, m).is_none());
                    if cands.is_empty() {
                        break;
                    }
                }
                result = cands;
            }
        }
    }
    if card_only {
        return ctx.out.int(cardinality as i64);
    }
    sort_items(&mut result);
    if let Some(dst) = dst {
        let lim = limits(ctx);
        let z = build_sorted(&result, lim);
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        return store_result(ctx, dst, z, event);
    }
    let out = &mut *ctx.out;
    let nested = withscores && out.resp3;
    out.array(if withscores && !nested {
        result.len() * 2
    } else {
        result.len()
    });
    for (m, s) in &result {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            reply_score(out, *s);
        }
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, None, 1, SetOp::Union, false);
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, None, 1, SetOp::Inter, false);
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, None, 1, SetOp::Diff, false);
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, None, 1, SetOp::Inter, true);
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Union, false);
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]
fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Inter, false);
}

/// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    zsetop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Diff, false);
}

// ---- ZSCAN ----

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    use crate::cmd::keys::{ScanOpts, parse_cursor, parse_scan_opts};
    let Some(mut cursor) = parse_cursor(argv[2]) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let z = match read(&mut ctx.ks, argv[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            return ctx.out.array(0);
        }
        Ok(Some(z)) => z,
    };
    let ScanOpts { count, pattern, .. } = match parse_scan_opts(argv, 3, false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut steps_left = count.saturating_mul(10);
    loop {
        cursor = z.scan(cursor, |m, s| {
            if pattern.is_none_or(|p| glob_match(p, m, false)) {
                found.push((m.to_vec(), s));
            }
        });
        if cursor == 0 || steps_left == 0 || found.len() >= count {
            break;
        }
        steps_left -= 1;
    }
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    out.array(found.len() * 2);
    let mut b = [0u8; 32];
    for (m, s) in &found {
        out.bulk(m);
        out.bulk(fmt_score(*s, &mut b));
    }
}

// ---- table ----

const KEY1: KeySpec = KeySpec::Range {
    first: 1,
    last: 1,
    step: 1,
};
const KEY1_2: KeySpec = KeySpec::Range {
    first: 1,
    last: 2,
    step: 1,
};

use key_flags::{ACCESS, DELETE, INSERT, OW, RO, RW, UPDATE};

const KS_RW_UPDATE: &[KeySpecDef] = &[KeySpecDef::index(1, RW | UPDATE)];
const KS_RW_DELETE: &[KeySpecDef] = &[KeySpecDef::index(1, RW | DELETE)];
const KS_RW_ACCESS_DELETE: &[KeySpecDef] = &[KeySpecDef::index(1, RW | ACCESS | DELETE)];
const KS_RO: &[KeySpecDef] = &[KeySpecDef::index(1, RO | ACCESS)];
const KS_RO_ONLY: &[KeySpecDef] = &[KeySpecDef::index(1, RO)];
const KS_RW_ACCESS_UPDATE: &[KeySpecDef] = &[KeySpecDef::index(1, RW | ACCESS | UPDATE)];
const KS_RANGESTORE: &[KeySpecDef] = &[
    KeySpecDef::index(1, OW | UPDATE),
    KeySpecDef::index(2, RO | ACCESS),
];
const KS_NUMKEYS_RO: &[KeySpecDef] = &[KeySpecDef::keynum(1, RO | ACCESS)];
const KS_NUMKEYS_POP: &[KeySpecDef] = &[KeySpecDef::keynum(1, RW | ACCESS | DELETE)];
const KS_STORE_NUMKEYS: &[KeySpecDef] = &[
    KeySpecDef::index(1, OW | UPDATE),
    KeySpecDef::keynum(2, RO | ACCESS),
];
const _: u32 = INSERT;

/// A sorted-set row with the fields every one shares.
#[allow(clippy::too_many_arguments)] // one call per row keeps the table readable as data
const fn row(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: crate::command::table::Handler,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    keys: KeySpec,
    key_specs: &'static [KeySpecDef],
) -> Command {
    Command {
        keys,
        group: "sorted-set",
        since,
        summary,
        complexity,
        acl: &["sortedset"],
        key_specs,
        ..Command::new(name, arity, flags, handler)
    }
}

const LOGN: &str = "O(log(N)) where N is the number of elements in the sorted set.";
const LOGN_WITH: &str = "O(log(N)) with N being the number of elements in the sorted set.";
const RANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M \
    the number of elements returned.";

// COMMAND DOCS arguments, as redis-server 7.0.15 documents them.

const ZADD_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::one_of("condition", &[Arg::pure("nx", "NX"), Arg::pure("xx", "XX")])
        .since("3.0.2")
        .optional(),
    Arg::one_of(
        "comparison",
        &[Arg::pure("gt", "GT"), Arg::pure("lt", "LT")],
    )
    .since("6.2.0")
    .optional(),
    Arg::pure("change", "CH").since("3.0.2").optional(),
    Arg::pure("increment", "INCR").since("3.0.2").optional(),
    Arg::block(
        "score_member",
        &[
            Arg::new("score", ArgType::Double),
            Arg::new("member", ArgType::String),
        ],
    )
    .multiple(),
];

const ZINCRBY_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("increment", ArgType::Integer),
    Arg::new("member", ArgType::String),
];

const ZREM_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("member", ArgType::String).multiple(),
];

const ZCARD_ARGS: &[Arg] = &[Arg::key("key", 0)];

const ZCOUNT_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("min", ArgType::Double),
    Arg::new("max", ArgType::Double),
];

const ZLEXCOUNT_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("min", ArgType::String),
    Arg::new("max", ArgType::String),
];

const ZSCORE_ARGS: &[Arg] = &[Arg::key("key", 0), Arg::new("member", ArgType::String)];

const ZMSCORE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("member", ArgType::String).multiple(),
];

const ZRANK_ARGS: &[Arg] = &[Arg::key("key", 0), Arg::new("member", ArgType::String)];

const ZREVRANK_ARGS: &[Arg] = &[Arg::key("key", 0), Arg::new("member", ArgType::String)];

const ZRANGE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("start", ArgType::String),
    Arg::new("stop", ArgType::String),
    Arg::one_of(
        "sortby",
        &[Arg::pure("byscore", "BYSCORE"), Arg::pure("bylex", "BYLEX")],
    )
    .since("6.2.0")
    .optional(),
    Arg::pure("rev", "REV").since("6.2.0").optional(),
    Arg::block(
        "offset_count",
        &[
            Arg::new("offset", ArgType::Integer),
            Arg::new("count", ArgType::Integer),
        ],
    )
    .token("LIMIT")
    .since("6.2.0")
    .optional(),
    Arg::pure("withscores", "WITHSCORES").optional(),
];

const ZRANGESTORE_ARGS: &[Arg] = &[
    Arg::key("dst", 0),
    Arg::key("src", 1),
    Arg::new("min", ArgType::String),
    Arg::new("max", ArgType::String),
    Arg::one_of(
        "sortby",
        &[Arg::pure("byscore", "BYSCORE"), Arg::pure("bylex", "BYLEX")],
    )
    .optional(),
    Arg::pure("rev", "REV").optional(),
    Arg::block(
        "offset_count",
        &[
            Arg::new("offset", ArgType::Integer),
            Arg::new("count", ArgType::Integer),
        ],
    )
    .token("LIMIT")
    .optional(),
];

const ZREVRANGE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("start", ArgType::Integer),
    Arg::new("stop", ArgType::Integer),
    Arg::pure("withscores", "WITHSCORES").optional(),
];

const ZRANGEBYSCORE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("min", ArgType::Double),
    Arg::new("max", ArgType::Double),
    Arg::pure("withscores", "WITHSCORES")
        .since("2.0.0")
        .optional(),
    Arg::block(
        "offset_count",
        &[
            Arg::new("offset", ArgType::Integer),
            Arg::new("count", ArgType::Integer),
        ],
    )
    .token("LIMIT")
    .optional(),
];

const ZREVRANGEBYSCORE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("max", ArgType::Double),
    Arg::new("min", ArgType::Double),
    Arg::pure("withscores", "WITHSCORES").optional(),
    Arg::block(
        "offset_count",
        &[
            Arg::new("offset", ArgType::Integer),
            Arg::new("count", ArgType::Integer),
        ],
    )
    .token("LIMIT")
    .optional(),
];

const ZRANGEBYLEX_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("min", ArgType::String),
    Arg::new("max", ArgType::String),
    Arg::block(
        "offset_count",
        &[
            Arg::new("offset", ArgType::Integer),
            Arg::new("count", ArgType::Integer),
        ],
    )
    .token("LIMIT")
    .optional(),
];

const ZREVRANGEBYLEX_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("max", ArgType::String),
    Arg::new("min", ArgType::String),
    Arg::block(
        "offset_count",
        &[
            Arg::new("offset", ArgType::Integer),
            Arg::new("count", ArgType::Integer),
        ],
    )
    .token("LIMIT")
    .optional(),
];

const ZREMRANGEBYRANK_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("start", ArgType::Integer),
    Arg::new("stop", ArgType::Integer),
];

const ZREMRANGEBYSCORE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("min", ArgType::Double),
    Arg::new("max", ArgType::Double),
];

const ZREMRANGEBYLEX_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("min", ArgType::String),
    Arg::new("max", ArgType::String),
];

const ZPOPMIN_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("count", ArgType::Integer).optional(),
];

const ZPOPMAX_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("count", ArgType::Integer).optional(),
];

const ZMPOP_ARGS: &[Arg] = &[
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 0).multiple(),
    Arg::one_of("where", &[Arg::pure("min", "MIN"), Arg::pure("max", "MAX")]),
    Arg::new("count", ArgType::Integer)
        .token("COUNT")
        .optional(),
];

const ZRANDMEMBER_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::block(
        "options",
        &[
            Arg::new("count", ArgType::Integer),
            Arg::pure("withscores", "WITHSCORES").optional(),
        ],
    )
    .optional(),
];

const ZUNION_ARGS: &[Arg] = &[
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 0).multiple(),
    Arg::new("weight", ArgType::Integer)
        .token("WEIGHTS")
        .optional()
        .multiple(),
    Arg::one_of(
        "aggregate",
        &[
            Arg::pure("sum", "SUM"),
            Arg::pure("min", "MIN"),
            Arg::pure("max", "MAX"),
        ],
    )
    .token("AGGREGATE")
    .optional(),
    Arg::pure("withscores", "WITHSCORES").optional(),
];

const ZUNIONSTORE_ARGS: &[Arg] = &[
    Arg::key("destination", 0),
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 1).multiple(),
    Arg::new("weight", ArgType::Integer)
        .token("WEIGHTS")
        .optional()
        .multiple(),
    Arg::one_of(
        "aggregate",
        &[
            Arg::pure("sum", "SUM"),
            Arg::pure("min", "MIN"),
            Arg::pure("max", "MAX"),
        ],
    )
    .token("AGGREGATE")
    .optional(),
];

const ZINTER_ARGS: &[Arg] = &[
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 0).multiple(),
    Arg::new("weight", ArgType::Integer)
        .token("WEIGHTS")
        .optional()
        .multiple(),
    Arg::one_of(
        "aggregate",
        &[
            Arg::pure("sum", "SUM"),
            Arg::pure("min", "MIN"),
            Arg::pure("max", "MAX"),
        ],
    )
    .token("AGGREGATE")
    .optional(),
    Arg::pure("withscores", "WITHSCORES").optional(),
];

const ZINTERSTORE_ARGS: &[Arg] = &[
    Arg::key("destination", 0),
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 1).multiple(),
    Arg::new("weight", ArgType::Integer)
        .token("WEIGHTS")
        .optional()
        .multiple(),
    Arg::one_of(
        "aggregate",
        &[
            Arg::pure("sum", "SUM"),
            Arg::pure("min", "MIN"),
            Arg::pure("max", "MAX"),
        ],
    )
    .token("AGGREGATE")
    .optional(),
];

const ZINTERCARD_ARGS: &[Arg] = &[
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 0).multiple(),
    Arg::new("limit", ArgType::Integer)
        .token("LIMIT")
        .optional(),
];

const ZDIFF_ARGS: &[Arg] = &[
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 0).multiple(),
    Arg::pure("withscores", "WITHSCORES").optional(),
];

const ZDIFFSTORE_ARGS: &[Arg] = &[
    Arg::key("destination", 0),
    Arg::new("numkeys", ArgType::Integer),
    Arg::key("key", 1).multiple(),
];


/// The sorted set group's table rows.
pub const COMMANDS: &[Command] = &[
    Command {
        args: ZADD_ARGS,
        history: &[
            ("2.4.0", "Accepts multiple elements."),
            ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."),
            ("6.2.0", "Added the `GT` and `LT` options."),
        ],
        ..row(
            "zadd",
            -4,
            WRITE | DENYOOM | FAST,
            zadd,
            "1.2.0",
            "Add one or more members to a sorted set, or update its score if it already exists",
            "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
            KEY1,
            KS_RW_UPDATE,
        )
    },
    Command {
        args: ZINCRBY_ARGS,
        ..row(
            "zincrby",
            4,
            WRITE | DENYOOM | FAST,
            zincrby,
            "1.2.0",
            "Increment the score of a member in a sorted set",
            LOGN,
            KEY1,
            KS_RW_ACCESS_UPDATE,
        )
    },
    Command {
        args: ZREM_ARGS,
        history: &[("2.4.0", "Accepts multiple elements.")],
        ..row(
            "zrem",
            -3,
            WRITE | FAST,
            zrem,
            "1.2.0",
            "Remove one or more members from a sorted set",
            "O(M*log(N)) with N being the number of elements in the sorted set and M the number of \
         elements to be removed.",
            KEY1,
            KS_RW_DELETE,
        )
    },
    Command {
        args: ZCARD_ARGS,
        ..row(
            "zcard",
            2,
            READONLY | FAST,
            zcard,
            "1.2.0",
            "Get the number of members in a sorted set",
            "O(1)",
            KEY1,
            KS_RO_ONLY,
        )
    },
    Command {
        args: ZCOUNT_ARGS,
        ..row(
            "zcount",
            4,
            READONLY | FAST,
            zcount,
            "2.0.0",
            "Count the members in a sorted set with scores within the given values",
            LOGN_WITH,
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZLEXCOUNT_ARGS,
        ..row(
            "zlexcount",
            4,
            READONLY | FAST,
            zlexcount,
            "2.8.9",
            "Count the number of members in a sorted set between a given lexicographical range",
            LOGN_WITH,
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZSCORE_ARGS,
        ..row(
            "zscore",
            3,
            READONLY | FAST,
            zscore,
            "1.2.0",
            "Get the score associated with the given member in a sorted set",
            "O(1)",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZMSCORE_ARGS,
        ..row(
            "zmscore",
            -3,
            READONLY | FAST,
            zmscore,
            "6.2.0",
            "Get the score associated with the given members in a sorted set",
            "O(N) where N is the number of members being requested.",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZRANK_ARGS,
        ..row(
            "zrank",
            3,
            READONLY | FAST,
            zrank,
            "2.0.0",
            "Determine the index of a member in a sorted set",
            "O(log(N))",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZREVRANK_ARGS,
        ..row(
            "zrevrank",
            3,
            READONLY | FAST,
            zrevrank,
            "2.0.0",
            "Determine the index of a member in a sorted set, with scores ordered from high to low",
            "O(log(N))",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZRANGE_ARGS,
        history: &[(
            "6.2.0",
            "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.",
        )],
        ..row(
            "zrange",
            -4,
            READONLY,
            zrange,
            "1.2.0",
            "Return a range of members in a sorted set",
            RANGE_CX,
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZRANGESTORE_ARGS,
        ..row(
            "zrangestore",
            -5,
            WRITE | DENYOOM,
            zrangestore,
            "6.2.0",
            "Store a range of members from sorted set into another key",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements stored into the destination key.",
            KEY1_2,
            KS_RANGESTORE,
        )
    },
    Command {
        args: ZREVRANGE_ARGS,
        deprecated_since: "6.2.0",
        replaced_by: "`ZRANGE` with the `REV` argument",
        doc_flags: doc_flags::DEPRECATED,
        ..row(
            "zrevrange",
            -4,
            READONLY,
            zrevrange,
            "1.2.0",
            "Return a range of members in a sorted set, by index, with scores ordered from high to low",
            RANGE_CX,
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZRANGEBYSCORE_ARGS,
        history: &[("2.0.0", "Added the `WITHSCORES` modifier.")],
        deprecated_since: "6.2.0",
        replaced_by: "`ZRANGE` with the `BYSCORE` argument",
        doc_flags: doc_flags::DEPRECATED,
        ..row(
            "zrangebyscore",
            -4,
            READONLY,
            zrangebyscore,
            "1.0.5",
            "Return a range of members in a sorted set, by score",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements being returned. If M is constant (e.g. always asking for the first 10 elements \
         with LIMIT), you can consider it O(log(N)).",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZREVRANGEBYSCORE_ARGS,
        history: &[("2.1.6", "`min` and `max` can be exclusive.")],
        deprecated_since: "6.2.0",
        replaced_by: "`ZRANGE` with the `REV` and `BYSCORE` arguments",
        doc_flags: doc_flags::DEPRECATED,
        ..row(
            "zrevrangebyscore",
            -4,
            READONLY,
            zrevrangebyscore,
            "2.2.0",
            "Return a range of members in a sorted set, by score, with scores ordered from high to low",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements being returned. If M is constant (e.g. always asking for the first 10 elements \
         with LIMIT), you can consider it O(log(N)).",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZRANGEBYLEX_ARGS,
        deprecated_since: "6.2.0",
        replaced_by: "`ZRANGE` with the `BYLEX` argument",
        doc_flags: doc_flags::DEPRECATED,
        ..row(
            "zrangebylex",
            -4,
            READONLY,
            zrangebylex,
            "2.8.9",
            "Return a range of members in a sorted set, by lexicographical range",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements being returned. If M is constant (e.g. always asking for the first 10 elements \
         with LIMIT), you can consider it O(log(N)).",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZREVRANGEBYLEX_ARGS,
        deprecated_since: "6.2.0",
        replaced_by: "`ZRANGE` with the `REV` and `BYLEX` arguments",
        doc_flags: doc_flags::DEPRECATED,
        ..row(
            "zrevrangebylex",
            -4,
            READONLY,
            zrevrangebylex,
            "2.8.9",
            "Return a range of members in a sorted set, by lexicographical range, ordered from \
         higher to lower strings.",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements being returned. If M is constant (e.g. always asking for the first 10 elements \
         with LIMIT), you can consider it O(log(N)).",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZREMRANGEBYRANK_ARGS,
        ..row(
            "zremrangebyrank",
            4,
            WRITE,
            zremrangebyrank,
            "2.0.0",
            "Remove all members in a sorted set within the given indexes",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements removed by the operation.",
            KEY1,
            KS_RW_DELETE,
        )
    },
    Command {
        args: ZREMRANGEBYSCORE_ARGS,
        ..row(
            "zremrangebyscore",
            4,
            WRITE,
            zremrangebyscore,
            "1.2.0",
            "Remove all members in a sorted set within the given scores",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements removed by the operation.",
            KEY1,
            KS_RW_DELETE,
        )
    },
    Command {
        args: ZREMRANGEBYLEX_ARGS,
        ..row(
            "zremrangebylex",
            4,
            WRITE,
            zremrangebylex,
            "2.8.9",
            "Remove all members in a sorted set between the given lexicographical range",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements removed by the operation.",
            KEY1,
            KS_RW_DELETE,
        )
    },
    Command {
        args: ZPOPMIN_ARGS,
        ..row(
            "zpopmin",
            -2,
            WRITE | FAST,
            zpopmin,
            "5.0.0",
            "Remove and return members with the lowest scores in a sorted set",
            "O(log(N)*M) with N being the number of elements in the sorted set, and M being the \
         number of elements popped.",
            KEY1,
            KS_RW_ACCESS_DELETE,
        )
    },
    Command {
        args: ZPOPMAX_ARGS,
        ..row(
            "zpopmax",
            -2,
            WRITE | FAST,
            zpopmax,
            "5.0.0",
            "Remove and return members with the highest scores in a sorted set",
            "O(log(N)*M) with N being the number of elements in the sorted set, and M being the \
         number of elements popped.",
            KEY1,
            KS_RW_ACCESS_DELETE,
        )
    },
    Command {
        args: ZMPOP_ARGS,
        ..row(
            "zmpop",
            -4,
            WRITE,
            zmpop,
            "7.0.0",
            "Remove and return members with scores in a sorted set",
            "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of \
         elements in the sorted set, and M being the number of elements popped.",
            KeySpec::Custom(keys_numkeys_at_1),
            KS_NUMKEYS_POP,
        )
    },
    Command {
        tips: &["nondeterministic_output"],
        args: ZRANDMEMBER_ARGS,
        ..row(
            "zrandmember",
            -2,
            READONLY,
            zrandmember,
            "6.2.0",
            "Get one or multiple random elements from a sorted set",
            "O(N) where N is the number of elements returned",
            KEY1,
            KS_RO,
        )
    },
    Command {
        args: ZUNION_ARGS,
        ..row(
            "zunion",
            -3,
            READONLY,
            zunion,
            "6.2.0",
            "Add multiple sorted sets",
            "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M \
         being the number of elements in the resulting sorted set.",
            KeySpec::Custom(keys_numkeys_at_1),
            KS_NUMKEYS_RO,
        )
    },
    Command {
        args: ZUNIONSTORE_ARGS,
        ..row(
            "zunionstore",
            -4,
            WRITE | DENYOOM,
            zunionstore,
            "2.0.0",
            "Add multiple sorted sets and store the resulting sorted set in a new key",
            "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M \
         being the number of elements in the resulting sorted set.",
            KeySpec::Custom(keys_dst_numkeys),
            KS_STORE_NUMKEYS,
        )
    },
    Command {
        args: ZINTER_ARGS,
        ..row(
            "zinter",
            -3,
            READONLY,
            zinter,
            "6.2.0",
            "Intersect multiple sorted sets",
            "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the \
         number of input sorted sets and M being the number of elements in the resulting \
         sorted set.",
            KeySpec::Custom(keys_numkeys_at_1),
            KS_NUMKEYS_RO,
        )
    },
    Command {
        args: ZINTERSTORE_ARGS,
        ..row(
            "zinterstore",
            -4,
            WRITE | DENYOOM,
            zinterstore,
            "2.0.0",
            "Intersect multiple sorted sets and store the resulting sorted set in a new key",
            "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the \
         number of input sorted sets and M being the number of elements in the resulting \
         sorted set.",
            KeySpec::Custom(keys_dst_numkeys),
            KS_STORE_NUMKEYS,
        )
    },
    Command {
        args: ZINTERCARD_ARGS,
        ..row(
            "zintercard",
            -3,
            READONLY,
            zintercard,
            "7.0.0",
            "Intersect multiple sorted sets and return the cardinality of the result",
            "O(N*K) worst case with N being the smallest input sorted set, K being the number of \
         input sorted sets.",
            KeySpec::Custom(keys_numkeys_at_1),
            KS_NUMKEYS_RO,
        )
    },
    Command {
        args: ZDIFF_ARGS,
        ..row(
            "zdiff",
            -3,
            READONLY,
            zdiff,
            "6.2.0",
            "Subtract multiple sorted sets",
            "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, \
         N is the size of the first set, and K is the size of the result set.",
            KeySpec::Custom(keys_numkeys_at_1),
            KS_NUMKEYS_RO,
        )
    },
    Command {
        args: ZDIFFSTORE_ARGS,
        ..row(
            "zdiffstore",
            -4,
            WRITE | DENYOOM,
            zdiffstore,
            "6.2.0",
            "Subtract multiple sorted sets and store the resulting sorted set in a new key",
            "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, \
         N is the size of the first set, and K is the size of the result set.",
            KeySpec::Custom(keys_dst_numkeys),
            KS_STORE_NUMKEYS,
        )
    },
    Command {
        tips: &["nondeterministic_output"],
        args: crate::cmd::keys::ELEMENT_SCAN_ARGS,
        ..row(
            "zscan",
            -3,
            READONLY,
            zscan,
            "2.8.0",
            "Incrementally iterate sorted sets elements \
            and associated scores",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls \
             for the cursor to return back to 0. N is the number of elements inside the \
             collection..",
            KEY1,
            KS_RO,
        )
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::testing::Harness;
    use crate::protocol::reply::Value as R;

    fn bulk(s: &str) -> R {
        R::Bulk(s.as_bytes().to_vec())
    }

    fn bulks(items: &[&str]) -> R {
        R::Array(items.iter().map(|s| bulk(s)).collect())
    }

    #[test]
    fn plain_integer_scores_parse_as_strtod_does() {
        for t in [
            "0", "-0", "7", "-7", "007", "-007", "99999", "123456789012345", "-999999999999999",
        ] {
            let fast = parse_plain_int(t.as_bytes()).expect(t);
            let (slow, used, _) = c_strtod(t.as_bytes());
            assert_eq!(used, t.len());
            assert_eq!(fast.to_bits(), slow.to_bits(), "{t}");
            assert_eq!(parse_score(t.as_bytes()).map(f64::to_bits), Some(slow.to_bits()));
        }
        // Everything else goes to strtod (and its rules).
        for t in ["", "-", "+5", " 5", "5 ", "1.5", "1e3", "0x10", "1234567890123456", "--1", "5a"] {
            assert_eq!(parse_plain_int(t.as_bytes()), None, "{t}");
        }
        assert_eq!(parse_score(b"+5"), Some(5.0));
        assert_eq!(parse_score(b"1234567890123456"), Some(1234567890123456.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b" 5"), None);
        assert_eq!(parse_score(b"5 "), None);
        assert_eq!(parse_score(b"-"), None);
        assert_eq!(parse_score(b""), None);
    }

    #[test]
    fn score_formatting_matches_printf() {
        let mut b = [0u8; 32];
        for (v, want) in [
            (1.5, "1.5"),
            (1.1, "1.1000000000000001"),
            (-0.0, "-0"),
            (0.0, "0"),
            (3.0, "3"),
            (1e17, "1e+17"),
            (123456789012345.0, "123456789012345"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(fmt_score(v, &mut b), want.as_bytes(), "{v}");
        }
    }

    #[test]
    fn score_parsing_follows_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_range_end(b"(1"), Some((1.0, true)));
        assert_eq!(parse_range_end(b""), Some((0.0, false)));
        assert_eq!(parse_range_end(b" 2"), Some((2.0, false)));
        assert_eq!(parse_range_end(b"str"), None);
        assert_eq!(parse_range_end(b"NaN"), None);
    }

    #[test]
    fn zadd_options_and_errors() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["ZADD", "z", "1", "a", "2", "b"]), R::Int(2));
        assert_eq!(
            h.run(&["ZADD", "z", "XX", "NX", "1", "a"]),
            R::Error("ERR XX and NX options at the same time are not compatible".into())
        );
        assert_eq!(
            h.run(&["ZADD", "z", "GT", "LT", "1", "a"]),
            R::Error("ERR GT, LT, and/or NX options at the same time are not compatible".into())
        );
        assert_eq!(
            h.run(&["ZADD", "z", "INCR", "1", "a", "2", "b"]),
            R::Error("ERR INCR option supports a single increment-element pair".into())
        );
        assert_eq!(
            h.run(&["ZADD", "z", "nan", "a"]),
            R::Error("ERR value is not a valid float".into())
        );
        assert_eq!(
            h.run(&["ZADD", "z", "NX", "1"]),
            R::Error("ERR syntax error".into())
        );
        assert_eq!(h.run(&["ZADD", "z", "CH", "5", "a", "3", "c"]), R::Int(2));
        assert_eq!(h.run(&["ZADD", "z", "GT", "CH", "1", "a"]), R::Int(0));
        assert_eq!(h.run(&["ZADD", "z", "INCR", "GT", "-1", "a"]), R::Null);
        assert_eq!(h.run(&["ZADD", "z", "INCR", "2.5", "a"]), bulk("7.5"));
        assert_eq!(h.run(&["ZADD", "z", "inf", "i"]), R::Int(1));
        assert_eq!(
            h.run(&["ZINCRBY", "z", "-inf", "i"]),
            R::Error("ERR resulting score is not a number (NaN)".into())
        );
        assert_eq!(h.run(&["ZADD", "nokey", "XX", "1", "a"]), R::Int(0));
        assert_eq!(h.run(&["EXISTS", "nokey"]), R::Int(0));
        h.run(&["SET", "s", "x"]);
        assert_eq!(
            h.run(&["ZADD", "s", "1", "a"]),
            R::Error(errors::WRONGTYPE.into())
        );
    }

    #[test]
    fn ranges_by_rank_score_and_lex() {
        let mut h = Harness::new();
        h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        assert_eq!(
            h.run(&["ZRANGE", "z", "0", "-1"]),
            bulks(&["a", "b", "c", "d"])
        );
        assert_eq!(
            h.run(&["ZREVRANGE", "z", "0", "1", "WITHSCORES"]),
            bulks(&["d", "4", "c", "3"])
        );
        assert_eq!(
            h.run(&["ZRANGEBYSCORE", "z", "(1", "3"]),
            bulks(&["b", "c"])
        );
        assert_eq!(
            h.run(&["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2"]),
            bulks(&["c", "b"])
        );
        assert_eq!(
            h.run(&["ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "1"]),
            bulks(&["b"])
        );
        assert_eq!(h.run(&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"]), R::Error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX".into()));
        assert_eq!(
            h.run(&["ZRANGEBYSCORE", "z", "x", "1"]),
            R::Error("ERR min or max is not a float".into())
        );
        assert_eq!(h.run(&["ZCOUNT", "z", "2", "(4"]), R::Int(2));
        h.run(&["ZADD", "l", "0", "a", "0", "b", "0", "c"]);
        assert_eq!(h.run(&["ZRANGEBYLEX", "l", "(a", "+"]), bulks(&["b", "c"]));
        assert_eq!(
            h.run(&["ZREVRANGEBYLEX", "l", "[b", "-"]),
            bulks(&["b", "a"])
        );
        assert_eq!(h.run(&["ZLEXCOUNT", "l", "-", "+"]), R::Int(3));
        assert_eq!(
            h.run(&["ZRANGEBYLEX", "l", "a", "+"]),
            R::Error("ERR min or max not valid string range item".into())
        );
        assert_eq!(h.run(&["ZRANK", "z", "c"]), R::Int(2));
        assert_eq!(h.run(&["ZREVRANK", "z", "c"]), R::Int(1));
        assert_eq!(h.run(&["ZRANK", "z", "x"]), R::Null);
    }

    #[test]
    fn removal_deletes_emptied_keys() {
        let mut h = Harness::new();
        h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(h.run(&["ZREMRANGEBYSCORE", "z", "2", "2"]), R::Int(1));
        assert_eq!(h.run(&["ZREMRANGEBYRANK", "z", "0", "0"]), R::Int(1));
        assert_eq!(h.run(&["ZREM", "z", "c", "x"]), R::Int(1));
        assert_eq!(h.run(&["EXISTS", "z"]), R::Int(0));
        h.run(&["ZADD", "z", "1", "a", "2", "b"]);
        assert_eq!(h.run(&["ZPOPMAX", "z", "5"]), bulks(&["b", "2", "a", "1"]));
        assert_eq!(h.run(&["EXISTS", "z"]), R::Int(0));
        assert_eq!(h.run(&["ZPOPMIN", "z"]), R::Array(vec![]));
        assert_eq!(
            h.run(&["ZPOPMIN", "z", "-1"]),
            R::Error("ERR value is out of range, must be positive".into())
        );
    }

    #[test]
    fn created_encoding_shows_in_negative_zero() {
        // Redis 7.0 creates a ZADD key as a listpack from its first member alone; members
        // added before the conversion lose the sign of zero, later ones keep it.
        let mut h = Harness::new();
        assert_eq!(
            h.run(&["CONFIG", "SET", "zset-max-listpack-entries", "1"]),
            R::Simple("OK".into())
        );
        assert_eq!(h.run(&["ZADD", "z", "-0", "b", "-0", "aa"]), R::Int(2));
        assert_eq!(h.run(&["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
        assert_eq!(
            h.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
            bulks(&["aa", "-0", "b", "0"])
        );
        // ZRANGESTORE feeds its destination in reply order.
        assert_eq!(
            h.run(&["ZRANGESTORE", "d", "z", "+inf", "-inf", "BYSCORE", "REV"]),
            R::Int(2)
        );
        assert_eq!(
            h.run(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
            bulks(&["aa", "-0", "b", "0"])
        );
    }

    #[test]
    fn zrandmember_bounds() {
        let mut h = Harness::new();
        h.run(&["ZADD", "z", "1", "a", "2", "b"]);
        assert_eq!(h.run(&["ZRANDMEMBER", "z", "0"]), R::Array(vec![]));
        assert_eq!(
            h.run(&["ZRANDMEMBER", "nokey", "-300000000"]),
            R::Array(vec![])
        );
        assert_eq!(
            h.run(&["ZRANDMEMBER", "z", "-300000000"]),
            R::Error("ERR value is out of range".into())
        );
        let R::Array(picks) = h.run(&["ZRANDMEMBER", "z", "-7"]) else {
            panic!()
        };
        assert_eq!(picks.len(), 7);
        assert!(picks.iter().all(|p| *p == bulk("a") || *p == bulk("b")));
        let R::Array(all) = h.run(&["ZRANDMEMBER", "z", "5", "WITHSCORES"]) else {
            panic!()
        };
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn zmpop_and_store_commands() {
        let mut h = Harness::new();
        h.run(&["ZADD", "a", "1", "x", "2", "y"]);
        h.run(&["ZADD", "b", "3", "y", "4", "z"]);
        assert_eq!(h.run(&["ZUNIONSTORE", "u", "2", "a", "b"]), R::Int(3));
        assert_eq!(
            h.run(&["ZRANGE", "u", "0", "-1", "WITHSCORES"]),
            bulks(&["x", "1", "z", "4", "y", "5"])
        );
        assert_eq!(
            h.run(&["ZINTER", "2", "a", "b", "WEIGHTS", "2", "3", "WITHSCORES"]),
            bulks(&["y", "13"])
        );
        assert_eq!(h.run(&["ZDIFF", "2", "a", "b"]), bulks(&["x"]));
        assert_eq!(
            h.run(&["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"]),
            R::Error("ERR LIMIT can't be negative".into())
        );
        assert_eq!(
            h.run(&["ZUNION", "0", "a"]),
            R::Error("ERR at least 1 input key is needed for 'zunion' command".into())
        );
        assert_eq!(h.run(&["ZRANGESTORE", "r", "u", "1", "-1"]), R::Int(2));
        assert_eq!(h.run(&["OBJECT", "ENCODING", "r"]), bulk("listpack"));
        assert_eq!(
            h.run(&["ZMPOP", "2", "none", "r", "MAX", "COUNT", "5"]),
            R::Array(vec![
                bulk("r"),
                R::Array(vec![bulks(&["y", "5"]), bulks(&["z", "4"])]),
            ])
        );
        assert_eq!(h.run(&["ZMPOP", "1", "none", "MIN"]), R::NullArray);
        assert_eq!(
            h.run(&["ZMPOP", "0", "a", "MIN"]),
            R::Error("ERR numkeys should be greater than 0".into())
        );
    }
}
