//! Small helpers shared by every layer: Redis's strict number parsing and formatting, its glob
//! matcher, and clocks. Depends on nothing else in the crate.

pub mod glob;
pub mod long_double;

use std::sync::atomic::{AtomicU64, Ordering};

/// Parses a signed 64-bit integer exactly as Redis's `string2ll` does: an optional `-`, no
/// `+`, no spaces, no leading zeros (but `0` itself), no overflow; `-0` is refused.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a double as Redis's `string2d` / `getDoubleFromObject` do: the whole string must be a
/// number `strtod` accepts, with no leading space; `nan` is refused. `inf` is accepted.
pub fn parse_f64_strict(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5000 || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let v = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY }
        }
        t if t.starts_with("nan") || t.starts_with("inf") => return None,
        _ => {
            // strtod accepts hex floats too, but Rust's parser does not; those are rare enough
            // in practice that they are refused.
            if lower.contains('x') || lower.ends_with('.') && lower.len() == 1 {
                return None;
            }
            text.parse::<f64>().ok()?
        }
    };
    if v.is_nan() { None } else { Some(v) }
}

/// Formats a double as C's `printf("%.17g")`, which Redis 7.0 uses for double replies in RESP2.
pub fn fmt_g17(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is large enough for any %.17g output and snprintf NUL-terminates it.
    let n = unsafe {
        libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), c"%.17g".as_ptr(), v)
    };
    String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned()
}

/// Formats an integer into a stack buffer, without allocating.
#[inline]
pub fn fmt_i64(v: i64, buf: &mut itoa::Buffer) -> &[u8] {
    buf.format(v).as_bytes()
}

/// Reads the CPU's time-stamp counter (0 on other architectures, where [`tsc_scale`] stays
/// `None`). About 10 ns here against 25 for `clock_gettime`, which a command paid once (its
/// end) on every call.
#[inline]
pub fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

/// Microseconds per time-stamp counter tick, as `f64` bits; 0 until calibrated, and for good
/// when the counter does not run at a constant rate.
static TSC_US_PER_TICK: AtomicU64 = AtomicU64::new(0);
/// The calibration's last sample: (counter, monotonic ns); `usize::MAX` counter: unusable.
static TSC_SAMPLE: std::sync::Mutex<Option<(u64, u64)>> = std::sync::Mutex::new(None);

#[cfg(test)]
thread_local! {
    /// Tests only: when set, what [`tsc_scale`] returns on this thread (the real rate is one
    /// per process and only ever goes from unknown to known, so a test cannot otherwise see
    /// the calibration land where it wants).
    pub static TSC_SCALE_FOR_TEST: std::cell::Cell<Option<Option<f64>>> =
        const { std::cell::Cell::new(None) };
}

/// Returns the counter's microseconds per tick once [`calibrate_tsc`] has measured it.
#[inline]
pub fn tsc_scale() -> Option<f64> {
    #[cfg(test)]
    if let Some(forced) = TSC_SCALE_FOR_TEST.with(|c| c.get()) {
        return forced;
    }
    match TSC_US_PER_TICK.load(Ordering::Relaxed) {
        0 => None,
        bits => Some(f64::from_bits(bits)),
    }
}

/// Converts `ticks` of the counter to whole microseconds at `scale` ([`tsc_scale`]).
#[inline]
pub fn tsc_to_us(ticks: u64, scale: f64) -> i64 {
    // Through i64: a signed conversion is one instruction, an unsigned one a dozen (ticks of
    // a batch are far below 2^63).
    (ticks as i64 as f64 * scale) as i64
}

