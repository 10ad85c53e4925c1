//! AOF rewrites: BGREWRITEAOF, the automatic rewrite, and turning the AOF on.
//!
//! With `aof-use-rdb-preamble yes` (the default) the new base is an RDB file written from a
//! `Store::snapshot` whose instant is the switch to the new incremental file (taken with every
//! shard held), so base + new incremental file are exactly the dataset, without stopping the
//! world for the walk. With `no`, the base is the commands that rebuild each key, from the
//! same kind of snapshot.
//!
//! Either way the base goes through a save child (`persistence::child`): started before
//! BGREWRITEAOF answers, it writes `temp-rewriteaof-bg-<pid>.aof`; once it exited 0 the
//! server renames that file into the AOF directory and switches the manifest, as Redis's
//! parent does (`install_base`). A rewrite started by `CONFIG SET appendonly yes`
//! accumulates into `temp-<appendfilename>.incr`, which joins the manifest only when the
//! rewrite succeeds; a failed one is removed and the rewrite scheduled again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use std::io::Write;

use super::{Settings, encode_command, files_size, open_append, persist_manifest, strerror};
use crate::persistence::child::{self, Job};
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

/// Returns the name of the incremental file a rewrite started by `CONFIG SET appendonly yes`
/// accumulates into until it succeeds (Redis's `temp-<appendfilename>.incr`): it joins the
/// manifest only then.
fn temp_incr_name(s: &Settings) -> String {
    format!("temp-{}.incr", s.filename)
}

/// Where the new base is written before it is renamed into the AOF directory: the save
/// child's temporary file, or the one this process writes when it has no child.
enum Dest {
    Child(child::Writer),
    Here(std::path::PathBuf),
}

impl Dest {
    /// The temporary file (in the working directory).
    fn temp(&self) -> std::path::PathBuf {
        match self {
            Dest::Child(w) => w.temp_path(),
            Dest::Here(p) => p.clone(),
        }
    }
}

/// Starts the process that writes a rewrite's base (before the reply, so the child exists
/// for whoever looks for it once BGREWRITEAOF answered, as Redis's forked one does).
fn start_dest(server: &Server) -> std::io::Result<Dest> {
    if child::enabled() {
        let oom = crate::config::process::bgchild_oom_score_adj(&server.config.read());
        child::Writer::spawn(Job::Aof, std::path::Path::new(""), oom).map(Dest::Child)
    } else {
        Ok(Dest::Here(child::temp_name(Job::Aof, std::process::id())))
    }
}

/// Records a rewrite whose writer could not start (Redis's failed fork): logged, counted as a
/// failed rewrite, no longer in progress.
fn child_failed_to_start(server: &Server, e: &std::io::Error) {
    tracing::warn!("Can't rewrite append only file in background: fork: {e}");
    let stats = &server.aof.stats;
    stats.last_bgrewrite_ok.store(false, Ordering::Relaxed);
    stats.rewrite_in_progress.store(false, Ordering::Relaxed);
}

/// Rewrites the AOF now, on the calling thread: a new base from the dataset and a new
/// incremental file from the same instant, the manifest switched atomically, the old files
/// removed. Also turns the AOF on when `appendonly` is set and it is off. `why` names the
/// occasion for the log ("on server start", or empty).
pub fn rewrite_now(server: &Server, why: &str) -> Result<(), String> {
    server.aof.stats.rewrite_in_progress.store(true, Ordering::Relaxed);
    let start = begin(server).map_err(|e| e.to_string())?;
    rewrite_with(server, why, start)
}

/// What [`begin`] prepared: the base's writer, the settings a forked child would have, the
/// incremental file to switch to at the instant, and whether the rewrite turns the AOF on.
struct Start {
    dest: Dest,
    s: Settings,
    incr: Option<std::fs::File>,
    waiting: bool,
}

