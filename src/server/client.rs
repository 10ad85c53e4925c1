//! Client sessions: the state a connection's commands read and change ([`Client`]), and the
//! part other connections can see or act on ([`ClientInfo`], for CLIENT LIST, CLIENT KILL,
//! INFO clients), kept in the server's [`Clients`] registry. Also the server-wide client pause
//! ([`Pause`], CLIENT PAUSE / UNPAUSE).
//!
//! Depends on nothing of the keyspace or the protocol: what it renders (CLIENT LIST lines) is
//! plain text.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

use parking_lot::Mutex;
use thin_vec::ThinVec;

use crate::store::blocking::Waiter;
use tokio::sync::Notify;

/// Session flags other connections can see, shown by CLIENT LIST as letters. Families that own
/// the state (transactions, pub/sub, blocking, tracking...) set and clear their bit.
pub mod flags {
    /// `S`: a replica.
    pub const REPLICA: u32 = 1 << 0;
    /// `O`: a MONITOR client.
    pub const MONITOR: u32 = 1 << 1;
    /// `M`: our master.
    pub const MASTER: u32 = 1 << 2;
    /// `P`: subscribed to a channel or a pattern.
    pub const PUBSUB: u32 = 1 << 3;
    /// `x`: inside MULTI.
    pub const MULTI: u32 = 1 << 4;
    /// `b`: blocked (BLPOP and friends, or postponed by CLIENT PAUSE).
    pub const BLOCKED: u32 = 1 << 5;
    /// `t`: client side caching on.
    pub const TRACKING: u32 = 1 << 6;
    /// `R`: the tracking redirection client is gone.
    pub const TRACKING_BROKEN_REDIR: u32 = 1 << 7;
    /// `B`: tracking in broadcast mode.
    pub const TRACKING_BCAST: u32 = 1 << 8;
    /// `d`: a watched key was touched; EXEC will fail.
    pub const DIRTY_CAS: u32 = 1 << 9;
    /// `c`: closing once the reply is written.
    pub const CLOSE_AFTER_REPLY: u32 = 1 << 10;
    /// `u`: unblocked, waiting to run again.
    pub const UNBLOCKED: u32 = 1 << 11;
    /// `A`: closing as soon as possible.
    pub const CLOSE_ASAP: u32 = 1 << 12;
    /// `r`: READONLY mode (cluster).
    pub const READONLY: u32 = 1 << 13;
    /// Not shown: a command queued in MULTI may write or replicate, so EXEC waits out a
    /// CLIENT PAUSE WRITE (set by transactions).
    pub const MULTI_MAY_WRITE: u32 = 1 << 14;
    /// Not shown: tracking in OPTIN mode (set by tracking).
    pub const TRACKING_OPTIN: u32 = 1 << 15;
    /// Not shown: tracking in OPTOUT mode.
    pub const TRACKING_OPTOUT: u32 = 1 << 16;
    /// Not shown: tracking with NOLOOP (no invalidations for the client's own writes).
    pub const TRACKING_NOLOOP: u32 = 1 << 17;
    /// Not shown: CLIENT CACHING YES/NO was given for the next command.
    pub const TRACKING_CACHING: u32 = 1 << 18;

    /// The letters in CLIENT LIST's order (the unix socket `U` and no-evict `e` letters come
    /// from their own fields).
    pub(super) const LETTERS: &[(u32, u8)] = &[
        (MASTER, b'M'),
        (PUBSUB, b'P'),
        (MULTI, b'x'),
        (BLOCKED, b'b'),
        (TRACKING, b't'),
        (TRACKING_BROKEN_REDIR, b'R'),
        (TRACKING_BCAST, b'B'),
        (DIRTY_CAS, b'd'),
        (CLOSE_AFTER_REPLY, b'c'),
        (UNBLOCKED, b'u'),
        (CLOSE_ASAP, b'A'),
    ];
}

/// Client classes, as CLIENT LIST TYPE, CLIENT KILL TYPE and the output buffer limits name
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

impl ClientType {
    /// Parses a type name case-insensitively (`slave` is the old name of `replica`).
    pub fn by_name(name: &[u8]) -> Option<ClientType> {
        match name.to_ascii_lowercase().as_slice() {
            b"normal" => Some(ClientType::Normal),
            b"slave" | b"replica" => Some(ClientType::Replica),
            b"pubsub" => Some(ClientType::Pubsub),
            b"master" => Some(ClientType::Master),
            _ => None,
        }
    }
}

