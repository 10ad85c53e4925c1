//! Keyspace notifications over real connections: a pattern subscriber to the keyevent channels
//! and a channel subscriber to one key's keyspace channel receive `new`, the command's events,
//! lazy and active `expired`, and a transaction's events, in Redis's order.

use std::thread;
use std::time::Duration;

use crate::support::{Raw, Resp, Server};

/// Reads one pub/sub message and returns "channel payload" (for `pmessage`, the matched
/// channel rather than the pattern).
fn next_message(c: &mut Raw) -> String {
    let Resp::Array(items) = c.read_reply() else { panic!("not a message") };
    let text = |v: &Resp| match v {
        Resp::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    };
    let kind = text(&items[0]);
    let (channel, payload) = match kind.as_str() {
        "pmessage" => (&items[2], &items[3]),
        "message" => (&items[1], &items[2]),
        _ => panic!("not a message: {items:?}"),
    };
    format!("{} {}", text(channel), text(payload))
}

/// Reads `n` keyevent messages as "event key".
fn next_events(c: &mut Raw, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let m = next_message(c);
            m.strip_prefix("__keyevent@0__:").unwrap_or(&m).to_string()
        })
        .collect()
}

#[test]
fn expired_new_and_transaction_events_reach_subscribers_in_order() {
    let srv = Server::with_args(&[
        "--notify-keyspace-events",
        "KEAn",
        "--enable-debug-command",
        "yes",
    ]);
    let mut events = srv.raw();
    events.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    let mut space = srv.raw();
    space.call(&["SUBSCRIBE", "__keyspace@0__:lazy"]);
    let mut c = srv.raw();

    // Lazy expiry: the active cycle is off, the read finds the key expired.
    assert_eq!(c.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Resp::Simple("OK".into()));
    assert_eq!(c.call(&["SET", "lazy", "v", "PX", "1"]), Resp::Simple("OK".into()));
    thread::sleep(Duration::from_millis(20));
    assert_eq!(c.call(&["GET", "lazy"]), Resp::NilBulk);
    assert_eq!(next_events(&mut events, 4), ["new lazy", "set lazy", "expire lazy", "expired lazy"]);
    let lazy: Vec<String> = (0..4).map(|_| next_message(&mut space)).collect();
    assert_eq!(
        lazy,
        [
            "__keyspace@0__:lazy new",
            "__keyspace@0__:lazy set",
            "__keyspace@0__:lazy expire",
            "__keyspace@0__:lazy expired"
        ]
    );

    // Active expiry: nobody touches the key; the cron deletes it and says so.
    assert_eq!(c.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), Resp::Simple("OK".into()));
    assert_eq!(c.call(&["SET", "active", "v", "PX", "10"]), Resp::Simple("OK".into()));
    assert_eq!(next_events(&mut events, 3), ["new active", "set active", "expire active"]);
    assert_eq!(next_events(&mut events, 1), ["expired active"]);
    assert_eq!(c.call(&["EXISTS", "active"]), Resp::Int(0));

    // A transaction: each queued command's events, in order, when EXEC runs them.
    for w in [&["MULTI"][..], &["SET", "a", "1"], &["RPUSH", "l", "x"], &["LPOP", "l"]] {
        c.call(w);
    }
    events.expect_silence(Duration::from_millis(50));
    let Resp::Array(replies) = c.call(&["EXEC"]) else { panic!("EXEC failed") };
    assert_eq!(replies.len(), 3);
    assert_eq!(
        next_events(&mut events, 6),
        ["new a", "set a", "new l", "rpush l", "lpop l", "del l"]
    );
    events.expect_silence(Duration::from_millis(50));
    space.expect_silence(Duration::from_millis(10));
}
