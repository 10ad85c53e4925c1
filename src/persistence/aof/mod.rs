//! The append-only file, as Redis 7.0 keeps it: a directory (`appenddirname`) holding a base
//! file, incremental files and the manifest naming them (`manifest.rs`).
//!
//! # Propagation
//!
//! Commands gather what they propagate in their keyspace view (`store/propagate.rs`, filled by
//! dispatch and by the few handlers that rewrite their argv). Before the command's shard locks
//! are released, [`Aof::feed`] encodes it into the in-memory AOF buffer, so two writes to one
//! key reach the file in the order they ran. A `SELECT` precedes a command whose database is
//! not the file's current one; an execution unit of several commands (a transaction, SPOP with
//! a count) is wrapped in MULTI/EXEC. With the AOF off nothing is gathered: the only cost is
//! one relaxed load per command (`Tunables::propagate`).
//!
//! # Writing and fsync
//!
//! One writer thread (file I/O never runs on the runtime) takes the whole buffer, writes it,
//! and under `appendfsync always` fsyncs it before publishing the offset as durable: a batch of
//! commands from many clients costs one fsync (group commit). Under `everysec` it fsyncs at
//! most once a second; under `no`, never. A connection does not send the replies of a batch
//! before the AOF has reached the offset its commands produced ([`Aof::wait_for`]): written
//! under `everysec`/`no` (Redis writes the buffer before replying too), written and fsynced
//! under `always`. So an acknowledged write survives `kill -9` in every mode and a machine
//! crash under `always`.
//!
//! # Disk failures
//!
//! As Redis 7.0: a failed write keeps its bytes for a retry (at least once a second) and a
//! failed `everysec` fsync is recorded; while either stands and the AOF is on, write commands
//! and PING get `MISCONF Errors writing to the AOF file: <strerror>`, and INFO's
//! `aof_last_write_status` is `err`. A write that works clears the first, an fsync that
//! works the second; turning the AOF on again forgets both. Under `always` either failure
//! stops the server, since replies promise the data is on disk. The dispatch gate reads one
//! relaxed flag (`AofStats::writes_ok`), kept true while the AOF is off.
//!
//! # Rewrites
//!
//! `rewrite.rs` switches to a new incremental file at one instant of the dataset and writes a
//! new base of that instant from a `Store::snapshot` taken at the switch: an RDB file
//! (`aof-use-rdb-preamble yes`, the default), or the commands that rebuild each key (`no`).
//! `load.rs` reads a base that starts with `REDIS` through the RDB loader.

use crate::config::io_strerror as strerror;

pub mod load;
pub mod manifest;
pub mod rewrite;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::server::Server;
use crate::store::propagate::PropLog;
use manifest::Manifest;

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    No = 0,
    Always = 1,
    Everysec = 2,
}

impl Fsync {
    fn from_u8(v: u8) -> Fsync {
        match v {
            1 => Fsync::Always,
            2 => Fsync::Everysec,
            _ => Fsync::No,
        }
    }
}

/// The AOF settings of the config, read when they matter (not on hot paths).
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub fsync: Fsync,
    pub filename: String,
    pub dirname: String,
    pub load_truncated: bool,
    pub timestamps: bool,
    pub disable_auto_gc: bool,
    pub auto_rewrite_percentage: i64,
    pub auto_rewrite_min_size: u64,
    /// `rdb-key-save-delay`: microseconds a rewrite waits per key written (a debugging knob
    /// the suite uses to keep a rewrite running).
    pub key_save_delay_us: i64,
    /// `aof-use-rdb-preamble`: a rewrite writes its base as an RDB file.
    pub rdb_preamble: bool,
}

/// Returns the value of directive `name` as text.
fn directive(cfg: &crate::config::Config, name: &str) -> String {
    match crate::config::table::lookup(name.as_bytes()) {
        Some((d, _)) => String::from_utf8_lossy(&cfg.get(d)).into_owned(),
        None => String::new(),
    }
}

impl Settings {
    pub fn read(server: &Server) -> Settings {
        let cfg = server.config.read();
        let fsync = match directive(&cfg, "appendfsync").as_str() {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::Everysec,
        };
        Settings {
            enabled: cfg.appendonly,
            fsync,
            filename: directive(&cfg, "appendfilename"),
            dirname: directive(&cfg, "appenddirname"),
            load_truncated: directive(&cfg, "aof-load-truncated") == "yes",
            timestamps: directive(&cfg, "aof-timestamp-enabled") == "yes",
            disable_auto_gc: directive(&cfg, "aof-disable-auto-gc") == "yes",
            auto_rewrite_percentage: directive(&cfg, "auto-aof-rewrite-percentage")
                .parse()
                .unwrap_or(100),
            auto_rewrite_min_size: directive(&cfg, "auto-aof-rewrite-min-size")
                .parse()
                .unwrap_or(64 << 20),
            key_save_delay_us: directive(&cfg, "rdb-key-save-delay").parse().unwrap_or(0),
            rdb_preamble: directive(&cfg, "aof-use-rdb-preamble") == "yes",
        }
    }

    /// The directory's path.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(&self.dirname)
    }

    /// The manifest's file name.
    pub fn manifest_name(&self) -> String {
        format!("{}.manifest", self.filename)
    }
}

/// INFO persistence's AOF counters.
#[derive(Debug)]
pub struct AofStats {
    pub rewrite_in_progress: AtomicBool,
    pub rewrite_scheduled: AtomicBool,
    pub last_rewrite_time_sec: AtomicI64,
    pub last_bgrewrite_ok: AtomicBool,
    pub rewrites: AtomicU64,
    pub consecutive_failures: AtomicU64,
    /// False while the AOF is on and its last write or its last background fsync failed:
    /// the one load the dispatch gate makes (`cmd::persist::disk_failed`), true again once
    /// the failure is cleared or the AOF is off. Maintained by [`Aof::update_errors`].
    pub writes_ok: AtomicBool,
    /// The failures behind `writes_ok` and INFO's `aof_last_write_status`.
    errors: Mutex<DiskErrors>,
    /// Bytes of the base and incremental files (`aof_current_size`).
    pub current_size: AtomicU64,
    /// Size after the last rewrite or start (`aof_base_size`).
    pub base_size: AtomicU64,
    pub delayed_fsync: AtomicU64,
    /// Rewrites started (counted in INFO's `total_forks`, as Redis forks for each).
    pub forks: AtomicU64,
    /// When the running rewrite started (ms), for `aof_current_rewrite_time_sec`.
    pub rewrite_started_ms: AtomicI64,
    /// `appendonly yes` was set and the AOF waits for a rewrite to succeed to turn on
    /// (Redis's AOF_WAIT_REWRITE): set by CONFIG SET, cleared by that success or by
    /// `appendonly no`.
    pub wait_rewrite: AtomicBool,
}

impl Default for AofStats {
    fn default() -> Self {
        AofStats {
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            last_rewrite_time_sec: AtomicI64::new(-1),
            last_bgrewrite_ok: AtomicBool::new(true),
            rewrites: AtomicU64::new(0),
            consecutive_failures: AtomicU64::new(0),
            writes_ok: AtomicBool::new(true),
            errors: Mutex::new(DiskErrors::default()),
            current_size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            delayed_fsync: AtomicU64::new(0),
            forks: AtomicU64::new(0),
            rewrite_started_ms: AtomicI64::new(0),
            wait_rewrite: AtomicBool::new(false),
        }
    }
}

/// The AOF's disk failures, each with the OS error's text (strerror), as Redis keeps
/// `aof_last_write_status` and `aof_bio_fsync_status` with their errnos. They outlive
/// `appendonly no` (INFO still shows them) and are forgotten when the AOF is turned on again.
#[derive(Debug, Default)]
struct DiskErrors {
    /// The last write (or retry) of the incremental file failed.
    write: Option<String>,
    /// The last `everysec` fsync failed (cleared by the next one that works).
    fsync: Option<String>,
}

