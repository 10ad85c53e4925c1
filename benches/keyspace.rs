//! Micro-benchmarks of the keyspace: SET/GET/DEL through a shard lock as a command takes it,
//! SCAN steps over a populated database, and growth of an empty database through its
//! incremental rehashes (with the slowest single insert, which is what a client would feel).
//!
//! `cargo bench --bench keyspace [-- filter]`

mod support;

use std::hint::black_box;
use std::time::Instant;

use rusty_redis_server::store::Store;
use rusty_redis_server::store::value::Value;
use rusty_redis_server::util::now_ms;

const KEYS: usize = 100_000;

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("key:{i:012}").into_bytes()).collect()
}

/// Fills database 0 of `store` with `keys`, each holding a 10-byte value.
fn fill(store: &Store, keys: &[Vec<u8>]) {
    let now = now_ms();
    for k in keys {
        let mut ks = store.lock_keys(0, now, [k.as_slice()]);
        ks.set(k, Value::string(b"0123456789"), false);
    }
}

fn main() {
    let bench = support::Bench::from_args();
    let keys = keys(KEYS);

    bench.run_with_setup(
        "SET 100k new keys (one shard lock each)",
        KEYS as u64,
        || Store::new(16),
        |store| fill(&store, &keys),
    );

    let store = Store::new(16);
    fill(&store, &keys);
    bench.run("SET 100k existing keys", KEYS as u64, || fill(&store, &keys));

    bench.run("GET 100k keys", KEYS as u64, || {
        let now = now_ms();
        for k in &keys {
            let mut ks = store.lock_keys(0, now, [k.as_slice()]);
            black_box(ks.get(k).is_some());
        }
    });

    bench.run("GET 100k missing keys", KEYS as u64, || {
        let now = now_ms();
        for k in &keys {
            let miss = [k.as_slice(), b"-missing"].concat();
            let mut ks = store.lock_keys(0, now, [miss.as_slice()]);
            black_box(ks.get(&miss).is_none());
        }
    });

    bench.run_with_setup(
        "DEL 100k keys",
        KEYS as u64,
        || {
            let s = Store::new(16);
            fill(&s, &keys);
            s
        },
        |store| {
            let now = now_ms();
            for k in &keys {
                let mut ks = store.lock_keys(0, now, [k.as_slice()]);
                black_box(ks.delete(k));
            }
        },
    );

    // A whole SCAN of 100k keys, one call per step, the way SCAN with COUNT walks buckets.
    bench.run("SCAN 100k keys (per key)", KEYS as u64, || {
        let now = now_ms();
        let mut ks = store.lock_all(0, now);
        let (mut cursor, mut seen) = (0u64, 0usize);
        loop {
            cursor = ks.scan_step(0, cursor, |e| {
                black_box(e);
                seen += 1;
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, KEYS);
    });

    // Growth from empty to 1M keys: every doubling is a rehash spread over later operations.
    // The tail of single-insert latencies shows whether a resize ever stalls the caller (on a
    // shared machine the very worst sample is often just the thread being preempted, so the
    // high percentiles say more than the maximum).
    const GROW: usize = 1_000_000;
    if bench.wants("grow") {
        let big = self::keys(GROW);
        let mut lat: Vec<u32> = Vec::with_capacity(GROW);
        bench.run_with_setup(
            "grow an empty database to 1M keys",
            GROW as u64,
            || Store::new(16),
            |store| {
                lat.clear();
                let now = now_ms();
                for k in &big {
                    let t = Instant::now();
                    let mut ks = store.lock_keys(0, now, [k.as_slice()]);
                    ks.set(k, Value::string(b"v"), false);
                    drop(ks);
                    lat.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                }
            },
        );
        lat.sort_unstable();
        let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64;
        bench.note(
            "grow",
            &format!(
                "single insert latency, last round: p50 {}, p99.9 {}, p99.99 {}, max {}",
                support::fmt_ns(pct(0.5)),
                support::fmt_ns(pct(0.999)),
                support::fmt_ns(pct(0.9999)),
                support::fmt_ns(pct(1.0))
            ),
        );
    }
}
