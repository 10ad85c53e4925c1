//! Connection-level commands and admission: unknown commands, CR/LF in echoed errors, SELECT,
//! QUIT, HELLO, CLIENT, SHUTDOWN and DEBUG refusals, maxclients and protected mode
//! (redis-behaviour.md B.3.1 rows 12, 24, 29, 38-42, 44, 49).

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{Conn, REPLY_TIMEOUT, Raw, Resp, Server, check, cmd, resp, show};

#[test]
fn unknown_command_lists_its_arguments() {
    // Row 12 (note the trailing space after the last argument).
    let srv = Server::start();
    check(
        &srv,
        b"foo bar baz\r\n",
        b"-ERR unknown command 'foo', with args beginning with: 'bar' 'baz' \r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"FOO\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: \r\n",
        Conn::Open,
    );
    check(
        &srv,
        &cmd(&["nosuch", ""]),
        b"-ERR unknown command 'nosuch', with args beginning with: '' \r\n",
        Conn::Open,
    );
}

#[test]
fn unknown_command_text_is_capped_at_128_bytes() {
    // Row 12: the name and the argument list are each cut at 128 bytes.
    let srv = Server::start();
    let name = "n".repeat(200);
    let a = "a".repeat(100);
    let b = "b".repeat(100);
    let mut want =
        format!("-ERR unknown command '{}', with args beginning with: ", "n".repeat(128));
    // 'a..a' takes 103 bytes of the 128; the next argument gets the 25 left; then it stops.
    want.push_str(&format!("'{a}' '{}' \r\n", "b".repeat(25)));
    check(&srv, &cmd(&[&name, &a, &b, "c"]), want.as_bytes(), Conn::Open);
}

#[test]
fn crlf_in_echoed_errors_becomes_spaces() {
    // Row 49: a CR or LF from the client echoed in an error would desync the client.
    let srv = Server::start();
    check(
        &srv,
        &resp(&[b"f\r\noo", b"a\r\nb", b"\n"]),
        b"-ERR unknown command 'f  oo', with args beginning with: 'a  b' ' ' \r\n",
        Conn::Open,
    );
    check(
        &srv,
        &resp(&[b"CONFIG", b"x\r\ny"]),
        b"-ERR unknown subcommand 'x  y'. Try CONFIG HELP.\r\n",
        Conn::Open,
    );
    check(
        &srv,
        &resp(&[b"CONFIG", b"SET", b"max\r\nmemory", b"1"]),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'max  memory'\r\n",
        Conn::Open,
    );
}

#[test]
fn select_range_and_parsing() {
    // Row 24.
    let srv = Server::start();
    check(&srv, b"SELECT 16\r\n", b"-ERR DB index is out of range\r\n", Conn::Open);
    check(&srv, b"SELECT -1\r\n", b"-ERR DB index is out of range\r\n", Conn::Open);
    check(&srv, b"SELECT abc\r\n", b"-ERR value is not an integer or out of range\r\n", Conn::Open);
    check(&srv, b"SELECT 1.5\r\n", b"-ERR value is not an integer or out of range\r\n", Conn::Open);
    check(&srv, b"SELECT 15\r\n", b"+OK\r\n", Conn::Open);
    check(
        &srv,
        b"SELECT\r\n",
        b"-ERR wrong number of arguments for 'select' command\r\n",
        Conn::Open,
    );
}

#[test]
fn select_switches_database() {
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(b"SELECT 3\r\nSET k three\r\nSELECT 0\r\nGET k\r\nSELECT 3\r\nGET k\r\n");
    c.expect(b"+OK\r\n+OK\r\n+OK\r\n$-1\r\n+OK\r\n$5\r\nthree\r\n");
    // The selected database belongs to the connection.
    let mut other = srv.raw();
    other.send(b"GET k\r\n");
    other.expect(b"$-1\r\n");
}

#[test]
fn select_honours_databases_directive() {
    let srv = Server::with_args(&["--databases", "4"]);
    check(&srv, b"SELECT 3\r\n", b"+OK\r\n", Conn::Open);
    check(&srv, b"SELECT 4\r\n", b"-ERR DB index is out of range\r\n", Conn::Open);
}

#[test]
fn quit_replies_then_closes() {
    // Row 40: the pipelined PING after QUIT is never answered.
    let srv = Server::start();
    check(&srv, b"QUIT\r\nPING\r\n", b"+OK\r\n", Conn::Closed);
    check(&srv, &cmd(&["quit"]), b"+OK\r\n", Conn::Closed);
    let mut req = cmd(&["SET", "before", "1"]);
    req.extend_from_slice(b"QUIT\r\nSET after 1\r\n");
    check(&srv, &req, b"+OK\r\n+OK\r\n", Conn::Closed);
    let mut c = srv.raw();
    c.send(b"GET before\r\nGET after\r\n");
    c.expect(b"$1\r\n1\r\n$-1\r\n");
}

