//! Keys with a TTL: how the active expiry finds them, and one round of its walk.
//!
//! The expire time lives in the entry (`entry.rs`), so a lookup needs nothing else. What
//! Redis's separate `expires` dict adds is a way to find the keys that have a TTL without
//! visiting the others; here that is a bit per bucket of the main table, set when an entry with
//! a TTL is filed there (the dict's marks, `dict.rs`). Redis pays a dict entry and a bucket
//! slot (about 32 bytes) per key with a TTL for its index; the marks cost an eighth of a byte
//! per bucket, so a TTL costs a key only its 8-byte expire field.
//!
//! The walk is Redis 7.0's: a cursor advanced over the buckets (so every key with a TTL is
//! looked at once per lap, however the table is resized), about 20 keys per round, with a
//! bounded number of buckets looked at; unmarked buckets are skipped 64 at a time.

use super::entry::Entry;
use super::value::Value;
use super::{Db, hash_key, lazyfree};

/// What one round of the active expiry did in one database slice.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Keys with a TTL looked at.
    pub sampled: usize,
    /// Of those, keys whose time had passed and that were deleted.
    pub expired: usize,
    /// True when the slice had nothing worth walking (no TTL, or a nearly empty index that the
    /// cron will shrink first): the caller moves on.
    pub idle: bool,
}

/// Frees a value taken out of the keyspace: on the lazy-free thread when `lazy` and freeing it
/// is real work (Redis's `LAZYFREE_THRESHOLD`), here otherwise.
pub fn free_value(v: Value, lazy: bool) {
    if lazy && v.free_effort() > lazyfree::THRESHOLD {
        lazyfree::free_later(v, 1);
    }
}

impl Db {
    /// Files `e` in the slice, and in the index when it has a TTL. The key must be absent.
    pub(super) fn link(&mut self, h: u64, e: Entry) {
        if e.expire().is_some() {
            self.add_volatile();
        }
        self.dict.insert_new(h, e);
    }

    /// Takes the entry of `key` out of the slice (and its tag out of the index).
    pub(super) fn unlink(&mut self, h: u64, key: &[u8]) -> Option<Entry> {
        let e = self.dict.remove(h, key)?;
        if e.expire().is_some() {
            self.drop_volatile();
        }
        Some(e)
    }

    /// Counts a key that gained a TTL (its entry's bucket is marked by the dict).
    pub(super) fn add_volatile(&mut self) {
        self.volatile += 1;
    }

    /// Counts a key that lost its TTL or left (its bucket's mark is cleared by the walk).
    pub(super) fn drop_volatile(&mut self) {
        self.volatile -= 1;
    }

    /// Runs one round of the active expiry: walks the marked buckets from where the last round
    /// stopped until `keys` keys with a TTL were looked at (or the round's budget of buckets is
    /// spent), deleting those whose time has passed (`now > when`, as Redis). Updates the
    /// slice's TTL estimate. Expired keys are counted by the caller into `expired_keys`.
    pub fn expire_round(&mut self, now: i64, keys: usize, lazy: bool) -> Round {
        self.expire_round_with(now, keys, lazy, |_| {})
    }

