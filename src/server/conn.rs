//! The connection loop: read what the socket has, decode and run every complete request in the
//! buffer, and send the replies, reading and writing independently so a client that does not
//! read its replies never stops the server reading (and never blocks anyone else: each
//! connection is its own task).
//!
//! Protocol errors reply and close after the reply is written; nothing after them in the
//! pipeline runs. Command errors reply and the connection goes on. A few conditions close the
//! connection at once, without a reply, as Redis does: the query buffer outgrowing
//! `client-query-buffer-limit`, an unauthenticated client letting replies pile up, a
//! cross-protocol attack (`POST` / `Host:` as a command), CLIENT KILL and `timeout`.
//!
//! The query buffer is sized like Redis's: 16 KiB reads, an exactly sized buffer for a big
//! argument, shrunk when it is much larger than recent use, and freed (with the reply buffer)
//! after two seconds without traffic, so idle connections cost little memory. Neither buffer
//! is allocated again until bytes arrive: on a socket ([`ReadReady`]) the loop waits for
//! readiness without a buffer, as Redis's event loop does, so an idle connection holds only
//! its task (1 KiB: keep the future within `connection_task_stays_small`), its `ClientInfo`,
//! tokio's socket state and its registry entry: about 1.5 KiB allocated, 1.8-1.9 KiB
//! resident with the allocator's metadata (`scripts/idle-conns`). The reply buffer starts
//! small (see `REPLY_START`).

use std::sync::Arc;
use std::pin::Pin;
use std::task::Poll;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use smallvec::SmallVec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Server;
use super::client::{Client, ClientInfo, ClientType, ReplyMode, flags};
use crate::command::flags as cmdflags;
use crate::protocol::{Decoded, Decoder, Limits, ProtocolError, Reply};

/// Bytes asked of each ordinary read (Redis's `PROTO_IOBUF_LEN`).
const READ_CHUNK: usize = 16 * 1024;
/// Bytes asked of the read after one that filled all the room it was given: a pipelined batch
/// larger than 16 KiB (64 MSETs) is then read, run and answered in one read and one write
/// rather than two of each.
const READ_CHUNK_FULL: usize = 4 * READ_CHUNK;
/// A query buffer larger than this is shrunk when recent use is under half of it (Redis's
/// `PROTO_RESIZE_THRESHOLD`).
const RESIZE_THRESHOLD: usize = 32 * 1024;
/// How often the query buffer's size is reconsidered.
const RESIZE_PERIOD: Duration = Duration::from_millis(100);
/// Buffers of a connection idle this long are released.
const IDLE_FREE: Duration = Duration::from_secs(2);
/// A reply buffer grown past this is shrunk back once written.
const OUT_KEEP: usize = 64 * 1024;
/// Size of Redis's fixed per-client reply buffer. Output limits count only what does not fit
/// in it (Redis's reply list), and CLIENT LIST shows the two parts as obl and omem.
pub const REPLY_CHUNK: usize = 16 * 1024;
/// Capacity of a fresh reply buffer. Redis starts every client at 16 KiB, but a 16 KiB buffer
/// is a large allocation of its own to jemalloc, and each one it ever held at once leaves
/// extent metadata behind for good: 10,000 connections that each sent a PING kept about 200
/// bytes per connection more resident (`idle-conns`). Not 1024 (Redis's
/// `PROTO_REPLY_MIN_BYTES`): that is the connection task's size class, and buffers freed
/// between long-lived tasks leave their slabs half empty (140 bytes per connection).
const REPLY_START: usize = 1536;
/// Reply-list bytes an unauthenticated client may leave unread before it is dropped
/// (CVE-2025-21605).
const UNAUTH_OBUF_LIMIT: usize = 1024;
/// Written bytes at the front of the reply buffer are dropped once they exceed this while
/// more replies keep coming (a slow reader).
const OUT_COMPACT: usize = 1024 * 1024;
/// Bytes of the query buffer shown in the protocol error log line.
const PROTO_DUMP_LEN: usize = 128;

/// A connection's read half that can wait for bytes without a buffer to read them into, so a
/// connection whose buffers were released holds none while it stays idle.
pub trait ReadReady: AsyncRead + Unpin {
    /// Whether [`ReadReady::ready`] really waits; when false (in-memory pipes in tests) the
    /// query buffer is allocated before every read, as it always was.
    const WAITS: bool = false;

    /// Resolves when a read may find bytes (or the peer gone); a spurious wake costs one pass
    /// of the loop.
    fn ready(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

impl ReadReady for tokio::net::tcp::ReadHalf<'_> {
    const WAITS: bool = true;

    fn ready(&self) -> impl Future<Output = ()> + Send {
        // Polled readiness keeps the future small (`readable()` carries a waiter node); an
        // error shows up again on the read that follows.
        let sock: &tokio::net::TcpStream = self.as_ref();
        std::future::poll_fn(move |cx| sock.poll_read_ready(cx).map(|_| ()))
    }
}

impl ReadReady for tokio::net::unix::ReadHalf<'_> {
    const WAITS: bool = true;

    fn ready(&self) -> impl Future<Output = ()> + Send {
        let sock: &tokio::net::UnixStream = self.as_ref();
        std::future::poll_fn(move |cx| sock.poll_read_ready(cx).map(|_| ()))
    }
}

impl<T: AsyncRead> ReadReady for tokio::io::ReadHalf<T> {}

/// Reads what the socket has into `buf`; with `lazy`, only waits until it has something and
/// returns `None` (the caller allocates the buffer, then reads).
#[inline]
async fn read_or_wait<R: ReadReady>(
    rd: &mut R,
    buf: &mut Vec<u8>,
    lazy: bool,
) -> std::io::Result<Option<usize>> {
    if lazy {
        rd.ready().await;
        return Ok(None);
    }
    rd.read_buf(buf).await.map(Some)
}

/// Awaits a wait that is not always armed (a client pause, a blocking command's timeout, the
/// soft output limit's clock, the idle timer, a subscriber's inbox); pending forever when not
/// armed. The waits are boxed (or borrowed from a box), so that the connection's task, whose
/// size every connection pays even while idle, does not carry room for each of them (a few
/// hundred bytes). A plain struct rather than an `async fn`: that would keep the argument and
/// the awaited future apart (32 bytes instead of 8, for each of six waits).
fn armed<F: Future + Unpin>(wait: Option<F>) -> Armed<F> {
    Armed(wait)
}

