//! Lists from the outside: byte-exact replies of the list commands (errors, RESP2/RESP3 null
//! shapes), big lists spanning many nodes through the `redis` crate, node-limit and
//! compression settings under random operations checked against a model, and the generic
//! commands (TYPE, COPY, RENAME, MOVE, SCAN TYPE) on lists.

use std::collections::VecDeque;

use redis::Commands;

use crate::support::{Conn, Server, check, cmd};

#[test]
fn replies_byte_for_byte() {
    let srv = Server::start();
    check(
        &srv,
        b"RPUSH l a b c\r\nLRANGE l 0 -1\r\nLPOP l 0\r\nLPOP l 2\r\nRPOP l\r\nRPOP l\r\n",
        b":3\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n*0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n\
          $1\r\nc\r\n$-1\r\n",
        Conn::Open,
    );
    check(&srv, b"LPOP l 1\r\nLRANGE l 0 -1\r\n", b"*-1\r\n*0\r\n", Conn::Open);
    let mut c = srv.raw();
    c.call(&["HELLO", "3"]);
    c.send(b"LPOP l\r\nRPOP l 1\r\nLMPOP 1 l LEFT\r\nLINDEX l 0\r\n");
    c.expect(b"_\r\n_\r\n_\r\n_\r\n");
    check(
        &srv,
        b"SET s v\r\nLPUSH s a\r\nLSET l 0 x\r\nRPUSH l a\r\nLSET l 1 x\r\n",
        b"+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n\
          -ERR no such key\r\n:1\r\n-ERR index out of range\r\n",
        Conn::Open,
    );
    check(
        &srv,
        &cmd(&["LPOS", "l", "a", "RANK", "0"]),
        b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
          or use negative to start from the end of the list\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"LMPOP 0 l LEFT\r\nLMPOP 1 l LEFT COUNT 0\r\nLMPOP 1 l RIGHT COUNT 5\r\nEXISTS l\r\n",
        b"-ERR numkeys should be greater than 0\r\n-ERR count should be greater than 0\r\n\
          *2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n:0\r\n",
        Conn::Open,
    );
}

#[test]
fn a_big_list_across_many_nodes() {
    let srv = Server::start();
    let mut con = srv.client();
    let n = 50_000usize;
    let items: Vec<String> = (0..n).map(|i| format!("m{i:09}")).collect();
    for chunk in items.chunks(1000) {
        let _: usize = con.rpush("big", chunk).expect("RPUSH");
    }
    let len: usize = con.llen("big").expect("LLEN");
    assert_eq!(len, n);
    let mid: Vec<String> = con.lrange("big", 24_990, 25_009).expect("LRANGE");
    assert_eq!(mid, items[24_990..25_010]);
    let tail: Vec<String> = con.lrange("big", -3, -1).expect("LRANGE");
    assert_eq!(tail, items[n - 3..]);
    let at: String = con.lindex("big", -20_000).expect("LINDEX");
    assert_eq!(at, items[n - 20_000]);
    let () = con.lset("big", 30_000, "changed").expect("LSET");
    let at: String = con.lindex("big", 30_000).expect("LINDEX");
    assert_eq!(at, "changed");
    let () = con.ltrim("big", 1000, -1001).expect("LTRIM");
    let len: usize = con.llen("big").expect("LLEN");
    assert_eq!(len, n - 2000);
    let first: Option<String> = con.lpop("big", None).expect("LPOP");
    assert_eq!(first.as_deref(), Some(items[1000].as_str()));
    let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg("big").query(&mut con).unwrap();
    assert_eq!(enc, "quicklist");
}

/// Random list commands against a `VecDeque` model, with small nodes and compression.
#[test]
fn random_operations_with_small_nodes_and_compression() {
    let srv = Server::start();
    let mut con = srv.client();
    for (size, depth) in [("3", "1"), ("-1", "2"), ("1", "0")] {
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("list-max-listpack-size")
            .arg(size)
            .arg("list-compress-depth")
            .arg(depth)
            .query(&mut con)
            .expect("CONFIG SET");
        let _: i64 = con.del("r").expect("DEL");
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        for _ in 0..1500 {
            let len = if rand(8) == 0 { 300 + rand(3000) } else { rand(12) };
            let elem = vec![b'a' + rand(3) as u8; len];
            match rand(6) {
                0 => {
                    let _: usize = con.lpush("r", &elem).expect("LPUSH");
                    model.push_front(elem);
                }
                1 => {
                    let _: usize = con.rpush("r", &elem).expect("RPUSH");
                    model.push_back(elem);
                }
                2 => {
                    let got: Option<Vec<u8>> = con.rpop("r", None).expect("RPOP");
                    assert_eq!(got, model.pop_back());
                }
                3 if !model.is_empty() => {
                    let i = rand(model.len());
                    let () = con.lset("r", i as isize, &elem).expect("LSET");
                    model[i] = elem;
                }
                4 if !model.is_empty() => {
                    let pivot = model[rand(model.len())].clone();
                    let n: i64 = con.linsert_before("r", &pivot, &elem).expect("LINSERT");
                    let at = model.iter().position(|e| *e == pivot).expect("pivot in model");
                    model.insert(at, elem);
                    assert_eq!(n, model.len() as i64);
                }
                5 if !model.is_empty() => {
                    let victim = model[rand(model.len())].clone();
                    let n: usize = con.lrem("r", -1, &victim).expect("LREM");
                    assert_eq!(n, 1);
                    let at = model.iter().rposition(|e| *e == victim).expect("victim in model");
                    model.remove(at);
                }
                _ => {}
            }
        }
        let all: Vec<Vec<u8>> = con.lrange("r", 0, -1).expect("LRANGE");
        assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
    }
}

#[test]
fn generic_commands_on_lists() {
    let srv = Server::start();
    check(
        &srv,
        b"RPUSH l a b\r\nTYPE l\r\nCOPY l c\r\nRENAME c r\r\nMOVE r 1\r\nSCAN 0 TYPE list\r\n",
        b":2\r\n+list\r\n:1\r\n+OK\r\n:1\r\n*2\r\n$1\r\n0\r\n*1\r\n$1\r\nl\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"SELECT 1\r\nLRANGE r 0 -1\r\nOBJECT ENCODING r\r\nRPUSH r c\r\nSELECT 0\r\n\
          LRANGE l 0 -1\r\n",
        b"+OK\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n$9\r\nquicklist\r\n:3\r\n+OK\r\n\
          *2\r\n$1\r\na\r\n$1\r\nb\r\n",
        Conn::Open,
    );
}
