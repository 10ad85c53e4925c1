//! AOF rewrites: BGREWRITEAOF, the automatic rewrite, and turning the AOF on.
//!
//! With `aof-use-rdb-preamble yes` (the default) the new base is an RDB file written from a
//! `Store::snapshot` whose instant is the switch to the new incremental file (taken with every
//! shard held), so base + new incremental file are exactly the dataset, without stopping the
//! world for the walk. With `no`, the base is commands serialized while every shard is held,
//! the switch under those same locks.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{
    Settings, encode_command, files_size, open_append, persist_manifest, write_atomically,
};
use crate::persistence::file;
use crate::server::Server;
use crate::store::Keyspace;
use crate::store::entry::Entry;
use crate::store::value::Value;

/// Elements per command of a rewritten aggregate (Redis's `AOF_REWRITE_ITEMS_PER_CMD`).
const ITEMS_PER_CMD: usize = 64;

/// Appends the commands that rebuild `e` to `out`, or nothing when it has expired by `now`.
fn dump_entry(out: &mut Vec<u8>, e: &Entry, now: i64) {
    if e.expire().is_some_and(|t| t < now) {
        return;
    }
    let key = e.key();
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let flush = |out: &mut Vec<u8>, cmd: &[u8], batch: &mut Vec<Vec<u8>>| {
        if batch.is_empty() {
            return;
        }
        let mut argv: Vec<&[u8]> = Vec::with_capacity(batch.len() + 2);
        argv.push(cmd);
        argv.push(key);
        argv.extend(batch.iter().map(|a| a.as_slice()));
        encode_command(out, &argv);
        batch.clear();
    };
    match e.value() {
        Value::List(l) => {
            l.walk(0, false, |x| {
                batch.push(x.to_vec());
                if batch.len() == ITEMS_PER_CMD {
                    flush(out, b"RPUSH", &mut batch);
                }
                true
            });
            flush(out, b"RPUSH", &mut batch);
        }
        Value::Set(s) => {
            s.for_each_member(|m| {
                batch.push(m.to_vec());
                if batch.len() == ITEMS_PER_CMD {
                    flush(out, b"SADD", &mut batch);
                }
            });
            flush(out, b"SADD", &mut batch);
        }
        Value::ZSet(z) => {
            z.for_each(|m, score| {
                batch.push(crate::util::fmt_g17(score).into_bytes());
                batch.push(m.to_vec());
                if batch.len() == ITEMS_PER_CMD * 2 {
                    flush(out, b"ZADD", &mut batch);
                }
            });
            flush(out, b"ZADD", &mut batch);
        }
        Value::Hash(h) => {
            h.for_each(|f, v| {
                batch.push(f.to_vec());
                batch.push(v.to_vec());
                if batch.len() == ITEMS_PER_CMD * 2 {
                    flush(out, b"HMSET", &mut batch);
                }
            });
            flush(out, b"HMSET", &mut batch);
        }
        v => {
            let mut tmp = itoa::Buffer::new();
            let bytes = v.str_bytes(&mut tmp).unwrap_or_default();
            encode_command(out, &[b"SET" as &[u8], key, bytes]);
        }
    }
    if let Some(t) = e.expire() {
        let mut tmp = itoa::Buffer::new();
        encode_command(out, &[b"PEXPIREAT" as &[u8], key, tmp.format(t).as_bytes()]);
    }
}

/// Returns the dataset as commands, every database that has keys preceded by its SELECT. The
/// view must hold every shard.
pub fn dump_commands(ks: &mut Keyspace, timestamp: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if timestamp {
        // A base starts with its time when `aof-timestamp-enabled` (redis-check-aof's
        // --truncate-to-timestamp reads it).
        out.extend_from_slice(format!("#TS:{}\r\n", ks.now / 1000).as_bytes());
    }
    let now = ks.now;
    let dbs = ks.store().databases();
    let mut tmp = itoa::Buffer::new();
    for db in 0..dbs {
        if ks.db_len(db) == 0 {
            continue;
        }
        encode_command(&mut out, &[b"SELECT" as &[u8], tmp.format(db).as_bytes()]);
        ks.for_each_in(db, |e| dump_entry(&mut out, e, now));
    }
    out
}