/// The future of [`armed`].
struct Armed<F>(Option<F>);

impl<F: Future + Unpin> Future for Armed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        match self.0.as_mut() {
            Some(w) => Pin::new(w).poll(cx),
            None => Poll::Pending,
        }
    }
}

/// Why the processing of buffered requests stopped.
enum Flow {
    /// Everything complete was run; more bytes are needed.
    More,
    /// A command must wait for a client pause to end (until the given unix ms).
    Paused(i64),
    /// A blocking command is waiting (`client.blocked`); later requests wait behind it.
    Blocked,
    /// Close after writing the replies so far.
    CloseAfterReply,
    /// Close now; pending replies are dropped.
    CloseNow,
}

/// A connection's state apart from its socket.
struct Session {
    server: Arc<Server>,
    /// Its `info` is the connection's entry in the client registry.
    client: Client,
    dec: Decoder,
    /// The query buffer: bytes read and not yet consumed, always starting at a request.
    rbuf: Vec<u8>,
    /// Total buffer length that completes the big argument being read, if any.
    want: Option<usize>,
    /// The socket reported bytes since the query buffer was released: allocate it and read.
    read_ready: bool,
    /// The most the query buffer needed since the last resize check.
    qb_peak: usize,
    /// Wall clock (ms) of the last buffer-size review.
    last_resize_ms: i64,
    out: Reply,
    /// Bytes at the front of `out.buf` already written.
    written: usize,
    /// The most the reply buffer held since the last resize check.
    out_peak: usize,
    /// Wall clock (ms) of the last read or write: one clock read serves CLIENT LIST's idle
    /// time and the release of an idle connection's buffers.
    last_io_ms: i64,
    /// Since when the soft output limit has been exceeded without a break.
    soft_since: Option<Instant>,
    /// The last read filled all the room it was given: more was probably waiting.
    filled: bool,
}

/// One class of `client-output-buffer-limit`; zero disables a limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ObufLimit {
    hard: usize,
    soft: usize,
    soft_secs: u64,
}

/// Redis's defaults: normal `0 0 0`, replica `256mb 64mb 60`, pubsub `32mb 8mb 60`.
#[cfg(test)]
const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit { hard: 0, soft: 0, soft_secs: 0 },
    ObufLimit { hard: 256 << 20, soft: 64 << 20, soft_secs: 60 },
    ObufLimit { hard: 32 << 20, soft: 8 << 20, soft_secs: 60 },
];

/// Returns the live `client-output-buffer-limit` of one class (normal, replica, pubsub), from
/// the keyspace's atomic copies: it is read after every command once the replies pass the fixed
/// reply buffer (LRANGE at P=64), where the config lock would cost more than the command.
fn obuf_limit(server: &Server, class: usize) -> ObufLimit {
    let t = &server.store.tunables.obuf[class];
    ObufLimit {
        hard: t.hard.load(Ordering::Relaxed) as usize,
        soft: t.soft.load(Ordering::Relaxed) as usize,
        soft_secs: t.soft_secs.load(Ordering::Relaxed),
    }
}