/// HELLO's reply as Redis 7.0.15 encodes it for `proto`, with the connection's `id`.
fn hello_reply(proto: u8, id: i64) -> Vec<u8> {
    let head: &[u8] = if proto == 3 { b"%7\r\n" } else { b"*14\r\n" };
    let mut v = head.to_vec();
    v.extend_from_slice(b"$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n");
    v.extend_from_slice(format!("$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n").as_bytes());
    v.extend_from_slice(b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n");
    v.extend_from_slice(b"$7\r\nmodules\r\n*0\r\n");
    v
}

/// Reads a HELLO reply and asserts it is byte for byte Redis's for `proto`.
pub fn expect_hello(c: &mut Raw, proto: u8) {
    let (v, raw) = c.read_reply_raw();
    let Some(Resp::Int(id)) = v.field("id").cloned() else {
        panic!("HELLO reply without an integer id: {}", show(&raw));
    };
    assert!(id > 0, "client id must be positive");
    let want = hello_reply(proto, id);
    assert!(raw == want, "HELLO reply\n  want: {}\n  got:  {}", show(&want), show(&raw));
}

#[test]
fn hello_switches_protocol() {
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\n");
    expect_hello(&mut c, 3);
    // RESP3 null for a missing key, map for CONFIG GET.
    c.send(b"GET nosuch\r\n");
    c.expect(b"_\r\n");
    c.send(b"HELLO\r\n");
    expect_hello(&mut c, 3);
    c.send(b"HELLO 2\r\n");
    expect_hello(&mut c, 2);
    c.send(b"GET nosuch\r\n");
    c.expect(b"$-1\r\n");
    c.expect_open();
}

#[test]
fn hello_errors() {
    // Row 29.
    let srv = Server::start();
    check(&srv, b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n", Conn::Open);
    check(&srv, b"HELLO 1\r\n", b"-NOPROTO unsupported protocol version\r\n", Conn::Open);
    check(
        &srv,
        b"HELLO abc\r\n",
        b"-ERR Protocol version is not an integer or out of range\r\n",
        Conn::Open,
    );
    // The option is echoed as sent.
    check(&srv, b"HELLO 3 AUTH\r\n", b"-ERR Syntax error in HELLO option 'AUTH'\r\n", Conn::Open);
    check(&srv, b"HELLO 3 auth\r\n", b"-ERR Syntax error in HELLO option 'auth'\r\n", Conn::Open);
    check(
        &srv,
        b"HELLO 3 SETNAME \"a b\"\r\n",
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        Conn::Open,
    );
    check(&srv, b"HELLO 3 FOO\r\n", b"-ERR Syntax error in HELLO option 'FOO'\r\n", Conn::Open);
    // A failed HELLO leaves the protocol as it was.
    let mut c = srv.raw();
    c.send(b"HELLO 3 AUTH\r\nGET nosuch\r\n");
    c.expect(b"-ERR Syntax error in HELLO option 'AUTH'\r\n$-1\r\n");
}

#[test]
fn hello_setname_names_the_connection() {
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(b"HELLO 2 SETNAME app-1\r\n");
    expect_hello(&mut c, 2);
    c.send(b"CLIENT GETNAME\r\n");
    c.expect(b"$5\r\napp-1\r\n");
}

#[test]
fn maxclients_rejects_the_next_connection() {
    // Row 42.
    const MAX: usize = 4;
    let srv = Server::with_args(&["--maxclients", "4"]);
    let mut accepted = Vec::new();
    let mut rejected = None;
    for _ in 0..MAX + 3 {
        let mut c = srv.raw();
        c.send(b"PING\r\n");
        let (got, _) = c.read_n(7, REPLY_TIMEOUT);
        if got == b"+PONG\r\n" {
            accepted.push(c);
        } else {
            rejected = Some((c, got));
            break;
        }
    }
    let Some((mut c, got)) = rejected else { panic!("{} connections accepted", MAX + 3) };
    let want = b"-ERR max number of clients reached\r\n";
    let (rest, _) = c.read_n(want.len() - got.len(), REPLY_TIMEOUT);
    assert_eq!(show(&[got, rest].concat()), show(want));
    c.expect_closed();
    // The harness's own readiness probe may still be counted for a moment.
    assert!(
        (MAX - 1..=MAX).contains(&accepted.len()),
        "{} connections accepted with maxclients {MAX}",
        accepted.len()
    );
    // A slot frees when a client leaves.
    accepted.pop();
    let deadline = Instant::now() + REPLY_TIMEOUT;
    loop {
        let mut c = srv.raw();
        c.send(b"PING\r\n");
        let (got, _) = c.read_n(7, REPLY_TIMEOUT);
        if got == b"+PONG\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "no slot freed after a client left");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is \
    enabled and no password is set for the default user. In this mode connections are only \
    accepted from the loopback interface. If you want to connect from external computers to \
    Redis you may adopt one of the following solutions: 1) Just disable protected mode sending \
    the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to \
    Redis from the same host the server is running, however MAKE SURE Redis is not publicly \
    accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. \
    2) Alternatively you can just disable the protected mode by editing the Redis \
    configuration file, and setting the protected mode option to 'no', and then restarting \
    the server. 3) If you started the server manually just for testing, restart it with the \
    '--protected-mode no' option. 4) Setup a an authentication password for the default \
    user. NOTE: You only need to do one of the above things in order for the server to start \
    accepting connections from the outside.\r\n";

/// Connects to `127.0.0.2:port` from `127.0.0.2`: a peer that is not "local" to Redis (only
/// exactly 127.0.0.1 and ::1 are).
fn connect_from_127_0_0_2(port: u16) -> Raw {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let local: SocketAddr = "127.0.0.2:0".parse().expect("addr");
    s.bind(&local.into()).expect("bind 127.0.0.2");
    let remote: SocketAddr = format!("127.0.0.2:{port}").parse().expect("addr");
    s.connect_timeout(&remote.into(), REPLY_TIMEOUT).expect("connect to 127.0.0.2");
    Raw::from_stream(TcpStream::from(s))
}

#[test]
fn protected_mode_denies_non_loopback_peers() {
    // Row 44.
    let srv = Server::with_args(&["--bind", "127.0.0.1", "127.0.0.2"]);
    let mut c = connect_from_127_0_0_2(srv.port);
    c.send_lossy(b"PING\r\n");
    c.expect(DENIED.as_bytes());
    c.expect_closed();
    srv.assert_alive();

    // With protected mode off the same peer is served.
    let srv = Server::with_args(&["--bind", "127.0.0.1", "127.0.0.2", "--protected-mode", "no"]);
    let mut c = connect_from_127_0_0_2(srv.port);
    c.expect_open();

    // With a password the peer is admitted and must authenticate.
    let srv = Server::with_args(&["--bind", "127.0.0.1", "127.0.0.2", "--requirepass", "pw"]);
    let mut c = connect_from_127_0_0_2(srv.port);
    c.send(b"PING\r\n");
    c.expect(b"-NOAUTH Authentication required.\r\n");
    c.send(b"AUTH pw\r\n");
    c.expect(b"+OK\r\n");
    c.expect_open();
}

#[test]
fn client_subcommand_errors() {
    // Row 39.
    let srv = Server::start();
    check(&srv, b"CLIENT KILL 1.2.3.4:5\r\n", b"-ERR No such client\r\n", Conn::Open);
    check(&srv, b"CLIENT NO-EVICT maybe\r\n", b"-ERR syntax error\r\n", Conn::Open);
    check(
        &srv,
        b"CLIENT SETNAME \"a b\"\r\n",
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CLIENT FOO\r\n",
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
        Conn::Open,
    );
}

#[test]
fn shutdown_argument_errors_keep_the_server_up() {
    // Row 41: a refused SHUTDOWN must not stop the server.
    let srv = Server::start();
    check(&srv, b"SHUTDOWN foo\r\n", b"-ERR syntax error\r\n", Conn::Open);
    check(&srv, b"SHUTDOWN NOSAVE SAVE\r\n", b"-ERR syntax error\r\n", Conn::Open);
    check(&srv, b"SHUTDOWN ABORT\r\n", b"-ERR No shutdown in progress.\r\n", Conn::Open);
}

#[test]
fn shutdown_closes_without_a_reply_and_the_server_exits() {
    let mut srv = Server::start();
    let mut c = srv.raw();
    c.send(b"SHUTDOWN NOSAVE\r\n");
    c.expect_closed();
    assert!(srv.wait_exit(), "the server is still running after SHUTDOWN");
}

#[test]
fn debug_is_refused_unless_enabled() {
    // Row 38.
    let srv = Server::start();
    check(
        &srv,
        b"DEBUG SLEEP 0\r\n",
        b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \
          \"local\", you can run it from a local connection, otherwise you need to set this \
          option in the configuration file, and then restart the server.\r\n",
        Conn::Open,
    );
    let srv = Server::with_args(&["--enable-debug-command", "yes"]);
    check(&srv, b"DEBUG SLEEP 0\r\n", b"+OK\r\n", Conn::Open);
    let srv = Server::with_args(&["--enable-debug-command", "local"]);
    check(&srv, b"DEBUG SLEEP 0\r\n", b"+OK\r\n", Conn::Open);
}
