//! Point-in-time snapshots of the store (for BGSAVE) while clients keep reading and writing,
//! without fork and without a copy of the dataset.
//!
//! [`Store::snapshot`] hands a [`Sink`] every key as it was at one instant. It runs on a thread
//! of its own (not a runtime worker) and blocks it until the image is complete.
//!
//! # How it works
//!
//! - **The instant.** The snapshot takes every shard lock once, in order (as EXEC does), flips
//!   each shard's *mark*, installs the sink in every shard and notes in each database slice
//!   its number and that it is still to walk; then it lets go. That costs a few hundred
//!   stores, whatever the size of the dataset.
//! - **The mark.** Every entry carries one bit (`Entry::snap_mark`). Between snapshots every
//!   entry's bit equals its shard's mark; flipping the shard's mark at the instant makes every
//!   existing entry "not in the image yet" in O(1). An entry whose bit equals the shard's mark
//!   is in the image already (or was created after the instant), and is skipped.
//! - **The walker.** It visits the shards one at a time and, within a shard, each database
//!   slice with the dict's SCAN cursor ([`Dict::scan_mut`]), a few hundred entries per lock
//!   hold: it hands every unmarked entry to the sink, marks it, and releases the lock (fairly,
//!   so a writer waiting on it goes first) between chunks. SCAN's guarantee (every node
//!   present from the first call to the last is visited) holds across resizes, so rehashing
//!   and shrinking go on as usual; a node visited twice is skipped the second time by its mark.
//!   The walk state (cursor, "still to walk", database number at the instant) lives in the
//!   database slice itself, so SWAPDB carries it along with the data and the sink is told the
//!   database number the key had at the instant.
//! - **Copy-on-write at key granularity.** Every path of [`Keyspace`] that
//!   changes or removes an entry (a write in place through `get_mut`/`entry_in`, SET over a
//!   key, a TTL change, DEL/UNLINK, RENAME/MOVE taking the entry out, lazy and active expiry)
//!   first calls `ShardSnap::before_write` or `ShardSnap::before_remove`: an unmarked entry
//!   goes to the sink right then, with its old value, and is marked. A new entry (insert,
//!   RENAME/MOVE/COPY destination, RESTORE) is created marked, so the walker skips it.
//! - **FLUSHDB/FLUSHALL** of a slice the walker has not finished hands the old table to the
//!   snapshot (instead of to the caller to free); the walker walks it with no lock held (no one
//!   else can reach it) and frees it. A finished slice is freed by the caller as usual.
//! - **The end.** Once every slice is walked, the snapshot takes every shard lock once more to
//!   uninstall the sink and sum the counters. Every entry's bit equals its shard's mark again.
//!
//! Cost when no snapshot runs: the write paths test the locked shard's `sink` field (a plain
//! load from memory the lock already brought in) and new entries copy the shard's mark.
//!
//! Extra memory: none in the store (one bit in entries that already had it free); what the
//! sink keeps of the keys it is given early is the only growth, and it is bounded by the keys
//! written during the walk, never a copy of the dataset. A flushed table is kept until the
//! walker has walked it, which is memory the flush would otherwise have freed.
//!
//! Keys already past their expire time but still in the table at the instant are in the
//! image, with their expire time (the sink decides, as RDB saving does). An entry's access
//! clock (LRU/LFU) is not part of the copy-on-write: a read after the instant may move it.
//!
//! If the sink says it gives up ([`Sink::aborted`]) or panics, the walker still runs to the
//! end with no sink, only to restore the marks, so the next snapshot is exact.
//!
//! A write to a key not yet walked pays for handing it over, under its shard lock: for a big
//! aggregate that is its whole serialization, once (Redis's forked child costs the parent a
//! page copy per page written instead). The walker's holds are bounded by entries and by the
//! bytes of the values it hands over (`CHUNK`, `CHUNK_BYTES`).
//!
//! # Using it (BGSAVE)
//!
//! - Call [`Store::snapshot`] from a thread of its own (`std::thread::spawn`, or tokio's
//!   `spawn_blocking`), never from a runtime worker or while holding a [`Keyspace`]: it blocks
//!   until the image is complete, and its instant takes every shard lock. A second call while
//!   one runs returns [`SnapshotError::AlreadyRunning`] at once.
//! - The sink is called from the walker and from any connection thread at the same time, in no
//!   particular order of keys or databases: serialize the entry inside `key` (it must not keep
//!   a reference to it) into a buffer or writer behind the sink's own lock. For RDB, write a
//!   SELECTDB opcode whenever a key's database differs from the previous record's (the loader
//!   accepts any number of them); RESIZEDB is only a hint and can come from
//!   [`Store::db_sizes`] before the call, or be left out.
//! - `key` runs under a shard lock: no shard locking, no call into the store, no blocking I/O
//!   that may take long (a buffered writer whose flushes go to a local file is fine; better,
//!   hand full buffers to the saving thread).
//! - Keys past their expire time but not yet deleted are handed over with their expire time;
//!   skip them or keep them as RDB saving chooses.
//! - On a write error, remember it and return true from [`Sink::aborted`]: the call then ends
//!   soon with [`SnapshotError::Aborted`] (the sink may still get a few keys meanwhile).
//! - [`Store::snapshot_progress`] says whether one runs and how far it got (INFO persistence),
//!   and the longest shard lock hold of the walker so far.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use super::entry::Entry;
use super::{Db, SHARDS, Shard, Store};
#[cfg(doc)]
use super::{Keyspace, dict::Dict};

