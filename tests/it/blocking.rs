//! Blocking list commands across real connections: a thousand BLPOP waiters on one key, served
//! in the order they blocked, while some of them time out or disconnect; no element is lost or
//! delivered twice.

use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{End, Raw, Resp, Server};

/// Lets the test process hold a thousand sockets (the soft limit is often 1024).
fn raise_fd_limit() {
    // SAFETY: plain getrlimit/setrlimit calls on a local struct.
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max.min(65536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// What a waiter is made to do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Waits for ever.
    Forever,
    /// Waits with a timeout that runs out around the time elements arrive.
    Timeout,
    /// Half-closes its connection while elements arrive.
    Leaves,
}

struct Waiter {
    kind: Kind,
    conn: Raw,
}

/// Blocks `conn` in BLPOP and waits until the server shows it blocked (or already answered,
/// for a short timeout), so the waiters' blocking order is the order of this function's calls.
fn block(ctl: &mut Raw, conn: &mut Raw, timeout: &str) {
    let id = match conn.call(&["CLIENT", "ID"]) {
        Resp::Int(n) => n.to_string(),
        other => panic!("CLIENT ID replied {other:?}"),
    };
    conn.send(&crate::support::cmd(&["BLPOP", "k", timeout]));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let line = match ctl.call(&["CLIENT", "LIST", "ID", &id]) {
            Resp::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("CLIENT LIST replied {other:?}"),
        };
        if line.split(' ').any(|f| f.starts_with("flags=") && f.contains('b')) {
            return;
        }
        // A short timeout may already have run out.
        if timeout != "0" && line.contains("cmd=blpop") {
            return;
        }
        assert!(Instant::now() < deadline, "client {id} never blocked: {line}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Reads what a waiter got: `Some(element)`, or `None` for a timeout's null reply.
fn element_of(reply: Resp) -> Option<String> {
    match reply {
        Resp::Array(v) => match v.as_slice() {
            [Resp::Bulk(k), Resp::Bulk(e)] if k == b"k" => Some(String::from_utf8_lossy(e).into()),
            _ => panic!("unexpected BLPOP reply {v:?}"),
        },
        Resp::NilArray => None,
        other => panic!("unexpected BLPOP reply {other:?}"),
    }
}

#[test]
fn a_thousand_waiters_get_every_element_once_in_blocking_order() {
    raise_fd_limit();
    let srv = Server::start();
    let mut ctl = srv.raw();
    const WAITERS: usize = 1000;
    // The first waiters all wait for ever and get the first elements, strictly in order; the
    // rest mix in timeouts and departures while the other elements arrive.
    const ORDERED: usize = 300;

    let mut waiters: Vec<Waiter> = Vec::with_capacity(WAITERS);
    for i in 0..WAITERS {
        // The timeout waiters block last, so their short timeouts run out while the
        // elements arrive.
        let kind = match i {
            _ if i < ORDERED => Kind::Forever,
            _ if i >= WAITERS - 150 => Kind::Timeout,
            _ if i % 3 == 1 => Kind::Leaves,
            _ => Kind::Forever,
        };
        let mut conn = srv.raw();
        let timeout = match kind {
            Kind::Timeout => format!("{:.2}", 0.05 + (i % 16) as f64 * 0.02),
            _ => "0".to_string(),
        };
        block(&mut ctl, &mut conn, &timeout);
        waiters.push(Waiter { kind, conn });
    }

    // The first ORDERED elements: nothing else happens meanwhile, so waiter i gets element i.
    for j in 0..ORDERED {
        assert_eq!(ctl.call(&["RPUSH", "k", &format!("e{j}")]), Resp::Int(1));
    }
    for (i, w) in waiters.iter_mut().take(ORDERED).enumerate() {
        assert_eq!(element_of(w.conn.read_reply()), Some(format!("e{i}")), "waiter {i}");
    }

    // The rest: a pusher pushes the other elements in small bursts while the leavers
    // half-close their connections one by one and the timeouts run out.
    let leaving: Vec<std::net::TcpStream> = waiters
        .iter()
        .filter(|w| w.kind == Kind::Leaves)
        .map(|w| w.conn.stream.try_clone().expect("clone socket"))
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let leaver = {
        let done = done.clone();
        thread::spawn(move || {
            for s in leaving {
                let _ = s.shutdown(Shutdown::Write);
                thread::sleep(Duration::from_micros(500));
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut pusher = srv.raw();
    for j in ORDERED..WAITERS {
        pusher.send(&crate::support::cmd(&["RPUSH", "k", &format!("e{j}")]));
        match pusher.read_reply() {
            Resp::Int(n) => assert!(n >= 1),
            other => panic!("RPUSH replied {other:?}"),
        }
        if j % 10 == 0 {
            thread::sleep(Duration::from_millis(3));
        }
    }
    leaver.join().unwrap();
    assert!(done.load(Ordering::SeqCst));

    // Every element is now with exactly one waiter or still in the list.
    let mut holder: HashMap<String, usize> = HashMap::new();
    let mut served_forever = 0;
    let mut timed_out = 0;
    for (i, w) in waiters.iter_mut().enumerate().skip(ORDERED) {
        match w.kind {
            Kind::Forever => {
                let e = element_of(w.conn.read_reply())
                    .unwrap_or_else(|| panic!("waiter {i} waits for ever but got a null"));
                served_forever += 1;
                assert!(holder.insert(e.clone(), i).is_none(), "{e} delivered twice");
            }
            Kind::Timeout => match element_of(w.conn.read_reply()) {
                Some(e) => assert!(holder.insert(e.clone(), i).is_none(), "{e} delivered twice"),
                None => timed_out += 1,
            },
            Kind::Leaves => {
                // A leaver may have been sent its element before the server saw it leave: it
                // is then on the socket, delivered.
                let (rest, end) = w.conn.read_n(usize::MAX, Duration::from_secs(10));
                assert!(matches!(end, End::Closed), "server kept a half-closed waiter open");
                if !rest.is_empty() {
                    let (v, used) = Resp::parse(&rest).expect("complete reply");
                    assert_eq!(used, rest.len(), "more than one reply to a leaver");
                    let e = element_of(v).expect("a leaver got a null");
                    assert!(holder.insert(e.clone(), i).is_none(), "{e} delivered twice");
                }
            }
        }
    }
    let left = match ctl.call(&["LRANGE", "k", "0", "-1"]) {
        Resp::Array(v) => v,
        other => panic!("LRANGE replied {other:?}"),
    };
    for e in &left {
        let Resp::Bulk(e) = e else { panic!("LRANGE element {e:?}") };
        let e = String::from_utf8_lossy(e).into_owned();
        assert!(!holder.contains_key(&e), "{e} both delivered and left in the list");
        holder.insert(e, usize::MAX);
    }
    for j in ORDERED..WAITERS {
        assert!(holder.contains_key(&format!("e{j}")), "e{j} was lost");
    }
    assert_eq!(holder.len(), WAITERS - ORDERED);
    assert!(served_forever > 0);
    eprintln!(
        "{served_forever} waiting for ever served, {timed_out} timed out, {} elements left",
        left.len()
    );
    // Nobody is left blocked.
    let info = match ctl.call(&["INFO", "clients"]) {
        Resp::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO replied {other:?}"),
    };
    assert!(info.contains("blocked_clients:0\r\n"), "{info}");
    srv.assert_alive();
}

/// `timeout` closes idle clients, but never one blocked in a blocking command, however long it
/// waits (Redis's clientsCron skips blocked clients).
#[test]
fn idle_timeout_spares_a_blocked_client() {
    let srv = Server::with_args(&["--timeout", "1"]);
    let mut idle = srv.raw();
    let mut waiter = srv.raw();
    waiter.send(&crate::support::cmd(&["BLPOP", "k", "0"]));
    // The idle client goes after a bit more than a second (the cron counts whole seconds).
    idle.expect_closed();
    let mut ctl = srv.raw();
    assert_eq!(ctl.call(&["RPUSH", "k", "v"]), Resp::Int(1));
    assert_eq!(element_of(waiter.read_reply()), Some("v".to_string()));
}

/// CLIENT REPLY SKIP and OFF apply to a blocked command's reply when it finally comes, as
/// Redis resets a blocked client only on unblocking.
#[test]
fn client_reply_modes_apply_to_the_reply_after_unblocking() {
    let srv = Server::start();
    let mut ctl = srv.raw();
    let mut c = srv.raw();
    c.send(&crate::support::cmd(&["CLIENT", "REPLY", "SKIP"]));
    c.send(&crate::support::cmd(&["BLPOP", "k", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.call(&["RPUSH", "k", "a"]), Resp::Int(1));
    // The BLPOP's reply was skipped; the next command answers normally.
    assert_eq!(c.call(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(ctl.call(&["LLEN", "k"]), Resp::Int(0));

    c.send(&crate::support::cmd(&["CLIENT", "REPLY", "OFF"]));
    c.send(&crate::support::cmd(&["BLPOP", "k", "0"]));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.call(&["RPUSH", "k", "b"]), Resp::Int(1));
    c.send(&crate::support::cmd(&["CLIENT", "REPLY", "ON"]));
    assert_eq!(c.read_reply(), Resp::Simple("OK".into()));
    assert_eq!(ctl.call(&["LLEN", "k"]), Resp::Int(0));
}

/// Polls INFO until `blocked_clients` is `n`.
fn wait_blocked(ctl: &mut Raw, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Resp::Bulk(b) = ctl.call(&["INFO", "clients"])
            && String::from_utf8_lossy(&b).contains(&want)
        {
            return;
        }
        assert!(Instant::now() < deadline, "blocked_clients never reached {n}");
        thread::sleep(Duration::from_millis(1));
    }
}
