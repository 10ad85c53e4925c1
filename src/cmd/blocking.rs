//! The blocking commands of lists (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) and sorted sets
//! (BZPOPMIN, BZPOPMAX, BZMPOP), and the serving of blocked clients once a command has made
//! their keys ready.
//!
//! They live apart from `list.rs` and `zset.rs` because what they share is the waiter
//! machinery, not anything of the other commands of their types. Each does its
//! non-blocking work at once when it can; otherwise it files a [`Waiter`] under its keys'
//! locks (`store/blocking.rs` has the protocol) and the connection waits for the outcome. The
//! connection side is [`finish_blocked`].
//!
//! Serving happens in [`serve_ready`], which dispatch calls after a command that created a key
//! somebody waits on, before the command's locks are released: waiters of a key in the order
//! they blocked, each taking what it asked for, and a BLMOVE's push making its destination
//! ready in turn (chains and cycles of BLMOVEs resolve in one pass, as in Redis).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::command::table::{KeySpecDef, key_flags};
use crate::config::notify;
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::{Reply, errors};
use crate::server::Server;
use crate::server::client::{BlockedCmd, Client};
use crate::cmd::list::{lmove_op, mpop_keys_at, new_list, parse_side};
use crate::cmd::zset::{PopMiss, Popped, reply_score, zpop_op};
use crate::store::blocking::{BlockOp, Delivery, Outcome, Restore, Waiter};
use crate::store::types::zset::Limits;
use crate::store::value::Value;
use crate::store::{Keyspace, shard_of_key};
use crate::util::long_double::LongDouble;
use crate::util::parse_i64_strict;

/// Parses a blocking command's timeout, in seconds (fractions allowed), as Redis 7.0 does.
/// Returns the deadline in wall-clock ms, or `None` for 0 (wait forever).
pub(crate) fn parse_timeout(arg: &[u8], now: i64) -> Result<Option<i64>, &'static str> {
    let v = LongDouble::parse(arg).ok_or(errors::TIMEOUT_NOT_FLOAT)?;
    let ms = v.seconds_to_ms();
    if ms < 0 {
        return Err(errors::TIMEOUT_NEGATIVE);
    }
    Ok(if ms == 0 { None } else { Some(now.saturating_add(ms)) })
}

/// Replies a null array, the reply of a blocking command that timed out.
fn timeout_reply(out: &mut Reply) {
    out.null_array();
}

/// What a lookup found at a key the command may pop from.
enum Found {
    Missing,
    List,
    WrongType,
}

fn find_list(ks: &mut Keyspace, db: usize, key: &[u8]) -> Found {
    match ks.entry_in(db, key) {
        None => Found::Missing,
        Some(e) if matches!(e.value(), Value::List(_)) => Found::List,
        Some(_) => Found::WrongType,
    }
}

/// Pops up to `count` elements from the list at `key` (which must exist), deleting the key
/// when it empties.
fn pop_from(ks: &mut Keyspace, db: usize, key: &[u8], left: bool, count: usize) -> Vec<Vec<u8>> {
    let mut popped = Vec::new();
    let mut empty = false;
    if let Some(list) = ks.entry_in(db, key).and_then(|e| e.value_mut().as_list_mut()) {
        while popped.len() < count {
            match list.pop(left) {
                Some(x) => popped.push(x),
                None => break,
            }
        }
        empty = list.is_empty();
    }
    ks.notify_in(db, notify::LIST, if left { "lpop" } else { "rpop" }, key);
    if empty {
        ks.remove_in(db, key);
        ks.notify_in(db, notify::GENERIC, "del", key);
    }
    ks.dirty += 1;
    popped
}

/// Pushes `elem` onto the list at `dst`, creating it when missing (the caller checked its
/// type).
fn push_onto(ks: &mut Keyspace, db: usize, dst: &[u8], elem: &[u8], left: bool) {
    match ks.entry_in(db, dst).and_then(|e| e.value_mut().as_list_mut()) {
        Some(list) => list.push(elem, left),
        None => {
            let mut list = new_list(ks);
            list.push(elem, left);
            ks.insert_in(db, dst, Value::List(Box::new(list)), None);
        }
    }
}

/// Writes the reply of a list pop: `[key, element]` (BLPOP) or `[key, [elements]]` (BLMPOP).
fn pop_reply(out: &mut Reply, key: &[u8], elems: &[Vec<u8>], multi: bool) {
    out.array(2);
    out.bulk(key);
    if multi {
        out.bulks(elems.iter().map(|e| e.as_slice()));
    } else if let Some(e) = elems.first() {
        out.bulk(e);
    }
}

