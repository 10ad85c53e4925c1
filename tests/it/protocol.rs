//! The request protocol at its edges: malformed multibulk and inline requests, Redis's size
//! limits, the cross-protocol and desync defences, and requests split or piled up in every way
//! (redis-behaviour.md B.1.1 and B.3.1 rows 1-11, 13, 15, 16, 45, 46, 50).

use std::io::Write;
use std::thread;
use std::time::Duration;

use crate::support::{Conn, End, REPLY_TIMEOUT, Server, check, cmd, show};

const PONG: &[u8] = b"+PONG\r\n";
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

fn protocol_error(what: &str) -> Vec<u8> {
    format!("-ERR Protocol error: {what}\r\n").into_bytes()
}

#[test]
fn empty_line_is_ignored() {
    // Row 1.
    let srv = Server::start();
    check(&srv, b"\r\n*1\r\n$4\r\nPING\r\n", PONG, Conn::Open);
    check(&srv, b"\n\r\n\r\nPING\r\n", PONG, Conn::Open);
}

#[test]
fn empty_and_negative_multibulk_counts_are_ignored() {
    // Row 2.
    let srv = Server::start();
    check(&srv, b"*-10\r\n*1\r\n$4\r\nPING\r\n", PONG, Conn::Open);
    check(&srv, b"*0\r\n*1\r\n$4\r\nPING\r\n", PONG, Conn::Open);
    check(&srv, b"*-1\r\n*0\r\nPING\r\n", PONG, Conn::Open);
}

#[test]
fn invalid_multibulk_length_closes() {
    // Row 3.
    let srv = Server::start();
    let want = protocol_error("invalid multibulk length");
    check(&srv, b"*3000000000\r\n", &want, Conn::Closed);
    check(&srv, b"*abc\r\n", &want, Conn::Closed);
    check(&srv, b"*2147483648\r\n", &want, Conn::Closed);
}

#[test]
fn element_without_dollar_closes() {
    // Row 4.
    let srv = Server::start();
    let want = protocol_error("expected '$', got 'f'");
    check(&srv, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", &want, Conn::Closed);
    check(&srv, b"*1\r\nfoo\r\n", &want, Conn::Closed);
    check(&srv, b"*1\r\n:1\r\n", &protocol_error("expected '$', got ':'"), Conn::Closed);
}

#[test]
fn invalid_bulk_length_closes() {
    // Row 5.
    let srv = Server::start();
    let want = protocol_error("invalid bulk length");
    for len in ["-10", "2000000000", "blabla", "-1"] {
        let req = format!("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n${len}\r\n");
        check(&srv, req.as_bytes(), &want, Conn::Closed);
    }
}

#[test]
fn too_big_inline_request_closes() {
    // Row 6: 70 000 bytes with no newline.
    let srv = Server::start();
    let mut c = srv.raw();
    c.send_lossy(&vec![b'A'; 70_000]);
    c.expect(&protocol_error("too big inline request"));
    c.expect_closed();
    srv.assert_alive();
}

#[test]
fn too_big_count_strings_close() {
    // Rows 7 and 8.
    let srv = Server::start();
    let mut digits = b"*".to_vec();
    digits.extend(std::iter::repeat_n(b'1', 70_000));
    let mut c = srv.raw();
    c.send_lossy(&digits);
    c.expect(&protocol_error("too big mbulk count string"));
    c.expect_closed();
    srv.assert_alive();

    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70_000));
    let mut c = srv.raw();
    c.send_lossy(&bulk);
    c.expect(&protocol_error("too big bulk count string"));
    c.expect_closed();
    srv.assert_alive();
}

#[test]
fn unbalanced_quotes_close_and_nothing_after_runs() {
    // Row 9: the PING pipelined after the bad line is never answered.
    let srv = Server::start();
    check(
        &srv,
        b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
        &protocol_error("unbalanced quotes in request"),
        Conn::Closed,
    );
    check(&srv, b"GET \"a\"b\r\n", &protocol_error("unbalanced quotes in request"), Conn::Closed);
    check(&srv, b"GET 'a\r\n", &protocol_error("unbalanced quotes in request"), Conn::Closed);
}