/// What the rest of the server can see of a connection. Fields other connections read are
/// atomics or behind a small lock, so CLIENT LIST never waits on a busy connection.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    /// The peer's address and ours (see [`ClientInfo::addr`], [`ClientInfo::laddr`]).
    addrs: Addrs,
    pub fd: i32,
    /// When the connection was made ([`crate::util::mono_ns`]; 8 bytes where an `Instant`
    /// takes 16).
    created_ns: u64,
    /// Wall clock of the last read or write, in milliseconds.
    pub last_interaction_ms: AtomicI64,
    pub db: AtomicUsize,
    /// Command table index of the last command run.
    pub last_cmd: AtomicUsize,
    pub resp: AtomicU8,
    /// The client's names, a blocked command's wait and the kill notification: boxed on
    /// first use, since most connections never name themselves, block or get killed without
    /// a socket, and 64 inline bytes would put every `ClientInfo` in a larger size class.
    extra: std::sync::OnceLock<Box<Extra>>,
    /// Bytes waiting in the query buffer, and its capacity, at the last read.
    pub qbuf: AtomicUsize,
    pub qbuf_cap: AtomicUsize,
    /// Reply bytes not yet written to the socket, as of the end of the last batch.
    pub obuf_pending: AtomicUsize,
    /// Capacity of the reply buffer, and the most it held since the last check.
    pub rbs: AtomicUsize,
    pub rbp: AtomicUsize,
    /// Set when the connection must close (CLIENT KILL, timeout, shutdown).
    pub killed: AtomicBool,
    /// True while the connection task holds the open socket `fd`: then a kill shuts the socket
    /// down, which wakes the task from its read at no cost to the connection loop. The lock
    /// keeps the descriptor from being closed (and reused) while a killer uses it.
    socket_open: Mutex<bool>,
    pub unix_socket: bool,
    pub no_evict: AtomicBool,
    /// [`flags`] bits.
    pub flags: AtomicU32,
    /// Channel, pattern and shard channel subscriptions (set by pub/sub).
    pub sub: AtomicU32,
    pub psub: AtomicU32,
    pub ssub: AtomicU32,
    /// Commands queued in MULTI, or -1 outside MULTI (set by transactions).
    pub multi: AtomicI32,
    /// Client id that tracking invalidations go to, or -1 (set by tracking).
    pub tracking_redir: AtomicI64,
}

/// A connection's two addresses. IPv4 peers, nearly all of them, are kept as numbers and
/// formatted when asked for (CLIENT LIST, CLIENT KILL, the slow log: all rare): two strings
/// would cost every connection an allocation.
#[derive(Debug)]
enum Addrs {
    /// Peer and local address.
    V4(SocketAddrV4, SocketAddrV4),
    /// The peer's address followed by ours (IPv6, unix socket paths, test names), and where
    /// ours starts.
    Text(Box<str>, u32),
}

impl Addrs {
    fn new(addr: &str, laddr: &str) -> Addrs {
        // Only what formats back to the very same text is stored as numbers.
        let v4 = |s: &str| s.parse::<SocketAddrV4>().ok().filter(|a| a.to_string() == s);
        if let (Some(peer), Some(local)) = (v4(addr), v4(laddr)) {
            return Addrs::V4(peer, local);
        }
        let mut all = String::with_capacity(addr.len() + laddr.len());
        all.push_str(addr);
        all.push_str(laddr);
        Addrs::Text(all.into_boxed_str(), addr.len() as u32)
    }
}

/// The rarely used part of a [`ClientInfo`], allocated by its first use.
#[derive(Debug, Default)]
struct Extra {
    names: Mutex<Names>,
    /// The wait of the blocking command the client is blocked in, if any (CLIENT UNBLOCK).
    waiter: Mutex<Option<Arc<Waiter>>>,
    /// Wakes the connection's task when `killed` is set (connections without a socket of
    /// their own: tests).
    kill: Notify,
}

/// The names a client gave itself (see [`ClientInfo::name`]).
#[derive(Debug, Default)]
struct Names {
    name: Option<Vec<u8>>,
    lib_name: Option<Vec<u8>>,
    lib_ver: Option<Vec<u8>>,
}

/// Which of a client's names (CLIENT SETNAME, CLIENT SETINFO LIB-NAME / LIB-VER).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Name,
    LibName,
    LibVer,
}

