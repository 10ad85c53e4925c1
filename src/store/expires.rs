//! Keys with a TTL: the per-database index the active expiry walks, and one round of that walk.
//!
//! The expire time itself lives in the entry (`entry.rs`), so a lookup needs nothing else. What
//! Redis's separate `expires` dict adds is a way to find the keys that have a TTL without
//! visiting the others; here that is a [`Dict`] of [`Tag`]s, one per key with a TTL, filed
//! under the key's hash. A tag is 16 bytes and names no key: the walk goes from a tag's hash to
//! the bucket of the main table where that key lives and checks the entries there whose hash
//! matches. Two keys with the same 64-bit hash each have their own tag, and a visit of either
//! tag handles both, which is harmless.
//!
//! The walk is Redis 7.0's: a cursor advanced bucket by bucket over the index (so every key
//! with a TTL is looked at once per lap, however the table is resized), about 20 keys per
//! round, with up to 20 times as many empty buckets allowed.

use super::dict::{Dict, Node};
use super::entry::Entry;
use super::value::Value;
use super::{Db, hash_key, lazyfree};

/// One key with a TTL in the index: just its hash.
#[repr(transparent)]
pub struct Tag(Box<TagNode>);

struct TagNode {
    hash: u64,
    next: Option<Tag>,
}

impl Tag {
    pub fn new(hash: u64) -> Tag {
        Tag(Box::new(TagNode { hash, next: None }))
    }

    /// Returns the hash of the key this tag stands for.
    #[inline]
    pub fn hash(&self) -> u64 {
        self.0.hash
    }
}

// SAFETY: `Tag` is `#[repr(transparent)]` over a `Box`, so `None::<Tag>` is null.
unsafe impl Node for Tag {
    #[inline]
    fn node_hash(&self) -> u64 {
        self.0.hash
    }

    #[inline]
    fn next_node(&self) -> Option<&Tag> {
        self.0.next.as_ref()
    }

    #[inline]
    fn next_link(&mut self) -> &mut Option<Tag> {
        &mut self.0.next
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        // Unlink the chain iteratively: a recursive drop of a long chain could overflow the
        // stack.
        let mut next = self.0.next.take();
        while let Some(mut t) = next {
            next = t.0.next.take();
        }
    }
}

/// The index of a database slice: one tag per key with a TTL.
pub type Index = Dict<Tag>;

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
            self.add_volatile(h);
        }
        self.dict.insert_new(h, e);
    }

    /// Takes the entry of `key` out of the slice (and its tag out of the index).
    pub(super) fn unlink(&mut self, h: u64, key: &[u8]) -> Option<Entry> {
        let e = self.dict.remove(h, key)?;
        if e.expire().is_some() {
            self.drop_volatile(h);
        }
        Some(e)
    }

    pub(super) fn add_volatile(&mut self, h: u64) {
        self.volatile += 1;
        self.expires.insert(h, Tag::new(h));
    }

    pub(super) fn drop_volatile(&mut self, h: u64) {
        self.volatile -= 1;
        self.expires.remove_where(h, |t| t.hash() == h);
    }

    /// Runs one round of the active expiry: walks the index from where the last round stopped
    /// until `keys` keys with a TTL were looked at (or `20 * keys` buckets), deleting those
    /// whose time has passed (`now > when`, as Redis). Updates the slice's TTL estimate.
    /// Expired keys are counted by the caller into `expired_keys`.
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
        let num = self.expires.len();
        if num == 0 {
            self.avg_ttl = 0;
            return Round { idle: true, ..Round::default() };
        }
        // A nearly empty table is mostly empty buckets: wait for the cron to shrink it.
        let slots = self.expires.slots();
        if slots > 4 && num * 100 / slots < 1 {
            return Round { idle: true, ..Round::default() };
        }
        let want = num.min(keys);
        let max_buckets = want * 20;
        let (mut checked, mut sampled, mut expired) = (0, 0, 0);
        let (mut ttl_sum, mut ttl_samples) = (0i64, 0i64);
        let mut hashes: smallvec::SmallVec<[u64; 16]> = smallvec::SmallVec::new();
        while sampled < want && checked < max_buckets {
            hashes.clear();
            checked += self.expires.visit_slot(self.expire_cursor, |t| hashes.push(t.hash()));
            self.expire_cursor = self.expire_cursor.wrapping_add(1);
            for &h in &hashes {
                sampled += 1;
                // Delete every due entry of this hash, then read the TTL of those left.
                let is_due = |e: &Entry| {
                    e.expire().is_some_and(|t| now > t) && hash_key(e.key()) == h
                };
                while let Some(mut e) = self.dict.remove_where(h, is_due) {
                    self.drop_volatile(h);
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
        assert_eq!((d.volatile, d.expires.len()), (2, 2));
        assert!(d.unlink(hash_key(b"a"), b"a").is_some());
        assert!(d.unlink(hash_key(b"b"), b"b").is_some());
        assert_eq!((d.volatile, d.expires.len()), (1, 1));
        assert!(d.expires.find(hash_key(b"c"), |t| t.hash() == hash_key(b"c")).is_some());
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
        assert_eq!(d.expires.len(), 50);
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
    fn long_tag_chain_drops_without_recursion() {
        let mut head = Tag::new(0);
        for i in 1..200_000 {
            let mut t = Tag::new(i);
            *t.next_link() = Some(head);
            head = t;
        }
        drop(head);
    }
}
