//! Hash commands seen from a client: exact bytes of replies and errors (RESP2 and RESP3), the
//! encodings OBJECT ENCODING reports around the thresholds, and HSCAN / HRANDFIELD over a big
//! hash through the `redis` crate.

use std::collections::{HashMap, HashSet};

use crate::support::{Conn, Server, check, cmd};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn replies_are_byte_exact() {
    let srv = Server::start();
    check(&srv, b"HSET h a 1 b 2\r\n", b":2\r\n", Conn::Open);
    check(&srv, b"HSET h b 3 c 4\r\n", b":1\r\n", Conn::Open);
    // A small hash keeps insertion order (a listpack), so the order is Redis's too.
    check(
        &srv,
        b"HGETALL h\r\nHKEYS h\r\nHVALS h\r\n",
        b"*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nc\r\n$1\r\n4\r\n\
          *3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HMGET h a x\r\n",
        b"*2\r\n$1\r\n1\r\n$-1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HGET h x\r\nHGET nokey x\r\n",
        b"$-1\r\n$-1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HMSET h d 5\r\nHLEN h\r\nHSTRLEN h d\r\n",
        b"+OK\r\n:4\r\n:1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HSETNX h d 6\r\nHSETNX h e 7\r\n",
        b":0\r\n:1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HEXISTS h e\r\nHEXISTS h z\r\n",
        b":1\r\n:0\r\n",
        Conn::Open,
    );
    check(&srv, b"HDEL h a z e\r\n", b":2\r\n", Conn::Open);
    check(
        &srv,
        b"HGETALL nokey\r\nHKEYS nokey\r\n",
        b"*0\r\n*0\r\n",
        Conn::Open,
    );
    check(&srv, b"HSCAN h 0\r\n", b"*2\r\n$1\r\n0\r\n*6\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nc\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n5\r\n", Conn::Open);
    check(
        &srv,
        b"HSCAN nokey 0\r\n",
        b"*2\r\n$1\r\n0\r\n*0\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"OBJECT ENCODING h\r\nTYPE h\r\n",
        b"$8\r\nlistpack\r\n+hash\r\n",
        Conn::Open,
    );
}

#[test]
fn errors_are_byte_exact() {
    let srv = Server::start();
    check(
        &srv,
        b"HSET h a 1 b\r\nHMSET h a\r\n",
        b"-ERR wrong number of arguments for 'hset' command\r\n\
          -ERR wrong number of arguments for 'hmset' command\r\n",
        Conn::Open,
    );
    check(&srv, b"SET s x\r\n", b"+OK\r\n", Conn::Open);
    for c in [
        "HSET s a 1",
        "HGET s a",
        "HMGET s a",
        "HGETALL s",
        "HDEL s a",
        "HLEN s",
        "HSTRLEN s a",
        "HINCRBY s a 1",
        "HINCRBYFLOAT s a 1",
        "HRANDFIELD s",
        "HRANDFIELD s 3",
        "HSCAN s 0",
        "HSETNX s a 1",
        "HEXISTS s a",
        "HKEYS s",
        "HVALS s",
    ] {
        let words: Vec<&str> = c.split(' ').collect();
        check(&srv, &cmd(&words), WRONGTYPE, Conn::Open);
    }
    check(&srv, b"HSET h n x f 1.5\r\n", b":2\r\n", Conn::Open);
    check(
        &srv,
        b"HINCRBY h n 1\r\n",
        b"-ERR hash value is not an integer\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBYFLOAT h n 1\r\n",
        b"-ERR hash value is not a float\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBY h f x\r\n",
        b"-ERR value is not an integer or out of range\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBYFLOAT h f x\r\n",
        b"-ERR value is not a valid float\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBYFLOAT h f nan\r\n",
        b"-ERR value is not a valid float\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBYFLOAT h f +inf\r\n",
        b"-ERR value is NaN or Infinity\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HSET h m 9223372036854775807\r\n",
        b":1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBY h m 1\r\n",
        b"-ERR increment or decrement would overflow\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HRANDFIELD h -9223372036854775808\r\n",
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HRANDFIELD h -9223372036854770000 WITHVALUES\r\n",
        b"-ERR value is out of range\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HRANDFIELD h 1 WITHVALUE\r\n",
        b"-ERR syntax error\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HRANDFIELD h x\r\n",
        b"-ERR value is not an integer or out of range\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HSCAN h x\r\n",
        b"-ERR invalid cursor\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HSCAN h 0 COUNT 0\r\n",
        b"-ERR syntax error\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HSCAN h 0 NOVALUES\r\n",
        b"-ERR syntax error\r\n",
        Conn::Open,
    );
}

#[test]
fn counters_format_as_redis() {
    let srv = Server::start();
    check(
        &srv,
        b"HINCRBY h i 5\r\nHINCRBY h i -7\r\n",
        b":5\r\n:-2\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBYFLOAT h f 1.23\r\nHINCRBYFLOAT h f 0.77\r\nHINCRBYFLOAT h f -0.1\r\n",
        b"$4\r\n1.23\r\n$1\r\n2\r\n$3\r\n1.9\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HINCRBYFLOAT h g 5.0e3\r\nHGET h g\r\n",
        b"$4\r\n5000\r\n$4\r\n5000\r\n",
        Conn::Open,
    );
}

