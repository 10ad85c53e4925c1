//! Reply encoder. Handlers describe their reply in semantic terms (map, set, double, null,
//! verbatim, push...) and this writer encodes it for the client's protocol version: the one
//! place where RESP2 and RESP3 differ.
//!
//! Replies are written straight into the connection's output buffer, so a GET copies its value
//! once, from the keyspace into the buffer, while the shard is locked. Every reply of a batch
//! of pipelined requests goes out in one write.

use crate::util::fmt_g17;

/// "00" to "99", for [`Reply::line_long`].
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
    5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// The output buffer of one connection, with its protocol version.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    pub resp3: bool,
    /// The first word of each error replied since the last [`Reply::take_errors`], for the
    /// error statistics (`errorstat_ERR`, `total_error_replies`, `failed_calls`).
    errors: thin_vec::ThinVec<String>,
}

impl Reply {
    pub fn new() -> Self {
        Reply { buf: Vec::with_capacity(16 * 1024), resp3: false, errors: thin_vec::ThinVec::new() }
    }

    /// Writes `<prefix><n>\r\n`. Lengths and counts below 100 (most of them) are written as
    /// one fixed-size copy, without the general formatter.
    #[inline]
    fn line(&mut self, prefix: u8, n: i64) {
        if (0..10).contains(&n) {
            self.buf.extend_from_slice(&[prefix, b'0' + n as u8, b'\r', b'\n']);
        } else if (10..100).contains(&n) {
            let (t, u) = (n as u8 / 10, n as u8 % 10);
            self.buf.extend_from_slice(&[prefix, b'0' + t, b'0' + u, b'\r', b'\n']);
        } else {
            self.line_long(prefix, n);
        }
    }

