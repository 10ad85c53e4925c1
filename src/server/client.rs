//! Client sessions: the state a connection's commands read and change ([`Client`]), and the
//! part other connections can see or act on ([`ClientInfo`], for CLIENT LIST, CLIENT KILL,
//! INFO clients), kept in the server's [`Clients`] registry.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What the rest of the server can see of a connection. Fields other connections read are
/// atomics or behind a small lock, so CLIENT LIST never waits on a busy connection.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    /// `ip:port` of the peer, or the unix socket path.
    pub addr: String,
    /// `ip:port` of our end.
    pub laddr: String,
    pub fd: i32,
    pub created: Instant,
    /// Wall clock of the last command, in milliseconds.
    pub last_interaction_ms: AtomicI64,
    pub db: AtomicUsize,
    /// Command table index of the last command run.
    pub last_cmd: AtomicUsize,
    pub resp: AtomicU8,
    pub name: Mutex<Option<Vec<u8>>>,
    pub lib_name: Mutex<Option<Vec<u8>>>,
    pub lib_ver: Mutex<Option<Vec<u8>>>,
    /// Bytes waiting in the query buffer, and its capacity, at the last read.
    pub qbuf: AtomicUsize,
    pub qbuf_cap: AtomicUsize,
    /// Set when the connection must close (CLIENT KILL, timeout, shutdown).
    pub killed: AtomicBool,
    /// Wakes the connection's task when `killed` is set.
    pub kill: Notify,
    pub unix_socket: bool,
    pub no_evict: AtomicBool,
}

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, unix_socket: bool) -> ClientInfo {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            last_interaction_ms: AtomicI64::new(crate::util::now_ms()),
            db: AtomicUsize::new(0),
            last_cmd: AtomicUsize::new(usize::MAX),
            resp: AtomicU8::new(2),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            qbuf: AtomicUsize::new(0),
            qbuf_cap: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            unix_socket,
            no_evict: AtomicBool::new(false),
        }
    }

    /// Asks the connection to close as soon as it can.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_one();
    }

    /// True when the peer is on this machine (unix socket, 127.0.0.1 or ::1), as Redis's
    /// `islocalClient` decides.
    pub fn is_local(&self) -> bool {
        self.unix_socket
            || self.addr.starts_with("127.0.0.1:")
            || self.addr.starts_with("[::1]:")
            || self.addr.starts_with("::1:")
    }
}

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
    pub info: Arc<ClientInfo>,
}

impl Client {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> Client {
        Client {
            id: info.id,
            db: 0,
            authenticated,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            info,
        }
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: std::sync::atomic::AtomicU64,
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
}
