//! The hash commands: HSET / HSETNX / HMSET, reads (HGET, HMGET, HGETALL, HKEYS, HVALS, HLEN,
//! HEXISTS, HSTRLEN), HDEL, the counters HINCRBY and HINCRBYFLOAT, HRANDFIELD and HSCAN.
//!
//! The representation and its encodings live in `store::types::hash`; handlers here parse
//! arguments, look the key up (reads count keyspace hits and misses, writes do not), run the
//! operation and reply. Writes read the encoding thresholds from the store's tunables. A hash
//! left empty by HDEL is deleted, as Redis does; `ks.dirty` moves where Redis bumps
//! `server.dirty`.

use std::cell::Cell;
use std::sync::atomic::Ordering;

use crate::cmd::keys::{ScanOpts, parse_cursor, parse_scan_opts};
use crate::command::table::{Arg, ArgType, KeySpecDef, key_flags as kf};
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::{Reply, errors};
use crate::store::Keyspace;
use crate::store::types::hash::{Hash, Limits};
use crate::store::value::Value;
use crate::util::glob::glob_match;
use crate::util::long_double::{self, LongDouble};
use crate::util::parse_i64_strict;

// ---- shared helpers ----

/// The encoding thresholds in force (`hash-max-listpack-entries` / `-value`).
#[inline]
fn limits(ctx: &Ctx) -> Limits {
    let t = &ctx.server.store.tunables;
    Limits {
        max_entries: t.hash_max_listpack_entries.load(Ordering::Relaxed) as usize,
        max_value: t.hash_max_listpack_value.load(Ordering::Relaxed) as usize,
    }
}

/// What a read lookup found.
enum Found<'a> {
    Hash(&'a Hash),
    Missing,
    WrongType,
}

/// Looks `key` up for reading (counting a keyspace hit or miss).
#[inline]
fn read<'a>(ks: &'a mut Keyspace<'_>, key: &[u8]) -> Found<'a> {
    match ks.get(key) {
        None => Found::Missing,
        Some(Value::Hash(h)) => Found::Hash(h),
        Some(_) => Found::WrongType,
    }
}

/// Runs `f` on the hash at `key` for writing, creating an empty one when the key is missing
/// (kept only if `f` left something in it, so a failed increment creates nothing). Replies
/// WRONGTYPE and returns `None` for a key of another type. Redis's
/// `hashTypeLookupWriteOrCreate`.
#[inline]
fn upsert<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Hash, Limits) -> R) -> Option<R> {
    let lim = limits(ctx);
    match ctx.ks.get_mut(key) {
        Some(Value::Hash(h)) => return Some(f(h, lim)),
        Some(_) => {
            ctx.out.error(errors::WRONGTYPE);
            return None;
        }
        None => {}
    }
    let mut h = Hash::new();
    let r = f(&mut h, lim);
    if !h.is_empty() {
        let db = ctx.ks.db;
        ctx.ks.insert_in(db, key, Value::Hash(Box::new(h)), None);
    }
    Some(r)
}

// ---- writes ----

/// The body of HSET and HMSET: sets every field-value pair; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx, argv: &[&[u8]], name: &str) -> Option<i64> {
    if argv.len() % 2 == 1 {
        ctx.out.error(&errors::wrong_arity(name));
        return None;
    }
    let pairs = &argv[2..];
    let created = upsert(ctx, argv[1], |h, lim| {
        pairs.chunks_exact(2).filter(|p| h.set(p[0], p[1], lim)).count() as i64
    })?;
    ctx.ks.dirty += (pairs.len() / 2) as u64;
    Some(created)
}

/// HSET key field value [field value ...]
fn hset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if let Some(n) = set_pairs(ctx, argv, "hset") {
        ctx.out.int(n);
    }
}

/// HMSET key field value [field value ...]
fn hmset(ctx: &mut Ctx, argv: &[&[u8]]) {
    if set_pairs(ctx, argv, "hmset").is_some() {
        ctx.out.ok();
    }
}

