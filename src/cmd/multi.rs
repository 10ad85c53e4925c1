//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Queueing happens in dispatch (`command::dispatch::execute`), which files every command
//! other than EXEC, DISCARD, MULTI, WATCH, QUIT and RESET in `Client::multi` after the checks
//! Redis makes before queueing. EXEC then locks every shard once and runs the queue against
//! that one keyspace view, so no other client sees any state in between: the transaction is
//! atomic with respect to every shard. WATCH files the client in the per-shard registry
//! (`store::watch`); writes by anyone set the client's dirty flag, which EXEC checks under the
//! same locks.

use std::sync::atomic::Ordering;

use crate::command::table::{KeySpecDef, key_flags as kf};
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::errors;
use crate::server::Server;
use crate::server::client::{Client, MultiState, flags as cflags};

/// Drops the client's transaction and watches (DISCARD, RESET, disconnection). The caller
/// holds no shard lock.
pub fn forget(server: &Server, client: &mut Client) {
    if client.multi.is_some() {
        client.discard_multi();
    }
    unwatch_all(server, client);
}

/// Removes every watch of the client and clears its dirty flag. The caller holds no shard
/// lock.
fn unwatch_all(server: &Server, client: &mut Client) {
    if !client.watched.is_empty() {
        let keys = std::mem::take(&mut client.watched);
        server.store.unwatch(client.id, &keys);
    }
    // Cleared after leaving the registry, so no write can set it again afterwards.
    client.watch_dirty.clear();
}

/// MULTI
fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error(errors::MULTI_NESTED);
    }
    ctx.client.multi = Some(Box::default());
    ctx.client.info.multi.store(0, Ordering::Relaxed);
    ctx.client.info.set_flag(cflags::MULTI, true);
    ctx.out.ok();
}

/// DISCARD
fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.client.multi.is_none() {
        return ctx.out.error(errors::DISCARD_WITHOUT_MULTI);
    }
    forget(ctx.server, ctx.client);
    ctx.out.ok();
}

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx, argv: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error(errors::WATCH_IN_MULTI);
    }
    // No point watching more once the transaction is doomed.
    if !ctx.client.watch_dirty.is_set() {
        let db = ctx.ks.db;
        for key in &argv[1..] {
            if ctx.client.watched.iter().any(|(d, k)| *d == db && k == key) {
                continue;
            }
            ctx.ks.watch(db, key, ctx.client.id, ctx.client.watch_dirty.shared());
            ctx.client.watched.push((db, key.to_vec()));
        }
    }
    ctx.out.ok();
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) {
    unwatch_all(ctx.server, ctx.client);
    ctx.out.ok();
}

/// Returns the EXECABORT error EXEC replies when dispatch refuses it with `err` (OOM), as
/// Redis's execCommandAbort words it.
pub fn exec_abort_error(err: &str) -> String {
    format!("EXECABORT Transaction discarded because of: {err}")
}

/// EXEC
fn exec(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let Some(state) = ctx.client.multi.take() else {
        return ctx.out.error(errors::EXEC_WITHOUT_MULTI);
    };
    ctx.client.discard_multi();
    let MultiState { queue, error, .. } = *state;
    if error {
        unwatch_all(ctx.server, ctx.client);
        return ctx.out.error(errors::EXECABORT);
    }
    // Every shard, once, for the whole transaction. EXEC declares no key, so the view being
    // replaced holds no lock.
    let now = ctx.ks.now;
    ctx.ks = ctx.server.store.lock_all(ctx.client.db, now);
    let id = ctx.client.id;
    let watched = std::mem::take(&mut ctx.client.watched);
    let dirty = ctx.client.watch_dirty.is_set()
        || watched.iter().any(|(db, k)| ctx.ks.watched_key_expired(*db, k, id));
    // Unwatched under the locks already held, before the queue runs (as Redis does), so the
    // transaction's own writes do not go through its watches.
    for (db, k) in &watched {
        ctx.ks.unwatch(*db, k, id);
    }
    ctx.client.watch_dirty.clear();
    if dirty {
        return ctx.out.null_array();
    }
    ctx.out.array(queue.len());
    ctx.client.in_exec = true;
    // Commands that read the whole store directly (INFO, MEMORY STATS, CONFIG RESETSTAT) use
    // the locks this view holds.
    let holding = ctx.ks.hold_all();
    let mut args: Vec<&[u8]> = Vec::new();
    for (idx, argv) in &queue {
        args.clear();
        args.extend(argv.iter().map(|a| a.as_slice()));
        crate::command::dispatch::run_queued(ctx, *idx, &args);
    }
    drop(holding);
    ctx.client.in_exec = false;
}

