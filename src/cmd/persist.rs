//! Persistence commands: DUMP and RESTORE (values in RDB serialization), SAVE and BGSAVE, and
//! the server-level save and load work they share with DEBUG RELOAD, SHUTDOWN, the save
//! points of the cron and start-up: where the file is, which options the config gives, the
//! log lines Redis prints, and the bookkeeping INFO reports (`server.persist`).
//!
//! SAVE runs with every shard held (the keyspace is frozen, as Redis blocks while saving).
//! BGSAVE walks a point-in-time image from `Store::snapshot` (`persistence::file::
//! write_snapshot_with`) on a thread of its own, never on the runtime, while clients go on
//! writing, and streams it to a save child (`persistence::child`) that writes, syncs and
//! renames the file, as Redis's forked child does: its pid, its `temp-<pid>.rdb`, a kill of
//! it failing the save. SAVE, SHUTDOWN's final save and DEBUG RELOAD save in-process, as
//! Redis does them without a child.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::command::table::{Arg, ArgType, BeginSearch, FindKeys, KeySpecDef, key_flags as kf};
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::config::notify;
use crate::persistence::child::{self, Job};
use crate::persistence::file::{self, LoadOpts, SaveOpts};
use crate::persistence::rdb::{self, Limits};
use crate::protocol::errors;
use crate::server::Server;
use crate::store::entry::Entry;
use crate::store::Keyspace;
use crate::util::{now_ms, parse_i64_strict};

// ---- configuration ----

/// Returns a yes/no directive's value.
fn flag(server: &Server, name: &[u8]) -> bool {
    server
        .config
        .read()
        .get_by_name(name)
        .is_some_and(|v| v == b"yes")
}

/// Returns a numeric directive's value.
fn number(server: &Server, name: &[u8]) -> i64 {
    server
        .config
        .read()
        .get_by_name(name)
        .and_then(|v| parse_i64_strict(&v))
        .unwrap_or(0)
}

/// Returns the path of the RDB file (`dbfilename`, relative to `dir`, the working directory).
pub fn rdb_path(server: &Server) -> PathBuf {
    let name = server
        .config
        .read()
        .get_by_name(b"dbfilename")
        .unwrap_or_default();
    PathBuf::from(String::from_utf8_lossy(&name).into_owned())
}

/// Returns the options a save runs with.
pub fn save_opts(server: &Server) -> SaveOpts {
    let policy = server.config.read().maxmemory_policy.to_ascii_lowercase();
    let decay = server.store.tunables.lfu_decay_time.load(Ordering::Relaxed);
    SaveOpts {
        compress: flag(server, b"rdbcompression"),
        checksum: flag(server, b"rdbchecksum"),
        lru: policy.ends_with("-lru"),
        lfu: policy.ends_with("-lfu").then_some(decay),
        key_delay_us: number(server, b"rdb-key-save-delay"),
        used_mem: crate::server::info::used_memory(),
        aof_base: false,
    }
}

/// True while an AOF rewrite runs (a background save then waits, as Redis runs one child at a
/// time).
pub fn aof_rewriting(server: &Server) -> bool {
    server.aof.stats.rewrite_in_progress.load(Ordering::Relaxed)
}

/// True when `save` has at least one save point.
pub fn has_save_points(server: &Server) -> bool {
    !server.config.read().save.trim().is_empty()
}

/// Returns the save points: (seconds, changes) pairs.
fn save_points(server: &Server) -> Vec<(i64, u64)> {
    let s = server.config.read().save.clone();
    let nums: Vec<&str> = s.split_whitespace().collect();
    nums.chunks_exact(2)
        .filter_map(|p| Some((p[0].parse().ok()?, p[1].parse().ok()?)))
        .collect()
}

// ---- saving ----

/// Records a successful save of the dataset as it was when `dirty_at_start` changes were
/// counted.
fn saved(server: &Server, dirty_at_start: u64) {
    let _ = server
        .stats
        .dirty
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
            Some(d.saturating_sub(dirty_at_start))
        });
    server.lastsave.store(now_ms() / 1000, Ordering::Relaxed);
    server.persist.saves.fetch_add(1, Ordering::Relaxed);
}

/// Saves every database to the RDB file, from a keyspace view that holds (or may lock, in
/// order) every shard. Logs as Redis's `rdbSave`. Returns false on failure.
pub fn save_keyspace(server: &Server, ks: &mut Keyspace) -> bool {
    let path = rdb_path(server);
    let dirty = server.stats.dirty.load(Ordering::Relaxed);
    let dbs = server.store.databases();
    let opts = save_opts(server);
    match file::write_file(&path, "", opts, |w| file::write_keyspace(ks, dbs, w)) {
        Ok(_) => {
            tracing::info!("DB saved on disk");
            saved(server, dirty);
            server.persist.last_bgsave_ok.store(true, Ordering::Relaxed);
            true
        }
        Err(e) => {
            let dir = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            tracing::warn!(
                "Failed saving the DB: {e} (temp file {} in server root dir {dir})",
                file::temp_path(&path, "").display()
            );
            false
        }
    }
}

/// Saves with every shard locked here (for callers without a keyspace view: SHUTDOWN and the
/// signal handler).
pub fn save_now(server: &Server) -> bool {
    let mut ks = server.store.lock_all(0, now_ms());
    save_keyspace(server, &mut ks)
}

