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
//!   DBSIZE, RANDOMKEY, and later MULTI/EXEC and scripts) lock every shard, in order.
//!
//! Locks are `parking_lot` mutexes, held only while a command runs and never across an
//! `.await`: a command never waits on I/O while holding one.
//!
//! The hasher is process-wide and randomly seeded, against collision flooding.

pub mod dict;
pub mod entry;
pub mod lazyfree;
pub mod value;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::{Mutex, MutexGuard};

use dict::Dict;
use entry::Entry;
use value::Value;

/// Number of shards; a power of two, at most 16 (the shard index takes the hash's top 4 bits).
pub const SHARDS: usize = 16;

static HASHER: OnceLock<ahash::RandomState> = OnceLock::new();

/// Returns the hash of a key with the process's seeded hasher.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    HASHER.get_or_init(ahash::RandomState::new).hash_one(key)
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

/// The access clock, in seconds, 24 bits (Redis's LRU clock at its default resolution).
static LRU_CLOCK: AtomicU32 = AtomicU32::new(0);
/// Mask of the 24-bit clock.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// Returns the current access clock.
#[inline]
pub fn lru_clock() -> u32 {
    LRU_CLOCK.load(Ordering::Relaxed)
}

/// Refreshes the access clock from the wall clock; called by the server cron.
pub fn update_lru_clock() {
    let secs = (crate::util::now_ms() / 1000) as u32;
    LRU_CLOCK.store(secs & LRU_CLOCK_MAX, Ordering::Relaxed);
}

/// Returns how many seconds ago an entry with this clock was last touched.
pub fn idle_seconds(clock: u32) -> u64 {
    let now = lru_clock();
    if now >= clock { (now - clock) as u64 } else { (LRU_CLOCK_MAX - clock + now) as u64 }
}

/// One database's slice of keys within a shard.
#[derive(Default)]
pub struct Db {
    pub dict: Dict,
    /// Keys that have an expire time.
    pub volatile: usize,
    /// Where the active expiry cycle resumes.
    expire_cursor: u64,
}

/// Counters kept per shard (no atomics: they change under the shard's lock) and summed for
/// INFO.
#[derive(Default, Clone, Debug)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    /// Keys scanned by the active expiry cycle, and how many of those were expired.
    pub expire_cycle_scanned: u64,
    pub expire_cycle_expired: u64,
}

/// A shard: its slice of every database.
pub struct Shard {
    pub dbs: Vec<Db>,
    pub stats: ShardStats,
}

impl Shard {
    /// Runs the active expiry on database `db`: walks buckets from where the last run stopped,
    /// deleting keys whose time has come, until `budget` keys were examined or the walk wrapped.
    /// Returns (examined, expired).
    pub fn active_expire(&mut self, db: usize, now: i64, budget: usize) -> (usize, usize) {
        let d = &mut self.dbs[db];
        if d.volatile == 0 {
            return (0, 0);
        }
        let mut examined = 0;
        let mut due: Vec<Vec<u8>> = Vec::new();
        let mut cursor = d.expire_cursor;
        loop {
            cursor = d.dict.scan(cursor, |e| {
                examined += 1;
                if e.expire().is_some_and(|t| t <= now) {
                    due.push(e.key().to_vec());
                }
            });
            if cursor == 0 || examined >= budget {
                break;
            }
        }
        d.expire_cursor = cursor;
        let n = due.len();
        for k in due {
            let h = hash_key(&k);
            if d.dict.remove(h, &k).is_some() {
                d.volatile -= 1;
            }
        }
        self.stats.expired_keys += n as u64;
        self.stats.expire_cycle_scanned += examined as u64;
        self.stats.expire_cycle_expired += n as u64;
        (examined, n)
    }

    /// Advances resizes and starts shrinking sparse tables; called by the server cron.
    pub fn housekeeping(&mut self, rehash_buckets: usize) {
        for d in &mut self.dbs {
            d.dict.shrink_if_needed();
            d.dict.rehash(rehash_buckets);
        }
    }
}

/// Every database of the server.
pub struct Store {
    shards: Box<[Mutex<Shard>]>,
    databases: usize,
}

