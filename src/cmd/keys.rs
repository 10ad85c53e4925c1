//! Generic key commands (Redis's `generic` group and the keyspace part of `server`): deleting,
//! inspecting, renaming, moving and copying keys, listing them (KEYS, SCAN, RANDOMKEY), whole
//! databases (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB), and expiry (EXPIRE and friends, TTL and
//! friends, PERSIST).
//!
//! Handlers parse and reply; the keyspace work goes through `store::Keyspace`. Keys live in
//! the shard of their hash in every database, so MOVE and COPY to another database stay within
//! the shards their declared keys locked.

use std::sync::atomic::Ordering;

use crate::config::notify;
use crate::command::table::{Arg, ArgType, KeySpecDef, key_flags as kf};
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::{Reply, errors};
use crate::store::expires::free_value;
use crate::store::value::Value;
use crate::store::{Flushed, idle_seconds, lazyfree, lfu_decayed};
use crate::util::glob::glob_match;
use crate::util::parse_i64_strict;

const ALL_KEYS: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };
const KEY1: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const KEY1_2: KeySpec = KeySpec::Range { first: 1, last: 2, step: 1 };
const KEY2: KeySpec = KeySpec::Range { first: 2, last: 2, step: 1 };

/// OBJECT REFCOUNT of a shared object in Redis (`OBJ_SHARED_REFCOUNT`, INT_MAX).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Redis shares the integer objects below this (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;

/// Parses a database index as Redis's `getIntFromObjectOrReply` does: a strict integer that
/// fits an `int`.
fn parse_int(arg: &[u8]) -> Option<i64> {
    parse_i64_strict(arg).filter(|n| i32::try_from(*n).is_ok())
}

/// Returns database `n` when it exists.
fn db_index(ctx: &Ctx, n: i64) -> Option<usize> {
    usize::try_from(n).ok().filter(|&i| i < ctx.server.store.databases())
}

/// Replies with a HELP text the way Redis's `addReplyHelp` does: a header naming the command,
/// the lines, then HELP's own entry, all as status replies.
fn reply_help(out: &mut Reply, cmd: &[u8], lines: &[&str]) {
    out.array(lines.len() + 3);
    let mut head = cmd.to_ascii_uppercase();
    head.extend_from_slice(b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    out.simple(&head);
    for l in lines {
        out.simple(l.as_bytes());
    }
    out.simple(b"HELP");
    out.simple(b"    Prints this help.");
}

// ---- deleting and inspecting ----

/// Deletes the keys of `argv[1..]`, freeing big values in the background when `lazy`.
fn del_generic(ctx: &mut Ctx, argv: &[&[u8]], lazy: bool) {
    let mut n = 0;
    for k in &argv[1..] {
        if let Some(v) = ctx.ks.remove(k) {
            n += 1;
            free_value(v, lazy);
            ctx.notify(notify::GENERIC, "del", k);
        }
    }
    ctx.out.int(n);
}

/// DEL key [key ...]
fn del(ctx: &mut Ctx, argv: &[&[u8]]) {
    let lazy = ctx.server.store.tunables.lazy_user_del.load(Ordering::Relaxed);
    del_generic(ctx, argv, lazy);
}

/// UNLINK key [key ...]
fn unlink(ctx: &mut Ctx, argv: &[&[u8]]) {
    del_generic(ctx, argv, true);
}

/// EXISTS key [key ...]
fn exists(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = argv[1..].iter().filter(|k| ctx.ks.exists(k)).count();
    ctx.out.int(n as i64);
}

/// TOUCH key [key ...]
fn touch(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = argv[1..].iter().filter(|k| ctx.ks.get(k).is_some()).count();
    ctx.out.int(n as i64);
}

/// TYPE key
fn type_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let name = match ctx.ks.inspect(argv[1]) {
        Some(e) => e.value().value_type().name(),
        None => "none",
    };
    ctx.out.simple(name.as_bytes());
}

// ---- renaming, moving, copying ----

/// Shared by RENAME and RENAMENX: moves the value, its TTL and its access clock to the new
/// name, replacing what was there unless `nx`.
fn rename_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) {
    let (src, dst) = (argv[1], argv[2]);
    let db = ctx.ks.db;
    if ctx.ks.get_mut(src).is_none() {
        return ctx.out.error(errors::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    if ctx.ks.entry_in(db, dst).is_some() {
        if nx {
            return ctx.out.int(0);
        }
        let lazy = ctx.server.store.tunables.lazy_server_del.load(Ordering::Relaxed);
        if let Some(old) = ctx.ks.remove_in(db, dst) {
            free_value(old, lazy);
        }
    }
    let Some(mut e) = ctx.ks.take_entry_in(db, src) else {
        return ctx.out.error(errors::NO_SUCH_KEY);
    };
    let moved = crate::store::entry::Entry::new(
        dst,
        e.replace_value(Value::Int(0)),
        e.expire(),
        e.clock(),
    );
    ctx.ks.put_entry_in(db, moved);
    ctx.ks.dirty += 1;
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if nx { ctx.out.int(1) } else { ctx.out.ok() }
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, false);
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) {
    rename_generic(ctx, argv, true);
}

/// MOVE key db
fn move_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(n) = parse_int(argv[2]) else { return ctx.out.error(errors::NOT_INTEGER) };
    let Some(dst) = db_index(ctx, n) else {
        return ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
    };
    let src = ctx.ks.db;
    if src == dst {
        return ctx.out.error(errors::SAME_OBJECT);
    }
    let key = argv[1];
    if ctx.ks.get_mut(key).is_none() || ctx.ks.entry_in(dst, key).is_some() {
        return ctx.out.int(0);
    }
    // The key is in the same shard in every database, so the entry moves as it is.
    if let Some(e) = ctx.ks.take_entry_in(src, key) {
        ctx.ks.put_entry_in(dst, e);
        ctx.ks.dirty += 1;
        ctx.ks.notify_in(src, notify::GENERIC, "move_from", key);
        ctx.ks.notify_in(dst, notify::GENERIC, "move_to", key);
    }
    ctx.out.int(1);
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx, argv: &[&[u8]]) {
    let src_db = ctx.ks.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        let opt = argv[j];
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"db") && j + 1 < argv.len() {
            let Some(n) = parse_int(argv[j + 1]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            let Some(d) = db_index(ctx, n) else {
                return ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
            };
            dst_db = d;
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let (src, dst) = (argv[1], argv[2]);
    if src_db == dst_db && src == dst {
        return ctx.out.error(errors::SAME_OBJECT);
    }
    let Some(v) = ctx.ks.get(src) else { return ctx.out.int(0) };
    let value = v.clone();
    let expire = ctx.ks.expire_of(src).flatten();
    if ctx.ks.entry_in(dst_db, dst).is_some() {
        if !replace {
            return ctx.out.int(0);
        }
        let lazy = ctx.server.store.tunables.lazy_server_del.load(Ordering::Relaxed);
        if let Some(old) = ctx.ks.remove_in(dst_db, dst) {
            free_value(old, lazy);
        }
    }
    ctx.ks.insert_in(dst_db, dst, value, expire);
    ctx.ks.dirty += 1;
    ctx.ks.notify_in(dst_db, notify::GENERIC, "copy_to", dst);
    ctx.out.int(1);
}

// ---- listing keys ----

/// KEYS pattern
fn keys(ctx: &mut Ctx, argv: &[&[u8]]) {
    let pattern = argv[1];
    let all = pattern == b"*";
    // The count is known only at the end: encode the keys aside, then prefix the header.
    let mut body = Reply::default();
    body.resp3 = ctx.out.resp3;
    let mut n = 0;
    let db = ctx.ks.db;
    ctx.ks.for_each_in(db, |e| {
        if all || glob_match(pattern, e.key(), false) {
            body.bulk(e.key());
            n += 1;
        }
    });
    ctx.out.array(n);
    ctx.out.raw(&body.buf);
}

/// Parses a SCAN cursor as Redis does (`strtoul`): an optional sign and decimal digits, no
/// leading space, nothing after; a negative number wraps around; an empty string is 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // A lone sign is not a number; an empty string is (strtoul consumes nothing).
        return if arg.is_empty() { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The documented arguments of HSCAN, SSCAN and ZSCAN (COMMAND DOCS).
pub(crate) const ELEMENT_SCAN_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("cursor", ArgType::Integer),
    Arg::new("pattern", ArgType::Pattern).token("MATCH").optional(),
    Arg::new("count", ArgType::Integer).token("COUNT").optional(),
];

/// The options of SCAN and of HSCAN / SSCAN / ZSCAN.
pub(crate) struct ScanOpts<'a> {
    /// Elements asked for per call (COUNT, default 10).
    pub count: usize,
    /// MATCH pattern; `None` when absent or a lone `*` (which matches everything, even the
    /// empty string the matcher would refuse).
    pub pattern: Option<&'a [u8]>,
    /// TYPE filter (SCAN only).
    pub type_name: Option<&'a [u8]>,
}