/// Serves one connection until it closes.
pub async fn serve<R, W>(server: Arc<Server>, mut rd: R, mut wr: W, info: Arc<ClientInfo>)
where
    R: ReadReady,
    W: AsyncWrite + Unpin,
{
    let authenticated = !server.auth_required();
    let mut s = Session {
        client: Client::new(info, authenticated),
        server,
        dec: Decoder::new(),
        rbuf: Vec::new(),
        want: None,
        read_ready: false,
        qb_peak: 0,
        last_resize_ms: crate::util::now_ms(),
        // Allocated when the first bytes arrive (see `read`).
        // No memory until the first reply (`Default`: an empty buffer, RESP2).
        out: Reply::default(),
        written: 0,
        // Redis starts a client's reply-buffer peak at the buffer's size.
        out_peak: REPLY_CHUNK,
        last_io_ms: crate::util::now_ms(),
        soft_since: None,
        filled: false,
    };
    s.publish();
    // The idle timer exists only while there are buffers to release (boxed, see `armed`).
    let mut idle: Option<Pin<Box<tokio::time::Sleep>>> = None;
    let mut paused: Option<i64> = None;
    let mut closing = false;
    let mut graceful = true;

    // One notification future for the connection's life: re-arming it on every pass of the
    // loop costs more than the rest of an unpipelined command's bookkeeping.
    // A kill shuts the socket down, which ends the pending read; only connections without a
    // socket of their own (tests) wait on the notification as well. Polling a notification
    // on every pass costs more than the rest of an unpipelined command's bookkeeping.
    let by_notify = !s.client.info.socket_open();
    let kill_info = s.client.info.clone();
    let mut killed = by_notify.then(|| Box::pin(kill_info.kill_notify().notified()));

    loop {
        if s.client.pubsub.is_some() && !s.take_messages() {
            graceful = false;
            break;
        }
        let had_output = s.out.buf.len();
        if paused.is_none() && !closing && s.client.blocked.is_none() {
            // An empty query buffer (unpipelined, every pass after a write) has no batch to
            // run: its bookkeeping is skipped, but a reply made outside a batch (a served
            // blocking command) still reaches the counters and the reply-buffer peak.
            if s.rbuf.is_empty() {
                s.client.pending.flush(&s.server);
                s.out_peak = s.out_peak.max(s.out.buf.len());
            } else {
                match s.process() {
                    Flow::More | Flow::Blocked => {}
                    Flow::Paused(until) => paused = Some(until),
                    Flow::CloseAfterReply => closing = true,
                    Flow::CloseNow => {
                        graceful = false;
                        break;
                    }
                }
                s.maybe_resize();
            }
            s.set_blocked(paused.is_some() || s.client.blocked.is_some());
        }
        // A read's clock serves only the batch run right after it (not one run later, after a
        // pause or a blocking command).
        s.client.clock_us = 0;
        s.client.clock_tsc = 0;
        s.publish();
        if s.client.info.is_killed() {
            graceful = false;
            break;
        }
        let pending = s.written < s.out.buf.len();
        if closing && !pending {
            break;
        }
        if s.out.buf.len() > had_output {
            // Fresh replies: let the other connections that are ready run their requests
            // first, then write, as Redis writes every reply of an event-loop pass together
            // before it sleeps. A client that is already awake takes its reply for less than
            // one woken from sleep for each reply (strace: sendto 12 -> 6 us a call).
            RunPeersFirst(false).await;
        }
        if pending && s.client.aof_need > 0 && !s.server.aof.reached(s.client.aof_need) {
            // Replies of propagated writes go out once the AOF has them (written, and fsynced
            // under appendfsync always): see persistence::aof.
            s.server.aof.clone().wait_for(s.client.aof_need).await;
        }
        let reading = !closing;
        // Without a query buffer (new, or released while idle), wait for bytes before
        // allocating one.
        let lazy = reading && R::WAITS && s.rbuf.capacity() == 0 && !s.read_ready;
        if reading && !lazy {
            s.make_room();
            s.read_ready = false;
        }
        // After `make_room`: a buffer taken on a wake that brought nothing (a socket reports
        // itself readable once when new) is released in time too.
        let idle_armed = s.rbuf.is_empty() && (s.rbuf.capacity() > 0 || s.out.buf.capacity() > 0);
        if idle_armed && idle.is_none() {
            idle = Some(Box::pin(tokio::time::sleep(IDLE_FREE)));
        }
        let start = s.rbuf.len();
        let soft_deadline = s.soft_deadline();
        // A blocked command: its wait, and its timeout.
        let waiter = s.client.blocked.as_ref().map(|b| b.waiter.clone());
        // A subscriber's inbox: published messages to move into the output buffer.
        let inbox = s.client.pubsub.as_ref().map(|p| p.me.clone());
        let block_deadline = s.client.blocked.as_ref().and_then(|b| b.deadline_ms).map(|ms| {
            let left = (ms - crate::util::now_ms()).max(0) as u64;
            tokio::time::Instant::now() + Duration::from_millis(left)
        });

        tokio::select! {
            biased;
            _ = armed(killed.as_mut().map(|k| k.as_mut())), if by_notify => {
                graceful = false;
                break;
            }
            r = wr.write(&s.out.buf[s.written..]), if pending => match r {
                Ok(0) | Err(_) => {
                    graceful = false;
                    break;
                }
                Ok(n) => s.wrote(n),
            },
            r = read_or_wait(&mut rd, &mut s.rbuf, lazy), if reading => match r {
                Ok(None) => s.read_ready = true,
                Ok(Some(0)) => {
                    tracing::debug!("Client closed connection {}", s.describe());
                    graceful = false;
                    break;
                }
                Err(e) => {
                    tracing::debug!("Reading from client: {e}");
                    graceful = false;
                    break;
                }
                Ok(Some(n)) => {
                    if !s.read(start, n) {
                        graceful = false;
                        break;
                    }
                }
            },
            _ = armed(paused.map(|p| Box::pin(s.server.pause.wait(p)))), if paused.is_some() => {
                paused = None
            }
            _ = WaitEnded(waiter.as_deref()), if waiter.is_some() => s.unblocked(),
            _ = armed(inbox.as_deref().map(|p| Box::pin(p.wait()))), if inbox.is_some() => {
                if !s.take_messages() {
                    graceful = false;
                    break;
                }
            }
            _ = armed(block_deadline.map(|d| Box::pin(tokio::time::sleep_until(d)))),
                if block_deadline.is_some() => s.unblocked(),
            // Over the soft output limit and no traffic: the limit's time still runs out.
            _ = armed(soft_deadline.map(|_| Box::pin(soft_wait(soft_deadline)))),
                if soft_deadline.is_some() => {
                let unauthenticated = !s.client.authenticated && s.server.auth_required();
                if s.obuf_over_limit(unauthenticated) {
                    graceful = false;
                    break;
                }
            }
            _ = armed(idle.as_mut().map(|t| t.as_mut())), if idle_armed => {
                let since = (crate::util::now_ms() - s.last_io_ms).max(0) as u64;
                let idle_ms = IDLE_FREE.as_millis() as u64;
                if since >= idle_ms {
                    s.release_buffers();
                    idle = None;
                } else if let Some(t) = idle.as_mut() {
                    let left = Duration::from_millis(idle_ms - since);
                    t.as_mut().reset(tokio::time::Instant::now() + left);
                }
            }
        }
    }
    if graceful {
        let _ = wr.shutdown().await;
    }
    // A client leaving in a blocking command: a reply served but never sent gives its
    // elements back.
    crate::cmd::blocking::finish_blocked(&s.server, &mut s.client, &mut s.out, true);
    s.set_blocked(false);
    crate::cmd::multi::forget(&s.server, &mut s.client);
    if s.client.pubsub.is_some() {
        super::pubsub::unsubscribe_everything(&s.server.pubsub, &mut s.client);
        s.server.pubsub.forget_inbox(s.client.info.id);
    }
    // Client-side caching: no longer tracking; redirections to it are now broken.
    s.server.tracking.disable(&s.server.store, &s.client.info);
    s.server.clients.remove(s.client.info.id);
    // The caller drops the socket right after this returns, with no await in between.
    s.client.info.set_socket_open(false);
}

/// Resolves when the wait of a blocked command has ended (served or unblocked).
struct WaitEnded<'a>(Option<&'a crate::store::blocking::Waiter>);

impl std::future::Future for WaitEnded<'_> {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        match self.0 {
            Some(w) => w.poll_ended(cx),
            None => Poll::Pending,
        }
    }
}

impl Session {
    /// Ends the wait of the blocked command (served, unblocked or timed out): its reply goes
    /// out and the requests behind it run on the next pass.
    fn unblocked(&mut self) {
        let mark = self.out.buf.len();
        crate::cmd::blocking::finish_blocked(&self.server, &mut self.client, &mut self.out, false);
        apply_reply_mode(&mut self.client, &mut self.out, mark);
        self.set_blocked(false);
    }