impl AofStats {
    /// INFO's `aof_last_write_status`: neither the last write nor the last background fsync
    /// failed (whether or not the AOF is on, as Redis).
    pub fn write_status_ok(&self) -> bool {
        let e = self.errors.lock();
        e.write.is_none() && e.fsync.is_none()
    }
}

/// What commands append to, under its lock (taken while the command holds its shard locks).
#[derive(Debug, Default)]
struct Pending {
    buf: Vec<u8>,
    /// Bytes ever appended (the offset a client waits for).
    appended: u64,
    /// The database the file's last SELECT chose (`None` at the start of a file).
    selected_db: Option<usize>,
    /// The second of the last `#TS:` annotation.
    last_ts: i64,
    timestamps: bool,
}

/// The open incremental file, owned by whoever writes (the writer thread, or a switch).
#[derive(Debug)]
struct Io {
    file: Option<File>,
    unsynced: bool,
    last_fsync: Instant,
    /// Bytes a failed write did not get into the file: written first on the next attempt
    /// (the writer retries at least once a second), so a full disk delays commands in the
    /// AOF but loses none, as Redis keeps its unwritten buffer.
    retry: Vec<u8>,
    /// Incremental files a rewrite switched away from while their `retry` bytes were still
    /// unwritten: the bytes are retried into their own file (which a failed rewrite leaves in
    /// the manifest, before the new one), until written or until a rewrite's base covers them.
    stale: Vec<Stale>,
    /// When a write failure was last logged (Redis logs one every 30 seconds at most).
    last_error_log: Option<Instant>,
    /// Test seam: the errno every fsync fails with (a failed fsync cannot be caused for real).
    #[cfg(test)]
    fsync_fault: Option<i32>,
}

/// An old incremental file and the bytes it still lacks (see `Io::stale`).
#[derive(Debug)]
struct Stale {
    file: File,
    retry: Vec<u8>,
}

/// The AOF: state, buffer, writer thread. One per server (`Server::aof`).
#[derive(Debug)]
pub struct Aof {
    on: AtomicBool,
    pending: Mutex<Pending>,
    io: Mutex<Io>,
    wake: Condvar,
    /// Offsets written to the file, and written and fsynced.
    written: AtomicU64,
    synced: AtomicU64,
    notify: tokio::sync::Notify,
    fsync: AtomicU8,
    writer: std::sync::Once,
    /// Set to stop a rewrite under way (CONFIG SET appendonly no), as Redis kills its child.
    pub cancel_rewrite: AtomicBool,
    /// The manifest in force; its lock also serialises starting, stopping and rewriting.
    pub manifest: Mutex<Manifest>,
    pub stats: AofStats,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            on: AtomicBool::new(false),
            pending: Mutex::new(Pending::default()),
            io: Mutex::new(Io {
                file: None,
                unsynced: false,
                last_fsync: Instant::now(),
                retry: Vec::new(),
                stale: Vec::new(),
                last_error_log: None,
                #[cfg(test)]
                fsync_fault: None,
            }),
            wake: Condvar::new(),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            fsync: AtomicU8::new(Fsync::Everysec as u8),
            writer: std::sync::Once::new(),
            cancel_rewrite: AtomicBool::new(false),
            manifest: Mutex::new(Manifest::default()),
            stats: AofStats::default(),
        }
    }
}

/// Appends one command in RESP to `out`.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    let mut tmp = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(tmp.format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(tmp.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Pending {
    /// Appends `argv` for database `db`, preceded by a SELECT when the file is elsewhere.
    fn push<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        if self.selected_db != Some(db) {
            let mut tmp = itoa::Buffer::new();
            encode_command(
                &mut self.buf,
                &[b"SELECT" as &[u8], tmp.format(db).as_bytes()],
            );
            self.selected_db = Some(db);
        }
        encode_command(&mut self.buf, argv);
    }

    /// Writes a `#TS:<unix time>` annotation when `aof-timestamp-enabled` and the second moved.
    fn annotate(&mut self) {
        if !self.timestamps {
            return;
        }
        let now = crate::util::now_ms() / 1000;
        if now > self.last_ts {
            self.last_ts = now;
            self.buf
                .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
        }
    }
}

impl Aof {
    /// True while the AOF is on.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Bytes appended so far (the offset that covers everything fed until now).
    pub fn appended(&self) -> u64 {
        self.pending.lock().appended
    }

    /// Bytes appended and not yet handed to the writer (`aof_buffer_length`).
    pub fn buffered(&self) -> usize {
        self.pending.lock().buf.len()
    }

    /// Returns `appendfsync` as last applied.
    pub fn fsync_policy(&self) -> Fsync {
        Fsync::from_u8(self.fsync.load(Ordering::Relaxed))
    }

    /// Sets `appendfsync` and `aof-timestamp-enabled`.
    pub fn apply_settings(&self, s: &Settings) {
        self.fsync.store(s.fsync as u8, Ordering::Relaxed);
        self.pending.lock().timestamps = s.timestamps;
    }

    /// Encodes what a command gathered into the AOF buffer and returns the offset its client
    /// must wait for; `None` when there was nothing (or the AOF is off). Called while the
    /// command still holds its shard locks.
    pub fn feed(&self, log: &mut PropLog, lazy_expire: bool) -> Option<u64> {
        if log.is_empty() {
            return None;
        }
        if !self.is_on() {
            *log = PropLog::default();
            return None;
        }
        let mut p = self.pending.lock();
        let len0 = p.buf.len();
        p.annotate();
        let del: &[u8] = if lazy_expire { b"UNLINK" } else { b"DEL" };
        for (db, key) in log.expired.drain(..) {
            p.push(db, &[del, &key]);
        }
        log.end_unit();
        for unit in log.done.drain(..) {
            if unit.len() > 1 {
                p.push(unit[0].0, &[b"MULTI"]);
            }
            for (db, argv) in &unit {
                p.push(*db, argv);
            }
            if unit.len() > 1 {
                let last = unit[unit.len() - 1].0;
                p.push(last, &[b"EXEC"]);
            }
        }
        p.appended += (p.buf.len() - len0) as u64;
        let at = p.appended;
        drop(p);
        self.wake.notify_one();
        Some(at)
    }

    /// Feeds the deletions of keys the active expiry removed from database `db` (called with
    /// their shard still locked). Returns nothing: no client waits for them.
    pub fn feed_expired(&self, db: usize, keys: &mut Vec<Vec<u8>>, lazy_expire: bool) {
        if keys.is_empty() || !self.is_on() {
            keys.clear();
            return;
        }
        let mut log = PropLog {
            expired: keys.drain(..).map(|k| (db, k)).collect(),
            ..PropLog::default()
        };
        self.feed(&mut log, lazy_expire);
    }

    /// True once everything up to offset `need` is where the fsync policy wants it before a
    /// reply goes out: written (everysec, no) or written and fsynced (always).
    pub fn reached(&self, need: u64) -> bool {
        if !self.is_on() {
            return true;
        }
        let at = if self.fsync_policy() == Fsync::Always {
            &self.synced
        } else {
            &self.written
        };
        at.load(Ordering::Acquire) >= need
    }

