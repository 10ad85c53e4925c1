//! Request decoder: RESP multibulk and inline requests, parsed in place.
//!
//! The decoder is an incremental state machine. It is always handed the read buffer starting at
//! the first byte of the request being parsed; the positions it keeps across calls are relative
//! to that start, so the connection may append bytes between calls but only ever advances the
//! buffer past whole requests. A request that arrives one byte at a time is parsed once, not
//! re-scanned from the start on every read.
//!
//! Limits and error texts are Redis 7.0's (`processMultibulkBuffer` / `processInlineBuffer`).
//! This module knows nothing of commands or the keyspace.

use super::splitargs::split_args;
use crate::util::parse_i64_strict;

/// Longest inline request, or count line without CR, that is waited for (Redis's
/// `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Bulk length from which the connection reads the argument into an exactly sized buffer.
pub const MBULK_BIG_ARG: usize = 32 * 1024;
/// Largest multibulk count accepted before authentication.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest bulk length accepted before authentication.
const UNAUTH_MAX_BULK: i64 = 16384;

/// Limits the decoder enforces; taken from the live config for each call.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub proto_max_bulk_len: i64,
    pub auth_required: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { proto_max_bulk_len: 512 * 1024 * 1024, auth_required: false }
    }
}

/// A protocol error; its text follows `-ERR Protocol error: ` on the wire, and the connection
/// is closed once the reply is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// Returns the reply line, without the leading `-` and trailing CRLF.
    pub fn message(&self) -> String {
        let what = match self {
            ProtocolError::TooBigInline => "too big inline request".to_string(),
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request".to_string(),
            ProtocolError::TooBigMbulkCount => "too big mbulk count string".to_string(),
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length".to_string(),
            ProtocolError::UnauthenticatedMultibulkLength => {
                "unauthenticated multibulk length".to_string()
            }
            ProtocolError::TooBigBulkCount => "too big bulk count string".to_string(),
            ProtocolError::ExpectedDollar(c) => format!("expected '$', got '{}'", *c as char),
            ProtocolError::InvalidBulkLength => "invalid bulk length".to_string(),
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length".to_string(),
        };
        format!("ERR Protocol error: {what}")
    }

    /// Returns the short reason Redis puts in its `Protocol error (<reason>) from client` log
    /// line.
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in inline request",
            ProtocolError::TooBigMbulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid mbulk count",
            ProtocolError::UnauthenticatedMultibulkLength => "unauth mbulk count",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(_) => "expected $ but got something else",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauth bulk length",
        }
    }
}

/// What one call to [`Decoder::decode`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// More bytes are needed. `want` is a hint: the total buffer length that would complete the
    /// current big argument, so the reader can size its buffer exactly.
    Incomplete { want: Option<usize> },
    /// A whole request of `consumed` bytes; its arguments are in [`Decoder::args`]. The request
    /// may have no arguments (an empty line, `*0`), in which case nothing is to be run.
    Request { consumed: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Multibulk,
}

/// Argument ranges kept allocated between requests at most.
const RANGES_KEEP: usize = 1024;

