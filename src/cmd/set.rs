//! The set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER,
//! SMOVE, the algebra (SINTER, SINTERCARD, SUNION, SDIFF and their STORE forms) and SSCAN.
//!
//! The data structure is `store::types::set` (intset, then hashtable); this file parses,
//! looks keys up, and replies. The algebra is one function per operation behind thin wrappers,
//! with Redis's algorithms and their reply orders: SINTER walks the smallest set, SDIFF picks
//! between walking the first set and subtracting the others by estimated work, and a result
//! set is built as Redis builds it (an intset while it can be), so a STORE destination gets
//! the encoding Redis would give it. SPOP and SRANDMEMBER with a count follow Redis's code
//! paths (whole set, pop one by one, or rebuild the remainder; repeated picks, whole set, a
//! shuffled copy, or picks until enough distinct ones).
//!
//! Replies that Redis sends as sets (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count) are
//! RESP3 sets; SRANDMEMBER and SMISMEMBER reply arrays. `ks.dirty` moves as `server.dirty`.

use std::sync::atomic::Ordering;

use crate::cmd::keys::{ScanOpts, parse_cursor, parse_scan_opts};
use crate::command::table::{Arg, ArgType, KeySpecDef, key_flags as kf};
use crate::config::notify;
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::Reply;
use crate::protocol::errors;
use crate::store::Keyspace;
use crate::store::types::set::{Elem, Set};
use crate::store::value::Value;
use crate::util::glob::glob_match;
use crate::util::parse_i64_strict;

// ---- shared helpers ----

/// Returns `set-max-intset-entries` as mirrored into the store.
#[inline]
fn max_intset(ctx: &Ctx) -> u64 {
    ctx.server.store.tunables.set_max_intset_entries.load(Ordering::Relaxed)
}

/// Replies one member as a bulk string.
#[inline]
fn reply_elem(out: &mut Reply, e: Elem<'_>) {
    match e {
        Elem::Int(n) => out.bulk_int(n),
        Elem::Str(s) => out.bulk(s),
    }
}

/// Appends one member to `body` as a bulk string (same bytes in RESP2 and RESP3), for replies
/// whose length is known only at the end.
fn push_bulk(body: &mut Vec<u8>, e: Elem<'_>) {
    let mut tmp = itoa::Buffer::new();
    let b = e.bytes(&mut tmp);
    let mut n = itoa::Buffer::new();
    body.push(b'$');
    body.extend_from_slice(n.format(b.len()).as_bytes());
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(b);
    body.extend_from_slice(b"\r\n");
}

/// Replies every member of `s` as a set.
fn reply_set(out: &mut Reply, s: &Set) {
    out.set(s.len());
    s.for_each_elem(|e| reply_elem(out, e));
}

/// What a lookup of a key that must hold a set found.
enum Found<'a> {
    Missing,
    Set(&'a mut Set),
    WrongType,
}

/// Looks `key` up for writing.
fn set_mut<'a>(ks: &'a mut Keyspace, key: &[u8]) -> Found<'a> {
    match ks.get_mut(key) {
        None => Found::Missing,
        Some(Value::Set(s)) => Found::Set(s),
        Some(_) => Found::WrongType,
    }
}

// ---- single-set commands ----

/// SADD key member [member ...]
fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let max = max_intset(ctx);
    let added = match set_mut(&mut ctx.ks, key) {
        Found::Set(s) => argv[2..].iter().filter(|m| s.add(m, max)).count(),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => {
            let mut s = Set::for_member(argv[2]);
            let n = argv[2..].iter().filter(|m| s.add(m, max)).count();
            let db = ctx.ks.db;
            ctx.ks.insert_in(db, key, Value::Set(Box::new(s)), None);
            n
        }
    };
    ctx.ks.dirty += added as u64;
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.out.int(added as i64);
}

/// SREM key member [member ...]
fn srem(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let (removed, emptied) = match set_mut(&mut ctx.ks, key) {
        Found::Missing => return ctx.out.int(0),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Set(s) => {
            let mut n = 0;
            for m in &argv[2..] {
                if s.remove(m) {
                    n += 1;
                    if s.is_empty() {
                        break;
                    }
                }
            }
            (n, s.is_empty())
        }
    };
    if removed > 0 {
        ctx.notify(notify::SET, "srem", key);
    }
    if emptied {
        let db = ctx.ks.db;
        ctx.ks.remove_in(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.ks.dirty += removed;
    ctx.out.int(removed as i64);
}

/// SMEMBERS key
fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]) {
        None => ctx.out.set(0),
        Some(Value::Set(s)) => reply_set(ctx.out, s),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]) {
        None => ctx.out.int(0),
        Some(Value::Set(s)) => ctx.out.int(s.contains(argv[2]) as i64),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) {
    let set = match ctx.ks.get(argv[1]) {
        None => None,
        Some(Value::Set(s)) => Some(s),
        Some(_) => return ctx.out.error(errors::WRONGTYPE),
    };
    ctx.out.array(argv.len() - 2);
    for m in &argv[2..] {
        ctx.out.int(set.is_some_and(|s| s.contains(m)) as i64);
    }
}