    /// Waits until [`Aof::reached`] holds for `need`.
    pub async fn wait_for(&self, need: u64) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.reached(need) {
                return;
            }
            notified.await;
        }
    }

    /// Starts the writer thread once.
    fn ensure_writer(self: &Arc<Self>) {
        self.writer.call_once(|| {
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name("aof-writer".into())
                .spawn(move || me.writer_loop());
            if let Err(e) = spawned {
                tracing::warn!("Can't start the AOF writer thread: {e}");
            }
        });
    }

    /// The writer thread: writes what commands appended, fsyncs as `appendfsync` says, and
    /// wakes the connections waiting for their offsets.
    fn writer_loop(&self) {
        loop {
            let mut p = self.pending.lock();
            if p.buf.is_empty() {
                // Wake at least once a second for the everysec fsync, and to retry a failed
                // write (while it fails, write commands are refused: nothing else wakes us).
                self.wake.wait_for(&mut p, Duration::from_millis(1000));
            }
            self.write_pass(p);
        }
    }

    /// One pass of the writer: takes the buffer, writes it (after what failed before), fsyncs
    /// as the policy says, and publishes the offsets reached.
    fn write_pass(&self, mut p: parking_lot::MutexGuard<'_, Pending>) {
        let chunk = std::mem::take(&mut p.buf);
        let upto = p.appended;
        // Taking the file before letting commands append again keeps chunks in order.
        let mut io = self.io.lock();
        drop(p);
        self.write_stale(&mut io);
        self.write_chunk(&mut io, &chunk);
        if io.unsynced {
            match self.fsync_policy() {
                Fsync::Always => fsync_always(&mut io),
                Fsync::Everysec if io.last_fsync.elapsed() >= Duration::from_secs(1) => {
                    self.fsync_background(&mut io)
                }
                _ => {}
            }
        }
        // (A failed everysec fsync counts as done, as Redis: nobody waits for it, and a
        // later switch to `always` fsyncs everything written with the next chunk.)
        let durable = !io.unsynced;
        drop(io);
        // Published even when the write failed: the commands ran, and Redis replies to them
        // too; the failure refuses the writes that come next.
        self.written.fetch_max(upto, Ordering::AcqRel);
        if durable {
            self.synced.fetch_max(upto, Ordering::AcqRel);
        }
        self.notify.notify_waiters();
    }

    /// Writes what an earlier failure left, then `chunk`, to the open file, recording failures
    /// for INFO and MISCONF. What does not get into the file is kept for the next attempt.
    fn write_chunk(&self, io: &mut Io, chunk: &[u8]) {
        if chunk.is_empty() && io.retry.is_empty() {
            return;
        }
        let Some(f) = io.file.as_mut() else { return };
        let mut held = std::mem::take(&mut io.retry);
        let data: &[u8] = if held.is_empty() {
            chunk
        } else {
            held.extend_from_slice(chunk);
            &held
        };
        match write_or_undo(f, data) {
            Ok(()) => {
                io.unsynced = true;
                self.stats
                    .current_size
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
                if io.stale.is_empty() {
                    self.write_solved();
                }
            }
            Err(failure) => {
                self.stats
                    .current_size
                    .fetch_add(failure.kept as u64, Ordering::Relaxed);
                if failure.kept > 0 {
                    io.unsynced = true;
                }
                io.retry = data[failure.kept..].to_vec();
                self.write_failed(io, &failure, data.len());
            }
        }
    }

    /// Retries the bytes old incremental files lack (see `Io::stale`); each file completed is
    /// fsynced and closed.
    fn write_stale(&self, io: &mut Io) {
        if io.stale.is_empty() {
            return;
        }
        let mut i = 0;
        while i < io.stale.len() {
            let s = &mut io.stale[i];
            let len = s.retry.len();
            match write_or_undo(&mut s.file, &s.retry) {
                Ok(()) => {
                    // As Redis closes a switched-from file: fsynced, its error only logged.
                    if let Err(e) = s.file.sync_data() {
                        tracing::warn!("Fail to fsync the AOF file: {}", strerror(&e));
                    }
                    self.stats.current_size.fetch_add(len as u64, Ordering::Relaxed);
                    io.stale.remove(i);
                }
                Err(failure) => {
                    s.retry.drain(..failure.kept);
                    self.stats
                        .current_size
                        .fetch_add(failure.kept as u64, Ordering::Relaxed);
                    self.write_failed(io, &failure, len);
                    i += 1;
                }
            }
        }
        if io.stale.is_empty() && io.retry.is_empty() {
            self.write_solved();
        }
    }

    /// Records a write that did not get everything into the file, logging it as Redis does
    /// (at most once every 30 seconds); fatal under `always`, where replies promise the file
    /// has every acknowledged write.
    fn write_failed(&self, io: &mut Io, failure: &WriteFailure, expected: usize) {
        let can_log = io
            .last_error_log
            .is_none_or(|t| t.elapsed() > Duration::from_secs(30));
        if can_log {
            io.last_error_log = Some(Instant::now());
        }
        let why = if failure.written == 0 {
            let why = strerror(&failure.error);
            if can_log {
                tracing::warn!("Error writing to the AOF file: {why}");
            }
            why
        } else {
            // A short write: Redis reports it as a full disk, whatever the next write said.
            if can_log {
                tracing::warn!(
                    "Short write while writing to the AOF file: (nwritten={}, expected={expected})",
                    failure.written
                );
                if let Some(e) = &failure.truncate_error {
                    tracing::warn!(
                        "Could not remove short write from the append-only file.  Redis may \
                         refuse to load the AOF the next time it starts.  ftruncate: {}",
                        strerror(e)
                    );
                }
            }
            strerror(&std::io::Error::from_raw_os_error(libc::ENOSPC))
        };
        if self.fsync_policy() == Fsync::Always {
            // A reply may only follow a write that reached the file: stop, as Redis.
            tracing::warn!(
                "Can't recover from AOF write error when the AOF fsync policy is 'always'. \
                 Exiting..."
            );
            std::process::exit(1);
        }
        self.update_errors(|e| e.write = Some(why));
    }

    /// A write got everything into the file: the write failure, if any, is over.
    fn write_solved(&self) {
        self.update_errors(|e| {
            if e.write.take().is_some() {
                tracing::warn!("AOF write error looks solved, Redis can write again.");
            }
        });
    }

    /// The `everysec` fsync (Redis's background fsync job): a failure is recorded and refuses
    /// writes until an fsync works again (logged when it starts); EBADF and EINVAL count as
    /// success, as Redis takes them for a descriptor closed meanwhile. As in Redis, it runs
    /// again only once more was written: a retry on its own could report success for pages
    /// the failed one dropped.
    fn fsync_background(&self, io: &mut Io) {
        let res = fdatasync(io);
        io.unsynced = false;
        io.last_fsync = Instant::now();
        let failed = match res {
            Err(e) if !matches!(e.raw_os_error(), Some(libc::EBADF | libc::EINVAL)) => {
                Some(strerror(&e))
            }
            _ => None,
        };
        self.update_errors(|errs| {
            if let Some(why) = &failed
                && errs.fsync.is_none()
            {
                tracing::warn!("Fail to fsync the AOF file: {why}");
            }
            errs.fsync = failed;
        });
    }

    /// Changes the recorded failures and recomputes the dispatch gate's flag from them and
    /// from whether the AOF is on, under one lock so concurrent changes cannot leave it stale.
    fn update_errors(&self, f: impl FnOnce(&mut DiskErrors)) {
        let mut e = self.stats.errors.lock();
        f(&mut e);
        let failing = e.write.is_some() || e.fsync.is_some();
        let ok = !(failing && self.is_on());
        // Stored only when it changes: every command reads this line.
        if self.stats.writes_ok.load(Ordering::Relaxed) != ok {
            self.stats.writes_ok.store(ok, Ordering::Relaxed);
        }
    }

    /// Turns the AOF on or off, keeping the gate's flag right: off, the AOF refuses nothing.
    fn set_on(&self, on: bool) {
        self.update_errors(|_| self.on.store(on, Ordering::Relaxed));
    }

    /// Turning the AOF on again forgets the failures of its last run, as Redis does (with its
    /// log lines).
    fn forget_errors(&self) {
        self.update_errors(|e| {
            if e.fsync.take().is_some() {
                tracing::warn!("AOF reopen, just ignore the AOF fsync error in bio job");
            }
            if e.write.take().is_some() {
                tracing::warn!("AOF reopen, just ignore the last error.");
            }
        });
    }

    /// While the last write or `everysec` fsync of the AOF failed: the MISCONF error that
    /// write commands get (the write's error first, as Redis).
    pub fn write_error(&self) -> Option<String> {
        if !self.is_on() {
            return None;
        }
        let e = self.stats.errors.lock();
        let why = e.write.as_ref().or(e.fsync.as_ref())?;
        Some(format!("MISCONF Errors writing to the AOF file: {why}"))
    }

    /// Writes out and fsyncs everything appended so far, on the calling thread (switching
    /// files, stopping, shutting down). The caller holds the pending lock.
    fn drain_locked(&self, p: &mut Pending, io: &mut Io, why: Drain) {
        let chunk = std::mem::take(&mut p.buf);
        self.write_stale(io);
        self.write_chunk(io, &chunk);
        if io.unsynced {
            if self.fsync_policy() == Fsync::Always {
                fsync_always(io);
            } else {
                let res = fdatasync(io);
                io.unsynced = false;
                io.last_fsync = Instant::now();
                // Redis logs a failure when stopping and exiting; the file it switches from
                // is fsynced by a background close that ignores errors.
                if let Err(e) = res {
                    match why {
                        Drain::Stop => {
                            tracing::warn!("Fail to fsync the AOF file: {}", strerror(&e))
                        }
                        Drain::Shutdown => {
                            tracing::warn!("Fail to fsync the AOF file: {}.", strerror(&e))
                        }
                        Drain::Switch => {}
                    }
                }
            }
        }
        self.written.fetch_max(p.appended, Ordering::AcqRel);
        self.synced.fetch_max(p.appended, Ordering::AcqRel);
    }

    /// Writes out and fsyncs everything appended so far (shutdown, DEBUG LOADAOF).
    pub fn flush_all(&self) {
        let mut p = self.pending.lock();
        let mut io = self.io.lock();
        self.drain_locked(&mut p, &mut io, Drain::Shutdown);
        drop(io);
        drop(p);
        self.notify.notify_waiters();
    }

    /// Makes `file` the incremental file commands go to from now on, after the old one got
    /// everything appended before. The file starts with a SELECT. Must be called while every
    /// shard is held when the switch has to be one instant of the dataset (a rewrite).
    fn switch_to(&self, file: File) {
        let mut p = self.pending.lock();
        let mut io = self.io.lock();
        self.drain_locked(&mut p, &mut io, Drain::Switch);
        // What the old file could not take is older than the switch. Written into the new
        // file it would run twice once the rewrite's base (taken at this instant) is in
        // place; dropped, it would be lost if the rewrite fails (the old file stays in the
        // manifest). So the old file keeps it, retried until written or covered by a base;
        // until then the write failure stands. At start-up nothing is pending.
        if !io.retry.is_empty()
            && let Some(old) = io.file.take()
        {
            let retry = std::mem::take(&mut io.retry);
            io.stale.push(Stale { file: old, retry });
        }
        io.retry = Vec::new();
        io.file = Some(file);
        io.unsynced = false;
        io.last_fsync = Instant::now();
        p.selected_db = None;
        p.last_ts = 0;
    }

    /// A rewrite installed its base: every incremental file before the current one is
    /// retired, so the bytes they still lacked are in that base and need no retry.
    pub(crate) fn old_files_retired(&self) {
        let mut io = self.io.lock();
        if io.stale.is_empty() {
            return;
        }
        io.stale.clear();
        if io.retry.is_empty() {
            self.write_solved();
        }
    }

    /// Closes the file after writing out what is pending; the AOF is off afterwards (and
    /// refuses nothing: the failures stay recorded for INFO until it is turned on again).
    fn close(&self) {
        self.set_on(false);
        let mut p = self.pending.lock();
        let mut io = self.io.lock();
        self.drain_locked(&mut p, &mut io, Drain::Stop);
        // As Redis drops its AOF buffer: with the AOF off, what could not be written is
        // no longer anyone's to keep.
        io.file = None;
        io.retry = Vec::new();
        io.stale.clear();
        p.selected_db = None;
        drop(io);
        drop(p);
        self.notify.notify_waiters();
    }
}