/// HSETNX key field value
fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (field, value) = (argv[2], argv[3]);
    let Some(set) = upsert(ctx, argv[1], |h, lim| !h.contains(field) && h.set(field, value, lim))
    else {
        return;
    };
    if set {
        ctx.ks.dirty += 1;
    }
    ctx.out.int(set as i64);
}

/// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) {
    let key = argv[1];
    let (deleted, emptied) = match ctx.ks.get_mut(key) {
        None => return ctx.out.int(0),
        Some(Value::Hash(h)) => {
            let mut deleted = 0;
            for f in &argv[2..] {
                if h.remove(f) {
                    deleted += 1;
                    // An empty hash is deleted at once; the remaining fields need no look.
                    if h.is_empty() {
                        break;
                    }
                }
            }
            (deleted, h.is_empty())
        }
        Some(_) => return ctx.out.error(errors::WRONGTYPE),
    };
    if emptied {
        let db = ctx.ks.db;
        ctx.ks.remove_in(db, key);
    }
    ctx.ks.dirty += deleted as u64;
    ctx.out.int(deleted);
}

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let field = argv[2];
    let Some(incr) = parse_i64_strict(argv[3]) else { return ctx.out.error(errors::NOT_INTEGER) };
    let r = upsert(ctx, argv[1], |h, lim| {
        let cur = match h.get(field) {
            Some(b) => parse_i64_strict(b).ok_or(errors::HASH_NOT_INTEGER)?,
            None => 0,
        };
        let new = cur.checked_add(incr).ok_or(errors::INCR_OVERFLOW)?;
        h.set(field, itoa::Buffer::new().format(new).as_bytes(), lim);
        Ok(new)
    });
    match r {
        None => {}
        Some(Err(e)) => ctx.out.error(e),
        Some(Ok(n)) => {
            ctx.ks.dirty += 1;
            ctx.out.int(n);
        }
    }
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let field = argv[2];
    let Some(incr) = LongDouble::parse(argv[3]) else { return ctx.out.error(errors::NOT_FLOAT) };
    // The parser takes `inf`; an increment that is infinite on its own is refused before the
    // key is looked at (0 + incr is not finite exactly when incr is not).
    if LongDouble::from_i64(0).checked_add(&incr).is_none() {
        return ctx.out.error(errors::HASH_NAN_OR_INF);
    }
    let mut buf = [0u8; long_double::MAX_CHARS];
    let r = upsert(ctx, argv[1], |h, lim| {
        let cur = match h.get(field) {
            Some(b) => LongDouble::parse(b).ok_or(errors::HASH_NOT_FLOAT)?,
            None => LongDouble::from_i64(0),
        };
        let sum = cur.checked_add(&incr).ok_or(errors::INCR_NAN)?;
        let text = sum.format_human(&mut buf);
        h.set(field, text, lim);
        Ok(text.len())
    });
    match r {
        None => {}
        Some(Err(e)) => ctx.out.error(e),
        Some(Ok(n)) => {
            ctx.ks.dirty += 1;
            ctx.out.bulk(&buf[..n]);
        }
    }
}

// ---- reads ----

/// HGET key field
fn hget(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => match h.get(argv[2]) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
        Found::Missing => ctx.out.null(),
        Found::WrongType => ctx.out.error(errors::WRONGTYPE),
    }
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) {
    let fields = &argv[2..];
    let h = match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => Some(h),
        Found::Missing => None,
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
    };
    ctx.out.array(fields.len());
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

/// HLEN key
fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => ctx.out.int(h.len() as i64),
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(errors::WRONGTYPE),
    }
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => ctx.out.int(h.get(argv[2]).map_or(0, |v| v.len() as i64)),
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(errors::WRONGTYPE),
    }
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) {
    match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => ctx.out.int(h.contains(argv[2]) as i64),
        Found::Missing => ctx.out.int(0),
        Found::WrongType => ctx.out.error(errors::WRONGTYPE),
    }
}

