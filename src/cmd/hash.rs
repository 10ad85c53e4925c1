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
use crate::config::notify;
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
        pairs
            .chunks_exact(2)
            .filter(|p| h.set(p[0], p[1], lim))
            .count() as i64
    })?;
    ctx.ks.dirty += (pairs.len() / 2) as u64;
    ctx.notify(notify::HASH, "hset", argv[1]);
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
    let Some(set) = upsert(ctx, argv[1], |h, lim| {
        !h.contains(field) && h.set(field, value, lim)
    }) else {
        return;
    };
    if set {
        ctx.ks.dirty += 1;
        ctx.notify(notify::HASH, "hset", argv[1]);
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
    if deleted > 0 {
        ctx.notify(notify::HASH, "hdel", key);
    }
    if emptied {
        let db = ctx.ks.db;
        ctx.ks.remove_in(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.ks.dirty += deleted as u64;
    ctx.out.int(deleted);
}

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) {
    let field = argv[2];
    let Some(incr) = parse_i64_strict(argv[3]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
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
            ctx.notify(notify::HASH, "hincrby", argv[1]);
            ctx.out.int(n);
        }
    }
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) {
    let field = argv[2];
    let Some(incr) = LongDouble::parse(argv[3]) else {
        return ctx.out.error(errors::NOT_FLOAT);
    };
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
            ctx.notify(notify::HASH, "hincrbyfloat", argv[1]);
            // Propagated as the value it produced, so replaying it cannot round differently.
            ctx.propagate_as(&[b"HSET", argv[1], field, &buf[..n]]);
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
    let Some(count) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if count == i64::MIN {
        return ctx
            .out
            .error(&errors::out_of_range_between(-i64::MAX, i64::MAX));
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

const KEY1: KeySpec = KeySpec::Range {
    first: 1,
    last: 1,
    step: 1,
};

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
const FIELD_VALUE_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::block("field_value", &[FIELD, VALUE]).multiple(),
];
const HINCRBY_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    FIELD,
    Arg::new("increment", ArgType::Integer),
];
const HINCRBYFLOAT_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    FIELD,
    Arg::new("increment", ArgType::Double),
];
const HRANDFIELD_ARGS: &[Arg] = &[
    Arg::key("key", 0),
    Arg::block(
        "options",
        &[
            Arg::new("count", ArgType::Integer),
            Arg::pure("withvalues", "WITHVALUES").optional(),
        ],
    )
    .optional(),
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
        args: crate::cmd::keys::ELEMENT_SCAN_ARGS,
        ..Command::new("hscan", -3, READONLY, hscan)
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::testing::{Harness, bulk, err};
    use crate::protocol::reply::Value as R;
    use std::collections::{HashMap, HashSet};

    fn ok() -> R {
        R::Simple("OK".into())
    }

    fn encoding(h: &mut Harness, key: &str) -> R {
        h.run(&["OBJECT", "ENCODING", key])
    }

    fn dirty(h: &Harness) -> u64 {
        h.server.stats.dirty.load(Ordering::Relaxed)
    }

    fn bulks(v: &[&str]) -> R {
        R::Array(v.iter().map(|s| bulk(s)).collect())
    }

    /// The strings of an array reply.
    fn strings(v: R) -> Vec<String> {
        let R::Array(items) = v else {
            panic!("not an array: {v:?}")
        };
        items
            .into_iter()
            .map(|i| match i {
                R::Bulk(b) => String::from_utf8(b).unwrap(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn set_get_and_counts() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["HSET", "h", "a", "1", "b", "2"]), R::Int(2));
        assert_eq!(h.run(&["HSET", "h", "a", "10", "c", "3"]), R::Int(1));
        assert_eq!(h.run(&["HGET", "h", "a"]), bulk("10"));
        assert_eq!(h.run(&["HGET", "h", "zz"]), R::Null);
        assert_eq!(h.run(&["HGET", "nokey", "a"]), R::Null);
        assert_eq!(h.run(&["HLEN", "h"]), R::Int(3));
        assert_eq!(h.run(&["HLEN", "nokey"]), R::Int(0));
        assert_eq!(h.run(&["HMSET", "h", "d", "4"]), ok());
        assert_eq!(
            h.run(&["HMGET", "h", "a", "x", "d"]),
            R::Array(vec![bulk("10"), R::Null, bulk("4")])
        );
        assert_eq!(
            h.run(&["HMGET", "nokey", "a", "b"]),
            R::Array(vec![R::Null, R::Null])
        );
        assert_eq!(h.run(&["HEXISTS", "h", "a"]), R::Int(1));
        assert_eq!(h.run(&["HEXISTS", "h", "x"]), R::Int(0));
        assert_eq!(h.run(&["HSTRLEN", "h", "a"]), R::Int(2));
        assert_eq!(h.run(&["HSTRLEN", "h", "x"]), R::Int(0));
        // Insertion order while packed, as a listpack keeps it.
        assert_eq!(h.run(&["HKEYS", "h"]), bulks(&["a", "b", "c", "d"]));
        assert_eq!(h.run(&["HVALS", "h"]), bulks(&["10", "2", "3", "4"]));
        assert_eq!(
            h.run(&["HGETALL", "h"]),
            bulks(&["a", "10", "b", "2", "c", "3", "d", "4"])
        );
        assert_eq!(h.run(&["HGETALL", "nokey"]), R::Array(vec![]));
        assert_eq!(h.run(&["TYPE", "h"]), R::Simple("hash".into()));
        assert_eq!(encoding(&mut h, "h"), bulk("listpack"));
    }

    #[test]
    fn arity_and_wrong_type() {
        let mut h = Harness::new();
        assert_eq!(
            h.run(&["HSET", "h", "a", "1", "b"]),
            err(&errors::wrong_arity("hset"))
        );
        assert_eq!(
            h.run(&["HMSET", "h", "a", "1", "b"]),
            err(&errors::wrong_arity("hmset"))
        );
        assert_eq!(
            h.run(&["HSET", "h", "a"]),
            err(&errors::wrong_arity("hset"))
        );
        assert_eq!(h.run(&["EXISTS", "h"]), R::Int(0), "nothing created");
        h.run(&["SET", "s", "x"]);
        let wrong = err(errors::WRONGTYPE);
        for cmd in [
            &["HSET", "s", "a", "1"][..],
            &["HSETNX", "s", "a", "1"],
            &["HGET", "s", "a"],
            &["HMGET", "s", "a"],
            &["HDEL", "s", "a"],
            &["HLEN", "s"],
            &["HEXISTS", "s", "a"],
            &["HSTRLEN", "s", "a"],
            &["HKEYS", "s"],
            &["HVALS", "s"],
            &["HGETALL", "s"],
            &["HINCRBY", "s", "a", "1"],
            &["HINCRBYFLOAT", "s", "a", "1"],
            &["HRANDFIELD", "s"],
            &["HRANDFIELD", "s", "2"],
            &["HSCAN", "s", "0"],
        ] {
            assert_eq!(h.run(cmd), wrong, "{cmd:?}");
        }
        // Argument errors come before the type check, as in Redis.
        assert_eq!(h.run(&["HINCRBY", "s", "a", "x"]), err(errors::NOT_INTEGER));
        assert_eq!(
            h.run(&["HINCRBYFLOAT", "s", "a", "x"]),
            err(errors::NOT_FLOAT)
        );
        assert_eq!(h.run(&["HSCAN", "s", "x"]), err(errors::INVALID_CURSOR));
        assert_eq!(h.run(&["HRANDFIELD", "s", "x"]), err(errors::NOT_INTEGER));
    }

    #[test]
    fn hsetnx_and_dirty() {
        let mut h = Harness::new();
        let d0 = dirty(&h);
        assert_eq!(h.run(&["HSETNX", "h", "f", "1"]), R::Int(1));
        assert_eq!(h.run(&["HSETNX", "h", "f", "2"]), R::Int(0));
        assert_eq!(h.run(&["HGET", "h", "f"]), bulk("1"));
        assert_eq!(dirty(&h), d0 + 1);
        // HSET counts every pair written, new or not.
        h.run(&["HSET", "h", "f", "3", "g", "4"]);
        assert_eq!(dirty(&h), d0 + 3);
    }

    #[test]
    fn hdel_deletes_emptied_key() {
        let mut h = Harness::new();
        h.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(h.run(&["HDEL", "h", "x", "y"]), R::Int(0));
        assert_eq!(h.run(&["HDEL", "h", "a", "c", "f"]), R::Int(2));
        assert_eq!(h.run(&["HGETALL", "h"]), bulks(&["b", "2"]));
        let d = dirty(&h);
        assert_eq!(h.run(&["HDEL", "h", "b", "b", "z"]), R::Int(1));
        assert_eq!(dirty(&h), d + 1, "the key's removal adds nothing");
        assert_eq!(h.run(&["EXISTS", "h"]), R::Int(0));
        assert_eq!(h.run(&["HDEL", "h", "b"]), R::Int(0));
    }

    #[test]
    fn hincrby_cases() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["HINCRBY", "h", "n", "5"]), R::Int(5));
        assert_eq!(h.run(&["HINCRBY", "h", "n", "-7"]), R::Int(-2));
        h.run(&["HSET", "h", "big", "17179869184"]);
        assert_eq!(
            h.run(&["HINCRBY", "h", "big", "17179869184"]),
            R::Int(34359738368)
        );
        for bad in [" 11", "11 ", "1.5", "", "abc"] {
            h.run(&["HSET", "h", "s", bad]);
            assert_eq!(
                h.run(&["HINCRBY", "h", "s", "1"]),
                err(errors::HASH_NOT_INTEGER),
                "{bad:?}"
            );
        }
        h.run(&["HSET", "h", "m", "-9223372036854775484"]);
        assert_eq!(
            h.run(&["HINCRBY", "h", "m", "-1"]),
            R::Int(-9223372036854775485)
        );
        assert_eq!(
            h.run(&["HINCRBY", "h", "m", "-10000"]),
            err(errors::INCR_OVERFLOW)
        );
        h.run(&["HSET", "h", "m", "9223372036854775807"]);
        assert_eq!(
            h.run(&["HINCRBY", "h", "m", "1"]),
            err(errors::INCR_OVERFLOW)
        );
        assert_eq!(
            h.run(&["HINCRBY", "h", "m", "99999999999999999999"]),
            err(errors::NOT_INTEGER)
        );
        // A failed increment on a missing key creates nothing.
        assert_eq!(
            h.run(&["HINCRBY", "new", "f", "x"]),
            err(errors::NOT_INTEGER)
        );
        assert_eq!(h.run(&["EXISTS", "new"]), R::Int(0));
    }

    #[test]
    fn hincrbyfloat_cases() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["HINCRBYFLOAT", "h", "f", "1.23"]), bulk("1.23"));
        assert_eq!(h.run(&["HINCRBYFLOAT", "h", "f", "0.77"]), bulk("2"));
        assert_eq!(h.run(&["HINCRBYFLOAT", "h", "f", "-0.1"]), bulk("1.9"));
        assert_eq!(h.run(&["HGET", "h", "f"]), bulk("1.9"));
        h.run(&["HSET", "h", "i", "17179869184"]);
        assert_eq!(h.run(&["HINCRBYFLOAT", "h", "i", "1"]), bulk("17179869185"));
        assert_eq!(
            h.run(&["HINCRBYFLOAT", "h", "i", "5.0e3"]),
            bulk("17179874185")
        );
        for bad in [" 11", "11 ", "1\x002", "abc"] {
            h.run(&["HSET", "h", "s", bad]);
            assert_eq!(
                h.run(&["HINCRBYFLOAT", "h", "s", "1"]),
                err(errors::HASH_NOT_FLOAT),
                "{bad:?}"
            );
        }
        assert_eq!(
            h.run(&["HINCRBYFLOAT", "h", "f", "nan"]),
            err(errors::NOT_FLOAT)
        );
        assert_eq!(
            h.run(&["HINCRBYFLOAT", "h", "f", "+inf"]),
            err(errors::HASH_NAN_OR_INF)
        );
        assert_eq!(
            h.run(&["HINCRBYFLOAT", "hfoo", "f", "-inf"]),
            err(errors::HASH_NAN_OR_INF)
        );
        assert_eq!(h.run(&["EXISTS", "hfoo"]), R::Int(0));
        h.run(&["HSET", "h", "huge", "1.1e4932"]);
        assert_eq!(
            h.run(&["HINCRBYFLOAT", "h", "huge", "1.1e4932"]),
            err(errors::INCR_NAN)
        );
    }

    #[test]
    fn encoding_conversions() {
        let mut h = Harness::new();
        h.run(&["CONFIG", "SET", "hash-max-listpack-value", "8"]);
        h.run(&["HSET", "small", "tmp", "0"]);
        h.run(&["HSET", "big", "tmp", "0"]);
        h.run(&["HINCRBYFLOAT", "small", "tmp", "0.000005"]);
        h.run(&["HINCRBYFLOAT", "big", "tmp", "0.0000005"]);
        assert_eq!(encoding(&mut h, "small"), bulk("listpack"));
        assert_eq!(encoding(&mut h, "big"), bulk("hashtable"));
        h.run(&["HINCRBYFLOAT", "f1", "abcdefgh", "1"]);
        h.run(&["HINCRBYFLOAT", "f2", "abcdefghi", "1"]);
        assert_eq!(encoding(&mut h, "f1"), bulk("listpack"));
        assert_eq!(encoding(&mut h, "f2"), bulk("hashtable"));
        // The old directive name works too.
        h.run(&["CONFIG", "SET", "hash-max-ziplist-entries", "4"]);
        h.run(&["HSET", "n", "a", "1", "b", "2", "c", "3", "d", "4"]);
        assert_eq!(encoding(&mut h, "n"), bulk("listpack"));
        h.run(&["HSET", "n", "e", "5"]);
        assert_eq!(encoding(&mut h, "n"), bulk("hashtable"));
        h.run(&["HDEL", "n", "a", "b", "c"]);
        assert_eq!(encoding(&mut h, "n"), bulk("hashtable"), "one way");
        assert_eq!(h.run(&["HGET", "n", "e"]), bulk("5"));
    }

    #[test]
    fn hrandfield_shapes() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["HRANDFIELD", "nokey"]), R::Null);
        assert_eq!(h.run(&["HRANDFIELD", "nokey", "5"]), R::Array(vec![]));
        assert_eq!(
            h.run(&["HRANDFIELD", "nokey", "5", "WITHVALUES"]),
            R::Array(vec![])
        );
        h.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(h.run(&["HRANDFIELD", "h", "0"]), R::Array(vec![]));
        assert_eq!(h.run(&["HRANDFIELD", "h", "1", "x"]), err(errors::SYNTAX));
        assert_eq!(
            h.run(&["HRANDFIELD", "h", "1", "withvalues", "x"]),
            err(errors::SYNTAX)
        );
        assert_eq!(
            h.run(&["HRANDFIELD", "h", "-9223372036854775808"]),
            err(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
            )
        );
        assert_eq!(
            h.run(&["HRANDFIELD", "h", "-9223372036854770000", "withvalues"]),
            err(errors::HASH_COUNT_RANGE)
        );
        let one = strings(h.run(&["HRANDFIELD", "h", "1"]));
        assert_eq!(one.len(), 1);
        let R::Bulk(f) = h.run(&["HRANDFIELD", "h"]) else {
            panic!()
        };
        assert!([&b"a"[..], b"b", b"c"].contains(&f.as_slice()));
        let mut all = strings(h.run(&["HRANDFIELD", "h", "10"]));
        all.sort();
        assert_eq!(all, ["a", "b", "c"]);
        let pairs = strings(h.run(&["HRANDFIELD", "h", "2", "WITHVALUES"]));
        assert_eq!(pairs.len(), 4);
        assert_ne!(pairs[0], pairs[2], "distinct");
        for p in pairs.chunks(2) {
            assert_eq!(h.run(&["HGET", "h", &p[0]]), bulk(&p[1]));
        }
        let many = strings(h.run(&["HRANDFIELD", "h", "-50", "withvalues"]));
        assert_eq!(many.len(), 100);
        // RESP3 nests each pair.
        h.run(&["HELLO", "3"]);
        let R::Array(v) = h.run(&["HRANDFIELD", "h", "3", "WITHVALUES"]) else {
            panic!()
        };
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|p| matches!(p, R::Array(x) if x.len() == 2)));
        let R::Array(v) = h.run(&["HRANDFIELD", "h", "-4", "WITHVALUES"]) else {
            panic!()
        };
        assert_eq!(v.len(), 4);
        assert_eq!(strings(h.run(&["HRANDFIELD", "h", "3"])).len(), 3);
        assert!(matches!(h.run(&["HGETALL", "h"]), R::Map(m) if m.len() == 3));
        assert_eq!(h.run(&["HGETALL", "nokey"]), R::Map(vec![]));
    }

    #[test]
    fn hrandfield_covers_a_table() {
        let mut h = Harness::new();
        let mut args = vec!["HSET".to_string(), "h".into()];
        for i in 0..1000 {
            args.push(format!("f{i}"));
            args.push(format!("v{i}"));
        }
        let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        h.run(&argv);
        assert_eq!(encoding(&mut h, "h"), bulk("hashtable"));
        for n in ["10", "500", "999", "1000", "2000"] {
            let got = strings(h.run(&["HRANDFIELD", "h", n]));
            let uniq: HashSet<_> = got.iter().collect();
            assert_eq!(uniq.len(), got.len(), "distinct for {n}");
            assert_eq!(got.len(), n.parse::<usize>().unwrap().min(1000));
        }
        let mut seen = HashMap::new();
        for f in strings(h.run(&["HRANDFIELD", "h", "-20000"])) {
            *seen.entry(f).or_insert(0) += 1;
        }
        assert!(
            seen.len() > 990,
            "most fields come up in 20000 draws: {}",
            seen.len()
        );
    }

    #[test]
    fn hscan_packed_and_table() {
        let mut h = Harness::new();
        assert_eq!(
            h.run(&["HSCAN", "nokey", "0", "COUNT", "0"]),
            R::Array(vec![bulk("0"), R::Array(vec![])])
        );
        h.run(&["HSET", "h", "a", "1", "b", "2", "ab", "3"]);
        assert_eq!(
            h.run(&["HSCAN", "h", "0"]),
            R::Array(vec![bulk("0"), bulks(&["a", "1", "b", "2", "ab", "3"])])
        );
        assert_eq!(
            h.run(&["HSCAN", "h", "77", "MATCH", "a*"]),
            R::Array(vec![bulk("0"), bulks(&["a", "1", "ab", "3"])])
        );
        assert_eq!(
            h.run(&["HSCAN", "h", "0", "COUNT", "0"]),
            err(errors::SYNTAX)
        );
        assert_eq!(h.run(&["HSCAN", "h", "0", "NOVALUES"]), err(errors::SYNTAX));
        assert_eq!(
            h.run(&["HSCAN", "h", "0", "TYPE", "hash"]),
            err(errors::SYNTAX)
        );
        // A table walks with a cursor and returns every field at least once.
        let mut args = vec!["HSET".to_string(), "t".into()];
        for i in 0..1000 {
            args.push(format!("f{i}"));
            args.push(format!("{i}"));
        }
        let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        h.run(&argv);
        let mut cursor = "0".to_string();
        let mut seen = HashMap::new();
        let mut calls = 0;
        loop {
            let R::Array(v) = h.run(&["HSCAN", "t", &cursor, "COUNT", "20"]) else {
                panic!()
            };
            let R::Bulk(c) = &v[0] else { panic!() };
            cursor = String::from_utf8(c.clone()).unwrap();
            let items = strings(v[1].clone());
            for p in items.chunks(2) {
                assert_eq!(format!("f{}", p[1]), p[0]);
                seen.insert(p[0].clone(), ());
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert!(calls > 10, "a table is walked in steps, not at once");
    }

    #[test]
    fn digest_copy_and_memory() {
        let mut h = Harness::new();
        h.run(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
        h.run(&["HSET", "t", "a", "1", "b", "2"]);
        h.run(&["CONFIG", "SET", "hash-max-listpack-entries", "128"]);
        h.run(&["HSET", "p", "b", "2", "a", "1"]);
        assert_eq!(encoding(&mut h, "t"), bulk("hashtable"));
        assert_eq!(encoding(&mut h, "p"), bulk("listpack"));
        // The same content digests alike whatever the encoding and order (value checked
        // against redis-server 7.0.15: HSET h a 1 b 2 c 3 gives b60c36e5...).
        let dt = h.run(&["DEBUG", "DIGEST-VALUE", "t"]);
        assert_eq!(h.run(&["DEBUG", "DIGEST-VALUE", "p"]), dt);
        h.run(&["HSET", "r", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(
            h.run(&["DEBUG", "DIGEST-VALUE", "r"]),
            R::Array(vec![R::Simple(
                "b60c36e529712296d694f27b5914cbe84950995e".into()
            )])
        );
        assert_eq!(h.run(&["COPY", "t", "t2"]), R::Int(1));
        assert_eq!(h.run(&["DEBUG", "DIGEST-VALUE", "t2"]), dt);
        assert_eq!(encoding(&mut h, "t2"), bulk("hashtable"));
        h.run(&["DEL", "t"]);
        assert_eq!(h.run(&["HGET", "t2", "b"]), bulk("2"));
        assert!(matches!(h.run(&["MEMORY", "USAGE", "t2"]), R::Int(n) if n > 0));
        assert_eq!(h.run(&["RENAME", "t2", "t3"]), ok());
        assert_eq!(h.run(&["HGET", "t3", "a"]), bulk("1"));
    }
}
