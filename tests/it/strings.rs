//! String commands at their edges: integer and float parsing, overflow, SET's options, size
//! limits (redis-behaviour.md B.3.1 rows 18-23, 31 and the CVE rows of B.1.4). Row 32 (SETBIT)
//! waits for the bitmap commands of a later issue.

use crate::support::{Conn, Server, check, cmd};

const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";

#[test]
fn incr_on_a_non_integer() {
    // Row 18.
    let srv = Server::start();
    check(&srv, b"SET n abc\r\nINCR n\r\n", &[b"+OK\r\n", NOT_INT].concat(), Conn::Open);
    for v in [" 1", "1 ", "+1", "01", "1.0", "", "9223372036854775808"] {
        let mut req = cmd(&["SET", "n", v]);
        req.extend_from_slice(b"INCR n\r\n");
        check(&srv, &req, &[b"+OK\r\n", NOT_INT].concat(), Conn::Open);
    }
    check(
        &srv,
        b"SET n -0\r\nINCR n\r\n",
        b"+OK\r\n-ERR value is not an integer or out of range\r\n",
        Conn::Open,
    );
    check(&srv, b"SET n 41\r\nINCR n\r\nGET n\r\n", b"+OK\r\n:42\r\n$2\r\n42\r\n", Conn::Open);
}

#[test]
fn incr_overflow() {
    // Row 19.
    let srv = Server::start();
    check(
        &srv,
        b"SET n 9223372036854775807\r\nINCR n\r\n",
        b"+OK\r\n-ERR increment or decrement would overflow\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"DECRBY n -9223372036854775808\r\n",
        b"-ERR decrement would overflow\r\n",
        Conn::Open,
    );
    check(&srv, b"INCRBY n 9223372036854775808\r\n", NOT_INT, Conn::Open);
    check(
        &srv,
        b"SET m -9223372036854775808\r\nDECR m\r\nINCRBY m -1\r\n",
        b"+OK\r\n-ERR increment or decrement would overflow\r\n\
          -ERR increment or decrement would overflow\r\n",
        Conn::Open,
    );
    // The value is unchanged after a refused increment.
    check(&srv, b"GET n\r\n", b"$19\r\n9223372036854775807\r\n", Conn::Open);
}

#[test]
fn incrbyfloat_errors() {
    // Row 20 and CVE-2023-28856.
    let srv = Server::start();
    check(
        &srv,
        b"SET n 1\r\nINCRBYFLOAT n abc\r\n",
        b"+OK\r\n-ERR value is not a valid float\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"INCRBYFLOAT f inf\r\n",
        b"-ERR increment would produce NaN or Infinity\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"SET s abc\r\nINCRBYFLOAT s 1\r\n",
        b"+OK\r\n-ERR value is not a valid float\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"INCRBYFLOAT f 10.5\r\nINCRBYFLOAT f 0.1\r\n",
        b"$4\r\n10.5\r\n$4\r\n10.6\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"EXISTS f2\r\nINCRBYFLOAT f2 nan\r\n",
        b":0\r\n-ERR value is not a valid float\r\n",
        Conn::Open,
    );
}

#[test]
fn set_option_conflicts() {
    // Rows 21 and 23.
    let srv = Server::start();
    let syntax = b"-ERR syntax error\r\n";
    for words in [
        &["SET", "k", "v", "XX", "NX"][..],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "KEEPTTL", "EX", "1"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "FOO"],
    ] {
        check(&srv, &cmd(words), syntax, Conn::Open);
    }
    check(&srv, b"SET k v EX abc\r\n", NOT_INT, Conn::Open);
    check(&srv, b"GET k\r\n", b"$-1\r\n", Conn::Open);
    check(
        &srv,
        b"SET k v NX GET\r\nSET k w XX GET\r\nGET k\r\n",
        b"$-1\r\n$1\r\nv\r\n$1\r\nw\r\n",
        Conn::Open,
    );
}

#[test]
fn set_invalid_expire_times() {
    // Row 22 for SET and GETEX.
    let srv = Server::start();
    let want = b"-ERR invalid expire time in 'set' command\r\n";
    for (unit, v) in [("EX", "-1"), ("EX", "0"), ("PX", "0"), ("PX", "9223372036854775807")] {
        check(&srv, &cmd(&["SET", "k", "v", unit, v]), want, Conn::Open);
    }
    check(&srv, b"SET k v EXAT 0\r\n", want, Conn::Open);
    check(
        &srv,
        b"SET k v\r\nGETEX k PX 0\r\n",
        b"+OK\r\n-ERR invalid expire time in 'getex' command\r\n",
        Conn::Open,
    );
    check(&srv, b"GETEX k EX abc\r\n", NOT_INT, Conn::Open);
    check(&srv, b"GETEX k PERSIST EX 1\r\n", b"-ERR syntax error\r\n", Conn::Open);
}

#[test]
fn string_size_limits() {
    // Row 31 and CVE-2022-35977.
    let srv = Server::start();
    let too_big = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check(&srv, b"SETRANGE k 536870912 x\r\n", too_big, Conn::Open);
    check(&srv, b"SETRANGE k 9223372036854775807 x\r\n", too_big, Conn::Open);
    check(&srv, b"SETRANGE k -1 x\r\n", b"-ERR offset is out of range\r\n", Conn::Open);
    check(&srv, b"EXISTS k\r\n", b":0\r\n", Conn::Open);
    check(&srv, b"SETRANGE k 3 x\r\nGET k\r\n", b":4\r\n$4\r\n\x00\x00\x00x\r\n", Conn::Open);
    let srv = Server::with_args(&["--proto-max-bulk-len", "1mb"]);
    check(&srv, b"SETRANGE k 1048576 x\r\n", too_big, Conn::Open);
    check(&srv, b"SETRANGE k 1048575 x\r\n", b":1048576\r\n", Conn::Open);
    check(&srv, b"APPEND k x\r\n", too_big, Conn::Open);
}

#[test]
fn mset_arity_and_msetnx_duplicates() {
    // CVE-2023-28425: MSETNX with a repeated key sets it once.
    let srv = Server::start();
    check(&srv, b"MSETNX x 1 x 2\r\nGET x\r\n", b":1\r\n$1\r\n2\r\n", Conn::Open);
    check(
        &srv,
        b"MSET a\r\n",
        b"-ERR wrong number of arguments for 'mset' command\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"MSET a b c\r\n",
        b"-ERR wrong number of arguments for 'mset' command\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"MSETNX a b c\r\n",
        b"-ERR wrong number of arguments for 'msetnx' command\r\n",
        Conn::Open,
    );
}

#[test]
fn binary_safe_values_through_the_redis_crate() {
    use redis::Commands;
    let srv = Server::start();
    let mut con = srv.client();
    let value: Vec<u8> = (0..=255u8).chain([b'\r', b'\n', 0]).collect();
    let () = con.set(b"bin\x00key", &value).expect("SET");
    let got: Vec<u8> = con.get(b"bin\x00key").expect("GET");
    assert_eq!(got, value);
    let n: i64 = con.incr("counter", 5).expect("INCRBY");
    assert_eq!(n, 5);
    let missing: Option<Vec<u8>> = con.get("missing").expect("GET");
    assert_eq!(missing, None);
}
