//! Transactions over the wire: byte-exact MULTI/EXEC/DISCARD/WATCH replies, and concurrent
//! transfers between keys on different shards (plain MULTI/EXEC and WATCH-based
//! check-and-set) while readers check, each with one MULTI/GET.../EXEC, that the total never
//! changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crate::support::{Conn, Server, check};

#[test]
fn replies_are_byte_exact() {
    let srv = Server::start();
    check(
        &srv,
        b"EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nWATCH x\r\n\
          SET a 1\r\nINCR a\r\nLPUSH a x\r\nEXEC\r\n",
        b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n\
          -ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n\
          +QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n\
          -WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"MULTI\r\nSET b 1\r\nNOSUCH\r\nGET\r\nEXEC\r\nEXISTS b\r\n",
        b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n\
          -ERR wrong number of arguments for 'get' command\r\n\
          -EXECABORT Transaction discarded because of previous errors.\r\n:0\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"SET w 1\r\nWATCH w\r\nSET w 2\r\nMULTI\r\nGET w\r\nEXEC\r\n",
        b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n",
        Conn::Open,
    );
    check(
        &srv,
        b"MULTI\r\nBLPOP nolist 0\r\nBRPOPLPUSH nolist d 0\r\nEXEC\r\n",
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n$-1\r\n",
        Conn::Open,
    );
}

const ACCOUNTS: usize = 16;
const START: i64 = 1000;

fn key(i: usize) -> String {
    format!("acct:{i}")
}

/// Returns the balances of every account, read in one transaction.
fn snapshot(con: &mut redis::Connection) -> Vec<i64> {
    let mut p = redis::pipe();
    p.atomic();
    for i in 0..ACCOUNTS {
        p.get(key(i));
    }
    p.query(con).expect("snapshot")
}

#[test]
fn concurrent_transfers_keep_the_total() {
    let srv = Server::start();
    let mut con = srv.client();
    for i in 0..ACCOUNTS {
        let _: () = redis::cmd("SET").arg(key(i)).arg(START).query(&mut con).unwrap();
    }
    let total = START * ACCOUNTS as i64;
    let done = Arc::new(AtomicBool::new(false));
    let srv = Arc::new(srv);

    let mut writers = Vec::new();
    for w in 0..6usize {
        let srv = srv.clone();
        writers.push(thread::spawn(move || {
            let mut con = srv.client();
            let mut committed = 0;
            for n in 0..300usize {
                let a = (w * 7 + n * 3) % ACCOUNTS;
                let b = (a + 1 + n % (ACCOUNTS - 1)) % ACCOUNTS;
                let amount = (n % 13) as i64 + 1;
                if w % 2 == 0 {
                    // Plain transaction: both moves or neither, seen by nobody in between.
                    let _: () = redis::pipe()
                        .atomic()
                        .cmd("DECRBY")
                        .arg(key(a))
                        .arg(amount)
                        .ignore()
                        .cmd("INCRBY")
                        .arg(key(b))
                        .arg(amount)
                        .ignore()
                        .query(&mut con)
                        .unwrap();
                    committed += 1;
                } else {
                    // Check-and-set: read, compute, write back only if nobody changed them.
                    let _: () =
                        redis::cmd("WATCH").arg(key(a)).arg(key(b)).query(&mut con).unwrap();
                    let (va, vb): (i64, i64) =
                        redis::cmd("MGET").arg(key(a)).arg(key(b)).query(&mut con).unwrap();
                    let res: redis::Value = redis::pipe()
                        .atomic()
                        .set(key(a), va - amount)
                        .ignore()
                        .set(key(b), vb + amount)
                        .ignore()
                        .query(&mut con)
                        .unwrap();
                    if res != redis::Value::Nil {
                        committed += 1;
                    }
                }
            }
            committed
        }));
    }

    let mut readers = Vec::new();
    for _ in 0..2 {
        let (srv, done) = (srv.clone(), done.clone());
        readers.push(thread::spawn(move || {
            let mut con = srv.client();
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) || reads == 0 {
                let balances = snapshot(&mut con);
                assert_eq!(balances.iter().sum::<i64>(), total, "torn read: {balances:?}");
                reads += 1;
            }
            reads
        }));
    }

    let committed: usize = writers.into_iter().map(|h| h.join().unwrap()).sum();
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    // Every plain transaction commits; at least some check-and-set ones do.
    assert!(committed > 3 * 300, "committed {committed}");
    let mut con = srv.client();
    assert_eq!(snapshot(&mut con).iter().sum::<i64>(), total);
}
