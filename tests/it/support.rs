//! Test support: start the built server on a free port, talk to it through raw sockets (for
//! byte-exact checks) or the `redis` crate, and parse RESP replies.
//!
//! The binary under test is `CARGO_BIN_EXE_rusty-redis-server`, or the one named by the
//! `RRS_SERVER_BIN` environment variable: `RRS_SERVER_BIN=/usr/bin/redis-server cargo test
//! --release --test it` runs every expectation against the real Redis 7.0.15, which is how the
//! expectations in this suite were checked (`scripts/check-tests-against-redis`).

#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a read waits for a reply before the test calls the server hung.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server gets to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(20);

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// Returns the server binary the tests run.
pub fn server_bin() -> PathBuf {
    match std::env::var_os("RRS_SERVER_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rusty-redis-server")),
    }
}

/// True when the binary under test is the reference redis-server (see the module doc).
pub fn testing_reference() -> bool {
    std::env::var_os("RRS_SERVER_BIN").is_some_and(|p| !p.is_empty())
}

/// Renders bytes the way a failed assertion should show them: printable ASCII as is, the rest
/// escaped, so `\r\n` and NULs are visible.
pub fn show(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes.iter().take(600) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > 600 {
        let _ = write!(s, "...({} bytes)", bytes.len());
    }
    s.push('"');
    s
}

/// Encodes a request as a RESP multibulk.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Encodes a request given as text words as a RESP multibulk.
pub fn cmd(words: &[&str]) -> Vec<u8> {
    let v: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    resp(&v)
}

/// A server process on its own port and working directory; killed and cleaned up on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
    password: Option<String>,
    /// The command line it was started with (for [`Server::crash_and_restart`]).
    args: Vec<String>,
}

impl Server {
    /// Starts the server with the harness's arguments only.
    pub fn start() -> Server {
        Server::with_args(&[])
    }