/// Parses the options after a SCAN-family cursor, from `argv[from]` on, as Redis's
/// `scanGenericCommand` does; TYPE is accepted only when `allow_type` (SCAN itself). Returns
/// the error to reply on bad input.
pub(crate) fn parse_scan_opts<'a>(
    argv: &[&'a [u8]],
    from: usize,
    allow_type: bool,
) -> Result<ScanOpts<'a>, &'static str> {
    let mut opts = ScanOpts { count: 10, pattern: None, type_name: None };
    let mut i = from;
    while i < argv.len() {
        let (opt, has_value) = (argv[i], i + 1 < argv.len());
        if opt.eq_ignore_ascii_case(b"count") && has_value {
            let Some(n) = parse_i64_strict(argv[i + 1]) else {
                return Err(errors::NOT_INTEGER);
            };
            if n < 1 {
                return Err(errors::SYNTAX);
            }
            opts.count = n as usize;
        } else if opt.eq_ignore_ascii_case(b"match") && has_value {
            opts.pattern = Some(argv[i + 1]).filter(|p| *p != b"*");
        } else if allow_type && opt.eq_ignore_ascii_case(b"type") && has_value {
            opts.type_name = Some(argv[i + 1]);
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok(opts)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(mut cursor) = parse_cursor(argv[1]) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let ScanOpts { count, pattern, type_name } = match parse_scan_opts(argv, 2, true) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let db = ctx.ks.db;
    let now = ctx.ks.now;
    // (key, passes the filters, expired): filtering happens after the walk, as in Redis.
    let mut found: Vec<(Vec<u8>, bool)> = Vec::new();
    // About `count` buckets' worth, and at most ten times as many steps when the table is
    // sparse, so one call never walks a huge empty table.
    let mut steps_left = count.saturating_mul(10);
    loop {
        cursor = ctx.ks.scan_step(db, cursor, |e| {
            let keep = pattern.is_none_or(|p| glob_match(p, e.key(), false))
                && type_name.is_none_or(|t| {
                    t.eq_ignore_ascii_case(e.value().value_type().name().as_bytes())
                });
            let expired = e.expire().is_some_and(|t| now > t);
            if keep {
                found.push((e.key().to_vec(), expired));
            }
        });
        if cursor == 0 || steps_left == 0 || found.len() >= count {
            break;
        }
        steps_left -= 1;
    }
    // Expired keys are deleted on the way, as a lookup would.
    let mut live = Vec::with_capacity(found.len());
    for (k, expired) in found {
        if expired {
            ctx.ks.expire_if_due(&k);
        } else {
            live.push(k);
        }
    }
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    ctx.out.bulks(live.iter().map(|k| k.as_slice()));
}

/// RANDOMKEY
fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    match ctx.ks.random_key(db) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
}

// ---- whole databases ----

/// DBSIZE
fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    let n = ctx.ks.db_len(db);
    ctx.out.int(n as i64);
}

/// Parses FLUSHDB / FLUSHALL's optional ASYNC|SYNC; returns Some(async) or None on bad input.
/// Without one, `lazyfree-lazy-user-flush` decides.
fn flush_mode(ctx: &Ctx, argv: &[&[u8]]) -> Option<bool> {
    match argv {
        [_] => Some(ctx.server.store.tunables.lazy_user_flush.load(Ordering::Relaxed)),
        [_, a] if a.eq_ignore_ascii_case(b"async") => Some(true),
        [_, a] if a.eq_ignore_ascii_case(b"sync") => Some(false),
        _ => None,
    }
}

/// Frees what a flush took out: on the lazy-free thread when `lazy` (counted per key, as
/// Redis counts `lazyfreed_objects`), here otherwise.
fn free_flushed(old: Flushed, lazy: bool) {
    if lazy && old.keys() > 0 {
        let n = old.keys() as u64;
        lazyfree::free_later(old, n);
    }
}

/// FLUSHDB [ASYNC|SYNC]
fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, argv) else { return ctx.syntax_error() };
    let db = ctx.ks.db;
    let old = ctx.ks.flush_db(db);
    free_flushed(old, lazy);
    ctx.force_propagation();
    ctx.out.ok();
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(ctx, argv) else { return ctx.syntax_error() };
    let mut all = Flushed::default();
    for db in 0..ctx.server.store.databases() {
        all.extend(ctx.ks.flush_db(db));
    }
    free_flushed(all, lazy);
    ctx.force_propagation();
    // Persistence: a running BGSAVE is abandoned and, with save points, the empty dataset is
    // saved at once, as Redis's FLUSHALL does.
    super::persist::after_flushall(ctx);
    ctx.out.ok();
}

/// SWAPDB index1 index2
fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(a) = parse_int(argv[1]) else { return ctx.out.error(errors::INVALID_FIRST_DB) };
    let Some(b) = parse_int(argv[2]) else { return ctx.out.error(errors::INVALID_SECOND_DB) };
    let (Some(a), Some(b)) = (db_index(ctx, a), db_index(ctx, b)) else {
        return ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
    };
    ctx.ks.swap_db(a, b);
    ctx.out.ok();
}

// ---- OBJECT ----

/// OBJECT is a container; its subcommands have their own rows.
fn object(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.error(&errors::unknown_subcommand(argv.get(1).copied().unwrap_or(b""), "object"));
}

/// OBJECT ENCODING key
fn object_encoding(ctx: &mut Ctx, argv: &[&[u8]]) {
    match ctx.ks.inspect_quiet(argv[2]) {
        Some(e) => {
            let name = e.value().encoding_name();
            ctx.out.bulk(name.as_bytes())
        }
        None => ctx.out.null(),
    }
}

/// OBJECT REFCOUNT key
fn object_refcount(ctx: &mut Ctx, argv: &[&[u8]]) {
    let shared_ints = ctx.server.store.tunables.shared_integers.load(Ordering::Relaxed);
    match ctx.ks.inspect_quiet(argv[2]) {
        // Redis keeps small integers as shared objects; everything else has one reference.
        Some(e) => match e.value() {
            Value::Int(n) if shared_ints && (0..SHARED_INTEGERS).contains(n) => {
                ctx.out.int(SHARED_REFCOUNT)
            }
            _ => ctx.out.int(1),
        },
        None => ctx.out.null(),
    }
}

