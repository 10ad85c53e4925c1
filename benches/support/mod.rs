//! A small timing harness shared by the benches (`mod support;`), so `cargo bench`
//! needs no extra dependency: each case warms up, then runs timed rounds and reports the median
//! and best time per operation. It reports; it never asserts anything about speed.
//!
//! `cargo bench --bench decoder -- pipelined` runs only the cases whose name contains
//! `pipelined`.

#![allow(dead_code)] // each bench uses part of it

use std::time::{Duration, Instant};

/// Time spent warming a case up before measuring it.
const WARM_UP: Duration = Duration::from_millis(200);
/// Time spent measuring a case (at least `MIN_ROUNDS` rounds).
const MEASURE: Duration = Duration::from_secs(1);
const MIN_ROUNDS: usize = 5;

/// The cases selected on the command line, and the output format.
pub struct Bench {
    filters: Vec<String>,
}

impl Bench {
    /// Reads the name filters from the command line (cargo adds `--bench`, which is ignored).
    pub fn from_args() -> Bench {
        let filters = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
        println!("{:<44} {:>14} {:>14} {:>14}", "case", "median/op", "best/op", "ops/s");
        Bench { filters }
    }

    fn selected(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Times `round`, which performs `ops` operations per call.
    pub fn run(&self, name: &str, ops: u64, mut round: impl FnMut()) {
        self.run_with_setup(name, ops, || (), |()| round());
    }

    /// Times `round` on a fresh value from `setup` each time; only `round` is timed.
    pub fn run_with_setup<S>(
        &self,
        name: &str,
        ops: u64,
        mut setup: impl FnMut() -> S,
        mut round: impl FnMut(S),
    ) {
        if !self.selected(name) {
            return;
        }
        let start = Instant::now();
        while start.elapsed() < WARM_UP {
            let s = setup();
            round(s);
        }
        let mut per_op = Vec::new();
        let start = Instant::now();
        while per_op.len() < MIN_ROUNDS || start.elapsed() < MEASURE {
            let s = setup();
            let t = Instant::now();
            round(s);
            per_op.push(t.elapsed().as_secs_f64() * 1e9 / ops as f64);
        }
        per_op.sort_by(f64::total_cmp);
        let median = per_op[per_op.len() / 2];
        println!(
            "{:<44} {:>14} {:>14} {:>14.0}",
            name,
            fmt_ns(median),
            fmt_ns(per_op[0]),
            1e9 / median
        );
    }

    /// Prints a line of extra information under the cases (e.g. a worst-case latency).
    pub fn note(&self, name: &str, text: &str) {
        if self.selected(name) {
            println!("  {name}: {text}");
        }
    }

    /// True when the case would run (for cases that measure in their own way).
    pub fn wants(&self, name: &str) -> bool {
        self.selected(name)
    }
}

/// Formats nanoseconds with a unit that keeps three significant digits readable.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// Appends `args` to `out` as one RESP multibulk request, as a client sends it.
pub fn multibulk(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}