/// The start of every rewrite, once it is marked in progress, in Redis's order: the AOF
/// directory and the new incremental file (in the manifest) first, so a full disk fails
/// BGREWRITEAOF itself, as Redis opens that file before it forks; then the writer (or the
/// failure recorded), and what a forked child would have at its fork taken now, before any
/// client sees the rewrite running (INFO's aof_rewrite_in_progress, total_forks): its
/// settings, and the count. No longer scheduled, as Redis clears that once its child forked.
fn begin(server: &Server) -> std::io::Result<Start> {
    let aof = &server.aof;
    aof.stats
        .rewrite_started_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    let s = Settings::read(server);
    // Started by `appendonly yes`: the AOF is not on until this rewrite succeeds (Redis's
    // AOF_WAIT_REWRITE), so what is written meanwhile goes to a temporary incremental file.
    let waiting = aof.stats.wait_rewrite.load(Ordering::Relaxed) && !aof.is_on();
    let incr = open_incr(&s, &mut aof.manifest.lock(), aof.is_on(), waiting).map_err(|e| {
        aof.stats.last_bgrewrite_ok.store(false, Ordering::Relaxed);
        aof.stats.rewrite_in_progress.store(false, Ordering::Relaxed);
        std::io::Error::other(e)
    })?;
    let dest = start_dest(server).inspect_err(|e| child_failed_to_start(server, e))?;
    aof.stats.rewrite_scheduled.store(false, Ordering::Relaxed);
    aof.stats.forks.fetch_add(1, Ordering::Relaxed);
    Ok(Start { dest, s, incr, waiting })
}

/// A rewrite as [`begin`] started it (its writer, the settings read then, counted in
/// `total_forks`); see [`rewrite_now`].
fn rewrite_with(server: &Server, why: &str, start: Start) -> Result<(), String> {
    let Start { dest, s, incr, waiting } = start;
    let aof = &server.aof;
    let mut m = aof.manifest.lock();
    let started = Instant::now();
    server.persist.progress.reset();
    let pid = match &dest {
        Dest::Child(w) => w.pid(),
        Dest::Here(_) => std::process::id(),
    };
    if why.is_empty() {
        tracing::info!("Background append only file rewriting started by pid {pid}");
    }
    let temp = dest.temp();
    let exit = if aof.cancel_rewrite.load(Ordering::Relaxed) {
        drop(dest);
        child::Exit::Signal(libc::SIGUSR1)
    } else {
        write_base(server, &s, incr, dest)
    };
    let cancelled = aof.cancel_rewrite.swap(false, Ordering::Relaxed);
    // Stopped on purpose (appendonly no, shutdown): however the child ended, not a failure.
    let failure = |stats: &super::AofStats| {
        if !cancelled {
            stats.last_bgrewrite_ok.store(false, Ordering::Relaxed);
            stats.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        }
    };
    let result = match exit {
        child::Exit::Ok => {
            tracing::info!("Background AOF rewrite terminated with success");
            match install_base(server, &s, &mut m, waiting, &temp, why) {
                Ok(()) => Ok(()),
                Err(e) => {
                    failure(&aof.stats);
                    Err(e)
                }
            }
        }
        child::Exit::Error(_) => {
            failure(&aof.stats);
            tracing::warn!("Background AOF rewrite terminated with error");
            Err("the rewrite failed".to_string())
        }
        child::Exit::Signal(sig) => {
            // SIGUSR1 is how the server stops its own child (appendonly no): not a failure.
            if sig != libc::SIGUSR1 {
                failure(&aof.stats);
            }
            // Redis reaps a child it killed itself on the spot, without this line.
            if !cancelled {
                tracing::warn!("Background AOF rewrite terminated by signal {sig}");
            }
            Err(format!("the rewrite was killed by signal {sig}"))
        }
    };
    let _ = std::fs::remove_file(&temp);
    if result.is_err() && waiting {
        // Back to waiting: stop accumulating (a rewrite that succeeds starts a new
        // temporary file from its own instant), drop the temporary file, and try again.
        aof.close();
        server
            .store
            .tunables
            .propagate
            .store(false, Ordering::Relaxed);
        let name = temp_incr_name(&s);
        tracing::info!("Removing the temp incr aof file {name} in the background");
        let _ = std::fs::remove_file(s.dir().join(&name));
        if !cancelled && aof.stats.wait_rewrite.load(Ordering::Relaxed) {
            aof.stats.rewrite_scheduled.store(true, Ordering::Relaxed);
        }
    }
    drop(m);
    aof.stats
        .last_rewrite_time_sec
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    let p = &server.persist;
    p.aof_last_cow
        .store(p.progress.cow.load(Ordering::Relaxed), Ordering::Relaxed);
    p.progress.reset();
    aof.stats
        .rewrite_in_progress
        .store(false, Ordering::Relaxed);
    result
}