/// OBJECT IDLETIME key
fn object_idletime(ctx: &mut Ctx, argv: &[&[u8]]) {
    let lfu = ctx.server.store.tunables.lfu.load(Ordering::Relaxed);
    let Some(e) = ctx.ks.inspect_quiet(argv[2]) else { return ctx.out.null() };
    if lfu {
        return ctx.out.error(errors::IDLETIME_UNDER_LFU);
    }
    let idle = idle_seconds(e.clock());
    ctx.out.int(idle as i64);
}

/// OBJECT FREQ key
fn object_freq(ctx: &mut Ctx, argv: &[&[u8]]) {
    let t = &ctx.server.store.tunables;
    let (lfu, decay) = (t.lfu.load(Ordering::Relaxed), t.lfu_decay_time.load(Ordering::Relaxed));
    let Some(e) = ctx.ks.inspect_quiet(argv[2]) else { return ctx.out.null() };
    if !lfu {
        return ctx.out.error(errors::FREQ_WITHOUT_LFU);
    }
    let freq = lfu_decayed(e.clock(), decay);
    ctx.out.int(freq as i64);
}

/// OBJECT HELP
fn object_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        argv[0],
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

// ---- expiry ----

/// Conditions of EXPIRE and friends.
#[derive(Default, Clone, Copy)]
struct ExpireCond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses EXPIRE's NX|XX|GT|LT flags, replying the error of the first bad one.
fn parse_expire_flags(ctx: &mut Ctx, args: &[&[u8]]) -> Option<ExpireCond> {
    let mut c = ExpireCond::default();
    for a in args {
        if a.eq_ignore_ascii_case(b"nx") {
            c.nx = true;
        } else if a.eq_ignore_ascii_case(b"xx") {
            c.xx = true;
        } else if a.eq_ignore_ascii_case(b"gt") {
            c.gt = true;
        } else if a.eq_ignore_ascii_case(b"lt") {
            c.lt = true;
        } else {
            ctx.out.error(&errors::unsupported_option(a));
            return None;
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        ctx.out.error(errors::EXPIRE_NX_AND_OTHERS);
        return None;
    }
    if c.gt && c.lt {
        ctx.out.error(errors::EXPIRE_GT_AND_LT);
        return None;
    }
    Some(c)
}

/// Shared by EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: `relative` adds the command's clock to
/// the argument, `seconds` scales it to milliseconds; `name` is for the error text. A time not
/// in the future deletes the key.
fn expire_generic(ctx: &mut Ctx, argv: &[&[u8]], relative: bool, seconds: bool, name: &str) {
    let Some(cond) = parse_expire_flags(ctx, &argv[3..]) else { return };
    let Some(mut when) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if seconds {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return ctx.out.error(&errors::invalid_expire(name)),
        }
    }
    let base = if relative { ctx.ks.now } else { 0 };
    if when > i64::MAX - base {
        return ctx.out.error(&errors::invalid_expire(name));
    }
    when += base;
    let key = argv[1];
    let current = match ctx.ks.get_mut(key) {
        None => return ctx.out.int(0),
        Some(_) => ctx.ks.expire_of(key).flatten(),
    };
    // A missing TTL counts as infinite: GT never beats it, LT always does.
    let refused = (cond.nx && current.is_some())
        || (cond.xx && current.is_none())
        || (cond.gt && current.is_none_or(|cur| when <= cur))
        || (cond.lt && current.is_some_and(|cur| when >= cur));
    if refused {
        return ctx.out.int(0);
    }
    // While the AOF loads, a past time is set, not applied (Redis's checkAlreadyExpired).
    if when <= ctx.ks.now && !ctx.ks.loading {
        let lazy = ctx.server.store.tunables.lazy_expire.load(Ordering::Relaxed);
        if let Some(v) = ctx.ks.remove(key) {
            free_value(v, lazy);
        }
        ctx.notify(notify::GENERIC, "del", key);
        ctx.propagate_as(&[if lazy { b"UNLINK" } else { b"DEL" }, key]);
    } else {
        ctx.ks.set_expire(key, Some(when));
        ctx.notify(notify::GENERIC, "expire", key);
        if (relative || seconds) && ctx.propagating() {
            // Propagated as PEXPIREAT with the absolute time in ms, options kept.
            let mut tmp = itoa::Buffer::new();
            let mut v: Vec<&[u8]> = vec![b"PEXPIREAT", key, tmp.format(when).as_bytes()];
            v.extend_from_slice(&argv[3..]);
            ctx.propagate_as(&v);
        }
    }
    ctx.out.int(1);
}

/// EXPIRE key seconds [NX|XX|GT|LT]
fn expire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, true, true, "expire");
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, true, false, "pexpire");
}

/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, false, true, "expireat");
}

/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) {
    expire_generic(ctx, argv, false, false, "pexpireat");
}

/// Shared by TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key, -1 for one without
/// a TTL; otherwise the time left (or the absolute time), in ms or rounded to seconds.
fn ttl_generic(ctx: &mut Ctx, argv: &[&[u8]], ms: bool, absolute: bool) {
    let now = ctx.ks.now;
    let expire = match ctx.ks.inspect(argv[1]) {
        None => return ctx.out.int(-2),
        Some(e) => e.expire(),
    };
    let Some(at) = expire else { return ctx.out.int(-1) };
    let t = if absolute { at } else { at.saturating_sub(now) }.max(0);
    ctx.out.int(if ms { t } else { t.saturating_add(500) / 1000 });
}

/// TTL key
fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, false);
}

/// PTTL key
fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, false);
}

/// EXPIRETIME key
fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, false, true);
}

/// PEXPIRETIME key
fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) {
    ttl_generic(ctx, argv, true, true);
}

/// PERSIST key
fn persist(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let had_ttl = ctx.ks.get_mut(key).is_some() && ctx.ks.expire_of(key).flatten().is_some();
    if had_ttl {
        ctx.ks.set_expire(key, None);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    ctx.out.int(had_ttl as i64);
}

// ---- the table ----

const KEY_ARG: &[Arg] = &[Arg::key("key", 0)];
const KEYS_ARG: &[Arg] = &[Arg::key("key", 0).multiple()];
const MULTI_KEY_TIPS: &[&str] = &["request_policy:multi_shard", "response_policy:agg_sum"];
const FLUSH_TIPS: &[&str] = &["request_policy:all_shards", "response_policy:all_succeeded"];
const NONDET: &[&str] = &["nondeterministic_output"];

/// The single key of most commands, with Redis's flags for it.
const KEY_RO: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RO)];
const KEY_RO_ACCESS: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RO | kf::ACCESS)];
const KEY_RW_UPDATE: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::UPDATE)];
const KEY_RW_ACCESS_UPDATE: &[KeySpecDef] =
    &[KeySpecDef::index(1, kf::RW | kf::ACCESS | kf::UPDATE)];

/// The keys of DEL and UNLINK, and of EXISTS and TOUCH.
const DELETED_KEYS: &[KeySpecDef] = &[KeySpecDef::range(1, -1, 1, kf::RM | kf::DELETE)];
const READ_KEYS: &[KeySpecDef] = &[KeySpecDef::range(1, -1, 1, kf::RO)];
/// The subcommands of OBJECT name their key after the subcommand.
const OBJECT_KEY: &[KeySpecDef] = &[KeySpecDef::index(2, kf::RO)];

const FLUSH_ARGS: &[Arg] = &[Arg::one_of(
    "async",
    &[Arg::pure("async", "ASYNC").since("4.0.0"), Arg::pure("sync", "SYNC").since("6.2.0")],
)
.optional()];
const FLUSH_HISTORY: &[(&str, &str)] = &[
    ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
    ("6.2.0", "Added the `SYNC` flushing mode modifier."),
];