/// Why the AOF is drained on the calling thread (what a failed fsync logs).
#[derive(Clone, Copy)]
enum Drain {
    Switch,
    Stop,
    Shutdown,
}

/// A write that did not get all its bytes into the file.
#[derive(Debug)]
struct WriteFailure {
    /// Bytes written before the failure (Redis's `nwritten` of a short write).
    written: usize,
    /// Bytes that stay in the file: the part written, when it could not be cut back out.
    kept: usize,
    error: std::io::Error,
    /// Why the part written could not be cut back out.
    truncate_error: Option<std::io::Error>,
}

/// Appends all of `data` to `f`. When only part of it gets in, cuts that part back out (a
/// command cut in two would break the file) so the whole is retried; when the file cannot be
/// cut, that part stays (`kept`) and only the rest is retried.
fn write_or_undo(f: &mut File, data: &[u8]) -> Result<(), WriteFailure> {
    let mut done = 0;
    let error = loop {
        if done == data.len() {
            return Ok(());
        }
        match f.write(&data[done..]) {
            Ok(0) => break std::io::Error::from(std::io::ErrorKind::WriteZero),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break e,
        }
    };
    let mut failure = WriteFailure {
        written: done,
        kept: 0,
        error,
        truncate_error: None,
    };
    if done > 0 {
        let cut = f
            .metadata()
            .and_then(|meta| f.set_len(meta.len().saturating_sub(done as u64)));
        if let Err(e) = cut {
            failure.kept = done;
            failure.truncate_error = Some(e);
        }
    }
    Err(failure)
}

/// fdatasyncs the open file (Redis's `redis_fsync` on Linux). Tests can make it fail.
fn fdatasync(io: &Io) -> std::io::Result<()> {
    #[cfg(test)]
    if let Some(errno) = io.fsync_fault {
        return Err(std::io::Error::from_raw_os_error(errno));
    }
    match io.file.as_ref() {
        Some(f) => f.sync_data(),
        None => Ok(()),
    }
}

/// The `always` fsync: replies promise durability, so a failure stops the server rather
/// than lie, with Redis's message.
fn fsync_always(io: &mut Io) {
    if let Err(e) = fdatasync(io) {
        tracing::warn!(
            "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. \
             Exiting...",
            strerror(&e)
        );
        std::process::exit(1);
    }
    io.unsynced = false;
    io.last_fsync = Instant::now();
}

