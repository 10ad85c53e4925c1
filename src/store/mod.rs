//! The keyspace: databases split into shards by key hash, each shard behind its own lock; the
//! entries, their expiry, and the pure data structures of each type. No sockets, no async, no
//! RESP.
//!
//! # Locking and atomicity
//!
//! A key lives in shard `hash(key) >> 60` of [`SHARDS`]; the shard holds that slice of every
//! database. A command runs against a [`Keyspace`]: a view holding the locks of the shards it
//! needs, taken before it starts and released when it ends, so every command is atomic.
//!
//! - A single-key command locks one shard.
//! - A multi-key command locks the shards of all its keys, in ascending shard order, so two
//!   commands can never wait on each other.
//! - Commands that must see the whole keyspace at one instant (FLUSHALL, SWAPDB, KEYS, SCAN,
//!   DBSIZE, RANDOMKEY, and later scripts) lock every shard, in order.
//! - EXEC locks every shard once and runs the whole queued transaction against that one view,
//!   so no other client runs anything in between. While it runs, the thread is marked as
//!   holding every shard ([`Keyspace::hold_all`]), so a queued command that reads the store
//!   directly (INFO's counters, through [`Store::with_shard`]) uses those locks instead of
//!   waiting on them.
//!
//! # WATCH
//!
//! Watched keys are filed per shard and database number (`watch.rs`), beside the data. Every
//! mutation path of [`Keyspace`] (insert, replace, delete, TTL change, lazy and active expiry,
//! FLUSHDB, SWAPDB) touches the key's watchers under the shard lock it already holds; a write in
//! place through `get_mut`/`entry_in` notes a watched key and touches it at the end of the
//! command only if the command counted a change in `dirty`, so no-op writes do not fail
//! transactions. With nothing watched anywhere this costs one relaxed load per lookup for
//! writing.
//!
//! # Client-side caching
//!
//! Beside WATCH's, every mutation path (and lazy expiry, and FLUSHDB) notes the key it changed
//! in the view (`Keyspace::invalidated`, `tracking_flushed`) while [`Store::tracking`] is set,
//! and the server sends the invalidations after the command (`server::tracking`); the active
//! expiry hands its keys to the cron ([`Shard::expire_round_into`]). With nobody tracking this
//! costs one relaxed load per write.
//!
//! Locks are `parking_lot` mutexes, held only while a command runs and never across an
//! `.await`: a command never waits on I/O while holding one. The cron's active expiry and
//! table housekeeping lock one shard at a time, for one short round each.
//!
//! The hasher is process-wide and randomly seeded, against collision flooding.
//!
//! # Snapshots
//!
//! [`Store::snapshot`] (`snapshot.rs`) hands a sink every key as of one instant while commands
//! go on. Every path above that changes or removes an entry first calls the shard's snapshot
//! hook (`snap.before_write` / `before_remove`, one test of a field of the locked shard when
//! no snapshot runs), new entries are marked by `put_entry_in`, and FLUSHDB hands a slice the
//! walker has not finished to it instead of to the caller.
//!
//! # Expiry
//!
//! A key's expire time is in its entry; it is expired when the clock is past it (`now > when`,
//! as Redis), lazily by any lookup ([`Keyspace`]'s `find`) and actively by the cron walking the
//! marked buckets of the table (a bit per bucket holding a key with a TTL, `expires.rs`), so
//! the walk skips keys without one. A command sees one clock (`Keyspace::now`) for its whole run, as Redis's cached
//! `mstime` in a command.
//!
//! # Keyspace events
//!
//! `notify-keyspace-events` is mirrored in [`Tunables`]; with it off (the default) the store
//! only loads it where an event could arise. When a class is on, the events the store itself
//! causes (lazy `expired`, `new` on insertion, `keymiss` on a read miss) are noted in the view,
//! in order with the command's own ([`Keyspace::notify`]), for dispatch to publish
//! (`events.rs`); the active expiry hands its `expired` events to the cron.
//!
//! # Access clock
//!
//! Each entry has 24 bits of access information: with an LRU (or no) `maxmemory-policy`, the
//! last access in seconds (OBJECT IDLETIME); with an LFU one, Redis's 16-bit minutes of the last
//! decrement and 8-bit logarithmic counter (OBJECT FREQ). The policy and the other settings read
//! on hot paths are mirrored in [`Tunables`], so commands never take the config lock.

pub mod blocking;
pub mod dict;
pub mod entry;
pub mod events;
pub mod expires;
pub mod lazyfree;
pub mod snapshot;
pub mod propagate;
pub mod types;
pub mod value;
pub mod watch;

use std::sync::{Arc, OnceLock};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};

use blocking::{Waiter, Waiters};
use dict::{Dict, Found};
use entry::Entry;
use events::KeyEvent;
use expires::{Round, free_value};
use value::Value;
use watch::Watchers;

use crate::config::notify;

/// Number of shards; a power of two, at most 16 (the shard index takes the hash's top 4 bits).
pub const SHARDS: usize = 16;
/// The `held` mask of a view holding every shard.
const ALL_HELD: u32 = (1 << SHARDS) - 1;

static HASHER: OnceLock<ahash::RandomState> = OnceLock::new();

thread_local! {
    /// The address of the store whose every shard lock this thread holds for a transaction
    /// (EXEC), or 0. See [`Store::with_shard`].
    static HOLDING_ALL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as holding every shard of a store (EXEC, for its whole run) until
/// dropped. Created only by [`Keyspace::hold_all`].
pub struct HoldingAll(usize);

impl Drop for HoldingAll {
    fn drop(&mut self) {
        HOLDING_ALL.with(|h| h.set(self.0));
    }
}

/// Returns the hash of a key with the process's seeded hasher.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    HASHER.get_or_init(ahash::RandomState::new).hash_one(key)
}

/// Byte equality for keys and members, without a `memcmp` call up to 16 bytes (most keys):
/// two loads that may overlap cover every byte once the lengths are equal.
#[inline(always)]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let w4 = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        0 => true,
        _ => a == b,
    }
}

/// Returns the shard that holds a key of this hash.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> 60) as usize & (SHARDS - 1)
}

/// Returns the shard that holds `key`.
#[inline]
pub fn shard_of_key(key: &[u8]) -> usize {
    shard_of(hash_key(key))
}

/// The wall clock in seconds, as of the last cron tick (the source of both access clocks).
static CLOCK_SECS: AtomicU64 = AtomicU64::new(0);
/// The access clock, in seconds, 24 bits (Redis's LRU clock at its default resolution).
static LRU_CLOCK: AtomicU32 = AtomicU32::new(0);
/// Mask of the 24-bit clock.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// The counter a new key starts with under an LFU policy, so it is not evicted at once.
pub const LFU_INIT_VAL: u32 = 5;

/// Returns the current access clock.
#[inline]
pub fn lru_clock() -> u32 {
    LRU_CLOCK.load(Ordering::Relaxed)
}

/// Refreshes the access clocks from the wall clock; called by the server cron.
pub fn update_lru_clock() {
    let secs = (crate::util::now_ms() / 1000).max(0) as u64;
    CLOCK_SECS.store(secs, Ordering::Relaxed);
    LRU_CLOCK.store(secs as u32 & LRU_CLOCK_MAX, Ordering::Relaxed);
}

/// Returns how many seconds ago an entry with this clock was last touched.
pub fn idle_seconds(clock: u32) -> u64 {
    let now = lru_clock();
    if now >= clock { (now - clock) as u64 } else { (LRU_CLOCK_MAX - clock + now) as u64 }
}

/// Returns the LFU clock: minutes, 16 bits.
#[inline]
fn lfu_minutes() -> u32 {
    ((CLOCK_SECS.load(Ordering::Relaxed) / 60) & 0xffff) as u32
}

/// Returns the LFU counter of an entry's clock after the decay due since its last decrement:
/// one per `decay_time` minutes (none when it is 0). What OBJECT FREQ reports.
pub fn lfu_decayed(clock: u32, decay_time: u32) -> u32 {
    let (ldt, counter) = (clock >> 8, clock & 0xff);
    let now = lfu_minutes();
    let elapsed = if now >= ldt { now - ldt } else { 0xffff - ldt + now };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// Increments an LFU counter with probability `1 / ((counter - LFU_INIT_VAL) * factor + 1)`,
/// so it grows logarithmically with the number of accesses and saturates at 255.
fn lfu_log_incr(counter: u32, factor: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * factor as f64 + 1.0);
    if rand::random::<f64>() < p { counter + 1 } else { counter }
}

/// Returns an LFU clock holding `counter`, stamped now.
pub fn lfu_clock(counter: u32) -> u32 {
    (lfu_minutes() << 8) | (counter & 0xff)
}

