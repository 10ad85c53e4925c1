//! Keyspace events waiting to be published (`notify-keyspace-events`).
//!
//! The store cannot publish (it knows nothing of the server or pub/sub), so a command's events
//! are collected in its [`super::Keyspace`] in the order Redis emits them (a lazy `expired`
//! before the command's own events, `new` when a key is created, `keymiss` on a read miss, and
//! the handlers' events noted through [`super::Keyspace::notify`]) and published by dispatch
//! when the command ends; the cron publishes the active expiry's `expired` events. Nothing is
//! collected for a class that is not enabled, so with notifications off (the default) the cost
//! is one relaxed load where an event could arise.

/// One keyspace event: `event` happened to `key` of database `db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// The class bit of [`crate::config::notify`] (checked again when published, so a class
    /// disabled meanwhile publishes nothing).
    pub class: u32,
    /// The event name (`set`, `lpush`, `expired`, ...).
    pub event: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

impl KeyEvent {
    /// Returns an event of class `class` named `event` for `key` of database `db`.
    pub fn new(class: u32, event: &'static str, db: usize, key: &[u8]) -> KeyEvent {
        KeyEvent { class, event, db, key: key.to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::KeyEvent;
    use crate::config::notify::{EXPIRED, KEY_MISS, KEYEVENT, NEW};
    use crate::store::Store;
    use crate::store::value::Value;

    #[test]
    fn nothing_is_collected_unless_asked() {
        let store = Store::new(2);
        let mut ks = store.lock_all(0, 1000);
        ks.set_with_expire(b"k", Value::Int(1), Some(10));
        assert!(ks.get(b"k").is_none());
        ks.notify(EXPIRED, "x", b"k");
        assert!(ks.events.is_empty(), "notifications are off by default");
        // A class without K or E is not collected either.
        store.tunables.notify_keyspace_events.store(NEW | EXPIRED, Ordering::Relaxed);
        ks.set(b"a", Value::Int(1), false);
        assert!(ks.events.is_empty());
    }

    #[test]
    fn store_events_in_order() {
        let store = Store::new(2);
        let flags = KEYEVENT | EXPIRED | NEW | KEY_MISS;
        store.tunables.notify_keyspace_events.store(flags, Ordering::Relaxed);
        let mut ks = store.lock_all(1, 1000);
        ks.set_with_expire(b"k", Value::Int(1), Some(10));
        // A read finds it expired: `expired`, then the miss.
        assert!(ks.get(b"k").is_none());
        // A write lookup misses silently; the insertion is `new`.
        assert!(ks.get_mut(b"k").is_none());
        ks.set(b"k", Value::Int(2), false);
        // Overwriting is no creation.
        ks.set(b"k", Value::Int(3), false);
        let ev = |class, event, key: &[u8]| KeyEvent::new(class, event, 1, key);
        let want = [
            ev(NEW, "new", b"k"),
            ev(EXPIRED, "expired", b"k"),
            ev(KEY_MISS, "keymiss", b"k"),
            ev(NEW, "new", b"k"),
        ];
        assert_eq!(ks.events, want);
    }

    #[test]
    fn active_expiry_notes_each_key_it_deletes() {
        let store = Store::new(1);
        let mut ks = store.lock_all(0, 1000);
        for i in 0..50 {
            let key = format!("k{i}");
            ks.set_with_expire(key.as_bytes(), Value::Int(1), Some(1001));
        }
        drop(ks);
        let mut events = Vec::new();
        let mut expired = 0;
        for i in 0..crate::store::SHARDS {
            loop {
                let r =
                    store.shard(i).expire_round_into(0, 5000, 20, false, None, Some(&mut events));
                expired += r.expired;
                if r.idle || r.expired == 0 {
                    break;
                }
            }
        }
        assert_eq!(expired, 50);
        assert_eq!(events.len(), 50);
        let mut keys: Vec<String> =
            events.iter().map(|e| String::from_utf8(e.key.clone()).unwrap()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 50);
        assert!(events.iter().all(|e| e.event == "expired" && e.class == EXPIRED && e.db == 0));
    }
}
