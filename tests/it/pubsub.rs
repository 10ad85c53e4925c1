//! Pub/sub across real connections: one publisher, subscribers in RESP2 and RESP3 (by channel
//! and by pattern) that each receive every message in order, and one subscriber that never
//! reads, which is closed at the pubsub output limit while the others go on receiving.

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Raw, Resp, Server};

/// Messages published; with [`PAD`] bytes each, far more than the socket buffers and the
/// output limit hold for a subscriber that does not read.
const MESSAGES: usize = 10_000;
const PAD: usize = 1000;

fn message(i: usize) -> String {
    format!("{i:06}:{}", "x".repeat(PAD))
}

/// Subscribes `conn` (already in its protocol) with `cmd`, checking the confirmation.
fn subscribe(conn: &mut Raw, cmd: &str, name: &str, resp3: bool) {
    let (v, _) = {
        conn.send(&crate::support::cmd(&[cmd, name]));
        conn.read_reply_raw()
    };
    let items = match v {
        Resp::Push(items) if resp3 => items,
        Resp::Array(items) if !resp3 => items,
        other => panic!("unexpected confirmation {other:?}"),
    };
    assert!(items[0].is_text(cmd));
    assert!(items[1].is_text(name));
    assert_eq!(items[2], Resp::Int(1));
}

#[test]
fn every_subscriber_gets_every_message_in_order_and_a_non_reader_is_dropped() {
    let srv = Server::with_args(&["--client-output-buffer-limit", "pubsub 1mb 0 0"]);
    // (connection, protocol 3?, pattern?)
    let mut readers = Vec::new();
    for (resp3, pattern) in
        [(false, false), (false, false), (true, false), (true, true), (false, true)]
    {
        let mut c = Raw::connect(srv.port);
        if resp3 {
            assert!(matches!(c.call(&["HELLO", "3"]), Resp::Map(_)));
        }
        if pattern {
            subscribe(&mut c, "psubscribe", "ne*s", resp3);
        } else {
            subscribe(&mut c, "subscribe", "news", resp3);
        }
        readers.push((c, resp3, pattern));
    }
    // A small receive window, so the kernel cannot soak up what the server must hold.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", srv.port).parse().unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut slow = Raw::from_stream(sock.into());
    subscribe(&mut slow, "subscribe", "news", false);

    let handles: Vec<_> = readers
        .into_iter()
        .map(|(mut c, resp3, pattern)| {
            thread::spawn(move || {
                for i in 0..MESSAGES {
                    let items = match c.read_reply() {
                        Resp::Push(items) if resp3 => items,
                        Resp::Array(items) if !resp3 => items,
                        other => panic!("message {i}: unexpected {other:?}"),
                    };
                    let want = message(i);
                    if pattern {
                        assert_eq!(items.len(), 4);
                        assert!(items[0].is_text("pmessage"));
                        assert!(items[1].is_text("ne*s"));
                    } else {
                        assert_eq!(items.len(), 3);
                        assert!(items[0].is_text("message"));
                    }
                    assert!(items[items.len() - 2].is_text("news"));
                    assert!(items[items.len() - 1].is_text(&want), "message {i} out of order");
                }
                // Still subscribed and in step.
                c.send(&crate::support::cmd(&["PING"]));
                let pong = c.read_reply();
                if resp3 {
                    assert!(pong.is_text("PONG"));
                } else {
                    assert_eq!(
                        pong,
                        Resp::Array(vec![Resp::Bulk(b"pong".to_vec()), Resp::Bulk(vec![])])
                    );
                }
                // Kept open: the count below includes this subscriber.
                c
            })
        })
        .collect();

    let mut publisher = Raw::connect(srv.port);
    let mut batch = Vec::new();
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(100) {
        batch.clear();
        for &i in chunk {
            batch.extend(crate::support::cmd(&["PUBLISH", "news", &message(i)]));
        }
        publisher.send(&batch);
        for _ in chunk {
            // Five readers, plus the slow one until it is dropped.
            match publisher.read_reply() {
                Resp::Int(n) => assert!(n == 5 || n == 6, "receivers {n}"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let _readers: Vec<Raw> =
        handles.into_iter().map(|h| h.join().expect("a reader failed")).collect();
    // The slow subscriber was dropped at the limit.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = publisher.call(&["PUBSUB", "NUMSUB", "news"]);
        if n == Resp::Array(vec![Resp::Bulk(b"news".to_vec()), Resp::Int(3)]) {
            break;
        }
        assert!(Instant::now() < deadline, "the non-reader is still subscribed: {n:?}");
        thread::sleep(Duration::from_millis(50));
    }
    assert!(srv.wait_for_log("for overcoming of output buffer limits"));
    drop(slow);
    srv.assert_alive();
}

#[test]
fn subscribed_mode_allows_only_what_redis_allows() {
    let srv = Server::start();
    let mut c = Raw::connect(srv.port);
    subscribe(&mut c, "subscribe", "a", false);
    c.send(b"GET k\r\nPING\r\nCLIENT LIST\r\n");
    c.expect(
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
          are allowed in this context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n\
          -ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT \
          / RESET are allowed in this context\r\n",
    );
    // RESET leaves every subscription.
    c.send(b"RESET\r\nGET k\r\n");
    c.expect(b"+RESET\r\n$-1\r\n");
    let mut p = Raw::connect(srv.port);
    assert_eq!(p.call(&["PUBLISH", "a", "x"]), Resp::Int(0));
}