/// Writes `data` to `dir/name` atomically: a temporary file, fsynced, renamed over it.
pub fn write_atomically(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("temp-{name}"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    crate::util::sync_dir(dir);
    Ok(())
}

/// Writes the manifest into the AOF directory.
///
/// Each failing step logs Redis's line for it (with strerror's text), so callers add none.
fn persist_manifest(s: &Settings, m: &Manifest) -> std::io::Result<()> {
    let (dir, name) = (s.dir(), s.manifest_name());
    let tmp_name = format!("temp-{name}");
    let tmp = dir.join(&tmp_name);
    let mut f = File::create(&tmp).inspect_err(|e| {
        tracing::warn!("Can't open the AOF manifest file {tmp_name}: {}", strerror(e))
    })?;
    f.write_all(m.to_text().as_bytes()).inspect_err(|e| {
        let e = strerror(e);
        tracing::warn!("Error trying to write the temporary AOF manifest file {tmp_name}: {e}")
    })?;
    f.sync_all().inspect_err(|e| {
        tracing::warn!("Fail to fsync the temp AOF file {tmp_name}: {}.", strerror(e))
    })?;
    drop(f);
    std::fs::rename(&tmp, dir.join(&name)).inspect_err(|e| {
        tracing::warn!(
            "Error trying to rename the temporary AOF manifest file {tmp_name} into {name}: {}",
            strerror(e)
        )
    })?;
    crate::util::sync_dir(&dir);
    Ok(())
}

/// Opens (creating) an incremental file for appending.
fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Returns the size of `path`, 0 when it cannot be read.
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Total size of the base and incremental files of `m` in `dir`.
fn files_size(dir: &Path, m: &Manifest) -> u64 {
    m.base
        .iter()
        .chain(m.incr.iter())
        .map(|f| file_size(&dir.join(&f.name)))
        .sum()
}

/// Deletes the history files of the manifest (unless `aof-disable-auto-gc`) and persists it
/// without them.
fn delete_history(s: &Settings, m: &mut Manifest) {
    if s.disable_auto_gc || m.history.is_empty() {
        return;
    }
    for f in m.history.drain(..) {
        let path = s.dir().join(&f.name);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("Failed to remove the history AOF file {}: {e}", f.name);
        } else {
            tracing::info!("Removing the history file {} in the background", f.name);
        }
    }
    // A failure is logged by `persist_manifest`, as Redis logs it.
    let _ = persist_manifest(s, m);
}

/// Start-up: loads the AOF when `appendonly yes` (it wins over the RDB) and opens it for
/// appending. Returns false when the server must not start (logged).
pub fn boot(server: &Server) -> bool {
    if !load::load_at_boot(server) {
        return false;
    }
    !Settings::read(server).enabled || start_at_boot(server)
}

/// Turns the AOF on at start-up, after loading: opens the newest incremental file for
/// appending (creating one when the manifest has none); when the manifest names no file at
/// all, first writes a base from the dataset, as Redis does on a first start. Returns false
/// when the server must not start.
pub fn start_at_boot(server: &Server) -> bool {
    let s = Settings::read(server);
    let aof = &server.aof;
    aof.apply_settings(&s);
    aof.ensure_writer();
    let mut m = aof.manifest.lock();
    if let Err(e) = std::fs::create_dir_all(s.dir()) {
        tracing::warn!("Can't open or create append-only dir {}: {e}", s.dirname);
        return false;
    }
    if m.base.is_none() && m.incr.is_empty() {
        // No client runs yet: the image is taken with every shard held, as SAVE does.
        let name = m.new_base(&s.filename, s.rdb_preamble);
        let written = if s.rdb_preamble {
            let mut opts = crate::cmd::persist::save_opts(server);
            opts.aof_base = true;
            let dbs = server.store.databases();
            crate::persistence::file::write_file(&s.dir().join(&name), "aof-", opts, |w| {
                let mut ks = server.store.lock_all(0, crate::util::now_ms());
                crate::persistence::file::write_keyspace(&mut ks, dbs, w)
            })
            .map(|_| ())
        } else {
            let image = {
                let mut ks = server.store.lock_all(0, crate::util::now_ms());
                rewrite::dump_commands(&mut ks, s.timestamps)
            };
            write_atomically(&s.dir(), &name, &image)
        };
        if let Err(e) = written {
            tracing::warn!("Can't create the AOF base file {name}: {e}");
            return false;
        }
        tracing::info!("Creating AOF base file {name} on server start");
    }
    let (name, created) = match m.incr.last() {
        Some(f) => (f.name.clone(), false),
        None => (m.new_incr(&s.filename), true),
    };
    match open_append(&s.dir().join(&name)) {
        Ok(f) => aof.switch_to(f),
        Err(e) => {
            tracing::warn!("Can't open the append-only file {name}: {e}");
            return false;
        }
    }
    if persist_manifest(&s, &m).is_err() {
        return false;
    }
    if created {
        tracing::info!("Creating AOF incr file {name} on server start");
    } else {
        tracing::info!("Opening AOF incr file {name} on server start");
    }
    let size = files_size(&s.dir(), &m);
    aof.stats.current_size.store(size, Ordering::Relaxed);
    aof.stats.base_size.store(size, Ordering::Relaxed);
    delete_history(&s, &mut m);
    drop(m);
    turn_on(server);
    true
}

/// Turns the AOF on: from now on commands are propagated and appended to the current file.
pub fn turn_on(server: &Server) {
    server.aof.set_on(true);
    server.store.tunables.propagate.store(true, Ordering::Relaxed);
}

/// Applies CONFIG SET of the AOF directives: `appendonly yes` starts the AOF with a rewrite
/// (scheduled for the cron when run inside EXEC, which holds every shard), `appendonly no`
/// stops it; `appendfsync` and `aof-timestamp-enabled` apply at once. The error is CONFIG
/// SET's reason.
pub fn config_changed(server: &Server, in_exec: bool) -> Result<(), String> {
    let s = Settings::read(server);
    let aof = &server.aof;
    aof.apply_settings(&s);
    let waiting = aof.stats.wait_rewrite.load(Ordering::Relaxed);
    if s.enabled && !aof.is_on() && !waiting {
        aof.ensure_writer();
        aof.stats.wait_rewrite.store(true, Ordering::Relaxed);
        let shared = crate::server::listen::shared(server);
        if in_exec
            || aof.stats.rewrite_in_progress.load(Ordering::Relaxed)
            || server.persist.bgsave_in_progress.load(Ordering::Acquire)
        {
            aof.stats.rewrite_scheduled.store(true, Ordering::Relaxed);
            if in_exec && !server.persist.bgsave_in_progress.load(Ordering::Acquire) {
                tracing::warn!(
                    "AOF was enabled during a transaction. An AOF background was scheduled to \
                     start when possible."
                );
            } else {
                tracing::warn!(
                    "AOF was enabled but there is already another background operation. An \
                     AOF background was scheduled to start when possible."
                );
            }
            aof.forget_errors();
            return Ok(());
        }
        let started = match shared {
            Some(arc) => rewrite::start_background(&arc),
            None => rewrite::rewrite_now(server, "").is_ok(),
        };
        if !started {
            aof.stats.wait_rewrite.store(false, Ordering::Relaxed);
            tracing::warn!(
                "Redis needs to enable the AOF but can't trigger a background AOF rewrite \
                 operation. Check the above logs for more info about the error."
            );
            return Err("Failed to start AOF".into());
        }
        aof.forget_errors();
    } else if !s.enabled && (aof.is_on() || waiting) {
        stop(server);
    }
    // `aof-disable-auto-gc no` deletes the history now (`delete_history` checks it). A rewrite
    // running holds the manifest, and deletes the history itself when it ends.
    if let Some(mut m) = aof.manifest.try_lock() {
        delete_history(&s, &mut m);
    }
    Ok(())
}

/// Turns the AOF off (CONFIG SET appendonly no).
pub fn stop(server: &Server) {
    let stats = &server.aof.stats;
    stats.wait_rewrite.store(false, Ordering::Relaxed);
    stats.rewrite_scheduled.store(false, Ordering::Relaxed);
    if stats.rewrite_in_progress.load(Ordering::Relaxed) {
        kill_rewrite(server);
    }
    // (The rewrite clears the flag when it ends, even if it had not started yet.) The manifest
    // lock is not taken: a rewrite holds it while it waits for every shard, which EXEC may
    // hold while it runs this.
    server
        .store
        .tunables
        .propagate
        .store(false, Ordering::Relaxed);
    server.aof.close();
}

