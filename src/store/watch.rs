//! WATCH: the per-shard, per-database registry of watched keys and the rules that mark a
//! watching client's transaction as doomed ("dirty CAS").
//!
//! Each shard keeps, per database number, a map from key to the clients watching it (kept apart
//! from the databases' data, like the blocking waiters, so FLUSHDB and SWAPDB move data, not
//! watches). A client's flag is an `Arc<AtomicBool>` shared with its session: a write made by
//! any connection, under the key's shard lock, sets it; EXEC reads it under every shard lock.
//!
//! The rules follow Redis 7.0's: a key already expired (stale) when it was watched is
//! remembered as such; deleting a stale key is no logical change (the client is not flagged, and
//! the key is no longer taken as stale); writing to a stale key that is still there does not
//! flag that client either (EXEC then skips the stale key's expiry check, as Redis does).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One client watching one key.
#[derive(Debug)]
pub struct Watch {
    pub client_id: u64,
    /// The client's dirty-CAS flag.
    pub flag: Arc<AtomicBool>,
    /// The key was already expired (but not yet deleted) when it was watched.
    pub expired: bool,
}

/// The watched keys of one database within one shard.
#[derive(Debug, Default)]
pub struct Watchers {
    keys: HashMap<Box<[u8]>, Vec<Watch>>,
}

impl Watchers {
    /// True when nobody watches a key here: the cheap test every write makes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when someone watches `key`.
    #[inline]
    pub fn has(&self, key: &[u8]) -> bool {
        !self.keys.is_empty() && self.keys.contains_key(key)
    }

    /// Adds a watch of `key` by a client (the caller checked it does not watch it yet).
    pub fn add(&mut self, key: &[u8], client_id: u64, flag: Arc<AtomicBool>, expired: bool) {
        let w = Watch { client_id, flag, expired };
        match self.keys.get_mut(key) {
            Some(list) => list.push(w),
            None => {
                self.keys.insert(key.into(), vec![w]);
            }
        }
    }

    /// Removes the watch of `key` by the client; drops the key when nobody watches it any more.
    /// Returns whether there was one.
    pub fn remove(&mut self, key: &[u8], client_id: u64) -> bool {
        let Some(list) = self.keys.get_mut(key) else { return false };
        let before = list.len();
        list.retain(|w| w.client_id != client_id);
        let removed = list.len() < before;
        if list.is_empty() {
            self.keys.remove(key);
        }
        removed
    }

    /// Returns whether the client's watch of `key` was on a stale key.
    pub fn is_stale(&self, key: &[u8], client_id: u64) -> Option<bool> {
        self.keys.get(key)?.iter().find(|w| w.client_id == client_id).map(|w| w.expired)
    }

    /// A write touched `key`; `exists` says whether the key is in the database after it.
    pub fn touch(&mut self, key: &[u8], exists: bool) {
        let Some(list) = self.keys.get_mut(key) else { return };
        for w in list {
            if w.expired {
                if !exists {
                    // The stale key is gone: no logical change, and no longer stale.
                    w.expired = false;
                }
                continue;
            }
            w.flag.store(true, Ordering::Relaxed);
        }
    }

    /// Returns the watched keys (for FLUSHDB and SWAPDB, which visit them all).
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.keys().map(|k| &**k)
    }

    /// FLUSHDB or SWAPDB replaced the database holding `key`: `old` says whether the key was
    /// there before, `new` whether it is there after and, if so, whether it is expired. As
    /// Redis's touchAllWatchedKeysInDb: flags the watchers unless the change is not a logical
    /// one (stale key gone, stale key replaced with a stale key, no key replaced with a stale
    /// key).
    pub fn replaced(&mut self, key: &[u8], old: bool, new: Option<bool>) {
        if !old && new.is_none() {
            return;
        }
        let Some(list) = self.keys.get_mut(key) else { return };
        for w in list {
            if w.expired {
                match new {
                    None => {
                        w.expired = false;
                        continue;
                    }
                    Some(true) => continue,
                    Some(false) => {}
                }
            } else if !old && new == Some(true) {
                w.expired = true;
                continue;
            }
            w.flag.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    #[test]
    fn touch_flags_live_watchers_only() {
        let mut w = Watchers::default();
        assert!(w.is_empty());
        let (a, b) = (flag(), flag());
        w.add(b"k", 1, a.clone(), false);
        w.add(b"k", 2, b.clone(), true);
        assert!(w.has(b"k") && !w.has(b"x"));
        w.touch(b"x", true);
        assert!(!a.load(Ordering::Relaxed));
        w.touch(b"k", true);
        assert!(a.load(Ordering::Relaxed));
        // Writing a stale key that stays does not flag its watcher; deleting it clears "stale".
        assert!(!b.load(Ordering::Relaxed));
        assert_eq!(w.is_stale(b"k", 2), Some(true));
        w.touch(b"k", false);
        assert!(!b.load(Ordering::Relaxed));
        assert_eq!(w.is_stale(b"k", 2), Some(false));
        // Now no longer stale: the next write flags it.
        w.touch(b"k", true);
        assert!(b.load(Ordering::Relaxed));
    }

    #[test]
    fn remove_drops_empty_keys() {
        let mut w = Watchers::default();
        w.add(b"k", 1, flag(), false);
        w.add(b"k", 2, flag(), false);
        assert!(w.remove(b"k", 1));
        assert!(!w.remove(b"k", 1));
        assert!(w.has(b"k"));
        assert_eq!(w.is_stale(b"k", 1), None);
        w.remove(b"k", 2);
        assert!(w.is_empty());
    }

    #[test]
    fn replaced_follows_the_swapdb_rules() {
        let mut w = Watchers::default();
        let (live, stale) = (flag(), flag());
        w.add(b"k", 1, live.clone(), false);
        w.add(b"k", 2, stale.clone(), true);
        // Nothing before, nothing after: untouched.
        w.replaced(b"k", false, None);
        assert!(!live.load(Ordering::Relaxed) && !stale.load(Ordering::Relaxed));
        // Stale replaced with stale: no change for the stale watcher.
        w.replaced(b"k", true, Some(true));
        assert!(!stale.load(Ordering::Relaxed));
        assert!(live.load(Ordering::Relaxed));
        // Stale replaced with a live key: flagged.
        w.replaced(b"k", true, Some(false));
        assert!(stale.load(Ordering::Relaxed));

        let mut w = Watchers::default();
        let f = flag();
        w.add(b"k", 3, f.clone(), false);
        // No key replaced with a stale key: becomes stale, not flagged.
        w.replaced(b"k", false, Some(true));
        assert!(!f.load(Ordering::Relaxed));
        assert_eq!(w.is_stale(b"k", 3), Some(true));
        // Stale key flushed away: no change.
        w.replaced(b"k", true, None);
        assert!(!f.load(Ordering::Relaxed));
        assert_eq!(w.is_stale(b"k", 3), Some(false));
    }
}
