//! The keyspace's hash table: chained buckets in power-of-two tables, grown and shrunk by
//! incremental rehashing, scanned with a reverse-binary cursor.
//!
//! Why not `hashbrown`: SCAN must return every key present for the whole iteration at least
//! once, even while the table grows or shrinks in between calls, and growth must not stall the
//! server. Both need stable bucket positions and two live tables during a resize, which is how
//! Redis's dict works; no general-purpose map exposes either.
//!
//! During a resize both tables hold entries; bucket `rehash_idx` and those below it in the old
//! table are empty. Each lookup or write moves one bucket, and the server cron moves more in
//! the background, so a resize of millions of keys costs a little per operation, never one long
//! pause.
//!
//! The caller hashes the key (with the store's seeded hasher) and passes the hash in, so one
//! hash computation serves shard choice and bucket choice.

use super::entry::Entry;

const INITIAL_SIZE: usize = 4;

#[derive(Default)]
struct Table {
    buckets: Vec<Option<Entry>>,
    used: usize,
}

impl Table {
    fn with_size(size: usize) -> Table {
        let mut buckets = Vec::with_capacity(size);
        buckets.resize_with(size, || None);
        Table { buckets, used: 0 }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    #[inline]
    fn is_empty_table(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// A hash table of entries keyed by their key bytes.
#[derive(Default)]
pub struct Dict {
    t0: Table,
    t1: Table,
    /// Next bucket of `t0` to move to `t1`, while a resize is under way.
    rehash_idx: Option<usize>,
}

fn rev(v: u64) -> u64 {
    v.reverse_bits()
}

impl Dict {
    pub fn new() -> Dict {
        Dict::default()
    }

    /// Returns the number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.t0.used + self.t1.used
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the number of buckets in both tables (for DEBUG HTSTATS and memory estimates).
    pub fn buckets(&self) -> usize {
        self.t0.buckets.len() + self.t1.buckets.len()
    }

    #[inline]
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Moves up to `n` buckets from the old table to the new one. Returns true while more
    /// remain.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else { return false };
        let mut empty_visits = n * 10;
        let mut moved = 0;
        while moved < n && self.t0.used > 0 {
            while self.t0.buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = self.t0.buckets[idx].take();
            while let Some(mut e) = chain {
                chain = e.take_next();
                let h = self.rehash_hash(&e);
                let mask = self.t1.mask();
                let slot = &mut self.t1.buckets[(h as usize) & mask];
                e.set_next(slot.take());
                *slot = Some(e);
                self.t0.used -= 1;
                self.t1.used += 1;
            }
            idx += 1;
            moved += 1;
        }
        if self.t0.used == 0 {
            self.t0 = std::mem::take(&mut self.t1);
            self.rehash_idx = None;
            false
        } else {
            self.rehash_idx = Some(idx);
            true
        }
    }

    /// The hash of an entry being moved. Entries do not store their hash (8 bytes a key), so it
    /// is recomputed with the hasher installed by the store.
    #[inline]
    fn rehash_hash(&self, e: &Entry) -> u64 {
        super::hash_key(e.key())
    }

    #[inline]
    fn step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(1);
        }
    }

    fn start_resize(&mut self, size: usize) {
        let size = size.max(INITIAL_SIZE).next_power_of_two();
        if self.rehash_idx.is_some() || size == self.t0.buckets.len() {
            return;
        }
        if self.t0.is_empty_table() {
            self.t0 = Table::with_size(size);
            return;
        }
        self.t1 = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    fn grow_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        if self.t0.is_empty_table() {
            self.start_resize(INITIAL_SIZE);
        } else if self.t0.used >= self.t0.buckets.len() {
            self.start_resize(self.t0.used + 1);
        }
    }

    /// Starts shrinking the table when it is less than 10% full, as Redis's cron does. Returns
    /// true when a resize was started.
    pub fn shrink_if_needed(&mut self) -> bool {
        if self.rehash_idx.is_some() {
            return false;
        }
        let size = self.t0.buckets.len();
        if size > INITIAL_SIZE && self.t0.used * 100 / size < 10 {
            if self.t0.used == 0 {
                self.t0 = Table::default();
                return false;
            }
            self.start_resize(self.t0.used);
            return true;
        }
        false
    }