impl Names {
    fn slot(&mut self, kind: NameKind) -> &mut Option<Vec<u8>> {
        match kind {
            NameKind::Name => &mut self.name,
            NameKind::LibName => &mut self.lib_name,
            NameKind::LibVer => &mut self.lib_ver,
        }
    }
}

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, unix_socket: bool) -> ClientInfo {
        ClientInfo::with_addrs(id, Addrs::new(&addr, &laddr), fd, unix_socket)
    }

    /// The client of an accepted TCP connection (`local` None: unknown, shown empty).
    pub fn new_tcp(
        id: u64,
        peer: std::net::SocketAddr,
        local: Option<std::net::SocketAddr>,
        fd: i32,
    ) -> ClientInfo {
        use std::net::SocketAddr::V4;
        let addrs = match (peer, local) {
            (V4(p), Some(V4(l))) => Addrs::V4(p, l),
            _ => Addrs::new(&peer.to_string(), &local.map(|l| l.to_string()).unwrap_or_default()),
        };
        ClientInfo::with_addrs(id, addrs, fd, false)
    }

    fn with_addrs(id: u64, addrs: Addrs, fd: i32, unix_socket: bool) -> ClientInfo {
        ClientInfo {
            id,
            addrs,
            fd,
            created_ns: crate::util::mono_ns(),
            last_interaction_ms: AtomicI64::new(crate::util::now_ms()),
            db: AtomicUsize::new(0),
            last_cmd: AtomicUsize::new(usize::MAX),
            resp: AtomicU8::new(2),
            extra: std::sync::OnceLock::new(),
            qbuf: AtomicUsize::new(0),
            qbuf_cap: AtomicUsize::new(0),
            obuf_pending: AtomicUsize::new(0),
            rbs: AtomicUsize::new(0),
            rbp: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            socket_open: Mutex::new(false),
            unix_socket,
            no_evict: AtomicBool::new(false),
            flags: AtomicU32::new(0),
            sub: AtomicU32::new(0),
            psub: AtomicU32::new(0),
            ssub: AtomicU32::new(0),
            multi: AtomicI32::new(-1),
            tracking_redir: AtomicI64::new(-1),
        }
    }

    /// `ip:port` of the peer, or `<unixsocket path>:0`.
    pub fn addr(&self) -> Cow<'_, str> {
        match &self.addrs {
            Addrs::V4(peer, _) => Cow::Owned(peer.to_string()),
            Addrs::Text(all, split) => Cow::Borrowed(&all[..*split as usize]),
        }
    }

    /// `ip:port` of our end, or `<unixsocket path>:0`.
    pub fn laddr(&self) -> Cow<'_, str> {
        match &self.addrs {
            Addrs::V4(_, local) => Cow::Owned(local.to_string()),
            Addrs::Text(all, split) => Cow::Borrowed(&all[*split as usize..]),
        }
    }

    /// Whole seconds since the connection was made (CLIENT LIST's age).
    pub fn age_secs(&self) -> u64 {
        crate::util::mono_ns().saturating_sub(self.created_ns) / 1_000_000_000
    }

    /// Returns a copy of one of the client's names, if set.
    pub fn name_of(&self, kind: NameKind) -> Option<Vec<u8>> {
        self.extra.get().and_then(|e| e.names.lock().slot(kind).clone())
    }

    /// Returns the client name (CLIENT SETNAME), if set.
    pub fn name(&self) -> Option<Vec<u8>> {
        self.name_of(NameKind::Name)
    }

    /// Sets or clears one of the client's names.
    pub fn set_name_of(&self, kind: NameKind, value: Option<Vec<u8>>) {
        if value.is_none() && self.extra.get().is_none() {
            return;
        }
        *self.extra().names.lock().slot(kind) = value;
    }

    /// Sets or clears the client name (CLIENT SETNAME, HELLO SETNAME, RESET).
    pub fn set_name(&self, value: Option<Vec<u8>>) {
        self.set_name_of(NameKind::Name, value);
    }

    fn extra(&self) -> &Extra {
        self.extra.get_or_init(Box::default)
    }

    /// The wait of the blocking command the client is blocked in, if any (CLIENT UNBLOCK).
    pub fn waiter(&self) -> Option<Arc<Waiter>> {
        self.extra.get().and_then(|e| e.waiter.lock().clone())
    }

    /// Records the wait of the blocking command the client is blocked in (`None`: done).
    pub fn set_waiter(&self, w: Option<Arc<Waiter>>) {
        if w.is_some() || self.extra.get().is_some() {
            *self.extra().waiter.lock() = w;
        }
    }

    /// Wakes the connection's task when it is killed, for connections without a socket of
    /// their own (with a socket, a kill shuts the socket down instead).
    pub fn kill_notify(&self) -> &Notify {
        &self.extra().kill
    }

    /// Asks the connection to close as soon as it can.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        let open = self.socket_open.lock();
        if *open {
            // SAFETY: `fd` is the connection's open socket: the task marks it closed (under
            // this lock) before it drops the socket.
            unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
        } else {
            self.kill_notify().notify_one();
        }
    }

    /// Records whether the connection task holds the open socket `fd` (set by the listener
    /// when it starts the task, cleared by the task before it drops the socket).
    pub fn set_socket_open(&self, open: bool) {
        *self.socket_open.lock() = open && self.fd >= 0;
    }

    /// True when a kill reaches the task by shutting its socket down.
    pub fn socket_open(&self) -> bool {
        *self.socket_open.lock()
    }

    /// True once [`ClientInfo::kill`] was called.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// True when the peer is on this machine (unix socket, or exactly 127.0.0.1 or ::1), as
    /// Redis's `islocalClient` decides. 127.0.0.2 is not local.
    pub fn is_local(&self) -> bool {
        match &self.addrs {
            _ if self.unix_socket => true,
            Addrs::V4(peer, _) => *peer.ip() == std::net::Ipv4Addr::LOCALHOST,
            Addrs::Text(..) => {
                let addr = self.addr();
                addr.starts_with("127.0.0.1:") || addr.starts_with("[::1]:")
            }
        }
    }

    /// Sets or clears [`flags`] bits.
    pub fn set_flag(&self, bit: u32, on: bool) {
        if on {
            self.flags.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!bit, Ordering::Relaxed);
        }
    }

    /// True when all of `bit` are set.
    pub fn has_flag(&self, bit: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & bit == bit
    }

    /// Returns the client's class: MONITOR clients count as normal, as in Redis.
    pub fn client_type(&self) -> ClientType {
        let f = self.flags.load(Ordering::Relaxed);
        if f & flags::MASTER != 0 {
            ClientType::Master
        } else if f & flags::REPLICA != 0 && f & flags::MONITOR == 0 {
            ClientType::Replica
        } else if f & flags::PUBSUB != 0 {
            ClientType::Pubsub
        } else {
            ClientType::Normal
        }
    }

    /// True when `timeout` must not close this client: replicas, masters, blocked and pub/sub
    /// clients are exempt, as in Redis.
    pub fn timeout_exempt(&self) -> bool {
        let f = self.flags.load(Ordering::Relaxed);
        f & (flags::REPLICA | flags::MASTER | flags::BLOCKED | flags::PUBSUB) != 0
    }

    /// Seconds since the last interaction.
    pub fn idle_secs(&self, now_ms: i64) -> i64 {
        ((now_ms - self.last_interaction_ms.load(Ordering::Relaxed)) / 1000).max(0)
    }

    /// Returns the CLIENT LIST letters of the flags.
    fn flag_letters(&self, out: &mut Vec<u8>) {
        let f = self.flags.load(Ordering::Relaxed);
        let start = out.len();
        if f & flags::REPLICA != 0 {
            out.push(if f & flags::MONITOR != 0 { b'O' } else { b'S' });
        }
        for &(bit, c) in flags::LETTERS {
            if f & bit != 0 {
                out.push(c);
            }
        }
        if self.unix_socket {
            out.push(b'U');
        }
        if f & flags::READONLY != 0 {
            out.push(b'r');
        }
        if self.no_evict.load(Ordering::Relaxed) {
            out.push(b'e');
        }
        if out.len() == start {
            out.push(b'N');
        }
    }

    /// Appends this client's CLIENT LIST line (without the newline), in Redis 7.0's field
    /// order. `cmd` is the full name of the last command (`client|list`), or `NULL`;
    /// `argv_mem` the bytes of the arguments of the command being run (0 for other clients).
    pub fn write_info_line(&self, out: &mut Vec<u8>, cmd: &str, argv_mem: usize) {
        let pending = self.obuf_pending.load(Ordering::Relaxed);
        self.write_info_line_with(out, cmd, argv_mem, pending);
    }

    /// [`ClientInfo::write_info_line`] with the unsent output given (the running client knows
    /// its own better than the last published figure).
    pub fn write_info_line_with(
        &self,
        out: &mut Vec<u8>,
        cmd: &str,
        argv_mem: usize,
        pending: usize,
    ) {
        use std::io::Write;
        let now = crate::util::now_ms();
        let qbuf = self.qbuf.load(Ordering::Relaxed);
        let qcap = self.qbuf_cap.load(Ordering::Relaxed).max(qbuf);
        let cap = self.rbs.load(Ordering::Relaxed);
        // Redis keeps the first replies in a fixed 16 KiB buffer (rbs, obl) and the rest in a
        // list of 16 KiB blocks (oll, omem); one growable buffer is reported the same way.
        let rbs = cap.min(REPLY_CHUNK);
        let obl = pending.min(REPLY_CHUNK);
        let omem = pending - obl;
        let oll = omem.div_ceil(REPLY_CHUNK);
        let tot_mem = CLIENT_OVERHEAD + qcap + cap.max(pending) + argv_mem;
        let _ = write!(
            out,
            "id={} addr={} laddr={} fd={} name=",
            self.id,
            self.addr(),
            self.laddr(),
            self.fd
        );
        if let Some(e) = self.extra.get()
            && let Some(n) = e.names.lock().name.as_deref()
        {
            out.extend_from_slice(n);
        }
        let _ = write!(
            out,
            " age={} idle={} flags=",
            self.age_secs(),
            self.idle_secs(now)
        );
        self.flag_letters(out);
        let _ = write!(
            out,
            " db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} \
             multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} \
             user=default redir={} resp={}",
            self.db.load(Ordering::Relaxed),
            self.sub.load(Ordering::Relaxed),
            self.psub.load(Ordering::Relaxed),
            self.ssub.load(Ordering::Relaxed),
            self.multi.load(Ordering::Relaxed),
            qbuf,
            qcap - qbuf,
            argv_mem,
            rbs,
            self.rbp.load(Ordering::Relaxed).min(rbs),
            obl,
            oll,
            omem,
            tot_mem,
            cmd,
            if self.has_flag(flags::TRACKING) {
                self.tracking_redir.load(Ordering::Relaxed)
            } else {
                -1
            },
            self.resp.load(Ordering::Relaxed),
        );
    }
}