    /// [`Db::expire_round`], calling `on_expired` with each entry it deletes (for WATCH, which
    /// must see expiries, and a running snapshot, which takes the entry first).
    pub fn expire_round_with(
        &mut self,
        now: i64,
        keys: usize,
        lazy: bool,
        mut on_expired: impl FnMut(&Entry),
    ) -> Round {
        if self.volatile == 0 {
            self.avg_ttl = 0;
            return Round { idle: true, ..Round::default() };
        }
        let want = self.volatile.min(keys);
        // Redis looks at up to 20 buckets per key wanted; a visited bucket costs
        // MARKED_VISIT_COST units of the budget, a skipped word of 64 unmarked buckets 1
        // (`Dict::marked_step`).
        let budget = want * 20 * super::dict::MARKED_VISIT_COST;
        let (mut spent, mut sampled, mut expired) = (0, 0, 0);
        let (mut ttl_sum, mut ttl_samples) = (0i64, 0i64);
        let mut hashes: smallvec::SmallVec<[u64; 16]> = smallvec::SmallVec::new();
        while sampled < want && spent < budget {
            hashes.clear();
            spent += self.dict.marked_step(&mut self.expire_cursor, budget - spent, &mut hashes);
            for &h in &hashes {
                sampled += 1;
                // Delete every due entry of this hash, then read the TTL of those left.
                let is_due = |e: &Entry| {
                    e.expire().is_some_and(|t| now > t) && hash_key(e.key()) == h
                };
                while let Some(mut e) = self.dict.remove_where(h, is_due) {
                    self.drop_volatile();
                    expired += 1;
                    on_expired(&e);
                    free_value(e.replace_value(Value::Int(0)), lazy);
                }
                self.dict.visit_bucket_of(h, |e| {
                    if let Some(t) = e.expire()
                        && t > now
                        && hash_key(e.key()) == h
                    {
                        ttl_sum = ttl_sum.saturating_add(t - now);
                        ttl_samples += 1;
                    }
                });
            }
        }
        if ttl_samples > 0 {
            // A running average giving this round's figure a weight of 2%, as Redis does.
            let avg = ttl_sum / ttl_samples;
            if self.avg_ttl == 0 {
                self.avg_ttl = avg;
            }
            self.avg_ttl = (self.avg_ttl / 50) * 49 + avg / 50;
        }
        Round { sampled, expired, idle: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(d: &mut Db, k: &str, expire: Option<i64>) {
        let h = hash_key(k.as_bytes());
        d.link(h, Entry::new(k.as_bytes(), Value::Int(1), expire, 0));
    }

    #[test]
    fn index_follows_links() {
        let mut d = Db::default();
        put(&mut d, "a", Some(10));
        put(&mut d, "b", None);
        put(&mut d, "c", Some(20));
        assert_eq!(d.volatile, 2);
        d.check_index();
        assert!(d.unlink(hash_key(b"a"), b"a").is_some());
        assert!(d.unlink(hash_key(b"b"), b"b").is_some());
        assert_eq!(d.volatile, 1);
        d.check_index();
        assert!(d.dict.is_marked_for(hash_key(b"c")));
    }

    #[test]
    fn round_expires_only_due_keys_and_never_visits_persistent_ones() {
        let mut d = Db::default();
        for i in 0..10_000 {
            put(&mut d, &format!("plain{i}"), None);
        }
        for i in 0..50 {
            put(&mut d, &format!("due{i}"), Some(100));
            put(&mut d, &format!("later{i}"), Some(10_000));
        }
        let mut expired = 0;
        let mut rounds = 0;
        while expired < 50 {
            let r = d.expire_round(1000, 20, false);
            assert!(!r.idle);
            // About 20 keys a round (a round finishes the bucket it is in), all with a TTL.
            assert!(r.sampled < 30, "{}", r.sampled);
            expired += r.expired;
            rounds += 1;
            assert!(rounds < 100, "the walk does not come round");
        }
        assert_eq!(expired, 50);
        assert_eq!(d.volatile, 50);
        d.check_index();
        assert_eq!(d.dict.len(), 10_050);
        // The TTL estimate moved towards the 9000 ms left on the remaining keys.
        assert!(d.avg_ttl > 0 && d.avg_ttl <= 9000, "{}", d.avg_ttl);
        // A key whose time equals `now` is not expired yet.
        put(&mut d, "edge", Some(1000));
        for _ in 0..20 {
            d.expire_round(1000, 20, false);
        }
        assert!(d.dict.get(hash_key(b"edge"), b"edge").is_some());
    }

    #[test]
    fn round_on_empty_index_is_idle() {
        let mut d = Db::default();
        put(&mut d, "x", None);
        d.avg_ttl = 5;
        assert_eq!(d.expire_round(0, 20, false), Round { idle: true, ..Round::default() });
        assert_eq!(d.avg_ttl, 0);
    }

    #[test]
    fn sparse_ttls_in_a_big_table_are_found_within_a_few_rounds() {
        // One key with a TTL among 200,000 without: unmarked buckets are skipped a word at a
        // time, so a lap of the cursor takes a few rounds, not thousands.
        let mut d = Db::default();
        for i in 0..200_000 {
            put(&mut d, &format!("plain{i}"), None);
        }
        put(&mut d, "due", Some(100));
        let mut rounds = 0;
        while d.volatile > 0 {
            let r = d.expire_round(1000, 20, false);
            assert!(r.sampled <= 1);
            rounds += 1;
            assert!(rounds <= 64, "a lap took more than 64 rounds");
        }
        assert!(d.dict.get(hash_key(b"due"), b"due").is_none());
        assert_eq!(d.dict.len(), 200_000);
    }

    #[test]
    fn marks_follow_ttl_changes_and_resizes() {
        let mut d = Db::default();
        // Keys that gain a TTL after insertion, while the table grows through several resizes.
        for i in 0..5_000 {
            let k = format!("k{i}");
            put(&mut d, &k, None);
            if i % 3 == 0 {
                let h = hash_key(k.as_bytes());
                assert!(d.dict.update(h, k.as_bytes(), |e| e.with_expire(Some(50))));
                d.add_volatile();
            }
            d.check_index();
        }
        // Every key with a TTL is found by the walk: all expire.
        let mut rounds = 0;
        while d.volatile > 0 {
            d.expire_round(1000, 20, false);
            rounds += 1;
            assert!(rounds < 10_000);
        }
        assert_eq!(d.dict.len(), 5_000 - 1667);
        d.check_index();
        // Rounds over a table left without TTLs are idle.
        assert!(d.expire_round(1000, 20, false).idle);
    }
}
