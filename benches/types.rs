//! Micro-benchmarks of the aggregate types' hot operations, on the pure structures (no lock, no
//! protocol): list push/pop at both ends and range walks, hash field set/get, set add and
//! membership, sorted-set insert and rank, each in its compact and its large encoding.
//!
//! `cargo bench --bench types [-- filter]`

mod support;

use std::hint::black_box;

use rusty_redis_server::store::types::hash::{self, Hash};
use rusty_redis_server::store::types::list::List;
use rusty_redis_server::store::types::set::Set;
use rusty_redis_server::store::types::zset::{self, ZSet};

const N: usize = 100_000;

fn members(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("m{i:09}").into_bytes()).collect()
}

fn main() {
    let bench = support::Bench::from_args();
    let m = members(N);

    bench.run("LIST push 100k at the tail, pop 100k at the head", 2 * N as u64, || {
        let mut l = List::new();
        for e in &m {
            l.push(e, false);
        }
        while let Some(e) = l.pop(true) {
            black_box(e);
        }
    });
    bench.run("LIST push 100k at the head, pop 100k at the tail", 2 * N as u64, || {
        let mut l = List::new();
        for e in &m {
            l.push(e, true);
        }
        while let Some(e) = l.pop(false) {
            black_box(e);
        }
    });
    let mut l = List::new();
    for e in &m {
        l.push(e, false);
    }
    bench.run("LIST walk 600 elements (LRANGE 0 599) x1000", 600_000, || {
        for _ in 0..1000 {
            let mut n = 0;
            l.walk(0, false, |e| {
                black_box(e);
                n += 1;
                n < 600
            });
        }
    });

    let big = hash::Limits { max_entries: 512, max_value: 64 };
    bench.run("HASH set 100k fields (hashtable)", N as u64, || {
        let mut h = Hash::new();
        for e in &m {
            h.set(e, e, big);
        }
        black_box(h.len());
    });
    let mut h = Hash::new();
    for e in &m {
        h.set(e, e, big);
    }
    bench.run("HASH get 100k fields (hashtable)", N as u64, || {
        for e in &m {
            black_box(h.get(e));
        }
    });
    bench.run("HASH set 100 fields x1000 (listpack)", 100_000, || {
        for _ in 0..1000 {
            let mut h = Hash::new();
            for e in &m[..100] {
                h.set(e, e, big);
            }
            black_box(h.len());
        }
    });

    bench.run("SET add 100k members (hashtable)", N as u64, || {
        let mut s = Set::new();
        for e in &m {
            s.add(e, 512);
        }
        black_box(s.len());
    });
    let ints: Vec<Vec<u8>> = (0..500).map(|i| (i * 7).to_string().into_bytes()).collect();
    bench.run("SET add 500 integers x200 (intset)", 100_000, || {
        for _ in 0..200 {
            let mut s = Set::new();
            for e in &ints {
                s.add(e, 512);
            }
            black_box(s.len());
        }
    });
    let mut s = Set::new();
    for e in &m {
        s.add(e, 512);
    }
    bench.run("SET contains 100k members (hashtable)", N as u64, || {
        for e in &m {
            black_box(s.contains(e));
        }
    });

    let zl = zset::Limits { entries: 128, value: 64 };
    bench.run("ZSET insert 100k members (skiplist)", N as u64, || {
        let mut z = ZSet::new();
        for (i, e) in m.iter().enumerate() {
            z.insert(e, (i * 7919 % N) as f64, zl);
        }
        black_box(z.len());
    });
    let mut z = ZSet::new();
    for (i, e) in m.iter().enumerate() {
        z.insert(e, (i * 7919 % N) as f64, zl);
    }
    bench.run("ZSET rank 100k members (skiplist)", N as u64, || {
        for e in &m {
            black_box(z.rank(e));
        }
    });
    // ZADD's steady state on a big set (vs-redis's zadd): a present member gets a random new
    // score, found by member and moved in the order.
    let mut x: u64 = 12345;
    let picks: Vec<(usize, f64)> = (0..N)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as usize % N, ((x >> 13) % N as u64) as f64)
        })
        .collect();
    bench.run("ZSET rescore 100k present members (skiplist, ZADD update)", N as u64, || {
        for &(i, sc) in &picks {
            z.add_with(&m[i], zl, |_| Some(sc));
        }
        black_box(z.len());
    });
    bench.run("ZSET insert 100 members x1000 (listpack)", 100_000, || {
        for _ in 0..1000 {
            let mut z = ZSet::new();
            for (i, e) in m[..100].iter().enumerate() {
                z.insert(e, (i * 31 % 100) as f64, zl);
            }
            black_box(z.len());
        }
    });
}