/// Starts a background save: the walk runs on a thread of its own and the file is written by
/// a save child (`persistence::child`), or by that thread where no child can be started
/// (in-process tests). Returns false when one is running or the child cannot start.
pub fn start_bgsave(server: &Arc<Server>) -> bool {
    let p = &server.persist;
    if p.bgsave_in_progress.swap(true, Ordering::AcqRel) {
        return false;
    }
    p.bgsave_scheduled.store(false, Ordering::Relaxed);
    p.bgsave_cancel.store(false, Ordering::Relaxed);
    let started = now_ms();
    p.bgsave_started_ms.store(started, Ordering::Relaxed);
    p.last_bgsave_try_ms.store(started, Ordering::Relaxed);
    p.progress.reset();
    let dirty = server.stats.dirty.load(Ordering::Relaxed);
    let path = rdb_path(server);
    let opts = save_opts(server);
    let t = std::time::Instant::now();
    let writer = if child::enabled() {
        let oom = crate::config::process::bgchild_oom_score_adj(&server.config.read());
        match child::Writer::spawn(Job::Rdb, &path, oom) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("Can't save in background: fork: {e}");
                p.last_bgsave_ok.store(false, Ordering::Relaxed);
                p.bgsave_in_progress.store(false, Ordering::Release);
                return false;
            }
        }
    } else {
        None
    };
    p.latest_fork_usec
        .store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
    p.forks.fetch_add(1, Ordering::Relaxed);
    let pid = writer.as_ref().map_or(std::process::id(), |w| w.pid());
    tracing::info!("Background saving started by pid {pid}");
    let srv = server.clone();
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || {
            let exit = match writer {
                Some(w) => bgsave_to_child(&srv, &opts, w),
                None => bgsave_here(&srv, &path, opts),
            };
            bgsave_done(&srv, exit, dirty, started, pid);
        });
    if spawned.is_err() {
        tracing::warn!("Can't save in background: fork: Resource temporarily unavailable");
        p.last_bgsave_ok.store(false, Ordering::Relaxed);
        p.bgsave_in_progress.store(false, Ordering::Release);
        return false;
    }
    true
}

/// Streams the image to a save child and waits for it: the child's exit is the save's.
fn bgsave_to_child(server: &Server, opts: &SaveOpts, w: child::Writer) -> child::Exit {
    let p = &server.persist;
    let what = "Background saving";
    file::stream_to_child(&server.store, opts, &p.bgsave_cancel, &p.progress, || {}, w, what)
}

/// Writes the image from this thread (no save child available), as a child would.
fn bgsave_here(server: &Server, path: &std::path::Path, opts: SaveOpts) -> child::Exit {
    let walk_opts = opts.clone();
    let delay_us = opts.key_delay_us;
    let res = file::write_file(path, "bg-", opts, |w| {
        let ctl = file::Control {
            cancel: &server.persist.bgsave_cancel,
            delay_us,
            progress: Some(&server.persist.progress),
            gone: &|| false,
        };
        file::write_snapshot_with(&server.store, &walk_opts, &ctl, || {}, w)
    });
    match res {
        Ok(_) => {
            tracing::info!("DB saved on disk");
            child::Exit::Ok
        }
        // Stopped on purpose: what killing Redis's child with SIGUSR1 gives.
        Err(_) if server.persist.bgsave_cancel.load(Ordering::Relaxed) => {
            child::Exit::Signal(libc::SIGUSR1)
        }
        Err(e) => {
            tracing::warn!("Write error saving DB on disk: {e}");
            child::Exit::Error(1)
        }
    }
}

/// Records how a background save ended, as Redis's `backgroundSaveDoneHandlerDisk`.
fn bgsave_done(server: &Server, exit: child::Exit, dirty: u64, started: i64, pid: u32) {
    let p = &server.persist;
    p.last_bgsave_secs
        .store((now_ms() - started) / 1000, Ordering::Relaxed);
    match exit {
        child::Exit::Ok => {
            saved(server, dirty);
            p.last_bgsave_ok.store(true, Ordering::Relaxed);
            tracing::info!("Background saving terminated with success");
        }
        child::Exit::Error(_) => {
            tracing::warn!("Background saving error");
            p.last_bgsave_ok.store(false, Ordering::Relaxed);
        }
        child::Exit::Signal(sig) => {
            if !(sig == libc::SIGUSR1 && p.bgsave_killed_by_shutdown.swap(false, Ordering::Relaxed))
            {
                tracing::warn!("Background saving terminated by signal {sig}");
            }
            let _ = std::fs::remove_file(child::temp_name(Job::Rdb, pid));
            // SIGUSR1 is how the server stops its own child (SHUTDOWN, FLUSHALL): not a
            // failure, so the status stays and writes are not refused.
            if sig != libc::SIGUSR1 {
                p.last_bgsave_ok.store(false, Ordering::Relaxed);
            }
        }
    }
    p.rdb_last_cow
        .store(p.progress.cow.load(Ordering::Relaxed), Ordering::Relaxed);
    p.progress.reset();
    p.bgsave_in_progress.store(false, Ordering::Release);
}

/// Stops a running background save (its child killed with SIGUSR1, as Redis stops its own),
/// without waiting. Returns the child's pid, if one was running.
pub fn stop_bgsave(server: &Server) -> Option<u32> {
    let p = &server.persist;
    if !p.bgsave_in_progress.load(Ordering::Acquire) {
        return None;
    }
    // The signal first: a child that sees its stream end before the signal would exit with
    // an error, which would count as a failed save.
    let pid = child::kill(Job::Rdb, libc::SIGUSR1);
    p.bgsave_cancel.store(true, Ordering::Relaxed);
    pid
}

/// Stops a running background save and waits until it has ended.
pub fn kill_bgsave(server: &Server) -> Option<u32> {
    let pid = stop_bgsave(server);
    while server.persist.bgsave_in_progress.load(Ordering::Acquire) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    pid
}

/// The cron's part (called once a tick): starts a scheduled BGSAVE, or one a save point asks
/// for, as Redis's `serverCron` does.
pub fn cron(server: &Arc<Server>) {
    migrate_cache_cron(server);
    let p = &server.persist;
    if p.bgsave_in_progress.load(Ordering::Acquire) || aof_rewriting(server) {
        return;
    }
    if p.bgsave_scheduled.load(Ordering::Relaxed) {
        start_bgsave(server);
        return;
    }
    let dirty = server.stats.dirty.load(Ordering::Relaxed);
    if dirty == 0 {
        return;
    }
    let now = now_ms();
    let since_save = now / 1000 - server.lastsave.load(Ordering::Relaxed);
    // After a failure, retry no sooner than 5 seconds later (CONFIG_BGSAVE_RETRY_DELAY).
    let may_retry = p.last_bgsave_ok.load(Ordering::Relaxed)
        || now - p.last_bgsave_try_ms.load(Ordering::Relaxed) > 5000;
    for (secs, changes) in save_points(server) {
        if dirty >= changes && since_save > secs && may_retry {
            tracing::info!("{changes} changes in {secs} seconds. Saving...");
            start_bgsave(server);
            return;
        }
    }
}