/// Size of the fixed reply buffer Redis gives each client (see `conn::REPLY_CHUNK`).
const REPLY_CHUNK: usize = 16 * 1024;

/// Fixed memory of a connection besides its buffers, for CLIENT LIST's tot-mem.
const CLIENT_OVERHEAD: usize =
    std::mem::size_of::<ClientInfo>() + std::mem::size_of::<Client>() + 1024;

/// Whether replies are sent (CLIENT REPLY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the reply of the current command.
    Skip,
}

/// The session state of one connection, owned by its task.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub authenticated: bool,
    /// Close the connection once the replies so far are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    pub reply_mode: ReplyMode,
    /// Bytes at the front of the reply buffer already sent when the current batch started;
    /// the rest of the buffer is the unsent output (CLIENT LIST's obl for the caller).
    pub out_written: usize,
    pub info: Arc<ClientInfo>,
    /// The blocking command this client waits in (BLPOP and friends), if any. While set, the
    /// connection runs none of its further requests.
    pub blocked: Option<Box<BlockedCmd>>,
    /// The transaction being queued (inside MULTI), if any.
    pub multi: Option<Box<MultiState>>,
    /// Keys this client WATCHes: (database, key), each once. This and the two tracking lists
    /// are `ThinVec`s (8 bytes, not 24, while empty, as nearly always): every connection's task
    /// carries them (see `connection_task_stays_small`).
    pub watched: ThinVec<(usize, Vec<u8>)>,
    /// Set (by any connection, under the key's shard lock) when a watched key is touched: the
    /// next EXEC fails. Shared with the watch registry; allocated by the first WATCH.
    pub watch_dirty: WatchFlag,
    /// True while EXEC runs the queued commands: blocking commands reply as on timeout.
    pub in_exec: bool,
    /// Pub/sub subscriptions and the inbox messages arrive in (created on first subscribe).
    pub pubsub: Option<Box<super::pubsub::Subscriptions>>,
    /// Set by a command whose reply is a RESP3 push (subscribe confirmations): CLIENT REPLY
    /// OFF / SKIP do not silence it, as Redis lets pushes through.
    pub reply_is_push: bool,
    /// Client-side caching invalidations due to this connection, produced by the command
    /// running (or the transaction): sent after its reply (see `server::tracking`).
    pub tracking_pending: ThinVec<u8>,
    /// Keys modified by the commands of the running transaction, for BCAST clients once it is
    /// done: (key, changed by the command itself).
    pub tracking_bcast: ThinVec<(Vec<u8>, bool)>,
    /// AOF offset this client's replies wait for: the end of what its last propagated command
    /// appended (see `persistence::aof`).
    pub aof_need: u64,
    /// A wall-clock reading (microseconds) the next command may take as its start, instead of
    /// reading the clock again: set by the connection loop while it runs a batch of requests
    /// (the read that brought them, then the end of each command); 0 = read the clock. On
    /// these VMs a clock read costs as much as a small command's work.
    pub clock_us: i64,
    /// True while the connection loop runs a batch: each command leaves its end reading in
    /// `clock_us` for the next one.
    pub batch_clock: bool,
    /// With `clock_us` in a batch, once the time-stamp counter is calibrated: the counter
    /// when the wall clock read `clock_us`, and at the end of the previous command (0: none
    /// yet). Commands then take their clock from the counter (see `dispatch::execute`).
    pub clock_tsc: u64,
    pub last_tsc: u64,
    /// Statistics of this batch's calls not yet added to the shared counters (see
    /// `command::dispatch::PendingCalls`); empty outside a batch.
    pub pending: crate::command::dispatch::PendingCalls,
    /// The last command name looked up and its table index (see `dispatch::NameCache`).
    pub name_cache: crate::command::dispatch::NameCache,
}