#[test]
fn hrandfield_empty_array_and_null() {
    let srv = Server::start();
    check(
        &srv,
        b"HRANDFIELD nokey\r\nHRANDFIELD nokey 3\r\n",
        b"$-1\r\n*0\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HSET h a 1\r\nHRANDFIELD h 0\r\n",
        b":1\r\n*0\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HRANDFIELD h\r\nHRANDFIELD h -2\r\n",
        b"$1\r\na\r\n*2\r\n$1\r\na\r\n$1\r\na\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"HRANDFIELD h 5 WITHVALUES\r\n",
        b"*2\r\n$1\r\na\r\n$1\r\n1\r\n",
        Conn::Open,
    );
    // RESP3: each pair nested, HGETALL a map, a missing key an empty map.
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\n");
    c.read_reply_raw();
    c.send(b"HRANDFIELD h -2 WITHVALUES\r\nHGETALL h\r\nHGETALL nokey\r\nHRANDFIELD nokey\r\n");
    c.expect(
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n\
          %1\r\n$1\r\na\r\n$1\r\n1\r\n%0\r\n_\r\n",
    );
}

#[test]
fn encodings_follow_the_thresholds() {
    let srv = Server::start();
    let mut r = srv.client();
    let enc = |r: &mut redis::Connection, k: &str| -> String {
        redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query(r)
            .unwrap()
    };
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("hash-max-listpack-entries")
        .arg(4)
        .query(&mut r)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("hash-max-listpack-value")
        .arg(8)
        .query(&mut r)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg(&["a", "1", "b", "2", "c", "3", "d", "4"])
        .query(&mut r)
        .unwrap();
    assert_eq!(enc(&mut r, "h"), "listpack");
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg("e")
        .arg("5")
        .query(&mut r)
        .unwrap();
    assert_eq!(enc(&mut r, "h"), "hashtable");
    let _: i64 = redis::cmd("HDEL")
        .arg("h")
        .arg(&["a", "b", "c", "d"])
        .query(&mut r)
        .unwrap();
    assert_eq!(enc(&mut r, "h"), "hashtable", "no way back");
    let _: i64 = redis::cmd("HSET")
        .arg("v")
        .arg("f")
        .arg("12345678")
        .query(&mut r)
        .unwrap();
    assert_eq!(enc(&mut r, "v"), "listpack");
    let _: i64 = redis::cmd("HSET")
        .arg("v")
        .arg("f")
        .arg("123456789")
        .query(&mut r)
        .unwrap();
    assert_eq!(enc(&mut r, "v"), "hashtable");
    let _: String = redis::cmd("HINCRBYFLOAT")
        .arg("w")
        .arg("f")
        .arg("0.0000005")
        .query(&mut r)
        .unwrap();
    assert_eq!(
        enc(&mut r, "w"),
        "hashtable",
        "HINCRBYFLOAT converts on a long result"
    );
}

#[test]
fn big_hash_scan_and_random() {
    let srv = Server::with_args(&["--enable-debug-command", "yes"]);
    let mut r = srv.client();
    let mut pipe = redis::pipe();
    for chunk in 0..10 {
        let mut c = redis::cmd("HSET");
        c.arg("big");
        for i in chunk * 500..(chunk + 1) * 500 {
            c.arg(format!("field:{i}")).arg(format!("value:{i}"));
        }
        pipe.add_command(c).ignore();
    }
    let _: () = pipe.query(&mut r).unwrap();
    let len: usize = redis::cmd("HLEN").arg("big").query(&mut r).unwrap();
    assert_eq!(len, 5000);
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("big")
        .query(&mut r)
        .unwrap();
    assert_eq!(enc, "hashtable");

    // HSCAN returns every field, each with its value, across many calls.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut cursor = 0u64;
    let mut calls = 0;
    loop {
        let (next, items): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("big")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query(&mut r)
            .unwrap();
        for p in items.chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        calls += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 5000);
    assert!(calls > 10);
    assert!(seen.iter().all(|(f, v)| f[6..] == v[6..]));

    // MATCH filters fields.
    let mut matched = HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, items): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("big")
            .arg(cursor)
            .arg("MATCH")
            .arg("field:1??")
            .arg("COUNT")
            .arg(1000)
            .query(&mut r)
            .unwrap();
        for p in items.chunks(2) {
            matched.insert(p[0].clone());
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(matched.len(), 100);

    let some: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("big")
        .arg(300)
        .query(&mut r)
        .unwrap();
    assert_eq!(some.iter().collect::<HashSet<_>>().len(), 300);
    let pairs: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("big")
        .arg(-400)
        .arg("WITHVALUES")
        .query(&mut r)
        .unwrap();
    assert_eq!(pairs.len(), 800);
    assert!(pairs.chunks(2).all(|p| p[0][6..] == p[1][6..]));

    let d1: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg("big")
        .query(&mut r)
        .unwrap();
    let _: i64 = redis::cmd("COPY")
        .arg("big")
        .arg("copy")
        .query(&mut r)
        .unwrap();
    let d2: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg("copy")
        .query(&mut r)
        .unwrap();
    assert_eq!(d1, d2);
}