/// Sends `prefix`, then streams lines of 1 KiB of `A` from another thread (a server that
/// stopped reading must not block the test), and returns the connection to read from.
fn desync(srv: &Server, prefix: &'static [u8]) -> crate::support::Raw {
    let c = srv.raw();
    let mut w = c.stream.try_clone().expect("clone the socket");
    thread::spawn(move || {
        if w.write_all(prefix).is_err() {
            return;
        }
        let mut line = vec![b'A'; 1024];
        line.push(b'\n');
        // Far more than the 64 KiB the server may buffer; stops when the server closes.
        for _ in 0..2048 {
            if w.write_all(&line).is_err() {
                return;
            }
        }
    });
    c
}

#[test]
fn protocol_desync_nul_byte_inline() {
    // Row 10: a NUL hides the newlines from the inline parser, which then hits its size limit.
    let srv = Server::start();
    let mut c = desync(&srv, b"\x00");
    c.expect(&protocol_error("too big inline request"));
    c.expect_closed();
    srv.assert_alive();

    let mut c = desync(&srv, b"$\x00");
    c.expect(&protocol_error("too big inline request"));
    c.expect_closed();
    srv.assert_alive();
}

#[test]
fn protocol_desync_nul_byte_in_count_line() {
    // Row 10, `*\x00`: the count line never ends.
    let srv = Server::start();
    let mut c = desync(&srv, b"*\x00");
    c.expect(&protocol_error("too big mbulk count string"));
    c.expect_closed();
    srv.assert_alive();
}

#[test]
fn nul_byte_before_newline_waits() {
    // Row 10, the capture: a short NUL line gets no reply and the connection stays open.
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(b"\x00AAAAAAAAAA\n");
    c.expect_silence(Duration::from_millis(300));
    srv.assert_alive();
}

