//! AUTH, requirepass and the limits on unauthenticated clients (redis-behaviour.md B.1.3 and
//! B.3.1 rows 27, 28; the 1 KB unauthenticated output cap of CVE-2025-21605).

use std::time::Duration;

use crate::connection::expect_hello;
use crate::support::{Conn, End, Server, check, cmd};

const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

#[test]
fn auth_without_a_password_configured() {
    // Row 27.
    let srv = Server::start();
    check(
        &srv,
        b"AUTH foo\r\n",
        b"-ERR AUTH <password> called without any password configured for the default user. \
          Are you sure your configuration is correct?\r\n",
        Conn::Open,
    );
    check(&srv, b"AUTH a b\r\n", WRONGPASS, Conn::Open);
    // The default user has `nopass`: any password for it is accepted.
    check(&srv, b"AUTH default anything\r\n", b"+OK\r\n", Conn::Open);
    check(&srv, b"AUTH a b c\r\n", b"-ERR syntax error\r\n", Conn::Open);
    check(&srv, b"AUTH\r\n", b"-ERR wrong number of arguments for 'auth' command\r\n", Conn::Open);
}

#[test]
fn requirepass_gates_commands() {
    // Row 28, the reply rows.
    let srv = Server::with_args(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    c.send(b"GET k\r\nSET k v\r\n");
    c.expect(&[NOAUTH, NOAUTH].concat());
    // Unknown commands and wrong arity are reported before the auth check.
    c.send(b"NOSUCH x\r\nGET\r\n");
    c.expect(
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n\
          -ERR wrong number of arguments for 'get' command\r\n",
    );
    c.send(b"AUTH wrong\r\nAUTH default wrong\r\nAUTH nosuchuser pw\r\n");
    c.expect(&[WRONGPASS, WRONGPASS, WRONGPASS].concat());
    c.send(b"HELLO 3\r\n");
    c.expect(
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
          HELLO AUTH <user> <pass> option can be used to authenticate the client and select the \
          RESP protocol version at the same time\r\n",
    );
    c.send(b"AUTH pw\r\nSET k v\r\nGET k\r\n");
    c.expect(b"+OK\r\n+OK\r\n$1\r\nv\r\n");
    c.expect_open();

    let mut c = srv.raw();
    c.send(b"AUTH default pw\r\nGET k\r\n");
    c.expect(b"+OK\r\n$1\r\nv\r\n");
    srv.assert_alive();
}

#[test]
fn hello_can_authenticate() {
    let srv = Server::with_args(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    c.send(b"HELLO 3 AUTH default wrong\r\n");
    c.expect(WRONGPASS);
    c.send(b"HELLO 3 AUTH default pw SETNAME conn-a\r\n");
    expect_hello(&mut c, 3);
    c.send(b"CLIENT GETNAME\r\nGET nosuch\r\n");
    c.expect(b"$6\r\nconn-a\r\n_\r\n");
    srv.assert_alive();
}

#[test]
fn unauthenticated_request_size_limits() {
    // Row 28, the protocol rows: tight multibulk and bulk limits before AUTH.
    let srv = Server::with_args(&["--requirepass", "pw"]);
    check(
        &srv,
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
        Conn::Closed,
    );
    check(
        &srv,
        b"*2\r\n$3\r\nGET\r\n$20000\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
        Conn::Closed,
    );
    check(
        &srv,
        b"*2\r\n$3\r\nGET\r\n$16385\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
        Conn::Closed,
    );
    // At the limits exactly, the request is read and refused as a command.
    let mut c = srv.raw();
    let ten: Vec<&str> = std::iter::once("DEL").chain(std::iter::repeat_n("x", 9)).collect();
    c.send(&cmd(&ten));
    c.expect(NOAUTH);
    let big = "b".repeat(16384);
    c.send(&cmd(&["ECHO", &big]));
    c.expect(NOAUTH);
    // After AUTH the limits are the normal ones.
    c.send(b"AUTH pw\r\n");
    c.expect(b"+OK\r\n");
    let big = "b".repeat(20000);
    c.send(&cmd(&["ECHO", &big]));
    c.expect(format!("$20000\r\n{big}\r\n").as_bytes());
    let mut many = vec!["MSET"];
    many.extend(std::iter::repeat_n("k", 20));
    c.send(&cmd(&many));
    c.expect(b"+OK\r\n");
    srv.assert_alive();
}

#[test]
fn unauthenticated_output_is_capped() {
    // CVE-2025-21605 (the Debian 7.0.15 build): a client that never authenticates and floods
    // requests is closed once more than 1 KB of replies is pending, not served forever.
    let srv = Server::with_args(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    c.send_lossy(&b"PING\r\n".repeat(5000));
    let all = 5000 * NOAUTH.len();
    let (got, end) = c.read_n(all, Duration::from_secs(10));
    assert_eq!(end, End::Closed, "the flooding client was not closed");
    assert!(got.len() < all, "every one of the 5000 NOAUTH replies was sent");
    assert!(got.chunks(NOAUTH.len()).all(|r| NOAUTH.starts_with(r)), "replies other than NOAUTH");
    srv.assert_alive();
}
