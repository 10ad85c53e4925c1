//! Micro-benchmarks of the request decoder: a pipeline of multibulk SET/GET requests (whole or
//! in 4 KiB reads, through `decode` and the connection's `decode_into`), inline PINGs, and one
//! big bulk whole or arriving in 16 KiB reads.
//!
//! `cargo bench --bench decoder [-- filter]`

mod support;

use std::hint::black_box;

use rusty_redis_server::protocol::{Decoded, Decoder, Limits};

/// Decodes every request in `buf` and touches each argument, as dispatch would; returns the
/// number of requests.
fn decode_all(dec: &mut Decoder, buf: &[u8], limits: &Limits) -> usize {
    let mut start = 0;
    let mut n = 0;
    while start < buf.len() {
        match dec.decode(&buf[start..], limits) {
            Ok(Decoded::Request { consumed }) => {
                let rest = &buf[start..];
                for i in 0..dec.argc() {
                    black_box(dec.arg(rest, i));
                }
                start += consumed;
                n += 1;
            }
            Ok(Decoded::Incomplete { .. }) => panic!("bench input ends inside a request"),
            Err(e) => panic!("bench input rejected: {e:?}"),
        }
    }
    n
}

/// Feeds `input` to `decode` as reads of `read` bytes arrive, as the connection does: after
/// each read, every whole request from the first byte not yet consumed. Returns the number of
/// requests.
fn decode_in_reads(input: &[u8], read: usize, mut decode: impl FnMut(&[u8]) -> Decoded) -> usize {
    let (mut start, mut end, mut n) = (0, 0, 0);
    while start < input.len() {
        end = (end + read).min(input.len());
        while start < end {
            match decode(black_box(&input[start..end])) {
                Decoded::Request { consumed } => {
                    start += consumed;
                    n += 1;
                }
                Decoded::Incomplete { .. } => break,
            }
        }
    }
    n
}

fn main() {
    let bench = support::Bench::from_args();
    let limits = Limits::default();

    // 1000 requests alternating SET key:i <16-byte value> and GET key:i, as redis-benchmark -P
    // sends them.
    const PIPELINE: usize = 1000;
    let mut pipeline = Vec::new();
    for i in 0..PIPELINE / 2 {
        let key = format!("key:{i:012}");
        support::multibulk(&[b"SET", key.as_bytes(), b"value-0123456789"], &mut pipeline);
        support::multibulk(&[b"GET", key.as_bytes()], &mut pipeline);
    }
    let mut dec = Decoder::new();
    bench.run("decode pipelined SET/GET multibulk", PIPELINE as u64, || {
        assert_eq!(decode_all(&mut dec, black_box(&pipeline), &limits), PIPELINE);
    });

    // The connection's path: arguments straight into argv (Decoder::decode_into).
    bench.run("decode_into pipelined SET/GET multibulk", PIPELINE as u64, || {
        let buf = black_box(&pipeline[..]);
        let (mut start, mut n) = (0, 0);
        while start < buf.len() {
            let mut argv = smallvec::SmallVec::new();
            match dec.decode_into(&buf[start..], &limits, &mut argv) {
                Ok(Decoded::Request { consumed }) => {
                    black_box(&argv[..]);
                    start += consumed;
                    n += 1;
                }
                other => panic!("bench input: {other:?}"),
            }
        }
        assert_eq!(n, PIPELINE);
    });

    let inline = b"PING\r\n".repeat(PIPELINE);
    bench.run("decode pipelined inline PING", PIPELINE as u64, || {
        assert_eq!(decode_all(&mut dec, black_box(&inline), &limits), PIPELINE);
    });

    let mut mbulk_ping = Vec::new();
    for _ in 0..PIPELINE {
        support::multibulk(&[b"PING"], &mut mbulk_ping);
    }
    bench.run("decode pipelined multibulk PING", PIPELINE as u64, || {
        assert_eq!(decode_all(&mut dec, black_box(&mbulk_ping), &limits), PIPELINE);
    });

    // One SET with a 1 MiB value, already whole in the buffer.
    let value = vec![b'x'; 1 << 20];
    let mut big = Vec::new();
    support::multibulk(&[b"SET", b"big", &value], &mut big);
    bench.run("decode 1 MiB bulk, whole", 1, || {
        assert_eq!(decode_all(&mut dec, black_box(&big), &limits), 1);
    });

    // The same request arriving in 16 KiB reads: the decoder is called after each read on the
    // growing buffer and must not rescan what it already parsed.
    bench.run("decode 1 MiB bulk, in 16 KiB reads", 1, || {
        let mut end = 0;
        loop {
            end = (end + 16 * 1024).min(big.len());
            match dec.decode(black_box(&big[..end]), &limits) {
                Ok(Decoded::Request { consumed }) => {
                    assert_eq!(consumed, big.len());
                    break;
                }
                Ok(Decoded::Incomplete { .. }) => assert!(end < big.len()),
                Err(e) => panic!("bench input rejected: {e:?}"),
            }
        }
    });

    // A pipeline of small requests arriving one 4 KiB read at a time, so most reads end inside
    // a request.
    bench.run("decode SET/GET pipeline in 4 KiB reads", PIPELINE as u64, || {
        let n = decode_in_reads(&pipeline, 4096, |b| {
            dec.decode(b, &limits).expect("bench input rejected")
        });
        assert_eq!(n, PIPELINE);
    });

    // The same through the connection's path: a request cut by a read goes from the one-pass
    // parse to the state machine (once, not parsed twice), and is finished by the next call.
    bench.run("decode_into SET/GET pipeline in 4 KiB reads", PIPELINE as u64, || {
        let n = decode_in_reads(&pipeline, 4096, |b| {
            let mut argv = smallvec::SmallVec::new();
            let r = dec.decode_into(b, &limits, &mut argv).expect("bench input rejected");
            black_box(&argv[..]);
            r
        });
        assert_eq!(n, PIPELINE);
    });
}