/// Opens the incremental file that starts at the rewrite's instant: a new one in the
/// manifest (persisted at once, so it stays part of the AOF whatever happens to the
/// rewrite) when the AOF is on, the temporary one when `waiting` for this rewrite to turn it
/// on, none when the AOF is off. Creates the AOF directory first in every case (the base is
/// renamed into it).
fn open_incr(
    s: &Settings,
    m: &mut super::Manifest,
    on: bool,
    waiting: bool,
) -> Result<Option<std::fs::File>, String> {
    let dir = s.dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::warn!("Can't open or create append-only dir {}: {}", s.dirname, strerror(&e));
        return Err(e.to_string());
    }
    if on {
        let mut next = m.clone();
        let name = next.new_incr(&s.filename);
        let path = dir.join(&name);
        let f = open_truncated(&path).map_err(|e| {
            tracing::warn!("Can't open the append-only file {name}: {}", strerror(&e));
            e.to_string()
        })?;
        persist_manifest(s, &next).map_err(|e| e.to_string())?;
        *m = next;
        tracing::info!("Creating AOF incr file {name} on background rewrite");
        Ok(Some(f))
    } else if waiting {
        let name = temp_incr_name(s);
        let f = open_truncated(&dir.join(&name)).map_err(|e| {
            tracing::warn!("Can't open the append-only file {name}: {}", strerror(&e));
            e.to_string()
        })?;
        tracing::info!("Creating AOF incr file {name} on background rewrite");
        Ok(Some(f))
    } else {
        Ok(None)
    }
}

/// Opens `path` for appending, emptied.
fn open_truncated(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let _ = std::fs::remove_file(path);
    open_append(path)
}

/// Has the new base written to `dest`, switching to `incr` at its instant. Returns how the
/// writer ended (the child's exit).
fn write_base(
    server: &Server,
    s: &Settings,
    incr: Option<std::fs::File>,
    dest: Dest,
) -> child::Exit {
    if s.rdb_preamble {
        write_rdb_base(server, s, incr, dest)
    } else {
        write_command_base(server, s, incr, dest)
    }
}

/// Puts a written base in place, as Redis's parent does once its child exited 0: the
/// temporary file renamed to the next base name, the temporary incremental file (when the
/// rewrite turned the AOF on) renamed to the next incremental name, the incremental files
/// the base covers retired, the manifest persisted, history deleted.
fn install_base(
    server: &Server,
    s: &Settings,
    m: &mut super::Manifest,
    waiting: bool,
    temp: &std::path::Path,
    why: &str,
) -> Result<(), String> {
    let aof = &server.aof;
    let dir = s.dir();
    let mut next = m.clone();
    let base = next.new_base(&s.filename, s.rdb_preamble);
    let base_path = dir.join(&base);
    if let Err(e) = std::fs::rename(temp, &base_path) {
        tracing::warn!(
            "Error trying to rename the temporary AOF base file {} into {base}: {e}",
            temp.display()
        );
        return Err(e.to_string());
    }
    crate::util::sync_dir(&dir);
    if why.is_empty() {
        tracing::info!(
            "Successfully renamed the temporary AOF base file {} into {base}",
            temp.display()
        );
    } else {
        tracing::info!("Creating AOF base file {base} {why}");
    }
    if waiting {
        let temp_incr = temp_incr_name(s);
        let name = next.new_incr(&s.filename);
        if let Err(e) = std::fs::rename(dir.join(&temp_incr), dir.join(&name)) {
            tracing::warn!(
                "Error trying to rename the temporary AOF incr file {temp_incr} into {name}: {e}"
            );
            let _ = std::fs::remove_file(&base_path);
            return Err(e.to_string());
        }
        tracing::info!(
            "Successfully renamed the temporary AOF incr file {temp_incr} into {name}"
        );
    }
    if aof.is_on() {
        next.retire_incr_but_last();
    } else {
        next.retire_incr(next.incr.len());
    }
    if let Err(e) = persist_manifest(s, &next) {
        let _ = std::fs::remove_file(&base_path);
        return Err(e.to_string());
    }
    *m = next;
    // The retired files' unwritten bytes (a write failure at the switch) are in this base.
    aof.old_files_retired();
    if waiting {
        // The AOF is on for good (it was since the rewrite's instant, provisionally).
        aof.stats.wait_rewrite.store(false, Ordering::Relaxed);
    }
    super::delete_history(s, m);
    let size = files_size(&dir, m);
    aof.stats.current_size.store(size, Ordering::Relaxed);
    aof.stats.base_size.store(size, Ordering::Relaxed);
    aof.stats.last_bgrewrite_ok.store(true, Ordering::Relaxed);
    aof.stats.consecutive_failures.store(0, Ordering::Relaxed);
    aof.stats.rewrites.fetch_add(1, Ordering::Relaxed);
    if why.is_empty() {
        tracing::info!("Background AOF rewrite finished successfully");
    }
    Ok(())
}

