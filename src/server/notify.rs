//! Publishing keyspace notifications (`notify-keyspace-events`), Redis's `notify.c`.
//!
//! Events are collected in the command's keyspace view (`store::events`) and handed here by
//! dispatch when the command ends (or, in EXEC, when each queued command ends), and by the
//! cron after each round of the active expiry. Each event goes out as a `__keyspace@<db>__:
//! <key>` message carrying the event name (class `K`) and then a `__keyevent@<db>__:<event>`
//! message carrying the key (class `E`), through the ordinary PUBLISH path, so channel and
//! pattern subscribers (and RESP3 clients) receive them as any other message.
//!
//! Lock order: the pub/sub registry's lock is only ever taken after shard locks (or with none
//! held), never the other way round: nothing holding the registry lock touches the keyspace.

use crate::config::notify::{KEYEVENT, KEYSPACE};
use crate::store::events::KeyEvent;

use super::Server;

/// Publishes `events` in order, each on the channels the current flags enable; an event whose
/// class was disabled since it was noted is dropped.
pub fn publish(server: &Server, events: &[KeyEvent]) {
    if events.is_empty() {
        return;
    }
    let flags =
        server.store.tunables.notify_keyspace_events.load(std::sync::atomic::Ordering::Relaxed);
    let mut channel = Vec::with_capacity(64);
    let mut db_buf = itoa::Buffer::new();
    for ev in events {
        if flags & ev.class == 0 {
            continue;
        }
        let db = db_buf.format(ev.db).as_bytes();
        if flags & KEYSPACE != 0 {
            channel.clear();
            channel.extend_from_slice(b"__keyspace@");
            channel.extend_from_slice(db);
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(&ev.key);
            server.pubsub.publish(&channel, ev.event.as_bytes(), None);
        }
        if flags & KEYEVENT != 0 {
            channel.clear();
            channel.extend_from_slice(b"__keyevent@");
            channel.extend_from_slice(db);
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(ev.event.as_bytes());
            server.pubsub.publish(&channel, &ev.key, None);
        }
    }
}

/// Publishes an `evicted` event for `key` of database `db`: the hook eviction will call for
/// each key it removes (class `e`).
pub fn evicted(server: &Server, db: usize, key: &[u8]) {
    use crate::config::notify::EVICTED;
    if server.store.tunables.notify_wants(EVICTED) {
        publish(server, &[KeyEvent::new(EVICTED, "evicted", db, key)]);
    }
}