/// Whether [`writes_refused`] may refuse: two relaxed loads, checked before every write
/// command, true only after a failed background save, or while the AOF is on and its last
/// write or fsync failed (`writes_ok` is kept true while the AOF is off).
#[inline(always)]
pub fn disk_failed(server: &Server) -> bool {
    !server.persist.last_bgsave_ok.load(Ordering::Relaxed)
        || !server.aof.stats.writes_ok.load(Ordering::Relaxed)
}

/// The MISCONF error writes (and PING) get while the disk fails us: the last background save
/// failed (`stop-writes-on-bgsave-error` with save points), or the AOF's last write or
/// `everysec` fsync did (Redis's writeCommandsDeniedByDiskError).
#[inline(never)]
pub fn writes_refused(server: &Server) -> Option<std::borrow::Cow<'static, str>> {
    if !server.persist.last_bgsave_ok.load(Ordering::Relaxed)
        && has_save_points(server)
        && flag(server, b"stop-writes-on-bgsave-error")
    {
        return Some(errors::MISCONF.into());
    }
    // The AOF's last write failed (a full disk): Redis refuses writes until a retry works.
    server.aof.write_error().map(Into::into)
}

/// Removes the temporary file a foreground save of this process writes (a second SIGINT
/// exits in the middle of one).
pub fn remove_temp_file(server: &Server) {
    let _ = std::fs::remove_file(file::temp_path(&rdb_path(server), ""));
}

/// The saving part of a shutdown: stops a background save and, when save points exist and
/// `nosave` is not given, or when `save` is, saves. Returns false when the save failed.
pub fn prepare_shutdown(server: &Server, save: bool, nosave: bool) -> bool {
    if server.persist.bgsave_in_progress.load(Ordering::Acquire) {
        tracing::warn!("There is a child saving an .rdb. Killing it!");
        server.persist.bgsave_killed_by_shutdown.store(true, Ordering::Relaxed);
        // Returns once the save has ended, its temporary file gone: a child killed by the
        // signal has its file removed by `bgsave_done`, one that failed removed its own, one
        // that finished renamed it; a save on a thread of ours removes its file on the error
        // the cancel gives (`file::write_file`).
        kill_bgsave(server);
        server.persist.bgsave_killed_by_shutdown.store(false, Ordering::Relaxed);
    }
    if (has_save_points(server) && !nosave) || save {
        tracing::warn!("Saving the final RDB snapshot before exiting.");
        if !save_now(server) {
            tracing::warn!("Error trying to save the DB, can't exit.");
            return false;
        }
    }
    true
}

/// FLUSHALL's persistence part: cancels a running background save (without waiting: this
/// command holds every shard, which the save's walk may need) and, when save points exist,
/// saves the now empty dataset, after which nothing is left to save (Redis 7.0 leaves the
/// change counter at 0).
pub fn after_flushall(ctx: &mut Ctx) {
    stop_bgsave(ctx.server);
    if has_save_points(ctx.server) && save_keyspace(ctx.server, &mut ctx.ks) {
        ctx.ks.dirty = 0;
    }
}

// ---- loading ----

/// Returns the options a load runs with now.
pub fn load_opts(server: &Server, merge: bool) -> LoadOpts {
    LoadOpts {
        lfu: server.store.tunables.lfu.load(Ordering::Relaxed),
        key_delay: number(server, b"key-load-delay"),
        checksum: flag(server, b"rdbchecksum"),
        merge,
        drop_expired: true,
        now: now_ms(),
        lim: Limits::of(&server.store),
    }
}

