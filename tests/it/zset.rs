//! Sorted sets over the wire: score formatting in RESP2 and RESP3 (`%.17g`, `inf`, `-0` only
//! in the skiplist encoding), reply shapes of the ranges and pops, errors at the edges, and
//! the generic commands on sorted-set keys. Every expected byte was captured from
//! redis-server 7.0.15.

use crate::support::{Conn, Server, check, cmd};

#[test]
fn scores_print_as_redis_prints_doubles() {
    let srv = Server::start();
    check(
        &srv,
        &cmd(&["ZADD", "z", "1.1", "a", "2", "b", "-0", "c", "inf", "d"]),
        b":4\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"ZSCORE z a\r\n",
        b"$18\r\n1.1000000000000001\r\n",
        Conn::Open,
    );
    // The listpack stores "-0" as the integer 0.
    check(
        &srv,
        b"ZRANGE z 0 -1 WITHSCORES\r\n",
        b"*8\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nd\r\n$3\r\ninf\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"ZMSCORE z a b nope\r\n",
        b"*3\r\n$18\r\n1.1000000000000001\r\n$1\r\n2\r\n$-1\r\n",
        Conn::Open,
    );
    // The skiplist keeps the sign of zero.
    check(
        &srv,
        b"CONFIG SET zset-max-listpack-entries 0\r\n",
        b"+OK\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"ZADD s -0 c\r\nOBJECT ENCODING s\r\nZSCORE s c\r\n",
        b":1\r\n$8\r\nskiplist\r\n$2\r\n-0\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"ZADD s 0x10 hex\r\nZSCORE s hex\r\n",
        b":1\r\n$2\r\n16\r\n",
        Conn::Open,
    );
}

#[test]
fn resp3_shapes_of_ranges_and_pops() {
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\n");
    c.send(&cmd(&["ZADD", "z", "1.1", "a", "2", "b", "inf", "d"]));
    c.send(b"PING\r\n");
    // Skip the HELLO map up to the PONG.
    let (got, _) = c.read_n(4096, std::time::Duration::from_millis(500));
    assert!(
        got.ends_with(b":3\r\n+PONG\r\n"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    c.send(b"ZRANGE z 0 -1 WITHSCORES\r\n");
    c.expect(b"*3\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nd\r\n,inf\r\n");
    c.send(b"ZPOPMIN z 1\r\n");
    c.expect(b"*1\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n");
    c.send(b"ZPOPMAX z\r\n");
    c.expect(b"*2\r\n$1\r\nd\r\n,inf\r\n");
    c.send(b"ZMPOP 1 z MIN\r\nZMPOP 1 z MIN\r\n");
    c.expect(b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2\r\n_\r\n");
    c.send(b"ZADD z 1 a 2 b\r\nZUNION 1 z WITHSCORES\r\nZSCAN z 0\r\n");
    c.expect(b":2\r\n*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
}

#[test]
fn errors_at_the_edges() {
    let srv = Server::start();
    for (send, want) in [
        (
            &["ZADD", "z", "NX", "XX", "1", "a"][..],
            "-ERR XX and NX options at the same time are not compatible\r\n",
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"],
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
        ),
        (
            &["ZADD", "z", "1e400", "a"],
            "-ERR value is not a valid float\r\n",
        ),
        (
            &["ZADD", "z", "", "a"],
            "-ERR value is not a valid float\r\n",
        ),
        (
            &["ZRANGEBYSCORE", "z", "str", "1"],
            "-ERR min or max is not a float\r\n",
        ),
        (
            &["ZRANGEBYLEX", "z", "a", "+"],
            "-ERR min or max not valid string range item\r\n",
        ),
        (
            &["ZRANGE", "z", "0", "-1", "BYLEX", "WITHSCORES"],
            "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
        ),
        (
            &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
        ),
        (
            &["ZPOPMIN", "z", "abc"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["ZMPOP", "0", "z", "MIN"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["ZINTERCARD", "1", "z", "LIMIT", "-1"],
            "-ERR LIMIT can't be negative\r\n",
        ),
        (
            &["ZINTERSTORE", "d", "2", "z", "z", "WEIGHTS", "1", "nan"],
            "-ERR weight value is not a float\r\n",
        ),
        (
            &["ZDIFF", "0", "z"],
            "-ERR at least 1 input key is needed for 'zdiff' command\r\n",
        ),
        (
            &["ZRANDMEMBER", "z", "-9223372036854775808"],
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
        ),
    ] {
        check(&srv, &cmd(send), want.as_bytes(), Conn::Open);
    }
    check(
        &srv,
        &cmd(&["ZADD", "z", "inf", "a"]),
        b":1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        &cmd(&["ZINCRBY", "z", "-inf", "a"]),
        b"-ERR resulting score is not a number (NaN)\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"SET s x\r\nZCARD s\r\n",
        b"+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        Conn::Open,
    );
}

#[test]
fn generic_commands_on_sorted_sets() {
    let srv = Server::with_args(&["--enable-debug-command", "yes"]);
    let mut r = srv.client();
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(1)
        .arg("a")
        .arg(2)
        .arg("b")
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("zset-max-listpack-entries")
        .arg(1)
        .query(&mut r)
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("big")
        .arg(1)
        .arg("a")
        .arg(2)
        .arg("b")
        .query(&mut r)
        .unwrap();
    let q = |r: &mut redis::Connection, args: &[&str]| -> redis::Value {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query(r).unwrap()
    };
    let s = |v: &str| redis::Value::BulkString(v.as_bytes().to_vec());
    assert_eq!(
        q(&mut r, &["TYPE", "z"]),
        redis::Value::SimpleString("zset".into())
    );
    assert_eq!(q(&mut r, &["OBJECT", "ENCODING", "z"]), s("listpack"));
    assert_eq!(q(&mut r, &["OBJECT", "ENCODING", "big"]), s("skiplist"));
    assert_eq!(q(&mut r, &["COPY", "big", "c"]), redis::Value::Int(1));
    assert_eq!(q(&mut r, &["OBJECT", "ENCODING", "c"]), s("skiplist"));
    assert_eq!(q(&mut r, &["RENAME", "c", "d"]), redis::Value::Okay);
    assert_eq!(q(&mut r, &["MOVE", "d", "1"]), redis::Value::Int(1));
    assert_eq!(
        q(&mut r, &["DEBUG", "DIGEST-VALUE", "z"]),
        q(&mut r, &["DEBUG", "DIGEST-VALUE", "big"])
    );
    // A store command's destination takes the encoding its size calls for.
    assert_eq!(
        q(&mut r, &["ZRANGESTORE", "one", "big", "0", "0"]),
        redis::Value::Int(1)
    );
    assert_eq!(q(&mut r, &["OBJECT", "ENCODING", "one"]), s("listpack"));
    let scan = q(&mut r, &["SCAN", "0", "TYPE", "zset", "COUNT", "100"]);
    let redis::Value::Array(parts) = scan else {
        panic!("{scan:?}")
    };
    let redis::Value::Array(keys) = &parts[1] else {
        panic!()
    };
    assert_eq!(keys.len(), 3);
    let redis::Value::Int(n) = q(&mut r, &["MEMORY", "USAGE", "big"]) else {
        panic!()
    };
    assert!(n > 0);
}