/// Receives the keys of a point-in-time image of the store.
pub trait Sink: Send + Sync {
    /// Called exactly once per key that existed at the snapshot's instant, with its value and
    /// expiry as they were at that instant; from the walker or from a writer thread, always
    /// with the key's shard locked (so it must be quick and must not lock shards). Keys of a
    /// database flushed during the snapshot come from the walker with no lock held (nothing
    /// else can reach them any more). `db` is the key's database number at the instant.
    fn key(&self, db: usize, e: &Entry);

    /// True when the sink gives up (a write error): the walker stops handing it keys and
    /// [`Store::snapshot`] returns [`SnapshotError::Aborted`]. Asked between chunks.
    fn aborted(&self) -> bool {
        false
    }

    /// Told, at the instant (every shard held: it must be quick), how many keys the image
    /// holds: INFO's `current_save_keys_total`.
    fn started(&self, _keys: u64) {}
}

/// Why [`Store::snapshot`] produced no image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotError {
    /// Another snapshot of this store is running.
    AlreadyRunning,
    /// The sink gave up ([`Sink::aborted`]).
    Aborted,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SnapshotError::AlreadyRunning => "a snapshot is already in progress",
            SnapshotError::Aborted => "the snapshot was aborted by its sink",
        })
    }
}

impl std::error::Error for SnapshotError {}

/// What a finished snapshot did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Keys in the image (the sum of the three below).
    pub keys: u64,
    /// Keys the walker handed over.
    pub walked: u64,
    /// Keys handed over by writers, just before they changed or removed them.
    pub early: u64,
    /// Keys handed over from databases flushed during the snapshot.
    pub flushed: u64,
    /// Lock holds of the walker, and the longest and total time it held a shard lock.
    pub chunks: u64,
    pub max_chunk: Duration,
    pub lock_time: Duration,
    /// Lock holds of the walker longer than a millisecond (a preempted walker, or a slow sink).
    pub long_chunks: u64,
    /// How long the instant held every shard lock.
    pub start_pause: Duration,
    /// From the call to the end of the walk.
    pub elapsed: Duration,
}

/// A live view of the snapshot running (or last run), for INFO-style reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotProgress {
    pub running: bool,
    /// Keys the walker has handed over so far.
    pub walked: u64,
    /// Lock holds so far, and the longest one in microseconds.
    pub chunks: u64,
    pub max_chunk_us: u64,
}

/// The per-shard part of a snapshot (field `snap` of [`Shard`]); read and changed only under
/// the shard's lock.
#[derive(Default)]
pub struct ShardSnap {
    /// The running snapshot's sink; `None` when none runs. Set and cleared with every shard
    /// locked; the `'static` is a promise kept by [`Store::snapshot`], which clears it before
    /// it returns (see `install`).
    sink: Option<&'static dyn Sink>,
    /// The mark of an entry already in the image (and of every entry between snapshots).
    mark: bool,
    /// Keys this shard's writers handed over.
    early: u64,
}

impl ShardSnap {
    /// True while a snapshot wants this shard's writes to go through the hooks.
    #[inline]
    pub fn active(&self) -> bool {
        self.sink.is_some()
    }

    /// Copy-on-write hook: `e` (of the slice whose database number at the instant is
    /// `origin`) is about to change in place or be replaced. Hands it to the sink first if it
    /// is not in the image yet, and marks it.
    #[inline]
    pub(super) fn before_write(&mut self, origin: usize, e: &mut Entry) {
        if let Some(sink) = self.sink
            && e.snap_mark() != self.mark
        {
            sink.key(origin, e);
            e.set_snap_mark(self.mark);
            self.early += 1;
        }
    }

    /// Copy-on-write hook: `e` has just been taken out of its slice (deleted, expired, renamed
    /// or moved away). Hands it to the sink if it was not in the image yet.
    #[inline]
    pub(super) fn before_remove(&mut self, origin: usize, e: &Entry) {
        if let Some(sink) = self.sink
            && e.snap_mark() != self.mark
        {
            sink.key(origin, e);
            self.early += 1;
        }
    }

    /// Marks a new entry as not part of the image being taken (and, between snapshots, as
    /// every other entry of the shard).
    #[inline]
    pub(super) fn mark_new(&self, e: &mut Entry) {
        e.set_snap_mark(self.mark);
    }