/// Reads the RDB file through a window (never whole: see [`file::Window`]) and loads it
/// through `insert`, keeping INFO's loading fields and logging as Redis does. `Ok(false)` when
/// there is no file; `Err` holds the lines to log.
fn load_file_with(
    server: &Server,
    merge: bool,
    startup: bool,
    target: file::Target<'_>,
) -> Result<bool, String> {
    let path = rdb_path(server);
    let mut window = match file::Window::open(&path) {
        Ok(Some(w)) => w,
        Ok(None) => return Ok(false),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let p = &server.persist;
    p.loading_start.store(now_ms() / 1000, Ordering::Relaxed);
    p.loading_total
        .store(window.source_len().unwrap_or(0), Ordering::Relaxed);
    p.loading_loaded.store(0, Ordering::Relaxed);
    // Only the start-up load turns clients away: DEBUG RELOAD holds every shard instead, so
    // other clients wait for it as they wait for Redis's.
    if startup {
        p.loading.store(true, Ordering::Release);
    }
    let progress = |n: usize| p.loading_loaded.store(n as u64, Ordering::Relaxed);
    let opts = load_opts(server, merge);
    let res = file::load_into_target(
        server.store.databases(),
        &mut window,
        &opts,
        target,
        &progress,
    );
    drop(window);
    if startup {
        p.loading.store(false, Ordering::Release);
    }
    match res {
        Ok(l) => {
            if l.empty > 0 {
                tracing::warn!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
                    l.keys,
                    l.expired,
                    l.empty
                );
            } else {
                tracing::info!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}.",
                    l.keys,
                    l.expired
                );
            }
            p.last_load_keys.store(l.keys, Ordering::Relaxed);
            p.last_load_expired.store(l.expired, Ordering::Relaxed);
            Ok(true)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Loads the RDB file into a keyspace view holding every shard (DEBUG RELOAD).
pub fn load_into(server: &Server, ks: &mut Keyspace, merge: bool) -> Result<bool, String> {
    // Both through the one view, which holds every shard.
    let ks = std::cell::RefCell::new(ks);
    let target = file::Target {
        insert: &mut |db, e| file::insert_loaded(&mut ks.borrow_mut(), merge, db, e),
        reserve: &mut |db, keys| ks.borrow_mut().reserve_in(db, keys),
    };
    load_file_with(server, merge, false, target)
}

/// Loads the RDB file at start-up, logging as Redis does. Clients may already be connected:
/// each key is filed under its own shard's lock, and `loading` makes dispatch answer LOADING
/// meanwhile. Returns false when the server must not start (a corrupt file). Blocking: run it
/// off the runtime.
pub fn load_at_startup(server: &Server) -> bool {
    let t = std::time::Instant::now();
    // Loaded values take the encodings the configured thresholds give them.
    crate::server::cron::sync_tunables(server);
    let store = &server.store;
    let target = file::Target {
        insert: &mut |db, e| {
            let mask = 1u32 << crate::store::shard_of_key(e.key());
            let mut ks = store.lock_mask(db, now_ms(), mask);
            file::insert_loaded(&mut ks, false, db, e)
        },
        reserve: &mut |db, keys| store.lock_all(db, now_ms()).reserve_in(db, keys),
    };
    let res = load_file_with(server, false, true, target);
    server.persist.loading.store(false, Ordering::Release);
    match res {
        Ok(true) => {
            tracing::info!(
                "DB loaded from disk: {:.3} seconds",
                t.elapsed().as_secs_f64()
            );
            true
        }
        Ok(false) => true,
        Err(msg) => {
            for line in msg.lines() {
                tracing::warn!("{line}");
            }
            if msg.contains("Internal error in RDB") {
                // What Redis's built-in redis-check-rdb pass reports before exiting.
                tracing::warn!("--- RDB ERROR DETECTED ---");
                if let Some(last) = msg.lines().last() {
                    tracing::warn!("[offset 0] {last}");
                }
                tracing::warn!("Terminating server after rdb file reading failure.");
            } else if !msg.starts_with("Fatal error") {
                tracing::warn!("Fatal error loading the DB: Invalid argument. Exiting.");
            }
            false
        }
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves (unless NOSAVE), empties the keyspace (unless
/// NOFLUSH), and loads the file back (MERGE replaces keys that exist instead of failing).
pub fn debug_reload(ctx: &mut Ctx, merge: bool, noflush: bool, nosave: bool) {
    if !nosave && !save_keyspace(ctx.server, &mut ctx.ks) {
        return ctx.out.error(errors::ERR);
    }
    // Neither emptying nor loading is a change to save: the file holds the dataset.
    let dirty = ctx.ks.dirty;
    if !noflush {
        for db in 0..ctx.server.store.databases() {
            drop(ctx.ks.flush_db(db));
        }
    }
    match load_into(ctx.server, &mut ctx.ks, merge) {
        Ok(false) => {
            ctx.ks.dirty = dirty;
            tracing::warn!("Failed loading the RDB file: it does not exist");
            ctx.out.error(errors::DEBUG_RELOAD_FAILED);
        }
        Ok(true) => {
            ctx.ks.dirty = dirty;
            tracing::info!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok();
        }
        Err(msg) => {
            for line in msg.lines() {
                tracing::warn!("{line}");
            }
            ctx.out.error(errors::DEBUG_RELOAD_FAILED);
        }
    }
}

// ---- commands ----

/// SAVE
fn save(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx
        .server
        .persist
        .bgsave_in_progress
        .load(Ordering::Acquire)
    {
        return ctx.out.error(errors::BGSAVE_IN_PROGRESS);
    }
    if save_keyspace(ctx.server, &mut ctx.ks) {
        ctx.out.ok()
    } else {
        ctx.out.error(errors::ERR)
    }
}

/// BGSAVE [SCHEDULE]
fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) {
    let schedule = match argv.get(1) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"schedule") && argv.len() == 2 => true,
        Some(_) => return ctx.syntax_error(),
    };
    let p = &ctx.server.persist;
    if p.bgsave_in_progress.load(Ordering::Acquire) {
        if schedule {
            p.bgsave_scheduled.store(true, Ordering::Relaxed);
            return ctx.out.simple(b"Background saving scheduled");
        }
        return ctx.out.error(errors::BGSAVE_IN_PROGRESS);
    }
    if aof_rewriting(ctx.server) {
        // One background job at a time, as Redis runs one child: the cron starts it later.
        if schedule {
            p.bgsave_scheduled.store(true, Ordering::Relaxed);
            return ctx.out.simple(b"Background saving scheduled");
        }
        return ctx.out.error(errors::BGSAVE_OTHER_CHILD);
    }
    match ctx.server.listeners.server() {
        Some(srv) => {
            if start_bgsave(&srv) {
                ctx.out.simple(b"Background saving started");
            } else if p.bgsave_in_progress.load(Ordering::Acquire) {
                ctx.out.error(errors::BGSAVE_IN_PROGRESS);
            } else {
                // The save child could not start (logged): Redis's plain error for a failed
                // fork.
                ctx.out.error(errors::ERR);
            }
        }
        // Not serving (in-process tests): save in the foreground.
        None => {
            if save_keyspace(ctx.server, &mut ctx.ks) {
                ctx.out.simple(b"Background saving started");
            } else {
                ctx.out.error(errors::ERR);
            }
        }
    }
}

/// DUMP key
fn dump(ctx: &mut Ctx, argv: &[&[u8]]) {
    let compress = flag(ctx.server, b"rdbcompression");
    match ctx.ks.get(argv[1]) {
        None => ctx.out.null(),
        Some(v) => {
            let p = rdb::dump_payload(v, compress);
            ctx.out.bulk(&p);
        }
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let a = argv[j];
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if a.eq_ignore_ascii_case(b"absttl") {
            absttl = true;
        } else if a.eq_ignore_ascii_case(b"idletime") && more && freq.is_none() {
            let Some(n) = parse_i64_strict(argv[j + 1]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            if n < 0 {
                return ctx.out.error(errors::RESTORE_IDLETIME);
            }
            idle = Some(n);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"freq") && more && idle.is_none() {
            let Some(n) = parse_i64_strict(argv[j + 1]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            if !(0..=255).contains(&n) {
                return ctx.out.error(errors::RESTORE_FREQ);
            }
            freq = Some(n);
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let key = argv[1];
    if !replace && ctx.ks.get_mut(key).is_some() {
        return ctx.out.error(errors::BUSYKEY);
    }
    let Some(mut ttl) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if ttl < 0 {
        return ctx.out.error(errors::RESTORE_TTL);
    }
    let skip = crate::cmd::debug::skip_checksum_validation();
    let Some(body) = rdb::verify_payload(argv[3], skip) else {
        return ctx.out.error(errors::DUMP_PAYLOAD);
    };
    let value = match rdb::read_payload(body, &Limits::of(&ctx.server.store)) {
        Ok(v) => v,
        Err(e) => {
            // Redis logs a RESTORE's corrupt payload at verbose level and carries on.
            let why = match e {
                rdb::LoadError::Corrupt(s) => s,
                rdb::LoadError::Empty => "Empty keys are not allowed.",
            };
            tracing::debug!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {why}");
            return ctx.out.error(errors::BAD_DATA_FORMAT);
        }
    };
    let deleted = replace && ctx.ks.remove(key).is_some();
    if ttl > 0 && !absttl {
        ttl = ttl.saturating_add(ctx.ks.now);
    }
    if ttl > 0 && ttl < ctx.ks.now {
        // Already expired: the key is not created (and an old one stays deleted, which is
        // what is propagated).
        if deleted {
            ctx.ks.dirty += 1;
            ctx.notify(notify::GENERIC, "del", key);
            ctx.propagate_as(&[b"DEL", key]);
        }
        return ctx.out.ok();
    }
    let db = ctx.ks.db;
    let tun = &ctx.server.store.tunables;
    let lfu = tun.lfu.load(Ordering::Relaxed);
    let lru = ctx
        .server
        .config
        .read()
        .maxmemory_policy
        .to_ascii_lowercase()
        .ends_with("-lru");
    let clock = match (freq, idle) {
        (Some(f), _) if lfu => crate::store::lfu_clock(f as u32),
        (_, Some(i)) if lru => file::idle_clock(i as u64),
        _ => tun.fresh_clock(),
    };
    let expire = if ttl > 0 { Some(ttl) } else { None };
    ctx.ks
        .put_entry_in(db, Entry::new(key, value, expire, clock));
    ctx.ks.dirty += 1;
    if ttl > 0 && !absttl && ctx.propagating() {
        // A relative TTL is propagated as the absolute time it gave, as Redis rewrites it.
        let mut tmp = itoa::Buffer::new();
        let mut rewritten: Vec<&[u8]> = argv.to_vec();
        rewritten[2] = tmp.format(ttl).as_bytes();
        rewritten.push(b"ABSTTL");
        ctx.propagate_as(&rewritten);
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.out.ok();
}

// ---- MIGRATE ----

/// Idle cached MIGRATE connections are closed after this long (`MIGRATE_SOCKET_CACHE_TTL`).
const MIGRATE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// At most this many connections are cached (`MIGRATE_SOCKET_CACHE_ITEMS`).
const MIGRATE_CACHE_ITEMS: usize = 64;

/// Closes MIGRATE connections idle for longer than the cache's time to live (cron).
pub fn migrate_cache_cron(server: &Server) {
    let mut cache = server.persist.migrate.lock();
    cache.retain(|_, c| c.last_use.elapsed() <= MIGRATE_CACHE_TTL);
}

/// Appends a command in RESP.
fn resp_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one reply line (these commands answer with a status or an error line).
fn read_line(s: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        if s.read(&mut b)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if b[0] == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
        line.push(b[0]);
        if line.len() > 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key [key ...]]
fn migrate(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut copy, mut replace) = (false, false);
    let (mut user, mut pass): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let (mut first, mut nkeys) = (3usize, 1usize);
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = argv[j];
        if a.eq_ignore_ascii_case(b"copy") {
            copy = true;
        } else if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if a.eq_ignore_ascii_case(b"auth") {
            if more < 1 {
                return ctx.syntax_error();
            }
            j += 1;
            pass = Some(argv[j]);
        } else if a.eq_ignore_ascii_case(b"auth2") {
            if more < 2 {
                return ctx.syntax_error();
            }
            user = Some(argv[j + 1]);
            pass = Some(argv[j + 2]);
            j += 2;
        } else if a.eq_ignore_ascii_case(b"keys") {
            if !argv[3].is_empty() {
                return ctx.out.error(errors::MIGRATE_KEYS_EMPTY);
            }
            first = j + 1;
            nkeys = argv.len() - j - 1;
            break;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let (Some(timeout), Some(dbid)) = (parse_i64_strict(argv[5]), parse_i64_strict(argv[4])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let timeout = if timeout <= 0 { 1000 } else { timeout };
    let timeout = std::time::Duration::from_millis(timeout as u64);
    // Serialize the keys that exist (RESTORE commands with their remaining TTL).
    let compress = flag(ctx.server, b"rdbcompression");
    let now = ctx.ks.now;
    let mut keys: Vec<&[u8]> = Vec::new();
    let mut cmds = Vec::new();
    for k in &argv[first..first + nkeys] {
        let Some(v) = ctx.ks.get(k) else { continue };
        let payload = rdb::dump_payload(v, compress);
        let ttl = match ctx.ks.expire_of(k).flatten() {
            Some(t) => (t - now).max(1),
            None => 0,
        };
        let ttl = itoa::Buffer::new().format(ttl).as_bytes().to_vec();
        let mut args: Vec<&[u8]> = vec![b"RESTORE", k, &ttl, &payload];
        if replace {
            args.push(b"REPLACE");
        }
        resp_command(&mut cmds, &args);
        keys.push(k);
    }
    if keys.is_empty() {
        return ctx.out.simple(b"NOKEY");
    }
    let name = format!(
        "{}:{}",
        String::from_utf8_lossy(argv[1]),
        String::from_utf8_lossy(argv[2])
    );
    let mut may_retry = true;
    // The keys moved away (the target acknowledged them), propagated as one DEL.
    let mut moved: Vec<&[u8]> = vec![b"DEL"];
    loop {
        // Connect, or take the cached connection.
        let mut conn = match ctx.server.persist.migrate.lock().remove(&name) {
            Some(c) => c,
            None => {
                use std::net::ToSocketAddrs;
                let addr = name.to_socket_addrs().ok().and_then(|mut a| a.next());
                let stream =
                    addr.and_then(|a| std::net::TcpStream::connect_timeout(&a, timeout).ok());
                let Some(stream) = stream else {
                    return ctx.out.error(errors::MIGRATE_CONNECT);
                };
                let _ = stream.set_nodelay(true);
                crate::persistence::MigrateConn {
                    stream,
                    last_db: -1,
                    last_use: std::time::Instant::now(),
                }
            }
        };
        let _ = conn.stream.set_read_timeout(Some(timeout));
        let _ = conn.stream.set_write_timeout(Some(timeout));
        let mut out = Vec::new();
        if let Some(p) = pass {
            match user {
                Some(u) => resp_command(&mut out, &[b"AUTH", u, p]),
                None => resp_command(&mut out, &[b"AUTH", p]),
            }
        }
        let select = conn.last_db != dbid;
        if select {
            resp_command(&mut out, &[b"SELECT", argv[4]]);
        }
        out.extend_from_slice(&cmds);
        use std::io::Write;
        if let Err(e) = conn.stream.write_all(&out) {
            // The connection is dropped; retry once on a fresh one unless it timed out.
            if may_retry && !timed_out(&e) {
                may_retry = false;
                continue;
            }
            return ctx.out.error(errors::MIGRATE_WRITING);
        }
        let mut target_err: Option<Vec<u8>> = None;
        let mut io_err: Option<std::io::Error> = None;
        let mut got = 0;
        let mut pre = Vec::new();
        for _ in 0..(pass.is_some() as usize + select as usize) {
            match read_line(&mut conn.stream) {
                Ok(l) => pre.push(l),
                Err(e) => {
                    io_err = Some(e);
                    break;
                }
            }
        }
        if io_err.is_none() {
            for k in &keys {
                let line = match read_line(&mut conn.stream) {
                    Ok(l) => l,
                    Err(e) => {
                        io_err = Some(e);
                        break;
                    }
                };
                got += 1;
                let failed = pre.iter().find(|l| l.first() == Some(&b'-')).or(
                    if line.first() == Some(&b'-') {
                        Some(&line)
                    } else {
                        None
                    },
                );
                if let Some(l) = failed {
                    if target_err.is_none() {
                        target_err = Some(l[1..].to_vec());
                    }
                } else if !copy {
                    ctx.ks.remove(k);
                    ctx.ks.dirty += 1;
                    ctx.notify(notify::GENERIC, "del", k);
                    moved.push(k);
                }
            }
        }
        if moved.len() > 1 {
            // MIGRATE is propagated as the DEL of the keys it moved (nothing with COPY).
            ctx.propagate_as(&moved);
        }
        if let Some(e) = io_err {
            // The connection is not cached again. Retry when nothing was read yet.
            if target_err.is_none() && got == 0 && may_retry && !timed_out(&e) {
                may_retry = false;
                continue;
            }
            if target_err.is_none() {
                return ctx.out.error(errors::MIGRATE_READING);
            }
        } else {
            conn.last_use = std::time::Instant::now();
            conn.last_db = if target_err.is_some() { -1 } else { dbid };
            let mut cache = ctx.server.persist.migrate.lock();
            if cache.len() >= MIGRATE_CACHE_ITEMS
                && let Some(k) = cache.keys().next().cloned()
            {
                cache.remove(&k);
            }
            cache.insert(name.clone(), conn);
        }
        return match target_err {
            Some(e) => ctx.out.error(&format!(
                "ERR Target instance replied with error: {}",
                String::from_utf8_lossy(&e)
            )),
            None => ctx.out.ok(),
        };
    }
}

// ---- the table ----

const KEY1: KeySpec = KeySpec::Range {
    first: 1,
    last: 1,
    step: 1,
};
const KEY3: KeySpec = KeySpec::Range {
    first: 3,
    last: 3,
    step: 1,
};

pub const COMMANDS: &[Command] = &[
    Command {
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        summary: "Return a serialized version of the value stored at the specified key.",
        complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is \
             the number of Redis objects composing the value and M their average size. For \
             small string values the time complexity is thus O(1)+O(1*M) where M is small, so \
             simply O(1).",
        acl: &["keyspace"],
        tips: &["nondeterministic_output"],
        args: &[Arg::key("key", 0)],
        ..Command::new("dump", 2, READONLY, dump)
    },
    Command {
        keys: KEY1,
        group: "generic",
        since: "2.6.0",
        summary: "Create a key using the provided serialized value, previously obtained using \
             DUMP.",
        complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the \
             serialized value, where N is the number of Redis objects composing the value and M \
             their average size. For small string values the time complexity is thus \
             O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the \
             complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
        acl: &["keyspace", "dangerous"],
        args: &[
            Arg::key("key", 0),
            Arg::new("ttl", ArgType::Integer),
            Arg::new("serialized-value", ArgType::String),
            Arg::pure("replace", "REPLACE").since("3.0.0").optional(),
            Arg::pure("absttl", "ABSTTL").since("5.0.0").optional(),
            Arg::new("seconds", ArgType::Integer)
                .token("IDLETIME")
                .since("5.0.0")
                .optional(),
            Arg::new("frequency", ArgType::Integer)
                .token("FREQ")
                .since("5.0.0")
                .optional(),
        ],
        history: &[
            ("3.0.0", "Added the `REPLACE` modifier."),
            ("5.0.0", "Added the `ABSTTL` modifier."),
            ("5.0.0", "Added the `IDLETIME` and `FREQ` options."),
        ],
        key_specs: &[KeySpecDef::index(1, kf::OW | kf::UPDATE)],
        ..Command::new("restore", -4, WRITE | DENYOOM, restore)
    },
    Command {
        group: "generic",
        since: "2.6.0",
        summary: "Atomically transfer a key from a Redis instance to another one.",
        complexity: "This command actually executes a DUMP+DEL in the source instance, and a \
             RESTORE in the target instance. See the pages of these commands for time complexity. \
             Also an O(N) data transfer between the two instances is performed.",
        acl: &["keyspace", "write", "slow", "dangerous"],
        tips: &["nondeterministic_output"],
        // The keys come at 3 or after KEYS: the command holds every shard (it blocks like
        // Redis's, for at most its timeout).
        keys: KEY3,
        history: &[
            ("3.0.0", "Added the `COPY` and `REPLACE` options."),
            ("3.0.6", "Added the `KEYS` option."),
            ("4.0.7", "Added the `AUTH` option."),
            ("6.0.0", "Added the `AUTH2` option."),
        ],
        args: &[
            Arg::new("host", ArgType::String),
            Arg::new("port", ArgType::Integer),
            Arg::one_of(
                "key_or_empty_string",
                &[Arg::key("key", 0), Arg::pure("empty_string", "")],
            ),
            Arg::new("destination-db", ArgType::Integer),
            Arg::new("timeout", ArgType::Integer),
            Arg::pure("copy", "COPY").since("3.0.0").optional(),
            Arg::pure("replace", "REPLACE").since("3.0.0").optional(),
            Arg::one_of(
                "authentication",
                &[
                    Arg::new("password", ArgType::String)
                        .token("AUTH")
                        .since("4.0.7")
                        .optional(),
                    Arg::block(
                        "username_password",
                        &[
                            Arg::new("username", ArgType::String),
                            Arg::new("password", ArgType::String),
                        ],
                    )
                    .token("AUTH2")
                    .since("6.0.0")
                    .optional(),
                ],
            )
            .optional(),
            Arg::key("key", 1)
                .token("KEYS")
                .since("3.0.6")
                .optional()
                .multiple(),
        ],
        key_specs: &[
            KeySpecDef::index(3, kf::RW | kf::ACCESS | kf::DELETE),
            KeySpecDef {
                flags: kf::RW | kf::ACCESS | kf::DELETE | kf::INCOMPLETE,
                begin: BeginSearch::Keyword {
                    keyword: "KEYS",
                    startfrom: -2,
                },
                find: FindKeys::Range {
                    lastkey: -1,
                    keystep: 1,
                    limit: 0,
                },
                notes: "",
            },
        ],
        ..Command::new("migrate", -6, WRITE | ALL_SHARDS | MOVABLE_KEYS, migrate)
    },
    Command {
        group: "server",
        summary: "Synchronously save the dataset to disk",
        complexity: "O(N) where N is the total number of keys in all databases",
        acl: &["admin", "dangerous"],
        ..Command::new(
            "save",
            1,
            ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI | ALL_SHARDS,
            save,
        )
    },
    Command {
        group: "server",
        summary: "Asynchronously save the dataset to disk",
        complexity: "O(1)",
        acl: &["admin", "dangerous"],
        history: &[("3.2.2", "Added the `SCHEDULE` option.")],
        args: &[Arg::pure("schedule", "SCHEDULE").since("3.2.2").optional()],
        ..Command::new("bgsave", -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, bgsave)
    },
];

#[cfg(test)]
mod tests {
    use crate::command::testing::Harness;
    use crate::protocol::reply::Value as R;

    fn bulk(v: R) -> Vec<u8> {
        match v {
            R::Bulk(b) => b,
            other => panic!("not a bulk: {other:?}"),
        }
    }

    #[test]
    fn dump_restore_round_trips_every_type() {
        let mut h = Harness::new();
        h.run(&["SET", "s", "hello"]);
        h.run(&["RPUSH", "l", "a", "b", "1"]);
        h.run(&["HSET", "h", "f", "v"]);
        h.run(&["SADD", "st", "1", "2"]);
        h.run(&["ZADD", "z", "1.5", "m"]);
        for k in ["s", "l", "h", "st", "z"] {
            let digest = h.run(&["DEBUG", "DIGEST-VALUE", k]);
            let raw = bulk(h.run(&["DUMP", k]));
            h.run(&["DEL", k]);
            assert_eq!(
                h.run_bytes(&[b"RESTORE", k.as_bytes(), b"0", &raw]),
                R::Simple("OK".into())
            );
            assert_eq!(h.run(&["DEBUG", "DIGEST-VALUE", k]), digest, "{k}");
            assert_eq!(
                h.run_bytes(&[b"RESTORE", k.as_bytes(), b"0", &raw]),
                R::Error("BUSYKEY Target key name already exists.".into())
            );
        }
        assert_eq!(h.run(&["DUMP", "nosuch"]), R::Null);
    }

    #[test]
    fn restore_errors_match_redis() {
        let mut h = Harness::new();
        h.run(&["SET", "s", "x"]);
        let raw = bulk(h.run(&["DUMP", "s"]));
        let err = |s: &str| R::Error(s.into());
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"-1", &raw]),
            err("ERR Invalid TTL value, must be >= 0")
        );
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"x", &raw]),
            err(crate::protocol::errors::NOT_INTEGER)
        );
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"0", b"garbage-payload"]),
            err("ERR DUMP payload version or checksum are wrong")
        );
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"0", &raw, b"bogus"]),
            err("ERR syntax error")
        );
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"0", &raw, b"FREQ", b"300"]),
            err("ERR Invalid FREQ value, must be >= 0 and <= 255")
        );
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"0", &raw, b"IDLETIME", b"-1"]),
            err("ERR Invalid IDLETIME value, must be >= 0")
        );
        // A payload whose checksum is right but whose body is not a value.
        let mut bad = vec![0u8, 0xC3, 5, 200];
        bad.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::persistence::rdb::CRC64.checksum(&bad);
        bad.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"0", &bad]),
            err("ERR Bad data format")
        );
        // An expired absolute TTL creates nothing.
        assert_eq!(
            h.run_bytes(&[b"RESTORE", b"k", b"1", &raw, b"ABSTTL"]),
            R::Simple("OK".into())
        );
        assert_eq!(h.run(&["EXISTS", "k"]), R::Int(0));
        // A relative TTL is kept.
        h.run_bytes(&[b"RESTORE", b"k", b"100000", &raw]);
        assert!(matches!(h.run(&["PTTL", "k"]), R::Int(n) if n > 90000 && n <= 100000));
    }
}