/// The decoder of one connection. Reused for every request; allocates only when a request has
/// more arguments than any before it, or for inline requests.
#[derive(Debug)]
pub struct Decoder {
    kind: Kind,
    /// Parse position in the current request.
    pos: usize,
    /// Arguments still to read of the current multibulk request.
    remaining: i64,
    /// Length of the bulk being read, or -1 when its `$` line is still to come.
    bulk_len: i64,
    /// Argument ranges (start, end) relative to the request start, for multibulk requests.
    ranges: Vec<(usize, usize)>,
    /// Arguments of an inline request (escapes in quotes make them differ from the bytes).
    inline: Vec<Vec<u8>>,
    is_inline: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Finds `needle` in `buf` the way C's `strchr` does on Redis's query buffer: the search stops
/// at the first NUL byte. (Redis's desync defence depends on this: a NUL before any newline
/// makes the request wait for the 64 KiB limit.)
fn strchr(buf: &[u8], needle: u8) -> Option<usize> {
    // memchr2 finds the first needle or NUL with SIMD; only a needle counts.
    match memchr::memchr2(needle, 0, buf) {
        Some(i) if buf[i] == needle => Some(i),
        _ => None,
    }
}

/// Parses the decimal number of a count or length line that starts at `buf[start]` and ends at
/// a CR, in one pass: the common case of a short, well-formed number. Returns the value and
/// the CR's index, or `None` to let the general path (which finds every error) decide.
#[inline]
fn quick_number(buf: &[u8], start: usize) -> Option<(i64, usize)> {
    let first = *buf.get(start)?;
    if first == b'0' {
        return (buf.get(start + 1) == Some(&b'\r')).then_some((0, start + 1));
    }
    if !first.is_ascii_digit() {
        return None;
    }
    // One and two digits (argument counts, command names, most keys) without the loop.
    let d0 = (first - b'0') as i64;
    match buf.get(start + 1) {
        Some(b'\r') => return Some((d0, start + 1)),
        Some(&c) if c.is_ascii_digit() && buf.get(start + 2) == Some(&b'\r') => {
            return Some((d0 * 10 + (c - b'0') as i64, start + 2));
        }
        _ => {}
    }
    let mut v: i64 = 0;
    let end = buf.len().min(start + 18);
    let mut i = start;
    while i < end {
        let c = buf[i];
        if c.is_ascii_digit() {
            v = v * 10 + (c - b'0') as i64;
        } else if c == b'\r' {
            return Some((v, i));
        } else {
            return None;
        }
        i += 1;
    }
    None
}

impl Decoder {
    pub fn new() -> Self {
        Decoder {
            kind: Kind::Unknown,
            pos: 0,
            remaining: 0,
            bulk_len: -1,
            // Allocated by the first request: a connection that stays silent holds nothing.
            ranges: Vec::new(),
            inline: Vec::new(),
            is_inline: false,
        }
    }

    /// Frees the argument storage between requests (an idle connection releasing its
    /// buffers); the next request allocates it again. Does nothing inside a request.
    pub fn release_idle(&mut self) {
        if self.kind == Kind::Unknown {
            self.ranges = Vec::new();
            self.inline = Vec::new();
            self.is_inline = false;
        }
    }

    /// Parses the request that starts at `buf[0]`. On `Request`, the arguments are read with
    /// [`Decoder::arg`] / [`Decoder::argc`] against the same `buf`, until the next call.
    pub fn decode(&mut self, buf: &[u8], limits: &Limits) -> Result<Decoded, ProtocolError> {
        if self.kind == Kind::Unknown {
            if buf.is_empty() {
                return Ok(Decoded::Incomplete { want: None });
            }
            if buf[0] != b'*' {
                return self.decode_inline(buf);
            }
            self.shrink_ranges();
            self.ranges.clear();
            let ranges = &mut self.ranges;
            if let Some(consumed) = Self::decode_whole(buf, limits, |s, e| ranges.push((s, e))) {
                self.is_inline = false;
                return Ok(Decoded::Request { consumed });
            }
            self.start_state_machine();
        }
        let r = self.decode_multibulk(buf, limits);
        if !matches!(r, Ok(Decoded::Incomplete { .. })) {
            self.kind = Kind::Unknown;
        }
        r
    }

    /// The first step of every new multibulk request, on both paths (`decode` and
    /// `decode_into`): a request of very many arguments that came through the state machine
    /// grew the ranges; give that memory back rather than keep it for the connection's life
    /// (Redis frees its argv after every command; the lazyfree tests measure used_memory after
    /// a huge SADD). The one-pass path of `decode_into` never uses the ranges, so this is the
    /// only place they shrink for a connection that then sends only small requests.
    #[inline(always)]
    fn shrink_ranges(&mut self) {
        if self.ranges.capacity() > RANGES_KEEP {
            self.ranges = Vec::new();
        }
    }