    /// True when a slice flushed now must go to the walker rather than be freed by the caller:
    /// a snapshot runs and the walker has not finished the slice.
    #[inline]
    pub(super) fn wants_flushed(&self, d: &Db) -> bool {
        self.sink.is_some() && d.snap.pending
    }
}

/// The walk state of one database slice (field `snap` of [`Db`]). It moves with the slice
/// when SWAPDB swaps slices; a fresh slice (after FLUSHDB) has nothing to walk.
#[derive(Default, Clone, Copy, Debug)]
pub struct DbSnap {
    /// The slice's database number at the instant (the number the sink is given).
    origin: usize,
    /// Where the walker's SCAN of the slice resumes.
    cursor: u64,
    /// The walker has not finished this slice.
    pending: bool,
}

impl DbSnap {
    /// Returns the slice's database number at the instant of the snapshot running (or last
    /// run).
    #[inline]
    pub(super) fn origin(&self) -> usize {
        self.origin
    }
}

/// The store-wide part of a snapshot (field `snap` of [`Store`]).
#[derive(Default)]
pub struct Global {
    running: AtomicBool,
    /// The shards' mark (they all flip together), for the flushed slices.
    mark: AtomicBool,
    /// Unwalked slices that FLUSHDB/FLUSHALL took out during the snapshot.
    flushed: Mutex<Vec<Db>>,
    walked: AtomicU64,
    chunks: AtomicU64,
    max_chunk_us: AtomicU64,
}

impl Global {
    /// Takes a flushed, unwalked slice for the walker (see [`ShardSnap::wants_flushed`]).
    pub(super) fn adopt_flushed(&self, d: Db) {
        self.flushed.lock().push(d);
    }
}

/// The walker's budget per lock hold: an entry counts 1, plus 1 per [`CHUNK_BYTES`] of heap
/// its value holds (what the sink has to serialize), and an empty bucket counts 1, so
/// neither big values nor a sparse table make one hold long. One value bigger than the whole
/// budget still goes in one hold: it cannot be split.
const CHUNK: usize = 256;
const CHUNK_BYTES: usize = 512;

/// The walker's running counters.
#[derive(Default)]
struct Tally {
    walked: u64,
    flushed: u64,
    chunks: u64,
    max_chunk: Duration,
    lock_time: Duration,
    long_chunks: u64,
}

impl Store {
    /// Walks a consistent image of every database as of the call; blocks the calling
    /// (non-runtime) thread until done. Returns an error if one is already running.
    ///
    /// Clients go on reading and writing meanwhile: the instant holds every shard lock once,
    /// briefly; then no shard lock is held longer than one chunk of the walk. A writer
    /// about to change a key not yet handed over hands it to `sink` first (see the module
    /// doc). Must not be called from a thread that holds a shard lock, nor from a runtime
    /// worker (it blocks for as long as the walk takes).
    pub fn snapshot(&self, sink: &dyn Sink) -> Result<SnapshotStats, SnapshotError> {
        self.snapshot_at(sink, || {})
    }

    /// [`Store::snapshot`], calling `at_instant` at the instant, while every shard lock is
    /// held: whatever it starts (the AOF's new incremental file) begins exactly where the
    /// image ends, with no write in both or in neither.
    pub fn snapshot_with(
        &self,
        sink: &dyn Sink,
        at_instant: impl FnOnce(),
    ) -> Result<SnapshotStats, SnapshotError> {
        self.snapshot_at(sink, at_instant)
    }

    /// Returns what the snapshot running (or the last one) has done so far.
    pub fn snapshot_progress(&self) -> SnapshotProgress {
        let g = &self.snap;
        SnapshotProgress {
            running: g.running.load(Ordering::Relaxed),
            walked: g.walked.load(Ordering::Relaxed),
            chunks: g.chunks.load(Ordering::Relaxed),
            max_chunk_us: g.max_chunk_us.load(Ordering::Relaxed),
        }
    }

