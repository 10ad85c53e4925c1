//! RDB files: writing a whole keyspace (header, aux fields, databases, EOF, checksum) to a
//! temporary file renamed into place once it is complete and synced, and loading one back
//! into the keyspace.
//!
//! Loading never holds the whole file: it reads through a [`Window`] refilled as records are
//! parsed (a record cut by the window's end is parsed again once whole; one larger than the
//! window grows it for a while), with the CRC-64 fed as bytes leave it, so the peak memory of
//! a start is the dataset plus about a megabyte, as Redis's is. The AOF loader reads its files
//! through the same window. Each database's tables are sized from the file's RESIZEDB hint
//! before its keys arrive, as Redis does, so they are not rehashed while they fill.
//!
//! The writer takes keys one at a time through [`RdbWriter::key`], in any order across
//! databases (it emits SELECTDB whenever the database changes), so the same code serves SAVE
//! (walking a keyspace whose every shard is held). BGSAVE serializes the keys a
//! `Store::snapshot` hands over with a [`KeyEncoder`] (under the key's shard lock, into a
//! buffer) and appends the finished buffers with [`RdbWriter::raw`] on the saving thread, into
//! the pipe of the save child that writes the file (`child.rs`).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::store::entry::Entry;
use crate::store::snapshot::SnapshotError;
use crate::store::value::Value;
use crate::store::{Keyspace, SHARDS, Store};

use super::rdb::{self, Limits, LoadError, Reader, op, ty};

/// How a file is written.
#[derive(Clone, Debug, Default)]
pub struct SaveOpts {
    /// `rdbcompression`.
    pub compress: bool,
    /// `rdbchecksum` (without it the trailing checksum is 0).
    pub checksum: bool,
    /// The policy is an LRU one: save each key's idle time.
    pub lru: bool,
    /// The policy is an LFU one (`lfu-decay-time` given): save each key's counter.
    pub lfu: Option<u32>,
    /// `rdb-key-save-delay`, in microseconds per key (for tests that need a slow save).
    pub key_delay_us: i64,
    /// `used-mem` aux field.
    pub used_mem: u64,
    /// Aux field `aof-base`: the file is an AOF preamble.
    pub aof_base: bool,
}

/// Serializes key records into a buffer, emitting SELECTDB whenever the database changes
/// from the previous record's. Holds no writer, so it can run under a shard lock and leave the
/// I/O to another thread.
#[derive(Clone, Debug, Default)]
pub struct KeyEncoder {
    opts: SaveOpts,
    db: Option<usize>,
}

impl KeyEncoder {
    /// Returns an encoder for records saved with `opts`.
    pub fn new(opts: SaveOpts) -> KeyEncoder {
        KeyEncoder { opts, db: None }
    }

    /// Appends SELECTDB (with RESIZEDB hints when given) unless `db` is the current database.
    pub fn select_db(&mut self, buf: &mut Vec<u8>, db: usize, sizes: Option<(usize, usize)>) {
        if self.db == Some(db) {
            return;
        }
        self.db = Some(db);
        buf.push(op::SELECTDB);
        rdb::write_len(buf, db as u64);
        if let Some((keys, volatile)) = sizes {
            buf.push(op::RESIZEDB);
            rdb::write_len(buf, keys as u64);
            rdb::write_len(buf, volatile as u64);
        }
    }

    /// Appends the record of one key of database `db`: its expire time, access information
    /// and value (no delay: `rdb-key-save-delay` is the caller's business).
    pub fn key(&mut self, buf: &mut Vec<u8>, db: usize, e: &Entry) {
        self.select_db(buf, db, None);
        if let Some(t) = e.expire() {
            buf.push(op::EXPIRETIME_MS);
            buf.extend_from_slice(&t.to_le_bytes());
        }
        if self.opts.lru {
            buf.push(op::IDLE);
            rdb::write_len(buf, crate::store::idle_seconds(e.clock()));
        } else if let Some(decay) = self.opts.lfu {
            buf.push(op::FREQ);
            buf.push(crate::store::lfu_decayed(e.clock(), decay) as u8);
        }
        let v = e.value();
        buf.push(rdb::object_type(v));
        rdb::write_string(buf, e.key(), self.opts.compress);
        rdb::write_body(buf, v, self.opts.compress);
    }
}

/// Turns one key into bytes for a background save, under the key's shard lock: RDB records
/// ([`KeyEncoder`]), or the commands that rebuild the key (an AOF rewrite's base with
/// `aof-use-rdb-preamble no`). It knows the database of the previous key it encoded.
pub trait Encode: Send {
    fn key(&mut self, buf: &mut Vec<u8>, db: usize, e: &Entry);
}

impl Encode for KeyEncoder {
    fn key(&mut self, buf: &mut Vec<u8>, db: usize, e: &Entry) {
        KeyEncoder::key(self, buf, db, e)
    }
}

/// Where a background save's buffers of encoded keys go, in order.
pub trait RecordsOut {
    /// Writes `records`, the encoding of `keys` keys.
    fn records(&mut self, records: &[u8], keys: u64) -> io::Result<()>;
}

impl<W: Write> RecordsOut for RdbWriter<W> {
    fn records(&mut self, records: &[u8], keys: u64) -> io::Result<()> {
        self.raw(records, keys)
    }
}

/// A plain writer as a [`RecordsOut`]: the bytes as they are, no framing or checksum.
pub struct Plain<W: Write>(pub W);

impl<W: Write> RecordsOut for Plain<W> {
    fn records(&mut self, records: &[u8], _keys: u64) -> io::Result<()> {
        self.0.write_all(records)
    }
}

/// Writes an RDB stream, checksumming as it goes.
pub struct RdbWriter<W: Write> {
    w: W,
    digest: rdb::Crc64Digest,
    buf: Vec<u8>,
    enc: KeyEncoder,
    opts: SaveOpts,
    /// Keys written.
    pub keys: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a stream: the magic and version, and the aux fields Redis 7.0 writes.
    pub fn new(w: W, opts: SaveOpts) -> io::Result<RdbWriter<W>> {
        let mut me = RdbWriter {
            w,
            digest: rdb::CRC64.digest(),
            buf: Vec::new(),
            enc: KeyEncoder::new(opts.clone()),
            opts,
            keys: 0,
        };
        me.buf
            .extend_from_slice(format!("REDIS{:04}", rdb::RDB_VERSION).as_bytes());
        let now = crate::util::now_ms() / 1000;
        me.aux(b"redis-ver", crate::REDIS_VERSION.as_bytes());
        me.aux(b"redis-bits", b"64");
        me.aux(b"ctime", now.to_string().as_bytes());
        me.aux(b"used-mem", me.opts.used_mem.to_string().as_bytes());
        me.aux(b"aof-base", if me.opts.aof_base { b"1" } else { b"0" });
        me.flush()?;
        Ok(me)
    }

    fn aux(&mut self, k: &[u8], v: &[u8]) {
        self.buf.push(op::AUX);
        rdb::write_string(&mut self.buf, k, false);
        rdb::write_string(&mut self.buf, v, false);
    }

    fn flush(&mut self) -> io::Result<()> {
        self.digest.update(&self.buf);
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Starts database `db` with its size hints (RESIZEDB), unless it is the current one.
    pub fn select_db(&mut self, db: usize, sizes: Option<(usize, usize)>) {
        self.enc.select_db(&mut self.buf, db, sizes);
    }

    /// Writes one key of database `db`: its expire time, access information, and value.
    pub fn key(&mut self, db: usize, e: &Entry) -> io::Result<()> {
        self.enc.key(&mut self.buf, db, e);
        self.keys += 1;
        if self.opts.key_delay_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(
                self.opts.key_delay_us as u64,
            ));
        }
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends records a [`KeyEncoder`] made (`keys` of them). The encoder's database state is
    /// its own: a stream fed through `raw` must be fed only through `raw` until
    /// [`RdbWriter::finish`].
    pub fn raw(&mut self, records: &[u8], keys: u64) -> io::Result<()> {
        self.flush()?;
        self.digest.update(records);
        self.w.write_all(records)?;
        self.keys += keys;
        Ok(())
    }