/// Switches to `incr` (when given) and turns the AOF on, unless it was turned off meanwhile:
/// called at the rewrite's instant, with every shard held.
fn switch_at_instant(server: &Server, incr: Option<std::fs::File>) {
    let aof = &server.aof;
    if aof.cancel_rewrite.load(Ordering::Relaxed) {
        // The AOF was turned off meanwhile: it must stay off.
        return;
    }
    if let Some(f) = incr {
        aof.switch_to(f);
        super::turn_on(server);
    }
}

/// Ends a base written by this process: the temporary file synced, or removed on error.
fn finish_here(path: &std::path::Path, res: std::io::Result<std::fs::File>) -> child::Exit {
    match res.and_then(|f| f.sync_all()) {
        Ok(()) => {
            tracing::info!(
                "Successfully created the temporary AOF base file {}",
                path.display()
            );
            child::Exit::Ok
        }
        Err(e) => {
            tracing::warn!("Write error writing append only file on disk: {e}");
            let _ = std::fs::remove_file(path);
            child::Exit::Error(1)
        }
    }
}

/// Writes a rewrite's new base to `dest` with `write`, which puts the whole image on the
/// writer it is given, its walk driven by the given [`file::Control`]: streamed to the save
/// child, or into the temporary file when this process writes it. `rdb-key-save-delay` is the
/// value read when the rewrite started, as a forked child's copy of the config is: the suite
/// sets it to 0 right after it sees the rewrite running, then kills the child, expecting the
/// kill, not the new value, to end that rewrite.
fn write_base_to(
    server: &Server,
    s: &Settings,
    dest: Dest,
    write: impl FnOnce(&mut dyn Write, &file::Control<'_>) -> std::io::Result<()>,
) -> child::Exit {
    let (cancel, progress) = (&server.aof.cancel_rewrite, &server.persist.progress);
    let delay_us = s.key_save_delay_us;
    match dest {
        Dest::Child(w) => {
            let what = "Background AOF rewrite";
            file::stream_to_child_with(cancel, progress, delay_us, w, what, |w, ctl| write(w, ctl))
        }
        Dest::Here(path) => {
            let ctl = file::Control { cancel, delay_us, progress: Some(progress), gone: &|| false };
            let res = (|| {
                let f = std::fs::File::create(&path)?;
                let mut buffered = std::io::BufWriter::with_capacity(1 << 16, f);
                write(&mut buffered, &ctl)?;
                buffered.into_inner().map_err(|e| e.into_error())
            })();
            if cancel.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&path);
                return child::Exit::Signal(libc::SIGUSR1);
            }
            finish_here(&path, res)
        }
    }
}