/// A client's "a watched key was touched" flag, shared with the watch registry. Allocated on
/// the first WATCH: most connections never watch, and every connection would otherwise hold
/// an allocation for it.
#[derive(Debug, Default)]
pub struct WatchFlag(Option<Arc<AtomicBool>>);

impl WatchFlag {
    /// True when a watched key was touched since the flag was last cleared.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Clears the flag (EXEC, UNWATCH, DISCARD).
    pub fn clear(&self) {
        if let Some(f) = &self.0 {
            f.store(false, Ordering::Relaxed);
        }
    }

    /// Returns the flag for the watch registry, allocating it on first use.
    pub fn shared(&mut self) -> Arc<AtomicBool> {
        self.0.get_or_insert_with(|| Arc::new(AtomicBool::new(false))).clone()
    }
}

/// A transaction being queued between MULTI and EXEC.
#[derive(Debug, Default)]
pub struct MultiState {
    /// The queued commands: table index and owned arguments.
    pub queue: Vec<(usize, Vec<Vec<u8>>)>,
    /// A command was rejected while queueing: EXEC replies EXECABORT.
    pub error: bool,
    /// The union of the queued commands' flags (EXEC's OOM check).
    pub cmd_flags: u32,
}

/// A blocking command that is waiting.
#[derive(Debug)]
pub struct BlockedCmd {
    pub waiter: Arc<Waiter>,
    /// When the wait times out (wall clock, ms); `None` waits forever.
    pub deadline_ms: Option<i64>,
    /// The command's table index, and its arguments (its stats and the slow log are recorded
    /// when it completes, as Redis counts a blocked command's call once, on unblocking).
    pub entry: usize,
    pub argv: Vec<Vec<u8>>,
    /// When it started (monotonic ns).
    pub started_ns: u64,
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Client {
        Client {
            id: info.id,
            db: 0,
            authenticated,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            out_written: 0,
            info,
            blocked: None,
            multi: None,
            watched: ThinVec::new(),
            watch_dirty: WatchFlag::default(),
            in_exec: false,
            pubsub: None,
            reply_is_push: false,
            tracking_pending: ThinVec::new(),
            tracking_bcast: ThinVec::new(),
            aof_need: 0,
            clock_us: 0,
            batch_clock: false,
            clock_tsc: 0,
            last_tsc: 0,
            pending: Default::default(),
            name_cache: Default::default(),
        }
    }