/// Settings the keyspace reads on its hot paths, mirrored from the config by the server (at
/// start-up, after CONFIG SET, and on every cron tick) so commands never take the config lock.
#[derive(Debug)]
pub struct Tunables {
    /// `maxmemory-policy` is an LFU one: entries' clocks hold LFU data.
    pub lfu: AtomicBool,
    pub lfu_log_factor: AtomicU32,
    pub lfu_decay_time: AtomicU32,
    /// Integers 0..10000 are shared objects in Redis unless an LRU/LFU policy is in force with
    /// a `maxmemory` (OBJECT REFCOUNT reports them as such).
    pub shared_integers: AtomicBool,
    /// `lazyfree-lazy-user-del`, `-user-flush`, `-expire`, `-server-del`.
    pub lazy_user_del: AtomicBool,
    pub lazy_user_flush: AtomicBool,
    pub lazy_expire: AtomicBool,
    pub lazy_server_del: AtomicBool,
    /// `active-expire-effort`, 1 to 10.
    pub active_expire_effort: AtomicU32,
    /// Until this time (ms), clients are paused (CLIENT PAUSE): the dataset must not change,
    /// so expired keys read as missing but are not deleted, and the active expiry waits. An end
    /// time rather than a switch, so a pause that runs out needs no one to lift it.
    pub expire_paused_until: AtomicI64,
    /// Encoding thresholds of the aggregate types: `list-max-listpack-size`,
    /// `list-compress-depth`, `hash-max-listpack-entries/value`, `set-max-intset-entries`,
    /// `zset-max-listpack-entries/value`.
    pub list_max_listpack_size: AtomicI64,
    pub list_compress_depth: AtomicU32,
    pub hash_max_listpack_entries: AtomicU64,
    pub hash_max_listpack_value: AtomicU64,
    pub set_max_intset_entries: AtomicU64,
    pub zset_max_listpack_entries: AtomicU64,
    pub zset_max_listpack_value: AtomicU64,
    /// `tracking-table-max-keys` (0: no limit), checked before every command while tracking.
    pub tracking_table_max_keys: AtomicU64,
    /// `notify-keyspace-events`, the bits of [`crate::config::notify`] (0: off, the default;
    /// then every notification costs this one relaxed load).
    pub notify_keyspace_events: AtomicU32,
    /// Writes are propagated (the AOF is on): commands gather what they propagate in
    /// [`Keyspace::prop`] and expired keys are logged for deletion (`propagate.rs`).
    pub propagate: AtomicBool,
    /// `maxmemory` (0: no limit), read by dispatch's OOM gate before every write command
    /// without taking the config lock.
    pub maxmemory: AtomicU64,
    /// `proto-max-bulk-len` and `client-query-buffer-limit`, read by the connection loop on
    /// every batch of requests without taking the config lock.
    pub proto_max_bulk_len: AtomicI64,
    pub client_query_buffer_limit: AtomicU64,
    /// `client-output-buffer-limit` per class (normal, replica, pubsub), read by the
    /// connection loop after every command once its replies pass the fixed reply buffer.
    pub obuf: [ObufTunable; 3],
}

/// One class of `client-output-buffer-limit` (zero disables a limit); see [`Tunables::obuf`].
#[derive(Debug, Default)]
pub struct ObufTunable {
    pub hard: AtomicU64,
    pub soft: AtomicU64,
    pub soft_secs: AtomicU64,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            lfu: AtomicBool::new(false),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
            shared_integers: AtomicBool::new(true),
            lazy_user_del: AtomicBool::new(false),
            lazy_user_flush: AtomicBool::new(false),
            lazy_expire: AtomicBool::new(false),
            lazy_server_del: AtomicBool::new(false),
            active_expire_effort: AtomicU32::new(1),
            expire_paused_until: AtomicI64::new(0),
            list_max_listpack_size: AtomicI64::new(-2),
            list_compress_depth: AtomicU32::new(0),
            hash_max_listpack_entries: AtomicU64::new(512),
            hash_max_listpack_value: AtomicU64::new(64),
            set_max_intset_entries: AtomicU64::new(512),
            zset_max_listpack_entries: AtomicU64::new(128),
            zset_max_listpack_value: AtomicU64::new(64),
            tracking_table_max_keys: AtomicU64::new(1_000_000),
            notify_keyspace_events: AtomicU32::new(0),
            propagate: AtomicBool::new(false),
            maxmemory: AtomicU64::new(0),
            proto_max_bulk_len: AtomicI64::new(512 * 1024 * 1024),
            client_query_buffer_limit: AtomicU64::new(1024 * 1024 * 1024),
            // Set from the config by `Server::new`.
            obuf: Default::default(),
        }
    }
}

impl Tunables {
    /// Mirrors the config's `client-output-buffer-limit` classes (at start and on CONFIG SET).
    pub fn set_obuf_limits(&self, limits: &[crate::config::ObufLimit; 3]) {
        for (t, l) in self.obuf.iter().zip(limits) {
            t.hard.store(l.hard_bytes, Ordering::Relaxed);
            t.soft.store(l.soft_bytes, Ordering::Relaxed);
            t.soft_secs.store(l.soft_seconds.max(0) as u64, Ordering::Relaxed);
        }
    }

    #[inline]
    fn flag(b: &AtomicBool) -> bool {
        b.load(Ordering::Relaxed)
    }

    /// True while expiry is held back by a client pause, at time `now` (ms).
    #[inline]
    pub fn expiry_paused(&self, now: i64) -> bool {
        now < self.expire_paused_until.load(Ordering::Relaxed)
    }

    /// Holds expiry back until `until` (ms), or, with 0, lets it go at once (CLIENT PAUSE and
    /// UNPAUSE). Overlapping pauses keep the later end.
    pub fn pause_expiry(&self, until: i64) {
        if until == 0 {
            self.expire_paused_until.store(0, Ordering::Relaxed);
        } else {
            self.expire_paused_until.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// True when keyspace events of class `class` (a bit of [`crate::config::notify`]) are
    /// to be published: the class is enabled and so is a channel kind (`K` or `E`), as Redis's
    /// `notifyKeyspaceEvent` checks before building anything.
    #[inline]
    pub fn notify_wants(&self, class: u32) -> bool {
        let flags = self.notify_keyspace_events.load(Ordering::Relaxed);
        flags & class != 0 && flags & (notify::KEYSPACE | notify::KEYEVENT) != 0
    }

    /// Returns the clock a new entry starts with under the current policy.
    #[inline]
    pub fn fresh_clock(&self) -> u32 {
        if Self::flag(&self.lfu) { lfu_clock(LFU_INIT_VAL) } else { lru_clock() }
    }

    /// Records an access to an entry: its LFU counter decays then maybe grows, or its LRU clock
    /// moves to now.
    #[inline]
    pub fn touch(&self, e: &mut Entry) {
        if Self::flag(&self.lfu) {
            let decay = self.lfu_decay_time.load(Ordering::Relaxed);
            let factor = self.lfu_log_factor.load(Ordering::Relaxed);
            let counter = lfu_log_incr(lfu_decayed(e.clock(), decay), factor);
            e.set_clock(lfu_clock(counter));
        } else {
            e.set_clock(lru_clock());
        }
    }
}

/// One database's slice of keys within a shard.
#[derive(Default)]
pub struct Db {
    /// The keys. Read it freely; add and remove entries only through [`Keyspace`] (or
    /// `Db::link`/`unlink`), which keep the TTL index and `volatile` in step.
    pub dict: Dict,
    /// Keys that have an expire time (their buckets in `dict` are marked, see `expires.rs`).
    pub volatile: usize,
    /// Where the active expiry's walk of the marked buckets resumes.
    expire_cursor: u64,
    /// Running estimate of the TTL left on keys that have one, in ms (INFO's `avg_ttl`).
    pub avg_ttl: i64,
    /// The snapshot walker's state for this slice (moves with it on SWAPDB).
    snap: snapshot::DbSnap,
}

/// Counters kept per shard (no atomics: they change under the shard's lock) and summed for
/// INFO.
#[derive(Default, Clone, Debug)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    /// Keys with a TTL sampled by the active expiry, and how many of those were expired.
    pub expire_cycle_scanned: u64,
    pub expire_cycle_expired: u64,
}

/// A shard: its slice of every database.
pub struct Shard {
    pub dbs: Vec<Db>,
    pub stats: ShardStats,
    /// Clients blocked on keys of this shard, per database index. Kept apart from `dbs`
    /// because a waiter waits on a database number: FLUSHDB empties and SWAPDB swaps the data,
    /// not the waiters.
    pub waiters: Vec<Waiters>,
    /// Keys of this shard that clients WATCH, per database index (apart from `dbs` for the
    /// same reason as `waiters`).
    pub watched: Vec<Watchers>,
    /// The running snapshot's hooks (see `snapshot.rs`).
    pub snap: snapshot::ShardSnap,
}

impl Db {
    /// Returns the slice's database number at a running snapshot's instant.
    #[inline]
    fn snap_origin(&self) -> usize {
        self.snap.origin()
    }

    /// Checks that the TTL index and the count of keys with a TTL agree with the entries.
    #[cfg(test)]
    pub fn check_index(&self) {
        let mut with_ttl = 0;
        self.dict.for_each(|e| {
            if e.expire().is_some() {
                with_ttl += 1;
                let h = hash_key(e.key());
                assert!(self.dict.is_marked_for(h), "bucket of a key with a TTL not marked");
            }
        });
        assert_eq!(with_ttl, self.volatile);
    }
}

impl Shard {
    /// Runs one round of the active expiry on database `db` (see [`Db::expire_round`]) and
    /// counts what it expired.
    pub fn expire_round(&mut self, db: usize, now: i64, keys: usize, lazy: bool) -> Round {
        self.expire_round_into(db, now, keys, lazy, None, None)
    }

    /// [`Shard::expire_round`], also appending the names of the keys it expired to `tracked`
    /// when given (client-side caching invalidates them after the round), and an `expired`
    /// event to `events` (when given) for each key it deletes, for the cron to publish once
    /// the shard's lock is released.
    pub fn expire_round_into(
        &mut self,
        db: usize,
        now: i64,
        keys: usize,
        lazy: bool,
        mut tracked: Option<&mut Vec<Vec<u8>>>,
        mut events: Option<&mut Vec<KeyEvent>>,
    ) -> Round {
        let quiet = tracked.is_none() && events.is_none();
        let r = if self.watched[db].is_empty() && quiet && !self.snap.active() {
            self.dbs[db].expire_round(now, keys, lazy)
        } else {
            let (watched, snap) = (&mut self.watched[db], &mut self.snap);
            let origin = self.dbs[db].snap_origin();
            self.dbs[db].expire_round_with(now, keys, lazy, |e| {
                if !watched.is_empty() {
                    watched.touch(e.key(), false);
                }
                if let Some(t) = tracked.as_mut() {
                    t.push(e.key().to_vec());
                }
                if let Some(ev) = events.as_deref_mut() {
                    ev.push(KeyEvent::new(notify::EXPIRED, "expired", db, e.key()));
                }
                // Expired actively: a running snapshot takes it first.
                snap.before_remove(origin, e);
            })
        };
        self.stats.expired_keys += r.expired as u64;
        self.stats.expire_cycle_scanned += r.sampled as u64;
        self.stats.expire_cycle_expired += r.expired as u64;
        r
    }