    /// Ends the stream (EOF and checksum) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(op::EOF);
        self.flush()?;
        let crc = if self.opts.checksum {
            self.digest.finalize()
        } else {
            0
        };
        self.w.write_all(&crc.to_le_bytes())?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Returns the temporary file a save of `path` writes first (Redis's `temp-<pid>.rdb`, in the
/// same directory, so the rename is atomic).
pub fn temp_path(path: &Path, tag: &str) -> PathBuf {
    let name = format!("temp-{}{}.rdb", tag, std::process::id());
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(name),
        _ => PathBuf::from(name),
    }
}

/// Writes the keys produced by `walk` to `path` atomically: into a temporary file, synced,
/// then renamed over `path`, then the directory synced. Returns the number of keys written.
pub fn write_file(
    path: &Path,
    tag: &str,
    opts: SaveOpts,
    walk: impl FnOnce(&mut RdbWriter<BufWriter<File>>) -> io::Result<()>,
) -> io::Result<u64> {
    let tmp = temp_path(path, tag);
    let result = (|| {
        let f = File::create(&tmp)?;
        let mut w = RdbWriter::new(BufWriter::with_capacity(1 << 16, f), opts)?;
        walk(&mut w)?;
        let keys = w.keys;
        let f = w.finish()?.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        crate::util::sync_dir(path.parent().unwrap_or(Path::new("")));
        Ok(keys)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes every database of a keyspace whose every shard is held (SAVE, DEBUG RELOAD,
/// SHUTDOWN).
pub fn write_keyspace(
    ks: &mut Keyspace,
    dbs: usize,
    w: &mut RdbWriter<impl Write>,
) -> io::Result<()> {
    for db in 0..dbs {
        let (mut keys, mut volatile) = (0, 0);
        for i in 0..SHARDS {
            let d = &ks.shard_mut(i).dbs[db];
            keys += d.dict.len();
            volatile += d.volatile;
        }
        if keys == 0 {
            continue;
        }
        w.select_db(db, Some((keys, volatile)));
        for i in 0..SHARDS {
            let mut err = None;
            ks.shard_mut(i).dbs[db].dict.for_each(|e| {
                if err.is_none()
                    && let Err(x) = w.key(db, e)
                {
                    err = Some(x);
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
        }
    }
    Ok(())
}

// ---- background saving ----

/// Records are handed to the saving thread in buffers of about this size.
const SINK_BUF: usize = 64 * 1024;
/// Full buffers that may wait for the saving thread before the walker waits for it, between
/// its chunks (bounds the memory a disk slower than the walk costs). Writers never wait: see
/// [`SnapSink`].
const SINK_QUEUE: usize = 16;
/// How often an idle saving thread checks that its destination is still there (a killed
/// child), so a save whose walk is slowed down still ends soon after.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// What a background save has done so far (INFO persistence's `current_save_keys_processed`,
/// `current_save_keys_total`, `current_fork_perc`, `current_cow_size`). Reset when a save
/// starts. Relaxed atomics: each is read on its own.
#[derive(Debug, Default)]
pub struct SaveProgress {
    /// Keys serialized so far.
    pub processed: AtomicU64,
    /// Keys in the image (known at its instant).
    pub total: AtomicU64,
    /// Bytes serialized on behalf of writers about to change keys the walk had not saved
    /// yet: the memory our copy-on-write costs (fork's costs pages instead).
    pub cow: AtomicU64,
}

impl SaveProgress {
    /// Zeroes every counter (a save starts, or ended).
    pub fn reset(&self) {
        for c in [&self.processed, &self.total, &self.cow] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

thread_local! {
    /// True on the walker thread of a background save: the keys it serializes are the walk's,
    /// any other thread's are a writer's copy-on-write.
    static WALKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How a background save is driven: when it must stop, how slow it must be, where it
/// reports progress and how it learns that its destination went away.
pub struct Control<'a> {
    /// Set to stop the save (SHUTDOWN, FLUSHALL, CONFIG SET appendonly no).
    pub cancel: &'a AtomicBool,
    /// `rdb-key-save-delay` (microseconds per key), the value it had when the save started,
    /// as a forked child keeps its copy of the config: the suite sets it to 0 and then kills
    /// the child, expecting the kill, not the new value, to end the save.
    pub delay_us: i64,
    /// Counters for INFO, if any.
    pub progress: Option<&'a SaveProgress>,
    /// True once the destination is gone (the child writing the file exited): checked while
    /// the saving thread has nothing to write.
    pub gone: &'a (dyn Fn() -> bool + Sync),
}

/// The number of buffers a background save queued and has not written yet; the saving
/// thread signals `written` after each buffer.
#[derive(Default)]
struct Queued {
    count: Mutex<usize>,
    written: parking_lot::Condvar,
}

/// The serializing side of a background save, under one short mutex: the encoder (which
/// knows the database of the previous record) and the buffer being filled.
struct SinkState {
    enc: Box<dyn Encode>,
    buf: Vec<u8>,
    keys: u64,
}

/// The sink a background save gives [`crate::store::Store::snapshot`]. It is called from the
/// walker and from writers about to change a key not yet saved, under that key's shard lock:
/// it only serializes into a buffer and queues full buffers for the saving thread, which does
/// the I/O. `rdb-key-save-delay` is paid between the walker's chunks (`aborted`, called with
/// no lock held) and at the end, never under a shard lock, so a slowed save does not slow
/// clients.
///
/// The queue has no bound, so queueing never blocks under a shard lock: a saving thread
/// stuck on its destination (a stopped child, a stalled disk) must not stall the clients, as
/// a stopped fork child does not stall Redis. The walker is what fills the queue, and it
/// waits for room between its chunks, with no lock held ([`SnapSink::wait_for_room`]); what
/// writers add is their copy-on-write, each key at most once, as fork's page copies are.
struct SnapSink<'a> {
    state: Mutex<SinkState>,
    tx: std::sync::mpsc::Sender<(Vec<u8>, u64)>,
    /// Buffers queued and not written yet, with the saving thread's signal that one was.
    queued: &'a Queued,
    /// The saving thread stopped taking buffers (a write error, a destination gone).
    failed: &'a AtomicBool,
    ctl: &'a Control<'a>,
    /// Keys handed over whose delay is not paid yet.
    owed: AtomicU64,
}

impl SnapSink<'_> {
    /// Queues a full buffer for the saving thread. Never blocks.
    fn send(&self, buf: Vec<u8>, keys: u64) {
        *self.queued.count.lock() += 1;
        if self.tx.send((buf, keys)).is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    /// Waits, in short slices so a stopped save ends soon, until at most [`SINK_QUEUE`]
    /// buffers wait for the saving thread. Called by the walker between chunks only.
    fn wait_for_room(&self) {
        let mut n = self.queued.count.lock();
        while *n > SINK_QUEUE && !self.stopped() {
            self.queued.written.wait_for(&mut n, WATCH_EVERY);
        }
    }

    /// Sends what is left in the buffer (after the walk).
    fn flush(&self) {
        let mut g = self.state.lock();
        let buf = std::mem::take(&mut g.buf);
        let keys = std::mem::take(&mut g.keys);
        drop(g);
        if !buf.is_empty() {
            self.send(buf, keys);
        }
    }

    fn stopped(&self) -> bool {
        self.ctl.cancel.load(Ordering::Relaxed) || self.failed.load(Ordering::Relaxed)
    }

    /// Pays the `rdb-key-save-delay` owed for the keys handed over so far, in short slices so
    /// a cancelled or failed save stops soon.
    fn pay_delay(&self) {
        let owed = self.owed.swap(0, Ordering::Relaxed);
        let delay = self.ctl.delay_us;
        if owed == 0 || delay <= 0 {
            return;
        }
        let mut left = std::time::Duration::from_micros(owed.saturating_mul(delay as u64));
        let slice = std::time::Duration::from_millis(10);
        while !left.is_zero() && !self.stopped() {
            let d = left.min(slice);
            std::thread::sleep(d);
            left -= d;
        }
    }
}

impl crate::store::snapshot::Sink for SnapSink<'_> {
    fn key(&self, db: usize, e: &Entry) {
        let mut g = self.state.lock();
        let SinkState { enc, buf, keys } = &mut *g;
        let before = buf.len();
        enc.key(buf, db, e);
        *keys += 1;
        if let Some(p) = self.ctl.progress {
            p.processed.fetch_add(1, Ordering::Relaxed);
            if !WALKER.with(|w| w.get()) {
                p.cow
                    .fetch_add((buf.len() - before) as u64, Ordering::Relaxed);
            }
        }
        self.owed.fetch_add(1, Ordering::Relaxed);
        if buf.len() >= SINK_BUF {
            let full = std::mem::replace(buf, Vec::with_capacity(SINK_BUF + SINK_BUF / 4));
            let n = std::mem::take(keys);
            // Sent under the mutex, so buffers reach the file in the order they were filled
            // (a SELECTDB in one buffer applies to the records of the next).
            self.send(full, n);
        }
    }

    fn aborted(&self) -> bool {
        self.pay_delay();
        self.wait_for_room();
        self.stopped()
    }

    fn started(&self, keys: u64) {
        if let Some(p) = self.ctl.progress {
            p.total.store(keys, Ordering::Relaxed);
        }
    }
}

/// Writes a point-in-time image of every database to `w` through [`Store::snapshot_with`]
/// (`at_instant` runs at the image's instant, with every shard held): the walk runs on a
/// thread of its own while this thread writes the buffers the sink queues. Stops with an
/// error soon after `cancel` is set. `key_delay_us` gives `rdb-key-save-delay` (microseconds
/// per key, paid between the walker's chunks, never under a shard lock).
pub fn write_snapshot(
    store: &Store,
    opts: &SaveOpts,
    cancel: &AtomicBool,
    key_delay_us: i64,
    at_instant: impl FnOnce() + Send,
    w: &mut RdbWriter<impl Write>,
) -> io::Result<()> {
    let ctl = Control {
        cancel,
        delay_us: key_delay_us,
        progress: None,
        gone: &|| false,
    };
    write_snapshot_with(store, opts, &ctl, at_instant, w)
}

/// [`write_snapshot`] driven by a [`Control`]: besides `cancel`, the save stops with an error
/// soon after `ctl.gone` says the destination went away, even while the walk is slowed down
/// and nothing is written; it reports its progress into `ctl.progress`.
pub fn write_snapshot_with(
    store: &Store,
    opts: &SaveOpts,
    ctl: &Control<'_>,
    at_instant: impl FnOnce() + Send,
    w: &mut RdbWriter<impl Write>,
) -> io::Result<()> {
    write_image(store, Box::new(KeyEncoder::new(opts.clone())), ctl, at_instant, w)
}

/// [`write_snapshot_with`] for any encoding of the keys: `enc` serializes each key of the
/// image (under its shard lock) and `w` takes the buffers in order.
pub fn write_image(
    store: &Store,
    enc: Box<dyn Encode>,
    ctl: &Control<'_>,
    at_instant: impl FnOnce() + Send,
    w: &mut impl RecordsOut,
) -> io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel::<(Vec<u8>, u64)>();
    let queued = Queued::default();
    let failed = AtomicBool::new(false);
    let sink = SnapSink {
        state: Mutex::new(SinkState {
            enc,
            buf: Vec::with_capacity(SINK_BUF + SINK_BUF / 4),
            keys: 0,
        }),
        tx,
        queued: &queued,
        failed: &failed,
        ctl,
        owed: AtomicU64::new(0),
    };
    std::thread::scope(|scope| {
        let walker = scope.spawn(|| {
            WALKER.with(|w| w.set(true));
            let res = store.snapshot_with(&sink, at_instant);
            if res.is_ok() {
                sink.flush();
                // The delay of the last chunk (the walker asks `aborted` before chunks only).
                sink.pay_delay();
            }
            // Ends the saving loop below once the queued buffers are written.
            drop(sink);
            res
        });
        let mut err = None;
        loop {
            match rx.recv_timeout(WATCH_EVERY) {
                Ok((buf, keys)) => {
                    let res = w.records(&buf, keys);
                    drop(buf);
                    *queued.count.lock() -= 1;
                    queued.written.notify_one();
                    if let Err(e) = res {
                        err = Some(e);
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if (ctl.gone)() {
                        err = Some(io::Error::from(io::ErrorKind::BrokenPipe));
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if err.is_some() {
            // Stops the walker at its next chunk (or delay slice); dropping the receiver makes
            // the sink's later sends fail too.
            failed.store(true, Ordering::Relaxed);
        }
        drop(rx);
        let res = walker.join();
        if let Some(e) = err {
            return Err(e);
        }
        match res {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(SnapshotError::Aborted)) => Err(io::Error::other("background save cancelled")),
            Ok(Err(e)) => Err(io::Error::other(e.to_string())),
            Err(_) => Err(io::Error::other("background save walker panicked")),
        }
    })
}

/// Streams a point-in-time image to a save child ([`super::child::Writer`]) and waits for it
/// (BGSAVE, and an AOF rewrite's RDB base): the child's exit is the save's. `at_instant` runs
/// at the image's instant; `cancel` stops the stream, as does the child exiting early; `what`
/// names the job in the log line of a stream that broke for another reason.
pub fn stream_to_child(
    store: &Store,
    opts: &SaveOpts,
    cancel: &AtomicBool,
    progress: &SaveProgress,
    at_instant: impl FnOnce() + Send,
    w: super::child::Writer,
    what: &str,
) -> super::child::Exit {
    // Fixed when the save starts, as a forked child's copy of the config is.
    let delay_us = opts.key_delay_us;
    stream_to_child_with(cancel, progress, delay_us, w, what, |w, ctl| {
        let mut rdb = RdbWriter::new(w, opts.clone())?;
        write_snapshot_with(store, opts, ctl, at_instant, &mut rdb)?;
        rdb.finish().map(|_| ())
    })
}

/// [`stream_to_child`] for any image: `write` puts it whole on the child's pipe, its walk
/// driven by the [`Control`] it is given (`cancel`, `delay_us` per key, `progress`, and the
/// child's exit as the destination going away).
pub fn stream_to_child_with(
    cancel: &AtomicBool,
    progress: &SaveProgress,
    delay_us: i64,
    mut w: super::child::Writer,
    what: &str,
    write: impl FnOnce(&mut super::child::Writer, &Control<'_>) -> io::Result<()>,
) -> super::child::Exit {
    let pid = w.pid();
    let ctl = Control {
        cancel,
        delay_us,
        progress: Some(progress),
        gone: &move || super::child::exited(pid),
    };
    let streamed = write(&mut w, &ctl).and_then(|()| w.finish());
    if let Err(e) = &streamed
        && e.kind() != io::ErrorKind::BrokenPipe
        && !cancel.load(Ordering::Relaxed)
    {
        tracing::warn!("{what} stopped streaming to the child: {e}");
    }
    // Without the end of the stream the child discards its file and exits non-zero (unless a
    // signal ended it first).
    w.wait()
}

// ---- loading ----

/// How a file is loaded.
#[derive(Clone, Copy, Debug)]
pub struct LoadOpts {
    /// The policy is an LFU one (access clocks hold counters).
    pub lfu: bool,
    /// `key-load-delay`: microseconds to wait after each key (negative: nanoseconds, spun),
    /// for tests that need a slow load.
    pub key_delay: i64,
    /// Verify the checksum (`rdbchecksum`).
    pub checksum: bool,
    /// Replace keys that exist already instead of failing (DEBUG RELOAD MERGE).
    pub merge: bool,
    /// Drop keys whose expire time has passed (what a master does).
    pub drop_expired: bool,
    /// The clock, in ms.
    pub now: i64,
    /// Thresholds of the loaded values' encodings.
    pub lim: Limits,
}

/// What loading found.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub keys: u64,
    pub expired: u64,
    /// Empty aggregates skipped.
    pub empty: u64,
    /// Where the RDB image ended (after its checksum): an AOF with an RDB preamble goes on
    /// from there.
    pub end: usize,
}

/// Why loading failed.
#[derive(Debug)]
pub enum LoadFail {
    /// Not an RDB file, or a version we cannot read.
    Format(String),
    /// Malformed content at a byte offset.
    Corrupt { offset: usize, reason: String },
    /// The stored checksum does not match.
    Checksum { expected: u64, got: u64 },
    /// More databases than configured.
    TooManyDbs(usize),
    /// A key appears twice.
    Duplicate(Vec<u8>, usize),
    /// Reading the file failed (an I/O error, not its end) at a byte offset.
    Io { offset: usize, err: String },
}

impl std::fmt::Display for LoadFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadFail::Format(s) => write!(f, "{s}"),
            LoadFail::Corrupt { offset, reason } => {
                write!(
                    f,
                    "Internal error in RDB reading offset {offset}, function at rdb.c:0 -> {reason}"
                )
            }
            LoadFail::Checksum { expected, got } => write!(
                f,
                "Wrong RDB checksum expected: ({expected:x}) but got ({got:x}). Aborting now.\n\
                 Internal error in RDB reading offset 0, function at rdb.c:0 -> RDB CRC error"
            ),
            LoadFail::TooManyDbs(n) => writeln!(
                f,
                "FATAL: Data file was created with a Redis server configured to handle more \
                 than {n} databases. Exiting"
            ),
            LoadFail::Io { offset, err } => write!(
                f,
                "Short read or OOM loading DB. Unrecoverable error, aborting now.\n\
                 Internal error in RDB reading offset {offset}, function at rdb.c:0 -> \
                 Unexpected EOF reading RDB file ({err})"
            ),
            LoadFail::Duplicate(k, db) => {
                write!(
                    f,
                    "RDB has duplicated key '{}' in DB {db}",
                    String::from_utf8_lossy(k)
                )
            }
        }
    }
}

/// Files one loaded key in a keyspace view (which holds, or may lock, the key's shard):
/// replaces an existing key when `merge`, fails on one otherwise.
pub fn insert_loaded(ks: &mut Keyspace, merge: bool, db: usize, e: Entry) -> Result<(), LoadFail> {
    if ks.entry_in(db, e.key()).is_some() {
        if !merge {
            return Err(LoadFail::Duplicate(e.key().to_vec(), db));
        }
        ks.remove_in(db, e.key());
    }
    // Loading is not creating: Redis's loader adds keys without the `new` event that
    // `put_entry_in` notes (DEBUG RELOAD would publish it; start-up would only pile it up).
    let events = ks.events.len();
    ks.put_entry_in(db, e);
    ks.events.truncate(events);
    Ok(())
}

/// Waits `key-load-delay` after a key.
fn key_delay(d: i64) {
    if d > 0 {
        std::thread::sleep(std::time::Duration::from_micros(d as u64));
    } else if d < 0 {
        let until = std::time::Instant::now() + std::time::Duration::from_nanos(d.unsigned_abs());
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
    }
}

/// One record of an RDB file, as parsed from the window (borrowing it), before it is applied.
enum Rec<'a> {
    ExpireAt(i64),
    Freq(u8),
    Idle(u64),
    Eof,
    SelectDb(u64),
    ResizeDb(u64),
    Aux(Cow<'a, [u8]>, Cow<'a, [u8]>),
    ModuleAux,
    Function,
    /// A key and its value (`None`: an empty aggregate, which is skipped).
    Key(Cow<'a, [u8]>, Option<Value>),
}

/// Parses the record at the start of `r`. Has no effect but on `r`, so a record cut by the
/// window's end (a [`rdb::SHORT`] error) can be parsed again from its start once the window
/// holds it whole.
fn record<'a>(r: &mut Reader<'a>, lim: &Limits) -> Result<Rec<'a>, LoadError> {
    let t = r.u8()?;
    Ok(match t {
        op::EXPIRETIME_MS => {
            let b = r.bytes(8)?;
            Rec::ExpireAt(i64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        }
        op::EXPIRETIME => {
            let b = r.bytes(4)?;
            Rec::ExpireAt(i32::from_le_bytes(b.try_into().unwrap_or([0; 4])) as i64 * 1000)
        }
        op::FREQ => Rec::Freq(r.u8()?),
        op::IDLE => Rec::Idle(r.length()?),
        op::EOF => Rec::Eof,
        op::SELECTDB => Rec::SelectDb(r.length()?),
        op::RESIZEDB => {
            let keys = r.length()?;
            r.length()?;
            Rec::ResizeDb(keys)
        }
        op::AUX => {
            let k = r.string()?;
            let v = r.string()?;
            Rec::Aux(k, v)
        }
        op::MODULE_AUX => Rec::ModuleAux,
        op::FUNCTION | op::FUNCTION2 => Rec::Function,
        _ if ty::is_object(t) => {
            let key = r.string()?;
            match r.object(t, lim) {
                Ok(v) => Rec::Key(key, Some(v)),
                // Redis skips empty keys in a file rather than failing the load.
                Err(LoadError::Empty) => Rec::Key(key, None),
                Err(e) => return Err(e),
            }
        }
        _ => return Err(LoadError::Corrupt("unknown RDB opcode")),
    })
}

/// What a load does with what it reads: files each key, and sizes a database's tables ahead.
pub struct Target<'a> {
    /// Files one live key (database, entry).
    pub insert: &'a mut dyn FnMut(usize, Entry) -> Result<(), LoadFail>,
    /// Told the number of keys a database is about to receive (the file's RESIZEDB hint, when
    /// the file can hold that many), so its tables are sized once rather than grown.
    pub reserve: &'a mut dyn FnMut(usize, usize),
}

/// Loads an RDB image from the window's position, handing each live key to `insert`
/// (database, entry), and logging the aux fields as Redis does. `progress` is told the offset
/// reached in the file. Leaves the window just after the image (its checksum): an AOF with an
/// RDB preamble goes on from there.
pub fn load<R: Read>(
    dbs: usize,
    w: &mut Window<R>,
    opts: &LoadOpts,
    insert: &mut dyn FnMut(usize, Entry) -> Result<(), LoadFail>,
    progress: &dyn Fn(usize),
) -> Result<Loaded, LoadFail> {
    let target = Target {
        insert,
        reserve: &mut |_, _| {},
    };
    load_into_target(dbs, w, opts, target, progress)
}

/// [`load`] into a [`Target`] that also sizes tables ahead.
pub fn load_into_target<R: Read>(
    dbs: usize,
    w: &mut Window<R>,
    opts: &LoadOpts,
    target: Target<'_>,
    progress: &dyn Fn(usize),
) -> Result<Loaded, LoadFail> {
    let Target { insert, reserve } = target;
    let io_fail = |w: &Window<R>, e: io::Error| LoadFail::Io {
        offset: w.offset() as usize,
        err: e.to_string(),
    };
    w.fill(9).map_err(|e| io_fail(w, e))?;
    let head = w.avail();
    if head.len() < 9 || &head[..5] != b"REDIS" {
        return Err(LoadFail::Format(
            "Wrong signature trying to load DB from file".into(),
        ));
    }
    let ver = std::str::from_utf8(&head[5..9])
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    if !(1..=rdb::RDB_VERSION as u32).contains(&ver) {
        return Err(LoadFail::Format(format!(
            "Can't handle RDB format version {ver}"
        )));
    }
    if opts.checksum && ver >= 5 {
        w.start_digest();
    }
    w.consume(9);
    let corrupt = |offset: u64, e: LoadError| LoadFail::Corrupt {
        offset: offset as usize,
        reason: match e {
            LoadError::Corrupt(s) => s.to_string(),
            LoadError::Empty => "empty key".to_string(),
        },
    };
    let mut out = Loaded::default();
    let mut db = 0usize;
    let (mut expire, mut idle, mut freq) = (None::<i64>, None::<u64>, None::<u8>);
    loop {
        let mut r = Reader::new(w.avail());
        let rec = match record(&mut r, &opts.lim) {
            Ok(rec) => rec,
            Err(e) => {
                let (pos, want) = (r.pos, r.want);
                // Cut by the window's end: parsed again once the window holds the record (it
                // grows when the record alone is larger), unless the file ends first.
                if e == rdb::SHORT && w.fill(want).map_err(|e| io_fail(w, e))? {
                    continue;
                }
                return Err(corrupt(w.offset() + pos as u64, e));
            }
        };
        let used = r.pos;
        let end = w.offset() + used as u64;
        match rec {
            Rec::ExpireAt(t) => expire = Some(t),
            Rec::Freq(f) => freq = Some(f),
            Rec::Idle(i) => idle = Some(i),
            Rec::Eof => {
                w.consume(used);
                break;
            }
            Rec::SelectDb(n) => {
                if n >= dbs as u64 {
                    return Err(LoadFail::TooManyDbs(dbs));
                }
                db = n as usize;
            }
            Rec::ResizeDb(keys) => {
                // A key record takes 3 bytes at least: a hint beyond what the file can hold
                // is a lie, and sizes nothing.
                let left = w.source_len().map_or(0, |l| l.saturating_sub(end) / 3);
                if keys <= left {
                    reserve(db, keys as usize);
                }
            }
            Rec::Aux(k, v) => log_aux(&k, &v),
            Rec::ModuleAux => {
                return Err(LoadFail::Format(
                    "The RDB file contains AUX module data I can't load: no matching module".into(),
                ));
            }
            Rec::Function => {
                return Err(LoadFail::Format(
                    "The RDB file contains functions, which this server cannot load".into(),
                ));
            }
            Rec::Key(key, value) => {
                if value.is_none() {
                    tracing::warn!(
                        "rdbLoadObject skipping empty key: {}",
                        String::from_utf8_lossy(&key)
                    );
                    out.empty += 1;
                }
                let when = expire.take();
                let (i, f) = (idle.take(), freq.take());
                if let Some(value) = value {
                    if opts.drop_expired && when.is_some_and(|w| w < opts.now) {
                        out.expired += 1;
                    } else {
                        let clock = match (opts.lfu, i, f) {
                            (true, _, Some(f)) => crate::store::lfu_clock(f as u32),
                            (true, _, None) => crate::store::lfu_clock(crate::store::LFU_INIT_VAL),
                            (false, Some(i), _) => idle_clock(i),
                            (false, None, _) => crate::store::lru_clock(),
                        };
                        insert(db, Entry::new(&key, value, when, clock))?;
                        out.keys += 1;
                        progress(end as usize);
                        key_delay(opts.key_delay);
                    }
                }
            }
        }
        w.consume(used);
    }
    if ver >= 5 {
        // Covers every byte of the image before the checksum itself.
        let got = w.take_digest();
        w.fill(8).map_err(|e| io_fail(w, e))?;
        let b = w.avail();
        if b.len() < 8 {
            return Err(corrupt(w.offset(), rdb::SHORT));
        }
        let expected = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        w.consume(8);
        if let Some(got) = got
            && expected != 0
            && got != expected
        {
            return Err(LoadFail::Checksum { expected, got });
        }
    }
    out.end = w.offset() as usize;
    Ok(out)
}

/// Returns the access clock of a key idle for `idle` seconds.
pub fn idle_clock(idle: u64) -> u32 {
    let now = crate::store::lru_clock();
    let idle = (idle % (crate::store::LRU_CLOCK_MAX as u64 + 1)) as u32;
    if idle <= now {
        now - idle
    } else {
        crate::store::LRU_CLOCK_MAX - (idle - now) + 1
    }
}

/// Logs the aux fields Redis logs while loading.
fn log_aux(k: &[u8], v: &[u8]) {
    let v_str = String::from_utf8_lossy(v);
    match k {
        b"redis-ver" => tracing::info!("Loading RDB produced by version {v_str}"),
        b"ctime" => {
            let age = crate::util::now_ms() / 1000 - v_str.parse::<i64>().unwrap_or(0);
            tracing::info!("RDB age {} seconds", age.max(0));
        }
        b"used-mem" => {
            let mb = v_str.parse::<f64>().unwrap_or(0.0) / (1024.0 * 1024.0);
            tracing::info!("RDB memory usage when created {mb:.2} Mb");
        }
        _ => {}
    }
}

// ---- reading a file through a window ----

/// How many bytes of a file a load holds ahead of what it has parsed, usually.
pub const WINDOW: usize = 1 << 20;

/// A file read through a window that is refilled as a loader consumes it, so that loading
/// holds the record being parsed and a little read-ahead instead of the whole file (a start's
/// peak memory is then about the dataset, as Redis's, which reads through a small buffer).
///
/// A loader parses from [`Window::avail`] and [`Window::consume`]s whole records. A record cut
/// by the window's end is parsed again from its start once [`Window::fill`] made it whole:
/// the parser says how many bytes it needed, and the window then reads at least that much and
/// at least twice what it held, so a record larger than the window (a big aggregate, a long
/// string) costs at most about two parses of it, and one cut at the edge costs the parse of
/// one record per refill. A window grown for a large record goes back to its usual size at a
/// later refill.
///
/// Read, not mapped: a mapped file that another process truncates while we load it raises
/// SIGBUS and kills the server, where a read ends early and the load reports a truncated
/// file. A file is read up to the length it had when it was opened ([`Window::open`]), so a
/// record claiming to end beyond it is known to be cut without reading the rest of the file.
///
/// It keeps the CRC-64 of the bytes consumed since [`Window::start_digest`], fed as they leave
/// the window, so an RDB file's checksum covers the whole file without holding it.
pub struct Window<R> {
    src: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    start: usize,
    /// The offset in the source of `buf[0]`.
    base: u64,
    /// The source has no more bytes.
    eof: bool,
    /// The window's usual size.
    size: usize,
    /// What the source holds, when known: nothing is read beyond it.
    len: Option<u64>,
    /// The running checksum, and the index in `buf` up to which it has been fed.
    digest: Option<(rdb::Crc64Digest, usize)>,
}

impl Window<io::Take<File>> {
    /// Opens the file at `path` for a load, up to its current length; `Ok(None)` when there is
    /// no such file.
    pub fn open(path: &Path) -> io::Result<Option<Window<io::Take<File>>>> {
        Window::open_sized(path, WINDOW)
    }

    /// [`Window::open`] with a window of `size` bytes.
    pub fn open_sized(path: &Path, size: usize) -> io::Result<Option<Window<io::Take<File>>>> {
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = f.metadata()?;
        if meta.is_dir() {
            // Opening a directory succeeds where reading it fails: fail as a read would.
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        let len = meta.len();
        let mut w = Window::with_size(f.take(len), size);
        w.len = Some(len);
        Ok(Some(w))
    }
}

impl<R: Read> Window<R> {
    /// Returns a window of the usual size over `src`.
    pub fn new(src: R) -> Window<R> {
        Window::with_size(src, WINDOW)
    }

    /// Returns a window of `size` bytes (at least 16) over `src`. Nothing is allocated before
    /// the first [`Window::fill`].
    pub fn with_size(src: R, size: usize) -> Window<R> {
        Window {
            src,
            buf: Vec::new(),
            start: 0,
            base: 0,
            eof: false,
            size: size.max(16),
            len: None,
            digest: None,
        }
    }

    /// Returns the source's length, when known (a file's).
    pub fn source_len(&self) -> Option<u64> {
        self.len
    }

    /// Returns the bytes read and not consumed yet.
    pub fn avail(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Returns the offset in the source of the first byte not consumed.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Consumes `n` bytes of [`Window::avail`].
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
    }

    /// Starts checksumming the bytes consumed from here on.
    pub fn start_digest(&mut self) {
        self.digest = Some((rdb::CRC64.digest(), self.start));
    }

    /// Stops checksumming; returns the checksum of what was consumed since
    /// [`Window::start_digest`] (`None` if it was not called).
    pub fn take_digest(&mut self) -> Option<u64> {
        let (mut d, from) = self.digest.take()?;
        d.update(&self.buf[from..self.start]);
        Some(d.finalize())
    }

    /// Makes [`Window::avail`] hold at least `want` bytes, reading more of the source (at
    /// least twice what is held, at least the window's size). Returns false when the source
    /// cannot give that many (it ends first, or its known length is shorter): a parse that
    /// asked for them fails on what `avail` holds as it would on the whole source.
    pub fn fill(&mut self, want: usize) -> io::Result<bool> {
        let have = self.buf.len() - self.start;
        if have >= want {
            return Ok(true);
        }
        // `usize::MAX` is what the parser asks for a length no input can hold.
        if self.eof || want > isize::MAX as usize {
            return Ok(false);
        }
        let left = self
            .len
            .map(|l| l.saturating_sub(self.base + self.buf.len() as u64));
        if let Some(left) = left
            && (want - have) as u64 > left
        {
            // Reading the rest of the file would not make it whole.
            return Ok(false);
        }
        // Drops what was consumed (fed to the checksum first), keeping the rest at the front.
        if let Some((d, from)) = &mut self.digest {
            d.update(&self.buf[*from..self.start]);
            *from = 0;
        }
        if self.buf.capacity() > 2 * self.size && have <= self.size {
            // Back to the usual size after a large record.
            let mut small = Vec::with_capacity(self.size);
            small.extend_from_slice(&self.buf[self.start..]);
            self.buf = small;
        } else {
            self.buf.drain(..self.start);
        }
        self.base += self.start as u64;
        self.start = 0;
        let mut target = want.max(have.saturating_mul(2)).max(self.size);
        if let Some(left) = left {
            target = target.min(have.saturating_add(usize::try_from(left).unwrap_or(usize::MAX)));
        }
        let room = target - have;
        // Of a source whose length is unknown, what is held again at most: reading grows the
        // buffer further if the source really has that much.
        let reserve = if left.is_some() {
            room
        } else {
            room.min(have.max(self.size))
        };
        self.buf.reserve_exact(reserve);
        let got = (&mut self.src)
            .take(room as u64)
            .read_to_end(&mut self.buf)?;
        if got < room {
            self.eof = true;
        }
        Ok(self.buf.len() >= want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::value::Value;

    fn opts() -> SaveOpts {
        SaveOpts {
            compress: true,
            checksum: true,
            ..SaveOpts::default()
        }
    }

    fn load_opts() -> LoadOpts {
        LoadOpts {
            lfu: false,
            key_delay: 0,
            checksum: true,
            merge: false,
            drop_expired: true,
            now: crate::util::now_ms(),
            lim: Limits::default(),
        }
    }

    /// Saves a store's databases into bytes.
    fn image(store: &Store, o: SaveOpts) -> Vec<u8> {
        let mut ks = store.lock_all(0, crate::util::now_ms());
        let mut w = RdbWriter::new(Vec::new(), o).unwrap();
        write_keyspace(&mut ks, store.databases(), &mut w).unwrap();
        w.finish().unwrap()
    }

    fn load_into(store: &Store, data: &[u8], o: &LoadOpts) -> Result<Loaded, LoadFail> {
        let mut ks = store.lock_all(0, o.now);
        load(
            store.databases(),
            &mut Window::new(data),
            o,
            &mut |db, e| insert_loaded(&mut ks, o.merge, db, e),
            &|_| {},
        )
    }

    fn filled() -> Store {
        let store = Store::new(4);
        let now = crate::util::now_ms();
        let mut ks = store.lock_all(0, now);
        ks.set_with_expire(b"a", Value::string(b"1"), None);
        ks.set_with_expire(b"later", Value::string(b"x"), Some(now + 100_000));
        ks.set_with_expire(b"gone", Value::string(b"y"), Some(now - 1000));
        ks.insert_in(2, b"other-db", Value::string(b"z"), None);
        drop(ks);
        store
    }

    #[test]
    fn files_round_trip_and_drop_expired_keys() {
        let data = image(&filled(), opts());
        assert_eq!(&data[..9], b"REDIS0010");
        let back = Store::new(4);
        let l = load_into(&back, &data, &load_opts()).unwrap();
        assert_eq!((l.keys, l.expired, l.end), (3, 1, data.len()));
        let mut ks = back.lock_all(2, crate::util::now_ms());
        assert!(ks.get(b"other-db").is_some());
        ks.db = 0;
        assert!(matches!(ks.expire_of(b"later"), Some(Some(_))));
        assert!(ks.get(b"gone").is_none());
    }

    #[test]
    fn corrupt_files_are_errors() {
        let data = image(&filled(), opts());
        for n in 0..data.len() {
            assert!(
                load_into(&Store::new(4), &data[..n], &load_opts()).is_err(),
                "cut at {n}"
            );
        }
        let mut bad = data.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            load_into(&Store::new(4), &bad, &load_opts()),
            Err(LoadFail::Checksum { .. })
        ));
        // Without checksum verification the same file loads.
        let lax = LoadOpts {
            checksum: false,
            ..load_opts()
        };
        assert!(load_into(&Store::new(4), &bad, &lax).is_ok());
        // More databases than configured, and a key twice.
        assert!(matches!(
            load_into(&Store::new(2), &data, &load_opts()),
            Err(LoadFail::TooManyDbs(2))
        ));
        let twice = Store::new(4);
        load_into(&twice, &data, &load_opts()).unwrap();
        assert!(matches!(
            load_into(&twice, &data, &load_opts()),
            Err(LoadFail::Duplicate(..))
        ));
        let merge = LoadOpts {
            merge: true,
            ..load_opts()
        };
        assert_eq!(load_into(&twice, &data, &merge).unwrap().keys, 3);
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let data = image(&filled(), opts());
        let lax = LoadOpts {
            checksum: false,
            ..load_opts()
        };
        for i in 9..data.len() {
            for bit in [0, 3, 7] {
                let mut c = data.clone();
                c[i] ^= 1 << bit;
                let _ = load_into(&Store::new(4), &c, &lax);
            }
        }
    }

    #[test]
    fn access_information_is_saved_when_the_policy_asks() {
        crate::store::update_lru_clock();
        let store = Store::new(1);
        {
            let mut ks = store.lock_all(0, crate::util::now_ms());
            let e = Entry::new(b"k", Value::string(b"v"), None, idle_clock(500));
            ks.put_entry_in(0, e);
        }
        let data = image(
            &store,
            SaveOpts {
                lru: true,
                ..opts()
            },
        );
        let back = Store::new(1);
        load_into(&back, &data, &load_opts()).unwrap();
        let mut ks = back.lock_all(0, crate::util::now_ms());
        let idle = crate::store::idle_seconds(ks.peek(b"k").unwrap().clock());
        assert!((499..=502).contains(&idle), "{idle}");
        drop(ks);

        let store = Store::new(1);
        {
            let mut ks = store.lock_all(0, crate::util::now_ms());
            let e = Entry::new(b"k", Value::string(b"v"), None, crate::store::lfu_clock(77));
            ks.put_entry_in(0, e);
        }
        let data = image(
            &store,
            SaveOpts {
                lfu: Some(0),
                ..opts()
            },
        );
        let back = Store::new(1);
        load_into(
            &back,
            &data,
            &LoadOpts {
                lfu: true,
                ..load_opts()
            },
        )
        .unwrap();
        let mut ks = back.lock_all(0, crate::util::now_ms());
        assert_eq!(ks.peek(b"k").unwrap().clock() & 0xff, 77);
    }

    /// A store of `n` string keys in database 0.
    fn store_of(n: usize) -> Store {
        let store = Store::new(1);
        let mut ks = store.lock_all(0, crate::util::now_ms());
        for i in 0..n {
            ks.set_with_expire(format!("k{i}").as_bytes(), Value::string(b"v"), None);
        }
        drop(ks);
        store
    }

    #[test]
    fn a_save_whose_destination_goes_away_stops_soon_even_when_slowed_down() {
        let store = store_of(1000);
        let cancel = AtomicBool::new(false);
        let gone = AtomicBool::new(false);
        // An hour per key: only the destination going away can end this save.
        let delay = 3_600_000_000i64;
        let progress = SaveProgress::default();
        let ctl = Control {
            cancel: &cancel,
            delay_us: delay,
            progress: Some(&progress),
            gone: &|| gone.load(Ordering::Relaxed),
        };
        let mut w = RdbWriter::new(Vec::new(), opts()).unwrap();
        let t = std::time::Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                gone.store(true, Ordering::Relaxed);
            });
            let res = write_snapshot_with(&store, &opts(), &ctl, || {}, &mut w);
            assert_eq!(res.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        });
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
        // The counters saw the image's size at its instant and the first chunk.
        assert_eq!(progress.total.load(Ordering::Relaxed), 1000);
        let done = progress.processed.load(Ordering::Relaxed);
        assert!(done > 0 && done < 1000, "{done}");
        assert_eq!(
            progress.cow.load(Ordering::Relaxed),
            0,
            "no writer touched anything"
        );
        // The marks were restored: the next snapshot is whole.
        let mut w = RdbWriter::new(Vec::new(), opts()).unwrap();
        write_snapshot(&store, &opts(), &cancel, 0, || {}, &mut w).unwrap();
        assert_eq!(w.keys, 1000);
    }

    #[test]
    fn writers_handing_keys_over_count_as_copy_on_write() {
        let store = store_of(600);
        let cancel = AtomicBool::new(false);
        let progress = SaveProgress::default();
        // Slow enough that the writer below reaches keys before the walker does.
        let delay = 2000i64;
        let ctl = Control {
            cancel: &cancel,
            delay_us: delay,
            progress: Some(&progress),
            gone: &|| false,
        };
        let plain = SaveOpts {
            compress: false,
            ..opts()
        };
        let mut w = RdbWriter::new(Vec::new(), plain.clone()).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                // Wait for the instant, then overwrite every key.
                while progress.total.load(Ordering::Relaxed) == 0 {
                    std::thread::yield_now();
                }
                for i in 0..600 {
                    let mut ks = store.lock_all(0, crate::util::now_ms());
                    ks.set_with_expire(format!("k{i}").as_bytes(), Value::string(b"ww"), None);
                }
            });
            write_snapshot_with(&store, &plain, &ctl, || {}, &mut w).unwrap();
        });
        assert_eq!(w.keys, 600);
        assert_eq!(progress.processed.load(Ordering::Relaxed), 600);
        // Each key handed over early costs at least its record (type, key, value).
        let cow = progress.cow.load(Ordering::Relaxed);
        assert!(cow >= 100 * 5, "{cow}");
        let data = w.finish().unwrap();
        let back = Store::new(1);
        let l = load_into(&back, &data, &load_opts()).unwrap();
        assert_eq!(l.keys, 600);
        // The image is the dataset at its instant: every value as it was before the writer.
        let mut ks = back.lock_all(0, crate::util::now_ms());
        for i in 0..600 {
            let k = format!("k{i}");
            assert_eq!(ks.get(k.as_bytes()).unwrap().str_len(), Some(1), "{k}");
        }
        drop(ks);
        let mut ks = store.lock_all(0, crate::util::now_ms());
        assert_eq!(
            ks.get(b"k599").unwrap().str_len(),
            Some(2),
            "the writer's value stays"
        );
    }