    /// Leaves MULTI, dropping the queued commands (EXEC, DISCARD, RESET, disconnection).
    pub fn discard_multi(&mut self) {
        self.multi = None;
        self.info.multi.store(-1, Ordering::Relaxed);
        self.info.set_flag(flags::MULTI | flags::MULTI_MAY_WRITE, false);
    }

    /// Marks the transaction being queued, if any, as doomed (EXEC replies EXECABORT): a
    /// command was rejected while queueing.
    #[inline]
    pub fn flag_multi_error(&mut self) {
        if let Some(m) = &mut self.multi {
            m.error = true;
        }
    }

    /// Returns the session to a new connection's state, as RESET does (the caller resets the
    /// protocol version of its reply buffer). Families that keep more session state here
    /// (MULTI, subscriptions, tracking) clear theirs in this function too. Kept as Redis keeps
    /// them: the client id, no-evict, and the library name and version.
    pub fn reset_session(&mut self, authenticated: bool) {
        self.db = 0;
        self.info.db.store(0, Ordering::Relaxed);
        self.info.resp.store(2, Ordering::Relaxed);
        self.authenticated = authenticated;
        self.info.set_name(None);
        // A reply already being skipped stays skipped (RESET's own "+RESET" is then silent),
        // as Redis clears only the OFF and SKIP_NEXT flags.
        if self.reply_mode != ReplyMode::Skip {
            self.reply_mode = ReplyMode::On;
        }
        self.info.set_flag(flags::READONLY | flags::TRACKING | flags::TRACKING_BCAST, false);
        self.info.tracking_redir.store(-1, Ordering::Relaxed);
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl Clients {
    /// Returns a fresh client id (ids start at 1 and are never reused).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn add(&self, c: Arc<ClientInfo>) {
        self.map.lock().insert(c.id, c);
    }

    pub fn remove(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns every client, in id order.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.map.lock().values().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.map.lock().get(&id).cloned()
    }

    /// Closes a client now: it leaves the registry at once (so CLIENT LIST and
    /// connected_clients stop counting it, as when Redis frees a client) and its task is woken
    /// to drop the connection.
    pub fn kill(&self, c: &ClientInfo) {
        self.remove(c.id);
        c.kill();
    }
}

/// What CLIENT PAUSE suspends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseKind {
    Off = 0,
    /// Commands that may change the dataset.
    Write = 1,
    /// Every command.
    All = 2,
}

/// The server-wide client pause (CLIENT PAUSE / UNPAUSE). Connections check [`Pause::active`]
/// (one atomic load) before each command, and only when it is set look closer.
#[derive(Debug)]
pub struct Pause {
    active: AtomicBool,
    state: Mutex<(PauseKind, i64)>,
    /// Woken when the pause is lifted early (UNPAUSE); the end time itself is slept on.
    lifted: Notify,
}

impl Default for Pause {
    fn default() -> Self {
        Pause {
            active: AtomicBool::new(false),
            state: Mutex::new((PauseKind::Off, 0)),
            lifted: Notify::new(),
        }
    }
}