    /// Starts the server with `--save "" --bind 127.0.0.1 --port N` followed by `extra`, and
    /// returns once it answers PING. A port that turns out to be taken (the server exits) is
    /// retried with another.
    pub fn with_args(extra: &[&str]) -> Server {
        let password = extra
            .iter()
            .position(|a| *a == "--requirepass")
            .and_then(|i| extra.get(i + 1))
            .map(|p| p.to_string());
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("rrs-it-{}-{}-{}", std::process::id(), n, port));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create the server's directory");
            let log = dir.join("stdout.log");
            let out = std::fs::File::create(&log).expect("create the server's log");
            let err = out.try_clone().expect("clone the log handle");
            let port_s = port.to_string();
            let mut args: Vec<&str> = vec!["--save", "", "--bind", "127.0.0.1", "--port", &port_s];
            args.extend_from_slice(extra);
            let child = Command::new(server_bin())
                .args(&args)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::from(out))
                .stderr(Stdio::from(err))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_bin().display()));
            let args = args.iter().map(|a| a.to_string()).collect();
            let mut srv = Server { child, port, dir, log, password: password.clone(), args };
            if srv.wait_ready() {
                return srv;
            }
            last_log = srv.log_text();
            // Dropping `srv` kills the process and removes its directory; try another port.
        }
        panic!("the server did not start; its last output:\n{last_log}");
    }

    /// Polls until the server answers PING (true) or exits / times out (false).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok() {
                    let mut buf = [0u8; 64];
                    // Any complete reply line (PONG, or NOAUTH with requirepass) means ready.
                    if let Ok(n) = s.read(&mut buf)
                        && n > 0
                        && buf[..n].ends_with(b"\r\n")
                    {
                        return true;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Returns `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Returns the server's working directory.
    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }

    /// Opens a raw connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Opens a raw connection and authenticates it when the server has a password.
    pub fn raw_authed(&self) -> Raw {
        let mut c = self.raw();
        if let Some(pw) = &self.password {
            c.send(&cmd(&["AUTH", pw]));
            c.expect(b"+OK\r\n");
        }
        c
    }

    /// Returns a `redis` crate client URL for this server (`db` 0, RESP2).
    pub fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Opens a `redis` crate connection (RESP2, db 0).
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(self.url()).expect("client url");
        let con = c.get_connection_with_timeout(REPLY_TIMEOUT).expect("redis crate connects");
        con.set_read_timeout(Some(REPLY_TIMEOUT)).expect("read timeout");
        con
    }

    /// Asserts that the server still serves a new connection: PING answers `+PONG`.
    pub fn assert_alive(&self) {
        let mut c = self.raw_authed();
        c.send(b"*1\r\n$4\r\nPING\r\n");
        c.expect(b"+PONG\r\n");
    }

    /// Returns everything the server has printed so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Polls the server's output until it contains `needle`; false after the reply timeout.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if self.log_text().contains(needle) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the server process to exit by itself; false if it is still running after the
    /// reply timeout.
    pub fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Kills the server with SIGKILL, as a crash would, and starts it again with the same
    /// command line in the same directory (its AOF and RDB files stay), on a new port: the old
    /// one may be handed to another test's server as soon as it is free. Returns once it
    /// answers PING.
    pub fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port = free_port();
        if let Some(i) = self.args.iter().position(|a| a == "--port") {
            self.args[i + 1] = self.port.to_string();
        }
        let out = std::fs::OpenOptions::new().append(true).open(&self.log).expect("open the log");
        let err = out.try_clone().expect("clone the log handle");
        self.child = Command::new(server_bin())
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server_bin().display()));
        assert!(self.wait_ready(), "the server did not come back:\n{}", self.log_text());
        // Redis answers -LOADING while it loads its files: wait for a real PONG.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut c = self.raw_authed();
            c.send(b"*1\r\n$4\r\nPING\r\n");
            let (got, _) = c.read_n(7, REPLY_TIMEOUT);
            if got == b"+PONG\r\n" {
                break;
            }
            assert!(Instant::now() < deadline, "still loading:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns the process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The test failed: what the server logged is often the explanation.
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!("--- server output (last lines) ---\n{}\n---", tail.join("\n"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Returns a port nobody listens on right now (the kernel's pick for an ephemeral bind).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Got what was asked for.
    Complete,
    /// The peer closed (EOF or reset).
    Closed,
    /// Nothing more arrived within the timeout.
    TimedOut,
}

/// Whether the connection must still be usable after a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Open,
    Closed,
}

/// A raw TCP connection with a buffer of received but not yet consumed bytes.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
    closed: bool,
}

impl Raw {
    /// Connects to the server on `port`.
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        Raw::from_stream(stream)
    }

    /// Wraps an already connected stream.
    pub fn from_stream(stream: TcpStream) -> Raw {
        let _ = stream.set_nodelay(true);
        Raw { stream, buf: Vec::new(), closed: false }
    }

    /// Sends bytes; panics if the connection refuses them.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap_or_else(|e| panic!("send failed: {e}"));
    }

    /// Sends bytes, tolerating a peer that closes part way (as a server does on a protocol
    /// error while the client is still writing). Returns whether everything was written.
    pub fn send_lossy(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Half-closes the connection: the server sees EOF after what was sent.
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads once into the buffer, waiting at most until `deadline`.
    fn fill(&mut self, deadline: Instant) -> End {
        if self.closed {
            return End::Closed;
        }
        let now = Instant::now();
        if now >= deadline {
            return End::TimedOut;
        }
        let _ = self.stream.set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))));
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.closed = true;
                End::Closed
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                End::Complete
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                End::TimedOut
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => End::Complete,
            Err(_) => {
                // Reset, broken pipe: the peer is gone.
                self.closed = true;
                End::Closed
            }
        }
    }

    /// Reads until `n` bytes are buffered, the peer closes, or `timeout` passes; returns the
    /// (up to `n`) bytes taken from the buffer and how the read ended.
    pub fn read_n(&mut self, n: usize, timeout: Duration) -> (Vec<u8>, End) {
        let deadline = Instant::now() + timeout;
        let mut end = End::Complete;
        while self.buf.len() < n {
            match self.fill(deadline) {
                End::Complete => {}
                other => {
                    end = other;
                    break;
                }
            }
        }
        let take = n.min(self.buf.len());
        (self.buf.drain(..take).collect(), end)
    }

    /// Reads exactly `want.len()` bytes and asserts they are `want`.
    pub fn expect(&mut self, want: &[u8]) {
        let (got, end) = self.read_n(want.len(), REPLY_TIMEOUT);
        assert!(
            got == want,
            "reply mismatch\n  want: {}\n  got:  {} ({:?})",
            show(want),
            show(&got),
            end
        );
    }

    /// Asserts that the server closes the connection without sending anything more.
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if !self.buf.is_empty() {
                panic!("expected the connection closed, got more bytes: {}", show(&self.buf));
            }
            match self.fill(deadline) {
                End::Closed => return,
                End::TimedOut => panic!("expected the connection closed; it is still open"),
                End::Complete => {}
            }
        }
    }

    /// Asserts that nothing arrives for `quiet` and the connection stays open meanwhile.
    pub fn expect_silence(&mut self, quiet: Duration) {
        let deadline = Instant::now() + quiet;
        loop {
            if !self.buf.is_empty() {
                panic!("expected no reply yet, got {}", show(&self.buf));
            }
            match self.fill(deadline) {
                End::TimedOut => return,
                End::Closed => panic!("expected the connection open; the server closed it"),
                End::Complete => {}
            }
        }
    }

    /// Asserts that the connection is open and in sync: a PING answers exactly `+PONG`.
    pub fn expect_open(&mut self) {
        self.send(b"*1\r\n$4\r\nPING\r\n");
        self.expect(b"+PONG\r\n");
    }

    /// Reads one whole RESP reply and returns it parsed together with its raw bytes.
    pub fn read_reply_raw(&mut self) -> (Resp, Vec<u8>) {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some((v, used)) = Resp::parse(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..used).collect();
                return (v, raw);
            }
            match self.fill(deadline) {
                End::Complete => {}
                end => panic!("incomplete reply ({end:?}); have {}", show(&self.buf)),
            }
        }
    }

    /// Reads one whole RESP reply.
    pub fn read_reply(&mut self) -> Resp {
        self.read_reply_raw().0
    }

    /// Sends a command (as text words) and returns its parsed reply.
    pub fn call(&mut self, words: &[&str]) -> Resp {
        self.send(&cmd(words));
        self.read_reply()
    }
}

/// Sends `send` on a new connection, asserts the reply is exactly `want`, that the connection is
/// then open (in sync: PING answers PONG) or closed with nothing more sent, and that the server
/// still serves a new connection.
pub fn check(srv: &Server, send: &[u8], want: &[u8], conn: Conn) {
    let mut c = srv.raw();
    c.send(send);
    c.expect(want);
    match conn {
        Conn::Open => c.expect_open(),
        Conn::Closed => c.expect_closed(),
    }
    srv.assert_alive();
}

/// A RESP2/RESP3 reply value, as a client library would see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    /// `$-1` (RESP2 null bulk).
    NilBulk,
    Bulk(Vec<u8>),
    /// `*-1` (RESP2 null array).
    NilArray,
    Array(Vec<Resp>),
    /// `_` (RESP3 null).
    Null,
    Double(String),
    Boolean(bool),
    BigNumber(String),
    Verbatim {
        format: String,
        text: Vec<u8>,
    },
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Push(Vec<Resp>),
}

impl Resp {
    /// Parses one reply at the start of `buf`; `None` when it is incomplete. Panics (failing
    /// the test) on a malformed reply: a client library would desync there.
    pub fn parse(buf: &[u8]) -> Option<(Resp, usize)> {
        let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
        let kind = *buf.first()?;
        let line = std::str::from_utf8(&buf[1..line_end])
            .unwrap_or_else(|_| panic!("reply header is not UTF-8: {}", show(buf)));
        let mut used = line_end + 2;
        let int = |s: &str| -> i64 {
            s.parse().unwrap_or_else(|_| panic!("bad length/integer {s:?} in {}", show(buf)))
        };
        let v = match kind {
            b'+' => Resp::Simple(line.to_string()),
            b'-' => Resp::Error(line.to_string()),
            b':' => Resp::Int(int(line)),
            b',' => Resp::Double(line.to_string()),
            b'(' => Resp::BigNumber(line.to_string()),
            b'_' => {
                assert!(line.is_empty(), "bad null {}", show(buf));
                Resp::Null
            }
            b'#' => match line {
                "t" => Resp::Boolean(true),
                "f" => Resp::Boolean(false),
                _ => panic!("bad boolean {}", show(buf)),
            },
            b'$' | b'=' | b'!' => {
                let n = int(line);
                if n < 0 {
                    assert!(kind == b'$' && n == -1, "bad bulk length in {}", show(buf));
                    Resp::NilBulk
                } else {
                    let n = n as usize;
                    if buf.len() < used + n + 2 {
                        return None;
                    }
                    let body = buf[used..used + n].to_vec();
                    assert_eq!(&buf[used + n..used + n + 2], b"\r\n", "bulk not CRLF-terminated");
                    used += n + 2;
                    match kind {
                        b'$' => Resp::Bulk(body),
                        b'!' => Resp::Error(String::from_utf8_lossy(&body).into_owned()),
                        _ => {
                            assert!(n >= 4 && body[3] == b':', "bad verbatim {}", show(&body));
                            Resp::Verbatim {
                                format: String::from_utf8_lossy(&body[..3]).into_owned(),
                                text: body[4..].to_vec(),
                            }
                        }
                    }
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = int(line);
                if n < 0 {
                    assert!(kind == b'*' && n == -1, "bad aggregate length in {}", show(buf));
                    Resp::NilArray
                } else {
                    let items = if kind == b'%' || kind == b'|' { 2 * n } else { n } as usize;
                    let mut elems = Vec::with_capacity(items.min(1024));
                    for _ in 0..items {
                        let (e, u) = Resp::parse(&buf[used..])?;
                        elems.push(e);
                        used += u;
                    }
                    match kind {
                        b'*' => Resp::Array(elems),
                        b'~' => Resp::Set(elems),
                        b'>' => Resp::Push(elems),
                        b'%' => Resp::Map(pairs(elems)),
                        _ => {
                            // An attribute precedes the real reply; a client reads past it.
                            let (e, u) = Resp::parse(&buf[used..])?;
                            used += u;
                            e
                        }
                    }
                }
            }
            _ => panic!("unknown reply type {:?} in {}", kind as char, show(buf)),
        };
        Some((v, used))
    }

    /// Returns the value under `key` in a map reply, or in a RESP2 flat array of pairs.
    pub fn field(&self, key: &str) -> Option<&Resp> {
        match self {
            Resp::Map(m) => m.iter().find(|(k, _)| k.is_text(key)).map(|(_, v)| v),
            Resp::Array(a) if a.len() % 2 == 0 => {
                a.chunks(2).find(|p| p[0].is_text(key)).map(|p| &p[1])
            }
            _ => None,
        }
    }

    /// True when this is a simple or bulk string equal to `s`.
    pub fn is_text(&self, s: &str) -> bool {
        match self {
            Resp::Simple(t) => t == s,
            Resp::Bulk(b) => b == s.as_bytes(),
            _ => false,
        }
    }

    /// Returns the bytes of a string-like reply.
    pub fn text(&self) -> Option<&[u8]> {
        match self {
            Resp::Simple(t) => Some(t.as_bytes()),
            Resp::Bulk(b) => Some(b),
            Resp::Verbatim { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Resp::Error(_))
    }
}

fn pairs(elems: Vec<Resp>) -> Vec<(Resp, Resp)> {
    let mut it = elems.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_parser_reads_every_type_and_waits_for_more() {
        let wire: &[u8] = b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n+proto\r\n:3\r\n";
        let (v, used) = Resp::parse(wire).expect("complete");
        assert_eq!(used, wire.len());
        assert_eq!(v.field("proto"), Some(&Resp::Int(3)));
        assert!(v.field("server").is_some_and(|s| s.is_text("redis")));
        for cut in 0..wire.len() {
            assert!(Resp::parse(&wire[..cut]).is_none(), "prefix {cut} must be incomplete");
        }
        let (v, _) = Resp::parse(b"=9\r\ntxt:a\r\nb:\r\n").expect("verbatim");
        assert_eq!(v, Resp::Verbatim { format: "txt".into(), text: b"a\r\nb:".to_vec() });
        assert_eq!(Resp::parse(b"*-1\r\n").map(|p| p.0), Some(Resp::NilArray));
        assert_eq!(Resp::parse(b"$-1\r\n").map(|p| p.0), Some(Resp::NilBulk));
        assert_eq!(Resp::parse(b"_\r\n").map(|p| p.0), Some(Resp::Null));
        assert_eq!(Resp::parse(b"#t\r\n").map(|p| p.0), Some(Resp::Boolean(true)));
        assert_eq!(
            Resp::parse(b"~2\r\n,1.5\r\n(12\r\n").map(|p| p.0),
            Some(Resp::Set(vec![Resp::Double("1.5".into()), Resp::BigNumber("12".into())]))
        );
        let (v, _) = Resp::parse(b"*4\r\n+a\r\n:1\r\n+b\r\n:2\r\n").expect("flat pairs");
        assert_eq!(v.field("b"), Some(&Resp::Int(2)));
    }

    #[test]
    fn resp_encoding_and_display() {
        assert_eq!(cmd(&["GET", "k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        assert_eq!(resp(&[b"", b"\x00"]), b"*2\r\n$0\r\n\r\n$1\r\n\x00\r\n");
        assert_eq!(show(b"+OK\r\n\x00"), "\"+OK\\r\\n\\x00\"");
    }
}