impl Store {
    pub fn new(databases: usize) -> Store {
        update_lru_clock();
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    dbs: (0..databases).map(|_| Db::default()).collect(),
                    stats: ShardStats::default(),
                })
            })
            .collect();
        Store { shards, databases }
    }

    /// Returns the number of databases.
    pub fn databases(&self) -> usize {
        self.databases
    }

    /// Returns a view with no shard locked yet; shards are locked as keys are touched. For
    /// commands with no keys, and as the start of the other constructors.
    pub fn view(&self, db: usize, now: i64) -> Keyspace<'_> {
        Keyspace { store: self, guards: Default::default(), db, now, dirty: 0 }
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
    pub fn lock_mask(&self, db: usize, now: i64, mask: u32) -> Keyspace<'_> {
        let mut ks = self.view(db, now);
        for i in 0..SHARDS {
            if mask & (1 << i) != 0 {
                ks.guards[i] = Some(self.shards[i].lock());
            }
        }
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

    /// Returns the summed counters of every shard.
    pub fn stats(&self) -> ShardStats {
        let mut sum = ShardStats::default();
        for s in self.shards.iter() {
            let st = &s.lock().stats;
            sum.keyspace_hits += st.keyspace_hits;
            sum.keyspace_misses += st.keyspace_misses;
            sum.expired_keys += st.expired_keys;
            sum.expire_cycle_scanned += st.expire_cycle_scanned;
            sum.expire_cycle_expired += st.expire_cycle_expired;
        }
        sum
    }

    /// Resets the counters of every shard (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for s in self.shards.iter() {
            s.lock().stats = ShardStats::default();
        }
    }

    /// Returns (keys, keys with an expire) of database `db`; locks shards one at a time, so
    /// the figure is not one instant's (as INFO's is not in Redis either, under writes).
    pub fn db_sizes(&self, db: usize) -> (usize, usize) {
        let (mut keys, mut volatile) = (0, 0);
        for s in self.shards.iter() {
            let g = s.lock();
            keys += g.dbs[db].dict.len();
            volatile += g.dbs[db].volatile;
        }
        (keys, volatile)
    }
}

/// A command's view of the keyspace: the current database and the locks it holds. Dropping it
/// releases them.
pub struct Keyspace<'a> {
    store: &'a Store,
    guards: [Option<MutexGuard<'a, Shard>>; SHARDS],
    /// The database commands address (the client's SELECTed one).
    pub db: usize,
    /// The command's clock, in milliseconds: one instant for the whole command, as Redis's
    /// cached `mstime` is.
    pub now: i64,
    /// Changes made, for `rdb_changes_since_last_save`.
    pub dirty: u64,
}

impl<'a> Keyspace<'a> {
    /// Returns the store this view was taken from.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Returns shard `i`, locking it now if it was not locked when the view was made (only
    /// correct when no shard above it is held; commands declare their keys so this is rare).
    #[inline]
    pub fn shard_mut(&mut self, i: usize) -> &mut Shard {
        debug_assert!(
            self.guards[i].is_some() || self.guards[i + 1..].iter().all(|g| g.is_none()),
            "shard {i} locked out of order: a command touched a key it did not declare"
        );
        self.guards[i].get_or_insert_with(|| self.store.shards[i].lock())
    }

    /// Finds a live entry, deleting it first if its time has passed.
    fn find(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        let h = hash_key(key);
        let now = self.now;
        let shard = self.shard_mut(shard_of(h));
        let d = &mut shard.dbs[db];
        let e: *mut Entry = d.dict.get_mut(h, key)?;
        // SAFETY: `e` points into `d.dict`, which is not touched again on the path that returns
        // it; the raw pointer only works around the borrow checker's conditional-return limit.
        let expired = unsafe { (*e).expire().is_some_and(|t| t <= now) };
        if expired {
            d.dict.remove(h, key);
            d.volatile -= 1;
            shard.stats.expired_keys += 1;
            return None;
        }
        Some(unsafe { &mut *e })
    }

    /// Looks a key up for reading: counts a keyspace hit or miss and touches its access clock.
    pub fn get(&mut self, key: &[u8]) -> Option<&Value> {
        let db = self.db;
        let h = hash_key(key);
        let found = self.find(db, key).map(|e| {
            e.set_clock(lru_clock());
            e as *const Entry
        });
        let stats = &mut self.shard_mut(shard_of(h)).stats;
        match found {
            // SAFETY: the entry is still in the dict; only the stats were touched since.
            Some(e) => {
                stats.keyspace_hits += 1;
                Some(unsafe { (*e).value() })
            }
            None => {
                stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Looks a key up without counting a hit or miss and without touching its clock (for
    /// TYPE, OBJECT, TTL and other inspections).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.db;
        self.find(db, key).map(|e| &*e)
    }

    /// Looks a key up for writing; touches its access clock.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        let db = self.db;
        self.find(db, key).map(|e| {
            e.set_clock(lru_clock());
            e.value_mut()
        })
    }

    /// Returns the live entry of `key` in database `db`, for writing.
    pub fn entry_in(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        self.find(db, key)
    }

    /// True when `key` exists (and has not expired). Counts a hit or miss, like Redis's EXISTS.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Stores `value` at `key`, keeping the key's TTL when `keep_ttl`, otherwise clearing it.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        let db = self.db;
        if let Some(e) = self.find(db, key) {
            e.replace_value(value);
            e.set_clock(lru_clock());
            if !keep_ttl && e.expire().is_some() {
                self.set_expire_in(db, key, None);
            }
        } else {
            self.insert_in(db, key, value, None);
        }
        self.dirty += 1;
    }

    /// Stores `value` at `key` with the given expire time (replacing any old value and TTL).
    pub fn set_with_expire(&mut self, key: &[u8], value: Value, expire: Option<i64>) {
        let db = self.db;
        if self.find(db, key).is_some() {
            self.remove_in(db, key);
        }
        self.insert_in(db, key, value, expire);
        self.dirty += 1;
    }

    /// Inserts a key known to be absent from database `db`.
    pub fn insert_in(&mut self, db: usize, key: &[u8], value: Value, expire: Option<i64>) {
        let h = hash_key(key);
        let shard = self.shard_mut(shard_of(h));
        let d = &mut shard.dbs[db];
        if expire.is_some() {
            d.volatile += 1;
        }
        d.dict.insert_new(h, Entry::new(key, value, expire, lru_clock()));
    }

    /// Deletes `key`; returns its value if it existed.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let db = self.db;
        self.find(db, key)?;
        let v = self.remove_in(db, key);
        self.dirty += 1;
        v
    }