#[test]
fn cross_protocol_requests_are_dropped_silently() {
    // Row 11: an HTTP request on the RESP port gets no reply, is closed, and is logged.
    let srv = Server::start();
    let mut c = srv.raw();
    c.send_lossy(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.expect_closed();
    srv.assert_alive();
    assert!(
        srv.wait_for_log("Possible SECURITY ATTACK detected"),
        "no security warning logged:\n{}",
        srv.log_text()
    );

    let mut c = srv.raw();
    c.send_lossy(b"Host: foo\r\n");
    c.expect_closed();
    srv.assert_alive();

    // Only the first word counts: `post` in lower case and with arguments too.
    let mut c = srv.raw();
    c.send_lossy(b"*2\r\n$4\r\npost\r\n$1\r\n/\r\n");
    c.expect_closed();
    srv.assert_alive();
}

#[test]
fn wrong_arity_keeps_the_connection() {
    // Row 13.
    let srv = Server::start();
    check(
        &srv,
        b"*4\r\n$4\r\nping\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n",
        b"-ERR wrong number of arguments for 'ping' command\r\n",
        Conn::Open,
    );
    check(&srv, b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n", Conn::Open);
    check(
        &srv,
        &cmd(&["sEt", "only-key"]),
        b"-ERR wrong number of arguments for 'set' command\r\n",
        Conn::Open,
    );
}

#[test]
fn inline_ping_variants() {
    // Row 15.
    let srv = Server::start();
    check(&srv, b"PING\n", PONG, Conn::Open);
    check(&srv, b"*1\r\n$4\r\npInG\r\n", PONG, Conn::Open);
    check(&srv, b"  ping  \r\n", PONG, Conn::Open);
    check(&srv, b"PING hello\r\n", b"$5\r\nhello\r\n", Conn::Open);
}

#[test]
fn inline_quoting_and_escapes() {
    // Row 16: inline requests share sdssplitargs with redis.conf.
    let srv = Server::start();
    check(&srv, b"SET k \"a\\x41\\n\" \r\nGET k\r\n", b"+OK\r\n$3\r\naA\n\r\n", Conn::Open);
    check(&srv, b"SET k 'it\\'s'\r\nGET k\r\n", b"+OK\r\n$4\r\nit's\r\n", Conn::Open);
    check(&srv, b"SET k foo\"bar baz\"\r\nGET k\r\n", b"+OK\r\n$10\r\nfoobar baz\r\n", Conn::Open);
    check(&srv, b"SET k \"\"\r\nGET k\r\n", b"+OK\r\n$0\r\n\r\n", Conn::Open);
}

#[test]
fn bulk_payload_terminator_is_skipped_not_checked() {
    // Redis skips the two bytes after a bulk payload without looking at them.
    let srv = Server::start();
    check(&srv, b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", b"+PONG\r\n+PONG\r\n", Conn::Open);
}

#[test]
fn query_buffer_limit_closes_silently() {
    // Row 45: a bulk bigger than client-query-buffer-limit: no reply, closed, logged.
    let srv = Server::with_args(&["--client-query-buffer-limit", "1mb"]);
    let mut c = srv.raw();
    c.send_lossy(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    c.send_lossy(&vec![b'x'; 2_000_000]);
    c.expect_closed();
    srv.assert_alive();
    assert!(
        srv.wait_for_log("Closing client that reached max query buffer length"),
        "no query buffer log line:\n{}",
        srv.log_text()
    );
    let mut c = srv.raw();
    c.send(&cmd(&["GET", "k"]));
    c.expect(b"$-1\r\n");
}

#[test]
fn bulk_over_proto_max_bulk_len_closes() {
    // Row 46.
    let srv = Server::with_args(&["--proto-max-bulk-len", "1mb"]);
    check(
        &srv,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n",
        &protocol_error("invalid bulk length"),
        Conn::Closed,
    );
    // Exactly the limit is accepted.
    let mut c = srv.raw();
    let big = vec![b'v'; 1024 * 1024];
    c.send(&crate::support::resp(&[b"SET", b"k", &big]));
    c.expect(b"+OK\r\n");
    c.send(&cmd(&["GET", "k"]));
    let mut want = b"$1048576\r\n".to_vec();
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n");
    c.expect(&want);
}

#[test]
fn pipelined_commands_after_a_protocol_error_never_run() {
    // Row 50.
    let srv = Server::start();
    let mut req = cmd(&["SET", "k1", "v"]);
    req.extend_from_slice(b"*1\r\nfoo\r\n");
    req.extend_from_slice(&cmd(&["SET", "k2", "v"]));
    req.extend_from_slice(b"SET k3 v\r\n");
    let mut want = b"+OK\r\n".to_vec();
    want.extend_from_slice(&protocol_error("expected '$', got 'f'"));
    check(&srv, &req, &want, Conn::Closed);

    // The same with an inline error in the middle.
    let mut req = b"SET k4 v\r\nSET \"k5 v\r\n".to_vec();
    req.extend_from_slice(&cmd(&["SET", "k6", "v"]));
    let mut want = b"+OK\r\n".to_vec();
    want.extend_from_slice(&protocol_error("unbalanced quotes in request"));
    check(&srv, &req, &want, Conn::Closed);

    let mut c = srv.raw();
    c.send(b"GET k1\r\nGET k2\r\nGET k3\r\nGET k4\r\nGET k5\r\nGET k6\r\n");
    c.expect(b"$1\r\nv\r\n$-1\r\n$-1\r\n$1\r\nv\r\n$-1\r\n$-1\r\n");
}

/// A stream mixing every request form, and what it must answer.
const MIXED: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$3\r\nxyz\r\nGET a\r\n\
    *2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\n\r\n*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\necho \"x y\"\r\n";
const MIXED_REPLY: &[u8] = b"+OK\r\n$3\r\nxyz\r\n$3\r\nxyz\r\n+PONG\r\n+PONG\r\n$3\r\nx y\r\n";

#[test]
fn requests_delivered_one_byte_at_a_time() {
    let srv = Server::start();
    let mut c = srv.raw();
    for b in MIXED {
        c.send(std::slice::from_ref(b));
    }
    c.expect(MIXED_REPLY);
    c.expect_open();
}

#[test]
fn requests_split_at_every_offset() {
    let srv = Server::start();
    let mut c = srv.raw();
    for cut in 1..MIXED.len() {
        c.send(&MIXED[..cut]);
        c.stream.flush().expect("flush");
        // Give the first part its own segment when the machine allows; correctness does not
        // depend on it (any split must give the same replies).
        thread::yield_now();
        c.send(&MIXED[cut..]);
        let (got, end) = c.read_n(MIXED_REPLY.len(), REPLY_TIMEOUT);
        assert!(got == MIXED_REPLY, "split at {cut}: got {} ({end:?})", show(&got));
    }
    c.expect_open();
}

#[test]
fn large_pipeline_in_one_write() {
    // 100 000 PINGs in one write, read back concurrently: every reply, in order.
    let srv = Server::start();
    let c = srv.raw();
    const N: usize = 100_000;
    let mut w = c.stream.try_clone().expect("clone the socket");
    let writer = thread::spawn(move || {
        let mut req = Vec::with_capacity(N * PING.len());
        for i in 0..N {
            req.extend_from_slice(if i % 2 == 0 { PING } else { b"PING\r\n" });
        }
        w.write_all(&req).expect("write the pipeline");
    });
    let mut c = c;
    let (got, end) = c.read_n(N * PONG.len(), Duration::from_secs(60));
    writer.join().expect("writer thread");
    assert_eq!(got.len(), N * PONG.len(), "short read ({end:?})");
    assert!(got.chunks(PONG.len()).all(|r| r == PONG), "a reply other than +PONG");
    c.expect_open();
}

#[test]
fn peer_closing_mid_request_does_not_disturb_the_server() {
    let srv = Server::start();
    // FIN after a partial command: nothing is run, nothing is sent.
    let mut c = srv.raw();
    c.send(b"*3\r\n$3\r\nSET\r\n$7\r\npartial\r\n$5\r\nva");
    c.shutdown_write();
    c.expect_closed();
    // RST in the middle of a bulk.
    let c = srv.raw();
    let mut s = c.stream;
    s.write_all(b"*3\r\n$3\r\nSET\r\n$7\r\npartial\r\n$100000\r\nvvvv").expect("send");
    socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).expect("linger 0");
    drop(s);
    srv.assert_alive();
    let mut c = srv.raw();
    c.send(&cmd(&["GET", "partial"]));
    c.expect(b"$-1\r\n");
}

#[test]
fn peer_leaving_with_a_big_reply_unread() {
    // The client goes away while its reply is being written (EPIPE must not hurt the server).
    let srv = Server::start();
    let mut c = srv.raw();
    let big = vec![b'z'; 4 * 1024 * 1024];
    c.send(&crate::support::resp(&[b"SET", b"big", &big]));
    c.expect(b"+OK\r\n");
    for _ in 0..5 {
        let mut c = srv.raw();
        c.send(&cmd(&["GET", "big"]).repeat(8));
        let (_, end) = c.read_n(1, REPLY_TIMEOUT);
        assert_eq!(end, End::Complete, "no reply started");
        socket2::SockRef::from(&c.stream).set_linger(Some(Duration::ZERO)).expect("linger 0");
        drop(c);
    }
    srv.assert_alive();
    let mut c = srv.raw();
    c.send(&cmd(&["GET", "big"]));
    let mut want = b"$4194304\r\n".to_vec();
    want.extend_from_slice(&big);
    want.extend_from_slice(b"\r\n");
    c.expect(&want);
}
