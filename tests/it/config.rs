//! CONFIG GET/SET at their edges and maxmemory's refusal (redis-behaviour.md A.1.3 and B.3.1
//! rows 14, 30, 43).

use crate::support::{Conn, Resp, Server, check, cmd, show};

#[test]
fn config_unknown_subcommand() {
    // Row 14.
    let srv = Server::start();
    check(
        &srv,
        b"CONFIG FOO\r\n",
        b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG\r\n",
        b"-ERR wrong number of arguments for 'config' command\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG GET\r\n",
        b"-ERR wrong number of arguments for 'config|get' command\r\n",
        Conn::Open,
    );
}

#[test]
fn config_set_errors() {
    // Row 30.
    let srv = Server::start();
    check(&srv, b"CONFIG GET nosuch\r\n", b"*0\r\n", Conn::Open);
    check(
        &srv,
        b"CONFIG SET nosuch 1\r\n",
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG SET maxmemory abc\r\n",
        b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a \
          memory value\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG SET daemonize no\r\n",
        b"-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable \
          config\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG SET maxclients 0\r\n",
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be \
          between 1 and 4294967295 inclusive\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG SET maxmemory\r\n",
        b"-ERR wrong number of arguments for 'config|set' command\r\n",
        Conn::Open,
    );
}

#[test]
fn config_get_and_set_round_trip() {
    let srv = Server::start();
    check(
        &srv,
        b"CONFIG SET maxmemory 10mb\r\nCONFIG GET maxmemory\r\n",
        b"+OK\r\n*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n",
        Conn::Open,
    );
    // Several patterns at once; names match case-insensitively, and an exact name comes back
    // as it was asked. (Redis collects the pairs in a dict, so their order is unspecified.)
    let mut c = srv.raw();
    c.send(b"CONFIG GET MAXMEMORY appendonly\r\n");
    let (v, raw) = c.read_reply_raw();
    let Resp::Array(items) = &v else { panic!("CONFIG GET gave {}", show(&raw)) };
    assert_eq!(items.len(), 4, "CONFIG GET gave {}", show(&raw));
    assert!(v.field("MAXMEMORY").is_some_and(|m| m.is_text("10485760")), "{}", show(&raw));
    assert!(v.field("appendonly").is_some_and(|m| m.is_text("no")), "{}", show(&raw));
    // RESP3 replies with a map.
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\n");
    crate::connection::expect_hello(&mut c, 3);
    c.send(b"CONFIG GET maxmemory\r\n");
    c.expect(b"%1\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n");
    // Several pairs are applied together, or not at all.
    check(
        &srv,
        b"CONFIG SET maxmemory 20mb maxclients 0\r\nCONFIG GET maxmemory\r\n",
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be \
          between 1 and 4294967295 inclusive\r\n*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"CONFIG SET maxmemory 1mb maxmemory 2mb\r\n",
        b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate \
          parameter\r\n",
        Conn::Open,
    );
}

#[test]
fn config_get_shapes_clients_rely_on() {
    // redis-benchmark's probe and redis_exporter's `CONFIG GET *` (an even-length reply).
    let srv = Server::start();
    check(
        &srv,
        &[cmd(&["CONFIG", "GET", "save"]), cmd(&["CONFIG", "GET", "appendonly"])].concat(),
        b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
        Conn::Open,
    );
    let mut c = srv.raw();
    c.send(b"CONFIG GET *\r\n");
    let all = c.read_reply();
    let Resp::Array(items) = &all else { panic!("CONFIG GET * gave {all:?}") };
    assert!(items.len() % 2 == 0 && items.len() > 100, "CONFIG GET * has {} items", items.len());
    for key in ["databases", "maxmemory", "maxclients", "port", "bind", "save", "appendonly"] {
        assert!(all.field(key).is_some(), "CONFIG GET * lacks {key}");
    }
    assert!(all.field("port").is_some_and(|p| p.is_text(&srv.port.to_string())));
    assert!(all.field("databases").is_some_and(|p| p.is_text("16")));
}

#[test]
fn oom_refuses_writes_but_serves_reads() {
    // Row 43.
    let srv = Server::start();
    check(&srv, b"SET before 1\r\nCONFIG SET maxmemory 1\r\n", b"+OK\r\n+OK\r\n", Conn::Open);
    check(
        &srv,
        b"SET a b\r\nGET a\r\nGET before\r\n",
        b"-OOM command not allowed when used memory > 'maxmemory'.\r\n$-1\r\n$1\r\n1\r\n",
        Conn::Open,
    );
    check(&srv, b"CONFIG SET maxmemory 0\r\nSET a b\r\n", b"+OK\r\n+OK\r\n", Conn::Open);
}