    /// Hands a new multibulk request, which the one-pass parse could not take whole, to the
    /// state machine, which parses it from its first byte (now and on later reads).
    #[cold]
    fn start_state_machine(&mut self) {
        self.kind = Kind::Multibulk;
        self.pos = 0;
        self.remaining = 0;
        self.bulk_len = -1;
        // The one-pass parse may have pushed some ranges before it gave up.
        self.ranges.clear();
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Result<Decoded, ProtocolError> {
        let Some(nl) = strchr(buf, b'\n') else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Decoded::Incomplete { want: None });
        };
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let args = split_args(line).ok_or(ProtocolError::UnbalancedQuotes)?;
        self.inline = args;
        self.is_inline = true;
        self.ranges.clear();
        Ok(Decoded::Request { consumed: nl + 1 })
    }

    /// The common case in one pass over local state: a well-formed multibulk request of 1 to
    /// 1024 arguments, all of it in `buf`, with short numbers. Returns the request's length
    /// with its argument ranges filled in, or `None` to let the state machine (which knows
    /// every error and every partial form) parse it from the start.
    /// The arguments go to `push` (start, end).
    #[inline(always)]
    fn decode_whole(
        buf: &[u8],
        limits: &Limits,
        mut push: impl FnMut(usize, usize),
    ) -> Option<usize> {
        let (n, cr) = quick_number(buf, 1)?;
        if n <= 0 || n > RANGES_KEEP as i64 || (limits.auth_required && n > UNAUTH_MAX_MULTIBULK)
        {
            return None;
        }
        let mut pos = cr + 2;
        for _ in 0..n {
            if buf.get(pos) != Some(&b'$') {
                return None;
            }
            let (len, cr) = quick_number(buf, pos + 1)?;
            if len > limits.proto_max_bulk_len || (limits.auth_required && len > UNAUTH_MAX_BULK) {
                return None;
            }
            let start = cr + 2;
            let end = start + len as usize;
            // Like Redis, the two bytes after the payload are skipped unchecked.
            if end + 2 > buf.len() {
                return None;
            }
            push(start, end);
            pos = end + 2;
        }
        Some(pos)
    }

