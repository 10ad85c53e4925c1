//! Micro-benchmarks of a command's whole trip through the server, without the socket: a batch
//! of pipelined requests decoded from one buffer, each run through dispatch (gates, shard
//! lock, handler, statistics) with its reply encoded, as the connection loop does for one read.
//! GET, SET, INCR, LPUSH and SADD, and GET outside a batch (every call's statistics and clock
//! on their own, as for a request that arrives alone).
//!
//! `cargo bench --bench dispatch [-- filter]`

mod support;

use rusty_redis_server::command::testing::Harness;
use smallvec::SmallVec;
use rusty_redis_server::protocol::{Decoded, Decoder, Limits};

/// Requests per batch (as redis-benchmark -P 64 sends them).
const BATCH: usize = 64;
const KEYS: usize = 1000;

/// A buffer of `BATCH` requests made by `make(i)`.
fn batch(make: impl Fn(usize) -> Vec<Vec<u8>>) -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..BATCH {
        let args = make(i);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        support::multibulk(&refs, &mut buf);
    }
    buf
}

/// Decodes and runs every request of `buf`, as `conn::Session::process` does for one read
/// (in batch mode when `batched`); returns the number of requests.
fn run_batch(h: &mut Harness, dec: &mut Decoder, buf: &[u8], batched: bool) -> usize {
    let limits = Limits::default();
    let mut start = 0;
    let mut n = 0;
    h.client.batch_clock = batched;
    while start < buf.len() {
        let rest = &buf[start..];
        let mut argv: SmallVec<[&[u8]; 8]> = SmallVec::new();
        match dec.decode_into(rest, &limits, &mut argv) {
            Ok(Decoded::Request { consumed }) => {
                h.server.execute(&mut h.client, &mut h.out, &argv);
                start += consumed;
                n += 1;
            }
            other => panic!("bench input: {other:?}"),
        }
    }
    h.client.batch_clock = false;
    h.client.clock_us = 0;
    h.client.pending.flush(&h.server);
    h.out.buf.clear();
    n
}

fn main() {
    let bench = support::Bench::from_args();
    // As the server's cron does: commands of a batch then read the time-stamp counter.
    rusty_redis_server::util::calibrate_tsc();
    std::thread::sleep(std::time::Duration::from_millis(110));
    rusty_redis_server::util::calibrate_tsc();
    let scale = rusty_redis_server::util::tsc_scale();
    bench.note("clock", &format!("time-stamp counter: {scale:?} us/tick"));
    let key = |i: usize| format!("key:{:012}", i % KEYS).into_bytes();
    let mut h = Harness::new();
    let mut dec = Decoder::new();
    for i in 0..KEYS {
        h.run_bytes(&[b"SET", &key(i), b"xxx"]);
    }

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("GET", batch(|i| vec![b"GET".to_vec(), key(i * 7)])),
        ("SET", batch(|i| vec![b"SET".to_vec(), key(i * 7), b"xxx".to_vec()])),
        ("INCR", batch(|_| vec![b"INCR".to_vec(), b"counter".to_vec()])),
        ("LPUSH", batch(|_| vec![b"LPUSH".to_vec(), b"mylist".to_vec(), b"xxx".to_vec()])),
        ("SADD", batch(|i| vec![b"SADD".to_vec(), b"myset".to_vec(), key(i)])),
    ];
    for (name, buf) in &cases {
        let title = format!("{name} x{BATCH} pipelined, decode + dispatch + reply");
        bench.run(&title, BATCH as u64, || {
            run_batch(&mut h, &mut dec, buf, true);
        });
    }
    let (_, get) = &cases[0];
    bench.run(&format!("GET x{BATCH}, each on its own (no batch)"), BATCH as u64, || {
        run_batch(&mut h, &mut dec, get, false);
    });
}