    // ---- the window ----

    /// A store holding every type in both of its encodings, big and small values, TTLs and
    /// several databases: records of many lengths, one much larger than a small window.
    fn varied(big: usize) -> crate::command::testing::Harness {
        let mut h = crate::command::testing::Harness::new();
        let long = "x".repeat(5000);
        h.run(&["SET", "small", "v"]);
        h.run(&["SET", "int", "12345"]);
        h.run(&["SET", "long", &long]);
        h.run(&["SET", "noisy", &noisy()]);
        h.run(&["SET", "ttl", "t", "PX", "100000000"]);
        h.run(&["RPUSH", "list", "a", "b", "c"]);
        h.run(&["HSET", "hash", "f", "v", "g", "w"]);
        h.run(&["SADD", "ints", "1", "2", "300000"]);
        h.run(&["SADD", "strs", "a", "b"]);
        h.run(&["ZADD", "z", "1", "a", "2.5", "b"]);
        for i in 0..big {
            let (m, f) = (format!("m{i}"), format!("f{i}"));
            h.run(&["RPUSH", "biglist", &m]);
            h.run(&["HSET", "bighash", &f, &m]);
            h.run(&["SADD", "bigset", &m]);
            h.run(&["ZADD", "bigz", &i.to_string(), &m]);
        }
        h.run(&["SELECT", "5"]);
        h.run(&["SET", "other", "db"]);
        h
    }

