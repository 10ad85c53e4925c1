//! C `long double` values for the commands Redis computes in that type (INCRBYFLOAT,
//! HINCRBYFLOAT). Rust has no 80-bit extended float, and those replies depend on its precision
//! and on the C library's `strtold` and `printf("%.17Lf")`, so the arithmetic is done by the
//! small C helper in `csrc/long_double.c` (built by `build.rs`). Values are opaque here.

use std::ffi::c_char;

unsafe extern "C" {
    fn rrs_ld_parse(s: *const c_char, len: usize, out: *mut u8) -> i32;
    fn rrs_ld_from_i64(n: i64, out: *mut u8);
    fn rrs_ld_add(a: *const u8, b: *const u8, out: *mut u8) -> i32;
    fn rrs_ld_format_human(v: *const u8, buf: *mut c_char, cap: usize) -> usize;
    fn rrs_ld_timeout_ms(v: *const u8) -> i64;
}

/// Longest text a long double is parsed from or printed to (Redis's `MAX_LONG_DOUBLE_CHARS`).
pub const MAX_CHARS: usize = 5 * 1024;

/// A C `long double`, stored as its in-memory bytes.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct LongDouble([u8; 16]);

impl LongDouble {
    /// Parses a whole string as Redis's `string2ld` does: what `strtold` accepts, with no
    /// leading space, nothing after the number (an embedded NUL included), no NaN, and no
    /// overflow or underflow to zero. `inf` is accepted.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        let mut v = LongDouble([0; 16]);
        // SAFETY: `s` is valid for `s.len()` bytes, shorter than the helper's buffer; `out`
        // points to 16 writable bytes, at least `sizeof(long double)`.
        let ok = unsafe { rrs_ld_parse(s.as_ptr() as *const c_char, s.len(), v.0.as_mut_ptr()) };
        (ok == 1).then_some(v)
    }

    /// Returns `n` as a long double (exact: the 64-bit mantissa holds any i64).
    pub fn from_i64(n: i64) -> LongDouble {
        let mut v = LongDouble([0; 16]);
        // SAFETY: `out` points to 16 writable bytes.
        unsafe { rrs_ld_from_i64(n, v.0.as_mut_ptr()) };
        v
    }

    /// Returns `self + other`, or `None` when the sum is NaN or infinite.
    pub fn checked_add(&self, other: &LongDouble) -> Option<LongDouble> {
        let mut v = LongDouble([0; 16]);
        // SAFETY: all three point to 16-byte buffers holding (or receiving) a long double.
        let ok = unsafe { rrs_ld_add(self.0.as_ptr(), other.0.as_ptr(), v.0.as_mut_ptr()) };
        (ok == 1).then_some(v)
    }

    /// Formats the value as Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` with the
    /// fraction's trailing zeros dropped and `-0` written `0`. Returns the text in `buf`;
    /// empty when it does not fit (as Redis stores then).
    pub fn format_human<'a>(&self, buf: &'a mut [u8; MAX_CHARS]) -> &'a [u8] {
        // SAFETY: `buf` is writable for its whole length, which is passed as the capacity; the
        // helper writes at most that many bytes and returns how many are text.
        let n = unsafe {
            rrs_ld_format_human(self.0.as_ptr(), buf.as_mut_ptr() as *mut c_char, buf.len())
        };
        &buf[..n.min(buf.len())]
    }
}

impl LongDouble {
    /// Returns the value, taken as seconds, in whole milliseconds rounded up, converted as x86
    /// converts a `long double` to `long long`: out of range (or infinite) gives `i64::MIN`.
    /// The timeout arithmetic of Redis 7.0's blocking commands.
    pub fn seconds_to_ms(&self) -> i64 {
        // SAFETY: the buffer holds a long double written by this module.
        unsafe { rrs_ld_timeout_ms(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(v: LongDouble) -> String {
        let mut buf = [0u8; MAX_CHARS];
        String::from_utf8(v.format_human(&mut buf).to_vec()).unwrap()
    }

    fn add(a: &str, b: &str) -> Option<String> {
        let a = LongDouble::parse(a.as_bytes())?;
        let b = LongDouble::parse(b.as_bytes())?;
        a.checked_add(&b).map(human)
    }

    #[test]
    fn extended_precision_sums_print_like_redis() {
        // In f64, 10.5 + 0.1 prints as 10.59999999999999964; long double rounds to 10.6.
        assert_eq!(add("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(add("1", "-1.1").as_deref(), Some("-0.1"));
        assert_eq!(add("1.5", "1.5").as_deref(), Some("3"));
        assert_eq!(add("17179869184", "1.5").as_deref(), Some("17179869185.5"));
        assert_eq!(add("5.0e3", "2.0e2").as_deref(), Some("5200"));
    }

    #[test]
    fn negative_zero_prints_as_zero() {
        let a = LongDouble::parse(b"0.024390243902439025").unwrap();
        let b = LongDouble::parse(b"-0.024390243902439025").unwrap();
        assert_eq!(human(a.checked_add(&b).unwrap()), "0");
        assert_eq!(human(LongDouble::parse(b"-0.0").unwrap()), "0");
    }

    #[test]
    fn parse_rules() {
        assert!(LongDouble::parse(b"").is_none());
        assert!(LongDouble::parse(b" 1").is_none());
        assert!(LongDouble::parse(b"1 ").is_none());
        assert!(LongDouble::parse(b"1\x002").is_none());
        assert!(LongDouble::parse(b"nan").is_none());
        assert!(LongDouble::parse(b"abc").is_none());
        assert!(LongDouble::parse(b"1e99999").is_none());
        assert!(LongDouble::parse(b"1e-99999").is_none());
        assert!(LongDouble::parse(b"+inf").is_some());
        assert!(LongDouble::parse(b"0x10").is_some());
        assert!(LongDouble::parse(&[b'1'; MAX_CHARS]).is_none());
        assert_eq!(human(LongDouble::from_i64(i64::MIN)), "-9223372036854775808");
    }

    #[test]
    fn infinite_sums_are_refused() {
        assert_eq!(add("0", "inf"), None);
        assert_eq!(add("inf", "-inf"), None);
        assert_eq!(add("1e4932", "1e4932"), None);
    }

    #[test]
    fn timeouts_convert_like_redis() {
        let ms = |s: &str| LongDouble::parse(s.as_bytes()).unwrap().seconds_to_ms();
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0.0001"), 1);
        assert_eq!(ms("1.5"), 1500);
        assert_eq!(ms("-1"), -1000);
        assert_eq!(ms("inf"), i64::MIN);
        assert_eq!(ms("1e400"), i64::MIN);
        assert_eq!(ms("99999999999999999"), i64::MIN);
        assert_eq!(ms("0x10"), 16000);
    }

    #[test]
    fn huge_values_fit_the_buffer() {
        let s = human(LongDouble::parse(b"1e4931").unwrap());
        assert_eq!(s.len(), 4932);
        assert!(s.starts_with('1'));
    }
}