    /// [`Reply::line`] for the other numbers.
    /// The whole line is formatted backwards in a stack buffer, two digits a step, and copied
    /// once: an LPUSH's growing length went through the general formatter and three buffer
    /// writes (about 90 instructions).
    #[inline(never)]
    fn line_long(&mut self, prefix: u8, n: i64) {
        // Prefix, sign, 19 digits, CRLF.
        let mut tmp = [0u8; 24];
        let mut i = tmp.len() - 2;
        tmp[i..].copy_from_slice(b"\r\n");
        let mut v = n.unsigned_abs();
        while v >= 100 {
            let d = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
        }
        if v >= 10 {
            let d = v as usize * 2;
            i -= 2;
            tmp[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
        } else {
            i -= 1;
            tmp[i] = b'0' + v as u8;
        }
        if n < 0 {
            i -= 1;
            tmp[i] = b'-';
        }
        i -= 1;
        tmp[i] = prefix;
        self.buf.extend_from_slice(&tmp[i..]);
    }

    /// `+OK`
    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply (`+text`); CR and LF in `text` become spaces so the client cannot desync.
    pub fn simple(&mut self, text: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend(text.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `msg` starts with its code (`ERR ...`, `WRONGTYPE ...`); CR and LF in it
    /// become spaces (CVE-2025-67733).
    pub fn error(&mut self, msg: &str) {
        let code = msg.split(' ').next().unwrap_or("ERR");
        self.errors.push(code.to_string());
        self.buf.push(b'-');
        self.buf.extend(msg.bytes().map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Returns the error codes replied since the last call, and forgets them.
    pub fn take_errors(&mut self) -> thin_vec::ThinVec<String> {
        std::mem::take(&mut self.errors)
    }

    /// Appends a reply built elsewhere (a blocked client's, built by the command that served
    /// it), with its error codes.
    pub fn append(&mut self, bytes: &[u8], errors: thin_vec::ThinVec<String>) {
        self.buf.extend_from_slice(bytes);
        self.errors.extend(errors);
    }

    /// True when an error was replied since the last [`Reply::take_errors`].
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        // One capacity check for the whole reply (header, data, CRLF).
        self.buf.reserve(data.len() + 24);
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.bulk(s.as_bytes());
    }

    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, len: usize) {
        self.line(b'*', len as i64);
    }

    /// A map of `len` pairs (a flat array of `2 * len` in RESP2).
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.line(b'%', len as i64);
        } else {
            self.line(b'*', 2 * len as i64);
        }
    }

    /// A set (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        self.line(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// An out-of-band push message (an array in RESP2).
    pub fn push(&mut self, len: usize) {
        self.line(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double: `,1.5` in RESP3, a bulk string formatted as `%.17g` in RESP2.
    pub fn double(&mut self, v: f64) {
        let s = fmt_g17(v);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3; a bulk string in RESP2).
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A big number (`(` in RESP3; a bulk string in RESP2).
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// Appends bytes that are already a complete encoded reply.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// An array of bulk strings.
    pub fn bulks<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for it in items {
            self.bulk(it);
        }
    }
}

/// A decoded reply, for tests: the in-process command tests read back what a handler wrote.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    NullArray,
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Push(Vec<Value>),
    Double(f64),
    Bool(bool),
    Verbatim(String),
    BigNumber(String),
}

impl Value {
    /// Parses one encoded reply from the front of `buf`; returns it and the bytes it used.
    pub fn parse(buf: &[u8]) -> Option<(Value, usize)> {
        let nl = buf.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&buf[1..nl]).ok()?;
        let mut used = nl + 2;
        let num = || line.parse::<i64>().ok();
        let many = |n: i64, used: &mut usize| -> Option<Vec<Value>> {
            let mut v = Vec::new();
            for _ in 0..n {
                let (x, u) = Value::parse(&buf[*used..])?;
                *used += u;
                v.push(x);
            }
            Some(v)
        };
        let v = match buf[0] {
            b'+' => Value::Simple(line.to_string()),
            b'-' => Value::Error(line.to_string()),
            b':' => Value::Int(num()?),
            b'_' => Value::Null,
            b',' => Value::Double(match line {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                l => l.parse().ok()?,
            }),
            b'#' => Value::Bool(line == "t"),
            b'(' => Value::BigNumber(line.to_string()),
            b'$' | b'=' => {
                let n = num()?;
                if n < 0 {
                    Value::Null
                } else {
                    let data = buf.get(used..used + n as usize)?.to_vec();
                    used += n as usize + 2;
                    if buf[0] == b'=' {
                        Value::Verbatim(String::from_utf8_lossy(&data[4..]).into_owned())
                    } else {
                        Value::Bulk(data)
                    }
                }
            }
            b'*' | b'~' | b'>' => {
                let n = num()?;
                if n < 0 {
                    Value::NullArray
                } else {
                    let items = many(n, &mut used)?;
                    match buf[0] {
                        b'*' => Value::Array(items),
                        b'~' => Value::Set(items),
                        _ => Value::Push(items),
                    }
                }
            }
            b'%' => {
                let n = num()?;
                let items = many(2 * n, &mut used)?;
                let mut pairs = Vec::new();
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Value::Map(pairs)
            }
            _ => return None,
        };
        Some((v, used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut r = Reply::new();
        r.map(1);
        r.bulk(b"a");
        r.double(1.5);
        r.null();
        assert_eq!(r.buf, b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n$-1\r\n");
        let mut r = Reply::new();
        r.resp3 = true;
        r.map(1);
        r.bulk(b"a");
        r.double(1.5);
        r.null();
        assert_eq!(r.buf, b"%1\r\n$1\r\na\r\n,1.5\r\n_\r\n");
    }

    #[test]
    fn numbers_at_the_fast_path_edges() {
        for n in [i64::MIN, -100, -10, -1, 0, 1, 9, 10, 42, 99, 100, 101, 65535, i64::MAX] {
            let mut r = Reply::new();
            r.int(n);
            assert_eq!(r.buf, format!(":{n}\r\n").into_bytes(), "{n}");
        }
        // Every digit count, on both sides of each power of ten, both signs.
        let mut p = 1i64;
        for _ in 0..19 {
            for n in [p - 1, p, p + 1, p * 7 + 3] {
                for n in [n, -n] {
                    let mut r = Reply::new();
                    r.int(n);
                    assert_eq!(r.buf, format!(":{n}\r\n").into_bytes(), "{n}");
                }
            }
            p = p.saturating_mul(10);
        }
        for len in [0usize, 1, 9, 10, 99, 100, 1000] {
            let mut r = Reply::new();
            let data = vec![b'x'; len];
            r.bulk(&data);
            let mut want = format!("${len}\r\n").into_bytes();
            want.extend_from_slice(&data);
            want.extend_from_slice(b"\r\n");
            assert_eq!(r.buf, want, "{len}");
        }
    }

    #[test]
    fn errors_are_sanitised_and_counted() {
        let mut r = Reply::new();
        r.error("ERR bad\r\nthing");
        assert_eq!(r.buf, b"-ERR bad  thing\r\n");
        assert_eq!(r.take_errors(), vec!["ERR".to_string()]);
        assert!(!r.has_errors());
    }

    #[test]
    fn parse_round_trip() {
        let mut r = Reply::new();
        r.resp3 = true;
        r.array(3);
        r.int(5);
        r.verbatim(b"hi");
        r.map(1);
        r.simple(b"k");
        r.boolean(true);
        let (v, used) = Value::parse(&r.buf).unwrap();
        assert_eq!(used, r.buf.len());
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Int(5),
                Value::Verbatim("hi".into()),
                Value::Map(vec![(Value::Simple("k".into()), Value::Bool(true))]),
            ])
        );
    }
}