#[cfg(test)]
mod snapshot_save_tests {
    use super::*;
    use crate::command::testing::Harness;
    use std::collections::HashMap;

    /// Runs a background-style save (no delay) of `server` into `w`.
    fn save_into(
        server: &Server,
        opts: &SaveOpts,
        w: &mut file::RdbWriter<impl std::io::Write>,
    ) -> std::io::Result<()> {
        let cancel = &server.persist.bgsave_cancel;
        file::write_snapshot(&server.store, opts, cancel, 0, || {}, w)
    }

    /// Loads an RDB image into (db, key) -> value-length pairs.
    fn load_image(server: &Server, data: &[u8]) -> HashMap<(usize, Vec<u8>), usize> {
        let mut got = HashMap::new();
        let opts = load_opts(server, false);
        file::load(
            16,
            &mut file::Window::new(data),
            &opts,
            &mut |db, e| {
                let len = e.value().str_len().unwrap_or(usize::MAX);
                got.insert((db, e.key().to_vec()), len);
                Ok(())
            },
            &|_| {},
        )
        .expect("image loads");
        got
    }

    #[test]
    fn background_walk_writes_every_key_of_every_db() {
        let mut h = Harness::new();
        // Enough data for several of the sink's buffers, in three databases.
        h.run(&["DEBUG", "POPULATE", "6000", "k", "40"]);
        h.run(&["SELECT", "2"]);
        h.run(&["DEBUG", "POPULATE", "3000", "two", "10"]);
        h.run(&["RPUSH", "list", "a", "b"]);
        h.run(&["SELECT", "15"]);
        h.run(&["SET", "last", "x"]);
        let server = h.server.clone();
        let opts = save_opts(&server);
        let mut w = file::RdbWriter::new(Vec::new(), opts.clone()).unwrap();
        save_into(&server, &opts, &mut w).expect("save");
        assert_eq!(w.keys, 9002);
        let data = w.finish().unwrap();
        let got = load_image(&server, &data);
        assert_eq!(got.len(), 9002);
        assert_eq!(got[&(0, b"k:5999".to_vec())], 40);
        assert_eq!(got[&(2, b"two:0".to_vec())], 10);
        assert_eq!(got[&(2, b"list".to_vec())], usize::MAX);
        assert_eq!(got[&(15, b"last".to_vec())], 1);
        // The snapshot has ended: another one can run.
        let mut w = file::RdbWriter::new(Vec::new(), opts.clone()).unwrap();
        save_into(&server, &opts, &mut w).expect("second save");
        assert_eq!(w.keys, 9002);
    }