impl Pause {
    /// Pauses clients until `end_ms`. A pause already in force keeps the stricter kind and the
    /// later end, as Redis merges them.
    pub fn pause(&self, kind: PauseKind, end_ms: i64) {
        let mut st = self.state.lock();
        let now = crate::util::now_ms();
        if st.0 == PauseKind::Off || st.1 <= now {
            *st = (kind, end_ms);
        } else {
            st.0 = st.0.max(kind);
            st.1 = st.1.max(end_ms);
        }
        self.active.store(true, Ordering::Release);
    }

    /// Lifts the pause and wakes every postponed client.
    pub fn unpause(&self) {
        *self.state.lock() = (PauseKind::Off, 0);
        self.active.store(false, Ordering::Release);
        self.lifted.notify_waiters();
    }

    /// True while a pause may be in force (cheap; check [`Pause::blocks`] before acting).
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Returns the end of the pause if a command that writes (`writes`) or not must wait now.
    pub fn blocks(&self, writes: bool) -> Option<i64> {
        let mut st = self.state.lock();
        let now = crate::util::now_ms();
        if st.0 == PauseKind::Off || st.1 <= now {
            if st.0 != PauseKind::Off {
                *st = (PauseKind::Off, 0);
                self.active.store(false, Ordering::Release);
            }
            return None;
        }
        (st.0 == PauseKind::All || writes).then_some(st.1)
    }

    /// True while writes are paused (CLIENT PAUSE WRITE or ALL): keys must not be expired for
    /// real then, only look expired, as Redis keeps the dataset still during a pause.
    pub fn writes_paused(&self) -> bool {
        self.active() && self.blocks(true).is_some()
    }