/// Writes the new base as an RDB file (`aof-use-rdb-preamble yes`) from a store snapshot
/// whose instant is the switch to the new incremental file `incr`: every write before the
/// instant is in the image, every later one in `incr`.
fn write_rdb_base(
    server: &Server,
    s: &Settings,
    incr: Option<std::fs::File>,
    dest: Dest,
) -> child::Exit {
    let mut opts = crate::cmd::persist::save_opts(server);
    opts.aof_base = true;
    opts.key_delay_us = s.key_save_delay_us;
    let at_instant = move || switch_at_instant(server, incr);
    write_base_to(server, s, dest, |w, ctl| {
        let mut rdb = file::RdbWriter::new(w, opts.clone())?;
        file::write_snapshot_with(&server.store, &opts, ctl, at_instant, &mut rdb)?;
        rdb.finish().map(|_| ())
    })
}

/// Turns keys into the commands that rebuild them, with a SELECT whenever the database
/// changes: the walk hands keys over database by database, but a writer's copy-on-write can
/// come in between with a key of any database. Keys expired at `now` (when the rewrite
/// started) are left out, as Redis's rewrite leaves them out.
struct CommandEncoder {
    db: Option<usize>,
    now: i64,
}

impl file::Encode for CommandEncoder {
    fn key(&mut self, buf: &mut Vec<u8>, db: usize, e: &Entry) {
        if self.db != Some(db) {
            self.db = Some(db);
            encode_command(buf, &[b"SELECT" as &[u8], itoa::Buffer::new().format(db).as_bytes()]);
        }
        dump_entry(buf, e, self.now);
    }
}

/// Writes the new base as commands (`aof-use-rdb-preamble no`) from a store snapshot whose
/// instant is the switch to the new incremental file `incr`, as [`write_rdb_base`] does: the
/// clients go on during the walk (before, every shard was held while the whole image was
/// serialized into memory: 260 ms without a reply for a million keys).
fn write_command_base(
    server: &Server,
    s: &Settings,
    incr: Option<std::fs::File>,
    dest: Dest,
) -> child::Exit {
    let now = crate::util::now_ms();
    let at_instant = move || switch_at_instant(server, incr);
    write_base_to(server, s, dest, |w, ctl| {
        if s.timestamps {
            // A base starts with its time when `aof-timestamp-enabled` (redis-check-aof's
            // --truncate-to-timestamp reads it).
            w.write_all(format!("#TS:{}\r\n", now / 1000).as_bytes())?;
        }
        let enc = Box::new(CommandEncoder { db: None, now });
        file::write_image(&server.store, enc, ctl, at_instant, &mut file::Plain(w))
    })
}

/// Runs a rewrite on the calling thread, as BGREWRITEAOF does where no shared handle of the
/// server exists (in-process tests).
pub fn rewrite_here(server: &Server) -> Result<(), String> {
    rewrite_now(server, "")
}

/// Starts a rewrite whose base a save child writes, the walk on a thread of its own
/// (BGREWRITEAOF, the automatic rewrite). False when one is already running or the child
/// cannot start.
pub fn start_background(server: &Arc<Server>) -> bool {
    let aof = &server.aof;
    if aof.stats.rewrite_in_progress.swap(true, Ordering::AcqRel) {
        return false;
    }
    let Ok(start) = begin(server) else {
        return false;
    };
    let srv = server.clone();
    let spawned = std::thread::Builder::new()
        .name("aof-rewrite".into())
        .spawn(move || {
            let _ = rewrite_with(&srv, "", start);
        });
    if spawned.is_err() {
        // The closure (and the child's pipe with it) is dropped: the child exits.
        aof.stats
            .rewrite_in_progress
            .store(false, Ordering::Relaxed);
        return false;
    }
    true
}