    /// A writer that fails once it has taken `left` bytes.
    struct Failing {
        left: usize,
    }

    impl std::io::Write for Failing {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if b.len() > self.left {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_error_stops_the_walk_and_frees_the_snapshot() {
        let mut h = Harness::new();
        h.run(&["DEBUG", "POPULATE", "20000", "k", "50"]);
        let server = h.server.clone();
        let opts = save_opts(&server);
        let mut w = file::RdbWriter::new(Failing { left: 200_000 }, opts.clone()).unwrap();
        let err = save_into(&server, &opts, &mut w).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(!server.store.snapshot_progress().running);
        let mut w = file::RdbWriter::new(Vec::new(), opts.clone()).unwrap();
        save_into(&server, &opts, &mut w).expect("a later save works");
        assert_eq!(w.keys, 20000);
    }
}

#[cfg(test)]
mod restore_effects_tests {
    use crate::command::testing::Harness;
    use crate::protocol::reply::Value as R;

    use crate::persistence::aof::tests::{fed, start_capture};
    use crate::server::notify::tests::events;

    #[test]
    fn restore_notifies_and_propagates_an_absolute_ttl() {
        let mut h = Harness::new();
        h.run(&["CONFIG", "SET", "notify-keyspace-events", "EAn"]);
        h.run(&["SET", "src", "v"]);
        let R::Bulk(payload) = h.run(&["DUMP", "src"]) else {
            panic!("no payload")
        };
        let mut sub = h.another();
        sub.run(&["PSUBSCRIBE", "__keyevent*__:*"]);
        start_capture(&h);
        let before = crate::util::now_ms();
        h.run_bytes(&[b"RESTORE", b"k", b"100000", &payload]);
        let after = crate::util::now_ms();
        let cmds = fed(&h);
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert_eq!(cmds[0], "SELECT 0");
        let parts: Vec<&str> = cmds[1].split(' ').collect();
        assert_eq!(
            (parts[0], parts[1], parts[parts.len() - 1]),
            ("RESTORE", "k", "ABSTTL")
        );
        let at: i64 = parts[2].parse().unwrap();
        assert!((before + 100000..=after + 100000).contains(&at), "{at}");
        assert_eq!(events(&sub), ["new k", "restore k"]);
        // Already expired with REPLACE: the old key is deleted, as a DEL.
        h.run_bytes(&[b"RESTORE", b"k", b"1", &payload, b"REPLACE", b"ABSTTL"]);
        assert_eq!(fed(&h), ["DEL k"]);
        assert_eq!(events(&sub), ["del k"]);
        assert_eq!(h.run(&["EXISTS", "k"]), R::Int(0));
        // Loading (DEBUG RELOAD, start-up) files keys without `new` events.
        {
            let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
            let e = crate::store::entry::Entry::new(
                b"a",
                crate::store::value::Value::string(b"1"),
                None,
                0,
            );
            crate::persistence::file::insert_loaded(&mut ks, false, 0, e).unwrap();
            assert!(ks.events.is_empty());
        }
        assert_eq!(h.run(&["GET", "a"]), R::Bulk(b"1".to_vec()));
    }
}