    fn decode_multibulk(&mut self, buf: &[u8], limits: &Limits) -> Result<Decoded, ProtocolError> {
        self.is_inline = false;
        if self.remaining == 0 {
            // The count line: `*<n>\r\n`.
            let (n, cr) = match quick_number(buf, 1) {
                Some(x) => x,
                None => {
                    let Some(cr) = strchr(buf, b'\r') else {
                        if buf.len() > INLINE_MAX_SIZE {
                            return Err(ProtocolError::TooBigMbulkCount);
                        }
                        return Ok(Decoded::Incomplete { want: None });
                    };
                    if cr + 2 > buf.len() {
                        return Ok(Decoded::Incomplete { want: None });
                    }
                    let n = parse_i64_strict(&buf[1..cr])
                        .ok_or(ProtocolError::InvalidMultibulkLength)?;
                    (n, cr)
                }
            };
            if cr + 2 > buf.len() {
                return Ok(Decoded::Incomplete { want: None });
            }
            if n > i32::MAX as i64 {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            self.pos = cr + 2;
            if n <= 0 {
                self.ranges.clear();
                return Ok(Decoded::Request { consumed: self.pos });
            }
            if limits.auth_required && n > UNAUTH_MAX_MULTIBULK {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            self.remaining = n;
            self.bulk_len = -1;
            // Reserve for the arguments, but not blindly for a huge claimed count.
            self.ranges.reserve((n as usize).min(1024));
        }
        while self.remaining > 0 {
            if self.bulk_len < 0 {
                let rest = &buf[self.pos..];
                let quick = match rest.first() {
                    Some(b'$') => quick_number(rest, 1),
                    _ => None,
                };
                let (n, cr) = match quick {
                    Some((n, cr)) if n <= limits.proto_max_bulk_len => (n, cr),
                    _ => {
                        let Some(cr) = strchr(rest, b'\r') else {
                            if rest.len() > INLINE_MAX_SIZE {
                                return Err(ProtocolError::TooBigBulkCount);
                            }
                            return Ok(Decoded::Incomplete { want: None });
                        };
                        if cr + 2 > rest.len() {
                            return Ok(Decoded::Incomplete { want: None });
                        }
                        if rest[0] != b'$' {
                            return Err(ProtocolError::ExpectedDollar(rest[0]));
                        }
                        match parse_i64_strict(&rest[1..cr]) {
                            Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => (n, cr),
                            _ => return Err(ProtocolError::InvalidBulkLength),
                        }
                    }
                };
                if cr + 2 > rest.len() {
                    return Ok(Decoded::Incomplete { want: None });
                }
                if limits.auth_required && n > UNAUTH_MAX_BULK {
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                self.pos += cr + 2;
                self.bulk_len = n;
            }
            let len = self.bulk_len as usize;
            if buf.len() - self.pos < len + 2 {
                let want = if len >= MBULK_BIG_ARG { Some(self.pos + len + 2) } else { None };
                return Ok(Decoded::Incomplete { want });
            }
            self.ranges.push((self.pos, self.pos + len));
            // Like Redis, the two bytes after the payload are skipped unchecked.
            self.pos += len + 2;
            self.bulk_len = -1;
            self.remaining -= 1;
        }
        Ok(Decoded::Request { consumed: self.pos })
    }

    /// [`Decoder::decode`] that also hands over the request's arguments, in `argv` (cleared
    /// first; empty for a request without arguments). The connection's path: a complete,
    /// well-formed multibulk request goes straight from the buffer into `argv`, without the
    /// decoder's own argument list, after which [`Decoder::argc`] and [`Decoder::arg`] do not
    /// describe it (they describe requests decoded by `decode`).
    #[inline]
    pub fn decode_into<'a>(
        &'a mut self,
        buf: &'a [u8],
        limits: &Limits,
        argv: &mut smallvec::SmallVec<[&'a [u8]; 8]>,
    ) -> Result<Decoded, ProtocolError> {
        argv.clear();
        if self.kind == Kind::Unknown && buf.first() == Some(&b'*') {
            self.shrink_ranges();
            let whole = Self::decode_whole(buf, limits, |s, e| argv.push(&buf[s..e]));
            if let Some(consumed) = whole {
                return Ok(Decoded::Request { consumed });
            }
            argv.clear();
            // Incomplete, or a form only the state machine knows: running the one-pass parse
            // again inside `decode` would give the same answer, so go straight to the state
            // machine.
            self.start_state_machine();
        }
        self.decode_rest_into(buf, limits, argv)
    }

    /// The rest of [`Decoder::decode_into`]: inline requests and the state machine. Kept out
    /// of line so the connection loop, which inlines `decode_into`, holds only the one-pass
    /// path (inlined, this cost the loop about 14 instructions a request).
    #[inline(never)]
    fn decode_rest_into<'a>(
        &'a mut self,
        buf: &'a [u8],
        limits: &Limits,
        argv: &mut smallvec::SmallVec<[&'a [u8]; 8]>,
    ) -> Result<Decoded, ProtocolError> {
        let r = self.decode(buf, limits)?;
        if matches!(r, Decoded::Request { .. }) {
            self.args_into(buf, argv);
        }
        Ok(r)
    }

    /// Returns the number of arguments of the request just decoded.
    pub fn argc(&self) -> usize {
        if self.is_inline { self.inline.len() } else { self.ranges.len() }
    }

    /// Returns argument `i` of the request just decoded; `buf` must be the buffer given to
    /// `decode`.
    pub fn arg<'a>(&'a self, buf: &'a [u8], i: usize) -> &'a [u8] {
        if self.is_inline {
            &self.inline[i]
        } else {
            let (s, e) = self.ranges[i];
            &buf[s..e]
        }
    }

    /// Fills `out` with every argument of the request just decoded.
    pub fn args_into<'a>(&'a self, buf: &'a [u8], out: &mut smallvec::SmallVec<[&'a [u8]; 8]>) {
        out.clear();
        if self.is_inline {
            out.extend(self.inline.iter().map(|a| a.as_slice()));
        } else {
            // A plain loop: SmallVec's generic `extend` cost about 80 instructions for a
            // two-argument request.
            for &(s, e) in &self.ranges {
                out.push(&buf[s..e]);
            }
        }
    }

    /// True when the request just decoded was inline (not multibulk).
    pub fn was_inline(&self) -> bool {
        self.is_inline
    }

    /// True while a multibulk request has been started but not finished.
    pub fn in_progress(&self) -> bool {
        self.kind != Kind::Unknown
    }

    /// While a big argument (at least [`MBULK_BIG_ARG`] bytes) is being received, returns
    /// where its payload starts, relative to the request start. Redis keeps such an argument
    /// at the front of its query buffer, so that is what its log lines show.
    pub fn big_arg_start(&self) -> Option<usize> {
        (self.kind == Kind::Multibulk && self.bulk_len >= MBULK_BIG_ARG as i64).then_some(self.pos)
    }

    /// Bytes of the arguments of an unfinished multibulk request read so far (CLIENT LIST's
    /// argv-mem).
    pub fn partial_args_len(&self) -> usize {
        if self.kind != Kind::Multibulk {
            return 0;
        }
        self.ranges.iter().map(|&(s, e)| e - s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut d = Decoder::new();
        let limits = Limits::default();
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            match d.decode(&input[start..], &limits)? {
                Decoded::Incomplete { .. } => return Ok(out),
                Decoded::Request { consumed } => {
                    let buf = &input[start..];
                    let args: Vec<Vec<u8>> =
                        (0..d.argc()).map(|i| d.arg(buf, i).to_vec()).collect();
                    if !args.is_empty() {
                        out.push(args);
                    }
                    start += consumed;
                }
            }
        }
    }

    /// Like [`all`] over `input` split into two reads at `cut`, through `decode_into` (the
    /// connection's path): the arguments come from `argv`, never from `argc`/`arg`.
    fn all_into(input: &[u8], cut: usize) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut d = Decoder::new();
        let limits = Limits::default();
        let mut out = Vec::new();
        let mut buf = input[..cut].to_vec();
        let mut fed = false;
        loop {
            let mut argv = smallvec::SmallVec::new();
            let r = d.decode_into(&buf, &limits, &mut argv)?;
            let args: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
            drop(argv);
            match r {
                Decoded::Incomplete { .. } => {
                    if fed {
                        return Ok(out);
                    }
                    buf.extend_from_slice(&input[cut..]);
                    fed = true;
                }
                Decoded::Request { consumed } => {
                    if !args.is_empty() {
                        out.push(args);
                    }
                    buf.drain(..consumed);
                }
            }
        }
    }