/// What HGETALL, HKEYS and HVALS reply of each pair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

/// The body of HGETALL (a map in RESP3), HKEYS and HVALS (arrays).
fn getall_generic(ctx: &mut Ctx, key: &[u8], parts: Parts) {
    let h = match read(&mut ctx.ks, key) {
        Found::Hash(h) => h,
        Found::Missing if parts == Parts::Both => return ctx.out.map(0),
        Found::Missing => return ctx.out.array(0),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
    };
    let out = &mut *ctx.out;
    match parts {
        Parts::Both => out.map(h.len()),
        _ => out.array(h.len()),
    }
    h.for_each(|f, v| {
        if parts != Parts::Values {
            out.bulk(f);
        }
        if parts != Parts::Fields {
            out.bulk(v);
        }
    });
}

/// HGETALL key
fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall_generic(ctx, argv[1], Parts::Both)
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall_generic(ctx, argv[1], Parts::Fields)
}

/// HVALS key
fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) {
    getall_generic(ctx, argv[1], Parts::Values)
}

// ---- HRANDFIELD ----

/// A reply this long stops a sampling HRANDFIELD and closes the connection. Redis would go on
/// filling the output buffer until its limit closes the client (normal clients have none by
/// default, so until memory runs out); a count in the quintillions must not take the server
/// down with it.
const RANDOM_REPLY_CAP: usize = 512 << 20;

/// Writes one sampled pair: the field, then its value when asked, as a nested pair in RESP3.
#[inline]
fn reply_pair(out: &mut Reply, field: &[u8], value: &[u8], with_values: bool) {
    if with_values && out.resp3 {
        out.array(2);
    }
    out.bulk(field);
    if with_values {
        out.bulk(value);
    }
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 2 {
        return match read(&mut ctx.ks, argv[1]) {
            Found::Hash(h) => match h.random_pair() {
                Some((f, _)) => ctx.out.bulk(f),
                None => ctx.out.null(),
            },
            Found::Missing => ctx.out.null(),
            Found::WrongType => ctx.out.error(errors::WRONGTYPE),
        };
    }
    let Some(count) = parse_i64_strict(argv[2]) else { return ctx.out.error(errors::NOT_INTEGER) };
    if count == i64::MIN {
        return ctx.out.error(&errors::out_of_range_between(-i64::MAX, i64::MAX));
    }
    let with_values = match argv.len() {
        3 => false,
        4 if argv[3].eq_ignore_ascii_case(b"withvalues") => true,
        _ => return ctx.syntax_error(),
    };
    // Redis doubles the count for the values: refuse what would overflow.
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return ctx.out.error(errors::HASH_COUNT_RANGE);
    }
    let h = match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => h,
        Found::Missing => return ctx.out.array(0),
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
    };
    let out = &mut *ctx.out;
    let n = count.unsigned_abs() as usize;
    if n == 0 {
        return out.array(0);
    }
    // Items per pair in a RESP2 reply; RESP3 nests each pair.
    let per = if with_values && !out.resp3 { 2 } else { 1 };
    if count < 0 || n == 1 {
        // Independent draws, repeats allowed, in random order.
        out.array(n.saturating_mul(per));
        let mut complete = true;
        h.random_pairs(n, |f, v| {
            reply_pair(out, f, v, with_values);
            complete = out.buf.len() < RANDOM_REPLY_CAP;
            complete
        });
        if !complete {
            ctx.client.close_after_reply = true;
        }
        return;
    }
    out.array(n.min(h.len()) * per);
    h.random_distinct(n, |f, v| reply_pair(out, f, v, with_values));
}