/// Rewrites the AOF now, on the calling thread: a new base from the dataset and a new
/// incremental file from the same instant, the manifest switched atomically, the old files
/// removed. Also turns the AOF on when `appendonly` is set and it is off. `why` names the
/// occasion for the log ("on server start", or empty).
pub fn rewrite_now(server: &Server, why: &str) -> Result<(), String> {
    let s = Settings::read(server);
    let aof = &server.aof;
    let mut m = aof.manifest.lock();
    let started = Instant::now();
    aof.stats.rewrite_in_progress.store(true, Ordering::Relaxed);
    aof.stats.forks.fetch_add(1, Ordering::Relaxed);
    let result = if aof.cancel_rewrite.load(Ordering::Relaxed) {
        Err("the rewrite was stopped".to_string())
    } else {
        rewrite_locked(server, &s, &mut m, why)
    };
    aof.stats
        .rewrite_in_progress
        .store(false, Ordering::Relaxed);
    aof.stats
        .last_rewrite_time_sec
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    // A stop request is for this rewrite only, whether or not it saw it.
    let cancelled = aof.cancel_rewrite.swap(false, Ordering::Relaxed);
    match &result {
        Ok(()) => {
            aof.stats.last_bgrewrite_ok.store(true, Ordering::Relaxed);
            aof.stats.consecutive_failures.store(0, Ordering::Relaxed);
            aof.stats.rewrites.fetch_add(1, Ordering::Relaxed);
        }
        // Stopped on purpose (Redis kills its child with SIGUSR1): not a failure.
        Err(_) if cancelled => {
            tracing::info!("Background AOF rewrite terminated by signal 10");
        }
        Err(e) => {
            aof.stats.last_bgrewrite_ok.store(false, Ordering::Relaxed);
            aof.stats
                .consecutive_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!("Background AOF rewrite failed: {e}");
        }
    }
    result
}

fn rewrite_locked(
    server: &Server,
    s: &Settings,
    m: &mut super::Manifest,
    why: &str,
) -> Result<(), String> {
    let aof = &server.aof;
    let dir = s.dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::warn!("Can't open or create append-only dir {}: {e}", s.dirname);
        return Err(e.to_string());
    }
    let mut next = m.clone();
    // The AOF runs (or starts running) after the rewrite: it needs a new incremental file.
    let with_incr = s.enabled || aof.is_on();
    let incr = if with_incr {
        let name = next.new_incr(&s.filename);
        let path = dir.join(&name);
        let _ = std::fs::remove_file(&path);
        let f = open_append(&path).map_err(|e| e.to_string())?;
        if aof.is_on() {
            // Make the new file part of the AOF before anything acknowledged lands in it.
            persist_manifest(s, &next).map_err(|e| e.to_string())?;
        }
        if !why.is_empty() {
            tracing::info!("Creating AOF incr file {name} {why}");
        }
        Some(f)
    } else {
        None
    };
    let base = if s.rdb_preamble {
        write_rdb_base(server, s, &mut next, incr, why)?
    } else {
        write_command_base(server, s, &mut next, incr, why)?
    };
    if why.is_empty() {
        tracing::info!("Background AOF rewrite terminated with success");
        tracing::info!("Successfully renamed the temporary AOF base file into {base}");
    } else {
        tracing::info!("Creating AOF base file {base} {why}");
    }
    if with_incr {
        next.retire_incr_but_last();
    } else {
        for mut f in next.incr.drain(..) {
            f.kind = super::manifest::Kind::History;
            next.history.push(f);
        }
    }
    persist_manifest(s, &next).map_err(|e| e.to_string())?;
    *m = next;
    super::delete_history(s, m);
    let size = files_size(&dir, m);
    aof.stats.current_size.store(size, Ordering::Relaxed);
    aof.stats.base_size.store(size, Ordering::Relaxed);
    if why.is_empty() {
        tracing::info!("Background AOF rewrite finished successfully");
    }
    Ok(())
}