    /// Deletes `key`; returns true if it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }

    /// Removes `key` from database `db` (expired or not); returns its value.
    pub fn remove_in(&mut self, db: usize, key: &[u8]) -> Option<Value> {
        let h = hash_key(key);
        let d = &mut self.shard_mut(shard_of(h)).dbs[db];
        let mut e = d.dict.remove(h, key)?;
        if e.expire().is_some() {
            d.volatile -= 1;
        }
        Some(e.replace_value(Value::Int(0)))
    }

    /// Returns the expire time of `key`: `None` if the key does not exist, `Some(None)` if it
    /// has no TTL.
    pub fn expire_of(&mut self, key: &[u8]) -> Option<Option<i64>> {
        let db = self.db;
        self.find(db, key).map(|e| e.expire())
    }

    /// Sets (or with `None` removes) the expire time of an existing key in database `db`.
    /// Returns false if the key does not exist.
    pub fn set_expire_in(&mut self, db: usize, key: &[u8], when: Option<i64>) -> bool {
        let h = hash_key(key);
        let d = &mut self.shard_mut(shard_of(h)).dbs[db];
        let mut delta: isize = 0;
        let found = d.dict.update(h, key, |e| {
            match (e.expire().is_some(), when.is_some()) {
                (false, true) => delta = 1,
                (true, false) => delta = -1,
                _ => {}
            }
            e.with_expire(when)
        });
        d.volatile = (d.volatile as isize + delta) as usize;
        found
    }

    /// Sets (or removes) the expire time of `key` in the current database.
    pub fn set_expire(&mut self, key: &[u8], when: Option<i64>) -> bool {
        let db = self.db;
        if self.find(db, key).is_none() {
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
    pub fn flush_db(&mut self, db: usize) -> Vec<Dict> {
        let mut old = Vec::with_capacity(SHARDS);
        for i in 0..SHARDS {
            let d = &mut self.shard_mut(i).dbs[db];
            d.volatile = 0;
            d.expire_cursor = 0;
            old.push(d.dict.take());
        }
        self.dirty += 1;
        old
    }

    /// Swaps two databases in every shard.
    pub fn swap_db(&mut self, a: usize, b: usize) {
        for i in 0..SHARDS {
            self.shard_mut(i).dbs.swap(a, b);
        }
        self.dirty += 1;
    }

    /// Visits every live entry of database `db` (expired ones are skipped, not deleted).
    pub fn for_each_in(&mut self, db: usize, mut f: impl FnMut(&Entry)) {
        let now = self.now;
        for i in 0..SHARDS {
            self.shard_mut(i).dbs[db].dict.for_each(|e| {
                if !e.expire().is_some_and(|t| t <= now) {
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

    /// Returns a random live key of database `db`, or `None` when it is empty.
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        use rand::RngExt;
        let mut rng = rand::rng();
        for _ in 0..100 {
            let sizes: Vec<usize> =
                (0..SHARDS).map(|i| self.shard_mut(i).dbs[db].dict.len()).collect();
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
            // Expired keys are deleted on the way, as Redis's RANDOMKEY does.
            if self.find(db, &key).is_some() {
                return Some(key);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ks.now = 1001;
        assert!(ks.get(b"b").is_none());
        assert_eq!(ks.db_len(0), 1);
        assert!(ks.delete(b"a"));
        assert_eq!(ks.db_len(0), 0);
        drop(ks);
        let st = store.stats();
        assert_eq!(st.expired_keys, 1);
        assert_eq!(st.keyspace_hits, 1);
        assert_eq!(st.keyspace_misses, 1);
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
            expired += store.shard(i).active_expire(0, 20, 1000).1;
        }
        assert_eq!(expired, 100);
        assert_eq!(store.db_sizes(0), (1, 0));
    }
}