    /// Starts shrinking sparse tables and moves resizes under way forward by up to
    /// `rehash_buckets` buckets per table; called by the server cron. Returns true while some
    /// resize has more to do.
    pub fn housekeeping(&mut self, rehash_buckets: usize) -> bool {
        let mut more = false;
        for d in &mut self.dbs {
            d.dict.shrink_if_needed();
            if rehash_buckets > 0 {
                more |= d.dict.rehash(rehash_buckets);
            } else {
                more |= d.dict.is_rehashing();
            }
        }
        more
    }
}

/// Statistics of the active expiry cycle (INFO stats), kept by the cron.
#[derive(Default, Debug)]
pub struct ExpireCycleStats {
    /// Running estimate of the fraction of keys with a TTL that are already logically expired,
    /// as `f64` bits (`expired_stale_perc` is it in percent).
    stale: AtomicU64,
    /// Cycles that stopped at their time limit (`expired_time_cap_reached_count`).
    pub time_cap_reached: AtomicU64,
    /// Microseconds spent in the cycle (`expire_cycle_cpu_milliseconds` is it in ms).
    pub time_used_us: AtomicU64,
}

impl ExpireCycleStats {
    /// Returns the estimated fraction (0 to 1) of keys with a TTL that are already expired.
    pub fn stale_fraction(&self) -> f64 {
        f64::from_bits(self.stale.load(Ordering::Relaxed))
    }

    /// Folds one cycle's sample into the estimate, with a weight of 5% as Redis does.
    pub fn record_stale(&self, sampled: usize, expired: usize) {
        let current = if sampled > 0 { expired as f64 / sampled as f64 } else { 0.0 };
        let v = current * 0.05 + self.stale_fraction() * 0.95;
        self.stale.store(v.to_bits(), Ordering::Relaxed);
    }

    fn reset(&self) {
        self.stale.store(0f64.to_bits(), Ordering::Relaxed);
        self.time_cap_reached.store(0, Ordering::Relaxed);
        self.time_used_us.store(0, Ordering::Relaxed);
    }
}

/// What FLUSHDB / FLUSHALL took out of the keyspace, to be freed by the caller or on the
/// lazy-free thread.
#[derive(Default)]
pub struct Flushed {
    dbs: Vec<Db>,
    keys: usize,
}

impl Flushed {
    /// Returns the number of keys taken out.
    pub fn keys(&self) -> usize {
        self.keys
    }

    /// Adds what another flush took out.
    pub fn extend(&mut self, other: Flushed) {
        self.keys += other.keys;
        self.dbs.extend(other.dbs);
    }
}

/// Every database of the server.
pub struct Store {
    shards: Box<[Mutex<Shard>]>,
    databases: usize,
    pub tunables: Tunables,
    pub expire_stats: ExpireCycleStats,
    /// Watches in the registry (every shard, every database): while 0, in-place writes skip
    /// the WATCH bookkeeping with one load. Changed under the key's shard lock, so a writer
    /// holding that lock sees a watch filed before it.
    watches: AtomicUsize,
    /// Client-side caching is in use (a client tracks, or the tracking table holds keys):
    /// while false, writes collect nothing for it (one relaxed load). Set by the server's
    /// tracking registry.
    pub tracking: AtomicBool,
    /// The running snapshot, if any (see `snapshot.rs`).
    snap: snapshot::Global,
}

impl Store {
    pub fn new(databases: usize) -> Store {
        update_lru_clock();
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    dbs: (0..databases).map(|_| Db::default()).collect(),
                    stats: ShardStats::default(),
                    waiters: (0..databases).map(|_| Waiters::default()).collect(),
                    watched: (0..databases).map(|_| Watchers::default()).collect(),
                    snap: snapshot::ShardSnap::default(),
                })
            })
            .collect();
        Store {
            shards,
            databases,
            tunables: Tunables::default(),
            expire_stats: ExpireCycleStats::default(),
            watches: AtomicUsize::new(0),
            tracking: AtomicBool::new(false),
            snap: snapshot::Global::default(),
        }
    }

    /// Returns the number of databases.
    pub fn databases(&self) -> usize {
        self.databases
    }

    /// Returns a view with no shard locked yet; shards are locked as keys are touched. For
    /// commands with no keys, and as the start of the other constructors.
    #[inline(always)]
    pub fn view(&self, db: usize, now: i64) -> Keyspace<'_> {
        Keyspace {
            store: self,
            held: 0,
            not_send: std::marker::PhantomData,
            db,
            now,
            dirty: 0,
            hint: (0, 0, 0),
            ready: Vec::new(),
            maybe_touched: Vec::new(),
            invalidated: Vec::new(),
            maybe_tracked: Vec::new(),
            tracking_flushed: false,
            events: Vec::new(),
            prop: propagate::PropLog::default(),
            loading: false,
        }
    }

    /// Returns a view holding the shards of `keys`, locked in ascending order.
    pub fn lock_keys<'a, I>(&'a self, db: usize, now: i64, keys: I) -> Keyspace<'a>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut want = 0u32;
        for k in keys {
            want |= 1 << shard_of_key(k);
        }
        self.lock_mask(db, now, want)
    }

    /// Returns a view holding the shards whose bits are set in `mask`, locked in ascending
    /// order.
    #[inline(always)]
    pub fn lock_mask(&self, db: usize, now: i64, mask: u32) -> Keyspace<'_> {
        let mut ks = self.view(db, now);
        ks.lock_more(mask);
        ks
    }

    /// Returns a view holding every shard.
    pub fn lock_all(&self, db: usize, now: i64) -> Keyspace<'_> {
        self.lock_mask(db, now, (1u32 << SHARDS) - 1)
    }

    /// Locks shard `i` alone (for the cron's housekeeping).
    pub fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].lock()
    }

    /// Runs `f` on shard `i`, locking it for the call, unless this thread runs a transaction
    /// that holds every shard already (a command queued in MULTI, such as INFO, reading the
    /// store directly inside EXEC would otherwise wait on its own lock forever).
    pub fn with_shard<R>(&self, i: usize, f: impl FnOnce(&mut Shard) -> R) -> R {
        if HOLDING_ALL.with(|h| h.get()) == self as *const Store as usize {
            // SAFETY: this thread's EXEC holds the lock of every shard of this store (see
            // `Keyspace::hold_all`) and is running a queued command synchronously; that command
            // reaches the shard through this call only (it reads no key through the keyspace
            // view while calling the store-wide readers), so no other reference to the shard is
            // live while `f` runs.
            f(unsafe { &mut *self.shards[i].data_ptr() })
        } else {
            f(&mut self.shards[i].lock())
        }
    }

    /// Returns the summed counters of every shard.
    pub fn stats(&self) -> ShardStats {
        let mut sum = ShardStats::default();
        for i in 0..SHARDS {
            self.with_shard(i, |s| {
                let st = &s.stats;
                sum.keyspace_hits += st.keyspace_hits;
                sum.keyspace_misses += st.keyspace_misses;
                sum.expired_keys += st.expired_keys;
                sum.expire_cycle_scanned += st.expire_cycle_scanned;
                sum.expire_cycle_expired += st.expire_cycle_expired;
            });
        }
        sum
    }

    /// Resets the counters of every shard and of the expiry cycle (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for i in 0..SHARDS {
            self.with_shard(i, |s| s.stats = ShardStats::default());
        }
        self.expire_stats.reset();
    }

    /// Takes `w` out of the queues of all its keys, locking their shards one at a time (the
    /// waiter's connection, once its wait has ended).
    pub fn remove_waiter(&self, w: &Arc<Waiter>) {
        for k in &w.keys {
            self.shards[shard_of_key(k)].lock().waiters[w.db].remove(k, w);
        }
    }

    /// Takes a client's watches of `keys` (database, key) out of the registry, locking their
    /// shards one at a time (the caller holds no shard lock).
    pub fn unwatch(&self, client_id: u64, keys: &[(usize, Vec<u8>)]) {
        for (db, k) in keys {
            if self.shards[shard_of_key(k)].lock().watched[*db].remove(k, client_id) {
                self.watches.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Checks every database slice's TTL index (see [`Db::check_index`]).
    #[cfg(test)]
    pub fn check_indexes(&self) {
        for s in self.shards.iter() {
            for d in &s.lock().dbs {
                d.check_index();
            }
        }
    }

    /// Returns (keys, keys with an expire) of database `db`; locks shards one at a time, so
    /// the figure is not one instant's (as INFO's is not in Redis either, under writes).
    pub fn db_sizes(&self, db: usize) -> (usize, usize) {
        let (keys, volatile, _) = self.db_info(db);
        (keys, volatile)
    }

    /// Returns (keys, keys with an expire, estimated average TTL in ms) of database `db`: the
    /// figures of INFO keyspace's `db0:keys=...,expires=...,avg_ttl=...`.
    pub fn db_info(&self, db: usize) -> (usize, usize, i64) {
        let (mut keys, mut volatile) = (0, 0);
        // The average of the shards' estimates, weighted by their keys with a TTL.
        let (mut weighted, mut weight) = (0i128, 0i128);
        for i in 0..SHARDS {
            let ok = self.with_shard(i, |g| {
                let Some(d) = g.dbs.get(db) else { return false };
                keys += d.dict.len();
                volatile += d.volatile;
                if d.avg_ttl > 0 {
                    weighted += d.avg_ttl as i128 * d.volatile as i128;
                    weight += d.volatile as i128;
                }
                true
            });
            if !ok {
                return (0, 0, 0);
            }
        }
        let avg = if weight > 0 { (weighted / weight) as i64 } else { 0 };
        (keys, volatile, avg)
    }
}

/// Notes a store-originated event in `events` when its class is enabled (a free function, so
/// it can be called while a shard of the view is borrowed).
#[inline]
fn note_event(
    tun: &Tunables,
    events: &mut Vec<KeyEvent>,
    class: u32,
    event: &'static str,
    db: usize,
    key: &[u8],
) {
    if tun.notify_wants(class) {
        events.push(KeyEvent::new(class, event, db, key));
    }
}

/// How a lookup treats what it finds: whether it counts a keyspace hit or miss (INFO's
/// `keyspace_hits`/`keyspace_misses`) and whether it records an access on the entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Neither (internal inspections and the checks before a write).
    Peek,
    /// Neither, and an expired key found while expiry is paused stays (SCAN, RANDOMKEY).
    Lazy,
    /// Both: a read of the value (GET, TOUCH).
    Read,
    /// Counts, does not touch: TYPE, EXISTS, TTL (Redis's `LOOKUP_NOTOUCH`).
    Inspect,
    /// As `Inspect`, and a miss is no `keymiss` event: OBJECT (`LOOKUP_NOTOUCH|NONOTIFY`).
    InspectQuiet,
    /// Touches, does not count: a write (Redis's `LOOKUP_WRITE`).
    Write,
    /// Neither, as `Peek`, but the caller may change the entry in place (`entry_in`).
    Modify,
}

/// A command's view of the keyspace: the current database and the locks it holds. Dropping it
/// releases them.
pub struct Keyspace<'a> {
    store: &'a Store,
    /// The shards whose locks this view holds (bit `i`: shard `i`), released when it drops.
    /// A bit mask rather than an array of guards keeps the view small: it is built, moved
    /// and dropped on every command.
    held: u32,
    /// Unlocked on the thread that locked (as a `MutexGuard` would be).
    not_send: std::marker::PhantomData<*mut ()>,
    /// The database commands address (the client's SELECTed one).
    pub db: usize,
    /// The command's clock, in milliseconds: one instant for the whole command, as Redis's
    /// cached `mstime` is.
    pub now: i64,
    /// Changes made, for `rdb_changes_since_last_save`; counted as Redis counts
    /// `server.dirty` (one per key written or deleted, one per TTL change).
    pub dirty: u64,
    /// The hash of one argument already hashed to choose its shard: (address, length, hash).
    /// Lets a single-key command hash its key once.
    hint: (usize, usize, u64),
    /// Keys with blocked clients that this command created (database, key): served once the
    /// command is done (see `blocking.rs`).
    pub ready: Vec<(usize, Vec<u8>)>,
    /// Watched keys this command looked up for writing in place (database, key): touched
    /// at the end of the command if it changed anything (see [`Keyspace::finish_watch`]).
    pub maybe_touched: Vec<(usize, Vec<u8>)>,
    /// Client-side caching: keys this command modified (any database: the tracking table is
    /// keyed by name only), each with whether the command itself changed it (false: it
    /// expired). Collected only while [`Store::tracking`] is set; the server sends the
    /// invalidations after the command (see `server::tracking`).
    pub invalidated: Vec<(Vec<u8>, bool)>,
    /// Keys looked up for writing in place while tracking is on: invalidated at the end of
    /// the command if it changed anything (see [`Keyspace::finish_tracking`]).
    maybe_tracked: Vec<Vec<u8>>,
    /// A database was flushed while tracking is on: every tracking client gets a null
    /// invalidation after the command.
    pub tracking_flushed: bool,
    /// Keyspace events of this command not yet published, in Redis's order (see `events.rs`);
    /// empty unless `notify-keyspace-events` enables their class.
    pub events: Vec<KeyEvent>,
    /// What this command propagates to the AOF, when propagation is on (`propagate.rs`).
    pub prop: propagate::PropLog,
    /// Replaying the AOF: nothing counts as expired (Redis's `keyIsExpired` while loading),
    /// so a key whose TTL passed before a later write in the file still gets that write.
    pub loading: bool,
}