/// Stops a running rewrite: its child killed with SIGUSR1 (first: a child that saw its
/// stream end before the signal would count as a failed rewrite), the walk cancelled. Does
/// not wait. Returns the child's pid, if one was running.
pub fn kill_rewrite(server: &Server) -> Option<u32> {
    use crate::persistence::child::{self, Job};
    let pid = child::kill(Job::Aof, libc::SIGUSR1);
    match pid {
        Some(pid) => tracing::info!("Killing running AOF rewrite child: {pid}"),
        None => tracing::info!("Killing running AOF rewrite child: the aof-rewrite thread"),
    }
    server.aof.cancel_rewrite.store(true, Ordering::Relaxed);
    pid
}

/// Writes out and fsyncs the AOF before the process exits.
pub fn shutdown(server: &Server) {
    if server.aof.stats.rewrite_in_progress.load(Ordering::Relaxed) {
        tracing::warn!("There is a child rewriting the AOF. Killing it!");
        let pid = kill_rewrite(server);
        // Let the rewrite reap its child and clean up (it ends soon after the kill), so no
        // child outlives the server; bounded, since the process is exiting anyway.
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.aof.stats.rewrite_in_progress.load(Ordering::Relaxed)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(pid) = pid {
            use crate::persistence::child::{Job, temp_name};
            let _ = std::fs::remove_file(temp_name(Job::Aof, pid));
        }
    }
    if server.aof.is_on() {
        tracing::info!("Calling fsync() on the AOF file.");
        server.aof.flush_all();
    }
}

#[cfg(test)]
impl Aof {
    /// Turns the AOF on without a file: what commands feed stays in the buffer for
    /// [`Aof::take_buffer`].
    pub(crate) fn capture(&self) {
        self.set_on(true);
    }