    /// Marks the client blocked (postponed by CLIENT PAUSE) or not, keeping INFO's
    /// blocked_clients in step.
    fn set_blocked(&self, on: bool) {
        if self.client.info.has_flag(flags::BLOCKED) == on {
            return;
        }
        self.client.info.set_flag(flags::BLOCKED, on);
        let gauge = &self.server.stats.blocked_clients;
        if on {
            gauge.fetch_add(1, Ordering::Relaxed);
        } else {
            gauge.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Moves the published messages waiting in the inbox to the output buffer, where the
    /// pub/sub output limit applies. Returns false when the connection must close.
    fn take_messages(&mut self) -> bool {
        let Some(p) = self.client.pubsub.as_ref() else { return true };
        if !p.me.take_into(&mut self.out.buf) {
            return true;
        }
        self.out_peak = self.out_peak.max(self.out.buf.len());
        !self.obuf_over_limit(false)
    }

    /// Accounts for `n` bytes just read at `start`: statistics, the peak, and the query buffer
    /// limit. Returns false when the connection must close.
    fn read(&mut self, start: usize, n: usize) -> bool {
        self.server.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        // The clock reading of the read that brought the requests: the first command of the
        // batch run right after it starts from it (see `Client::clock_us`); reset after
        // each pass of the loop.
        self.client.clock_us = self.touch();
        self.client.clock_tsc = crate::util::tsc();
        if self.out.buf.capacity() == 0 {
            // The reply buffer of a new or idle connection comes with its first request, at
            // the size Redis shrinks an idle client's to; it grows with the replies.
            self.out.buf.reserve_exact(REPLY_START);
        }
        let server = &self.server;
        self.qb_peak = self.qb_peak.max(start + READ_CHUNK.max(n));
        // (Not while a big argument is read into its exactly sized buffer.)
        self.filled = self.want.is_none() && start + n == self.rbuf.capacity();
        if self.filled {
            // Counted as used, so the resize check keeps the room the next read is given.
            self.qb_peak = self.qb_peak.max(self.rbuf.capacity());
        }
        let limit =
            server.store.tunables.client_query_buffer_limit.load(Ordering::Relaxed) as usize;
        if self.rbuf.len() > limit {
            self.publish();
            let from = self.dec.big_arg_start().unwrap_or(0).min(self.rbuf.len());
            let head = &self.rbuf[from..];
            tracing::warn!(
                "Closing client that reached max query buffer length: {} (qbuf initial bytes: {})",
                self.describe(),
                repr(&head[..head.len().min(64)])
            );
            return false;
        }
        true
    }

    /// Accounts for `n` reply bytes written.
    #[inline]
    fn wrote(&mut self, n: usize) {
        self.server.stats.net_output_bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.written += n;
        self.touch();
        if self.written == self.out.buf.len() {
            self.out.buf.clear();
            self.written = 0;
            if self.out.buf.capacity() > OUT_KEEP {
                self.out.buf.shrink_to(READ_CHUNK);
            }
        } else if self.written >= OUT_COMPACT {
            self.out.buf.drain(..self.written);
            self.written = 0;
        }
    }

    /// Makes sure the next read has room: exactly the rest of a big argument, or about 16 KiB.
    #[inline]
    fn make_room(&mut self) {
        let len = self.rbuf.len();
        let spare = self.rbuf.capacity() - len;
        let was_released = self.rbuf.capacity() == 0;
        match self.want {
            Some(total) if total > len => {
                if self.rbuf.capacity() < total {
                    self.rbuf.reserve_exact(total - len);
                }
            }
            _ => {
                if spare < READ_CHUNK / 4 {
                    self.rbuf.reserve(READ_CHUNK);
                }
                if self.filled && spare < READ_CHUNK_FULL {
                    self.rbuf.reserve(READ_CHUNK_FULL);
                }
            }
        }
        if was_released {
            // CLIENT LIST shows the buffer from now on, not from the next batch.
            self.publish();
        }
    }

    /// Runs every complete request in the query buffer, then drops the bytes consumed.
    fn process(&mut self) -> Flow {
        let server = self.server.clone();
        // The config lock only for a client still to authenticate (`requirepass` matters to
        // no one else); the limits come from the keyspace's atomic copies.
        let limits = Limits {
            proto_max_bulk_len: server.store.tunables.proto_max_bulk_len.load(Ordering::Relaxed),
            auth_required: !self.client.authenticated && server.auth_required(),
        };
        // Like Redis's qbuf while a batch runs: the whole buffer, the current request included.
        self.publish();
        self.client.out_written = self.written;
        // The batch's commands take their clock from the read and from each other; nothing
        // awaits between the read and here, nor between two commands.
        self.client.last_tsc = self.client.clock_tsc;
        self.client.batch_clock = true;
        let mut start = 0;
        let mut flow = Flow::More;
        self.want = None;
        while start < self.rbuf.len() {
            let buf = &self.rbuf[start..];
            let limits = Limits {
                auth_required: limits.auth_required && !self.client.authenticated,
                ..limits
            };
            let mut argv: SmallVec<[&[u8]; 8]> = SmallVec::new();
            match self.dec.decode_into(buf, &limits, &mut argv) {
                Ok(Decoded::Incomplete { want }) => {
                    self.want = want.map(|w| start + w);
                    break;
                }
                Ok(Decoded::Request { consumed }) => {
                    if argv.is_empty() {
                        start += consumed;
                        continue;
                    }
                    if is_attack(argv[0]) {
                        super::listen::security_warning();
                        flow = Flow::CloseNow;
                        break;
                    }
                    if server.pause.active()
                        && let Some(until) = paused_for(&server, &self.client.info, &argv)
                    {
                        flow = Flow::Paused(until);
                        break;
                    }
                    let mark = self.out.buf.len();
                    server.execute(&mut self.client, &mut self.out, &argv);
                    drop(argv);
                    // A blocked command's reply comes when it is unblocked, and CLIENT REPLY
                    // OFF / SKIP apply to it then (Redis resets the client only on unblocking).
                    if self.client.blocked.is_some() {
                        start += consumed;
                        flow = Flow::Blocked;
                        break;
                    }
                    apply_reply_mode(&mut self.client, &mut self.out, mark);
                    start += consumed;
                    if self.client.close_after_reply {
                        flow = Flow::CloseAfterReply;
                        break;
                    }
                    let unauthenticated = !self.client.authenticated && server.auth_required();
                    if self.obuf_over_limit(unauthenticated) {
                        flow = Flow::CloseNow;
                        break;
                    }
                }
                Err(e) => {
                    drop(argv);
                    self.protocol_error(&e, start);
                    flow = Flow::CloseAfterReply;
                    break;
                }
            }
        }
        self.client.batch_clock = false;
        self.client.clock_us = 0;
        self.client.clock_tsc = 0;
        self.client.last_tsc = 0;
        self.client.pending.flush(&server);
        if start == self.rbuf.len() {
            self.rbuf.clear();
        } else if start > 0 {
            self.rbuf.drain(..start);
            self.want = self.want.map(|w| w - start);
        }
        self.out_peak = self.out_peak.max(self.out.buf.len());
        flow
    }

    /// True (and logged) when the unsent replies went past the client's output buffer limit:
    /// the hard limit, the soft limit for longer than its seconds, or 1 KiB for a client that
    /// must still authenticate. Counted as Redis counts: beyond the fixed reply buffer.
    #[inline]
    fn obuf_over_limit(&mut self, unauthenticated: bool) -> bool {
        let used = (self.out.buf.len() - self.written).saturating_sub(REPLY_CHUNK);
        if used == 0 {
            // Within the fixed reply buffer no limit applies (checked after every command).
            self.soft_since = None;
            return false;
        }
        self.obuf_over_limit_slow(used, unauthenticated)
    }

    /// [`Session::obuf_over_limit`] once replies went past the fixed reply buffer.
    #[inline(never)]
    fn obuf_over_limit_slow(&mut self, used: usize, unauthenticated: bool) -> bool {
        let over = if unauthenticated && used > UNAUTH_OBUF_LIMIT {
            true
        } else {
            // Read from the config only here, past the fixed reply buffer: not kept per
            // connection, whose task must stay small (see `connection_task_stays_small`).
            let l = obuf_limit(&self.server, self.obuf_class());
            let hard = l.hard != 0 && used >= l.hard;
            let soft = if l.soft != 0 && used >= l.soft {
                let since = *self.soft_since.get_or_insert_with(Instant::now);
                since.elapsed().as_secs() > l.soft_secs
            } else {
                self.soft_since = None;
                false
            };
            hard || soft
        };
        if over {
            self.publish();
            tracing::warn!(
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                self.describe()
            );
        }
        over
    }

    /// Index of the client's class for `obuf_limit` (masters count as normal clients).
    fn obuf_class(&self) -> usize {
        match self.client.info.client_type() {
            ClientType::Normal | ClientType::Master => 0,
            ClientType::Replica => 1,
            ClientType::Pubsub => 2,
        }
    }

    /// When the output stays over the soft limit, the moment its time runs out.
    #[inline]
    fn soft_deadline(&self) -> Option<tokio::time::Instant> {
        let since = self.soft_since?;
        self.soft_deadline_from(since)
    }

    /// [`Session::soft_deadline`] while over the soft limit (rare: kept out of the loop).
    #[inline(never)]
    fn soft_deadline_from(&self, since: Instant) -> Option<tokio::time::Instant> {
        let secs = obuf_limit(&self.server, self.obuf_class()).soft_secs + 1;
        Some(tokio::time::Instant::from_std(since + Duration::from_secs(secs)))
    }

    /// Replies to a protocol error and logs it (at verbose level, with what the buffer held).
    fn protocol_error(&mut self, e: &ProtocolError, start: usize) {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let q = &self.rbuf[start..];
            let dump = if q.len() < PROTO_DUMP_LEN {
                format!("Query buffer during protocol error: '{}'", printable(q))
            } else {
                let half = PROTO_DUMP_LEN / 2;
                format!(
                    "Query buffer during protocol error: '{}' (... more {} bytes ...) '{}'",
                    printable(&q[..half]),
                    q.len() - PROTO_DUMP_LEN,
                    printable(&q[q.len() - half..])
                )
            };
            tracing::debug!(
                "Protocol error ({}) from client: {}. {}",
                e.reason(),
                self.describe(),
                dump
            );
        }
        let mark = self.out.buf.len();
        self.out.error(&e.message());
        if let ProtocolError::ExpectedDollar(c) = *e
            && !c.is_ascii()
        {
            // Redis echoes the raw byte; the text was built as a (two-byte) char.
            let end = self.out.buf.len() - 3;
            self.out.buf.splice(end - 2..end, [c]);
        }
        self.server.stats.count_errors(&mut self.out);
        // CLIENT REPLY OFF / SKIP silence this reply too.
        apply_reply_mode(&mut self.client, &mut self.out, mark);
        self.client.close_after_reply = true;
    }

    /// Shrinks a query buffer much larger than what recent requests needed, at most every
    /// [`RESIZE_PERIOD`], and resets the peaks.
    fn maybe_resize(&mut self) {
        if self.last_io_ms - self.last_resize_ms < RESIZE_PERIOD.as_millis() as i64 {
            return;
        }
        self.last_resize_ms = self.last_io_ms;
        let len = self.rbuf.len();
        let cap = self.rbuf.capacity();
        if cap - len > 4096 && cap > RESIZE_THRESHOLD && cap / 2 > self.qb_peak {
            let keep = len.max(self.qb_peak).max(self.want.unwrap_or(0));
            self.rbuf.shrink_to(keep);
        }
        self.qb_peak = len.max(self.want.unwrap_or(0));
        self.client.info.rbp.store(self.out_peak, Ordering::Relaxed);
        self.out_peak = self.out.buf.len();
    }

    /// Notes I/O now: CLIENT LIST's idle time and the idle-buffer clock.
    /// Returns the clock reading (wall microseconds).
    #[inline]
    fn touch(&mut self) -> i64 {
        let us = crate::util::now_us();
        self.last_io_ms = us / 1000;
        self.client.info.last_interaction_ms.store(self.last_io_ms, Ordering::Relaxed);
        us
    }

    /// Releases the buffers of an idle connection.
    fn release_buffers(&mut self) {
        if self.rbuf.is_empty() {
            self.rbuf = Vec::new();
            self.qb_peak = 0;
            // No request is half read: the decoder's argument table goes too (128 bytes).
            self.dec.release_idle();
        }
        if self.out.buf.is_empty() {
            self.out.buf = Vec::new();
            self.out_peak = 0;
        }
        self.publish();
    }

    /// Publishes the buffer sizes other clients see in CLIENT LIST.
    fn publish(&self) {
        let info = &self.client.info;
        info.qbuf.store(self.rbuf.len(), Ordering::Relaxed);
        info.qbuf_cap.store(self.rbuf.capacity(), Ordering::Relaxed);
        info.obuf_pending.store(self.out.buf.len() - self.written, Ordering::Relaxed);
        info.rbs.store(self.out.buf.capacity(), Ordering::Relaxed);
        let peak = self.out_peak.max(info.rbp.load(Ordering::Relaxed));
        info.rbp.store(peak.min(self.out.buf.capacity()), Ordering::Relaxed);
    }

    /// Returns this client's CLIENT LIST line, for log lines.
    fn describe(&self) -> String {
        let mut line = Vec::new();
        let idx = self.client.info.last_cmd.load(Ordering::Relaxed);
        let cmd = self.server.table.entries.get(idx).map_or("NULL", |e| e.full_name.as_str());
        self.client.info.write_info_line(&mut line, cmd, self.dec.partial_args_len());
        String::from_utf8_lossy(&line).into_owned()
    }
}

/// Goes to the back of the scheduler's queue once. Unlike `tokio::task::yield_now`, which
/// waits for the I/O driver to be polled again (an extra `epoll_wait` per pass), it only lets
/// the tasks already runnable go first.
struct RunPeersFirst(bool);

impl std::future::Future for RunPeersFirst {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Sleeps until `deadline` (the caller polls this only when there is one).
async fn soft_wait(deadline: Option<tokio::time::Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

/// True for the first word of an HTTP request or header (`POST`, `Host:`): someone is using
/// cross-protocol scripting against us.
fn is_attack(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:")
}

/// Returns the end of the pause if this command must wait for it. Commands that fail their
/// lookup or arity are let through, to get their error at once.
fn paused_for(server: &Server, info: &ClientInfo, argv: &[&[u8]]) -> Option<i64> {
    let table = &server.table;
    let mut idx = table.lookup(argv[0])?;
    let entry = &table.entries[idx];
    if !entry.cmd.subcommands.is_empty() && argv.len() >= 2 {
        idx = table.lookup_sub(idx, argv[1])?;
    }
    let cmd = table.entries[idx].cmd;
    if !cmd.arity_ok(argv.len()) {
        return None;
    }
    let writes = cmd.flags & (cmdflags::WRITE | cmdflags::MAY_REPLICATE) != 0
        || (cmd.name == "exec" && info.has_flag(flags::MULTI_MAY_WRITE));
    server.pause.blocks(writes)
}

/// Drops the reply just written when CLIENT REPLY OFF or SKIP says so.
/// A RESP3 push reply (a subscribe confirmation) is kept, as Redis lets pushes through.
fn apply_reply_mode(client: &mut Client, out: &mut Reply, mark: usize) {
    let keep = std::mem::take(&mut client.reply_is_push);
    let drop_reply = |out: &mut Reply| {
        if !keep {
            out.buf.truncate(mark);
        }
    };
    match client.reply_mode {
        ReplyMode::On => {}
        ReplyMode::SkipNext => {
            // CLIENT REPLY SKIP itself was just answered (silently); skip the next one.
            drop_reply(out);
            client.reply_mode = ReplyMode::Skip;
        }
        ReplyMode::Off => drop_reply(out),
        ReplyMode::Skip => {
            drop_reply(out);
            client.reply_mode = ReplyMode::On;
        }
    }
}

/// Replaces what is not printable ASCII with `.`, as Redis's protocol error log does.
fn printable(b: &[u8]) -> String {
    b.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }).collect()
}

/// Quotes bytes as Redis's `sdscatrepr`: `"..."` with `\n`, `\r`, `\t`, `\a`, `\b`, `\\`, `\"`
/// escaped and other non-printable bytes as `\xhh`.
pub fn repr(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use tokio::io::AsyncReadExt;

    fn server(cfg: Config) -> Arc<Server> {
        Arc::new(Server::new(cfg, crate::cmd::FAMILIES))
    }

    /// Starts a connection task on an in-memory duplex pipe; returns the client end.
    fn connect(server: &Arc<Server>) -> (tokio::io::DuplexStream, Arc<ClientInfo>) {
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let id = server.clients.next_id();
        let info =
            Arc::new(ClientInfo::new(id, "127.0.0.1:1".into(), "127.0.0.1:2".into(), 5, false));
        server.clients.add(info.clone());
        let (r, w) = tokio::io::split(theirs);
        tokio::spawn(serve(server.clone(), r, w, info.clone()));
        (ours, info)
    }

    /// Reads until the peer closes (or 2 s pass); returns what arrived and whether it closed.
    async fn read_all(c: &mut tokio::io::DuplexStream) -> (Vec<u8>, bool) {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(2), c.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Err(_) => return (got, false),
            }
        }
    }

    /// Reads until `want` bytes arrived.
    async fn read_n(c: &mut tokio::io::DuplexStream, want: usize) -> Vec<u8> {
        let mut got = vec![0u8; want];
        tokio::time::timeout(Duration::from_secs(2), c.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        got
    }

    #[tokio::test]
    async fn pipelined_requests_get_replies_in_order() {
        let s = server(Config::default());
        let (mut c, _) = connect(&s);
        c.write_all(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\n*0\r\nping x\n").await.unwrap();
        assert_eq!(read_n(&mut c, 7 + 8 + 7).await, b"+PONG\r\n$2\r\nhi\r\n$1\r\nx\r\n");
    }

    #[tokio::test]
    async fn protocol_error_replies_then_closes_and_runs_nothing_after() {
        let s = server(Config::default());
        let (mut c, _) = connect(&s);
        c.write_all(b"*1\r\n$4\r\nPING\r\n*1\r\nfoo\r\n*1\r\n$4\r\nPING\r\n").await.unwrap();
        let (got, closed) = read_all(&mut c).await;
        assert_eq!(got, b"+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n");
        assert!(closed);
    }

    #[tokio::test]
    async fn quit_closes_after_its_reply() {
        let s = server(Config::default());
        let (mut c, _) = connect(&s);
        c.write_all(b"QUIT\r\nSET foo bar\r\n").await.unwrap();
        let (got, closed) = read_all(&mut c).await;
        assert_eq!(got, b"+OK\r\n");
        assert!(closed);
    }

    #[tokio::test]
    async fn http_request_is_dropped_silently() {
        let s = server(Config::default());
        let (mut c, _) = connect(&s);
        c.write_all(b"PING\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let (got, closed) = read_all(&mut c).await;
        assert!(got.is_empty(), "nothing is replied, got {got:?}");
        assert!(closed);
        let (mut c, _) = connect(&s);
        c.write_all(b"Host: foo\r\n").await.unwrap();
        assert_eq!(read_all(&mut c).await, (Vec::new(), true));
    }

    #[tokio::test]
    async fn query_buffer_limit_closes_silently() {
        let mut cfg = Config::default();
        cfg.client_query_buffer_limit = 1024 * 1024;
        let s = server(cfg);
        let (mut c, _) = connect(&s);
        let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n".to_vec();
        req.extend(std::iter::repeat_n(b'a', 1_100_000));
        let _ = c.write_all(&req).await;
        let (got, closed) = read_all(&mut c).await;
        assert!(got.is_empty());
        assert!(closed);
    }

    #[tokio::test]
    async fn unauthenticated_limits_and_output_cap() {
        let mut cfg = Config::default();
        cfg.requirepass = Some(b"pw".to_vec());
        let s = server(cfg);
        let (mut c, _) = connect(&s);
        c.write_all(b"GET k\r\n*11\r\n").await.unwrap();
        let (got, closed) = read_all(&mut c).await;
        assert_eq!(
            got,
            concat!(
                "-NOAUTH Authentication required.\r\n",
                "-ERR Protocol error: unauthenticated multibulk length\r\n"
            )
            .as_bytes()
        );
        assert!(closed);
        // Pipelined errors beyond the cap, unread: dropped without a reply.
        let (mut c, _) = connect(&s);
        c.write_all(&b"GET k\r\n".repeat(1000)).await.unwrap();
        let (got, closed) = read_all(&mut c).await;
        assert!(got.is_empty());
        assert!(closed);
        // Once authenticated the limits are gone.
        let (mut c, _) = connect(&s);
        let mut req = b"AUTH pw\r\n".to_vec();
        req.extend(b"*12\r\n");
        for _ in 0..12 {
            req.extend(b"$4\r\nPING\r\n");
        }
        c.write_all(&req).await.unwrap();
        assert_eq!(
            read_n(&mut c, 5 + 51).await,
            b"+OK\r\n-ERR wrong number of arguments for 'ping' command\r\n"
        );
    }

    /// A config with one `client-output-buffer-limit` class set.
    fn obuf_config(limit: [&str; 4]) -> Config {
        let mut cfg = Config::default();
        let args: Vec<String> = limit.map(String::from).to_vec();
        cfg.set("client-output-buffer-limit", &args).unwrap();
        cfg
    }

    /// Starts client 1 over a small pipe whose far end is never read, and returns the server,
    /// the connection task, the writing half of the far end, and a request with a 10 KB reply.
    fn slow_reader(
        cfg: Config,
    ) -> (
        Arc<Server>,
        tokio::task::JoinHandle<()>,
        tokio::io::WriteHalf<tokio::io::DuplexStream>,
        Vec<u8>,
    ) {
        let s = server(cfg);
        let (ours, theirs) = tokio::io::duplex(4096);
        let info = Arc::new(ClientInfo::new(1, "127.0.0.1:1".into(), "x".into(), 5, false));
        s.clients.add(info.clone());
        let (r, w) = tokio::io::split(theirs);
        let task = tokio::spawn(serve(s.clone(), r, w, info));
        let (_unread, cw) = tokio::io::split(ours);
        let mut req = b"ECHO ".to_vec();
        req.extend(std::iter::repeat_n(b'x', 10_000));
        req.extend(b"\r\n");
        (s, task, cw, req)
    }

    #[tokio::test]
    async fn output_buffer_hard_limit_closes_a_slow_reader() {
        let (s, task, mut cw, req) = slow_reader(obuf_config(["normal", "100kb", "0", "0"]));
        // 30 replies of 10 KB, never read: past 100 KB + the 16 KB reply buffer.
        for _ in 0..30 {
            if cw.write_all(&req).await.is_err() {
                break;
            }
        }
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        assert!(s.clients.get(1).is_none());
    }

    #[tokio::test]
    async fn output_buffer_soft_limit_runs_out_without_traffic() {
        let (s, task, mut cw, req) = slow_reader(obuf_config(["normal", "0", "50kb", "1"]));
        for _ in 0..10 {
            cw.write_all(&req).await.unwrap();
        }
        // Over 50 KB beyond the reply buffer now; nothing else is sent. Within the limit's
        // second it stays, after it it goes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(s.clients.get(1).is_some());
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        assert!(s.clients.get(1).is_none());
    }

    #[test]
    fn output_limits_parse_with_defaults() {
        let s = Server::new(obuf_config(["pubsub", "1mb", "2mb", "3"]), crate::cmd::FAMILIES);
        let l = |class| obuf_limit(&s, class);
        assert_eq!(l(0), OBUF_DEFAULTS[0]);
        assert_eq!(l(1), OBUF_DEFAULTS[1]);
        assert_eq!(l(2), ObufLimit { hard: 1 << 20, soft: 2 << 20, soft_secs: 3 });
    }

    #[tokio::test]
    async fn config_set_reaches_the_output_limits() {
        let s = server(Config::default());
        let (mut c, _) = connect(&s);
        c.write_all(b"CONFIG SET client-output-buffer-limit \"normal 1mb 2mb 3\"\r\n").await.unwrap();
        assert_eq!(read_n(&mut c, 5).await, b"+OK\r\n");
        assert_eq!(obuf_limit(&s, 0), ObufLimit { hard: 1 << 20, soft: 2 << 20, soft_secs: 3 });
        assert_eq!(obuf_limit(&s, 2), OBUF_DEFAULTS[2]);
    }

    #[tokio::test]
    async fn client_kill_wakes_an_idle_connection() {
        let s = server(Config::default());
        let (mut c, info) = connect(&s);
        c.write_all(b"PING\r\n").await.unwrap();
        assert_eq!(read_n(&mut c, 7).await, b"+PONG\r\n");
        s.clients.kill(&info);
        assert_eq!(read_all(&mut c).await, (Vec::new(), true));
        assert!(s.clients.get(info.id).is_none());
    }

    #[tokio::test]
    async fn reading_goes_on_while_replies_are_not_read() {
        // A small pipe: the client writes far more replies' worth than it could hold, without
        // reading; the server must keep reading (or this write would never finish).
        let s = server(Config::default());
        let (ours, theirs) = tokio::io::duplex(4096);
        let info = Arc::new(ClientInfo::new(1, "127.0.0.1:1".into(), "x".into(), 5, false));
        s.clients.add(info.clone());
        let (r, w) = tokio::io::split(theirs);
        tokio::spawn(serve(s.clone(), r, w, info.clone()));
        let (mut cr, mut cw) = tokio::io::split(ours);
        let req = b"ECHO aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(2000);
        tokio::time::timeout(Duration::from_secs(5), cw.write_all(&req)).await.unwrap().unwrap();
        cw.write_all(b"PING\r\n").await.unwrap();
        let want = 2000 * (5 + 55 + 2) + 7;
        let mut got = vec![0u8; want];
        tokio::time::timeout(Duration::from_secs(5), cr.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert!(got.ends_with(b"+PONG\r\n"));
    }

    #[tokio::test]
    async fn client_pause_postpones_and_unpause_releases() {
        let s = server(Config::default());
        let (mut a, _) = connect(&s);
        let (mut b, binfo) = connect(&s);
        a.write_all(b"CLIENT PAUSE 100000 WRITE\r\n").await.unwrap();
        assert_eq!(read_n(&mut a, 5).await, b"+OK\r\n");
        // Reads go through, the write waits.
        b.write_all(b"GET k\r\nSET k v\r\nGET k\r\n").await.unwrap();
        assert_eq!(read_n(&mut b, 5).await, b"$-1\r\n");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(binfo.has_flag(flags::BLOCKED));
        assert_eq!(s.stats.blocked_clients.load(Ordering::Relaxed), 1);
        a.write_all(b"CLIENT UNPAUSE\r\n").await.unwrap();
        assert_eq!(read_n(&mut a, 5).await, b"+OK\r\n");
        assert_eq!(read_n(&mut b, 5 + 7).await, b"+OK\r\n$1\r\nv\r\n");
        assert!(!binfo.has_flag(flags::BLOCKED));
        assert_eq!(s.stats.blocked_clients.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn idle_connection_releases_its_buffers() {
        let s = server(Config::default());
        let (mut c, info) = connect(&s);
        c.write_all(b"PING\r\n").await.unwrap();
        assert_eq!(read_n(&mut c, 7).await, b"+PONG\r\n");
        assert_eq!(info.qbuf_cap.load(Ordering::Relaxed), READ_CHUNK);
        tokio::time::sleep(IDLE_FREE + Duration::from_millis(300)).await;
        // The reply buffer is gone. (An in-memory pipe cannot wait for bytes without a buffer,
        // so its query buffer is taken again at once; a socket keeps none: see
        // `socket_connection_holds_no_buffer_until_bytes_arrive`.)
        assert_eq!(info.rbs.load(Ordering::Relaxed), 0);
        c.write_all(b"PING\r\n").await.unwrap();
        assert_eq!(read_n(&mut c, 7).await, b"+PONG\r\n");
        assert_eq!(info.rbs.load(Ordering::Relaxed), REPLY_START);
    }

    #[tokio::test]
    async fn big_argument_buffer_shrinks_afterwards() {
        let s = server(Config::default());
        let (mut c, info) = connect(&s);
        let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$400000\r\n".to_vec();
        req.extend(std::iter::repeat_n(b'A', 400_000));
        req.extend(b"\r\n");
        c.write_all(&req).await.unwrap();
        assert_eq!(read_n(&mut c, 5).await, b"+OK\r\n");
        assert!(info.qbuf_cap.load(Ordering::Relaxed) >= 400_000);
        let mut shrunk = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.write_all(b"SET x y\r\n").await.unwrap();
            assert_eq!(read_n(&mut c, 5).await, b"+OK\r\n");
            let cap = info.qbuf_cap.load(Ordering::Relaxed);
            if cap < 400_000 {
                assert!(cap > 0);
                shrunk = true;
                break;
            }
        }
        assert!(shrunk);
    }

    #[tokio::test]
    async fn connection_task_stays_small() {
        // Every connection pays for its task even while idle (about 1.8 KiB all told, with
        // `ClientInfo`, the client registry and tokio's socket state). Tokio's task cell adds
        // 104 bytes to the future (header 32, scheduler and id 16, stage tag 8, trailer 48)
        // and is 128-aligned: a future of at most 792 bytes keeps it in jemalloc's 896-byte
        // class (1024 above). The rarely armed waits are boxed for this (see `armed`), and the
        // client's rarely used lists are `ThinVec`s.
        let s = server(Config::default());
        let info =
            Arc::new(ClientInfo::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), 5, false));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sock = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        // As `listen::accept_tcp` spawns it.
        let mut sock = sock;
        let task = async move {
            let (r, w) = sock.split();
            serve(s, r, w, info).await;
        };
        let size = std::mem::size_of_val(&task);
        assert!(size <= 792, "connection future grew to {size} bytes");
    }

    #[tokio::test]
    async fn socket_connection_holds_no_buffer_until_bytes_arrive() {
        let s = server(Config::default());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (sock, _) = l.accept().await.unwrap();
        let info =
            Arc::new(ClientInfo::new(s.clients.next_id(), "a:1".into(), "b:2".into(), 5, false));
        s.clients.add(info.clone());
        info.set_socket_open(true);
        let srv = s.clone();
        let i2 = info.clone();
        tokio::spawn(async move {
            let mut sock = sock;
            let (r, w) = sock.split();
            serve(srv, r, w, i2).await;
        });
        // Connected, nothing sent: no reply buffer, and no query buffer once the idle time has
        // passed (a new socket reports itself readable once, which may take one).
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(info.rbs.load(Ordering::Relaxed), 0);
        tokio::time::sleep(IDLE_FREE + Duration::from_millis(300)).await;
        assert_eq!(info.qbuf_cap.load(Ordering::Relaxed), 0);
        assert_eq!(info.rbs.load(Ordering::Relaxed), 0);
        c.write_all(b"PING\r\n").await.unwrap();
        let mut got = [0u8; 7];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"+PONG\r\n");
        // Active: Redis's query buffer size (the suite checks 16 KiB <= qbuf + qbuf-free <
        // 32 KiB); a small reply buffer.
        assert_eq!(info.qbuf_cap.load(Ordering::Relaxed), READ_CHUNK);
        assert_eq!(info.rbs.load(Ordering::Relaxed), REPLY_START);
        // Idle: both released, and not taken again while nothing arrives.
        tokio::time::sleep(IDLE_FREE + Duration::from_millis(300)).await;
        assert_eq!(info.qbuf_cap.load(Ordering::Relaxed), 0);
        assert_eq!(info.rbs.load(Ordering::Relaxed), 0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(info.qbuf_cap.load(Ordering::Relaxed), 0);
        c.write_all(b"PING\r\n").await.unwrap();
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"+PONG\r\n");
        assert_eq!(info.qbuf_cap.load(Ordering::Relaxed), READ_CHUNK);
    }

    #[test]
    fn repr_quotes_like_sdscatrepr() {
        assert_eq!(
            repr(b"a\"b\\\r\n\t\x07\x08\x00\xff"),
            "\"a\\\"b\\\\\\r\\n\\t\\a\\b\\x00\\xff\""
        );
        assert_eq!(printable(b"ab\r\n\x00c"), "ab...c");
    }
}