/// Measures the counter's rate against the monotonic clock over the time since the previous
/// call (at least 100 ms apart to count; the cron calls it every tick), when the CPU says its
/// counter is invariant (`constant_tsc` and `nonstop_tsc`). Until then, and on other machines,
/// commands read the clock instead.
pub fn calibrate_tsc() {
    let Ok(mut sample) = TSC_SAMPLE.lock() else { return };
    let (t, ns) = (tsc(), mono_ns());
    match *sample {
        None => {
            let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            let invariant = flags.contains(" constant_tsc") && flags.contains(" nonstop_tsc");
            *sample = Some(if invariant && t != 0 { (t, ns) } else { (u64::MAX, 0) });
        }
        Some((u64::MAX, _)) => {}
        Some((t0, ns0)) => {
            if ns.saturating_sub(ns0) < 100_000_000 {
                return;
            }
            if t > t0 {
                let scale = (ns - ns0) as f64 / 1000.0 / (t - t0) as f64;
                // Between 100 MHz and 100 GHz, or the sample is not to be trusted.
                if (1e-5..=1e-2).contains(&scale) {
                    TSC_US_PER_TICK.store(scale.to_bits(), Ordering::Relaxed);
                }
            }
            *sample = Some((t, ns));
        }
    }
}

/// fsyncs the directory `dir` ("" is the working directory), after a rename in it, so the
/// rename survives a crash. Best effort, as Redis's callers of `fsyncFileDir` treat it: a
/// failure is not reported.
pub fn sync_dir(dir: &std::path::Path) {
    let dir = if dir.as_os_str().is_empty() { std::path::Path::new(".") } else { dir };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn clock(id: libc::clockid_t) -> (i64, i64) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(id, &mut ts) };
    (ts.tv_sec, ts.tv_nsec)
}

/// Returns the wall clock in milliseconds since the Unix epoch. Called once per command, so it
/// reads the clock directly rather than through `SystemTime` arithmetic.
#[inline]
pub fn now_ms() -> i64 {
    let (s, ns) = clock(libc::CLOCK_REALTIME);
    s * 1000 + ns / 1_000_000
}

/// Returns a monotonic clock in nanoseconds, for measuring durations.
#[inline]
pub fn mono_ns() -> u64 {
    let (s, ns) = clock(libc::CLOCK_MONOTONIC);
    (s as u64) * 1_000_000_000 + ns as u64
}

/// Returns the wall clock in microseconds since the Unix epoch.
#[inline]
pub fn now_us() -> i64 {
    let (s, ns) = clock(libc::CLOCK_REALTIME);
    s * 1_000_000 + ns / 1000
}

/// Parses a memory amount with Redis's units (`memtoull`): none or `b` = 1, `k` = 1000,
/// `kb` = 1024, `m`, `mb`, `g`, `gb`; case-insensitive. Negative values are refused.
pub fn parse_memory(s: &[u8]) -> Option<u64> {
    let lower = std::str::from_utf8(s).ok()?.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit() && c != '-').unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if num.is_empty() || num.starts_with('-') {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Lower-cases ASCII into `buf` and returns the used part, or `None` if `s` is longer.
#[inline]
pub fn lower_into<'a>(s: &[u8], buf: &'a mut [u8]) -> Option<&'a [u8]> {
    if s.len() > buf.len() {
        return None;
    }
    for (d, c) in buf.iter_mut().zip(s) {
        *d = c.to_ascii_lowercase();
    }
    Some(&buf[..s.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-1"), Some(-1));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
        assert_eq!(parse_i64_strict(b"-0"), None);
        assert_eq!(parse_i64_strict(b"01"), None);
        assert_eq!(parse_i64_strict(b"+1"), None);
        assert_eq!(parse_i64_strict(b" 1"), None);
        assert_eq!(parse_i64_strict(b""), None);
        assert_eq!(parse_i64_strict(b"-"), None);
    }

    #[test]
    fn strict_doubles() {
        assert_eq!(parse_f64_strict(b"1.5"), Some(1.5));
        assert_eq!(parse_f64_strict(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64_strict(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64_strict(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64_strict(b"nan"), None);
        assert_eq!(parse_f64_strict(b" 1"), None);
        assert_eq!(parse_f64_strict(b"1 "), None);
        assert_eq!(parse_f64_strict(b"abc"), None);
    }

    #[test]
    fn g17() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
        assert_eq!(fmt_g17(1e20), "1e+20");
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"1mb"), Some(1 << 20));
        assert_eq!(parse_memory(b"1K"), Some(1000));
        assert_eq!(parse_memory(b"100"), Some(100));
        assert_eq!(parse_memory(b"abc"), None);
        assert_eq!(parse_memory(b"-1"), None);
    }
}
