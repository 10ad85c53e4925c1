//! Pub/sub across real connections: one publisher, subscribers in RESP2 and RESP3 (by channel
//! and by pattern) that each receive every message in order, and one subscriber that never
//! reads, which is closed at the pubsub output limit while the others go on receiving; the
//! same with 1,000 subscribers, checking that the server's memory returns once they leave.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

    // How many messages each reader has read: the publisher keeps at most `WINDOW` messages
    // (about 300 KB) ahead of the slowest reader, so a reader thread that the machine
    // schedules late is never the one held past the 1 MB limit; the non-reader still is.
    const WINDOW: usize = 300;
    let progress: Vec<_> = readers.iter().map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let handles: Vec<_> = readers
        .into_iter()
        .zip(progress.iter().cloned())
        .map(|((mut c, resp3, pattern), read)| {
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
                    read.store(i + 1, Ordering::Relaxed);
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
        let sent = chunk[chunk.len() - 1] + 1;
        let deadline = Instant::now() + Duration::from_secs(10);
        while progress.iter().any(|r| r.load(Ordering::Relaxed) + WINDOW < sent) {
            assert!(Instant::now() < deadline, "a reader stopped reading before message {sent}");
            thread::sleep(Duration::from_millis(1));
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

/// Subscribers in the 1,000-subscriber test, the one that never reads included.
const FANOUT_SUBS: usize = 1000;
/// Messages published to them, and the payload size of each.
const FANOUT_MESSAGES: usize = 300;
const FANOUT_PAD: usize = 1000;
/// Reading threads; each polls its share of the sockets.
const FANOUT_THREADS: usize = 4;

/// How one subscriber subscribed: the exact bytes each message reaches it as.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Resp2,
    Resp3,
    Resp2Pattern,
    Resp3Pattern,
}

impl Kind {
    fn of(i: usize) -> Kind {
        // A few RESP3 and pattern subscribers among the plain RESP2 ones.
        match i % 50 {
            1 => Kind::Resp3,
            2 => Kind::Resp2Pattern,
            3 => Kind::Resp3Pattern,
            _ => Kind::Resp2,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn resp3(self) -> bool {
        matches!(self, Kind::Resp3 | Kind::Resp3Pattern)
    }

    fn pattern(self) -> bool {
        matches!(self, Kind::Resp2Pattern | Kind::Resp3Pattern)
    }

    /// The frame message `i` arrives as.
    fn frame(self, i: usize) -> Vec<u8> {
        let head = if self.resp3() { '>' } else { '*' };
        let msg = fanout_message(i);
        let mut out = if self.pattern() {
            format!("{head}4\r\n$8\r\npmessage\r\n$4\r\nf*ed\r\n")
        } else {
            format!("{head}3\r\n$7\r\nmessage\r\n")
        }
        .into_bytes();
        out.extend_from_slice(format!("$4\r\nfeed\r\n${}\r\n{msg}\r\n", msg.len()).as_bytes());
        out
    }
}

fn fanout_message(i: usize) -> String {
    format!("{i:06}:{}", "y".repeat(FANOUT_PAD))
}

/// Reads INFO field `name` as a number.
fn info_number(c: &mut Raw, name: &str) -> u64 {
    let Resp::Bulk(text) = c.call(&["INFO", "everything"]) else { panic!("INFO failed") };
    let text = String::from_utf8(text).unwrap();
    let prefix = format!("{name}:");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{name}"));
    line[prefix.len()..].trim().parse().unwrap()
}

/// One subscriber's socket while the messages flow: what it has received and not yet checked,
/// and the next message it must see.
struct Feed {
    stream: std::net::TcpStream,
    kind: Kind,
    buf: Vec<u8>,
    next: usize,
}

/// Reads every socket of `feeds` until each has received, in order and byte for byte, every
/// message (`frames[kind][i]`), polling them together.
fn read_feeds(mut feeds: Vec<Feed>, frames: &[Vec<Vec<u8>>]) -> Vec<Feed> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let open: Vec<usize> =
            (0..feeds.len()).filter(|&j| feeds[j].next < FANOUT_MESSAGES).collect();
        if open.is_empty() {
            return feeds;
        }
        assert!(Instant::now() < deadline, "{} subscribers still waiting", open.len());
        let mut fds: Vec<libc::pollfd> = open
            .iter()
            .map(|&j| libc::pollfd {
                fd: feeds[j].stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: `fds` is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        assert!(n >= 0, "poll failed");
        for (p, &j) in fds.iter().zip(&open) {
            if p.revents == 0 {
                continue;
            }
            let f = &mut feeds[j];
            let got = match f.stream.read(&mut chunk) {
                Ok(0) => panic!("subscriber {j} ({:?}) closed at message {}", f.kind, f.next),
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("subscriber {j}: {e}"),
            };
            f.buf.extend_from_slice(&chunk[..got]);
            let mut at = 0;
            while f.next < FANOUT_MESSAGES {
                let want = &frames[f.kind.index()][f.next];
                if f.buf.len() - at < want.len() {
                    break;
                }
                assert!(
                    f.buf[at..at + want.len()] == want[..],
                    "subscriber {j} ({:?}): message {} wrong or out of order: {}",
                    f.kind,
                    f.next,
                    crate::support::show(&f.buf[at..])
                );
                at += want.len();
                f.next += 1;
            }
            f.buf.drain(..at);
        }
    }
}

/// Issue 5: one publisher and 1,000 subscribers (RESP2 mostly, some RESP3, some by pattern),
/// one of which never reads. That one is closed at the pub/sub output limit; every other one
/// receives every message, in order; and once they have all gone, the server's memory is back
/// near where it was before they came.
#[test]
fn a_thousand_subscribers_and_one_that_never_reads() {
    let srv = Server::start();
    let mut admin = Raw::connect(srv.port);
    // A hard limit above everything a reader is sent on the feed (so a reader that falls
    // behind on this busy machine is never dropped), far below what the non-reader is sent.
    assert_eq!(
        admin.call(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"]),
        Resp::Simple("OK".into())
    );
    let mut publisher = Raw::connect(srv.port);
    // A round trip: the server has registered the connection before it is counted.
    assert_eq!(publisher.call(&["PING"]), Resp::Simple("PONG".into()));
    let clients_before = info_number(&mut admin, "connected_clients");
    let memory_before = info_number(&mut admin, "used_memory");

    let frames: Vec<Vec<Vec<u8>>> =
        [Kind::Resp2, Kind::Resp3, Kind::Resp2Pattern, Kind::Resp3Pattern]
            .iter()
            .map(|k| (0..FANOUT_MESSAGES).map(|i| k.frame(i)).collect())
            .collect();
    let mut feeds = Vec::new();
    let mut channel_subs = 0;
    for i in 0..FANOUT_SUBS - 1 {
        let kind = Kind::of(i);
        let mut c = Raw::connect(srv.port);
        if kind.resp3() {
            assert!(matches!(c.call(&["HELLO", "3"]), Resp::Map(_)));
        }
        if kind.pattern() {
            subscribe(&mut c, "psubscribe", "f*ed", kind.resp3());
        } else {
            subscribe(&mut c, "subscribe", "feed", kind.resp3());
            channel_subs += 1;
        }
        c.stream.set_nonblocking(true).unwrap();
        feeds.push(Feed { stream: c.stream, kind, buf: Vec::new(), next: 0 });
    }
    // The non-reader, with a small receive window so the kernel cannot soak up what the
    // server must hold for it.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", srv.port).parse().unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut slow = Raw::from_stream(sock.into());
    subscribe(&mut slow, "subscribe", "feed", false);
    channel_subs += 1;
    // It also listens to a channel of big messages, so that it goes past the kernel's socket
    // buffers (which grow to megabytes on loopback) in a few publications rather than in
    // gigabytes sent to everyone.
    slow.send(&crate::support::cmd(&["SUBSCRIBE", "flood"]));
    let (v, _) = slow.read_reply_raw();
    assert!(matches!(&v, Resp::Array(items) if items[2] == Resp::Int(2)), "{v:?}");
    assert_eq!(
        admin.call(&["PUBSUB", "NUMSUB", "feed"]),
        Resp::Array(vec![Resp::Bulk(b"feed".to_vec()), Resp::Int(channel_subs)])
    );
    assert_eq!(info_number(&mut admin, "connected_clients"), clients_before + FANOUT_SUBS as u64);
    let memory_subscribed = info_number(&mut admin, "used_memory");

    let frames = std::sync::Arc::new(frames);
    let per_thread = feeds.len().div_ceil(FANOUT_THREADS);
    let mut readers = Vec::new();
    while !feeds.is_empty() {
        let mine: Vec<Feed> = feeds.drain(..per_thread.min(feeds.len())).collect();
        let frames = frames.clone();
        readers.push(thread::spawn(move || read_feeds(mine, &frames)));
    }

    let mut batch = Vec::new();
    // 12 MiB in all for the non-reader, beyond its limit plus the socket buffers.
    const FLOODS: usize = 8;
    let flood = "z".repeat(256 * 1024);
    for chunk in (0..FANOUT_MESSAGES).collect::<Vec<_>>().chunks(50) {
        batch.clear();
        for _ in 0..FLOODS {
            batch.extend(crate::support::cmd(&["PUBLISH", "flood", &flood]));
        }
        for &i in chunk {
            batch.extend(crate::support::cmd(&["PUBLISH", "feed", &fanout_message(i)]));
        }
        publisher.send(&batch);
        for _ in 0..FLOODS {
            // The non-reader, until it is dropped.
            match publisher.read_reply() {
                Resp::Int(n) => assert!(n == 0 || n == 1, "flood receivers {n}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        for _ in chunk {
            // Every subscriber, the non-reader too until it is dropped.
            match publisher.read_reply() {
                Resp::Int(n) => assert!(
                    n == FANOUT_SUBS as i64 || n == FANOUT_SUBS as i64 - 1,
                    "receivers {n}"
                ),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let feeds: Vec<Feed> =
        readers.into_iter().flat_map(|h| h.join().expect("a subscriber failed")).collect();
    assert_eq!(feeds.len(), FANOUT_SUBS - 1);

    // The non-reader was dropped at the limit, by the server: its socket ends in EOF.
    assert!(srv.wait_for_log("for overcoming of output buffer limits"));
    let want = Resp::Array(vec![Resp::Bulk(b"feed".to_vec()), Resp::Int(channel_subs - 1)]);
    assert_eq!(admin.call(&["PUBSUB", "NUMSUB", "feed"]), want);
    loop {
        let (_, end) = slow.read_n(1 << 20, Duration::from_secs(10));
        match end {
            crate::support::End::Closed => break,
            crate::support::End::Complete => {}
            crate::support::End::TimedOut => panic!("the non-reader's connection is still open"),
        }
    }

    // Everybody leaves: memory returns near where it was (polled: connections are freed by
    // their own tasks, and freed memory is counted once the allocator has seen it).
    // The publisher too: its query buffer grew to hold a pipeline of big messages.
    drop(feeds);
    drop(slow);
    drop(publisher);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if info_number(&mut admin, "connected_clients") == clients_before - 1 {
            break;
        }
        assert!(Instant::now() < deadline, "subscribers still connected");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(admin.call(&["PUBSUB", "NUMPAT"]), Resp::Int(0));
    // 1,000 connections cost far more than the tolerance (about 36 MB here, as in Redis), so
    // returning within it means each one's memory was given back. What stays (up to about
    // 1 MB, and not more after several rounds of 1,000 connections) is the high-water
    // capacity of the runtime's and the registries' tables and the allocator's caches.
    const TOLERANCE: u64 = 3 << 19;
    assert!(
        memory_subscribed > memory_before + 8 * TOLERANCE,
        "1,000 subscribers should show in used_memory: {memory_before} -> {memory_subscribed}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = 0;
    loop {
        // Settled (the closing connections' tasks have freed their buffers) and within the
        // tolerance.
        let now = info_number(&mut admin, "used_memory");
        if now <= memory_before + TOLERANCE && now.abs_diff(last) < 64 * 1024 {
            eprintln!("used_memory: {memory_before} -> {memory_subscribed} -> {now}");
            break;
        }
        last = now;
        assert!(
            Instant::now() < deadline,
            "used_memory {now} stays above {memory_before} + {TOLERANCE} \
             (with the subscribers: {memory_subscribed})"
        );
        thread::sleep(Duration::from_millis(50));
    }
    srv.assert_alive();
}

/// Requests that reach the server in one order run in that order, across connections, as on
/// Redis's single command thread: an UNSUBSCRIBE sent on one connection, not waited for, is
/// done before a PUBLISH sent next on another (Redis's suite relies on it). Many rounds, since
/// a server that runs connections in parallel or out of order fails only some of them (with
/// `--io-threads 2` this fails every run on a 2-core machine).
#[test]
fn requests_sent_in_order_on_two_connections_run_in_that_order() {
    let srv = Server::start();
    let mut sub = srv.raw();
    let mut publ = srv.raw();
    let mut late = 0;
    for round in 0..100 {
        let channel = format!("order-{round}");
        subscribe(&mut sub, "subscribe", &channel, false);
        // Not waiting for the confirmation: the PUBLISH goes out right behind it.
        sub.send(&crate::support::cmd(&["unsubscribe"]));
        if publ.call(&["PUBLISH", &channel, "m"]) != Resp::Int(0) {
            late += 1;
            // The message reached the subscriber ahead of the confirmation.
            assert!(matches!(sub.read_reply(), Resp::Array(_)));
        }
        match sub.read_reply() {
            Resp::Array(items) => assert!(items[0].is_text("unsubscribe"), "round {round}"),
            other => panic!("round {round}: unexpected {other:?}"),
        }
    }
    assert_eq!(late, 0, "PUBLISH ran before the UNSUBSCRIBE sent ahead of it {late} times");
}