    /// Waits until the pause may have ended: its end time, or an UNPAUSE.
    pub async fn wait(&self, end_ms: i64) {
        let lifted = self.lifted.notified();
        tokio::pin!(lifted);
        // Register before re-checking, so an UNPAUSE in between is not missed.
        lifted.as_mut().enable();
        if !self.active() {
            return;
        }
        let left = (end_ms - crate::util::now_ms()).max(0) as u64;
        tokio::select! {
            _ = lifted => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(left)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(addr: &str, unix: bool) -> ClientInfo {
        ClientInfo::new(7, addr.into(), "127.0.0.1:6379".into(), 9, unix)
    }

    #[test]
    fn local_peers_are_exactly_loopback_or_unix() {
        assert!(info("127.0.0.1:5000", false).is_local());
        assert!(info("[::1]:5000", false).is_local());
        assert!(info("/tmp/redis.sock:0", true).is_local());
        assert!(!info("127.0.0.2:5000", false).is_local());
        assert!(!info("10.0.0.1:5000", false).is_local());
        assert!(!info("[::ffff:127.0.0.1]:5000", false).is_local());
    }

    #[test]
    fn info_line_has_redis_field_order() {
        let c = info("127.0.0.1:5000", false);
        c.set_name(Some(b"conn1".to_vec()));
        c.qbuf.store(26, Ordering::Relaxed);
        c.qbuf_cap.store(16384, Ordering::Relaxed);
        c.rbs.store(16384, Ordering::Relaxed);
        let mut out = Vec::new();
        c.write_info_line(&mut out, "client|list", 10);
        let line = String::from_utf8(out).unwrap();
        let keys: Vec<&str> = line.split(' ').map(|f| f.split('=').next().unwrap()).collect();
        let expected = "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free \
                        argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp";
        assert_eq!(keys, expected.split(' ').collect::<Vec<_>>());
        assert!(line.starts_with("id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=9 name=conn1 "));
        assert!(
            line.contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=16358 ")
        );
        assert!(line.contains(" obl=0 oll=0 omem=0 "));
        assert!(line.ends_with(" events=r cmd=client|list user=default redir=-1 resp=2"));
    }

    #[test]
    fn flag_letters_follow_redis_order() {
        let c = info("/tmp/s:0", true);
        c.set_flag(flags::MULTI | flags::PUBSUB, true);
        c.no_evict.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        c.flag_letters(&mut out);
        assert_eq!(out, b"PxUe");
        c.set_flag(flags::MULTI | flags::PUBSUB, false);
        c.no_evict.store(false, Ordering::Relaxed);
        out.clear();
        c.flag_letters(&mut out);
        assert_eq!(out, b"U");
    }

    #[test]
    fn client_types() {
        let c = info("127.0.0.1:1", false);
        assert_eq!(c.client_type(), ClientType::Normal);
        c.set_flag(flags::PUBSUB, true);
        assert_eq!(c.client_type(), ClientType::Pubsub);
        assert!(c.timeout_exempt());
        c.set_flag(flags::REPLICA | flags::MONITOR, true);
        assert_eq!(c.client_type(), ClientType::Pubsub);
        assert_eq!(ClientType::by_name(b"SLAVE"), Some(ClientType::Replica));
        assert_eq!(ClientType::by_name(b"nope"), None);
    }

    #[test]
    fn pause_merges_and_lifts() {
        let p = Pause::default();
        assert!(!p.active());
        let far = crate::util::now_ms() + 60_000;
        p.pause(PauseKind::Write, far);
        assert!(p.active());
        assert_eq!(p.blocks(false), None);
        assert_eq!(p.blocks(true), Some(far));
        // A shorter ALL pause keeps the later end and becomes ALL.
        p.pause(PauseKind::All, far - 30_000);
        assert_eq!(p.blocks(false), Some(far));
        assert!(p.writes_paused());
        p.unpause();
        assert!(!p.active());
        assert!(!p.writes_paused());
        assert_eq!(p.blocks(true), None);
        // An elapsed pause ends by itself.
        p.pause(PauseKind::All, crate::util::now_ms() - 1);
        assert_eq!(p.blocks(false), None);
        assert!(!p.active());
    }

    #[test]
    fn client_info_stays_in_its_size_class() {
        // Every connection pays for one `Arc<ClientInfo>` (16 bytes of counts + the struct):
        // at most 192 bytes keeps it in jemalloc's 192-byte class.
        let size = std::mem::size_of::<ClientInfo>();
        assert!(size + 16 <= 192, "ClientInfo grew to {size} bytes");
    }

    #[test]
    fn addresses_and_names() {
        let c = ClientInfo::new(3, "10.0.0.1:4000".into(), "10.0.0.2:6379".into(), 4, false);
        assert!(matches!(c.addrs, Addrs::V4(..)));
        assert_eq!((&*c.addr(), &*c.laddr()), ("10.0.0.1:4000", "10.0.0.2:6379"));
        for (a, l) in [("[::1]:4000", "[::1]:6379"), ("/tmp/r.sock:0", "/tmp/r.sock:0"), ("x", "")]
        {
            let t = ClientInfo::new(5, a.into(), l.into(), 4, false);
            assert!(matches!(t.addrs, Addrs::Text(..)));
            assert_eq!((&*t.addr(), &*t.laddr()), (a, l));
        }
        let v4 = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        let t = ClientInfo::new_tcp(8, v4("10.0.0.1:4000"), Some(v4("10.0.0.2:6379")), 4);
        assert!(matches!(t.addrs, Addrs::V4(..)) && t.laddr() == "10.0.0.2:6379");
        let t = ClientInfo::new_tcp(9, v4("[::1]:4000"), None, 4);
        assert_eq!((&*t.addr(), &*t.laddr()), ("[::1]:4000", ""));
        assert!(t.is_local());
        // Not the canonical text of an IPv4 address: kept as given.
        let odd = ClientInfo::new(6, "010.0.0.1:0080".into(), "10.0.0.2:6379".into(), 4, false);
        assert_eq!(&*odd.addr(), "010.0.0.1:0080");
        c.set_name(None);
        assert!(c.extra.get().is_none());
        c.set_name_of(NameKind::LibName, Some(b"redis-py".to_vec()));
        c.set_name(Some(b"worker".to_vec()));
        assert_eq!(c.name().as_deref(), Some(&b"worker"[..]));
        assert_eq!(c.name_of(NameKind::LibName).as_deref(), Some(&b"redis-py"[..]));
        assert_eq!(c.name_of(NameKind::LibVer), None);
        let mut line = Vec::new();
        c.write_info_line(&mut line, "NULL", 0);
        let head = b"id=3 addr=10.0.0.1:4000 laddr=10.0.0.2:6379 fd=4 name=worker age=";
        assert!(line.starts_with(head));
        c.set_name(None);
        c.set_name_of(NameKind::LibName, None);
        assert_eq!(c.name(), None);
        assert_eq!(c.name_of(NameKind::LibName), None);
        // A blocked command's wait lives in the same box; clearing allocates nothing.
        let d = ClientInfo::new(4, "a:1".into(), "b:2".into(), 5, false);
        d.set_waiter(None);
        assert!(d.extra.get().is_none() && d.waiter().is_none());
        assert_eq!(c.age_secs(), 0);
    }

    #[test]
    fn watch_flag_is_allocated_by_first_use() {
        let mut w = WatchFlag::default();
        assert!(!w.is_set());
        w.clear();
        assert!(w.0.is_none());
        let shared = w.shared();
        shared.store(true, Ordering::Relaxed);
        assert!(w.is_set());
        assert!(Arc::ptr_eq(&shared, &w.shared()));
        w.clear();
        assert!(!w.is_set() && !shared.load(Ordering::Relaxed));
    }

    #[test]
    fn registry_kill_removes_at_once() {
        let clients = Clients::default();
        let id = clients.next_id();
        let c = Arc::new(ClientInfo::new(id, "127.0.0.1:1".into(), "x".into(), 1, false));
        clients.add(c.clone());
        assert_eq!(clients.len(), 1);
        clients.kill(&c);
        assert!(clients.is_empty());
        assert!(c.is_killed());
        assert!(clients.next_id() > id);
    }
}