    /// [`Store::snapshot`], calling `at_instant` while every shard lock is held at the instant
    /// (tests use it to place the instant among their writes).
    fn snapshot_at(
        &self,
        sink: &dyn Sink,
        at_instant: impl FnOnce(),
    ) -> Result<SnapshotStats, SnapshotError> {
        if self
            .snap
            .running
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(SnapshotError::AlreadyRunning);
        }
        let started = Instant::now();
        for c in [&self.snap.walked, &self.snap.chunks, &self.snap.max_chunk_us] {
            c.store(0, Ordering::Relaxed);
        }
        // From here on, `session` uninstalls the sink whatever happens (even if the sink
        // panics), so the `'static` reference installed below never outlives `sink`.
        let mut session = Session { store: self, installed: true };
        let start_pause = self.install(sink, at_instant);
        let mut tally = Tally::default();
        let aborted = self.walk(Some(sink), &mut tally);
        let early = self.uninstall();
        session.installed = false;
        if aborted {
            // Finish the walk without the sink, only to restore the marks: the next snapshot
            // must start from a store whose every entry carries its shard's mark.
            self.walk(None, &mut Tally::default());
        }
        // Nothing unwalked can have been flushed since the walk ended (every slice was done),
        // but free whatever came in between, here.
        self.walk_flushed(if aborted { None } else { Some(sink) }, &mut tally);
        drop(session);
        if aborted {
            return Err(SnapshotError::Aborted);
        }
        Ok(SnapshotStats {
            keys: tally.walked + early + tally.flushed,
            walked: tally.walked,
            early,
            flushed: tally.flushed,
            chunks: tally.chunks,
            max_chunk: tally.max_chunk,
            lock_time: tally.lock_time,
            long_chunks: tally.long_chunks,
            start_pause,
            elapsed: started.elapsed(),
        })
    }

    /// The instant: with every shard locked, flips the marks, installs the sink and sets every
    /// slice to be walked. Returns how long the locks were held.
    fn install(&self, sink: &dyn Sink, at_instant: impl FnOnce()) -> Duration {
        // SAFETY: only the lifetime is changed. The reference is stored in the shards'
        // `ShardSnap::sink` only, used only under the shard's lock, and cleared from every
        // shard by `uninstall` before `snapshot_at` returns or unwinds (the `Session` guard),
        // so it is never used after `sink`'s borrow ends.
        let sink: &'static dyn Sink = unsafe { std::mem::transmute::<&dyn Sink, _>(sink) };
        let mut guards: Vec<MutexGuard<'_, Shard>> = Vec::with_capacity(SHARDS);
        for s in self.shards.iter() {
            guards.push(s.lock());
        }
        let t = Instant::now();
        let mut keys = 0u64;
        for g in guards.iter_mut() {
            let g = &mut **g;
            keys += g.dbs.iter().map(|d| d.dict.len() as u64).sum::<u64>();
            g.snap.mark = !g.snap.mark;
            self.snap.mark.store(g.snap.mark, Ordering::Relaxed);
            g.snap.sink = Some(sink);
            g.snap.early = 0;
            for (i, d) in g.dbs.iter_mut().enumerate() {
                d.snap = DbSnap { origin: i, cursor: 0, pending: true };
            }
        }
        sink.started(keys);
        at_instant();
        let held = t.elapsed();
        drop(guards);
        held
    }

    /// The end: with every shard locked, uninstalls the sink. Returns the keys writers
    /// handed over.
    fn uninstall(&self) -> u64 {
        let mut guards: Vec<MutexGuard<'_, Shard>> = Vec::with_capacity(SHARDS);
        for s in self.shards.iter() {
            guards.push(s.lock());
        }
        let mut early = 0;
        for g in guards.iter_mut() {
            g.snap.sink = None;
            early += std::mem::take(&mut g.snap.early);
        }
        early
    }

    /// Walks every slice still to walk, shard by shard, one chunk per lock hold, handing
    /// unmarked entries to `sink` (or, with `None`, only marking them). Walks the flushed
    /// slices handed over meanwhile between chunks, so their memory goes back soon. Returns
    /// true, at once, when the sink gives up.
    fn walk(&self, sink: Option<&dyn Sink>, tally: &mut Tally) -> bool {
        for shard in self.shards.iter() {
            loop {
                if sink.is_some_and(|s| s.aborted()) {
                    return true;
                }
                self.walk_flushed(sink, tally);
                let mut g = shard.lock();
                let t = Instant::now();
                let more = walk_chunk(&mut g, sink, tally);
                let held = t.elapsed();
                MutexGuard::unlock_fair(g);
                tally.chunks += 1;
                tally.lock_time += held;
                tally.long_chunks += (held > Duration::from_millis(1)) as u64;
                if held > tally.max_chunk {
                    tally.max_chunk = held;
                    self.snap.max_chunk_us.store(held.as_micros() as u64, Ordering::Relaxed);
                }
                self.snap.chunks.store(tally.chunks, Ordering::Relaxed);
                self.snap.walked.store(tally.walked, Ordering::Relaxed);
                if !more {
                    break;
                }
            }
        }
        false
    }

    /// Walks and frees the flushed slices handed to the snapshot; no lock is held while it
    /// does (the slices are out of the store).
    fn walk_flushed(&self, sink: Option<&dyn Sink>, tally: &mut Tally) {
        loop {
            let Some(mut d) = self.snap.flushed.lock().pop() else { return };
            let origin = d.snap.origin;
            let mut cursor = 0;
            let mark = self.snap.mark.load(Ordering::Relaxed);
            loop {
                cursor = d.dict.scan_mut(cursor, |e| {
                    if e.snap_mark() != mark {
                        if let Some(s) = sink {
                            s.key(origin, e);
                            tally.flushed += 1;
                        }
                        e.set_snap_mark(mark);
                    }
                });
                if cursor == 0 {
                    break;
                }
            }
            drop(d);
        }
    }
}