/// SCARD key
fn scard(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.get(argv[1]) {
        None => ctx.out.int(0),
        Some(Value::Set(s)) => ctx.out.int(s.len() as i64),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// SPOP with a count turns to rebuilding the set from what stays once the members left are
/// fewer than this many times the count (Redis's `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// SPOP key [count]
fn spop(ctx: &mut Ctx, argv: &[&[u8]]) {
    match argv.len() {
        2 => {}
        3 => return spop_count(ctx, argv),
        _ => return ctx.syntax_error(),
    }
    let key = argv[1];
    let prop = ctx.propagating();
    let mut popped = None;
    let emptied = match set_mut(&mut ctx.ks, key) {
        Found::Missing => return ctx.out.null(),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Set(s) => {
            match s.pop_random(&mut rand::rng()) {
                Some(p) => {
                    reply_elem(ctx.out, p.elem());
                    if prop {
                        popped = Some(elem_vec(p.elem()));
                    }
                }
                None => ctx.out.null(),
            }
            s.is_empty()
        }
    };
    ctx.notify(notify::SET, "spop", key);
    if emptied {
        let db = ctx.ks.db;
        ctx.ks.remove_in(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.ks.dirty += 1;
    if let Some(m) = popped {
        ctx.propagate_as(&[b"SREM", key, &m]);
    }
}

/// Returns a member's bytes (integers of an intset as decimal text).
fn elem_vec(e: Elem) -> Vec<u8> {
    match e {
        Elem::Int(x) => itoa::Buffer::new().format(x).as_bytes().to_vec(),
        Elem::Str(b) => b.to_vec(),
    }
}

/// SPOP key count
fn spop_count(ctx: &mut Ctx, argv: &[&[u8]]) {
    let count = match parse_i64_strict(argv[2]) {
        Some(n) if n >= 0 => n as usize,
        _ => return ctx.out.error(errors::POSITIVE),
    };
    let key = argv[1];
    let max = max_intset(ctx);
    let mut rng = rand::rng();
    // Propagated as one SREM per member popped (a whole set as DEL), as Redis does.
    let prop = ctx.propagating();
    let mut popped: Vec<Vec<u8>> = Vec::new();
    let emptied = match set_mut(&mut ctx.ks, key) {
        Found::Missing => return ctx.out.set(0),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Set(_) if count == 0 => return ctx.out.set(0),
        Found::Set(s) => {
            let size = s.len();
            if count >= size {
                // The whole set goes.
                reply_set(ctx.out, s);
                true
            } else {
                ctx.out.set(count);
                let remaining = size - count;
                if remaining * SPOP_MOVE_STRATEGY_MUL > count {
                    for _ in 0..count {
                        if let Some(p) = s.pop_random(&mut rng) {
                            reply_elem(ctx.out, p.elem());
                            if prop {
                                popped.push(elem_vec(p.elem()));
                            }
                        }
                    }
                } else {
                    // Most of the set goes: move the few members that stay to a new set
                    // (whose encoding is chosen afresh, as Redis does) and reply the rest.
                    let mut keep: Option<Set> = None;
                    for _ in 0..remaining {
                        let Some(p) = s.pop_random(&mut rng) else {
                            break;
                        };
                        let e = p.elem();
                        let k = keep.get_or_insert_with(|| match e {
                            Elem::Int(_) => Set::new(),
                            Elem::Str(b) => Set::for_member(b),
                        });
                        k.add_elem(e, max);
                    }
                    reply_set_items(ctx.out, s);
                    if prop {
                        s.for_each_elem(|e| popped.push(elem_vec(e)));
                    }
                    if let Some(k) = keep {
                        *s = k;
                    }
                }
                false
            }
        }
    };
    // (Redis notes `spop` before popping; nothing comes in between.)
    ctx.notify(notify::SET, "spop", key);
    if emptied {
        let db = ctx.ks.db;
        ctx.ks.remove_in(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.ks.dirty += count as u64;
    if prop {
        if emptied {
            let lazy = ctx.server.store.tunables.lazy_server_del.load(Ordering::Relaxed);
            ctx.propagate_as(&[if lazy { b"UNLINK" } else { b"DEL" }, key]);
        } else {
            for m in &popped {
                ctx.also_propagate(&[b"SREM", key, m]);
            }
            ctx.prevent_propagation();
        }
    }
}

/// Replies every member of `s`, without a header (the caller wrote it).
fn reply_set_items(out: &mut Reply, s: &Set) {
    s.for_each_elem(|e| reply_elem(out, e));
}

/// SRANDMEMBER with a count that is at least this many times smaller than the set picks at
/// random until it has enough distinct members; otherwise it shuffles a copy
/// (Redis's `SRANDMEMBER_SUB_STRATEGY_MUL`).
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) {
    match argv.len() {
        2 => {}
        3 => return srandmember_count(ctx, argv),
        _ => return ctx.syntax_error(),
    }
    match ctx.ks.get(argv[1]) {
        None => ctx.out.null(),
        Some(Value::Set(s)) => match s.random(&mut rand::rng()) {
            Some(e) => reply_elem(ctx.out, e),
            None => ctx.out.null(),
        },
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// SRANDMEMBER key count
fn srandmember_count(ctx: &mut Ctx, argv: &[&[u8]]) {
    use rand::RngExt;
    let (count, unique) = match parse_i64_strict(argv[2]) {
        None => return ctx.out.error(errors::NOT_INTEGER),
        Some(i64::MIN) => {
            return ctx.out.error(&errors::out_of_range_between(-i64::MAX, i64::MAX));
        }
        Some(n) => (n.unsigned_abs() as usize, n >= 0),
    };
    let s = match ctx.ks.get(argv[1]) {
        None => return ctx.out.array(0),
        Some(Value::Set(s)) => s,
        Some(_) => return ctx.out.error(errors::WRONGTYPE),
    };
    let out = &mut *ctx.out;
    if count == 0 {
        return out.array(0);
    }
    let mut rng = rand::rng();
    // Repeats allowed: independent picks.
    if !unique || count == 1 {
        out.array(count);
        for _ in 0..count {
            if let Some(e) = s.random(&mut rng) {
                reply_elem(out, e);
            }
        }
        return;
    }
    let size = s.len();
    // The whole set.
    if count >= size {
        out.array(size);
        return reply_set_items(out, s);
    }
    // Close to the whole set: a partial shuffle of all the members.
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        let mut all: Vec<Elem> = Vec::with_capacity(size);
        s.for_each_elem(|e| all.push(e));
        out.array(count);
        for i in 0..count {
            let j = rng.random_range(i..all.len());
            all.swap(i, j);
            reply_elem(out, all[i]);
        }
        return;
    }
    // Much smaller than the set: pick until there are enough distinct members.
    let mut picked: std::collections::HashSet<Elem> =
        std::collections::HashSet::with_capacity(count);
    let mut order: Vec<Elem> = Vec::with_capacity(count);
    while order.len() < count {
        let Some(e) = s.random(&mut rng) else { break };
        if picked.insert(e) {
            order.push(e);
        }
    }
    out.array(order.len());
    for e in order {
        reply_elem(out, e);
    }
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (src, dst, member) = (argv[1], argv[2], argv[3]);
    match set_mut(&mut ctx.ks, src) {
        Found::Missing => return ctx.out.int(0),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Set(_) => {}
    }
    let dst_exists = match set_mut(&mut ctx.ks, dst) {
        Found::Missing => false,
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Set(_) => true,
    };
    if src == dst {
        let Found::Set(s) = set_mut(&mut ctx.ks, src) else {
            return ctx.out.int(0);
        };
        let is = s.contains(member);
        return ctx.out.int(is as i64);
    }
    let emptied = match set_mut(&mut ctx.ks, src) {
        Found::Set(s) => {
            if !s.remove(member) {
                return ctx.out.int(0);
            }
            s.is_empty()
        }
        _ => return ctx.out.int(0),
    };
    let db = ctx.ks.db;
    ctx.notify(notify::SET, "srem", src);
    if emptied {
        ctx.ks.remove_in(db, src);
        ctx.notify(notify::GENERIC, "del", src);
    }
    if !dst_exists {
        ctx.ks.insert_in(db, dst, Value::Set(Box::new(Set::for_member(member))), None);
    }
    ctx.ks.dirty += 1;
    let max = max_intset(ctx);
    if let Found::Set(d) = set_mut(&mut ctx.ks, dst)
        && d.add(member, max)
    {
        ctx.ks.dirty += 1;
        ctx.notify(notify::SET, "sadd", dst);
    } else {
        // The member was there already: for WATCH the destination is unchanged, as Redis
        // signals it only when the member is added (the source's change counts in `dirty`).
        ctx.ks.not_modified(dst);
    }
    ctx.out.int(1);
}

// ---- the algebra ----

/// What SINTER-like commands do with the intersection.
#[derive(Clone, Copy)]
enum InterTo<'a> {
    /// Reply it (SINTER, SMEMBERS of several keys).
    Reply,
    /// Reply its size, stopping at `limit` (0: no limit) (SINTERCARD).
    Card(usize),
    /// Store it at this key (SINTERSTORE).
    Store(&'a [u8]),
}

/// Collects the sets at `keys`: `Err(())` after replying WRONGTYPE when any key holds another
/// type (whichever key comes first, even after a missing one, as Redis checks them all).
fn collect_sets<'v>(
    vals: &[Option<&'v Value>],
    out: &mut Reply,
) -> Result<Vec<Option<&'v Set>>, ()> {
    let mut sets = Vec::with_capacity(vals.len());
    for v in vals {
        match v {
            None => sets.push(None),
            Some(Value::Set(s)) => sets.push(Some(&**s)),
            Some(_) => {
                out.error(errors::WRONGTYPE);
                return Err(());
            }
        }
    }
    Ok(sets)
}

/// Stores `result` at `dst` (or deletes `dst` when the result is empty) and replies its size;
/// `event` is the command's keyspace event (`sinterstore`, ...).
fn store_result(ctx: &mut Ctx, dst: &[u8], result: Set, event: &'static str) {
    let n = result.len();
    if n > 0 {
        ctx.ks.set(dst, Value::Set(Box::new(result)), false);
        ctx.notify(notify::SET, event, dst);
    } else if ctx.ks.delete(dst) {
        ctx.notify(notify::GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
}

/// The body of SINTER, SINTERCARD and SINTERSTORE (Redis's `sinterGenericCommand`).
fn sinter_generic(ctx: &mut Ctx, keys: &[&[u8]], to: InterTo) {
    let max = max_intset(ctx);
    // Read lookups even for SINTERSTORE (hits, misses and `keymiss`), as Redis's sources are.
    let vals = ctx.ks.get_many(keys, true);
    let Ok(sets) = collect_sets(&vals, ctx.out) else {
        return;
    };
    let mut sets: Vec<&Set> = match sets.into_iter().collect::<Option<Vec<_>>>() {
        Some(s) => s,
        // A missing key is an empty set: the intersection is empty.
        None => {
            drop(vals);
            return match to {
                InterTo::Reply => ctx.out.set(0),
                InterTo::Card(_) => ctx.out.int(0),
                InterTo::Store(dst) => store_result(ctx, dst, Set::new(), "sinterstore"),
            };
        }
    };
    // Walk the smallest set, probing the others.
    sets.sort_by_key(|s| s.len());
    let (first, rest) = (sets[0], &sets[1..]);
    let in_all = |e: Elem| rest.iter().all(|o| std::ptr::eq(*o, first) || o.contains_elem(e));
    match to {
        InterTo::Reply => {
            let mut body = Vec::new();
            let mut n = 0;
            first.for_each_elem(|e| {
                if in_all(e) {
                    push_bulk(&mut body, e);
                    n += 1;
                }
            });
            ctx.out.set(n);
            ctx.out.raw(&body);
        }
        InterTo::Card(limit) => {
            let mut n = 0;
            // Stop walking once the limit is reached; the walk itself cannot be cut short, so
            // skip the probes instead.
            first.for_each_elem(|e| {
                if (limit == 0 || n < limit) && in_all(e) {
                    n += 1;
                }
            });
            ctx.out.int(n as i64);
        }
        InterTo::Store(dst) => {
            let mut result = Set::new();
            first.for_each_elem(|e| {
                if in_all(e) {
                    result.add_elem(e, max);
                }
            });
            drop(vals);
            store_result(ctx, dst, result, "sinterstore");
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// The body of SUNION, SDIFF and their STORE forms (Redis's `sunionDiffGenericCommand`):
/// builds the result as a set, then replies it or stores it at `dst`.
fn sunion_diff_generic(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, op: SetOp) {
    let max = max_intset(ctx);
    // Read lookups even for the STORE forms, as Redis's `lookupKeyRead` of the sources.
    let vals = ctx.ks.get_many(keys, true);
    let Ok(sets) = collect_sets(&vals, ctx.out) else {
        return;
    };
    let mut result = Set::new();
    match op {
        SetOp::Union => {
            for s in sets.iter().flatten() {
                s.for_each_elem(|e| {
                    result.add_elem(e, max);
                });
            }
        }
        SetOp::Diff => {
            if let Some(first) = sets[0].filter(|s| !s.is_empty()) {
                let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
                // Walking the first set costs about |first| * sets / 2 probes; subtracting
                // the others costs the sum of their sizes. Take the cheaper, as Redis does.
                let walk = first.len() * (others.len() + 1) / 2;
                let subtract: usize = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
                if walk <= subtract {
                    // Probe the biggest sets first: they are the likeliest to hold the member.
                    let mut others = others;
                    others.sort_by_key(|s| std::cmp::Reverse(s.len()));
                    first.for_each_elem(|e| {
                        let gone =
                            others.iter().any(|o| std::ptr::eq(*o, first) || o.contains_elem(e));
                        if !gone {
                            result.add_elem(e, max);
                        }
                    });
                } else {
                    first.for_each_elem(|e| {
                        result.add_elem(e, max);
                    });
                    for o in others {
                        o.for_each_elem(|e| {
                            result.remove_elem(e);
                        });
                        if result.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
    }
    drop(vals);
    match dst {
        None => reply_set(ctx.out, &result),
        Some(dst) => {
            let event = if op == SetOp::Union { "sunionstore" } else { "sdiffstore" };
            store_result(ctx, dst, result, event)
        }
    }
}

/// SINTER key [key ...]
fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) {
    sinter_generic(ctx, &argv[1..], InterTo::Reply);
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    sinter_generic(ctx, &argv[2..], InterTo::Store(argv[1]));
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) {
    let numkeys = match parse_i64_strict(argv[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return ctx.out.error(errors::NUMKEYS_POSITIVE),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return ctx.out.error(errors::SET_NUMKEYS_TOO_MANY);
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"limit") && i + 1 < argv.len() {
            match parse_i64_strict(argv[i + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.out.error(errors::LIMIT_NEGATIVE),
            }
            i += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    sinter_generic(ctx, &argv[2..2 + numkeys], InterTo::Card(limit));
}

/// SUNION key [key ...]
fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[1..], None, SetOp::Union);
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[2..], Some(argv[1]), SetOp::Union);
}

/// SDIFF key [key ...]
fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[1..], None, SetOp::Diff);
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) {
    sunion_diff_generic(ctx, &argv[2..], Some(argv[1]), SetOp::Diff);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(mut cursor) = parse_cursor(argv[2]) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let s = match ctx.ks.get(argv[1]) {
        None => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            return ctx.out.array(0);
        }
        Some(Value::Set(s)) => s,
        Some(_) => return ctx.out.error(errors::WRONGTYPE),
    };
    let ScanOpts { count, pattern, .. } = match parse_scan_opts(argv, 3, false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let mut body = Vec::new();
    let (mut collected, mut kept) = (0usize, 0usize);
    // As Redis: at most ten buckets per element asked for, and COUNT counts what was
    // collected before the pattern filtered it.
    let mut steps_left = count.saturating_mul(10);
    loop {
        cursor = s.scan(cursor, |e| {
            collected += 1;
            let mut tmp = itoa::Buffer::new();
            if pattern.is_none_or(|p| glob_match(p, e.bytes(&mut tmp), false)) {
                push_bulk(&mut body, e);
                kept += 1;
            }
        });
        if cursor == 0 || steps_left == 0 || collected >= count {
            break;
        }
        steps_left -= 1;
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    ctx.out.array(kept);
    ctx.out.raw(&body);
}

// ---- the table ----

const KEY1: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const KEY1_2: KeySpec = KeySpec::Range { first: 1, last: 2, step: 1 };
const KEYS_ALL: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };

/// The keys of SINTERCARD: `numkeys` of them after the count. A bad count means no keys (the
/// handler refuses it before touching any).
fn sintercard_keys(argv: &[&[u8]]) -> Vec<usize> {
    match argv.get(1).and_then(|a| parse_i64_strict(a)) {
        Some(n) if n > 0 && (n as u64) <= (argv.len() - 2) as u64 => (2..2 + n as usize).collect(),
        _ => Vec::new(),
    }
}

const ACL: &[&str] = &["set"];
const NONDET: &[&str] = &["nondeterministic_output"];
const NONDET_ORDER: &[&str] = &["nondeterministic_output_order"];

const RW_INSERT: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::INSERT)];
const RW_DELETE: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::DELETE)];
const RW_ACCESS_DELETE: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::ACCESS | kf::DELETE)];
const RO: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RO)];
const RO_ACCESS: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RO | kf::ACCESS)];
const RO_ACCESS_ALL: &[KeySpecDef] = &[KeySpecDef::range(1, -1, 1, kf::RO | kf::ACCESS)];
const SMOVE_KEYS: &[KeySpecDef] = &[
    KeySpecDef::index(1, kf::RW | kf::ACCESS | kf::DELETE),
    KeySpecDef::index(2, kf::RW | kf::INSERT),
];
const SINTERCARD_KEYS: &[KeySpecDef] = &[KeySpecDef::keynum(1, kf::RO | kf::ACCESS)];
const SINTERSTORE_KEYS: &[KeySpecDef] =
    &[KeySpecDef::index(1, kf::RW | kf::UPDATE), KeySpecDef::range(2, -1, 1, kf::RO | kf::ACCESS)];
const STORE_KEYS: &[KeySpecDef] =
    &[KeySpecDef::index(1, kf::OW | kf::UPDATE), KeySpecDef::range(2, -1, 1, kf::RO | kf::ACCESS)];

const KEY_ARG: &[Arg] = &[Arg::key("key", 0)];
const KEY_MEMBER_ARGS: &[Arg] = &[Arg::key("key", 0), Arg::new("member", ArgType::String)];
const KEY_MEMBERS_ARGS: &[Arg] =
    &[Arg::key("key", 0), Arg::new("member", ArgType::String).multiple()];
const KEYS_ARG: &[Arg] = &[Arg::key("key", 0).multiple()];
const STORE_ARGS: &[Arg] = &[Arg::key("destination", 0), Arg::key("key", 1).multiple()];
const MEMBERS_HISTORY: &[(&str, &str)] = &[("2.4.0", "Accepts multiple `member` arguments.")];
const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const UNION_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

/// The set group's table rows.
pub const COMMANDS: &[Command] = &[
    Command {
        keys: KEY1,
        group: "set",
        summary: "Add one or more members to a set",
        complexity: "O(1) for each element added, so O(N) to add N elements when the command is \
                     called with multiple arguments.",
        acl: ACL,
        key_specs: RW_INSERT,
        args: KEY_MEMBERS_ARGS,
        history: MEMBERS_HISTORY,
        ..Command::new("sadd", -3, WRITE | DENYOOM | FAST, sadd)
    },
    Command {
        keys: KEY1,
        group: "set",
        summary: "Remove one or more members from a set",
        complexity: "O(N) where N is the number of members to be removed.",
        acl: ACL,
        key_specs: RW_DELETE,
        args: KEY_MEMBERS_ARGS,
        history: MEMBERS_HISTORY,
        ..Command::new("srem", -3, WRITE | FAST, srem)
    },
    Command {
        keys: KEY1,
        group: "set",
        summary: "Get all the members in a set",
        complexity: "O(N) where N is the set cardinality.",
        acl: ACL,
        tips: NONDET_ORDER,
        key_specs: RO_ACCESS,
        args: KEY_ARG,
        ..Command::new("smembers", 2, READONLY, smembers)
    },
    Command {
        keys: KEY1,
        group: "set",
        summary: "Determine if a given value is a member of a set",
        acl: ACL,
        key_specs: RO,
        args: KEY_MEMBER_ARGS,
        ..Command::new("sismember", 3, READONLY | FAST, sismember)
    },
    Command {
        keys: KEY1,
        group: "set",
        since: "6.2.0",
        summary: "Returns the membership associated with the given elements for a set",
        complexity: "O(N) where N is the number of elements being checked for membership",
        acl: ACL,
        key_specs: RO_ACCESS,
        args: KEY_MEMBERS_ARGS,
        ..Command::new("smismember", -3, READONLY | FAST, smismember)
    },
    Command {
        keys: KEY1,
        group: "set",
        summary: "Get the number of members in a set",
        acl: ACL,
        key_specs: RO,
        args: KEY_ARG,
        ..Command::new("scard", 2, READONLY | FAST, scard)
    },
    Command {
        keys: KEY1,
        group: "set",
        summary: "Remove and return one or multiple random members from a set",
        complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the \
                     passed count.",
        acl: ACL,
        tips: NONDET,
        key_specs: RW_ACCESS_DELETE,
        args: &[Arg::key("key", 0), Arg::new("count", ArgType::Integer).since("3.2.0").optional()],
        history: &[("3.2.0", "Added the `count` argument.")],
        ..Command::new("spop", -2, WRITE | FAST, spop)
    },
    Command {
        keys: KEY1,
        group: "set",
        summary: "Get one or multiple random members from a set",
        complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute \
                     value of the passed count.",
        acl: ACL,
        tips: NONDET,
        key_specs: RO_ACCESS,
        args: &[Arg::key("key", 0), Arg::new("count", ArgType::Integer).since("2.6.0").optional()],
        history: &[("2.6.0", "Added the optional `count` argument.")],
        ..Command::new("srandmember", -2, READONLY, srandmember)
    },
    Command {
        keys: KEY1_2,
        group: "set",
        summary: "Move a member from one set to another",
        acl: ACL,
        key_specs: SMOVE_KEYS,
        args: &[
            Arg::key("source", 0),
            Arg::key("destination", 1),
            Arg::new("member", ArgType::String),
        ],
        ..Command::new("smove", 4, WRITE | FAST, smove)
    },
    Command {
        keys: KEYS_ALL,
        group: "set",
        summary: "Intersect multiple sets",
        complexity: INTER_COMPLEXITY,
        acl: ACL,
        tips: NONDET_ORDER,
        key_specs: RO_ACCESS_ALL,
        args: KEYS_ARG,
        ..Command::new("sinter", -2, READONLY, sinter)
    },
    Command {
        keys: KeySpec::Custom(sintercard_keys),
        group: "set",
        since: "7.0.0",
        summary: "Intersect multiple sets and return the cardinality of the result",
        complexity: INTER_COMPLEXITY,
        acl: ACL,
        key_specs: SINTERCARD_KEYS,
        args: &[
            Arg::new("numkeys", ArgType::Integer),
            Arg::key("key", 0).multiple(),
            Arg::new("limit", ArgType::Integer).token("LIMIT").optional(),
        ],
        ..Command::new("sintercard", -3, READONLY, sintercard)
    },
    Command {
        keys: KEYS_ALL,
        group: "set",
        summary: "Intersect multiple sets and store the resulting set in a key",
        complexity: INTER_COMPLEXITY,
        acl: ACL,
        key_specs: SINTERSTORE_KEYS,
        args: STORE_ARGS,
        ..Command::new("sinterstore", -3, WRITE | DENYOOM, sinterstore)
    },
    Command {
        keys: KEYS_ALL,
        group: "set",
        summary: "Add multiple sets",
        complexity: UNION_COMPLEXITY,
        acl: ACL,
        tips: NONDET_ORDER,
        key_specs: RO_ACCESS_ALL,
        args: KEYS_ARG,
        ..Command::new("sunion", -2, READONLY, sunion)
    },
    Command {
        keys: KEYS_ALL,
        group: "set",
        summary: "Add multiple sets and store the resulting set in a key",
        complexity: UNION_COMPLEXITY,
        acl: ACL,
        key_specs: STORE_KEYS,
        args: STORE_ARGS,
        ..Command::new("sunionstore", -3, WRITE | DENYOOM, sunionstore)
    },
    Command {
        keys: KEYS_ALL,
        group: "set",
        summary: "Subtract multiple sets",
        complexity: UNION_COMPLEXITY,
        acl: ACL,
        tips: NONDET_ORDER,
        key_specs: RO_ACCESS_ALL,
        args: KEYS_ARG,
        ..Command::new("sdiff", -2, READONLY, sdiff)
    },
    Command {
        keys: KEYS_ALL,
        group: "set",
        summary: "Subtract multiple sets and store the resulting set in a key",
        complexity: UNION_COMPLEXITY,
        acl: ACL,
        key_specs: STORE_KEYS,
        args: STORE_ARGS,
        ..Command::new("sdiffstore", -3, WRITE | DENYOOM, sdiffstore)
    },
    Command {
        keys: KEY1,
        group: "set",
        since: "2.8.0",
        summary: "Incrementally iterate Set elements",
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough command \
                     calls for the cursor to return back to 0. N is the number of elements inside \
                     the collection..",
        acl: ACL,
        tips: NONDET,
        key_specs: RO_ACCESS,
        args: crate::cmd::keys::ELEMENT_SCAN_ARGS,
        ..Command::new("sscan", -3, READONLY, sscan)
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::testing::{Harness, bulk, err};
    use crate::protocol::reply::Value as R;
    use std::collections::HashSet;

    fn encoding(h: &Harness, key: &str) -> &'static str {
        let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
        ks.peek(key.as_bytes()).map(|e| e.value().encoding_name()).unwrap_or("none")
    }

    fn dirty(h: &Harness) -> u64 {
        h.server.stats.dirty.load(Ordering::Relaxed)
    }

    /// The members of a reply (array or set) as a sorted list of strings.
    fn sorted(v: R) -> Vec<String> {
        let items = match v {
            R::Array(a) | R::Set(a) => a,
            other => panic!("not a collection: {other:?}"),
        };
        let mut out: Vec<String> = items
            .into_iter()
            .map(|i| match i {
                R::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect();
        out.sort();
        out
    }

    fn strs(v: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn sadd_srem_and_encodings() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SADD", "s", "1", "2", "2", "3"]), R::Int(3));
        assert_eq!(encoding(&h, "s"), "intset");
        assert_eq!(h.run(&["SCARD", "s"]), R::Int(3));
        assert_eq!(h.run(&["SADD", "s", "a"]), R::Int(1));
        assert_eq!(encoding(&h, "s"), "hashtable");
        assert_eq!(h.run(&["SISMEMBER", "s", "a"]), R::Int(1));
        assert_eq!(h.run(&["SISMEMBER", "s", "b"]), R::Int(0));
        assert_eq!(
            h.run(&["SMISMEMBER", "s", "1", "x", "a"]),
            R::Array(vec![R::Int(1), R::Int(0), R::Int(1)])
        );
        assert_eq!(h.run(&["SMISMEMBER", "nokey", "1"]), R::Array(vec![R::Int(0)]));
        let d = dirty(&h);
        assert_eq!(h.run(&["SREM", "s", "1", "x", "a"]), R::Int(2));
        assert_eq!(dirty(&h), d + 2);
        assert_eq!(h.run(&["SREM", "s", "2", "3", "4"]), R::Int(2));
        assert_eq!(h.run(&["EXISTS", "s"]), R::Int(0), "an emptied set is deleted");
        assert_eq!(h.run(&["SREM", "s", "1"]), R::Int(0));
        // A first member that is not an integer makes a hashtable at once.
        h.run(&["SADD", "t", "x", "1"]);
        assert_eq!(encoding(&h, "t"), "hashtable");
        // set-max-intset-entries bounds the intset.
        h.run(&["CONFIG", "SET", "set-max-intset-entries", "2"]);
        h.run(&["SADD", "u", "1", "2"]);
        assert_eq!(encoding(&h, "u"), "intset");
        h.run(&["SADD", "u", "3"]);
        assert_eq!(encoding(&h, "u"), "hashtable");
        // Integers beyond 64 bits are strings.
        h.run(&["SADD", "v", "213244124402402314402033402"]);
        assert_eq!(encoding(&h, "v"), "hashtable");
    }

    #[test]
    fn wrong_type_and_bad_arguments() {
        let mut h = Harness::new();
        h.run(&["SET", "str", "x"]);
        h.run(&["SADD", "s", "a"]);
        for c in [
            &["SADD", "str", "a"][..],
            &["SREM", "str", "a"],
            &["SMEMBERS", "str"],
            &["SISMEMBER", "str", "a"],
            &["SMISMEMBER", "str", "a"],
            &["SCARD", "str"],
            &["SPOP", "str"],
            &["SPOP", "str", "1"],
            &["SRANDMEMBER", "str"],
            &["SRANDMEMBER", "str", "1"],
            &["SINTER", "nokey", "str"],
            &["SUNION", "s", "str"],
            &["SDIFF", "nokey", "str"],
            &["SINTERCARD", "2", "s", "str"],
            &["SSCAN", "str", "0"],
            &["SMOVE", "str", "s", "a"],
            &["SMOVE", "s", "str", "a"],
        ] {
            assert_eq!(h.run(c), err(errors::WRONGTYPE), "{c:?}");
        }
        assert_eq!(h.run(&["SPOP", "s", "-1"]), err(errors::POSITIVE));
        assert_eq!(h.run(&["SPOP", "nokey", "x"]), err(errors::POSITIVE));
        assert_eq!(h.run(&["SPOP", "s", "1", "2"]), err(errors::SYNTAX));
        assert_eq!(h.run(&["SRANDMEMBER", "s", "x"]), err(errors::NOT_INTEGER));
        assert_eq!(h.run(&["SRANDMEMBER", "s", "1", "2"]), err(errors::SYNTAX));
        assert_eq!(
            h.run(&["SRANDMEMBER", "s", "-9223372036854775808"]),
            err("ERR value is out of range, value must between -9223372036854775807 and \
                 9223372036854775807")
        );
        assert_eq!(h.run(&["SINTERCARD", "0", "s"]), err(errors::NUMKEYS_POSITIVE));
        assert_eq!(h.run(&["SINTERCARD", "a", "s"]), err(errors::NUMKEYS_POSITIVE));
        assert_eq!(h.run(&["SINTERCARD", "2", "s"]), err(errors::SET_NUMKEYS_TOO_MANY));
        assert_eq!(h.run(&["SINTERCARD", "1", "s", "t"]), err(errors::SYNTAX));
        assert_eq!(h.run(&["SINTERCARD", "1", "s", "LIMIT"]), err(errors::SYNTAX));
        assert_eq!(
            h.run(&["SINTERCARD", "1", "s", "LIMIT", "-1"]),
            err(errors::LIMIT_NEGATIVE)
        );
        assert_eq!(h.run(&["SSCAN", "s", "x"]), err(errors::INVALID_CURSOR));
        assert_eq!(h.run(&["SSCAN", "s", "0", "COUNT", "0"]), err(errors::SYNTAX));
        // A missing key answers before the options are looked at, as in Redis.
        assert_eq!(
            h.run(&["SSCAN", "nokey", "0", "COUNT", "0"]),
            R::Array(vec![bulk("0"), R::Array(vec![])])
        );
        assert_eq!(
            h.run(&["SMISMEMBER", "s"]),
            err("ERR wrong number of arguments for 'smismember' command")
        );
    }

    #[test]
    fn missing_keys_and_resp3_shapes() {
        let mut h = Harness::new();
        assert_eq!(h.raw(&["SMEMBERS", "nokey"]), b"*0\r\n");
        assert_eq!(h.raw(&["SPOP", "nokey"]), b"$-1\r\n");
        assert_eq!(h.raw(&["SRANDMEMBER", "nokey", "5"]), b"*0\r\n");
        h.run(&["HELLO", "3"]);
        assert_eq!(h.raw(&["SMEMBERS", "nokey"]), b"~0\r\n");
        assert_eq!(h.raw(&["SPOP", "nokey"]), b"_\r\n");
        assert_eq!(h.raw(&["SPOP", "nokey", "3"]), b"~0\r\n");
        assert_eq!(h.raw(&["SRANDMEMBER", "nokey", "5"]), b"*0\r\n");
        h.run(&["SADD", "i", "3", "1", "2"]);
        // An intset replies in ascending order.
        assert_eq!(h.raw(&["SMEMBERS", "i"]), b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.raw(&["SINTER", "i", "i"]), b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.raw(&["SUNION", "i", "nokey"]), b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.raw(&["SRANDMEMBER", "i", "5"]), b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.raw(&["SPOP", "i", "0"]), b"~0\r\n");
        assert_eq!(
            h.raw(&["SSCAN", "i", "0"]),
            b"*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
    }

    #[test]
    fn spop_paths_and_encodings() {
        let mut h = Harness::new();
        let all: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        // Pop one by one, then with counts taking each path.
        for count in ["1", "3", "17", "19", "20", "30"] {
            h.run(&["DEL", "s"]);
            let mut argv = vec!["SADD", "s"];
            argv.extend(all.iter().map(|s| s.as_str()));
            h.run(&argv);
            let popped = sorted(h.run(&["SPOP", "s", count]));
            let left = sorted(h.run(&["SMEMBERS", "s"]));
            let n: usize = count.parse().unwrap();
            assert_eq!(popped.len(), n.min(20));
            assert_eq!(left.len(), 20 - n.min(20));
            let mut union: Vec<String> = popped.iter().chain(&left).cloned().collect();
            union.sort();
            union.dedup();
            let mut want = all.clone();
            want.sort();
            assert_eq!(union, want, "count {count}");
        }
        assert_eq!(h.run(&["EXISTS", "s"]), R::Int(0));
        // Popping most of a hashtable set rebuilds the rest, which becomes an intset when its
        // members are integers (as Redis's SPOP does).
        let mut argv = vec!["SADD", "h", "x"];
        let nums: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        argv.extend(nums.iter().map(|s| s.as_str()));
        h.run(&argv);
        h.run(&["SREM", "h", "x"]);
        assert_eq!(encoding(&h, "h"), "hashtable");
        h.run(&["SPOP", "h", "38"]);
        assert_eq!(h.run(&["SCARD", "h"]), R::Int(2));
        assert_eq!(encoding(&h, "h"), "intset");
        let d = dirty(&h);
        h.run(&["SPOP", "h"]);
        assert_eq!(dirty(&h), d + 1);
        h.run(&["SPOP", "h"]);
        assert_eq!(h.run(&["EXISTS", "h"]), R::Int(0));
    }

    #[test]
    fn srandmember_paths() {
        let mut h = Harness::new();
        for (key, members) in [
            ("h", (0..50).map(|i| format!("m{i}")).collect::<Vec<_>>()),
            ("i", (0..50).map(|i| i.to_string()).collect()),
        ] {
            let mut argv = vec!["SADD", key];
            argv.extend(members.iter().map(|s| s.as_str()));
            h.run(&argv);
            let set: HashSet<String> = members.iter().cloned().collect();
            // Negative: repeats allowed, exactly |count| members.
            let r = sorted(h.run(&["SRANDMEMBER", key, "-100"]));
            assert_eq!(r.len(), 100);
            assert!(r.iter().all(|m| set.contains(m)));
            // Positive: distinct members, every path.
            for count in [1usize, 5, 16, 17, 45, 50, 100] {
                let r = sorted(h.run(&["SRANDMEMBER", key, &count.to_string()]));
                assert_eq!(r.len(), count.min(50), "{key} {count}");
                let uniq: HashSet<&String> = r.iter().collect();
                assert_eq!(uniq.len(), r.len(), "{key} {count}: duplicates");
                assert!(r.iter().all(|m| set.contains(m)));
            }
            assert_eq!(h.run(&["SRANDMEMBER", key, "0"]), R::Array(vec![]));
            assert_eq!(h.run(&["SCARD", key]), R::Int(50), "SRANDMEMBER does not remove");
        }
    }

    #[test]
    fn algebra() {
        let mut h = Harness::new();
        h.run(&["SADD", "a", "1", "2", "3", "4"]);
        h.run(&["SADD", "b", "3", "4", "5"]);
        h.run(&["SADD", "c", "4", "x"]);
        assert_eq!(sorted(h.run(&["SINTER", "a", "b"])), strs(&["3", "4"]));
        assert_eq!(sorted(h.run(&["SINTER", "a", "b", "c"])), strs(&["4"]));
        assert_eq!(sorted(h.run(&["SINTER", "a", "nokey"])), strs(&[]));
        assert_eq!(h.run(&["SINTERCARD", "2", "a", "b"]), R::Int(2));
        assert_eq!(h.run(&["SINTERCARD", "2", "a", "b", "LIMIT", "1"]), R::Int(1));
        assert_eq!(h.run(&["SINTERCARD", "2", "a", "b", "limit", "0"]), R::Int(2));
        assert_eq!(
            sorted(h.run(&["SUNION", "a", "b", "c"])),
            strs(&["1", "2", "3", "4", "5", "x"])
        );
        assert_eq!(sorted(h.run(&["SDIFF", "a", "b"])), strs(&["1", "2"]));
        assert_eq!(sorted(h.run(&["SDIFF", "a", "a"])), strs(&[]));
        assert_eq!(sorted(h.run(&["SDIFF", "nokey", "a"])), strs(&[]));
        // Store: the destination's encoding is built as Redis builds it.
        assert_eq!(h.run(&["SINTERSTORE", "d", "a", "b"]), R::Int(2));
        assert_eq!(encoding(&h, "d"), "intset");
        assert_eq!(h.run(&["SUNIONSTORE", "d", "a", "c"]), R::Int(5));
        assert_eq!(encoding(&h, "d"), "hashtable");
        assert_eq!(h.run(&["SDIFFSTORE", "d", "c", "a"]), R::Int(1));
        assert_eq!(sorted(h.run(&["SMEMBERS", "d"])), strs(&["x"]));
        // SDIFF of a hashtable set whose remaining members are integers gives an intset.
        h.run(&["SADD", "e", "x", "7", "8"]);
        assert_eq!(h.run(&["SDIFFSTORE", "d", "e", "c"]), R::Int(2));
        assert_eq!(encoding(&h, "d"), "intset");
        // An empty result deletes the destination, whatever it held, and replaces a TTL.
        h.run(&["SET", "d", "str"]);
        assert_eq!(h.run(&["SINTERSTORE", "d", "a", "nokey"]), R::Int(0));
        assert_eq!(h.run(&["EXISTS", "d"]), R::Int(0));
        h.run(&["SET", "d", "str", "EX", "100"]);
        assert_eq!(h.run(&["SUNIONSTORE", "d", "a"]), R::Int(4));
        assert_eq!(h.run(&["TTL", "d"]), R::Int(-1));
        // The destination may be one of the sources.
        assert_eq!(h.run(&["SUNIONSTORE", "a", "a", "b"]), R::Int(5));
        assert_eq!(sorted(h.run(&["SMEMBERS", "a"])), strs(&["1", "2", "3", "4", "5"]));
        // A wrong type among the sources leaves the destination alone.
        h.run(&["SET", "str", "v"]);
        assert_eq!(h.run(&["SINTERSTORE", "a", "nokey", "str"]), err(errors::WRONGTYPE));
        assert_eq!(h.run(&["SCARD", "a"]), R::Int(5));
    }

    #[test]
    fn sdiff_both_algorithms_match_a_model() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut h = Harness::new();
        for round in 0..30 {
            let n = rng.random_range(1..5);
            let mut model: Vec<HashSet<String>> = Vec::new();
            let mut keys = Vec::new();
            for k in 0..n {
                let key = format!("k{round}_{k}");
                h.run(&["DEL", &key]);
                // Sizes vary so both algorithms get chosen.
                let size = if k == 0 { rng.random_range(0..60) } else { rng.random_range(0..200) };
                let mut s = HashSet::new();
                for _ in 0..size {
                    let m = if rng.random_bool(0.5) {
                        rng.random_range(0..100).to_string()
                    } else {
                        format!("s{}", rng.random_range(0..100))
                    };
                    h.run(&["SADD", &key, &m]);
                    s.insert(m);
                }
                model.push(s);
                keys.push(key);
            }
            let mut want: Vec<String> = model[0]
                .iter()
                .filter(|m| model[1..].iter().all(|o| !o.contains(*m)))
                .cloned()
                .collect();
            want.sort();
            let mut argv = vec!["SDIFF"];
            argv.extend(keys.iter().map(|s| s.as_str()));
            assert_eq!(sorted(h.run(&argv)), want);
        }
    }

    #[test]
    fn smove_cases() {
        let mut h = Harness::new();
        h.run(&["SADD", "a", "1", "x", "y"]);
        h.run(&["SADD", "b", "2", "3"]);
        assert_eq!(h.run(&["SMOVE", "a", "b", "x"]), R::Int(1));
        assert_eq!(encoding(&h, "b"), "hashtable");
        assert_eq!(h.run(&["SMOVE", "a", "b", "nope"]), R::Int(0));
        assert_eq!(h.run(&["SMOVE", "nokey", "b", "2"]), R::Int(0));
        assert_eq!(h.run(&["SMOVE", "a", "a", "1"]), R::Int(1));
        assert_eq!(h.run(&["SMOVE", "a", "a", "q"]), R::Int(0));
        assert_eq!(h.run(&["SMOVE", "a", "new", "1"]), R::Int(1));
        assert_eq!(encoding(&h, "new"), "intset");
        assert_eq!(h.run(&["SMOVE", "a", "new", "y"]), R::Int(1));
        assert_eq!(h.run(&["EXISTS", "a"]), R::Int(0));
        assert_eq!(sorted(h.run(&["SMEMBERS", "new"])), strs(&["1", "y"]));
        // Already in the destination: removed from the source only.
        h.run(&["SADD", "a", "y"]);
        let d = dirty(&h);
        assert_eq!(h.run(&["SMOVE", "a", "new", "y"]), R::Int(1));
        assert_eq!(dirty(&h), d + 1);
        assert_eq!(h.run(&["SCARD", "new"]), R::Int(2));
    }

    #[test]
    fn sscan_walks_a_table_and_filters() {
        let mut h = Harness::new();
        let members: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
        let mut argv = vec!["SADD", "s"];
        argv.extend(members.iter().map(|s| s.as_str()));
        h.run(&argv);
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let R::Array(parts) = h.run(&["SSCAN", "s", &cursor, "COUNT", "20"]) else { panic!() };
            let R::Bulk(c) = &parts[0] else { panic!() };
            cursor = String::from_utf8(c.clone()).unwrap();
            for m in sorted(parts[1].clone()) {
                seen.insert(m);
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 500);
        assert!(calls > 1, "a hashtable is walked in steps");
        let R::Array(parts) = h.run(&["SSCAN", "s", "0", "MATCH", "m1?", "COUNT", "1000"]) else {
            panic!()
        };
        assert_eq!(sorted(parts[1].clone()).len(), 10);
        h.run(&["SADD", "i", "1", "12", "13"]);
        assert_eq!(
            h.run(&["SSCAN", "i", "0", "MATCH", "1?"]),
            R::Array(vec![bulk("0"), R::Array(vec![bulk("12"), bulk("13")])])
        );
    }

    #[test]
    fn generic_commands_on_sets() {
        let mut h = Harness::new();
        h.run(&["SADD", "s", "1", "2", "3"]);
        assert_eq!(h.run(&["TYPE", "s"]), R::Simple("set".into()));
        assert_eq!(h.run(&["OBJECT", "ENCODING", "s"]), bulk("intset"));
        assert_eq!(h.run(&["COPY", "s", "c"]), R::Int(1));
        h.run(&["SADD", "c", "4"]);
        assert_eq!(h.run(&["SCARD", "s"]), R::Int(3), "the copy is independent");
        // The digest does not depend on the encoding.
        h.run(&["SADD", "t", "1", "2", "3", "a"]);
        h.run(&["SREM", "t", "a"]);
        assert_eq!(encoding(&h, "t"), "hashtable");
        assert_eq!(h.run(&["DEBUG", "DIGEST-VALUE", "s"]), h.run(&["DEBUG", "DIGEST-VALUE", "t"]));
        assert_ne!(h.run(&["DEBUG", "DIGEST-VALUE", "s"]), h.run(&["DEBUG", "DIGEST-VALUE", "c"]));
        assert_eq!(h.run(&["RENAME", "t", "u"]), R::Simple("OK".into()));
        assert_eq!(sorted(h.run(&["SMEMBERS", "u"])), strs(&["1", "2", "3"]));
        let R::Int(n) = h.run(&["MEMORY", "USAGE", "u"]) else { panic!() };
        assert!(n > 0);
        h.run(&["SET", "str", "v"]);
        let R::Array(parts) = h.run(&["SCAN", "0", "TYPE", "set", "COUNT", "100"]) else {
            panic!()
        };
        assert_eq!(sorted(parts[1].clone()), strs(&["c", "s", "u"]));
    }
}