impl Drop for Keyspace<'_> {
    fn drop(&mut self) {
        self.unlock_all();
    }
}

impl<'a> Keyspace<'a> {
    /// Notes keyspace event `event` of class `class` (a bit of [`crate::config::notify`]) for
    /// `key` of the current database, if that class is enabled; published when the command
    /// ends, after the events noted before it.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.db;
        self.notify_in(db, class, event, key);
    }

    /// [`Keyspace::notify`] for a key of database `db` (MOVE, blocked clients of any db).
    #[inline]
    pub fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        note_event(&self.store.tunables, &mut self.events, class, event, db, key);
    }

    /// Records that `key` (this very slice) hashes to `hash`, so lookups of it skip hashing.
    #[inline]
    pub fn set_hash_hint(&mut self, key: &[u8], hash: u64) {
        self.hint = (key.as_ptr() as usize, key.len(), hash);
    }

    /// Returns the hash of `key`, from the hint when it is the same slice.
    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        if key.as_ptr() as usize == self.hint.0 && key.len() == self.hint.1 {
            self.hint.2
        } else {
            hash_key(key)
        }
    }

    /// Marks this thread as holding every shard of the store until the returned value is
    /// dropped, so the store-wide readers ([`Store::stats`], [`Store::db_info`], ...) called by
    /// commands run inside the transaction use the held locks. The view must hold every shard
    /// and outlive the returned value.
    pub fn hold_all(&self) -> HoldingAll {
        assert!(self.held == ALL_HELD, "hold_all without every shard");
        let addr = self.store as *const Store as usize;
        HoldingAll(HOLDING_ALL.with(|h| h.replace(addr)))
    }

    /// Returns the store this view was taken from.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Locks shard `i` (not held yet) for the life of the view.
    #[inline]
    fn lock_shard(&mut self, i: usize) {
        debug_assert!(self.held & (1 << i) == 0);
        // The guard is given up: the bit in `held` stands for it, and `unlock_all` (on drop)
        // releases the lock.
        std::mem::forget(self.store.shards[i].lock());
        self.held |= 1 << i;
    }

    /// Returns shard `i`, locking it now if the view does not hold it yet (only correct when
    /// no shard above it is held; commands declare their keys so this is rare). The pointer is
    /// valid while the view lives.
    #[inline]
    fn shard_ptr(&mut self, i: usize) -> *mut Shard {
        if self.held & (1 << i) == 0 {
            debug_assert!(
                self.held >> i == 0,
                "shard {i} locked out of order: a command touched a key it did not declare"
            );
            self.lock_shard(i);
        }
        self.store.shards[i].data_ptr()
    }

    /// Locks the shards whose bits are set in `mask`, in ascending order, on a view that holds
    /// none yet: lets the dispatcher build the view where it stands (inside the command's
    /// context) and lock afterwards, rather than build it in `lock_mask` and move it (a
    /// memcpy of the whole view on every command).
    #[inline(always)]
    pub fn lock_more(&mut self, mask: u32) {
        debug_assert_eq!(self.held, 0);
        let mut m = mask & ALL_HELD;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            self.lock_shard(i);
            m &= m - 1;
        }
    }

    /// True when none of the view's side tables (blocked-key, watch, tracking, event and
    /// propagation lists) holds an allocation: the common case of a command that noted
    /// nothing, where dropping the view only has to release its locks (see
    /// [`Keyspace::release_if_bare`]). Every field of the view that may own memory must be
    /// checked here, or a forgotten view would leak it.
    #[inline(always)]
    fn is_bare(&self) -> bool {
        (self.ready.capacity()
            | self.maybe_touched.capacity()
            | self.invalidated.capacity()
            | self.maybe_tracked.capacity()
            | self.events.capacity()
            | self.prop.expired.capacity()
            | self.prop.unit.capacity()
            | self.prop.done.capacity())
            == 0
            && self.prop.replaced.is_none()
    }

    /// Releases the view's locks and returns true when it owns no allocation, so the caller
    /// may forget it instead of running its drop glue (about a hundred instructions of empty
    /// vector drops per command at a pipelined GET's scale). Returns false, holding
    /// everything, otherwise: the caller then drops it normally.
    #[inline(always)]
    pub fn release_if_bare(&mut self) -> bool {
        if !self.is_bare() {
            return false;
        }
        self.unlock_all();
        true
    }

    /// Releases every lock the view holds.
    #[inline]
    fn unlock_all(&mut self) {
        let mut m = self.held;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            // SAFETY: bit `i` of `held` means this view locked shard `i` and gave up its guard
            // (`lock_shard`); no borrow of the shard outlives the `&mut self` that ends here.
            unsafe { self.store.shards[i].force_unlock(Default::default()) };
            m &= m - 1;
        }
        self.held = 0;
    }

    /// Returns shard `i`, locking it now if it was not locked when the view was made (only
    /// correct when no shard above it is held; commands declare their keys so this is rare).
    #[inline]
    pub fn shard_mut(&mut self, i: usize) -> &mut Shard {
        // SAFETY: `shard_ptr` holds shard `i`'s lock for as long as the view lives, and the
        // returned borrow of `self` keeps the view alive and unique meanwhile.
        unsafe { &mut *self.shard_ptr(i) }
    }

    /// Finds a live entry of database `db`, deleting it first if its time has passed, and
    /// accounts for the lookup as `access` says.
    fn find(&mut self, db: usize, key: &[u8], access: Access) -> Option<&mut Entry> {
        let h = self.hash(key);
        let now = self.now;
        let store: &'a Store = self.store;
        let tun = &store.tunables;
        let lazy = Tunables::flag(&tun.lazy_expire);
        let paused = tun.expiry_paused(now);
        let count = matches!(access, Access::Read | Access::Inspect | Access::InspectQuiet);
        let miss_event = if count && access != Access::InspectQuiet { notify::KEY_MISS } else { 0 };
        let touch = matches!(access, Access::Read | Access::Write);
        // Only lookups that cannot lead to a write may leave an expired key in place: a write
        // (or the existence check before one) must never see a key it then adds again.
        let paused = paused
            && matches!(
                access,
                Access::Read | Access::Inspect | Access::InspectQuiet | Access::Lazy
            );
        let i = shard_of(h);
        // The shard and the event list alone are borrowed (not all of `self`), so the expiry
        // branch can note the key for client-side caching, its keyspace events and its
        // propagation.
        let loading = self.loading;
        // SAFETY: the view holds shard `i`'s lock until it drops, and the entry handed out is
        // borrowed from `&mut self`, so it cannot outlive the lock nor alias another borrow.
        let shard: &mut Shard = unsafe { &mut *self.shard_ptr(i) };
        let events = &mut self.events;
        let d = &mut shard.dbs[db];
        let origin = d.snap_origin();
        let expired = |e: &Entry| !loading && e.expire().is_some_and(|t| now > t);
        let found = d.dict.find_or_evict(h, |e| short_eq(e.key(), key), |e| !paused && expired(e));
        match found {
            // While expiry is paused an expired key stays but reads as missing.
            Found::Live(e) if paused && expired(e) => {
                if count {
                    shard.stats.keyspace_misses += 1;
                    note_event(tun, events, miss_event, "keymiss", db, key);
                }
                None
            }
            Found::Live(e) => {
                if matches!(access, Access::Write | Access::Modify) {
                    // The caller may change it: a running snapshot takes it first.
                    shard.snap.before_write(origin, e);
                }
                if touch {
                    tun.touch(e);
                }
                if count {
                    shard.stats.keyspace_hits += 1;
                }
                Some(e)
            }
            Found::Evicted(mut e) => {
                // Expired lazily: a running snapshot takes it first.
                shard.snap.before_remove(origin, &e);
                // Field by field: `d.dict` may not be borrowed again on this path.
                d.volatile -= 1;
                shard.stats.expired_keys += 1;
                if count {
                    shard.stats.keyspace_misses += 1;
                }
                free_value(e.replace_value(Value::Int(0)), lazy);
                if !shard.watched[db].is_empty() {
                    shard.watched[db].touch(key, false);
                }
                // Client-side caching: a lazily expired key is invalidated (not by the command).
                if store.tracking.load(Ordering::Relaxed) {
                    self.invalidated.push((key.to_vec(), false));
                }
                // Redis's lookup expires the key (`expired`), then reports the miss.
                note_event(tun, events, notify::EXPIRED, "expired", db, key);
                note_event(tun, events, miss_event, "keymiss", db, key);
                if Tunables::flag(&tun.propagate) {
                    // Propagation hook: the deletion goes to the AOF as a DEL of its own.
                    self.prop.expired.push((db, key.to_vec()));
                }
                None
            }
            Found::Absent => {
                if count {
                    shard.stats.keyspace_misses += 1;
                    note_event(tun, events, miss_event, "keymiss", db, key);
                }
                None
            }
        }
    }

    /// [`Keyspace::inspect`] without the `keymiss` event a miss would send (OBJECT).
    pub fn inspect_quiet(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.db;
        self.find(db, key, Access::InspectQuiet).map(|e| &*e)
    }

    /// Looks a key up for reading: counts a keyspace hit or miss and records the access.
    pub fn get(&mut self, key: &[u8]) -> Option<&Value> {
        let db = self.db;
        self.find(db, key, Access::Read).map(|e| e.value())
    }

    /// Looks several keys up at once, for commands that read many values together (SINTER,
    /// SUNION, SDIFF and their STORE forms): each lookup counts and touches as [`Self::get`]
    /// does when `read`, as [`Self::get_mut`] does otherwise. Returns the values in argument
    /// order, `None` for a missing key; the same key given twice yields the same value twice.
    pub fn get_many(&mut self, keys: &[&[u8]], read: bool) -> Vec<Option<&Value>> {
        let db = self.db;
        let access = if read { Access::Read } else { Access::Write };
        // First every lookup that may delete an expired key, then the shared borrows: no
        // deletion can happen once the values are handed out.
        let live: Vec<bool> = keys.iter().map(|k| self.find(db, k, access).is_some()).collect();
        keys.iter()
            .zip(live)
            .map(|(k, live)| {
                if !live {
                    return None;
                }
                let h = self.hash(k);
                let i = shard_of(h);
                if self.held & (1 << i) == 0 {
                    return None;
                }
                // SAFETY: the view holds the lock of shard `i`; only shared borrows of the
                // shards are made while the values are handed out.
                let shard: &Shard = unsafe { &*self.store.shards[i].data_ptr() };
                shard.dbs[db].dict.get(h, k).map(|e| e.value())
            })
            .collect()
    }

    /// Looks a key up without counting a hit or miss and without touching its clock (for
    /// internal inspections).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.db;
        self.find(db, key, Access::Peek).map(|e| &*e)
    }

    /// Looks a key up the way TYPE, EXISTS, TTL and OBJECT do: counts a keyspace hit or miss
    /// but leaves the access clock alone.
    pub fn inspect(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.db;
        self.find(db, key, Access::Inspect).map(|e| &*e)
    }

    /// Looks a key up for writing; records the access, counts no hit or miss.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let db = self.db;
        self.note_watched(db, key);
        self.note_tracked(key);
        self.find(db, key, Access::Write).map(|e| e.value_mut())
    }

    /// Returns the live entry of `key` in database `db`, for writing (no access recorded).
    pub fn entry_in(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        self.note_watched(db, key);
        self.note_tracked(key);
        self.find(db, key, Access::Modify)
    }

    /// Records a watched key about to be modified in place (one branch when nothing is
    /// watched in its shard).
    #[inline(always)]
    fn note_watched(&mut self, db: usize, key: &[u8]) {
        if self.store.watches.load(Ordering::Relaxed) != 0 {
            self.note_watched_slow(db, key);
        }
    }

    /// [`Keyspace::note_watched`] when some key is watched (kept out of the write paths).
    #[inline(never)]
    fn note_watched_slow(&mut self, db: usize, key: &[u8]) {
        let h = self.hash(key);
        if self.shard_mut(shard_of(h)).watched[db].has(key)
            && !self.maybe_touched.iter().any(|(d, k)| *d == db && k == key)
        {
            self.maybe_touched.push((db, key.to_vec()));
        }
    }

    /// Client-side caching hook, beside WATCH's at every point a key changes: records `key`
    /// for invalidation after the command while tracking is on (one relaxed load otherwise).
    /// `by_command` is false for an expiry (BCAST's NOLOOP does not filter those).
    #[inline]
    fn track_modified(&mut self, key: &[u8], by_command: bool) {
        if self.store.tracking.load(Ordering::Relaxed) {
            self.invalidated.push((key.to_vec(), by_command));
        }
    }

    /// Client-side caching: records a key about to be modified in place; it is invalidated at
    /// the end of the command only if the command changed something (as WATCH does).
    #[inline(always)]
    fn note_tracked(&mut self, key: &[u8]) {
        if self.store.tracking.load(Ordering::Relaxed) {
            self.note_tracked_slow(key);
        }
    }

    /// [`Keyspace::note_tracked`] while tracking is on (kept out of the write paths).
    #[inline(never)]
    fn note_tracked_slow(&mut self, key: &[u8]) {
        if !self.maybe_tracked.iter().any(|k| k == key) {
            self.maybe_tracked.push(key.to_vec());
        }
    }

    /// Ends a command for client-side caching: the keys it looked up for writing in place are
    /// invalidated if it changed anything (`dirty_before` is `dirty` when it started).
    #[inline]
    pub fn finish_tracking(&mut self, dirty_before: u64) {
        if self.maybe_tracked.is_empty() {
            return;
        }
        let keys = std::mem::take(&mut self.maybe_tracked);
        if self.dirty > dirty_before {
            self.invalidated.extend(keys.into_iter().map(|k| (k, true)));
        }
    }

    /// Touches the watched key `key` of database `db` (a write changed it). `h` is its hash.
    #[inline]
    fn touch_watched(&mut self, db: usize, h: u64, key: &[u8]) {
        self.track_modified(key, true);
        let shard = self.shard_mut(shard_of(h));
        if shard.watched[db].is_empty() {
            return;
        }
        let exists = shard.dbs[db].dict.get(h, key).is_some();
        shard.watched[db].touch(key, exists);
    }

    /// Tells WATCH that `key` (current database), looked up for writing in place, was left
    /// unchanged even though the command changed other keys.
    pub fn not_modified(&mut self, key: &[u8]) {
        let db = self.db;
        self.maybe_touched.retain(|(d, k)| !(*d == db && k == key));
        self.maybe_tracked.retain(|k| k != key);
    }

    /// Ends a command for WATCH: the watched keys it looked up for writing in place are
    /// touched if it changed anything (`dirty_before` is `dirty` when it started), as Redis
    /// signals a key exactly where it counts a change.
    #[inline(always)]
    pub fn finish_watch(&mut self, dirty_before: u64) {
        if !self.maybe_touched.is_empty() {
            self.finish_watch_slow(dirty_before);
        }
    }

    /// [`Keyspace::finish_watch`] when a watched key was looked up for writing.
    #[inline(never)]
    fn finish_watch_slow(&mut self, dirty_before: u64) {
        let keys = std::mem::take(&mut self.maybe_touched);
        if self.dirty > dirty_before {
            for (db, k) in &keys {
                let h = hash_key(k);
                self.touch_watched(*db, h, k);
            }
        }
    }

    /// Adds a watch of `key` in database `db` by a client (WATCH); remembers whether the key
    /// is already expired (stale). The key's shard must be held.
    pub fn watch(&mut self, db: usize, key: &[u8], client_id: u64, flag: Arc<AtomicBool>) {
        let h = hash_key(key);
        let now = self.now;
        let shard = self.shard_mut(shard_of(h));
        let stale = shard.dbs[db]
            .dict
            .get(h, key)
            .is_some_and(|e| e.expire().is_some_and(|t| now > t));
        shard.watched[db].add(key, client_id, flag, stale);
        self.store.watches.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes the client's watch of `key` in database `db`; the key's shard must be held.
    pub fn unwatch(&mut self, db: usize, key: &[u8], client_id: u64) {
        if self.shard_mut(shard_of_key(key)).watched[db].remove(key, client_id) {
            self.store.watches.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// True when a key the client watched live has expired since (EXEC then fails). A key
    /// that was stale when watched is not checked.
    pub fn watched_key_expired(&mut self, db: usize, key: &[u8], client_id: u64) -> bool {
        let h = hash_key(key);
        let now = self.now;
        let shard = self.shard_mut(shard_of(h));
        if shard.watched[db].is_stale(key, client_id) != Some(false) {
            return false;
        }
        shard.dbs[db].dict.get(h, key).is_some_and(|e| e.expire().is_some_and(|t| now > t))
    }

    /// Applies FLUSHDB/SWAPDB's WATCH rules to database `emptied`, whose contents are about to
    /// be dropped (`replaced_with: None`) or swapped with database `replaced_with`.
    fn touch_all_watched(&mut self, emptied: usize, replaced_with: Option<usize>) {
        let now = self.now;
        for i in 0..SHARDS {
            let shard = self.shard_mut(i);
            if shard.watched[emptied].is_empty() {
                continue;
            }
            let keys: Vec<Vec<u8>> = shard.watched[emptied].keys().map(|k| k.to_vec()).collect();
            for k in keys {
                let h = hash_key(&k);
                let old = shard.dbs[emptied].dict.get(h, &k).is_some();
                let new = replaced_with.and_then(|r| {
                    shard.dbs[r].dict.get(h, &k).map(|e| e.expire().is_some_and(|t| now > t))
                });
                shard.watched[emptied].replaced(&k, old, new);
            }
        }
    }

    /// Deletes `key` if its time has passed (unless expiry is paused); true when it is still
    /// there and live. For SCAN's filtering: counts nothing, touches nothing.
    pub fn expire_if_due(&mut self, key: &[u8]) -> bool {
        let db = self.db;
        self.find(db, key, Access::Lazy).is_some()
    }

    /// True when `key` exists (and has not expired). Counts a hit or miss and leaves the access
    /// clock alone, like Redis's EXISTS.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.inspect(key).is_some()
    }

    /// Stores `value` at `key`, keeping the key's TTL when `keep_ttl`, otherwise clearing it.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        let db = self.db;
        if let Some(e) = self.find(db, key, Access::Write) {
            e.replace_value(value);
            if !keep_ttl && e.expire().is_some() {
                self.set_expire_in(db, key, None);
            } else {
                let h = self.hash(key);
                self.touch_watched(db, h, key);
            }
        } else {
            self.insert_in(db, key, value, None);
        }
        self.dirty += 1;
    }

    /// Stores `value` at `key` with the given expire time (replacing any old value and TTL).
    pub fn set_with_expire(&mut self, key: &[u8], value: Value, expire: Option<i64>) {
        let db = self.db;
        if let Some(e) = self.find(db, key, Access::Write) {
            e.replace_value(value);
            // (set_expire_in touches the key.)
            self.set_expire_in(db, key, expire);
        } else {
            self.insert_in(db, key, value, expire);
        }
        self.dirty += 1;
    }

    /// Sizes the still empty tables of database `db` for `keys` keys spread over the shards (a
    /// load's RESIZEDB hint; added for loading). Takes a view that holds every shard.
    pub fn reserve_in(&mut self, db: usize, keys: usize) {
        let per = keys.div_ceil(SHARDS);
        for i in 0..SHARDS {
            self.shard_mut(i).dbs[db].dict.reserve(per);
        }
    }

    /// Inserts a key known to be absent from database `db`.
    pub fn insert_in(&mut self, db: usize, key: &[u8], value: Value, expire: Option<i64>) {
        let clock = self.store.tunables.fresh_clock();
        self.put_entry_in(db, Entry::new(key, value, expire, clock));
    }

    /// Files an entry whose key is known to be absent from database `db` (RENAME, MOVE and
    /// COPY move or build whole entries, keeping their TTL and access clock).
    pub fn put_entry_in(&mut self, db: usize, mut e: Entry) {
        let h = hash_key(e.key());
        // Every key created comes through here: Redis's dbAdd emits `new`.
        let new_key =
            self.store.tunables.notify_wants(notify::NEW).then(|| e.key().to_vec());
        let shard = self.shard_mut(shard_of(h));
        // Created after a running snapshot's instant: not part of its image.
        shard.snap.mark_new(&mut e);
        // A new key that clients wait on: they are served after this command.
        let ready = shard.waiters[db].has(e.key())
            && matches!(e.value(), Value::List(_) | Value::ZSet(_));
        let key = if ready { Some(e.key().to_vec()) } else { None };
        let watched = shard.watched[db].has(e.key());
        let wkey = if watched { Some(e.key().to_vec()) } else { None };
        let tracked = self.store.tracking.load(Ordering::Relaxed).then(|| e.key().to_vec());
        let shard = self.shard_mut(shard_of(h));
        shard.dbs[db].link(h, e);
        if let Some(k) = wkey {
            shard.watched[db].touch(&k, true);
        }
        // Client-side caching: a key created is invalidated too (a cached miss).
        if let Some(k) = tracked {
            self.invalidated.push((k, true));
        }
        if let Some(k) = key {
            self.ready.push((db, k));
        }
        if let Some(k) = new_key {
            self.events.push(KeyEvent { class: notify::NEW, event: "new", db, key: k });
        }
    }

    /// Files `w` in the queue of each of its keys. The shards of its keys must be held (the
    /// blocking command declared them).
    pub fn add_waiter(&mut self, w: &Arc<Waiter>) {
        for k in &w.keys {
            self.shard_mut(shard_of_key(k)).waiters[w.db].add(k, w.clone());
        }
    }

    /// Returns the first client still waiting on `key` in database `db`.
    pub fn front_waiter(&mut self, db: usize, key: &[u8]) -> Option<Arc<Waiter>> {
        let waiters = &mut self.shard_mut(shard_of_key(key)).waiters[db];
        if waiters.is_empty() { None } else { waiters.front(key) }
    }

    /// Makes sure shard `i` is held, without breaking the ascending lock order: locks it when
    /// no higher shard is held, otherwise only tries. Returns false when that try failed; the
    /// caller may then [`Keyspace::relock_all`].
    pub fn ensure_shard(&mut self, i: usize) -> bool {
        if self.held & (1 << i) != 0 {
            return true;
        }
        if self.held >> i == 0 {
            self.lock_shard(i);
            return true;
        }
        match self.store.shards[i].try_lock() {
            Some(g) => {
                std::mem::forget(g);
                self.held |= 1 << i;
                true
            }
            None => false,
        }
    }

    /// Releases every lock held and takes all of them, in order. Other commands may run in
    /// between: only for work that re-reads what it needs afterwards.
    pub fn relock_all(&mut self) {
        self.unlock_all();
        for i in 0..SHARDS {
            self.lock_shard(i);
        }
    }

    /// Takes the entry of `key` out of database `db`, expired or not.
    pub fn take_entry_in(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        let h = self.hash(key);
        let shard = self.shard_mut(shard_of(h));
        let e = shard.dbs[db].unlink(h, key)?;
        // Leaving this key (RENAME, MOVE): a running snapshot takes it first.
        shard.snap.before_remove(shard.dbs[db].snap_origin(), &e);
        self.touch_watched(db, h, key);
        Some(e)
    }

    /// Deletes `key`; returns its value if it existed. A key whose time had passed counts as
    /// expired, not deleted.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let (db, now) = (self.db, self.now);
        let lazy = Tunables::flag(&self.store.tunables.lazy_expire);
        let paused = self.store.tunables.expiry_paused(now);
        let h = self.hash(key);
        let shard = self.shard_mut(shard_of(h));
        let mut e = shard.dbs[db].unlink(h, key)?;
        // Deleted: a running snapshot takes it first.
        shard.snap.before_remove(shard.dbs[db].snap_origin(), &e);
        if !shard.watched[db].is_empty() {
            shard.watched[db].touch(key, false);
        }
        let v = e.replace_value(Value::Int(0));
        // (While expiry is paused, DEL deletes an expired key like any other, as Redis does.)
        if !paused && e.expire().is_some_and(|t| now > t) {
            shard.stats.expired_keys += 1;
            free_value(v, lazy);
            self.track_modified(key, false);
            let tun = &self.store.tunables;
            note_event(tun, &mut self.events, notify::EXPIRED, "expired", db, key);
            return None;
        }
        self.dirty += 1;
        self.track_modified(key, true);
        Some(v)
    }

    /// Deletes `key`; returns true if it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }

    /// Removes `key` from database `db` (expired or not); returns its value.
    pub fn remove_in(&mut self, db: usize, key: &[u8]) -> Option<Value> {
        let mut e = self.take_entry_in(db, key)?;
        Some(e.replace_value(Value::Int(0)))
    }

    /// Returns the expire time of `key`: `None` if the key does not exist, `Some(None)` if it
    /// has no TTL. Counts no hit or miss.
    pub fn expire_of(&mut self, key: &[u8]) -> Option<Option<i64>> {
        let db = self.db;
        self.find(db, key, Access::Peek).map(|e| e.expire())
    }

    /// Sets (or with `None` removes) the expire time of an existing key in database `db`.
    /// Returns false if the key does not exist.
    pub fn set_expire_in(&mut self, db: usize, key: &[u8], when: Option<i64>) -> bool {
        let h = self.hash(key);
        let shard = self.shard_mut(shard_of(h));
        let (d, snap) = (&mut shard.dbs[db], &mut shard.snap);
        let origin = d.snap_origin();
        let mut had = None;
        let found = d.dict.update(h, key, |mut e| {
            // The TTL changes: a running snapshot takes the entry first.
            snap.before_write(origin, &mut e);
            had = Some(e.expire().is_some());
            e.with_expire(when)
        });
        match (had, when.is_some()) {
            (Some(false), true) => d.add_volatile(),
            (Some(true), false) => d.drop_volatile(),
            _ => {}
        }
        if found {
            self.touch_watched(db, h, key);
        }
        found
    }

    /// Sets (or removes) the expire time of `key` in the current database.
    pub fn set_expire(&mut self, key: &[u8], when: Option<i64>) -> bool {
        let db = self.db;
        if self.find(db, key, Access::Peek).is_none() {
            return false;
        }
        self.dirty += 1;
        self.set_expire_in(db, key, when)
    }

    /// Returns the number of keys in database `db` (expired keys not yet removed count, as in
    /// Redis's DBSIZE). Needs every shard.
    pub fn db_len(&mut self, db: usize) -> usize {
        (0..SHARDS).map(|i| self.shard_mut(i).dbs[db].dict.len()).sum()
    }

    /// Returns the number of keys with a TTL in database `db`.
    pub fn db_volatile(&mut self, db: usize) -> usize {
        (0..SHARDS).map(|i| self.shard_mut(i).dbs[db].volatile).sum()
    }

    /// Empties database `db` and returns what it held, so the caller may free it elsewhere.
    /// Counts one change per key removed, as Redis's FLUSHDB adds to `dirty`.
    pub fn flush_db(&mut self, db: usize) -> Flushed {
        self.touch_all_watched(db, None);
        // Client-side caching: every tracking client is told to drop everything.
        if self.store.tracking.load(Ordering::Relaxed) {
            self.tracking_flushed = true;
        }
        let mut old = Flushed { dbs: Vec::with_capacity(SHARDS), keys: 0 };
        let store = self.store;
        for i in 0..SHARDS {
            let shard = self.shard_mut(i);
            let d = std::mem::take(&mut shard.dbs[db]);
            old.keys += d.dict.len();
            if shard.snap.wants_flushed(&d) {
                // A running snapshot has not walked it yet: its walker walks it, then frees it.
                store.snap.adopt_flushed(d);
            } else {
                old.dbs.push(d);
            }
        }
        self.dirty += old.keys as u64;
        old
    }

    /// Swaps two databases in every shard (their keys, TTL index and statistics).
    pub fn swap_db(&mut self, a: usize, b: usize) {
        self.touch_all_watched(a, Some(b));
        self.touch_all_watched(b, Some(a));
        let mut ready = std::mem::take(&mut self.ready);
        for i in 0..SHARDS {
            let shard = self.shard_mut(i);
            shard.dbs.swap(a, b);
            // Clients waiting in either database on a key that the swap brought in.
            for db in [a, b] {
                for k in shard.waiters[db].keys() {
                    let h = hash_key(k);
                    let present = shard.dbs[db].dict.find(h, |e| e.key() == k).is_some_and(|e| {
                        matches!(e.value(), Value::List(_) | Value::ZSet(_))
                    });
                    if present {
                        ready.push((db, k.to_vec()));
                    }
                }
            }
        }
        self.ready = ready;
        self.dirty += 1;
    }

    /// Visits every live entry of database `db` (expired ones are skipped, not deleted).
    pub fn for_each_in(&mut self, db: usize, mut f: impl FnMut(&Entry)) {
        let now = self.now;
        for i in 0..SHARDS {
            self.shard_mut(i).dbs[db].dict.for_each(|e| {
                if e.expire().is_none_or(|t| now <= t) {
                    f(e)
                }
            });
        }
    }

    /// One step of a SCAN over database `db`. The cursor packs the shard in its low 4 bits and
    /// the shard's dict cursor above; returns the next cursor (0 when the scan is complete).
    /// Visits every entry of one bucket (expired ones included; the caller filters them).
    pub fn scan_step(&mut self, db: usize, cursor: u64, mut f: impl FnMut(&Entry)) -> u64 {
        let mut shard = (cursor & (SHARDS as u64 - 1)) as usize;
        let mut inner = cursor >> 4;
        loop {
            let d = &self.shard_mut(shard).dbs[db].dict;
            let next = d.scan(inner, &mut f);
            if next != 0 {
                return (next << 4) | shard as u64;
            }
            shard += 1;
            if shard == SHARDS {
                return 0;
            }
            inner = 0;
            if !self.shard_mut(shard).dbs[db].dict.is_empty() {
                return shard as u64;
            }
        }
    }

    /// Returns a random live key of database `db`, or `None` when it is empty. Expired keys
    /// met on the way are deleted, as Redis's RANDOMKEY does, so the loop ends. While expiry
    /// is paused they cannot be deleted, so after 100 tries an expired key is returned (as
    /// Redis does on a replica, where it cannot delete either).
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        use rand::RngExt;
        let mut rng = rand::rng();
        let mut tries = 0;
        loop {
            tries += 1;
            let mut sizes = [0usize; SHARDS];
            for (i, s) in sizes.iter_mut().enumerate() {
                *s = self.shard_mut(i).dbs[db].dict.len();
            }
            let total: usize = sizes.iter().sum();
            if total == 0 {
                return None;
            }
            let mut pick = rng.random_range(0..total);
            let mut shard = 0;
            while pick >= sizes[shard] {
                pick -= sizes[shard];
                shard += 1;
            }
            let key = self.shard_mut(shard).dbs[db]
                .dict
                .random(|| rng.random::<u64>())
                .map(|e| e.key().to_vec())?;
            if self.find(db, &key, Access::Lazy).is_some()
                || (tries >= 100 && self.store.tunables.expiry_paused(self.now))
            {
                return Some(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_eq_is_byte_equality_at_every_length() {
        for len in 0..40usize {
            let a: Vec<u8> = (0..len as u8).map(|i| b'a' + i % 26).collect();
            assert!(short_eq(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!short_eq(&a, &b), "{len} {at}");
            }
            if len > 0 {
                assert!(!short_eq(&a, &a[..len - 1]), "{len}");
            }
        }
        assert!(!short_eq(b"key:1\0", b"key:1"));
    }

    #[test]
    fn watch_registry_sees_writes_in_place_only_when_they_change_something() {
        let store = Store::new(2);
        let flag = Arc::new(AtomicBool::new(false));
        let mut ks = store.lock_all(0, 1000);
        ks.set(b"k", Value::Int(1), false);
        ks.watch(0, b"k", 7, flag.clone());
        assert_eq!(store.watches.load(Ordering::Relaxed), 1);
        // Looked up for writing but nothing changed: not touched.
        let before = ks.dirty;
        assert!(ks.get_mut(b"k").is_some());
        ks.finish_watch(before);
        assert!(!flag.load(Ordering::Relaxed));
        // Changed in place: touched at the end of the command.
        let before = ks.dirty;
        assert!(ks.get_mut(b"k").is_some());
        ks.dirty += 1;
        ks.finish_watch(before);
        assert!(flag.load(Ordering::Relaxed));
        // Another database's key of the same name is another key.
        flag.store(false, Ordering::Relaxed);
        ks.insert_in(1, b"k", Value::Int(2), None);
        assert!(!flag.load(Ordering::Relaxed));
        ks.remove(b"k");
        assert!(flag.load(Ordering::Relaxed));
        ks.unwatch(0, b"k", 7);
        assert_eq!(store.watches.load(Ordering::Relaxed), 0);
        flag.store(false, Ordering::Relaxed);
        ks.set(b"k", Value::Int(3), false);
        assert!(!flag.load(Ordering::Relaxed));
    }

    #[test]
    fn tracking_hook_collects_modified_keys_only_while_on() {
        let store = Store::new(2);
        let mut ks = store.lock_all(0, 1000);
        ks.set(b"a", Value::Int(1), false);
        assert!(ks.invalidated.is_empty());
        store.tracking.store(true, Ordering::Relaxed);
        ks.set(b"a", Value::Int(2), false);
        ks.insert_in(1, b"b", Value::Int(1), None);
        ks.set_with_expire(b"e", Value::Int(1), Some(1001));
        assert!(ks.delete(b"a"));
        let names: Vec<(&[u8], bool)> = ks
            .invalidated
            .iter()
            .map(|(k, c)| (k.as_slice(), *c))
            .collect();
        assert_eq!(
            names,
            [(&b"a"[..], true), (b"b", true), (b"e", true), (b"a", true)]
        );
        ks.invalidated.clear();
        // In place: only if the command changed something.
        let before = ks.dirty;
        assert!(ks.get_mut(b"e").is_some());
        ks.finish_tracking(before);
        assert!(ks.invalidated.is_empty());
        assert!(ks.get_mut(b"e").is_some());
        ks.dirty += 1;
        ks.finish_tracking(before);
        assert_eq!(ks.invalidated, [(b"e".to_vec(), true)]);
        ks.invalidated.clear();
        // Lazy expiry is not the command's own change.
        ks.now = 1002;
        assert!(ks.get(b"e").is_none());
        assert_eq!(ks.invalidated, [(b"e".to_vec(), false)]);
        ks.flush_db(1);
        assert!(ks.tracking_flushed);
        drop(ks);
        // Active expiry hands its keys over.
        let mut ks = store.lock_all(0, 1000);
        ks.set_with_expire(b"x", Value::Int(1), Some(1001));
        drop(ks);
        let mut expired = Vec::new();
        for i in 0..SHARDS {
            store
                .shard(i)
                .expire_round_into(0, 5000, 20, false, Some(&mut expired), None);
        }
        assert_eq!(expired, [b"x".to_vec()]);
    }

    #[test]
    fn set_get_expire_delete() {
        let store = Store::new(16);
        let mut ks = store.lock_all(0, 1000);
        ks.set(b"a", Value::string(b"1"), false);
        assert!(ks.get(b"a").is_some());
        assert!(ks.set_expire(b"a", Some(1500)));
        assert_eq!(ks.expire_of(b"a"), Some(Some(1500)));
        assert_eq!(ks.db_volatile(0), 1);
        ks.set(b"a", Value::string(b"2"), true);
        assert_eq!(ks.expire_of(b"a"), Some(Some(1500)));
        ks.set(b"a", Value::string(b"3"), false);
        assert_eq!(ks.expire_of(b"a"), Some(None));
        assert_eq!(ks.db_volatile(0), 0);
        ks.set_with_expire(b"b", Value::string(b"x"), Some(1001));
        // Expired only once the clock is past the expire time, as in Redis.
        ks.now = 1001;
        assert!(ks.get(b"b").is_some());
        ks.now = 1002;
        assert!(ks.get(b"b").is_none());
        assert_eq!(ks.db_len(0), 1);
        assert!(ks.delete(b"a"));
        assert_eq!(ks.db_len(0), 0);
        drop(ks);
        let st = store.stats();
        assert_eq!(st.expired_keys, 1);
        assert_eq!(st.keyspace_hits, 2);
        assert_eq!(st.keyspace_misses, 1);
    }

    #[test]
    fn paused_expiry_keeps_expired_keys_but_hides_them() {
        let store = Store::new(1);
        store.tunables.pause_expiry(1000);
        let mut ks = store.lock_all(0, 100);
        ks.set_with_expire(b"k", Value::Int(1), Some(50));
        assert!(ks.get(b"k").is_none());
        assert!(!ks.exists(b"k"));
        assert_eq!(ks.db_len(0), 1);
        assert_eq!(ks.random_key(0), Some(b"k".to_vec()));
        assert!(!ks.expire_if_due(b"k"));
        assert_eq!(ks.db_len(0), 1);
        // A write never sees the stale key: it is deleted first, not added twice.
        ks.set(b"k", Value::Int(2), false);
        assert_eq!(ks.db_len(0), 1);
        assert!(ks.delete(b"k"));
        ks.set_with_expire(b"k", Value::Int(1), Some(50));
        assert!(ks.get(b"k").is_none());
        drop(ks);
        assert_eq!(store.stats().expired_keys, 1, "only the write expired a key");
        store.tunables.pause_expiry(0);
        let mut ks = store.lock_all(0, 100);
        assert!(ks.get(b"k").is_none());
        assert_eq!(ks.db_len(0), 0);
        drop(ks);
        assert_eq!(store.stats().expired_keys, 2);
        store.check_indexes();
    }

    #[test]
    fn lfu_counter_decays_and_grows_logarithmically() {
        update_lru_clock();
        let now = lfu_minutes();
        // Ten minutes untouched with a decay time of 1: ten periods off the counter.
        let clock = (now.wrapping_sub(10) & 0xffff) << 8 | 30;
        assert_eq!(lfu_decayed(clock, 1), 20);
        assert_eq!(lfu_decayed(clock, 0), 30);
        assert_eq!(lfu_decayed(clock, 100), 30);
        assert_eq!(lfu_decayed((now.wrapping_sub(100) & 0xffff) << 8 | 30, 1), 0);
        assert_eq!(lfu_log_incr(255, 10), 255);
        // At or below the initial value the counter always grows.
        assert_eq!(lfu_log_incr(3, 10), 4);
        let mut c = LFU_INIT_VAL;
        for _ in 0..10_000 {
            c = lfu_log_incr(c, 10);
        }
        assert!(c > 10 && c < 60, "{c}");
    }

    /// Random operations against a model: values, TTLs, lazy and active expiry, resizes and
    /// database swaps all keep the keyspace, its TTL index and the counts in step.
    #[test]
    fn random_operations_match_a_model() {
        use rand::{RngExt, SeedableRng};
        use std::collections::HashMap;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let store = Store::new(2);
        // (db, key) -> (value, expire)
        type Model = HashMap<(usize, Vec<u8>), (i64, Option<i64>)>;
        let mut model: Model = HashMap::new();
        let mut now = 1_000_000i64;
        for step in 0..60_000 {
            let db = rng.random_range(0..2usize);
            let key = format!("k{}", rng.random_range(0..400)).into_bytes();
            let mut ks = store.lock_all(db, now);
            let live = |m: &Model| {
                m.get(&(db, key.clone())).filter(|(_, e)| !e.is_some_and(|t| now > t)).copied()
            };
            match rng.random_range(0..10) {
                0 | 1 => {
                    let v = rng.random_range(0..1000);
                    ks.set(&key, Value::Int(v), false);
                    model.insert((db, key.clone()), (v, None));
                }
                2 => {
                    let v = rng.random_range(0..1000);
                    let t = now + rng.random_range(-50..200);
                    ks.set_with_expire(&key, Value::Int(v), Some(t));
                    model.insert((db, key.clone()), (v, Some(t)));
                }
                3 => {
                    let t = Some(now + rng.random_range(1..200)).filter(|_| rng.random_bool(0.7));
                    let exists = live(&model).is_some();
                    assert_eq!(ks.set_expire(&key, t), exists, "step {step}");
                    if exists {
                        model.get_mut(&(db, key.clone())).unwrap().1 = t;
                    } else {
                        model.remove(&(db, key.clone()));
                    }
                }
                4 => {
                    let removed = ks.remove(&key).is_some();
                    assert_eq!(removed, live(&model).is_some(), "step {step}");
                    model.remove(&(db, key.clone()));
                }
                5 => {
                    let got = ks.get(&key).map(|v| match v {
                        Value::Int(n) => *n,
                        _ => panic!("not an int"),
                    });
                    assert_eq!(got, live(&model).map(|(v, _)| v), "step {step}");
                    if got.is_none() {
                        model.remove(&(db, key.clone()));
                    }
                }
                6 => now += rng.random_range(0..30),
                7 => {
                    drop(ks);
                    for i in 0..SHARDS {
                        store.shard(i).expire_round(db, now, 20, false);
                        store.shard(i).housekeeping(rng.random_range(0..3));
                    }
                    continue;
                }
                8 if rng.random_bool(0.01) => {
                    ks.swap_db(0, 1);
                    let swapped = model.drain().map(|((d, k), v)| ((1 - d, k), v)).collect();
                    model = swapped;
                }
                _ => {
                    let exp = ks.expire_of(&key);
                    assert_eq!(exp, live(&model).map(|(_, e)| e), "step {step}");
                    if exp.is_none() {
                        model.remove(&(db, key.clone()));
                    }
                }
            }
            drop(ks);
            if step % 5000 == 0 {
                store.check_indexes();
            }
        }
        store.check_indexes();
        // What the store holds is what the model holds, once expired keys are set aside.
        for db in 0..2 {
            let mut ks = store.lock_all(db, now);
            let mut seen = 0;
            ks.for_each_in(db, |e| {
                let (v, t) = model[&(db, e.key().to_vec())];
                assert!(matches!(e.value(), Value::Int(n) if *n == v));
                assert_eq!(e.expire(), t);
                seen += 1;
            });
            let want = model
                .iter()
                .filter(|((d, _), (_, t))| *d == db && !t.is_some_and(|t| now > t))
                .count();
            assert_eq!(seen, want);
        }
    }

    #[test]
    fn scan_across_shards_sees_every_key() {
        let store = Store::new(1);
        let mut ks = store.lock_all(0, 0);
        for i in 0..500 {
            ks.set(format!("k{i}").as_bytes(), Value::Int(i), false);
        }
        let mut seen = std::collections::HashSet::new();
        let mut c = 0;
        loop {
            c = ks.scan_step(0, c, |e| {
                seen.insert(e.key().to_vec());
            });
            if c == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 500);
    }

    #[test]
    fn active_expiry_removes_due_keys() {
        let store = Store::new(1);
        {
            let mut ks = store.lock_all(0, 0);
            for i in 0..100 {
                ks.set_with_expire(format!("k{i}").as_bytes(), Value::Int(i), Some(10));
            }
            ks.set(b"keep", Value::Int(1), false);
        }
        let mut expired = 0;
        for i in 0..SHARDS {
            loop {
                let r = store.shard(i).expire_round(0, 20, 20, false);
                if r.idle || r.expired == 0 {
                    break;
                }
                expired += r.expired;
            }
        }
        assert_eq!(expired, 100);
        assert_eq!(store.stats().expired_keys, 100);
        assert_eq!(store.db_sizes(0), (1, 0));
    }
}