/// Walks one chunk of the first slice of the locked shard `g` still to walk. Returns false
/// when the shard has nothing left to walk.
fn walk_chunk(g: &mut Shard, sink: Option<&dyn Sink>, tally: &mut Tally) -> bool {
    let mark = g.snap.mark;
    let Some(d) = g.dbs.iter_mut().find(|d| d.snap.pending) else { return false };
    let origin = d.snap.origin;
    let mut cursor = d.snap.cursor;
    let mut budget = CHUNK;
    while budget > 0 {
        let mut seen = 0;
        cursor = d.dict.scan_mut(cursor, |e| {
            seen += 1;
            if e.snap_mark() != mark {
                if let Some(s) = sink {
                    s.key(origin, e);
                    tally.walked += 1;
                    seen += e.value().heap_size() / CHUNK_BYTES;
                }
                e.set_snap_mark(mark);
            }
        });
        if cursor == 0 {
            d.snap.pending = false;
            break;
        }
        budget = budget.saturating_sub(seen.max(1));
    }
    d.snap.cursor = cursor;
    true
}

/// Uninstalls the sink if the snapshot unwinds before it did (a panicking sink), and lets
/// the next snapshot start.
struct Session<'a> {
    store: &'a Store,
    installed: bool,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.installed {
            self.store.uninstall();
            // Restore the marks (the walk was cut short), without the sink.
            self.store.walk(None, &mut Tally::default());
            self.store.snap.flushed.lock().clear();
        }
        self.store.snap.running.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::types::hash::{Hash, Limits};
    use crate::store::types::list::List;
    use crate::store::value::Value;
    use crate::store::{Keyspace, hash_key, shard_of_key};
    use rand::{RngExt, SeedableRng};
    use std::collections::HashMap;
    use std::sync::Arc;

    /// A key's content as the tests compare it: the value spelled out, and the expire time.
    type State = (String, Option<i64>);
    /// An image: (database, key) -> state.
    type Image = HashMap<(usize, Vec<u8>), State>;

    const LIM: Limits = Limits { max_entries: 8, max_value: 64 };
    /// The clock of every test command; TTLs are either long past or far ahead of it.
    const NOW: i64 = 1_000_000;

    fn spell(v: &Value) -> String {
        let mut tmp = itoa::Buffer::new();
        if let Some(b) = v.str_bytes(&mut tmp) {
            return format!("s:{}", String::from_utf8_lossy(b));
        }
        if let Some(l) = v.as_list() {
            let items: Vec<String> =
                l.to_vec().iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect();
            return format!("l:{}", items.join(","));
        }
        if let Some(h) = v.as_hash() {
            let mut pairs = Vec::new();
            h.for_each(|f, v| {
                pairs.push(format!("{}={}", String::from_utf8_lossy(f), String::from_utf8_lossy(v)))
            });
            pairs.sort();
            return format!("h:{}", pairs.join(","));
        }
        panic!("type not used by these tests");
    }

    fn state_of(e: &Entry) -> State {
        (spell(e.value()), e.expire())
    }

    /// Collects the image; counts keys handed over twice.
    #[derive(Default)]
    struct Collect {
        image: Mutex<Image>,
        twice: AtomicU64,
        /// Paces the walk by the writers: between chunks (no lock held), waits until this
        /// counter of writes has moved on by a few, so writers always race the walk.
        pace: Option<Arc<AtomicU64>>,
        paced_at: AtomicU64,
        /// Gives up after this many keys (0: never).
        abort_after: u64,
        /// Panics at this key (0: never).
        panic_at: u64,
        seen: AtomicU64,
    }

    impl Sink for Collect {
        fn key(&self, db: usize, e: &Entry) {
            let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
            if self.panic_at == n {
                panic!("sink fails on purpose");
            }
            if self.image.lock().insert((db, e.key().to_vec()), state_of(e)).is_some() {
                self.twice.fetch_add(1, Ordering::Relaxed);
            }
        }

        fn aborted(&self) -> bool {
            if let Some(writes) = &self.pace {
                let target = self.paced_at.load(Ordering::Relaxed) + 10;
                let t = Instant::now();
                while writes.load(Ordering::Relaxed) < target
                    && t.elapsed() < Duration::from_secs(1)
                {
                    std::thread::yield_now();
                }
                self.paced_at.store(writes.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            self.abort_after > 0 && self.seen.load(Ordering::Relaxed) >= self.abort_after
        }
    }

    /// Returns the state of `key` in the table (expired or not, without evicting it).
    fn raw_state(ks: &mut Keyspace<'_>, db: usize, key: &[u8]) -> Option<State> {
        let h = hash_key(key);
        ks.shard_mut(shard_of_key(key)).dbs[db].dict.get(h, key).map(state_of)
    }

    /// Returns everything the store holds, expired keys included.
    fn whole(store: &Store) -> Image {
        let mut img = Image::new();
        for s in store.shards.iter() {
            for (db, d) in s.lock().dbs.iter().enumerate() {
                d.dict.for_each(|e| {
                    img.insert((db, e.key().to_vec()), state_of(e));
                });
            }
        }
        img
    }

    /// Every entry carries its shard's mark (the state between snapshots).
    fn check_marks(store: &Store) {
        for s in store.shards.iter() {
            let g = s.lock();
            assert!(!g.snap.active());
            for d in &g.dbs {
                d.dict.for_each(|e| assert_eq!(e.snap_mark(), g.snap.mark, "stray mark"));
            }
        }
    }

    fn populate(store: &Store, dbs: usize, keys: usize, seed: u64) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for i in 0..keys {
            let db = rng.random_range(0..dbs);
            let key = format!("k{i}");
            let mut ks = store.lock_keys(db, NOW, [key.as_bytes()]);
            let ttl = match rng.random_range(0..10) {
                0 => Some(NOW - 1000),
                1 | 2 => Some(NOW + 1_000_000),
                _ => None,
            };
            let v = match rng.random_range(0..4) {
                0 => Value::Int(i as i64),
                1 => Value::string(format!("value-{i}").as_bytes()),
                2 => {
                    let mut l = List::new();
                    l.push(b"a", true);
                    l.push(format!("{i}").as_bytes(), false);
                    Value::List(Box::new(l))
                }
                _ => {
                    let mut h = Hash::new();
                    h.set(b"f", format!("{i}").as_bytes(), LIM);
                    Value::Hash(Box::new(h))
                }
            };
            ks.insert_in(db, key.as_bytes(), v, ttl);
        }
    }

    /// What a writer did, for replaying up to the instant.
    enum Event {
        /// The key's state right after a write (None: not in the table).
        Key(usize, Vec<u8>, Option<State>),
        Flush(usize),
        Swap(usize, usize),
    }

    type Log = Mutex<Vec<(u64, Event)>>;

    /// One random write, logged with a sequence number taken under the locks it holds.
    fn random_write(
        store: &Store,
        rng: &mut rand::rngs::StdRng,
        dbs: usize,
        keyspace: usize,
        seq: &AtomicU64,
        log: &Log,
    ) {
        let db = rng.random_range(0..dbs);
        let k1 = format!("k{}", rng.random_range(0..keyspace)).into_bytes();
        let k2 = format!("k{}", rng.random_range(0..keyspace)).into_bytes();
        let op = rng.random_range(0..1000);
        // Whole-keyspace operations, rarely.
        if op < 2 {
            let mut ks = store.lock_all(db, NOW);
            let ev = if op == 0 {
                drop(ks.flush_db(db));
                Event::Flush(db)
            } else {
                let other = rng.random_range(0..dbs);
                ks.swap_db(db, other);
                Event::Swap(db, other)
            };
            log.lock().push((seq.fetch_add(1, Ordering::Relaxed), ev));
            return;
        }
        // Active expiry of one shard.
        if op < 30 {
            let i = rng.random_range(0..SHARDS);
            let mut g = store.shards[i].lock();
            let mut due = Vec::new();
            g.dbs[db].dict.for_each(|e| {
                if e.expire().is_some_and(|t| NOW > t) {
                    due.push(e.key().to_vec());
                }
            });
            g.expire_round(db, NOW, 20, false);
            let n = seq.fetch_add(1, Ordering::Relaxed);
            let mut l = log.lock();
            for k in due {
                if g.dbs[db].dict.get(hash_key(&k), &k).is_none() {
                    l.push((n, Event::Key(db, k, None)));
                }
            }
            return;
        }
        let mut ks = store.lock_keys(db, NOW, [&k1[..], &k2[..]]);
        let mut touched = vec![(db, k1.clone())];
        match op % 10 {
            0 => ks.set(&k1, Value::string(format!("set{op}").as_bytes()), rng.random_bool(0.5)),
            1 => {
                ks.remove(&k1);
            }
            2 => {
                let t = if rng.random_bool(0.3) { NOW - 5 } else { NOW + 10_000 + op as i64 };
                ks.set_expire(&k1, Some(t).filter(|_| rng.random_bool(0.8)));
            }
            3 | 4 => match ks.get_mut(&k1) {
                Some(v) => {
                    if let Some(l) = v.as_list_mut() {
                        l.push(format!("p{op}").as_bytes(), op % 2 == 0);
                    }
                }
                None => {
                    let mut l = List::new();
                    l.push(b"new", true);
                    ks.insert_in(db, &k1, Value::List(Box::new(l)), None);
                }
            },
            5 => {
                if let Some(e) = ks.entry_in(db, &k1)
                    && let Some(h) = e.value_mut().as_hash_mut()
                {
                    h.set(format!("f{op}").as_bytes(), b"x", LIM);
                }
            }
            6 => {
                // RENAME k1 k2 (keeping the TTL), when k1 is live.
                if k1 != k2 && ks.peek(&k1).is_some() {
                    let mut e = ks.take_entry_in(db, &k1).expect("live key");
                    let (exp, clock) = (e.expire(), e.clock());
                    let v = e.replace_value(Value::Int(0));
                    ks.remove_in(db, &k2);
                    ks.put_entry_in(db, Entry::new(&k2, v, exp, clock));
                    touched.push((db, k2.clone()));
                }
            }
            7 => {
                // MOVE k1 to another database, when it is not there.
                let to = (db + 1) % dbs;
                if ks.peek(&k1).is_some() && raw_state(&mut ks, to, &k1).is_none() {
                    let e = ks.take_entry_in(db, &k1).expect("live key");
                    ks.put_entry_in(to, e);
                    touched.push((to, k1.clone()));
                }
            }
            8 => {
                let t = if rng.random_bool(0.5) { Some(NOW - 1) } else { Some(NOW + 50_000) };
                ks.set_with_expire(&k1, Value::Int(op as i64), t);
            }
            _ => {
                // A read, which may expire the key lazily.
                ks.get(&k1);
            }
        }
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let states: Vec<_> =
            touched.into_iter().map(|(d, k)| (d, k.clone(), raw_state(&mut ks, d, &k))).collect();
        let mut l = log.lock();
        for (d, k, st) in states {
            l.push((n, Event::Key(d, k, st)));
        }
    }

    /// Replays the events before `until` on `img`, in sequence order.
    fn replay(img: &mut Image, log: Vec<(u64, Event)>, until: u64) {
        let mut log = log;
        log.sort_by_key(|(n, _)| *n);
        for (n, ev) in log {
            if n >= until {
                break;
            }
            match ev {
                Event::Key(db, k, Some(st)) => {
                    img.insert((db, k), st);
                }
                Event::Key(db, k, None) => {
                    img.remove(&(db, k));
                }
                Event::Flush(db) => img.retain(|(d, _), _| *d != db),
                Event::Swap(a, b) => {
                    *img = img
                        .drain()
                        .map(|((d, k), v)| {
                            let d = if d == a {
                                b
                            } else if d == b {
                                a
                            } else {
                                d
                            };
                            ((d, k), v)
                        })
                        .collect();
                }
            }
        }
    }

    /// Runs writers over the store while a snapshot runs; checks the image is the state at
    /// the instant, exactly. Returns the snapshot's figures.
    fn race(store: &Arc<Store>, writers: usize, dbs: usize, keyspace: usize) {
        let before = whole(store);
        let seq = Arc::new(AtomicU64::new(0));
        let sink = &Collect { pace: Some(seq.clone()), ..Default::default() };
        let log: Arc<Log> = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (store, seq, log, stop) =
                    (store.clone(), seq.clone(), log.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(100 + w as u64);
                    while !stop.load(Ordering::Relaxed) {
                        random_write(&store, &mut rng, dbs, keyspace, &seq, &log);
                    }
                })
            })
            .collect();
        // Let the writers get going, then take the snapshot in their midst.
        while seq.load(Ordering::Relaxed) < 2000 {
            std::thread::yield_now();
        }
        let mut instant = 0;
        let stats = store
            .snapshot_at(sink, || instant = seq.fetch_add(1, Ordering::Relaxed))
            .expect("snapshot");
        let after_walk = seq.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().expect("writer");
        }
        let mut want = before;
        let log = std::mem::take(&mut *log.lock());
        replay(&mut want, log, instant);
        let got = std::mem::take(&mut *sink.image.lock());
        assert_eq!(sink.twice.load(Ordering::Relaxed), 0, "a key was handed over twice");
        assert_eq!(stats.keys as usize, got.len());
        assert!(after_walk > instant + 100, "writers did not race the walk");
        assert!(stats.early > 0, "no write met an unwalked key");
        let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).take(5).collect();
        let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).take(5).collect();
        assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
        for (k, v) in &want {
            assert_eq!(&got[k], v, "key {k:?}");
        }
        check_marks(store);
    }

    #[test]
    fn image_is_the_state_at_the_instant_under_concurrent_writes() {
        let store = Arc::new(Store::new(4));
        populate(&store, 4, 20_000, 1);
        for round in 0..3 {
            race(&store, 3, 4, 24_000);
            // Between snapshots the marks are back in step: a quiet snapshot is the store.
            let quiet = Collect::default();
            let stats = store.snapshot(&quiet).expect("quiet snapshot");
            assert_eq!(*quiet.image.lock(), whole(&store), "round {round}");
            assert_eq!(stats.early, 0);
            assert_eq!(stats.walked as usize, quiet.image.lock().len());
        }
        store.check_indexes();
    }

    #[test]
    fn flushed_and_swapped_databases_keep_their_instant_numbers() {
        let store = Store::new(3);
        populate(&store, 3, 3000, 2);
        let want = whole(&store);
        // A sink that, at its first key, flushes database 0 and swaps 1 and 2 (from another
        // thread: the sink runs under a shard lock).
        struct Meddle<'a> {
            inner: Collect,
            store: &'a Store,
            done: AtomicBool,
        }
        impl Sink for Meddle<'_> {
            fn key(&self, db: usize, e: &Entry) {
                self.inner.key(db, e);
            }
            fn aborted(&self) -> bool {
                assert!(self.store.snapshot_progress().running);
                if !self.done.swap(true, Ordering::Relaxed) {
                    assert_eq!(
                        self.store.snapshot(&Collect::default()),
                        Err(SnapshotError::AlreadyRunning)
                    );
                    let mut ks = self.store.lock_all(0, NOW);
                    let old = ks.flush_db(0);
                    assert!(old.keys() > 0);
                    ks.swap_db(1, 2);
                    ks.insert_in(0, b"late", Value::Int(1), None);
                }
                false
            }
        }
        let m = Meddle { inner: Collect::default(), store: &store, done: AtomicBool::new(false) };
        let stats = store.snapshot(&m).expect("snapshot");
        assert!(stats.flushed > 0, "{stats:?}");
        assert_eq!(*m.inner.image.lock(), want);
        assert_eq!(m.inner.twice.load(Ordering::Relaxed), 0);
        assert_eq!(stats.keys as usize, want.len());
        check_marks(&store);
        // And the next one sees the store as it is now.
        let next = Collect::default();
        store.snapshot(&next).expect("snapshot");
        assert_eq!(*next.image.lock(), whole(&store));
        assert!(next.image.lock().contains_key(&(0, b"late".to_vec())));
    }

    #[test]
    fn big_values_end_a_chunk_early() {
        let store = Store::new(1);
        {
            let mut ks = store.lock_all(0, NOW);
            for i in 0..1024 {
                ks.set(format!("big{i}").as_bytes(), Value::string(&[b'x'; 16 * 1024]), false);
            }
        }
        let sink = Collect::default();
        let stats = store.snapshot(&sink).expect("snapshot");
        assert_eq!(stats.keys, 1024);
        // 16 KiB is 32 units of budget: at most 8 such values per hold (counted by entries
        // alone, a shard's 64 or so would go in one).
        assert!(stats.chunks >= 1024 / 8, "{stats:?}");
        assert_eq!(*sink.image.lock(), whole(&store));
    }

    #[test]
    fn an_aborted_or_failed_snapshot_leaves_the_next_one_exact() {
        let store = Store::new(2);
        populate(&store, 2, 5000, 3);
        let give_up = Collect { abort_after: 700, ..Default::default() };
        assert_eq!(store.snapshot(&give_up), Err(SnapshotError::Aborted));
        check_marks(&store);
        let failing = Collect { panic_at: 900, ..Default::default() };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.snapshot(&failing)));
        assert!(r.is_err());
        check_marks(&store);
        assert!(!store.snapshot_progress().running);
        let ok = Collect::default();
        let stats = store.snapshot(&ok).expect("snapshot");
        assert_eq!(*ok.image.lock(), whole(&store));
        assert_eq!(stats.keys, 5000);
        let p = store.snapshot_progress();
        assert!(!p.running && p.walked == 5000 && p.chunks >= 5000 / CHUNK as u64);
    }

    /// 200,000 keys, writers hammering them while the walk goes: the snapshot finishes and
    /// the longest wait of a writer is logged (no timing assertion: the machine is shared).
    #[test]
    fn stress_200k_keys_with_continuous_writers() {
        let store = Arc::new(Store::new(1));
        {
            let mut ks = store.lock_all(0, NOW);
            for i in 0..200_000 {
                ks.set(format!("key:{i}").as_bytes(), Value::Int(i), false);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let (store, stop) = (store.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(w);
                    let (mut ops, mut worst) = (0u64, Duration::ZERO);
                    while !stop.load(Ordering::Relaxed) {
                        let k = format!("key:{}", rng.random_range(0..250_000));
                        let t = Instant::now();
                        let mut ks = store.lock_keys(0, NOW, [k.as_bytes()]);
                        if rng.random_bool(0.1) {
                            ks.remove(k.as_bytes());
                        } else {
                            ks.set(k.as_bytes(), Value::Int(ops as i64), false);
                        }
                        drop(ks);
                        worst = worst.max(t.elapsed());
                        ops += 1;
                    }
                    (ops, worst)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        // Room for every key up front: growing a map of 200k entries inside the sink would
        // be the longest lock hold, and this measures the walker's.
        let sink =
            Collect { image: Mutex::new(Image::with_capacity(300_000)), ..Default::default() };
        let stats = store.snapshot(&sink).expect("snapshot");
        stop.store(true, Ordering::Relaxed);
        let waits: Vec<_> = writers.into_iter().map(|h| h.join().expect("writer")).collect();
        eprintln!("snapshot of 200k keys: {stats:?}; writers (ops, longest op): {waits:?}");
        assert_eq!(sink.twice.load(Ordering::Relaxed), 0);
        assert!(stats.keys >= 200_000 && stats.keys as usize == sink.image.lock().len());
        assert!(stats.chunks as usize >= 200_000 / CHUNK);
        check_marks(&store);
    }
}