    /// Pseudo-random letters: a string value whose every byte is its own.
    fn noisy() -> String {
        let mut x = 1u32;
        (0..3000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                char::from(b'a' + ((x >> 16) % 26) as u8)
            })
            .collect()
    }

    /// The keys a load hands over: (db, key, value payload, expire time), sorted.
    type Keys = Vec<(usize, Vec<u8>, Vec<u8>, Option<i64>)>;

    /// Loads `data` through a window of `size` bytes (`reads` bytes per read at most), and
    /// returns the keys with the outcome.
    fn load_windowed(data: &[u8], size: usize, reads: usize) -> (Result<Loaded, LoadFail>, Keys) {
        let mut keys = Vec::new();
        let mut w = Window::with_size(
            Dribble {
                data,
                at: 0,
                most: reads,
                fail_at: None,
            },
            size,
        );
        let res = load(
            16,
            &mut w,
            &load_opts(),
            &mut |db, e| {
                keys.push((
                    db,
                    e.key().to_vec(),
                    rdb::dump_payload(e.value(), false),
                    e.expire(),
                ));
                Ok(())
            },
            &|_| {},
        );
        keys.sort();
        (res, keys)
    }

    /// A source handing out at most `most` bytes per read, and failing at `fail_at`.
    struct Dribble<'a> {
        data: &'a [u8],
        at: usize,
        most: usize,
        fail_at: Option<usize>,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut end = (self.at + self.most.min(buf.len())).min(self.data.len());
            if let Some(f) = self.fail_at {
                if self.at >= f {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                end = end.min(f);
            }
            let n = end - self.at;
            buf[..n].copy_from_slice(&self.data[self.at..end]);
            self.at = end;
            Ok(n)
        }
    }

    /// The image of [`varied`]`(big)`.
    fn varied_image(big: usize) -> Vec<u8> {
        varied_image_with(big, opts())
    }

    fn varied_image_with(big: usize, o: SaveOpts) -> Vec<u8> {
        let h = varied(big);
        let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
        let mut w = RdbWriter::new(Vec::new(), o).unwrap();
        write_keyspace(&mut ks, h.server.store.databases(), &mut w).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn records_spanning_the_window_edge_load_as_from_a_whole_file() {
        let data = varied_image(300);
        let (whole, want) = load_windowed(&data, data.len() + 1, usize::MAX);
        let whole = whole.unwrap();
        assert_eq!((whole.keys, whole.end), (15, data.len()));
        // Every window size from tiny up puts the edge inside every kind of record (header,
        // aux fields, SELECTDB, expire, key, value, checksum); reads of a few bytes at a time
        // make every refill short too.
        for size in (16..200).chain([255, 256, 1000, 4096]) {
            for reads in [1, 3, usize::MAX] {
                if reads == 1 && size > 64 {
                    continue;
                }
                let (res, got) = load_windowed(&data, size, reads);
                let l = res.unwrap_or_else(|e| panic!("window {size}/{reads}: {e}"));
                assert_eq!(
                    (l.keys, l.end),
                    (whole.keys, whole.end),
                    "window {size}/{reads}"
                );
                assert_eq!(got, want, "window {size}/{reads}");
            }
        }
    }

    #[test]
    fn a_record_larger_than_the_window_grows_it_and_it_shrinks_back() {
        let mut w = Window::with_size(&[7u8; 10_000][..], 64);
        assert!(w.fill(1).unwrap());
        assert_eq!(w.avail().len(), 64, "one window's worth is read ahead");
        w.consume(60);
        // A record of 5000 bytes from here: the window grows to hold it whole.
        assert!(w.fill(5000).unwrap());
        assert!(w.avail().len() >= 5000);
        assert_eq!(w.offset(), 60);
        w.consume(5000);
        // Then, once what is held fits the usual size, it goes back to it.
        w.consume(w.avail().len() - 10);
        assert!(w.fill(20).unwrap());
        assert!(w.buf.capacity() <= 2 * 64, "{}", w.buf.capacity());
        // What cannot come is refused: past the end, and past any input.
        let left = 10_000 - w.offset() as usize;
        assert!(!w.fill(left + 1).unwrap());
        assert!(!w.fill(usize::MAX).unwrap());
        assert!(w.fill(left).unwrap());
        assert_eq!(w.avail().len(), left);
    }

    #[test]
    fn a_file_is_read_up_to_its_length_and_a_length_beyond_it_is_not_read_for() {
        let path = std::env::temp_dir().join(format!(
            "rrs-window-{}-{}",
            std::process::id(),
            crate::util::mono_ns()
        ));
        std::fs::write(&path, vec![1u8; 3000]).unwrap();
        let mut w = Window::open_sized(&path, 100).unwrap().unwrap();
        assert_eq!(w.source_len(), Some(3000));
        assert!(w.fill(10).unwrap());
        assert_eq!(w.avail().len(), 100);
        // Claims beyond the file are refused without reading what is left of it.
        assert!(!w.fill(3001).unwrap());
        assert_eq!(w.avail().len(), 100);
        assert!(w.fill(3000).unwrap());
        assert_eq!(w.avail().len(), 3000);
        std::fs::remove_file(&path).unwrap();
        assert!(Window::open(&path).unwrap().is_none());
        // A directory fails as reading it would.
        let e = Window::open(&std::env::temp_dir()).err().unwrap();
        assert_eq!(e.raw_os_error(), Some(libc::EISDIR));
    }

    #[test]
    fn a_truncated_file_fails_the_same_through_any_window() {
        // Every cut of a file with small aggregates, every 29th of one with big ones.
        let small = varied_image(3);
        let big = varied_image(300);
        let cuts = (0..small.len())
            .map(|n| &small[..n])
            .chain((0..big.len()).step_by(29).map(|n| &big[..n]));
        for cut in cuts {
            let n = cut.len();
            let (whole, _) = load_windowed(cut, n + 1, usize::MAX);
            let whole = whole
                .err()
                .unwrap_or_else(|| panic!("cut at {n} loads"))
                .to_string();
            for size in [16, 61, 256] {
                let (res, _) = load_windowed(cut, size, 7);
                let e = res
                    .err()
                    .unwrap_or_else(|| panic!("cut at {n} loads ({size})"));
                assert_eq!(e.to_string(), whole, "cut at {n}, window {size}");
            }
        }
        // The cut before the EOF opcode reports the offset where it should be.
        let cut = big.len() - 9;
        let (res, _) = load_windowed(&big[..cut], 16, 5);
        assert_eq!(
            res.err().unwrap().to_string(),
            format!(
                "Internal error in RDB reading offset {cut}, function at rdb.c:0 -> \
                 unexpected end of data"
            )
        );
    }

    #[test]
    fn the_checksum_covers_the_whole_file_through_a_small_window() {
        let data = varied_image(300);
        for i in [10, data.len() / 2, data.len() - 10, data.len() - 1] {
            let mut bad = data.clone();
            bad[i] ^= 0x40;
            let (res, _) = load_windowed(&bad, 32, 13);
            if let Err(LoadFail::Checksum { expected, got }) = res {
                let stored = u64::from_le_bytes(bad[bad.len() - 8..].try_into().unwrap());
                assert_eq!(expected, stored);
                assert_eq!(
                    got,
                    rdb::CRC64.checksum(&bad[..bad.len() - 8]),
                    "flip at {i}"
                );
            } else {
                // A flip may make the record itself malformed first; never a silent load.
                assert!(
                    matches!(res, Err(LoadFail::Corrupt { .. })),
                    "flip at {i}: {res:?}"
                );
            }
        }
        // A flip inside a string value is caught by the checksum only.
        let data = varied_image_with(
            300,
            SaveOpts {
                compress: false,
                ..opts()
            },
        );
        let noisy = noisy();
        let at = data
            .windows(64)
            .position(|w| w == &noisy.as_bytes()[..64])
            .unwrap()
            + 1000;
        let mut bad = data.clone();
        bad[at] = if bad[at] == b'a' { b'b' } else { b'a' };
        assert!(matches!(
            load_windowed(&bad, 32, 13).0,
            Err(LoadFail::Checksum { .. })
        ));
    }

    #[test]
    fn the_size_hints_of_a_file_reach_the_target_unless_the_file_cannot_hold_them() {
        let data = varied_image(3);
        let path = std::env::temp_dir().join(format!(
            "rrs-hints-{}-{}",
            std::process::id(),
            crate::util::mono_ns()
        ));
        let run = |data: &[u8]| {
            std::fs::write(&path, data).unwrap();
            let mut w = Window::open_sized(&path, 32).unwrap().unwrap();
            let mut hints = Vec::new();
            let mut keys = 0;
            let target = Target {
                insert: &mut |_, _| {
                    keys += 1;
                    Ok(())
                },
                reserve: &mut |db, n| hints.push((db, n)),
            };
            load_into_target(16, &mut w, &load_opts(), target, &|_| {}).unwrap();
            (hints, keys)
        };
        // SAVE writes each database's key count (RESIZEDB) before its keys.
        assert_eq!(run(&data), (vec![(0, 14), (5, 1)], 15));
        // A hint of more keys than the file can hold sizes nothing (checksum off: edited file).
        let mut lie = data.clone();
        let at = lie
            .windows(2)
            .position(|w| w == [op::RESIZEDB, 14])
            .unwrap();
        lie[at + 1] = 0x80;
        lie.splice(at + 2..at + 2, 1_000_000u32.to_be_bytes());
        let n = lie.len();
        lie[n - 8..].fill(0);
        assert_eq!(run(&lie), (vec![(5, 1)], 15));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_read_error_is_not_taken_for_the_end_of_the_file() {
        let data = varied_image(300);
        let mut w = Window::with_size(
            Dribble {
                data: &data,
                at: 0,
                most: usize::MAX,
                fail_at: Some(1000),
            },
            64,
        );
        let res = load(16, &mut w, &load_opts(), &mut |_, _| Ok(()), &|_| {});
        let Err(LoadFail::Io { offset, err }) = res else {
            panic!("{res:?}")
        };
        assert!(
            offset <= 1000 && err.contains("Input/output error"),
            "{offset} {err}"
        );
    }
}