/// Writes the new base as an RDB file (`aof-use-rdb-preamble yes`) from a store snapshot
/// whose instant is the switch to the new incremental file `incr`: every write before the
/// instant is in the image, every later one in `incr`. Returns the base's name.
fn write_rdb_base(
    server: &Server,
    s: &Settings,
    next: &mut super::Manifest,
    incr: Option<std::fs::File>,
    why: &str,
) -> Result<String, String> {
    let aof = &server.aof;
    let base = next.new_base(&s.filename, true);
    let mut opts = crate::cmd::persist::save_opts(server);
    opts.aof_base = true;
    let walk_opts = opts.clone();
    let path = s.dir().join(&base);
    let at_instant = move || {
        if aof.cancel_rewrite.load(Ordering::Relaxed) {
            // The AOF was turned off meanwhile: it must stay off.
            return;
        }
        if let Some(f) = incr {
            aof.switch_to(f);
            super::turn_on(server);
        }
    };
    if why.is_empty() {
        // Logged before the instant rather than under every shard lock.
        tracing::info!("Background append only file rewriting started");
    }
    let res = file::write_file(&path, "aof-", opts, |w| {
        let delay = || crate::cmd::persist::key_save_delay(server);
        file::write_snapshot(&server.store, &walk_opts, &aof.cancel_rewrite, &delay, at_instant, w)
    });
    match res {
        // Stopped (appendonly no): a new incremental file stays in the manifest, as a killed
        // Redis rewrite leaves it.
        _ if aof.cancel_rewrite.load(Ordering::Relaxed) => Err("the rewrite was stopped".into()),
        Ok(_) => Ok(base),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes the new base as commands (`aof-use-rdb-preamble no`) from an image serialized while
/// every shard is held, switching to the new incremental file `incr` under the same locks.
/// Returns the base's name.
fn write_command_base(
    server: &Server,
    s: &Settings,
    next: &mut super::Manifest,
    incr: Option<std::fs::File>,
    why: &str,
) -> Result<String, String> {
    let aof = &server.aof;
    let (image, keys) = {
        // Every shard held: the image and the start of the new incremental file are one
        // instant of the dataset.
        let mut ks = server.store.lock_all(0, crate::util::now_ms());
        let image = dump_commands(&mut ks, s.timestamps);
        let keys: usize = (0..ks.store().databases()).map(|db| ks.db_len(db)).sum();
        if aof.cancel_rewrite.load(Ordering::Relaxed) {
            // The AOF was turned off meanwhile: it must stay off.
            return Err("the rewrite was stopped".into());
        }
        if let Some(f) = incr {
            aof.switch_to(f);
            super::turn_on(server);
        }
        (image, keys)
    };
    if why.is_empty() {
        tracing::info!("Background append only file rewriting started");
    }
    if !key_save_delay(s, keys, &aof.cancel_rewrite) {
        // Stopped (appendonly no): the new incremental file stays in the manifest, as a
        // killed Redis rewrite leaves it.
        return Err("the rewrite was stopped".into());
    }
    let base = next.new_base(&s.filename, false);
    write_atomically(&s.dir(), &base, &image).map_err(|e| e.to_string())?;
    Ok(base)
}

/// Runs a rewrite on the calling thread, as BGREWRITEAOF does where no shared handle of the
/// server exists (in-process tests).
pub fn rewrite_here(server: &Server) -> Result<(), String> {
    rewrite_now(server, "")
}

/// Waits `rdb-key-save-delay` per key, outside every lock, in short slices so a stop request
/// is seen at once. Returns false when stopped.
fn key_save_delay(s: &Settings, keys: usize, cancel: &std::sync::atomic::AtomicBool) -> bool {
    if s.key_save_delay_us <= 0 {
        return !cancel.load(Ordering::Relaxed);
    }
    let total =
        std::time::Duration::from_micros((s.key_save_delay_us as u64).saturating_mul(keys as u64));
    let until = Instant::now() + total;
    while Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((until - Instant::now()).min(std::time::Duration::from_millis(10)));
    }
    !cancel.load(Ordering::Relaxed)
}

/// Starts a rewrite on a thread of its own (BGREWRITEAOF, the automatic rewrite). False when
/// one is already running.
pub fn start_background(server: &Arc<Server>) -> bool {
    let aof = &server.aof;
    if aof.stats.rewrite_in_progress.swap(true, Ordering::AcqRel) {
        return false;
    }
    let srv = server.clone();
    let spawned = std::thread::Builder::new()
        .name("aof-rewrite".into())
        .spawn(move || {
            let _ = rewrite_now(&srv, "");
        });
    if spawned.is_err() {
        aof.stats
            .rewrite_in_progress
            .store(false, Ordering::Relaxed);
        return false;
    }
    true
}

/// The automatic rewrite (`auto-aof-rewrite-percentage` / `-min-size`), checked by the cron.
pub fn check_auto(server: &Arc<Server>) {
    let aof = &server.aof;
    if aof.stats.rewrite_in_progress.load(Ordering::Relaxed)
        || server.persist.bgsave_in_progress.load(Ordering::Acquire)
    {
        // One background job at a time, as Redis runs one child.
        return;
    }
    if aof.stats.rewrite_scheduled.swap(false, Ordering::Relaxed) {
        start_background(server);
        return;
    }
    if !aof.is_on() {
        return;
    }
    let s = Settings::read(server);
    if s.auto_rewrite_percentage <= 0 {
        return;
    }
    let size = aof.stats.current_size.load(Ordering::Relaxed);
    let base = aof.stats.base_size.load(Ordering::Relaxed).max(1);
    if size < s.auto_rewrite_min_size {
        return;
    }
    let growth = (size as i64 * 100 / base as i64) - 100;
    if growth >= s.auto_rewrite_percentage {
        tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
        start_background(server);
    }
}