    #[test]
    fn decode_into_gives_the_arguments_decode_gives_at_every_split() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000012345\r\n");
        stream.extend_from_slice(b"*0\r\n\r\nPING \"a b\"\r\n*1\r\n$4\r\nPING\r\n");
        // More arguments than argv holds inline, and an empty one.
        stream.extend_from_slice(b"*10\r\n$4\r\nSADD\r\n$1\r\ns\r\n$0\r\n\r\n");
        for i in 0..7 {
            stream.extend_from_slice(format!("$2\r\nm{i}\r\n").as_bytes());
        }
        stream.extend_from_slice(b"*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$3\r\nxyz\r\n");
        let want = all(&stream).unwrap();
        assert_eq!(want.len(), 5, "{want:?}");
        for cut in 0..=stream.len() {
            assert_eq!(all_into(&stream, cut).unwrap(), want, "cut at {cut}");
        }
        // Errors are the same, whole or cut.
        let bad = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n+oops\r\n";
        for cut in 0..=bad.len() {
            assert_eq!(all_into(bad, cut), all(bad), "cut at {cut}");
        }
        assert!(all(bad).is_err());
    }

    #[test]
    fn decode_into_gives_back_the_ranges_of_a_huge_request() {
        // A request of many arguments, split across reads, goes through the state machine and
        // grows the ranges; the next requests take the one-pass path, which must still give
        // that memory back (the lazyfree suite measures used_memory after a 100k-member SADD).
        let limits = Limits::default();
        let mut d = Decoder::new();
        let n = 5000;
        let mut big = format!("*{}\r\n$4\r\nSADD\r\n$1\r\ns\r\n", n + 2).into_bytes();
        for i in 0..n {
            let m = i.to_string();
            big.extend_from_slice(format!("${}\r\n{m}\r\n", m.len()).as_bytes());
        }
        let cut = big.len() / 2;
        let mut argv = smallvec::SmallVec::new();
        let r = d.decode_into(&big[..cut], &limits, &mut argv).unwrap();
        assert!(matches!(r, Decoded::Incomplete { .. }));
        drop(argv);
        let mut argv = smallvec::SmallVec::new();
        let r = d.decode_into(&big, &limits, &mut argv).unwrap();
        assert_eq!(r, Decoded::Request { consumed: big.len() });
        assert_eq!(argv.len(), n + 2);
        drop(argv);
        assert!(d.ranges.capacity() >= n + 2);
        let ping = b"*1\r\n$4\r\nPING\r\n";
        let mut argv = smallvec::SmallVec::new();
        let r = d.decode_into(ping, &limits, &mut argv).unwrap();
        assert_eq!(r, Decoded::Request { consumed: ping.len() });
        assert_eq!(argv.as_slice(), &[&b"PING"[..]]);
        drop(argv);
        assert!(d.ranges.capacity() <= RANGES_KEEP, "{}", d.ranges.capacity());
    }

    #[test]
    fn release_idle_frees_between_requests_only() {
        let limits = Limits::default();
        let mut d = Decoder::new();
        assert_eq!(d.ranges.capacity(), 0, "a new decoder allocates nothing");
        // Inside a request (two of three arguments read): kept.
        let part = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n";
        assert!(matches!(d.decode(part, &limits).unwrap(), Decoded::Incomplete { .. }));
        d.release_idle();
        assert_eq!(d.partial_args_len(), 4);
        let whole = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert!(matches!(d.decode(whole, &limits).unwrap(), Decoded::Request { .. }));
        assert_eq!(d.arg(whole, 2), b"v");
        // Between requests: freed, and the next request decodes as before.
        d.release_idle();
        assert_eq!(d.ranges.capacity(), 0);
        let ping = b"*1\r\n$4\r\nPING\r\n";
        assert!(matches!(d.decode(ping, &limits).unwrap(), Decoded::Request { consumed: 14 }));
        assert_eq!((d.argc(), d.arg(ping, 0)), (1, &b"PING"[..]));
    }

    /// Feeds `chunks` one after another into one decoder, as successive reads, and returns
    /// the requests decoded.
    fn feed<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Vec<Vec<u8>>> {
        let mut d = Decoder::new();
        let limits = Limits::default();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match d.decode(&buf, &limits).unwrap() {
                    Decoded::Incomplete { .. } => break,
                    Decoded::Request { consumed } => {
                        let args: Vec<Vec<u8>> =
                            (0..d.argc()).map(|i| d.arg(&buf, i).to_vec()).collect();
                        if !args.is_empty() {
                            got.push(args);
                        }
                        buf.drain(..consumed);
                    }
                }
            }
        }
        got
    }

    /// Feeds `input` split at every offset, and byte by byte, and checks that the requests
    /// decoded are always the same.
    fn every_split(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let whole = all(input).unwrap();
        for cut in 0..=input.len() {
            assert_eq!(feed([&input[..cut], &input[cut..]]), whole, "split at {cut}");
        }
        assert_eq!(feed(input.chunks(1)), whole, "byte by byte");
        whole
    }

    fn v(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline_at_every_split() {
        let got = every_split(
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*1\r\n$4\r\nPING\r\nSET a \"b c\"\n",
        );
        assert_eq!(
            got,
            vec![v(&["GET", "k"]), v(&["PING"]), v(&["PING"]), v(&["SET", "a", "b c"])]
        );
    }

    #[test]
    fn empty_lines_and_counts_are_ignored() {
        let got = every_split(b"\r\n*0\r\n*-10\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(got, vec![v(&["PING"])]);
    }

    #[test]
    fn payload_terminator_is_skipped_unchecked() {
        let got = all(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(got, vec![v(&["PING"]), v(&["PING"])]);
    }

    #[test]
    fn quick_number_agrees_with_the_strict_parser() {
        for text in ["0", "1", "3", "10", "16", "99", "100", "123456789012345678", "1234567890123456789", "01",
            "-1", "1a", "", "+1", "9223372036854775807"] {
            let mut line = text.as_bytes().to_vec();
            line.push(b'\r');
            let strict = parse_i64_strict(text.as_bytes());
            if let Some((v, cr)) = quick_number(&line, 0) {
                assert_eq!(Some(v), strict, "{text}");
                assert_eq!(cr, text.len());
            }
        }
        assert_eq!(quick_number(b"16\r", 0), Some((16, 2)));
        assert_eq!(quick_number(b"16", 0), None);
        assert_eq!(quick_number(b"1\x002\r", 0), None);
    }

    #[test]
    fn protocol_errors() {
        assert_eq!(all(b"*3000000000\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(all(b"*abc\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(all(b"*1\r\nfoo\r\n"), Err(ProtocolError::ExpectedDollar(b'f')));
        assert_eq!(all(b"*1\r\n$-10\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(all(b"*1\r\n$2000000000\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(all(b"*1\r\n$blabla\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(all(b"set \"\"\"a\"\"\" b\r\n"), Err(ProtocolError::UnbalancedQuotes));
        let mut big = vec![b'A'; 70_000];
        assert_eq!(all(&big), Err(ProtocolError::TooBigInline));
        big[0] = b'*';
        assert_eq!(all(&big), Err(ProtocolError::TooBigMbulkCount));
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'1', 70_000));
        assert_eq!(all(&bulk), Err(ProtocolError::TooBigBulkCount));
        assert_eq!(
            ProtocolError::ExpectedDollar(b'f').message(),
            "ERR Protocol error: expected '$', got 'f'"
        );
    }

    #[test]
    fn nul_byte_waits_for_the_inline_limit() {
        let mut buf = b"\x00AAAA\n".to_vec();
        assert_eq!(all(&buf), Ok(vec![]));
        buf.extend(std::iter::repeat_n(b'A', 70_000));
        assert_eq!(all(&buf), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = Limits { auth_required: true, ..Limits::default() };
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(b"*11\r\n", &limits),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(b"*2\r\n$3\r\nGET\r\n$20000\r\n", &limits),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn big_argument_asks_for_its_exact_size() {
        let mut d = Decoder::new();
        let r = d.decode(b"*1\r\n$40000\r\nabc", &Limits::default()).unwrap();
        assert_eq!(r, Decoded::Incomplete { want: Some(13 + 40000 + 1) });
        assert_eq!(d.big_arg_start(), Some(12));
        let mut d = Decoder::new();
        let r = d.decode(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab", &Limits::default()).unwrap();
        assert_eq!(r, Decoded::Incomplete { want: None });
        assert_eq!(d.big_arg_start(), None);
        assert_eq!(d.partial_args_len(), 4);
    }

    #[test]
    fn proto_max_bulk_len_is_enforced() {
        let limits = Limits { proto_max_bulk_len: 10, auth_required: false };
        let mut d = Decoder::new();
        assert_eq!(d.decode(b"*1\r\n$11\r\n", &limits), Err(ProtocolError::InvalidBulkLength));
    }
}
