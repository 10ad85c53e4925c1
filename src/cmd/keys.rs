//! Generic key commands and expiry.

use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::store::lazyfree;

const ALL_KEYS: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };
const KEY1: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

/// Deletes the keys of `argv[1..]`, freeing big values in the background when `lazy`.
fn del_generic(ctx: &mut Ctx, argv: &[&[u8]], lazy: bool) {
    let mut n = 0;
    for k in &argv[1..] {
        if let Some(v) = ctx.ks.remove(k) {
            n += 1;
            let effort = v.free_effort();
            if lazy && effort > 64 {
                lazyfree::free_later(v, 1);
            }
        }
    }
    ctx.out.int(n);
}

/// DEL key [key ...]
fn del(ctx: &mut Ctx, argv: &[&[u8]]) {
    del_generic(ctx, argv, false);
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

/// TYPE key
fn type_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let name = match ctx.ks.peek(argv[1]) {
        Some(e) => e.value().value_type().name(),
        None => "none",
    };
    ctx.out.simple(name.as_bytes());
}

/// DBSIZE
fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let db = ctx.ks.db;
    let n = ctx.ks.db_len(db);
    ctx.out.int(n as i64);
}

/// Parses FLUSHDB / FLUSHALL's optional ASYNC|SYNC; returns Some(async) or None on bad input.
fn flush_mode(argv: &[&[u8]]) -> Option<bool> {
    match argv.get(1) {
        None => Some(false),
        Some(a) if argv.len() == 2 && a.eq_ignore_ascii_case(b"async") => Some(true),
        Some(a) if argv.len() == 2 && a.eq_ignore_ascii_case(b"sync") => Some(false),
        _ => None,
    }
}

fn free_dicts(dicts: Vec<crate::store::dict::Dict>, lazy: bool) {
    let n: usize = dicts.iter().map(|d| d.len()).sum();
    if lazy && n > 0 {
        lazyfree::free_later(dicts, n as u64);
    }
}

/// FLUSHDB [ASYNC|SYNC]
fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(argv) else { return ctx.syntax_error() };
    let db = ctx.ks.db;
    let old = ctx.ks.flush_db(db);
    free_dicts(old, lazy);
    ctx.out.ok();
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(lazy) = flush_mode(argv) else { return ctx.syntax_error() };
    for db in 0..ctx.server.store.databases() {
        let old = ctx.ks.flush_db(db);
        free_dicts(old, lazy);
    }
    ctx.out.ok();
}

pub const COMMANDS: &[Command] = &[
    Command {
        keys: ALL_KEYS,
        summary: "Delete a key",
        complexity: "O(N)",
        acl: &["keyspace"],
        ..Command::new("del", -2, WRITE, del)
    },
    Command {
        keys: ALL_KEYS,
        since: "4.0.0",
        summary: "Delete a key asynchronously in another thread",
        complexity: "O(1) for each key removed regardless of its size",
        acl: &["keyspace"],
        ..Command::new("unlink", -2, WRITE | FAST, unlink)
    },
    Command {
        keys: ALL_KEYS,
        summary: "Determine if a key exists",
        complexity: "O(N)",
        acl: &["keyspace"],
        ..Command::new("exists", -2, READONLY | FAST, exists)
    },
    Command {
        keys: KEY1,
        summary: "Determine the type stored at key",
        acl: &["keyspace"],
        ..Command::new("type", 2, READONLY | FAST, type_cmd)
    },
    Command {
        group: "server",
        summary: "Return the number of keys in the selected database",
        acl: &["keyspace"],
        ..Command::new("dbsize", 1, READONLY | FAST | ALL_SHARDS, dbsize)
    },
    Command {
        group: "server",
        summary: "Remove all keys from the current database",
        complexity: "O(N)",
        acl: &["keyspace", "dangerous"],
        ..Command::new("flushdb", -1, WRITE | ALL_SHARDS, flushdb)
    },
    Command {
        group: "server",
        summary: "Remove all keys from all databases",
        complexity: "O(N)",
        acl: &["keyspace", "dangerous"],
        ..Command::new("flushall", -1, WRITE | ALL_SHARDS, flushall)
    },
];