    /// Finds the entry for `key`.
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        for t in [&self.t0, &self.t1] {
            if t.is_empty_table() {
                continue;
            }
            let mut cur = t.buckets[(hash as usize) & t.mask()].as_ref();
            while let Some(e) = cur {
                if e.key() == key {
                    return Some(e);
                }
                cur = e.next();
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Locates `key`: which table, which bucket, and how deep in the chain.
    fn locate(&self, hash: u64, key: &[u8]) -> Option<(bool, usize, usize)> {
        for (second, t) in [(false, &self.t0), (true, &self.t1)] {
            if t.is_empty_table() {
                continue;
            }
            let b = (hash as usize) & t.mask();
            let mut cur = t.buckets[b].as_ref();
            let mut depth = 0;
            while let Some(e) = cur {
                if e.key() == key {
                    return Some((second, b, depth));
                }
                cur = e.next();
                depth += 1;
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Returns the link (bucket slot or previous entry's `next`) that holds the entry.
    fn link_mut(&mut self, at: (bool, usize, usize)) -> &mut Option<Entry> {
        let (second, b, depth) = at;
        let t = if second { &mut self.t1 } else { &mut self.t0 };
        let mut link = &mut t.buckets[b];
        for _ in 0..depth {
            // The depth came from `locate` on the same unchanged table, so the chain is long
            // enough.
            link = match link {
                Some(e) => e.next_mut(),
                None => unreachable!("dict chain shorter than located depth"),
            };
        }
        link
    }

    /// Finds the entry for `key`, for writing. Advances a resize under way by one bucket.
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry> {
        self.step();
        let at = self.locate(hash, key)?;
        self.link_mut(at).as_mut()
    }

    /// Inserts an entry whose key is not in the table (the caller checked).
    pub fn insert_new(&mut self, hash: u64, mut e: Entry) {
        self.step();
        self.grow_if_needed();
        let t = if self.rehash_idx.is_some() { &mut self.t1 } else { &mut self.t0 };
        let mask = t.mask();
        let slot = &mut t.buckets[(hash as usize) & mask];
        e.set_next(slot.take());
        *slot = Some(e);
        t.used += 1;
    }

    /// Removes and returns the entry for `key`.
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        self.step();
        let at = self.locate(hash, key)?;
        let link = self.link_mut(at);
        let mut e = link.take()?;
        *link = e.take_next();
        if at.0 {
            self.t1.used -= 1;
        } else {
            self.t0.used -= 1;
        }
        Some(e)
    }

    /// Applies `f` to the entry for `key`, which may replace the entry by another with the same
    /// key (to add or drop its expire field). Returns false when the key is absent.
    pub fn update(&mut self, hash: u64, key: &[u8], f: impl FnOnce(Entry) -> Entry) -> bool {
        self.step();
        let Some(at) = self.locate(hash, key) else { return false };
        let link = self.link_mut(at);
        if let Some(e) = link.take() {
            *link = Some(f(e));
        }
        true
    }

    /// Visits the bucket(s) for cursor `v` and returns the next cursor (0 when done). Every key
    /// present from the first call to the last is visited at least once; some may be visited
    /// more than once.
    pub fn scan(&self, mut v: u64, mut visit: impl FnMut(&Entry)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let emit = |t: &Table, idx: usize, visit: &mut dyn FnMut(&Entry)| {
            let mut cur = t.buckets[idx].as_ref();
            while let Some(e) = cur {
                visit(e);
                cur = e.next();
            }
        };
        if self.rehash_idx.is_none() {
            let m0 = self.t0.mask() as u64;
            emit(&self.t0, (v & m0) as usize, &mut visit);
            v |= !m0;
            v = rev(rev(v).wrapping_add(1));
        } else {
            let (small, large) = if self.t0.buckets.len() <= self.t1.buckets.len() {
                (&self.t0, &self.t1)
            } else {
                (&self.t1, &self.t0)
            };
            let m0 = small.mask() as u64;
            let m1 = large.mask() as u64;
            emit(small, (v & m0) as usize, &mut visit);
            // Then every bucket of the large table that expands the small one's bucket.
            loop {
                emit(large, (v & m1) as usize, &mut visit);
                v |= !m1;
                v = rev(rev(v).wrapping_add(1));
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// Visits every entry.
    pub fn for_each(&self, mut f: impl FnMut(&Entry)) {
        for t in [&self.t0, &self.t1] {
            for b in &t.buckets {
                let mut cur = b.as_ref();
                while let Some(e) = cur {
                    f(e);
                    cur = e.next();
                }
            }
        }
    }

    /// Returns an entry picked at random (uniform over buckets, then over the chain), using
    /// `rnd` as the source of randomness.
    pub fn random(&self, mut rnd: impl FnMut() -> u64) -> Option<&Entry> {
        if self.is_empty() {
            return None;
        }
        // Pick non-empty buckets across both tables; during a resize the old table's buckets
        // below rehash_idx are empty and are skipped like any empty bucket.
        let n0 = self.t0.buckets.len();
        let total = n0 + self.t1.buckets.len();
        loop {
            let i = (rnd() as usize) % total;
            let bucket = if i < n0 { &self.t0.buckets[i] } else { &self.t1.buckets[i - n0] };
            if let Some(head) = bucket.as_ref() {
                let mut len = 0;
                let mut cur = Some(head);
                while let Some(e) = cur {
                    len += 1;
                    cur = e.next();
                }
                let mut pick = (rnd() as usize) % len;
                let mut cur = head;
                while pick > 0 {
                    cur = cur.next()?;
                    pick -= 1;
                }
                return Some(cur);
            }
        }
    }

    /// Removes every entry and returns them as a dict, so the caller may free it elsewhere.
    pub fn take(&mut self) -> Dict {
        std::mem::take(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash_key;
    use super::super::value::Value;
    use super::*;
    use std::collections::HashSet;

    fn put(d: &mut Dict, k: &str) {
        let h = hash_key(k.as_bytes());
        if d.get(h, k.as_bytes()).is_none() {
            d.insert_new(h, Entry::new(k.as_bytes(), Value::Int(1), None, 0));
        }
    }

    #[test]
    fn insert_get_remove_through_growth() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            put(&mut d, &format!("k{i}"));
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            let k = format!("k{i}");
            assert!(d.get(hash_key(k.as_bytes()), k.as_bytes()).is_some(), "{k}");
        }
        for i in (0..10_000).step_by(2) {
            let k = format!("k{i}");
            assert!(d.remove(hash_key(k.as_bytes()), k.as_bytes()).is_some());
        }
        assert_eq!(d.len(), 5_000);
        assert!(d.get(hash_key(b"k0"), b"k0").is_none());
        assert!(d.get(hash_key(b"k1"), b"k1").is_some());
        while d.rehash(100) {}
        for i in 0..10_000 {
            let k = format!("k{i}");
            d.remove(hash_key(k.as_bytes()), k.as_bytes());
        }
        assert!(d.shrink_if_needed() || d.is_empty());
    }

    #[test]
    fn update_may_reallocate() {
        let mut d = Dict::new();
        for i in 0..100 {
            put(&mut d, &format!("k{i}"));
        }
        let h = hash_key(b"k7");
        assert!(d.update(h, b"k7", |e| e.with_expire(Some(5))));
        assert_eq!(d.get(h, b"k7").unwrap().expire(), Some(5));
        assert_eq!(d.len(), 100);
        for i in 0..100 {
            let k = format!("k{i}");
            assert!(d.get(hash_key(k.as_bytes()), k.as_bytes()).is_some());
        }
    }

    /// SCAN's guarantee: keys present throughout are all returned, while the table grows and
    /// shrinks between calls.
    #[test]
    fn scan_returns_every_stable_key_across_resizes() {
        let mut d = Dict::new();
        for i in 0..1000 {
            put(&mut d, &format!("stable{i}"));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = d.scan(cursor, |e| {
                seen.insert(e.key().to_vec());
            });
            round += 1;
            // Grow during the first rounds, then shrink, rehashing only partly each time.
            if round < 20 {
                for j in 0..500 {
                    put(&mut d, &format!("extra{round}_{j}"));
                }
            } else if round == 20 {
                for r in 1..20 {
                    for j in 0..500 {
                        let k = format!("extra{r}_{j}");
                        d.remove(hash_key(k.as_bytes()), k.as_bytes());
                    }
                }
                while d.rehash(100) {}
                d.shrink_if_needed();
            }
            d.rehash(3);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("stable{i}").as_bytes()), "stable{i} missed");
        }
    }

    #[test]
    fn random_finds_entries() {
        let mut d = Dict::new();
        assert!(d.random(|| 1).is_none());
        for i in 0..50 {
            put(&mut d, &format!("k{i}"));
        }
        let mut x = 12345u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            seen.insert(d.random(&mut rnd).unwrap().key().to_vec());
        }
        assert!(seen.len() > 40);
    }
}
