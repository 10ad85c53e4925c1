//! Sets over the wire: byte-exact replies and errors in RESP2 and RESP3, the encodings a client
//! sees through OBJECT ENCODING, and a big set walked with SSCAN while it grows.

use std::collections::HashSet;

use crate::support::{Conn, Server, check, cmd};

#[test]
fn replies_and_errors_are_byte_exact() {
    let srv = Server::start();
    check(
        &srv,
        b"SADD s 3 1 2 2\r\nSMEMBERS s\r\nSCARD s\r\nSISMEMBER s 2\r\nSMISMEMBER s 1 9\r\n",
        b":3\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n:3\r\n:1\r\n*2\r\n:1\r\n:0\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"SPOP nokey\r\nSPOP nokey 2\r\nSRANDMEMBER nokey\r\nSRANDMEMBER nokey 3\r\n",
        b"$-1\r\n*0\r\n$-1\r\n*0\r\n",
        Conn::Open,
    );
    check(&srv, b"SSCAN nokey 0\r\n", b"*2\r\n$1\r\n0\r\n*0\r\n", Conn::Open);
    check(
        &srv,
        b"SET str x\r\nSADD str a\r\n",
        b"+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        Conn::Open,
    );
    for (send, want) in [
        ("SINTERCARD 0 s", "-ERR numkeys should be greater than 0\r\n"),
        ("SINTERCARD 2 s", "-ERR Number of keys can't be greater than number of args\r\n"),
        ("SINTERCARD 1 s LIMIT -1", "-ERR LIMIT can't be negative\r\n"),
        ("SINTERCARD 1 s FOO", "-ERR syntax error\r\n"),
        ("SPOP s -1", "-ERR value is out of range, must be positive\r\n"),
        ("SPOP s 1 2", "-ERR syntax error\r\n"),
        ("SRANDMEMBER s x", "-ERR value is not an integer or out of range\r\n"),
        (
            "SRANDMEMBER s -9223372036854775808",
            "-ERR value is out of range, value must between -9223372036854775807 and \
             9223372036854775807\r\n",
        ),
        ("SSCAN s x", "-ERR invalid cursor\r\n"),
        (
            "SINTER str nokey",
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        ("SADD s", "-ERR wrong number of arguments for 'sadd' command\r\n"),
    ] {
        check(&srv, &cmd(&send.split(' ').collect::<Vec<_>>()), want.as_bytes(), Conn::Open);
    }
}

#[test]
fn resp3_replies_sets() {
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\n");
    let _ = c.read_reply();
    c.send(b"SADD i 2 1\r\nSMEMBERS i\r\nSUNION i nokey\r\nSPOP nokey 1\r\nSRANDMEMBER i 5\r\n");
    c.expect(b":2\r\n~2\r\n$1\r\n1\r\n$1\r\n2\r\n~2\r\n$1\r\n1\r\n$1\r\n2\r\n~0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    c.send(b"SPOP nokey\r\nSINTERCARD 1 i\r\n");
    c.expect(b"_\r\n:2\r\n");
}

#[test]
fn encodings_and_store_commands() {
    let srv = Server::start();
    let mut r = srv.client();
    let enc = |r: &mut redis::Connection, k: &str| -> String {
        redis::cmd("OBJECT").arg("ENCODING").arg(k).query(r).unwrap()
    };
    let _: i64 = redis::cmd("SADD").arg("a").arg(&[1, 2, 3, 4]).query(&mut r).unwrap();
    let _: i64 = redis::cmd("SADD").arg("b").arg(&["3", "4", "x"]).query(&mut r).unwrap();
    assert_eq!(enc(&mut r, "a"), "intset");
    assert_eq!(enc(&mut r, "b"), "hashtable");
    let n: i64 = redis::cmd("SINTERSTORE").arg("d").arg("a").arg("b").query(&mut r).unwrap();
    assert_eq!(n, 2);
    assert_eq!(enc(&mut r, "d"), "intset");
    let n: i64 = redis::cmd("SUNIONSTORE").arg("d").arg("a").arg("b").query(&mut r).unwrap();
    assert_eq!(n, 5);
    assert_eq!(enc(&mut r, "d"), "hashtable");
    let n: i64 = redis::cmd("SDIFFSTORE").arg("d").arg("nokey").arg("a").query(&mut r).unwrap();
    assert_eq!(n, 0);
    let e: i64 = redis::cmd("EXISTS").arg("d").query(&mut r).unwrap();
    assert_eq!(e, 0);
    let t: String = redis::cmd("TYPE").arg("a").query(&mut r).unwrap();
    assert_eq!(t, "set");
    let moved: i64 = redis::cmd("SMOVE").arg("b").arg("a").arg("x").query(&mut r).unwrap();
    assert_eq!(moved, 1);
    assert_eq!(enc(&mut r, "a"), "hashtable");
}

#[test]
fn big_set_scanned_while_growing_then_popped() {
    let srv = Server::start();
    let mut r = srv.client();
    let members: Vec<String> = (0..20_000).map(|i| format!("member:{i}")).collect();
    for chunk in members.chunks(1000) {
        let _: i64 = redis::cmd("SADD").arg("big").arg(chunk).query(&mut r).unwrap();
    }
    // SSCAN's guarantee: every member present for the whole walk is returned, while the set
    // keeps growing (and its table resizing) between calls.
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    let mut extra = 0;
    loop {
        let (next, batch): (u64, Vec<String>) =
            redis::cmd("SSCAN").arg("big").arg(cursor).arg("COUNT").arg(100).query(&mut r).unwrap();
        seen.extend(batch);
        let more: Vec<String> = (0..200).map(|j| format!("extra:{extra}:{j}")).collect();
        extra += 1;
        let _: i64 = redis::cmd("SADD").arg("big").arg(&more).query(&mut r).unwrap();
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(members.iter().all(|m| seen.contains(m)), "SSCAN missed a member");
    let total: usize = redis::cmd("SCARD").arg("big").query(&mut r).unwrap();
    assert_eq!(total, 20_000 + extra * 200);
    // Pop everything back out in counts: no member twice, none lost.
    let mut popped = HashSet::new();
    loop {
        let batch: Vec<String> = redis::cmd("SPOP").arg("big").arg(7777).query(&mut r).unwrap();
        if batch.is_empty() {
            break;
        }
        for m in batch {
            assert!(popped.insert(m), "popped twice");
        }
    }
    assert_eq!(popped.len(), total);
    let e: i64 = redis::cmd("EXISTS").arg("big").query(&mut r).unwrap();
    assert_eq!(e, 0);
}