/// Moves one element from `src` (an existing list) to `dst` (missing or a list) in database
/// `db`, and returns it (LMOVE's work; with `src == dst` a rotation).
fn move_one(ks: &mut Keyspace, db: usize, src: &[u8], dst: &[u8], from: bool, to: bool) -> Vec<u8> {
    // The list commands work on the view's database: the waiter's, for the moment.
    let view_db = std::mem::replace(&mut ks.db, db);
    let moved = lmove_op(ks, src, dst, from, to);
    ks.db = view_db;
    moved.ok().flatten().unwrap_or_default()
}

/// Blocks the calling client on `keys` until one of them can serve `op` or the deadline
/// passes.
fn block(ctx: &mut Ctx, argv: &[&[u8]], keys: &[&[u8]], op: BlockOp, deadline_ms: Option<i64>) {
    // Inside EXEC nothing may block: reply as on timeout (BLMOVE and BRPOPLPUSH with a null,
    // as Redis does there).
    if ctx.client.in_exec {
        return match op {
            BlockOp::ListMove { .. } => ctx.out.null(),
            _ => timeout_reply(ctx.out),
        };
    }
    let mut distinct: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.iter().any(|d| d == k) {
            distinct.push(k.to_vec());
        }
    }
    let w = Arc::new(Waiter::new(ctx.client.id, ctx.ks.db, distinct, op, ctx.out.resp3));
    ctx.ks.add_waiter(&w);
    ctx.client.info.set_waiter(Some(w.clone()));
    ctx.client.blocked = Some(Box::new(BlockedCmd {
        waiter: w,
        deadline_ms,
        entry: ctx.entry,
        argv: argv.iter().map(|a| a.to_vec()).collect(),
        started_ns: crate::util::mono_ns(),
    }));
}

/// BLPOP key [key ...] timeout
fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop(ctx, argv, true);
}

/// BRPOP key [key ...] timeout
fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    bpop(ctx, argv, false);
}

/// BLPOP and BRPOP: pop from the first non-empty list of the keys, or block.
fn bpop(ctx: &mut Ctx, argv: &[&[u8]], left: bool) {
    let deadline = match parse_timeout(argv[argv.len() - 1], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &argv[1..argv.len() - 1];
    let db = ctx.ks.db;
    for key in keys {
        match find_list(&mut ctx.ks, db, key) {
            Found::Missing => {}
            Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
            Found::List => {
                let popped = pop_from(&mut ctx.ks, db, key, left, 1);
                ctx.propagate_as(&[pop_name(left), key]);
                return pop_reply(ctx.out, key, &popped, false);
            }
        }
    }
    let op = BlockOp::ListPop { left, count: 1, multi: false };
    block(ctx, argv, keys, op, deadline);
}

/// The arguments of BLMPOP and BZMPOP after the timeout: `numkeys key [key ...] <side>
/// [COUNT count]`, parsed in Redis's order. Returns the
/// side word's index (the keys are argv[3..that]); the count is parsed by [`parse_count`].
fn parse_mpop(argv: &[&[u8]]) -> Result<usize, &'static str> {
    let numkeys = match parse_i64_strict(argv[2]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(errors::NUMKEYS_POSITIVE),
    };
    let where_idx = 3u64.saturating_add(numkeys);
    if where_idx >= argv.len() as u64 {
        return Err(errors::SYNTAX);
    }
    let where_idx = where_idx as usize;
    Ok(where_idx)
}