/// True while repeated failures hold automatic rewrites back: after the third failure in a
/// row the next automatic one waits 1 minute, then 2, 4, ... up to an hour (Redis's
/// `aofRewriteLimited`). BGREWRITEAOF is never held back.
fn limited(server: &Server) -> bool {
    use std::sync::atomic::AtomicI64;
    static NEXT_DELAY_MIN: AtomicI64 = AtomicI64::new(0);
    static NEXT_AT: AtomicI64 = AtomicI64::new(0);
    if server.aof.stats.consecutive_failures.load(Ordering::Relaxed) < 3 {
        NEXT_DELAY_MIN.store(0, Ordering::Relaxed);
        NEXT_AT.store(0, Ordering::Relaxed);
        return false;
    }
    let now = crate::util::now_ms() / 1000;
    let at = NEXT_AT.load(Ordering::Relaxed);
    if at != 0 {
        if now < at {
            return true;
        }
        NEXT_AT.store(0, Ordering::Relaxed);
        return false;
    }
    let prev = NEXT_DELAY_MIN.load(Ordering::Relaxed);
    let delay = if prev == 0 { 1 } else { (prev * 2).min(60) };
    NEXT_DELAY_MIN.store(delay, Ordering::Relaxed);
    NEXT_AT.store(now + delay * 60, Ordering::Relaxed);
    tracing::warn!(
        "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in \
         {delay} minutes"
    );
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
    if aof.stats.rewrite_scheduled.load(Ordering::Relaxed) {
        if !limited(server) {
            start_background(server);
        }
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
    if size <= s.auto_rewrite_min_size {
        return;
    }
    let growth = (size as i64 * 100 / base as i64) - 100;
    if growth >= s.auto_rewrite_percentage && !limited(server) {
        tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
        start_background(server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_command_base_is_the_image_of_its_instant_while_writers_go_on() {
        let store = crate::store::Store::new(2);
        {
            let mut ks = store.lock_all(0, crate::util::now_ms());
            for i in 0..300 {
                ks.set_with_expire(format!("k{i}").as_bytes(), Value::string(b"v"), None);
            }
            let mut l = crate::store::types::list::List::new();
            l.push(b"a", false);
            ks.insert_in(1, b"l", Value::List(Box::new(l)), Some(i64::MAX / 2));
        }
        let cancel = AtomicBool::new(false);
        let progress = file::SaveProgress::default();
        // Slow enough that the writer below reaches keys before the walk does.
        let ctl = file::Control {
            cancel: &cancel,
            delay_us: 2000,
            progress: Some(&progress),
            gone: &|| false,
        };
        let mut out = file::Plain(Vec::new());
        let enc = Box::new(CommandEncoder { db: None, now: crate::util::now_ms() });
        std::thread::scope(|s| {
            s.spawn(|| {
                while progress.total.load(Ordering::Relaxed) == 0 {
                    std::thread::yield_now();
                }
                // After the instant: none of this may reach the base.
                for i in (0..300).rev() {
                    let mut ks = store.lock_all(0, crate::util::now_ms());
                    ks.set_with_expire(format!("k{i}").as_bytes(), Value::string(b"ww"), None);
                    if i == 150 {
                        ks.remove_in(1, b"l");
                        ks.set_with_expire(b"new", Value::string(b"x"), None);
                    }
                }
            });
            file::write_image(&store, enc, &ctl, || {}, &mut out).unwrap();
        });
        assert!(progress.cow.load(Ordering::Relaxed) > 0, "the writer got ahead of the walk");
        // Replay: each key in the database its last SELECT named.
        let mut db = None;
        let mut seen = std::collections::BTreeMap::new();
        for argv in super::super::load::parse_all(&out.0) {
            let argv: Vec<String> =
                argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            match argv[0].as_str() {
                "SELECT" => db = Some(argv[1].clone()),
                _ => {
                    let db = db.clone().expect("a command before any SELECT");
                    seen.entry((db, argv[1].clone())).or_insert_with(Vec::new).push(argv.join(" "));
                }
            }
        }
        assert_eq!(seen.len(), 301, "{seen:?}");
        for i in 0..300 {
            let k = format!("k{i}");
            assert_eq!(seen[&("0".to_string(), k.clone())], [format!("SET {k} v")]);
        }
        let l = &seen[&("1".to_string(), "l".to_string())];
        assert_eq!(l[0], "RPUSH l a");
        assert!(l[1].starts_with("PEXPIREAT l "), "{l:?}");
    }
}