    /// Takes what was fed so far.
    pub(crate) fn take_buffer(&self) -> Vec<u8> {
        std::mem::take(&mut self.pending.lock().buf)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::Ordering;

    use crate::command::testing::Harness;

    /// A harness whose server propagates into a captured buffer.
    fn propagating() -> Harness {
        let h = Harness::new();
        start_capture(&h);
        h
    }

    /// Makes `h`'s server propagate from now on into a captured buffer (read with [`fed`]).
    pub(crate) fn start_capture(h: &Harness) {
        h.server.aof.capture();
        h.server
            .store
            .tunables
            .propagate
            .store(true, Ordering::Relaxed);
    }

    /// Runs `argv` and returns what it propagated, one string per command ("SELECT 0" first
    /// when the file's database changes).
    fn prop(h: &mut Harness, argv: &[&str]) -> Vec<String> {
        h.run(argv);
        fed(h)
    }

    /// What the AOF was fed since the last call, one string per command.
    pub(crate) fn fed(h: &Harness) -> Vec<String> {
        let buf = h.server.aof.take_buffer();
        super::load::parse_all(&buf)
            .into_iter()
            .map(|c| {
                c.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn ms_of(line: &str) -> i64 {
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn plain_writes_propagate_as_received_with_select_on_db_change() {
        let mut h = propagating();
        assert_eq!(prop(&mut h, &["set", "k", "v"]), ["SELECT 0", "set k v"]);
        assert_eq!(prop(&mut h, &["set", "k", "v"]), ["set k v"]);
        assert!(prop(&mut h, &["get", "k"]).is_empty());
        assert!(
            prop(&mut h, &["setnx", "k", "v"]).is_empty(),
            "no change, nothing"
        );
        h.run(&["select", "3"]);
        assert_eq!(
            prop(&mut h, &["rpush", "l", "a"]),
            ["SELECT 3", "rpush l a"]
        );
    }

    #[test]
    fn relative_and_second_expiries_become_absolute_ms() {
        let mut h = propagating();
        let now = crate::util::now_ms();
        let p = prop(&mut h, &["set", "k", "v", "ex", "100"]);
        assert!(p[1].starts_with("SET k v PXAT "), "{p:?}");
        assert!((ms_of(&p[1]) - (now + 100_000)).abs() < 2000);
        let p = prop(&mut h, &["setex", "k", "100", "v"]);
        assert!(p[0].starts_with("SET k v PXAT "), "{p:?}");
        let p = prop(&mut h, &["expire", "k", "50", "xx"]);
        assert!(
            p[0].starts_with("PEXPIREAT k ") && p[0].ends_with(" xx"),
            "{p:?}"
        );
        assert_eq!(
            prop(&mut h, &["expireat", "k", "99999999999"]),
            ["PEXPIREAT k 99999999999000"]
        );
        assert_eq!(
            prop(&mut h, &["pexpireat", "k", "99999999999999"]),
            ["pexpireat k 99999999999999"]
        );
        assert_eq!(prop(&mut h, &["expire", "k", "-1"]), ["DEL k"]);
        assert!(prop(&mut h, &["expire", "nokey", "10"]).is_empty());
        h.run(&["set", "g", "v"]);
        h.server.aof.take_buffer();
        let p = prop(&mut h, &["getex", "g", "px", "1000"]);
        assert!(p[0].starts_with("PEXPIREAT g "), "{p:?}");
        assert_eq!(prop(&mut h, &["getex", "g", "persist"]), ["PERSIST g"]);
        assert!(prop(&mut h, &["getex", "g"]).is_empty());
        assert_eq!(prop(&mut h, &["getex", "g", "exat", "1"]), ["DEL g"]);
    }

    #[test]
    fn value_rewrites() {
        let mut h = propagating();
        h.run(&["set", "k", "1"]);
        h.server.aof.take_buffer();
        assert_eq!(prop(&mut h, &["set", "k", "2", "get"]), ["set k 2"]);
        assert_eq!(prop(&mut h, &["getset", "k", "3"]), ["SET k 3"]);
        assert_eq!(
            prop(&mut h, &["incrbyfloat", "k", "1.5"]),
            ["SET k 4.5 KEEPTTL"]
        );
        assert_eq!(prop(&mut h, &["getdel", "k"]), ["DEL k"]);
        assert_eq!(
            prop(&mut h, &["hincrbyfloat", "h", "f", "2.5"]),
            ["HSET h f 2.5"]
        );
        assert_eq!(prop(&mut h, &["flushall"]), ["flushall"]);
        assert_eq!(
            prop(&mut h, &["flushdb"]),
            ["flushdb"],
            "forced even when empty"
        );
    }

    #[test]
    fn spop_becomes_srem_or_del() {
        let mut h = propagating();
        h.run(&["sadd", "s", "1", "2", "3", "4", "5"]);
        h.server.aof.take_buffer();
        let p = prop(&mut h, &["spop", "s"]);
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("SREM s "), "{p:?}");
        let p = prop(&mut h, &["spop", "s", "2"]);
        assert_eq!(p.len(), 4, "{p:?}");
        assert_eq!((p[0].as_str(), p[3].as_str()), ("MULTI", "EXEC"));
        assert!(p[1].starts_with("SREM s ") && p[2].starts_with("SREM s "));
        assert_eq!(prop(&mut h, &["spop", "s", "10"]), ["DEL s"]);
    }

    #[test]
    fn pops_propagate_their_plain_forms() {
        let mut h = propagating();
        h.run(&["rpush", "l", "a", "b", "c", "d"]);
        h.run(&["zadd", "z", "1", "a", "2", "b", "3", "c"]);
        h.server.aof.take_buffer();
        assert_eq!(prop(&mut h, &["blpop", "l", "0"]), ["LPOP l"]);
        assert_eq!(
            prop(&mut h, &["lmpop", "1", "l", "right", "count", "9"]),
            ["RPOP l 3"]
        );
        h.run(&["rpush", "l", "a"]);
        h.server.aof.take_buffer();
        assert_eq!(
            prop(&mut h, &["blmove", "l", "m", "left", "right", "0"]),
            ["LMOVE l m left right"]
        );
        assert_eq!(
            prop(&mut h, &["brpoplpush", "m", "l", "0"]),
            ["RPOPLPUSH m l"]
        );
        assert_eq!(prop(&mut h, &["bzpopmin", "z", "0"]), ["ZPOPMIN z"]);
        assert_eq!(
            prop(&mut h, &["zmpop", "1", "z", "max", "count", "5"]),
            ["ZPOPMAX z 2"]
        );
    }

    #[test]
    fn a_served_waiter_propagates_after_the_push() {
        let mut h = propagating();
        let mut w = h.another();
        w.run(&["blpop", "q", "0"]);
        let p = prop(&mut h, &["rpush", "q", "x", "y"]);
        assert_eq!(p, ["SELECT 0", "rpush q x y", "LPOP q"]);
    }

    #[test]
    fn transactions_wrap_several_writes_only() {
        let mut h = propagating();
        h.run(&["multi"]);
        h.run(&["set", "a", "1"]);
        h.run(&["incr", "a"]);
        h.run(&["get", "a"]);
        let p = prop(&mut h, &["exec"]);
        assert_eq!(p, ["SELECT 0", "MULTI", "set a 1", "incr a", "EXEC"]);
        h.run(&["multi"]);
        h.run(&["incr", "a"]);
        h.run(&["get", "a"]);
        assert_eq!(prop(&mut h, &["exec"]), ["incr a"]);
        h.run(&["multi"]);
        h.run(&["get", "a"]);
        assert!(prop(&mut h, &["exec"]).is_empty());
    }

    #[test]
    fn expired_keys_propagate_as_del_before_the_command() {
        let mut h = propagating();
        h.run(&["set", "e", "1", "px", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        h.server.aof.take_buffer();
        assert_eq!(prop(&mut h, &["get", "e"]), ["DEL e"]);
        h.run(&["set", "e", "1", "px", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        h.server.aof.take_buffer();
        assert_eq!(prop(&mut h, &["incr", "e"]), ["DEL e", "incr e"]);
    }

    #[test]
    fn elements_given_back_by_a_gone_waiter_are_propagated_too() {
        let mut h = propagating();
        let mut w = h.another();
        w.run(&["blmpop", "0", "1", "k", "right", "count", "2"]);
        let p = prop(&mut h, &["rpush", "k", "1", "2", "3"]);
        assert_eq!(p, ["SELECT 0", "rpush k 1 2 3", "RPOP k 2"]);
        let server = w.server.clone();
        crate::cmd::blocking::finish_blocked(&server, &mut w.client, &mut w.out, true);
        let back = super::load::parse_all(&h.server.aof.take_buffer());
        let back: Vec<String> = back
            .iter()
            .map(|c| String::from_utf8_lossy(&c.join(&b' ')).into_owned())
            .collect();
        assert_eq!(back, ["RPUSH k 2 3"]);
        let bulks = |v: &[&str]| {
            crate::protocol::reply::Value::Array(
                v.iter()
                    .map(|e| crate::protocol::reply::Value::Bulk(e.as_bytes().to_vec()))
                    .collect(),
            )
        };
        assert_eq!(h.run(&["lrange", "k", "0", "-1"]), bulks(&["1", "2", "3"]));
    }

    #[test]
    fn nothing_is_gathered_when_off() {
        let mut h = Harness::new();
        h.run(&["set", "k", "v", "ex", "10"]);
        assert!(h.server.aof.take_buffer().is_empty());
    }

    use crate::protocol::reply::Value;

    /// A path in the temp directory for test `tag`, removed first.
    fn temp_path(tag: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("rrs-aof-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    fn read(path: &std::path::Path) -> Vec<u8> {
        std::fs::read(path).unwrap_or_default()
    }

    /// /dev/full: refuses every write with ENOSPC, as a full disk does.
    fn full_disk() -> std::fs::File {
        std::fs::OpenOptions::new().append(true).open("/dev/full").unwrap()
    }

    /// A propagating harness whose AOF appends to the file at `path` (`everysec`).
    fn with_file(path: &std::path::Path) -> Harness {
        let h = propagating();
        h.server.aof.io.lock().file = Some(super::open_append(path).unwrap());
        h
    }

    /// One pass of the writer thread, with the everysec fsync due.
    fn writer_pass(h: &Harness) {
        let aof = &h.server.aof;
        {
            let mut io = aof.io.lock();
            let due = std::time::Instant::now().checked_sub(std::time::Duration::from_secs(2));
            io.last_fsync = due.unwrap_or(io.last_fsync);
        }
        aof.write_pass(aof.pending.lock());
    }

    /// Makes every fsync of `h`'s AOF fail with `errno` (or work again with `None`).
    fn fsync_fault(h: &Harness, errno: Option<i32>) {
        h.server.aof.io.lock().fsync_fault = errno;
    }

    /// INFO persistence's `aof_last_write_status`.
    fn write_status(h: &mut Harness) -> String {
        let text = match h.run(&["info", "persistence"]) {
            Value::Bulk(b) => String::from_utf8(b).unwrap(),
            other => panic!("{other:?}"),
        };
        text.lines()
            .find_map(|l| l.strip_prefix("aof_last_write_status:"))
            .unwrap()
            .to_string()
    }

    fn ok() -> Value {
        Value::Simple("OK".into())
    }

    #[test]
    fn a_failed_write_is_kept_and_written_first_once_the_disk_takes_it() {
        let aof = super::Aof::default();
        aof.set_on(true);
        let mut io = aof.io.lock();
        io.file = Some(full_disk());
        aof.write_chunk(&mut io, b"*1\r\n$5\r\nMULTI\r\n");
        aof.write_chunk(&mut io, b"*1\r\n$4\r\nEXEC\r\n");
        assert!(!aof.stats.writes_ok.load(Ordering::Relaxed));
        assert!(!aof.stats.write_status_ok());
        assert_eq!(
            aof.write_error().as_deref(),
            Some("MISCONF Errors writing to the AOF file: No space left on device")
        );
        assert_eq!(io.retry, b"*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nEXEC\r\n");
        // The disk has room again: the retry (an empty chunk, as the writer's once-a-second
        // pass) writes the kept bytes, in order, before anything newer.
        let path = temp_path("full");
        io.file = Some(super::open_append(&path).unwrap());
        aof.write_chunk(&mut io, b"");
        aof.write_chunk(&mut io, b"*1\r\n$4\r\nPING\r\n");
        assert!(aof.write_error().is_none());
        assert!(aof.stats.writes_ok.load(Ordering::Relaxed));
        assert!(aof.stats.write_status_ok());
        assert!(io.retry.is_empty());
        drop(io);
        let got = read(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(got, b"*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nEXEC\r\n*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn writes_and_ping_are_refused_while_the_aof_cannot_be_written() {
        let mut h = propagating();
        let aof = &h.server.aof;
        aof.update_errors(|e| e.write = Some("No space left on device".into()));
        let misconf = "MISCONF Errors writing to the AOF file: No space left on device";
        assert_eq!(h.run(&["set", "k", "v"]), Value::Error(misconf.into()));
        assert_eq!(h.run(&["ping"]), Value::Error(misconf.into()));
        assert_eq!(h.run(&["get", "k"]), Value::Null);
        // Queued, a write is refused as well, and the transaction with it (Redis rejects it
        // before queueing).
        h.run(&["multi"]);
        assert_eq!(h.run(&["set", "k", "v"]), Value::Error(misconf.into()));
        assert_eq!(
            h.run(&["exec"]),
            Value::Error("EXECABORT Transaction discarded because of previous errors.".into())
        );
        // A retry that works lets writes through again.
        h.server.aof.write_solved();
        assert_eq!(h.run(&["set", "k", "v"]), ok());
        // A transaction queued before the failure is refused at EXEC.
        h.run(&["multi"]);
        assert_eq!(h.run(&["set", "k", "w"]), Value::Simple("QUEUED".into()));
        h.server.aof.update_errors(|e| e.write = Some("No space left on device".into()));
        assert_eq!(
            h.run(&["exec"]),
            Value::Error(format!("EXECABORT Transaction discarded because of: {misconf}"))
        );
        assert_eq!(h.run(&["get", "k"]), Value::Bulk(b"v".to_vec()));
    }

    #[test]
    fn a_failed_everysec_fsync_refuses_writes_until_a_later_fsync_works() {
        let path = temp_path("fsync");
        let mut h = with_file(&path);
        assert_eq!(h.run(&["set", "k", "v"]), ok());
        fsync_fault(&h, Some(libc::EIO));
        writer_pass(&h);
        // The write itself reached the file; its fsync did not.
        assert!(read(&path).ends_with(b"$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"));
        let misconf = "MISCONF Errors writing to the AOF file: Input/output error";
        assert_eq!(h.run(&["set", "k", "w"]), Value::Error(misconf.into()));
        assert_eq!(h.run(&["ping"]), Value::Error(misconf.into()));
        assert_eq!(h.run(&["get", "k"]), Value::Bulk(b"v".to_vec()));
        assert_eq!(write_status(&mut h), "err");
        // As Redis, the fsync runs again only once something more was written: a pass with
        // nothing new leaves the failure standing even though fsync would work now.
        fsync_fault(&h, None);
        writer_pass(&h);
        assert_eq!(h.run(&["set", "k", "w"]), Value::Error(misconf.into()));
        // Something still reaches the AOF while writes are refused (keys the active expiry
        // deletes); its fsync works and clears the failure.
        h.server.aof.feed_expired(0, &mut vec![b"gone".to_vec()], false);
        writer_pass(&h);
        assert_eq!(h.run(&["set", "k", "w"]), ok());
        assert_eq!(h.run(&["ping"]), Value::Simple("PONG".into()));
        assert_eq!(write_status(&mut h), "ok");
        assert!(h.server.aof.stats.writes_ok.load(Ordering::Relaxed));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn fsync_errors_redis_takes_for_a_closed_descriptor_are_ignored() {
        let path = temp_path("einval");
        let mut h = with_file(&path);
        for errno in [libc::EINVAL, libc::EBADF] {
            h.run(&["set", "k", "v"]);
            fsync_fault(&h, Some(errno));
            writer_pass(&h);
            assert_eq!(h.run(&["set", "k", "v"]), ok(), "errno {errno}");
            assert_eq!(write_status(&mut h), "ok");
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_write_error_wins_over_an_fsync_error_in_the_misconf_text() {
        let mut h = propagating();
        h.server.aof.update_errors(|e| e.fsync = Some("Input/output error".into()));
        h.server.aof.update_errors(|e| e.write = Some("No space left on device".into()));
        let want = "MISCONF Errors writing to the AOF file: No space left on device";
        assert_eq!(h.run(&["set", "k", "v"]), Value::Error(want.into()));
        h.server.aof.write_solved();
        let want = "MISCONF Errors writing to the AOF file: Input/output error";
        assert_eq!(h.run(&["set", "k", "v"]), Value::Error(want.into()));
    }

    #[test]
    fn turning_the_aof_off_lets_writes_through_and_turning_it_on_forgets_the_failure() {
        let path = temp_path("off");
        let mut h = with_file(&path);
        h.run(&["set", "k", "v"]);
        fsync_fault(&h, Some(libc::EIO));
        writer_pass(&h);
        assert!(matches!(h.run(&["set", "k", "w"]), Value::Error(_)));
        assert_eq!(h.run(&["config", "set", "appendonly", "no"]), ok());
        // The gate's fast path is clean again (no slow-path call per write)...
        assert!(!crate::cmd::persist::disk_failed(&h.server));
        assert_eq!(h.run(&["set", "k", "w"]), ok());
        assert_eq!(h.run(&["ping"]), Value::Simple("PONG".into()));
        // ...but INFO still reports the failure until the AOF is turned on again, as Redis.
        assert_eq!(write_status(&mut h), "err");
        // Turned on inside a transaction, the AOF waits for a rewrite the cron starts (none
        // here); the old failure is forgotten at once.
        h.run(&["multi"]);
        h.run(&["config", "set", "appendonly", "yes"]);
        assert_eq!(h.run(&["exec"]), Value::Array(vec![ok()]));
        assert_eq!(write_status(&mut h), "ok");
        assert!(!crate::cmd::persist::disk_failed(&h.server));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_write_failure_stays_off_the_fast_path_while_the_aof_is_off() {
        let h = propagating();
        h.server.aof.set_on(false);
        h.server.aof.update_errors(|e| e.write = Some("No space left on device".into()));
        assert!(!crate::cmd::persist::disk_failed(&h.server));
        assert!(h.server.aof.write_error().is_none());
        h.server.aof.set_on(true);
        assert!(crate::cmd::persist::disk_failed(&h.server));
    }

    #[test]
    fn bytes_a_switched_from_file_lacks_go_to_that_file_not_the_new_one() {
        let mut h = propagating();
        let aof = &h.server.aof;
        aof.io.lock().file = Some(full_disk());
        h.run(&["set", "a", "1"]);
        writer_pass(&h);
        assert!(h.server.aof.write_error().is_some());
        // A rewrite switches files at an instant while the old one still lacks bytes.
        let new = temp_path("switch-new");
        h.server.aof.switch_to(super::open_append(&new).unwrap());
        {
            let io = h.server.aof.io.lock();
            assert_eq!(io.stale.len(), 1);
            assert!(io.retry.is_empty());
        }
        // Writes stay refused while the old file lacks them (a failed rewrite keeps it).
        assert!(matches!(h.run(&["set", "b", "2"]), Value::Error(_)));
        // The old file takes them once the disk has room (here: the descriptor swapped for a
        // real file), and nothing of them goes to the new file.
        let old = temp_path("switch-old");
        h.server.aof.io.lock().stale[0].file = super::open_append(&old).unwrap();
        writer_pass(&h);
        assert!(h.server.aof.io.lock().stale.is_empty());
        assert_eq!(h.run(&["set", "b", "2"]), ok());
        writer_pass(&h);
        let parsed = |p: &std::path::Path| {
            super::load::parse_all(&read(p))
                .iter()
                .map(|c| String::from_utf8_lossy(&c.join(&b' ')).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(parsed(&old), ["SELECT 0", "set a 1"]);
        assert_eq!(parsed(&new), ["SELECT 0", "set b 2"]);
        let _ = std::fs::remove_file(&old);
        let _ = std::fs::remove_file(&new);
    }

    #[test]
    fn a_rewrite_that_installs_its_base_ends_the_old_files_retries() {
        let h = propagating();
        let aof = &h.server.aof;
        aof.io.lock().file = Some(full_disk());
        aof.feed_expired(0, &mut vec![b"x".to_vec()], false);
        writer_pass(&h);
        let new = temp_path("retired");
        aof.switch_to(super::open_append(&new).unwrap());
        assert!(aof.write_error().is_some());
        aof.old_files_retired();
        assert!(aof.io.lock().stale.is_empty());
        assert!(aof.write_error().is_none());
        assert!(!crate::cmd::persist::disk_failed(&h.server));
        let _ = std::fs::remove_file(&new);
    }
}