/// Parses `[COUNT count]` from `argv[from]` on (once at most): 1 when absent.
fn parse_count(argv: &[&[u8]], from: usize) -> Result<usize, &'static str> {
    let mut count: Option<usize> = None;
    let mut j = from;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() && count.is_none() {
            match parse_i64_strict(argv[j + 1]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(errors::COUNT_POSITIVE),
            }
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(count.unwrap_or(1))
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let deadline = match parse_timeout(argv[1], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let where_idx = match parse_mpop(argv) {
        Ok(w) => w,
        Err(e) => return ctx.out.error(e),
    };
    let Some(left) = parse_side(argv[where_idx]) else {
        return ctx.syntax_error();
    };
    let count = match parse_count(argv, where_idx + 1) {
        Ok(c) => c,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &argv[3..where_idx];
    let db = ctx.ks.db;
    for key in keys {
        match find_list(&mut ctx.ks, db, key) {
            Found::Missing => {}
            Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
            Found::List => {
                let popped = pop_from(&mut ctx.ks, db, key, left, count);
                let n = itoa::Buffer::new().format(popped.len()).as_bytes().to_vec();
                ctx.propagate_as(&[pop_name(left), key, &n]);
                return pop_reply(ctx.out, key, &popped, true);
            }
        }
    }
    block(ctx, argv, keys, BlockOp::ListPop { left, count, multi: true }, deadline);
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (Some(from), Some(to)) = (parse_side(argv[3]), parse_side(argv[4])) else {
        return ctx.syntax_error();
    };
    bmove(ctx, argv, from, to, argv[5]);
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) {
    bmove(ctx, argv, false, true, argv[3]);
}

/// BLMOVE and BRPOPLPUSH: move one element now if the source has one, or block.
fn bmove(ctx: &mut Ctx, argv: &[&[u8]], from: bool, to: bool, timeout: &[u8]) {
    let deadline = match parse_timeout(timeout, ctx.ks.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let (src, dst) = (argv[1], argv[2]);
    let db = ctx.ks.db;
    match find_list(&mut ctx.ks, db, src) {
        Found::WrongType => ctx.out.error(errors::WRONGTYPE),
        Found::List => {
            if let Found::WrongType = find_list(&mut ctx.ks, db, dst) {
                return ctx.out.error(errors::WRONGTYPE);
            }
            let elem = move_one(&mut ctx.ks, db, src, dst, from, to);
            if argv[0].eq_ignore_ascii_case(b"brpoplpush") {
                ctx.propagate_as(&[b"RPOPLPUSH", src, dst]);
            } else {
                ctx.propagate_as(&[b"LMOVE", src, dst, argv[3], argv[4]]);
            }
            ctx.out.bulk(&elem);
        }
        Found::Missing => {
            let op = BlockOp::ListMove { dst: dst.to_vec(), from_left: from, to_left: to };
            block(ctx, argv, &[src], op, deadline);
        }
    }
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop(ctx, argv, false);
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) {
    bzpop(ctx, argv, true);
}

/// Pops from the first non-empty sorted set of `keys` into `out` as `[key, member, score]`
/// (BZPOPMIN) or `[key, [[member, score] ...]]` (BZMPOP); returns what was popped, or the miss.
fn zpop_into(
    ks: &mut Keyspace,
    out: &mut Reply,
    keys: &[&[u8]],
    max: bool,
    count: usize,
    multi: bool,
) -> Result<(Vec<u8>, Vec<(Vec<u8>, f64)>), PopMiss> {
    let mut key_popped = Vec::new();
    let mut members = Vec::new();
    zpop_op(ks, keys, max, count, &mut |p| match p {
        Popped::Key(k, n) => {
            key_popped = k.to_vec();
            if multi {
                out.array(2);
                out.bulk(k);
                out.array(n);
            } else {
                out.array(3);
                out.bulk(k);
            }
        }
        Popped::Member(m, score) => {
            if multi {
                out.array(2);
            }
            out.bulk(m);
            reply_score(out, score);
            members.push((m.to_vec(), score));
        }
    })?;
    Ok((key_popped, members))
}

/// BZPOPMIN and BZPOPMAX: pop the lowest / highest member of the first non-empty sorted set,
/// or block.
fn bzpop(ctx: &mut Ctx, argv: &[&[u8]], max: bool) {
    let deadline = match parse_timeout(argv[argv.len() - 1], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &argv[1..argv.len() - 1];
    match zpop_into(&mut ctx.ks, ctx.out, keys, max, 1, false) {
        Ok((key, _)) => ctx.propagate_as(&[zpop_name(max), &key]),
        Err(PopMiss::WrongType) => ctx.out.error(errors::WRONGTYPE),
        Err(PopMiss::Empty) => {
            block(ctx, argv, keys, BlockOp::ZPop { max, count: 1, multi: false }, deadline)
        }
    }
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) {
    let deadline = match parse_timeout(argv[1], ctx.ks.now) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    let where_idx = match parse_mpop(argv) {
        Ok(w) => w,
        Err(e) => return ctx.out.error(e),
    };
    let max = if argv[where_idx].eq_ignore_ascii_case(b"min") {
        false
    } else if argv[where_idx].eq_ignore_ascii_case(b"max") {
        true
    } else {
        return ctx.syntax_error();
    };
    let count = match parse_count(argv, where_idx + 1) {
        Ok(c) => c,
        Err(e) => return ctx.out.error(e),
    };
    let keys = &argv[3..where_idx];
    match zpop_into(&mut ctx.ks, ctx.out, keys, max, count, true) {
        Ok((key, members)) => {
            let n = itoa::Buffer::new().format(members.len()).as_bytes().to_vec();
            ctx.propagate_as(&[zpop_name(max), &key, &n]);
        }
        Err(PopMiss::WrongType) => ctx.out.error(errors::WRONGTYPE),
        Err(PopMiss::Empty) => {
            block(ctx, argv, keys, BlockOp::ZPop { max, count, multi: true }, deadline)
        }
    }
}

/// The plain pop a blocking list pop propagates as.
fn pop_name(left: bool) -> &'static [u8] {
    if left { b"LPOP" } else { b"RPOP" }
}

/// The plain pop a blocking sorted-set pop propagates as.
fn zpop_name(max: bool) -> &'static [u8] {
    if max { b"ZPOPMAX" } else { b"ZPOPMIN" }
}

/// Propagation hook: a served waiter's pop goes to the AOF as its plain form, an execution
/// unit of its own after the command that served it.
fn propagate_served(ks: &mut Keyspace, db: usize, argv: &[&[u8]]) {
    if ks.store().tunables.propagate.load(Ordering::Relaxed) {
        ks.prop.push_unit(db, argv);
    }
}

// ---- serving ----

/// An empty reply buffer for the protocol of waiter `w`.
fn reply_for(w: &Waiter) -> Reply {
    let mut out = Reply::default();
    out.resp3 = w.resp3;
    out
}

/// Serves the clients blocked on the keys the finished command made ready (`ks.ready`),
/// before its locks are released.
pub fn serve_ready(ks: &mut Keyspace) {
    let mut i = 0;
    while i < ks.ready.len() {
        let (db, key) = std::mem::take(&mut ks.ready[i]);
        serve_key(ks, db, &key);
        i += 1;
    }
    ks.ready.clear();
}

/// Makes sure the shard of `key` is held; when that would break the lock order and the shard
/// is busy, takes every lock afresh (state is re-read afterwards by the caller's loop).
fn hold(ks: &mut Keyspace, key: &[u8]) {
    if !ks.ensure_shard(shard_of_key(key)) {
        ks.relock_all();
    }
}

/// Serves the waiters of `key` in database `db`, in blocking order, while the key holds what
/// they wait for.
fn serve_key(ks: &mut Keyspace, db: usize, key: &[u8]) {
    loop {
        hold(ks, key);
        let Some(w) = ks.front_waiter(db, key) else { return };
        match &w.op {
            BlockOp::ListPop { left, count, multi } => {
                if !matches!(find_list(ks, db, key), Found::List) {
                    return;
                }
                w.serve_with(|| {
                    let popped = pop_from(ks, db, key, *left, *count);
                    if *multi {
                        let n = itoa::Buffer::new().format(popped.len()).as_bytes().to_vec();
                        propagate_served(ks, db, &[pop_name(*left), key, &n]);
                    } else {
                        propagate_served(ks, db, &[pop_name(*left), key]);
                    }
                    let mut out = reply_for(&w);
                    pop_reply(&mut out, key, &popped, *multi);
                    Some(Delivery {
                        reply: std::mem::take(&mut out.buf),
                        errors: out.take_errors(),
                        restore: Some(Restore::List { key: key.to_vec(), elems: popped, left: *left }),
                    })
                });
            }
            BlockOp::ListMove { dst, from_left, to_left } => {
                hold(ks, dst);
                // Taking the destination's lock may have meant re-locking everything.
                hold(ks, key);
                if !matches!(find_list(ks, db, key), Found::List) {
                    return;
                }
                if let Found::WrongType = find_list(ks, db, dst) {
                    // The waiter gets the error and the element stays for the next one.
                    w.serve_with(|| {
                        let mut out = reply_for(&w);
                        out.error(errors::WRONGTYPE);
                        Some(Delivery {
                            reply: std::mem::take(&mut out.buf),
                            errors: out.take_errors(),
                            restore: None,
                        })
                    });
                    continue;
                }
                w.serve_with(|| {
                    let elem = move_one(ks, db, key, dst, *from_left, *to_left);
                    let side = |l: bool| -> &'static [u8] { if l { b"LEFT" } else { b"RIGHT" } };
                    propagate_served(ks, db, &[b"LMOVE", key, dst, side(*from_left), side(*to_left)]);
                    let mut out = reply_for(&w);
                    out.bulk(&elem);
                    // The element is in the destination now: nothing to give back.
                    Some(Delivery { reply: std::mem::take(&mut out.buf), errors: Default::default(), restore: None })
                });
            }
            BlockOp::ZPop { max, count, multi } => {
                match ks.entry_in(db, key) {
                    Some(e) if matches!(e.value(), Value::ZSet(_)) => {}
                    _ => return,
                }
                w.serve_with(|| {
                    let mut out = reply_for(&w);
                    // The pop works on the view's database: the waiter's, for the moment.
                    let view_db = std::mem::replace(&mut ks.db, db);
                    let popped = zpop_into(ks, &mut out, &[key], *max, *count, *multi);
                    ks.db = view_db;
                    let (key, members) = popped.ok()?;
                    if *multi {
                        let n = itoa::Buffer::new().format(members.len()).as_bytes().to_vec();
                        propagate_served(ks, db, &[zpop_name(*max), &key, &n]);
                    } else {
                        propagate_served(ks, db, &[zpop_name(*max), &key]);
                    }
                    Some(Delivery {
                        reply: std::mem::take(&mut out.buf),
                        errors: out.take_errors(),
                        restore: Some(Restore::ZSet { key, members }),
                    })
                });
            }
        }
    }
}

// ---- the blocked connection's side ----

/// Ends the wait of `client`'s blocked command (served, unblocked, or timed out) and writes its
/// reply into `out`, recording the command's call as Redis does on unblocking. `gone` when the
/// client is disconnecting: a reply served but never to be written gives its elements back.
pub fn finish_blocked(server: &Server, client: &mut Client, out: &mut Reply, gone: bool) {
    let Some(b) = client.blocked.take() else { return };
    client.info.set_waiter(None);
    let outcome = b.waiter.finish();
    server.store.remove_waiter(&b.waiter);
    match outcome {
        Outcome::Served(d) => {
            // The pop reached the AOF buffer with the serving command, before that command let
            // go of the key's shard; the reply waits until the AOF has everything appended
            // so far. `remove_waiter` above took the waiter's shards, so with `io-threads`
            // above 1 the serving command has finished by now and the offset read here covers
            // the pop (else an `always` reply could go out before its pop is on disk).
            if server.aof.is_on() {
                client.aof_need = server.aof.appended();
            }
            if gone {
                if let Some(r) = d.restore {
                    give_back(server, b.waiter.db, r);
                }
                return;
            }
            out.append(&d.reply, d.errors);
        }
        Outcome::Unblocked { error: true } => out.error(errors::UNBLOCKED),
        Outcome::Unblocked { error: false } | Outcome::TimedOut => timeout_reply(out),
    }
    if gone {
        return;
    }
    let took = std::time::Duration::from_nanos(crate::util::mono_ns() - b.started_ns);
    let argv: Vec<&[u8]> = b.argv.iter().map(|a| a.as_slice()).collect();
    server.table.record_call(b.entry, took, &argv, client);
    if out.has_errors() {
        let entry = &server.table.entries[b.entry];
        entry.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        server.stats.count_errors(out);
    }
}

/// Puts what was popped for a client that left before its reply could be sent back where it
/// came from (list elements pushed back in reverse order, so the list reads as before; sorted
/// set members re-added with their scores), and serves whoever waits on the key now.
fn give_back(server: &Server, db: usize, r: Restore) {
    let key = match &r {
        Restore::List { key, .. } | Restore::ZSet { key, .. } => key.clone(),
    };
    let mut ks = server.store.lock_keys(db, crate::util::now_ms(), [key.as_slice()]);
    let propagating = server.store.tunables.propagate.load(Ordering::Relaxed);
    match r {
        Restore::List { key, elems, left } => {
            if let Found::WrongType = find_list(&mut ks, db, &key) {
                // Something else was stored there meanwhile: no list to return them to.
                tracing::warn!("Dropping {} elements of a disconnected blocked client", elems.len());
                return;
            }
            for e in elems.iter().rev() {
                push_onto(&mut ks, db, &key, e, left);
            }
            if propagating {
                // The AOF saw the pop: it sees the elements come back too.
                let mut argv: Vec<&[u8]> = vec![if left { b"LPUSH" } else { b"RPUSH" }, &key];
                argv.extend(elems.iter().rev().map(|e| e.as_slice()));
                ks.prop.push_unit(db, &argv);
            }
        }
        Restore::ZSet { key, members } => {
            let t = &server.store.tunables;
            let lim = Limits {
                entries: t.zset_max_listpack_entries.load(Ordering::Relaxed) as usize,
                value: t.zset_max_listpack_value.load(Ordering::Relaxed) as usize,
            };
            match ks.entry_in(db, &key) {
                Some(e) => match e.value_mut().as_zset_mut() {
                    Some(z) => {
                        for (m, s) in &members {
                            if z.score(m).is_none() {
                                z.insert(m, *s, lim);
                            }
                        }
                    }
                    None => {
                        tracing::warn!(
                            "Dropping {} members of a disconnected blocked client",
                            members.len()
                        );
                        return;
                    }
                },
                None => {
                    let mut z = crate::store::types::zset::ZSet::new();
                    for (m, s) in &members {
                        z.insert(m, *s, lim);
                    }
                    ks.insert_in(db, &key, Value::ZSet(Box::new(z)), None);
                }
            }
            if propagating {
                // The AOF saw the pop: it sees the members come back too (those still absent).
                let scores: Vec<Vec<u8>> =
                    members.iter().map(|(_, s)| crate::util::fmt_g17(*s).into_bytes()).collect();
                let mut argv: Vec<&[u8]> = vec![b"ZADD", &key, b"NX"];
                for ((m, _), s) in members.iter().zip(&scores) {
                    argv.push(s);
                    argv.push(m);
                }
                ks.prop.push_unit(db, &argv);
            }
        }
    }
    ks.dirty += 1;
    if !ks.ready.is_empty() {
        serve_ready(&mut ks);
    }
    if propagating {
        let lazy = server.store.tunables.lazy_expire.load(Ordering::Relaxed);
        server.aof.feed(&mut ks.prop, lazy);
    }
}

// ---- table ----

/// BLMPOP's and BZMPOP's keys: `numkeys` at argv[2], the keys after it.
fn mpop_keys(argv: &[&[u8]]) -> Vec<usize> {
    mpop_keys_at(argv, 2)
}

const RW_DELETE: &[KeySpecDef] =
    &[KeySpecDef::range(1, -2, 1, key_flags::RW | key_flags::ACCESS | key_flags::DELETE)];
const MOVE_KEYS: &[KeySpecDef] = &[
    KeySpecDef::index(1, key_flags::RW | key_flags::ACCESS | key_flags::DELETE),
    KeySpecDef::index(2, key_flags::RW | key_flags::INSERT),
];
const BZMPOP_KEYS: &[KeySpecDef] =
    &[KeySpecDef::keynum(2, key_flags::RW | key_flags::ACCESS | key_flags::DELETE)];
const BLMPOP_KEYS: &[KeySpecDef] =
    &[KeySpecDef::keynum(2, key_flags::RW | key_flags::ACCESS | key_flags::DELETE)];

/// The blocking list commands' table rows.
pub const COMMANDS: &[Command] = &[
    Command {
        keys: KeySpec::Range { first: 1, last: -2, step: 1 },
        key_specs: RW_DELETE,
        group: "list",
        since: "2.0.0",
        summary: "Remove and get the first element in a list, or block until one is available",
        complexity: "O(N) where N is the number of provided keys.",
        acl: &["list"],
        history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")],
        ..Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, blpop)
    },
    Command {
        keys: KeySpec::Range { first: 1, last: -2, step: 1 },
        key_specs: RW_DELETE,
        group: "list",
        since: "2.0.0",
        summary: "Remove and get the last element in a list, or block until one is available",
        complexity: "O(N) where N is the number of provided keys.",
        acl: &["list"],
        history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")],
        ..Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, brpop)
    },
    Command {
        keys: KeySpec::Range { first: 1, last: 2, step: 1 },
        key_specs: MOVE_KEYS,
        group: "list",
        since: "6.2.0",
        summary: "Pop an element from a list, push it to another list and return it; or block \
                  until one is available",
        acl: &["list"],
        ..Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, blmove)
    },
    Command {
        keys: KeySpec::Range { first: 1, last: 2, step: 1 },
        key_specs: MOVE_KEYS,
        group: "list",
        since: "2.2.0",
        summary: "Pop an element from a list, push it to another list and return it; or block \
                  until one is available",
        acl: &["list"],
        history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")],
        doc_flags: crate::command::table::doc_flags::DEPRECATED,
        deprecated_since: "6.2.0",
        replaced_by: "`BLMOVE` with the `RIGHT` and `LEFT` arguments",
        ..Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, brpoplpush)
    },
    Command {
        keys: KeySpec::Custom(mpop_keys),
        key_specs: BLMPOP_KEYS,
        group: "list",
        since: "7.0.0",
        summary: "Pop elements from a list, or block until one is available",
        complexity: "O(N+M) where N is the number of provided keys and M is the number of \
                     elements returned.",
        acl: &["list"],
        ..Command::new("blmpop", -5, WRITE | BLOCKING, blmpop)
    },
    Command {
        keys: KeySpec::Range { first: 1, last: -2, step: 1 },
        key_specs: RW_DELETE,
        group: "sorted-set",
        since: "5.0.0",
        summary: "Remove and return the member with the lowest score from one or more sorted \
                  sets, or block until one is available",
        complexity: "O(log(N)) with N being the number of elements in the sorted set.",
        acl: &["sortedset"],
        history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")],
        ..Command::new("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, bzpopmin)
    },
    Command {
        keys: KeySpec::Range { first: 1, last: -2, step: 1 },
        key_specs: RW_DELETE,
        group: "sorted-set",
        since: "5.0.0",
        summary: "Remove and return the member with the highest score from one or more sorted \
                  sets, or block until one is available",
        complexity: "O(log(N)) with N being the number of elements in the sorted set.",
        acl: &["sortedset"],
        history: &[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")],
        ..Command::new("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, bzpopmax)
    },
    Command {
        keys: KeySpec::Custom(mpop_keys),
        key_specs: BZMPOP_KEYS,
        group: "sorted-set",
        since: "7.0.0",
        summary: "Remove and return members with scores in a sorted set or block until one is \
                  available",
        complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the \
                     number of elements in the sorted set, and M being the number of elements \
                     popped.",
        acl: &["sortedset"],
        ..Command::new("bzmpop", -5, WRITE | BLOCKING, bzmpop)
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::testing::{Harness, bulk, err};
    use crate::protocol::reply::Value as R;
    use crate::store::types::list::List;

    /// Stores a list the way a push would (a new key), then serves the waiters, as dispatch
    /// does after a command.
    fn push(h: &Harness, key: &str, elems: &[&str]) {
        let mut ks = h.server.store.lock_keys(0, crate::util::now_ms(), [key.as_bytes()]);
        let mut list = List::new();
        for e in elems {
            list.push(e.as_bytes(), false);
        }
        ks.insert_in(0, key.as_bytes(), Value::List(Box::new(list)), None);
        serve_ready(&mut ks);
    }

    fn elems(h: &Harness, key: &str) -> Vec<String> {
        let mut ks = h.server.store.lock_keys(0, crate::util::now_ms(), [key.as_bytes()]);
        let Some(list) = ks.entry_in(0, key.as_bytes()).and_then(|e| e.value_mut().as_list_mut())
        else {
            return vec![];
        };
        let mut out = vec![];
        let mut copy = list.clone();
        while let Some(x) = copy.pop(true) {
            out.push(String::from_utf8(x).unwrap());
        }
        out
    }

    fn finish(h: &mut Harness) -> R {
        finish_blocked(&h.server.clone(), &mut h.client, &mut h.out, false);
        h.take_reply()
    }

    fn pair(k: &str, v: &str) -> R {
        R::Array(vec![bulk(k), bulk(v)])
    }

    #[test]
    fn waiters_are_served_in_blocking_order_after_the_push() {
        let mut a = Harness::new();
        let mut b = a.another();
        assert_eq!(a.run(&["BLPOP", "k", "0"]), R::Null);
        assert!(a.client.blocked.is_some());
        assert_eq!(b.run(&["BRPOP", "other", "k", "0"]), R::Null);
        let c = a.another();
        push(&c, "k", &["x", "y", "z"]);
        assert_eq!(finish(&mut a), pair("k", "x"));
        assert_eq!(finish(&mut b), pair("k", "z"));
        assert_eq!(elems(&c, "k"), vec!["y"]);
        // Both left the queues of all their keys.
        let mut ks = c.server.store.lock_all(0, 0);
        assert!(ks.front_waiter(0, b"k").is_none());
        assert!(ks.front_waiter(0, b"other").is_none());
    }

    #[test]
    fn a_timeout_replies_null_and_counts_one_call() {
        let mut a = Harness::new();
        assert_eq!(a.run(&["BLPOP", "k", "0.01"]), R::Null);
        assert_eq!(a.out.buf, b"");
        assert_eq!(finish(&mut a), R::NullArray);
        let idx = a.server.table.lookup(b"blpop").unwrap();
        let stats = &a.server.table.entries[idx].stats;
        assert_eq!(stats.calls.load(Ordering::Relaxed), 1);
        // A push after the timeout stays in the list.
        push(&a, "k", &["x"]);
        assert_eq!(elems(&a, "k"), vec!["x"]);
    }

    #[test]
    fn client_unblock_with_error_counts_a_failed_call() {
        let mut a = Harness::new();
        let mut b = a.another();
        a.run(&["BLMPOP", "0", "1", "k", "LEFT"]);
        let id = a.client.id.to_string();
        assert_eq!(b.run(&["CLIENT", "UNBLOCK", &id, "ERROR"]), R::Int(1));
        assert_eq!(b.run(&["CLIENT", "UNBLOCK", &id, "ERROR"]), R::Int(0));
        assert_eq!(finish(&mut a), err(errors::UNBLOCKED));
        let idx = a.server.table.lookup(b"blmpop").unwrap();
        let stats = &a.server.table.entries[idx].stats;
        assert_eq!(stats.calls.load(Ordering::Relaxed), 1);
        assert_eq!(stats.failed_calls.load(Ordering::Relaxed), 1);
        // No longer blocked: CLIENT UNBLOCK finds nothing.
        assert_eq!(b.run(&["CLIENT", "UNBLOCK", &id]), R::Int(0));
    }

    #[test]
    fn a_served_reply_waits_for_the_offset_of_its_pop() {
        // As with `io-threads` above 1: the serving command serves the waiter, and the
        // blocked client finishes on another thread before that command has fed the AOF.
        let mut a = Harness::new();
        crate::persistence::aof::tests::start_capture(&a);
        a.run(&["BLPOP", "k", "0"]);
        let server = a.server.clone();
        let (served, wait_served) = std::sync::mpsc::channel();
        let serving = std::thread::spawn(move || {
            let mut ks = server.store.lock_keys(0, crate::util::now_ms(), [b"k".as_slice()]);
            let mut list = List::new();
            list.push(b"x", false);
            ks.insert_in(0, b"k", Value::List(Box::new(list)), None);
            serve_ready(&mut ks);
            served.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            server.aof.feed(&mut ks.prop, false);
            let fed = server.aof.appended();
            drop(ks);
            fed
        });
        wait_served.recv().unwrap();
        finish(&mut a);
        let fed = serving.join().unwrap();
        assert!(fed > 0);
        assert!(a.client.aof_need >= fed, "reply waits for {} < {fed}", a.client.aof_need);
    }

    #[test]
    fn a_client_gone_before_its_reply_was_sent_gives_the_elements_back() {
        let mut a = Harness::new();
        a.run(&["BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "2"]);
        push(&a, "k", &["1", "2", "3"]);
        let server = a.server.clone();
        finish_blocked(&server, &mut a.client, &mut a.out, true);
        assert_eq!(elems(&a, "k"), vec!["1", "2", "3"]);
    }

    #[test]
    fn blmove_chains_serve_the_waiters_of_the_target() {
        let mut a = Harness::new();
        let mut b = a.another();
        a.run(&["BLMOVE", "l1", "l2", "RIGHT", "LEFT", "0"]);
        b.run(&["BLPOP", "l2", "0"]);
        push(&a, "l1", &["foo"]);
        assert_eq!(finish(&mut a), bulk("foo"));
        assert_eq!(finish(&mut b), pair("l2", "foo"));
        assert!(elems(&a, "l1").is_empty() && elems(&a, "l2").is_empty());
    }

    #[test]
    fn circular_and_self_referential_moves_settle() {
        let mut a = Harness::new();
        let mut b = a.another();
        a.run(&["BRPOPLPUSH", "l1", "l2", "0"]);
        b.run(&["BRPOPLPUSH", "l2", "l1", "0"]);
        push(&a, "l1", &["foo"]);
        assert_eq!(finish(&mut a), bulk("foo"));
        assert_eq!(finish(&mut b), bulk("foo"));
        assert_eq!(elems(&a, "l1"), vec!["foo"]);
        assert!(elems(&a, "l2").is_empty());

        let mut c = a.another();
        c.run(&["BRPOPLPUSH", "s", "s", "0"]);
        push(&a, "s", &["x"]);
        assert_eq!(finish(&mut c), bulk("x"));
        assert_eq!(elems(&a, "s"), vec!["x"]);
    }

    #[test]
    fn a_wrong_type_destination_fails_that_waiter_only() {
        let mut a = Harness::new();
        let mut b = a.another();
        a.run(&["SET", "t1", "nolist"]);
        a.run(&["BRPOPLPUSH", "src", "t1", "0"]);
        b.run(&["BRPOPLPUSH", "src", "t2", "0"]);
        push(&a, "src", &["foo"]);
        assert_eq!(finish(&mut a), err(errors::WRONGTYPE));
        assert_eq!(finish(&mut b), bulk("foo"));
        assert_eq!(elems(&a, "t2"), vec!["foo"]);
    }

    #[test]
    fn a_waiter_whose_key_became_a_string_keeps_waiting() {
        let mut a = Harness::new();
        let b = a.another();
        a.run(&["BLPOP", "k", "0"]);
        let mut b = b;
        b.run(&["SET", "k", "str"]);
        assert!(a.client.blocked.as_ref().unwrap().waiter.is_waiting());
        b.run(&["DEL", "k"]);
        push(&b, "k", &["v"]);
        assert_eq!(finish(&mut a), pair("k", "v"));
    }

    #[test]
    fn argument_errors() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["BLPOP", "k", "-1"]), err(errors::TIMEOUT_NEGATIVE));
        assert_eq!(h.run(&["BLPOP", "k", "abc"]), err(errors::TIMEOUT_NOT_FLOAT));
        assert_eq!(h.run(&["BLPOP", "k", "inf"]), err(errors::TIMEOUT_NEGATIVE));
        assert_eq!(h.run(&["BLPOP", "k", "nan"]), err(errors::TIMEOUT_NOT_FLOAT));
        assert_eq!(h.run(&["BLMPOP", "0", "0", "k", "LEFT"]), err(errors::NUMKEYS_POSITIVE));
        assert_eq!(h.run(&["BLMPOP", "0", "abc", "k", "LEFT"]), err(errors::NUMKEYS_POSITIVE));
        assert_eq!(h.run(&["BLMPOP", "0", "2", "k", "LEFT"]), err(errors::SYNTAX));
        assert_eq!(
            h.run(&["BLMPOP", "0", "9223372036854775807", "k", "LEFT"]),
            err(errors::SYNTAX)
        );
        assert_eq!(h.run(&["BLMPOP", "0", "1", "k", "UP"]), err(errors::SYNTAX));
        assert_eq!(
            h.run(&["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0"]),
            err(errors::COUNT_POSITIVE)
        );
        assert_eq!(
            h.run(&["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "1", "COUNT", "2"]),
            err(errors::SYNTAX)
        );
        assert_eq!(h.run(&["BLMOVE", "a", "b", "UP", "LEFT", "abc"]), err(errors::SYNTAX));
        assert_eq!(h.run(&["BLMOVE", "a", "b", "LEFT", "LEFT", "abc"]), err(errors::TIMEOUT_NOT_FLOAT));
        h.run(&["SET", "s", "x"]);
        assert_eq!(h.run(&["BLPOP", "nokey", "s", "0"]), err(errors::WRONGTYPE));
        assert_eq!(h.run(&["BRPOPLPUSH", "s", "d", "0"]), err(errors::WRONGTYPE));
        assert!(h.client.blocked.is_none());
    }
}