const TRANSACTION: &[&str] = &["transaction"];
const WATCH_KEYS: &[KeySpecDef] = &[KeySpecDef::range(1, -1, 1, kf::RO)];

pub const COMMANDS: &[Command] = &[
    Command {
        group: "transactions",
        since: "1.2.0",
        summary: "Discard all commands issued after MULTI",
        complexity: "O(N), when N is the number of queued commands",
        acl: TRANSACTION,
        ..Command::new("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, discard)
    },
    Command {
        group: "transactions",
        since: "1.2.0",
        summary: "Execute all commands issued after MULTI",
        complexity: "Depends on commands in the transaction",
        acl: TRANSACTION,
        ..Command::new("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, exec)
    },
    Command {
        group: "transactions",
        since: "1.2.0",
        summary: "Mark the start of a transaction block",
        complexity: "O(1)",
        acl: TRANSACTION,
        ..Command::new("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, multi)
    },
    Command {
        group: "transactions",
        since: "2.2.0",
        summary: "Forget about all watched keys",
        complexity: "O(1)",
        acl: TRANSACTION,
        ..Command::new("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, unwatch)
    },
    Command {
        keys: KeySpec::Range { first: 1, last: -1, step: 1 },
        group: "transactions",
        since: "2.2.0",
        summary: "Watch the given keys to determine execution of the MULTI/EXEC block",
        complexity: "O(1) for every key.",
        acl: TRANSACTION,
        key_specs: WATCH_KEYS,
        ..Command::new("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, watch)
    },
];

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::command::testing::Harness;
    use crate::protocol::reply::Value;

    fn ok() -> Value {
        Value::Simple("OK".into())
    }

    fn queued() -> Value {
        Value::Simple("QUEUED".into())
    }

    fn err(s: &str) -> Value {
        Value::Error(s.into())
    }

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn multi_exec_runs_the_queue_and_keeps_runtime_errors() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["MULTI"]), ok());
        assert_eq!(h.run(&["SET", "a", "1"]), queued());
        assert_eq!(h.run(&["INCR", "a"]), queued());
        assert_eq!(h.run(&["LPUSH", "a", "x"]), queued());
        assert_eq!(h.run(&["GET", "a"]), queued());
        // Nothing ran yet.
        assert_eq!(h.another().run(&["EXISTS", "a"]), Value::Int(0));
        match h.run(&["EXEC"]) {
            Value::Array(v) => {
                assert_eq!(v.len(), 4);
                assert_eq!(v[0], ok());
                assert_eq!(v[1], Value::Int(2));
                assert!(matches!(&v[2], Value::Error(e) if e.starts_with("WRONGTYPE")));
                assert_eq!(v[3], bulk("2"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(h.run(&["EXEC"]), err("ERR EXEC without MULTI"));
    }

    #[test]
    fn queueing_errors_abort_with_execabort() {
        let mut h = Harness::new();
        h.run(&["MULTI"]);
        assert_eq!(h.run(&["MULTI"]), err("ERR MULTI calls can not be nested"));
        assert_eq!(h.run(&["WATCH", "x"]), err("ERR WATCH inside MULTI is not allowed"));
        assert_eq!(h.run(&["SET", "a", "1"]), queued());
        assert!(matches!(h.run(&["NOSUCH"]), Value::Error(e) if e.starts_with("ERR unknown")));
        assert_eq!(h.client.info.multi.load(Ordering::Relaxed), 1);
        assert_eq!(h.run(&["EXEC"]), err(crate::protocol::errors::EXECABORT));
        assert!(h.client.multi.is_none());
        assert_eq!(h.client.info.multi.load(Ordering::Relaxed), -1);
        assert_eq!(h.run(&["EXISTS", "a"]), Value::Int(0));
        // An arity error dooms it too.
        h.run(&["MULTI"]);
        assert!(matches!(h.run(&["GET"]), Value::Error(_)));
        assert_eq!(h.run(&["EXEC"]), err(crate::protocol::errors::EXECABORT));
    }

    #[test]
    fn discard_drops_the_queue_and_the_watches() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["DISCARD"]), err("ERR DISCARD without MULTI"));
        h.run(&["WATCH", "x"]);
        h.run(&["MULTI"]);
        h.run(&["SET", "a", "1"]);
        assert_eq!(h.run(&["DISCARD"]), ok());
        assert_eq!(h.run(&["EXISTS", "a"]), Value::Int(0));
        // x is no longer watched: touching it does not fail the next transaction.
        h.another().run(&["SET", "x", "1"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert_eq!(h.run(&["EXEC"]), Value::Array(vec![Value::Simple("PONG".into())]));
    }

    #[test]
    fn watch_fails_exec_on_real_changes_only() {
        let mut h = Harness::new();
        let mut other = h.another();
        other.run(&["SADD", "s", "a"]);
        h.run(&["WATCH", "s", "k"]);
        // A no-op write (existing member) is no change.
        other.run(&["SADD", "s", "a"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert_eq!(h.run(&["EXEC"]), Value::Array(vec![Value::Simple("PONG".into())]));
        // After EXEC nothing is watched.
        other.run(&["SET", "k", "v"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert!(matches!(h.run(&["EXEC"]), Value::Array(_)));
        // An in-place change fails it.
        h.run(&["WATCH", "s"]);
        other.run(&["SADD", "s", "b"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert_eq!(h.run(&["EXEC"]), Value::NullArray);
        // As does a write of another database's key of the same name? No: the db counts.
        h.run(&["WATCH", "k"]);
        other.run(&["SELECT", "1"]);
        other.run(&["SET", "k", "x"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert!(matches!(h.run(&["EXEC"]), Value::Array(_)));
        // UNWATCH forgets.
        h.run(&["WATCH", "k"]);
        h.run(&["UNWATCH"]);
        other.run(&["SELECT", "0"]);
        other.run(&["DEL", "k"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert!(matches!(h.run(&["EXEC"]), Value::Array(_)));
    }

    #[test]
    fn watch_sees_expire_flush_and_swapdb() {
        let mut h = Harness::new();
        let mut other = h.another();
        other.run(&["SET", "x", "1"]);
        h.run(&["WATCH", "x"]);
        other.run(&["EXPIRE", "x", "100"]);
        h.run(&["MULTI"]);
        assert_eq!(h.run(&["EXEC"]), Value::NullArray);

        h.run(&["WATCH", "x"]);
        other.run(&["FLUSHDB"]);
        h.run(&["MULTI"]);
        assert_eq!(h.run(&["EXEC"]), Value::NullArray);

        // FLUSHALL does not touch a watched key that does not exist.
        h.run(&["WATCH", "nokey"]);
        other.run(&["FLUSHALL"]);
        h.run(&["MULTI"]);
        assert!(matches!(h.run(&["EXEC"]), Value::Array(_)));

        // SWAPDB bringing a key in touches it.
        other.run(&["SELECT", "1"]);
        other.run(&["SET", "y", "1"]);
        h.run(&["WATCH", "y"]);
        other.run(&["SWAPDB", "0", "1"]);
        h.run(&["MULTI"]);
        assert_eq!(h.run(&["EXEC"]), Value::NullArray);
    }

    #[test]
    fn stale_keys_follow_redis_rules() {
        let mut h = Harness::new();
        h.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        h.run(&["SET", "x", "foo", "PX", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(3));
        // Watching a key already expired, then its lazy deletion: no change.
        h.run(&["WATCH", "x"]);
        assert_eq!(h.run(&["EXISTS", "x"]), Value::Int(0));
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert!(matches!(h.run(&["EXEC"]), Value::Array(_)));

        // A key live at WATCH time that expires since fails EXEC.
        h.run(&["SET", "y", "foo", "PX", "20"]);
        h.run(&["WATCH", "y"]);
        std::thread::sleep(std::time::Duration::from_millis(30));
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert_eq!(h.run(&["EXEC"]), Value::NullArray);

        // FLUSHDB of a stale watched key: no change.
        h.run(&["SET", "z", "foo", "PX", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(3));
        h.run(&["WATCH", "z"]);
        h.run(&["FLUSHDB"]);
        h.run(&["MULTI"]);
        h.run(&["PING"]);
        assert!(matches!(h.run(&["EXEC"]), Value::Array(_)));
        h.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    }

    #[test]
    fn blocking_commands_do_not_block_inside_exec() {
        let mut h = Harness::new();
        h.run(&["MULTI"]);
        h.run(&["BLPOP", "nolist", "0"]);
        h.run(&["BLMOVE", "nolist", "dst", "LEFT", "LEFT", "0"]);
        assert_eq!(h.run(&["EXEC"]), Value::Array(vec![Value::NullArray, Value::Null]));
        assert!(h.client.blocked.is_none() && !h.client.in_exec);
    }

    #[test]
    fn store_wide_readers_inside_exec_do_not_deadlock() {
        let mut h = Harness::new();
        h.run(&["MULTI"]);
        h.run(&["SET", "a", "1"]);
        h.run(&["INFO", "keyspace"]);
        h.run(&["MEMORY", "STATS"]);
        h.run(&["CONFIG", "RESETSTAT"]);
        h.run(&["DBSIZE"]);
        match h.run(&["EXEC"]) {
            Value::Array(v) => {
                assert_eq!(v.len(), 5);
                let keyspace = b"# Keyspace\r\ndb0:keys=1";
                assert!(matches!(&v[1], Value::Bulk(b) if b.starts_with(keyspace)));
                assert_eq!(v[4], Value::Int(1));
            }
            other => panic!("unexpected {other:?}"),
        }
        // Outside EXEC the readers lock again as usual.
        assert!(matches!(h.run(&["INFO", "keyspace"]), Value::Bulk(_)));
    }

    #[test]
    fn queued_commands_count_when_executed() {
        let mut h = Harness::new();
        let processed =
            |h: &Harness| h.server.stats.total_commands_processed.load(Ordering::Relaxed);
        let before = processed(&h);
        h.run(&["MULTI"]);
        h.run(&["SET", "a", "1"]);
        h.run(&["DISCARD"]);
        assert_eq!(processed(&h) - before, 2);
        h.run(&["MULTI"]);
        h.run(&["SET", "a", "1"]);
        h.run(&["EXEC"]);
        assert_eq!(processed(&h) - before, 5);
    }

    #[test]
    fn reset_discards_and_unwatches() {
        let mut h = Harness::new();
        h.run(&["WATCH", "k"]);
        h.run(&["MULTI"]);
        h.run(&["SET", "a", "1"]);
        assert_eq!(h.run(&["RESET"]), Value::Simple("RESET".into()));
        assert!(h.client.multi.is_none() && h.client.watched.is_empty());
        assert_eq!(h.run(&["EXISTS", "a"]), Value::Int(0));
        let mut s = h.server.store.lock_all(0, 0);
        assert!(!s.shard_mut(crate::store::shard_of_key(b"k")).watched[0].has(b"k"));
    }
}
