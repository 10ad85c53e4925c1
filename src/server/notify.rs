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

#[cfg(test)]
pub(crate) mod tests {
    use crate::command::testing::Harness;
    use crate::protocol::reply::Value;
    use crate::store::value::Value as Stored;

    /// A server with `flags` set, a client to run commands, and a subscriber to `__key*__:*`.
    fn setup(flags: &str) -> (Harness, Harness) {
        let mut h = Harness::new();
        assert_eq!(
            h.run(&["CONFIG", "SET", "notify-keyspace-events", flags]),
            Value::Simple("OK".into())
        );
        let mut sub = h.another();
        sub.run(&["PSUBSCRIBE", "__key*__:*"]);
        (h, sub)
    }

    /// Drains the subscriber's inbox: (channel, message) of every pmessage, in order.
    fn received(sub: &Harness) -> Vec<(String, String)> {
        let mut buf = Vec::new();
        if let Some(s) = sub.client.pubsub.as_ref() {
            s.me.take_into(&mut buf);
        }
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let (v, used) = Value::parse(&buf[at..]).expect("malformed message");
            at += used;
            let Value::Array(items) = v else { panic!("not a message: {v:?}") };
            let text = |v: &Value| match v {
                Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("not a bulk: {other:?}"),
            };
            assert_eq!(text(&items[0]), "pmessage");
            out.push((text(&items[2]), text(&items[3])));
        }
        out
    }

    /// The keyevent messages received, as "event key" (with `E` only, one message per event).
    pub(crate) fn events(sub: &Harness) -> Vec<String> {
        received(sub)
            .into_iter()
            .map(|(ch, msg)| {
                let event = ch.split_once("__:").map(|(_, e)| e.to_string()).unwrap_or(ch);
                format!("{event} {msg}")
            })
            .collect()
    }

    #[test]
    fn keyspace_and_keyevent_channels_and_masks() {
        let (mut h, sub) = setup("KE$");
        h.run(&["SET", "foo", "bar"]);
        h.run(&["LPUSH", "list", "a"]);
        assert_eq!(
            received(&sub),
            vec![
                ("__keyspace@0__:foo".to_string(), "set".to_string()),
                ("__keyevent@0__:set".to_string(), "foo".to_string()),
            ],
            "the list class is not enabled"
        );
        h.run(&["SELECT", "5"]);
        h.run(&["CONFIG", "SET", "notify-keyspace-events", "Kl"]);
        h.run(&["RPUSH", "list", "a"]);
        assert_eq!(received(&sub), vec![("__keyspace@5__:list".into(), "rpush".into())]);
        // Classes without K or E publish nothing; so does the default (off).
        h.run(&["CONFIG", "SET", "notify-keyspace-events", "A"]);
        h.run(&["RPUSH", "list", "a"]);
        h.run(&["CONFIG", "SET", "notify-keyspace-events", ""]);
        h.run(&["RPUSH", "list", "a"]);
        assert!(received(&sub).is_empty());
    }

    #[test]
    fn string_and_generic_events() {
        let (mut h, sub) = setup("EA");
        h.run(&["SET", "k", "v", "EX", "100"]);
        h.run(&["SET", "k", "v", "NX"]);
        h.run(&["INCRBY", "n", "2"]);
        h.run(&["APPEND", "k", "x"]);
        h.run(&["SETRANGE", "k", "0", ""]);
        h.run(&["GETEX", "k", "PERSIST"]);
        h.run(&["RENAME", "k", "k2"]);
        h.run(&["MOVE", "k2", "1"]);
        h.run(&["EXPIRE", "n", "100"]);
        h.run(&["PEXPIRE", "n", "-1"]);
        h.run(&["DEL", "n", "missing"]);
        assert_eq!(
            events(&sub),
            [
                "set k",
                "expire k",
                "incrby n",
                "append k",
                "persist k",
                "rename_from k",
                "rename_to k2",
                "move_from k2",
                "move_to k2",
                "expire n",
                "del n",
            ]
        );
    }

    #[test]
    fn new_and_keymiss_are_outside_a() {
        let (mut h, sub) = setup("EAnm");
        h.run(&["SET", "k", "1"]);
        h.run(&["SET", "k", "2"]);
        h.run(&["GET", "nope"]);
        h.run(&["EXISTS", "nope"]);
        // A write's lookup is no miss; OBJECT's counts one but says nothing (as in Redis).
        h.run(&["LPUSHX", "nope", "a"]);
        h.run(&["OBJECT", "ENCODING", "nope"]);
        assert_eq!(events(&sub), ["new k", "set k", "set k", "keymiss nope", "keymiss nope"]);
        h.run(&["CONFIG", "SET", "notify-keyspace-events", "EA"]);
        h.run(&["SET", "other", "1"]);
        h.run(&["GET", "nope"]);
        assert_eq!(events(&sub), ["set other"]);
    }

    #[test]
    fn list_events_in_redis_order() {
        let (mut h, sub) = setup("EAn");
        h.run(&["RPUSH", "src", "a", "b"]);
        h.run(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]);
        h.run(&["LMOVE", "src", "dst", "RIGHT", "LEFT"]);
        h.run(&["LINSERT", "dst", "BEFORE", "a", "x"]);
        h.run(&["LREM", "dst", "0", "zz"]);
        h.run(&["LTRIM", "dst", "5", "10"]);
        assert_eq!(
            events(&sub),
            [
                "new src",
                "rpush src",
                "new dst",
                "rpush dst",
                "lpop src",
                "lpush dst",
                "rpop src",
                "del src",
                "linsert dst",
                "ltrim dst",
                "del dst",
            ]
        );
    }

    #[test]
    fn a_blocked_pop_is_notified_after_the_push_that_served_it() {
        let (mut h, sub) = setup("EA");
        let mut waiter = h.another();
        waiter.run(&["BLPOP", "q", "0"]);
        assert!(waiter.client.blocked.is_some());
        h.run(&["RPUSH", "q", "a"]);
        assert_eq!(events(&sub), ["rpush q", "lpop q", "del q"]);
    }

    #[test]
    fn hash_set_and_zset_events() {
        let (mut h, sub) = setup("EA");
        h.run(&["HSET", "h", "a", "1", "b", "2"]);
        h.run(&["HSETNX", "h", "a", "1"]);
        h.run(&["HINCRBYFLOAT", "h", "c", "1.5"]);
        h.run(&["HDEL", "h", "a", "b", "c"]);
        h.run(&["SADD", "s1", "a"]);
        h.run(&["SADD", "s1", "a"]);
        h.run(&["SMOVE", "s1", "s2", "a"]);
        h.run(&["SUNIONSTORE", "s3", "s2"]);
        h.run(&["SINTERSTORE", "s3", "s2", "none"]);
        h.run(&["ZADD", "z", "1", "a", "2", "b"]);
        h.run(&["ZADD", "z", "1", "a"]);
        h.run(&["ZINCRBY", "z", "1", "a"]);
        h.run(&["ZREMRANGEBYSCORE", "z", "100", "200"]);
        h.run(&["ZPOPMAX", "z", "5"]);
        assert_eq!(
            events(&sub),
            [
                "hset h",
                "hincrbyfloat h",
                "hdel h",
                "del h",
                "sadd s1",
                "srem s1",
                "del s1",
                "sadd s2",
                "sunionstore s3",
                "del s3",
                "zadd z",
                "zincr z",
                "zpopmax z",
                "del z",
            ]
        );
    }

    #[test]
    fn lazy_expiry_comes_before_the_command_events() {
        let (mut h, sub) = setup("EAn");
        {
            let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
            ks.set_with_expire(b"k", Stored::string(b"old"), Some(1));
        }
        h.run(&["SET", "k", "new"]);
        // DEL of an expired key: it expires, nothing is deleted.
        {
            let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
            ks.set_with_expire(b"gone", Stored::string(b"old"), Some(1));
        }
        assert_eq!(h.run(&["DEL", "gone"]), Value::Int(0));
        assert_eq!(events(&sub), ["expired k", "new k", "set k", "expired gone"]);
    }

    #[test]
    fn a_transaction_notifies_each_command_in_order() {
        let (mut h, sub) = setup("EA");
        h.run(&["MULTI"]);
        h.run(&["SET", "a", "1"]);
        h.run(&["LPUSH", "b", "x"]);
        h.run(&["DEL", "a"]);
        assert!(events(&sub).is_empty(), "nothing runs while queueing");
        h.run(&["EXEC"]);
        assert_eq!(events(&sub), ["set a", "lpush b", "del a"]);
    }

    #[test]
    fn evicted_hook_publishes_when_enabled() {
        let (h, sub) = setup("Ee");
        super::evicted(&h.server, 3, b"k");
        assert_eq!(received(&sub), vec![("__keyevent@3__:evicted".into(), "k".into())]);
        let flags = &h.server.store.tunables.notify_keyspace_events;
        flags.store(0, std::sync::atomic::Ordering::Relaxed);
        super::evicted(&h.server, 3, b"k");
        assert!(received(&sub).is_empty());
    }
}