// ---- HSCAN ----

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(cursor) = parse_cursor(argv[2]) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let h = match read(&mut ctx.ks, argv[1]) {
        Found::Hash(h) => h,
        Found::Missing => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            return ctx.out.array(0);
        }
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
    };
    // Options are parsed once the key is known to be a hash, as Redis does.
    let ScanOpts { count, pattern, .. } = match parse_scan_opts(argv, 3, false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    // Fields and values both count towards COUNT, matching or not, as in Redis's
    // `scanGenericCommand`, which filters after the walk.
    let items = Cell::new(0usize);
    let mut body = Reply::default();
    body.resp3 = ctx.out.resp3;
    let mut kept = 0usize;
    let next = h.scan(
        cursor,
        count.saturating_mul(10),
        |f, v| {
            items.set(items.get() + 2);
            if pattern.is_none_or(|p| glob_match(p, f, false)) {
                body.bulk(f);
                body.bulk(v);
                kept += 2;
            }
        },
        || items.get() >= count,
    );
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(kept);
    ctx.out.raw(&body.buf);
}

// ---- table ----

const KEY1: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

const KEY_RO: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RO)];
const KEY_RO_ACCESS: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RO | kf::ACCESS)];
const KEY_RW_UPDATE: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::UPDATE)];
const KEY_RW_INSERT: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::INSERT)];
const KEY_RW_DELETE: &[KeySpecDef] = &[KeySpecDef::index(1, kf::RW | kf::DELETE)];
const KEY_RW_ACCESS_UPDATE: &[KeySpecDef] =
    &[KeySpecDef::index(1, kf::RW | kf::ACCESS | kf::UPDATE)];

const NONDET: &[&str] = &["nondeterministic_output"];
const NONDET_ORDER: &[&str] = &["nondeterministic_output_order"];

const FIELD: Arg = Arg::new("field", ArgType::String);
const VALUE: Arg = Arg::new("value", ArgType::String);
const KEY_ARG: &[Arg] = &[Arg::key("key", 0)];
const KEY_FIELD_ARGS: &[Arg] = &[Arg::key("key", 0), FIELD];
const KEY_FIELDS_ARGS: &[Arg] = &[Arg::key("key", 0), FIELD.multiple()];
const KEY_FIELD_VALUE_ARGS: &[Arg] = &[Arg::key("key", 0), FIELD, VALUE];
const FIELD_VALUE_ARGS: &[Arg] =
    &[Arg::key("key", 0), Arg::block("field_value", &[FIELD, VALUE]).multiple()];
const HINCRBY_ARGS: &[Arg] =
    &[Arg::key("key", 0), FIELD, Arg::new("increment", ArgType::Integer)];
const HINCRBYFLOAT_ARGS: &[Arg] =
    &[Arg::key("key", 0), FIELD, Arg::new("increment", ArgType::Double)];
const HRANDFIELD_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::block(
        "options",
        &[Arg::new("count", ArgType::Integer), Arg::pure("withvalues", "WITHVALUES").optional()],
    )
    .optional(),
];
const HSCAN_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::new("cursor", ArgType::Integer),
    Arg::new("pattern", ArgType::Pattern).token("MATCH").optional(),
    Arg::new("count", ArgType::Integer).token("COUNT").optional(),
];

