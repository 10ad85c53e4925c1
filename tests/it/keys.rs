//! Generic key commands at their edges: invalid expire times, the pathological KEYS pattern,
//! option conflicts and cursor parsing (redis-behaviour.md B.3.1 rows 22 and 47).

use crate::support::{Conn, Server, check, cmd};

#[test]
fn expire_invalid_times() {
    // Row 22 for EXPIRE and friends.
    let srv = Server::start();
    check(&srv, b"SET k v\r\n", b"+OK\r\n", Conn::Open);
    for (c, v) in [
        ("EXPIRE", "9223372036854775807"),
        ("PEXPIRE", "9223372036854775807"),
        ("EXPIREAT", "9223372036854775807"),
        ("EXPIRE", "-9223372036854775808"),
    ] {
        let want = format!("-ERR invalid expire time in '{}' command\r\n", c.to_lowercase());
        check(&srv, &cmd(&[c, "k", v]), want.as_bytes(), Conn::Open);
    }
    check(
        &srv,
        b"EXPIRE k abc\r\n",
        b"-ERR value is not an integer or out of range\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"EXPIRE k 10 NX XX\r\n",
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
        Conn::Open,
    );
    check(&srv, b"EXPIRE k 10 FOO\r\n", b"-ERR Unsupported option FOO\r\n", Conn::Open);
    // The key kept no TTL through the refusals.
    check(&srv, b"TTL k\r\nTTL missing\r\n", b":-1\r\n:-2\r\n", Conn::Open);
    // A time in the past deletes the key.
    check(&srv, b"EXPIRE k -1\r\nEXISTS k\r\n", b":1\r\n:0\r\n", Conn::Open);
}

#[test]
fn pathological_keys_pattern_returns_promptly() {
    // Row 47 (CVE-2022-36021): without the cut-off this pattern takes exponential time. The
    // reply must arrive within the read timeout.
    let srv = Server::start();
    let key = "a".repeat(60);
    check(&srv, &cmd(&["SET", &key, "1"]), b"+OK\r\n", Conn::Open);
    let pattern = format!("{}b", "a*".repeat(23));
    check(&srv, &cmd(&["KEYS", &pattern]), b"*0\r\n", Conn::Open);
    let long = format!("{}b", "*".repeat(40) + &"a*".repeat(20));
    check(&srv, &cmd(&["KEYS", &long]), b"*0\r\n", Conn::Open);
    check(
        &srv,
        &cmd(&["SCAN", "0", "MATCH", &pattern, "COUNT", "1000"]),
        b"*2\r\n$1\r\n0\r\n*0\r\n",
        Conn::Open,
    );
}

#[test]
fn key_command_errors() {
    let srv = Server::start();
    check(&srv, b"RENAME nosuch other\r\n", b"-ERR no such key\r\n", Conn::Open);
    check(&srv, b"SCAN abc\r\n", b"-ERR invalid cursor\r\n", Conn::Open);
    check(&srv, b"SCAN 0 COUNT 0\r\n", b"-ERR syntax error\r\n", Conn::Open);
    check(&srv, b"DEL\r\n", b"-ERR wrong number of arguments for 'del' command\r\n", Conn::Open);
    check(
        &srv,
        b"SET a 1\r\nEXISTS a a nosuch\r\nTYPE a\r\nTYPE nosuch\r\n",
        b"+OK\r\n:2\r\n+string\r\n+none\r\n",
        Conn::Open,
    );
}