const EXPIRE_CONDITIONS: &[Arg] = &[
    Arg::pure("nx", "NX"),
    Arg::pure("xx", "XX"),
    Arg::pure("gt", "GT"),
    Arg::pure("lt", "LT"),
];

/// EXPIRE and friends: the key, the time, and the condition.
const fn expire_args(time: &'static str, kind: ArgType) -> [Arg; 3] {
    [
        Arg::key("key", 0),
        Arg::new(time, kind),
        Arg::one_of("condition", EXPIRE_CONDITIONS).since("7.0.0").optional(),
    ]
}
const EXPIRE_ARGS: &[Arg] = &expire_args("seconds", ArgType::Integer);
const PEXPIRE_ARGS: &[Arg] = &expire_args("milliseconds", ArgType::Integer);
const EXPIREAT_ARGS: &[Arg] = &expire_args("unix-time-seconds", ArgType::UnixTime);
const PEXPIREAT_ARGS: &[Arg] = &expire_args("unix-time-milliseconds", ArgType::UnixTime);
const EXPIRE_HISTORY: &[(&str, &str)] = &[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")];
const TTL_HISTORY: &[(&str, &str)] = &[("2.8.0", "Added the -2 reply.")];

const OBJECT_SUBCOMMANDS: &[Command] = &[
    Command {
        keys: KEY2,
        since: "2.2.3",
        summary: "Inspect the internal encoding of a Redis object",
        acl: &["keyspace"],
        tips: NONDET,
        key_specs: OBJECT_KEY,
        args: KEY_ARG,
        ..Command::new("encoding", 3, READONLY, object_encoding)
    },
    Command {
        keys: KEY2,
        since: "4.0.0",
        summary: "Get the logarithmic access frequency counter of a Redis object",
        acl: &["keyspace"],
        tips: NONDET,
        key_specs: OBJECT_KEY,
        args: KEY_ARG,
        ..Command::new("freq", 3, READONLY, object_freq)
    },
    Command {
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        acl: &["keyspace"],
        ..Command::new("help", 2, LOADING | STALE, object_help)
    },
    Command {
        keys: KEY2,
        since: "2.2.3",
        summary: "Get the time since a Redis object was last accessed",
        acl: &["keyspace"],
        tips: NONDET,
        key_specs: OBJECT_KEY,
        args: KEY_ARG,
        ..Command::new("idletime", 3, READONLY, object_idletime)
    },
    Command {
        keys: KEY2,
        since: "2.2.3",
        summary: "Get the number of references to the value of the key",
        acl: &["keyspace"],
        tips: NONDET,
        key_specs: OBJECT_KEY,
        args: KEY_ARG,
        ..Command::new("refcount", 3, READONLY, object_refcount)
    },
];

pub const COMMANDS: &[Command] = &[
    Command {
        keys: ALL_KEYS,
        summary: "Delete a key",
        complexity: "O(N) where N is the number of keys that will be removed. When a key to remove \
             holds a value other than a string, the individual complexity for this key is O(M) \
             where M is the number of elements in the list, set, sorted set or hash. Removing a \
             single key that holds a string value is O(1).",
        acl: &["keyspace"],
        tips: MULTI_KEY_TIPS,
        key_specs: DELETED_KEYS,
        args: KEYS_ARG,
        ..Command::new("del", -2, WRITE, del)
    },
    Command {
        keys: ALL_KEYS,
        since: "4.0.0",
        summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but \
             non blocking.",
        complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) \
             work in a different thread in order to reclaim memory, where N is the number of \
             allocations the deleted objects where composed of.",
        acl: &["keyspace"],
        tips: MULTI_KEY_TIPS,
        key_specs: DELETED_KEYS,
        args: KEYS_ARG,
        ..Command::new("unlink", -2, WRITE | FAST, unlink)
    },
    Command {
        keys: ALL_KEYS,
        summary: "Determine if a key exists",
        complexity: "O(N) where N is the number of keys to check.",
        acl: &["keyspace"],
        tips: MULTI_KEY_TIPS,
        key_specs: READ_KEYS,
        args: KEYS_ARG,
        history: &[("3.0.3", "Accepts multiple `key` arguments.")],
        ..Command::new("exists", -2, READONLY | FAST, exists)
    },
    Command {
        keys: ALL_KEYS,
        since: "3.2.1",
        summary: "Alters the last access time of a key(s). Returns the number of existing keys \
             specified.",
        complexity: "O(N) where N is the number of keys that will be touched.",
        acl: &["keyspace"],
        tips: MULTI_KEY_TIPS,
        key_specs: READ_KEYS,
        args: KEYS_ARG,
        ..Command::new("touch", -2, READONLY | FAST, touch)
    },
    Command {
        keys: KEY1,
        summary: "Determine the type stored at key",
        acl: &["keyspace"],
        key_specs: KEY_RO,
        args: KEY_ARG,
        ..Command::new("type", 2, READONLY | FAST, type_cmd)
    },
    Command {
        keys: KEY1_2,
        summary: "Rename a key",
        acl: &["keyspace"],
        key_specs: &[
            KeySpecDef::index(1, kf::RW | kf::ACCESS | kf::DELETE),
            KeySpecDef::index(2, kf::OW | kf::UPDATE),
        ],
        args: &[Arg::key("key", 0), Arg::key("newkey", 1)],
        ..Command::new("rename", 3, WRITE, rename)
    },
    Command {
        keys: KEY1_2,
        summary: "Rename a key, only if the new key does not exist",
        acl: &["keyspace"],
        key_specs: &[
            KeySpecDef::index(1, kf::RW | kf::ACCESS | kf::DELETE),
            KeySpecDef::index(2, kf::OW | kf::INSERT),
        ],
        args: &[Arg::key("key", 0), Arg::key("newkey", 1)],
        history: &[(
            "3.2.0",
            "The command no longer returns an error when source and destination names are the \
             same.",
        )],
        ..Command::new("renamenx", 3, WRITE | FAST, renamenx)
    },
    Command {
        keys: KEY1,
        summary: "Move a key to another database",
        acl: &["keyspace"],
        key_specs: KEY_RW_ACCESS_UPDATE,
        args: &[Arg::key("key", 0), Arg::new("db", ArgType::Integer)],
        ..Command::new("move", 3, WRITE | FAST, move_cmd)
    },
    Command {
        keys: KEY1_2,
        since: "6.2.0",
        summary: "Copy a key",
        complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) \
             for string values.",
        acl: &["keyspace"],
        key_specs: &[
            KeySpecDef::index(1, kf::RO | kf::ACCESS),
            KeySpecDef::index(2, kf::OW | kf::UPDATE),
        ],
        args: &[
            Arg::key("source", 0),
            Arg::key("destination", 1),
            Arg::new("destination-db", ArgType::Integer).token("DB").optional(),
            Arg::pure("replace", "REPLACE").optional(),
        ],
        ..Command::new("copy", -3, WRITE | DENYOOM, copy)
    },
    Command {
        summary: "Find all keys matching the given pattern",
        complexity: "O(N) with N being the number of keys in the database, under the assumption \
             that the key names in the database and the given pattern have limited length.",
        acl: &["keyspace", "dangerous"],
        tips: &["request_policy:all_shards", "nondeterministic_output_order"],
        args: &[Arg::new("pattern", ArgType::Pattern)],
        ..Command::new("keys", 2, READONLY | ALL_SHARDS, keys)
    },
    Command {
        since: "2.8.0",
        summary: "Incrementally iterate the keys space",
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough command \
             calls for the cursor to return back to 0. N is the number of elements inside the \
             collection.",
        acl: &["keyspace"],
        tips: &["nondeterministic_output", "request_policy:special"],
        args: &[
            Arg::new("cursor", ArgType::Integer),
            Arg::new("pattern", ArgType::Pattern).token("MATCH").optional(),
            Arg::new("count", ArgType::Integer).token("COUNT").optional(),
            Arg::new("type", ArgType::String).token("TYPE").since("6.0.0").optional(),
        ],
        history: &[("6.0.0", "Added the `TYPE` subcommand.")],
        ..Command::new("scan", -2, READONLY | ALL_SHARDS, scan)
    },
    Command {
        summary: "Return a random key from the keyspace",
        acl: &["keyspace"],
        tips: &["request_policy:all_shards", "nondeterministic_output"],
        ..Command::new("randomkey", 1, READONLY | ALL_SHARDS, randomkey)
    },
    Command {
        group: "server",
        summary: "Return the number of keys in the selected database",
        acl: &["keyspace"],
        tips: &["request_policy:all_shards", "response_policy:agg_sum"],
        ..Command::new("dbsize", 1, READONLY | FAST | ALL_SHARDS, dbsize)
    },
    Command {
        group: "server",
        summary: "Remove all keys from the current database",
        complexity: "O(N) where N is the number of keys in the selected database",
        acl: &["keyspace", "dangerous"],
        tips: FLUSH_TIPS,
        args: FLUSH_ARGS,
        history: FLUSH_HISTORY,
        ..Command::new("flushdb", -1, WRITE | ALL_SHARDS, flushdb)
    },
    Command {
        group: "server",
        summary: "Remove all keys from all databases",
        complexity: "O(N) where N is the total number of keys in all databases",
        acl: &["keyspace", "dangerous"],
        tips: FLUSH_TIPS,
        args: FLUSH_ARGS,
        history: FLUSH_HISTORY,
        ..Command::new("flushall", -1, WRITE | ALL_SHARDS, flushall)
    },
    Command {
        group: "server",
        since: "4.0.0",
        summary: "Swaps two Redis databases",
        complexity: "O(N) where N is the count of clients watching or blocking on keys from both \
             databases.",
        acl: &["keyspace", "dangerous"],
        args: &[Arg::new("index1", ArgType::Integer), Arg::new("index2", ArgType::Integer)],
        ..Command::new("swapdb", 3, WRITE | FAST | ALL_SHARDS, swapdb)
    },
    Command {
        since: "2.2.3",
        summary: "A container for object introspection commands",
        complexity: "Depends on subcommand.",
        subcommands: OBJECT_SUBCOMMANDS,
        ..Command::new("object", -2, 0, object)
    },
    Command {
        keys: KEY1,
        summary: "Set a key's time to live in seconds",
        acl: &["keyspace"],
        key_specs: KEY_RW_UPDATE,
        args: EXPIRE_ARGS,
        history: EXPIRE_HISTORY,
        ..Command::new("expire", -3, WRITE | FAST, expire)
    },
    Command {
        keys: KEY1,
        since: "2.6.0",
        summary: "Set a key's time to live in milliseconds",
        acl: &["keyspace"],
        key_specs: KEY_RW_UPDATE,
        args: PEXPIRE_ARGS,
        history: EXPIRE_HISTORY,
        ..Command::new("pexpire", -3, WRITE | FAST, pexpire)
    },
    Command {
        keys: KEY1,
        since: "1.2.0",
        summary: "Set the expiration for a key as a UNIX timestamp",
        acl: &["keyspace"],
        key_specs: KEY_RW_UPDATE,
        args: EXPIREAT_ARGS,
        history: EXPIRE_HISTORY,
        ..Command::new("expireat", -3, WRITE | FAST, expireat)
    },
    Command {
        keys: KEY1,
        since: "2.6.0",
        summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        acl: &["keyspace"],
        key_specs: KEY_RW_UPDATE,
        args: PEXPIREAT_ARGS,
        history: EXPIRE_HISTORY,
        ..Command::new("pexpireat", -3, WRITE | FAST, pexpireat)
    },
    Command {
        keys: KEY1,
        summary: "Get the time to live for a key in seconds",
        acl: &["keyspace"],
        tips: NONDET,
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        history: TTL_HISTORY,
        ..Command::new("ttl", 2, READONLY | FAST, ttl)
    },
    Command {
        keys: KEY1,
        since: "2.6.0",
        summary: "Get the time to live for a key in milliseconds",
        acl: &["keyspace"],
        tips: NONDET,
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        history: TTL_HISTORY,
        ..Command::new("pttl", 2, READONLY | FAST, pttl)
    },
    Command {
        keys: KEY1,
        since: "7.0.0",
        summary: "Get the expiration Unix timestamp for a key",
        acl: &["keyspace"],
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        ..Command::new("expiretime", 2, READONLY | FAST, expiretime)
    },
    Command {
        keys: KEY1,
        since: "7.0.0",
        summary: "Get the expiration Unix timestamp for a key in milliseconds",
        acl: &["keyspace"],
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        ..Command::new("pexpiretime", 2, READONLY | FAST, pexpiretime)
    },
    Command {
        keys: KEY1,
        since: "2.2.0",
        summary: "Remove the expiration from a key",
        acl: &["keyspace"],
        key_specs: KEY_RW_UPDATE,
        args: KEY_ARG,
        ..Command::new("persist", 2, WRITE | FAST, persist)
    },
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::protocol::reply::Value as R;
    use crate::server::Server;
    use crate::server::client::{Client, ClientInfo};

    /// A server and one client, with commands run straight through dispatch.
    struct T {
        server: Server,
        client: Client,
    }

    impl T {
        fn new() -> T {
            // No save points: FLUSHALL would write an RDB file into the working directory.
            let cfg = Config { save: String::new(), ..Config::default() };
            let server = Server::new(cfg, crate::cmd::FAMILIES);
            let info = Arc::new(ClientInfo::new(1, "127.0.0.1:1".into(), "x".into(), -1, false));
            T { server, client: Client::new(info, true) }
        }

        fn run(&mut self, args: &[&str]) -> R {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let mut out = Reply::new();
            self.server.execute(&mut self.client, &mut out, &argv);
            let (v, used) = R::parse(&out.buf).expect("one reply");
            assert_eq!(used, out.buf.len(), "one reply only");
            v
        }

        fn int(&mut self, args: &[&str]) -> i64 {
            match self.run(args) {
                R::Int(n) => n,
                other => panic!("{args:?}: expected an integer, got {other:?}"),
            }
        }

        fn err(&mut self, args: &[&str]) -> String {
            match self.run(args) {
                R::Error(e) => e,
                other => panic!("{args:?}: expected an error, got {other:?}"),
            }
        }

        /// Stores a key with an expire time already in the past, as if time had passed.
        fn stale(&self, db: usize, key: &str) {
            let now = crate::util::now_ms();
            let mut ks = self.server.store.lock_all(db, now);
            ks.set_with_expire(key.as_bytes(), Value::string(b"old"), Some(now - 1000));
        }

        fn now(&self) -> i64 {
            crate::util::now_ms()
        }

        fn dirty(&self) -> u64 {
            self.server.stats.dirty.load(Ordering::Relaxed)
        }
    }

    impl Drop for T {
        /// Every test ends with the TTL index in step with the keys.
        fn drop(&mut self) {
            if !std::thread::panicking() {
                self.server.store.check_indexes();
            }
        }
    }

    fn bulk(s: &str) -> R {
        R::Bulk(s.as_bytes().to_vec())
    }

    fn ok() -> R {
        R::Simple("OK".into())
    }

    fn sorted(v: R) -> Vec<String> {
        let R::Array(items) = v else { panic!("not an array: {v:?}") };
        let mut keys: Vec<String> = items
            .into_iter()
            .map(|i| match i {
                R::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn del_unlink_exists_touch_count_each_argument() {
        let mut t = T::new();
        t.run(&["SET", "a", "1"]);
        t.run(&["SET", "b", "2"]);
        assert_eq!(t.int(&["EXISTS", "a", "a", "b", "nope"]), 3);
        assert_eq!(t.int(&["TOUCH", "a", "nope", "b"]), 2);
        let before = t.dirty();
        assert_eq!(t.int(&["DEL", "a", "a", "nope"]), 1);
        assert_eq!(t.dirty() - before, 1);
        assert_eq!(t.int(&["UNLINK", "b", "nope"]), 1);
        assert_eq!(t.int(&["EXISTS", "a", "b"]), 0);
        t.stale(0, "old");
        assert_eq!(t.int(&["DEL", "old"]), 0, "an expired key is not deleted, it is gone");
        let st = t.server.store.stats();
        assert_eq!(st.expired_keys, 1);
    }

    #[test]
    fn type_and_exists_count_hits_without_touching() {
        let mut t = T::new();
        t.run(&["SET", "a", "x"]);
        assert_eq!(t.run(&["TYPE", "a"]), R::Simple("string".into()));
        assert_eq!(t.run(&["TYPE", "nope"]), R::Simple("none".into()));
        let st = t.server.store.stats();
        assert_eq!((st.keyspace_hits, st.keyspace_misses), (1, 1));
    }

    #[test]
    fn rename_moves_value_and_ttl() {
        let mut t = T::new();
        t.run(&["SET", "a", "hello"]);
        assert_eq!(t.int(&["EXPIRE", "a", "100"]), 1);
        assert_eq!(t.run(&["RENAME", "a", "b"]), ok());
        assert_eq!(t.int(&["EXISTS", "a"]), 0);
        assert_eq!(t.run(&["GET", "b"]), bulk("hello"));
        let ttl = t.int(&["TTL", "b"]);
        assert!((99..=100).contains(&ttl), "{ttl}");
        // The target's own TTL is not inherited.
        t.run(&["SET", "c", "plain"]);
        t.run(&["SET", "d", "timed"]);
        t.int(&["EXPIRE", "d", "100"]);
        assert_eq!(t.run(&["RENAME", "c", "d"]), ok());
        assert_eq!(t.int(&["TTL", "d"]), -1);
        assert_eq!(t.run(&["GET", "d"]), bulk("plain"));
        assert_eq!(t.server.store.db_sizes(0), (2, 1));
        // Same-key and missing-key cases.
        assert_eq!(t.run(&["RENAME", "d", "d"]), ok());
        assert_eq!(t.int(&["RENAMENX", "d", "d"]), 0);
        assert_eq!(t.err(&["RENAME", "nope", "nope"]), "ERR no such key");
        assert_eq!(t.err(&["RENAMENX", "nope", "x"]), "ERR no such key");
        assert_eq!(t.int(&["RENAMENX", "d", "b"]), 0);
        assert_eq!(t.int(&["RENAMENX", "d", "e"]), 1);
        assert_eq!(t.run(&["GET", "e"]), bulk("plain"));
    }

    #[test]
    fn move_carries_the_ttl_and_refuses_existing_targets() {
        let mut t = T::new();
        t.run(&["SET", "k", "v"]);
        t.int(&["EXPIRE", "k", "100"]);
        assert_eq!(t.int(&["MOVE", "k", "3"]), 1);
        assert_eq!(t.int(&["EXISTS", "k"]), 0);
        t.run(&["SELECT", "3"]);
        assert_eq!(t.run(&["GET", "k"]), bulk("v"));
        assert!(t.int(&["TTL", "k"]) > 0);
        assert_eq!(t.server.store.db_sizes(3), (1, 1));
        assert_eq!(t.server.store.db_sizes(0), (0, 0));
        t.run(&["SELECT", "0"]);
        t.run(&["SET", "k", "other"]);
        assert_eq!(t.int(&["MOVE", "k", "3"]), 0);
        assert_eq!(t.int(&["MOVE", "nope", "3"]), 0);
        assert_eq!(t.err(&["MOVE", "k", "0"]), "ERR source and destination objects are the same");
        assert_eq!(t.err(&["MOVE", "k", "16"]), "ERR DB index is out of range");
        assert_eq!(t.err(&["MOVE", "k", "-1"]), "ERR DB index is out of range");
        assert_eq!(t.err(&["MOVE", "k", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(
            t.err(&["MOVE", "k", "4294967296"]),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn copy_options_ttl_and_independence() {
        let mut t = T::new();
        t.run(&["SET", "src", "foobar"]);
        assert_eq!(t.int(&["COPY", "src", "dst"]), 1);
        assert_eq!(t.int(&["TTL", "dst"]), -1);
        assert_eq!(t.int(&["COPY", "src", "dst"]), 0);
        t.int(&["EXPIRE", "src", "100"]);
        assert_eq!(t.int(&["COPY", "src", "dst", "REPLACE"]), 1);
        assert!(t.int(&["TTL", "dst"]) > 0);
        assert_eq!(t.int(&["COPY", "src", "src", "DB", "5"]), 1);
        t.run(&["SELECT", "5"]);
        t.run(&["SET", "src", "changed"]);
        t.run(&["SELECT", "0"]);
        assert_eq!(t.run(&["GET", "src"]), bulk("foobar"));
        let same = "ERR source and destination objects are the same";
        assert_eq!(t.err(&["COPY", "src", "src"]), same);
        assert_eq!(t.err(&["COPY", "src", "x", "DB"]), "ERR syntax error");
        assert_eq!(t.err(&["COPY", "src", "x", "FOO"]), "ERR syntax error");
        assert_eq!(
            t.err(&["COPY", "src", "x", "DB", "notanumber"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(t.err(&["COPY", "src", "x", "DB", "16"]), "ERR DB index is out of range");
        assert_eq!(t.int(&["COPY", "nope", "x"]), 0);
    }

    #[test]
    fn expire_conditions() {
        let mut t = T::new();
        t.run(&["SET", "k", "v"]);
        assert_eq!(t.int(&["EXPIRE", "k", "100", "XX"]), 0);
        assert_eq!(t.int(&["EXPIRE", "k", "100", "GT"]), 0);
        assert_eq!(t.int(&["EXPIRE", "k", "100", "LT"]), 1);
        assert_eq!(t.int(&["EXPIRE", "k", "200", "NX"]), 0);
        assert_eq!(t.int(&["EXPIRE", "k", "50", "GT"]), 0);
        assert_eq!(t.int(&["EXPIRE", "k", "200", "gt"]), 1);
        assert_eq!(t.int(&["EXPIRE", "k", "300", "LT"]), 0);
        assert_eq!(t.int(&["EXPIRE", "k", "150", "LT", "XX"]), 1);
        let ttl = t.int(&["TTL", "k"]);
        assert!((149..=150).contains(&ttl), "{ttl}");
        assert_eq!(t.int(&["PERSIST", "k"]), 1);
        assert_eq!(t.int(&["PERSIST", "k"]), 0);
        assert_eq!(t.int(&["PERSIST", "nope"]), 0);
        assert_eq!(t.int(&["EXPIRE", "nope", "100", "NX"]), 0);
        assert_eq!(
            t.err(&["EXPIRE", "k", "1", "NX", "XX"]),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            t.err(&["EXPIRE", "k", "1", "GT", "LT"]),
            "ERR GT and LT options at the same time are not compatible"
        );
        // Options are checked before the number, as Redis does.
        assert_eq!(t.err(&["EXPIRE", "k", "x", "AB"]), "ERR Unsupported option AB");
        assert_eq!(t.err(&["EXPIRE", "k", ""]), "ERR value is not an integer or out of range");
    }

    #[test]
    fn expire_overflow_and_past_times() {
        let mut t = T::new();
        t.run(&["SET", "k", "v"]);
        for n in ["9223370399119966", "9223372036854776", "-9223372036854776"] {
            assert_eq!(t.err(&["EXPIRE", "k", n]), "ERR invalid expire time in 'expire' command");
        }
        assert_eq!(
            t.err(&["PEXPIRE", "k", "9223372036854770000"]),
            "ERR invalid expire time in 'pexpire' command"
        );
        assert_eq!(t.int(&["TTL", "k"]), -1);
        assert_eq!(t.int(&["PEXPIREAT", "k", "9223372036854770000"]), 1);
        assert_eq!(t.int(&["PEXPIRETIME", "k"]), 9223372036854770000);
        let before = t.dirty();
        assert_eq!(t.int(&["EXPIRE", "k", "-10", "LT"]), 1);
        assert_eq!(t.dirty() - before, 1);
        assert_eq!(t.int(&["TTL", "k"]), -2);
        t.run(&["SET", "k", "v"]);
        assert_eq!(t.int(&["PEXPIREAT", "k", "-9223372036854770000"]), 1);
        assert_eq!(t.int(&["EXISTS", "k"]), 0);
        assert_eq!(t.server.store.db_sizes(0), (0, 0));
    }

    #[test]
    fn ttl_family() {
        let mut t = T::new();
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(t.int(&[c, "nope"]), -2);
        }
        t.run(&["SET", "k", "v"]);
        for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(t.int(&[c, "k"]), -1);
        }
        let at = t.now() + 10_000;
        assert_eq!(t.int(&["PEXPIREAT", "k", &at.to_string()]), 1);
        assert_eq!(t.int(&["PEXPIRETIME", "k"]), at);
        assert_eq!(t.int(&["EXPIRETIME", "k"]), (at + 500) / 1000);
        let pttl = t.int(&["PTTL", "k"]);
        assert!(pttl > 9000 && pttl <= 10_000, "{pttl}");
        assert_eq!(t.int(&["TTL", "k"]), 10);
        let at_s = t.now() / 1000 + 100;
        assert_eq!(t.int(&["EXPIREAT", "k", &at_s.to_string()]), 1);
        assert_eq!(t.int(&["EXPIRETIME", "k"]), at_s);
    }

    #[test]
    fn keys_filters_by_pattern_and_skips_expired() {
        let mut t = T::new();
        for k in ["key_x", "key_y", "foo_a", "foo_b", ""] {
            t.run(&["SET", k, "hello"]);
        }
        t.stale(0, "foo_old");
        assert_eq!(sorted(t.run(&["KEYS", "foo*"])), ["foo_a", "foo_b"]);
        assert_eq!(sorted(t.run(&["KEYS", "*"])), ["", "foo_a", "foo_b", "key_x", "key_y"]);
        assert_eq!(sorted(t.run(&["KEYS", "key_[x]"])), ["key_x"]);
        assert_eq!(sorted(t.run(&["KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"])).len(), 0);
    }

    /// Runs a full SCAN with extra arguments and returns every key seen (with duplicates
    /// removed) and the number of calls.
    fn scan_all(t: &mut T, extra: &[&str]) -> (HashSet<String>, usize) {
        let mut cursor = "0".to_string();
        let mut seen = HashSet::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["SCAN", cursor.as_str()];
            args.extend_from_slice(extra);
            let R::Array(parts) = t.run(&args) else { panic!("scan reply") };
            calls += 1;
            let [R::Bulk(c), R::Array(keys)] = &parts[..] else { panic!("scan shape") };
            for k in keys {
                let R::Bulk(k) = k else { panic!() };
                seen.insert(String::from_utf8(k.clone()).unwrap());
            }
            cursor = String::from_utf8(c.clone()).unwrap();
            if cursor == "0" {
                return (seen, calls);
            }
            assert!(calls < 100_000, "scan does not end");
        }
    }

    #[test]
    fn scan_iterates_everything_with_options() {
        let mut t = T::new();
        for i in 0..1000 {
            t.run(&["SET", &format!("key:{i}"), "abc"]);
        }
        let (all, calls) = scan_all(&mut t, &[]);
        assert_eq!(all.len(), 1000);
        let (all, calls_small) = scan_all(&mut t, &["COUNT", "5"]);
        assert_eq!(all.len(), 1000);
        assert!(calls_small > calls, "COUNT 5 takes more calls than the default 10");
        let (some, _) = scan_all(&mut t, &["MATCH", "key:1??"]);
        assert_eq!(some.len(), 100);
        let (none, _) = scan_all(&mut t, &["TYPE", "list"]);
        assert!(none.is_empty());
        let (strings, _) = scan_all(&mut t, &["type", "STRING", "match", "key:*", "count", "10"]);
        assert_eq!(strings.len(), 1000);
        let (big, calls) = scan_all(&mut t, &["COUNT", "100000"]);
        assert_eq!((big.len(), calls), (1000, 1));
    }

    #[test]
    fn scan_deletes_expired_keys_it_meets() {
        let mut t = T::new();
        t.run(&["SET", "live", "1"]);
        t.stale(0, "dead1");
        t.stale(0, "dead2");
        assert_eq!(t.int(&["DBSIZE"]), 3);
        let (keys, _) = scan_all(&mut t, &["COUNT", "1000"]);
        assert_eq!(keys, HashSet::from(["live".to_string()]));
        assert_eq!(t.int(&["DBSIZE"]), 1);
    }

    #[test]
    fn scan_cursor_and_option_errors() {
        let mut t = T::new();
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"1x"), None);
        assert_eq!(parse_cursor(b"-"), None);
        assert_eq!(t.err(&["SCAN", "abc"]), "ERR invalid cursor");
        assert_eq!(t.err(&["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
        assert_eq!(t.err(&["SCAN", "0", "COUNT", "x"]), errors::NOT_INTEGER.to_string());
        assert_eq!(t.err(&["SCAN", "0", "MATCH"]), "ERR syntax error");
        assert_eq!(t.err(&["SCAN", "0", "FOO", "x"]), "ERR syntax error");
        // Any cursor is safe, even one no scan returned.
        t.run(&["SET", "a", "1"]);
        let R::Array(parts) = t.run(&["SCAN", "18446744073709551615"]) else { panic!() };
        assert_eq!(parts.len(), 2);
    }

    #[test]
    fn scan_guarantee_under_writes() {
        let mut t = T::new();
        for i in 0..100 {
            t.run(&["SET", &format!("k{i}"), "v"]);
        }
        let mut cursor = "0".to_string();
        let mut seen = HashSet::new();
        let mut n = 0;
        loop {
            let R::Array(parts) = t.run(&["SCAN", &cursor]) else { panic!() };
            let [R::Bulk(c), R::Array(keys)] = &parts[..] else { panic!() };
            for k in keys {
                let R::Bulk(k) = k else { panic!() };
                seen.insert(String::from_utf8(k.clone()).unwrap());
            }
            cursor = String::from_utf8(c.clone()).unwrap();
            if cursor == "0" {
                break;
            }
            // Grow the table a lot while the scan goes on.
            for j in 0..50 {
                t.run(&["SET", &format!("added:{n}:{j}"), "v"]);
            }
            n += 1;
        }
        for i in 0..100 {
            assert!(seen.contains(&format!("k{i}")), "k{i} missed");
        }
    }

    #[test]
    fn randomkey_skips_and_deletes_expired_keys() {
        let mut t = T::new();
        assert_eq!(t.run(&["RANDOMKEY"]), R::Null);
        for i in 0..20 {
            t.stale(0, &format!("dead{i}"));
        }
        assert_eq!(t.run(&["RANDOMKEY"]), R::Null);
        assert_eq!(t.int(&["DBSIZE"]), 0);
        t.run(&["SET", "foo", "x"]);
        t.run(&["SET", "bar", "y"]);
        let mut seen = HashSet::new();
        for _ in 0..100 {
            let R::Bulk(k) = t.run(&["RANDOMKEY"]) else { panic!() };
            seen.insert(k);
        }
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn flush_and_swap_databases() {
        let mut t = T::new();
        t.run(&["SET", "a", "1"]);
        t.run(&["SET", "b", "2"]);
        t.run(&["SELECT", "1"]);
        t.run(&["SET", "c", "3"]);
        t.int(&["EXPIRE", "c", "100"]);
        assert_eq!(t.run(&["SWAPDB", "0", "1"]), ok());
        assert_eq!(t.int(&["DBSIZE"]), 2);
        assert_eq!(t.server.store.db_sizes(0), (1, 1));
        assert_eq!(t.err(&["SWAPDB", "x", "1"]), "ERR invalid first DB index");
        assert_eq!(t.err(&["SWAPDB", "1", "x"]), "ERR invalid second DB index");
        assert_eq!(t.err(&["SWAPDB", "0", "16"]), "ERR DB index is out of range");
        assert_eq!(t.run(&["SWAPDB", "0", "0"]), ok());
        let before = t.dirty();
        assert_eq!(t.run(&["FLUSHDB"]), ok());
        assert_eq!(t.dirty() - before, 2, "one change per key flushed");
        assert_eq!(t.int(&["DBSIZE"]), 0);
        assert_eq!(t.server.store.db_sizes(0), (1, 1));
        assert_eq!(t.err(&["FLUSHDB", "x"]), "ERR syntax error");
        assert_eq!(t.err(&["FLUSHALL", "ASYNC", "x"]), "ERR syntax error");
        let freed = lazyfree::freed_objects();
        assert_eq!(t.run(&["FLUSHALL", "async"]), ok());
        assert_eq!(t.server.store.db_sizes(0), (0, 0));
        for _ in 0..1000 {
            if lazyfree::freed_objects() > freed {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(lazyfree::freed_objects() > freed);
    }

    #[test]
    fn object_subcommands() {
        let mut t = T::new();
        t.run(&["SET", "int", "100"]);
        t.run(&["SET", "big", "100000"]);
        t.run(&["SET", "str", "hello"]);
        assert_eq!(t.run(&["OBJECT", "ENCODING", "int"]), bulk("int"));
        assert_eq!(t.run(&["OBJECT", "encoding", "str"]), bulk("embstr"));
        assert_eq!(t.run(&["OBJECT", "ENCODING", "nope"]), R::Null);
        assert_eq!(t.int(&["OBJECT", "REFCOUNT", "int"]), 2147483647);
        assert_eq!(t.int(&["OBJECT", "REFCOUNT", "big"]), 1);
        assert_eq!(t.int(&["OBJECT", "REFCOUNT", "str"]), 1);
        assert_eq!(t.run(&["OBJECT", "REFCOUNT", "nope"]), R::Null);
        assert_eq!(t.int(&["OBJECT", "IDLETIME", "str"]), 0);
        assert!(
            t.err(&["OBJECT", "FREQ", "str"]).starts_with("ERR An LFU maxmemory policy is not")
        );
        assert_eq!(t.err(&["OBJECT"]), "ERR wrong number of arguments for 'object' command");
        assert_eq!(t.err(&["OBJECT", "foo"]), "ERR unknown subcommand 'foo'. Try OBJECT HELP.");
        assert_eq!(
            t.err(&["OBJECT", "ENCODING"]),
            "ERR wrong number of arguments for 'object|encoding' command"
        );
        let R::Array(help) = t.run(&["object", "help"]) else { panic!() };
        assert_eq!(help.len(), 15);
        assert_eq!(
            help[0],
            R::Simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        // Under an LFU policy new keys start at LFU_INIT_VAL and idle time is not tracked.
        t.server.store.tunables.lfu.store(true, Ordering::Relaxed);
        t.run(&["SET", "lfu", "x"]);
        assert_eq!(t.int(&["OBJECT", "FREQ", "lfu"]), 5);
        for _ in 0..100 {
            t.run(&["GET", "lfu"]);
        }
        let f = t.int(&["OBJECT", "FREQ", "lfu"]);
        assert!(f > 5 && f < 20, "logarithmic growth, got {f}");
        let lfu_err = t.err(&["OBJECT", "IDLETIME", "lfu"]);
        assert!(lfu_err.starts_with("ERR An LFU maxmemory policy is selected"));
    }

    #[test]
    fn config_set_switches_the_policy_and_lazy_freeing_at_once() {
        let mut t = T::new();
        assert_eq!(t.run(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]), ok());
        t.run(&["SET", "foo", "bar"]);
        assert_eq!(t.int(&["OBJECT", "FREQ", "foo"]), 5);
        assert_eq!(t.run(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]), ok());
        assert!(
            t.err(&["OBJECT", "FREQ", "foo"]).starts_with("ERR An LFU maxmemory policy is not")
        );
        assert_eq!(t.run(&["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"]), ok());
        assert!(t.server.store.tunables.lazy_user_flush.load(Ordering::Relaxed));
    }

    #[test]
    fn key_specs_carry_redis_flags() {
        let mut t = T::new();
        let flags =
            |names: &[&str]| R::Array(names.iter().map(|n| R::Simple(n.to_string())).collect());
        let pair = |k: &str, f: &[&str]| R::Array(vec![bulk(k), flags(f)]);
        assert_eq!(
            t.run(&["COMMAND", "GETKEYSANDFLAGS", "RENAME", "a", "b"]),
            R::Array(vec![pair("a", &["RW", "access", "delete"]), pair("b", &["OW", "update"])])
        );
        assert_eq!(
            t.run(&["COMMAND", "GETKEYSANDFLAGS", "DEL", "a", "b"]),
            R::Array(vec![pair("a", &["RM", "delete"]), pair("b", &["RM", "delete"])])
        );
        assert_eq!(
            t.run(&["COMMAND", "GETKEYSANDFLAGS", "OBJECT", "ENCODING", "k"]),
            R::Array(vec![pair("k", &["RO"])])
        );
    }

    #[test]
    fn idle_time_is_not_touched_by_inspection() {
        let mut t = T::new();
        t.run(&["SET", "k", "v"]);
        // Pretend the key was last used a minute ago.
        {
            let mut ks = t.server.store.lock_all(0, t.now());
            let clock = crate::store::lru_clock().wrapping_sub(60) & crate::store::LRU_CLOCK_MAX;
            ks.entry_in(0, b"k").unwrap().set_clock(clock);
        }
        t.int(&["TTL", "k"]);
        t.run(&["TYPE", "k"]);
        t.int(&["EXISTS", "k"]);
        t.run(&["OBJECT", "ENCODING", "k"]);
        assert!(t.int(&["OBJECT", "IDLETIME", "k"]) >= 59);
        t.int(&["TOUCH", "k"]);
        assert!(t.int(&["OBJECT", "IDLETIME", "k"]) < 2);
    }
}