/// The hash group's table rows, as Redis 7.0's COMMAND INFO and COMMAND DOCS give them.
pub const COMMANDS: &[Command] = &[
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Set the string value of a hash field",
        complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs \
             when the command is called with multiple field/value pairs.",
        acl: &["hash"],
        key_specs: KEY_RW_UPDATE,
        args: FIELD_VALUE_ARGS,
        history: &[("4.0.0", "Accepts multiple `field` and `value` arguments.")],
        ..Command::new("hset", -4, WRITE | DENYOOM | FAST, hset)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Set the value of a hash field, only if the field does not exist",
        acl: &["hash"],
        key_specs: KEY_RW_INSERT,
        args: KEY_FIELD_VALUE_ARGS,
        ..Command::new("hsetnx", 4, WRITE | DENYOOM | FAST, hsetnx)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Set multiple hash fields to multiple values",
        complexity: "O(N) where N is the number of fields being set.",
        acl: &["hash"],
        key_specs: KEY_RW_UPDATE,
        args: FIELD_VALUE_ARGS,
        doc_flags: crate::command::table::doc_flags::DEPRECATED,
        deprecated_since: "4.0.0",
        replaced_by: "`HSET` with multiple field-value pairs",
        ..Command::new("hmset", -4, WRITE | DENYOOM | FAST, hmset)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Get the value of a hash field",
        acl: &["hash"],
        key_specs: KEY_RO_ACCESS,
        args: KEY_FIELD_ARGS,
        ..Command::new("hget", 3, READONLY | FAST, hget)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Get the values of all the given hash fields",
        complexity: "O(N) where N is the number of fields being requested.",
        acl: &["hash"],
        key_specs: KEY_RO_ACCESS,
        args: KEY_FIELDS_ARGS,
        ..Command::new("hmget", -3, READONLY | FAST, hmget)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Get all the fields and values in a hash",
        complexity: "O(N) where N is the size of the hash.",
        acl: &["hash"],
        tips: NONDET_ORDER,
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        ..Command::new("hgetall", 2, READONLY, hgetall)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Delete one or more hash fields",
        complexity: "O(N) where N is the number of fields to be removed.",
        acl: &["hash"],
        key_specs: KEY_RW_DELETE,
        args: KEY_FIELDS_ARGS,
        history: &[("2.4.0", "Accepts multiple `field` arguments.")],
        ..Command::new("hdel", -3, WRITE | FAST, hdel)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Determine if a hash field exists",
        acl: &["hash"],
        key_specs: KEY_RO,
        args: KEY_FIELD_ARGS,
        ..Command::new("hexists", 3, READONLY | FAST, hexists)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Get the number of fields in a hash",
        acl: &["hash"],
        key_specs: KEY_RO,
        args: KEY_ARG,
        ..Command::new("hlen", 2, READONLY | FAST, hlen)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Get all the fields in a hash",
        complexity: "O(N) where N is the size of the hash.",
        acl: &["hash"],
        tips: NONDET_ORDER,
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        ..Command::new("hkeys", 2, READONLY, hkeys)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Get all the values in a hash",
        complexity: "O(N) where N is the size of the hash.",
        acl: &["hash"],
        tips: NONDET_ORDER,
        key_specs: KEY_RO_ACCESS,
        args: KEY_ARG,
        ..Command::new("hvals", 2, READONLY, hvals)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.0.0",
        summary: "Increment the integer value of a hash field by the given number",
        acl: &["hash"],
        key_specs: KEY_RW_ACCESS_UPDATE,
        args: HINCRBY_ARGS,
        ..Command::new("hincrby", 4, WRITE | DENYOOM | FAST, hincrby)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.6.0",
        summary: "Increment the float value of a hash field by the given amount",
        acl: &["hash"],
        key_specs: KEY_RW_ACCESS_UPDATE,
        args: HINCRBYFLOAT_ARGS,
        ..Command::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, hincrbyfloat)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "3.2.0",
        summary: "Get the length of the value of a hash field",
        acl: &["hash"],
        key_specs: KEY_RO,
        args: KEY_FIELD_ARGS,
        ..Command::new("hstrlen", 3, READONLY | FAST, hstrlen)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "6.2.0",
        summary: "Get one or multiple random fields from a hash",
        complexity: "O(N) where N is the number of fields returned",
        acl: &["hash"],
        tips: NONDET,
        key_specs: KEY_RO_ACCESS,
        args: HRANDFIELD_ARGS,
        ..Command::new("hrandfield", -2, READONLY, hrandfield)
    },
    Command {
        keys: KEY1,
        group: "hash",
        since: "2.8.0",
        summary: "Incrementally iterate hash fields and associated values",
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough \
             command calls for the cursor to return back to 0. N is the number of elements \
             inside the collection..",
        acl: &["hash"],
        tips: NONDET,
        key_specs: KEY_RO_ACCESS,
        args: HSCAN_ARGS,
        ..Command::new("hscan", -3, READONLY, hscan)
    },
];
