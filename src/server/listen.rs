//! Listeners, accepting clients, start-up lines and shutdown.
//!
//! TCP listeners live in [`Listeners`] so `CONFIG SET port` / `bind` can replace them at run
//! time ([`rebind`]). The unix socket is bound, then chmod-ed, then put to listen, so nobody can
//! connect before its permissions are set (CVE-2023-45145).
//!
//! Admission happens here, before a connection task exists: `maxclients` (`-ERR max number of
//! clients reached`) and protected mode (`-DENIED ...` for a non-loopback peer when the default
//! user has no password).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::Poll;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::task::AbortHandle;

use super::Server;
use super::client::ClientInfo;

/// The text protected mode replies to a non-loopback client before closing it.
const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is \
enabled and no password is set for the default user. In this mode connections are only accepted \
from the loopback interface. If you want to connect from external computers to Redis you may \
adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG \
SET protected-mode no' from the loopback interface by connecting to Redis from the same host the \
server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. \
Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the \
protected mode by editing the Redis configuration file, and setting the protected mode option to \
'no', and then restarting the server. 3) If you started the server manually just for testing, \
restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the \
default user. NOTE: You only need to do one of the above things in order for the server to start \
accepting connections from the outside.\r\n";

const MAX_CLIENTS: &[u8] = b"-ERR max number of clients reached\r\n";

/// One open TCP listener and the task accepting on it.
struct Tcp {
    /// The only strong reference: dropping it closes the socket at once (the accept task holds
    /// it only while polling, never across an await).
    sock: Arc<TcpListener>,
    task: AbortHandle,
}

/// The server's listening sockets.
#[derive(Default)]
pub struct Listeners {
    server: OnceLock<Weak<Server>>,
    tcp: Mutex<Vec<Tcp>>,
    /// The (bind, port) the TCP listeners were opened for.
    bound: Mutex<Option<(Vec<String>, u16)>>,
    /// Path of the unix socket, once bound (removed at shutdown).
    unix_path: Mutex<Option<String>>,
}

impl Listeners {
    /// Returns the server these listeners serve, once serving (for work that must outlive a
    /// command, such as BGSAVE's thread).
    pub fn server(&self) -> Option<Arc<Server>> {
        self.server.get().and_then(Weak::upgrade)
    }
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").field("tcp", &self.tcp.lock().len()).finish()
    }
}

impl Listeners {
    /// Returns the local addresses of the TCP listeners.
    pub fn tcp_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.lock().iter().filter_map(|t| t.sock.local_addr().ok()).collect()
    }

    /// Closes every TCP listener (the caller updates `bound`).
    pub(crate) fn close_tcp(&self) {
        for t in self.tcp.lock().drain(..) {
            t.task.abort();
            drop(t.sock);
        }
    }
}

/// Returns the parsed `tcp-backlog` (511 by default).
fn backlog(server: &Server) -> i32 {
    let cfg = server.config.read();
    cfg.tcp_backlog.min(i32::MAX as u32) as i32
}

/// Returns `unixsocketperm` (octal; 0 means leave the permissions alone).
fn unix_perm(server: &Server) -> u32 {
    let cfg = server.config.read();
    cfg.unixsocketperm
}

/// Binds every address of `bind` on `port`, as Redis's `listenToPort`: an address with a `-`
/// prefix is optional (skipped when it does not exist here), and an unsupported address family
/// is skipped too. No address, or port 0, means no TCP listener.
fn bind_all(bind: &[String], port: u16, backlog: i32) -> Result<Vec<std::net::TcpListener>, ()> {
    let mut out = Vec::new();
    if port == 0 {
        return Ok(out);
    }
    for b in bind {
        let (optional, addr) = match b.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, b.as_str()),
        };
        let ip = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            a => a,
        };
        let result = match resolve(ip, port) {
            Some(sa) => listen_socket(sa, backlog),
            None => Err(std::io::Error::from_raw_os_error(libc::EADDRNOTAVAIL)),
        };
        match result {
            Ok(l) => out.push(l),
            Err(e) => {
                tracing::warn!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: {}",
                    bind_error_text(&e)
                );
                let code = e.raw_os_error();
                if optional && code == Some(libc::EADDRNOTAVAIL) {
                    continue;
                }
                if matches!(
                    code,
                    Some(libc::ENOPROTOOPT)
                        | Some(libc::EPROTONOSUPPORT)
                        | Some(libc::ESOCKTNOSUPPORT)
                        | Some(libc::EPFNOSUPPORT)
                        | Some(libc::EAFNOSUPPORT)
                ) {
                    continue;
                }
                return Err(());
            }
        }
    }
    Ok(out)
}

/// Returns the socket address of a bind address: a literal IP, or a host name resolved to an
/// address of the family its spelling suggests (IPv6 when it contains `:`), as Redis asks
/// getaddrinfo for.
fn resolve(addr: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = addr.parse::<std::net::IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    use std::net::ToSocketAddrs;
    let want_v6 = addr.contains(':');
    (addr, port).to_socket_addrs().ok()?.find(|sa| sa.is_ipv6() == want_v6)
}

/// Formats a bind error as Redis's anet layer does (`bind: Address already in use`).
fn bind_error_text(e: &std::io::Error) -> String {
    let msg = e.to_string();
    // std appends " (os error N)"; Redis prints strerror alone.
    let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
    format!("bind: {msg}")
}

fn listen_socket(sa: SocketAddr, backlog: i32) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if sa.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&sa.into())?;
    s.listen(backlog)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Binds the unix socket: unlink a stale file, bind, chmod, and only then listen.
fn unix_socket(
    path: &str,
    perm: u32,
    backlog: i32,
) -> Result<std::os::unix::net::UnixListener, String> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let _ = std::fs::remove_file(path);
    let addr = SockAddr::unix(path).map_err(|e| format!("unix socket path: {e}"))?;
    let s = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(|e| e.to_string())?;
    s.bind(&addr).map_err(|e| bind_error_text(&e))?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm));
    }
    s.listen(backlog).map_err(|e| format!("listen: {e}"))?;
    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(s.into())
}

/// Starts accepting on already bound TCP listeners, replacing none (the caller closed the old
/// ones).
fn start_tcp(server: &Arc<Server>, socks: Vec<std::net::TcpListener>) {
    let mut tcp = server.listeners.tcp.lock();
    for l in socks {
        let Ok(l) = TcpListener::from_std(l) else { continue };
        let sock = Arc::new(l);
        let weak = Arc::downgrade(&sock);
        let task = tokio::spawn(accept_tcp(server.clone(), weak)).abort_handle();
        tcp.push(Tcp { sock, task });
    }
}

/// Listens on the `bind` addresses and `port` of the current config (CONFIG SET port / bind
/// call this after changing them). Nothing happens when they did not change. The old sockets
/// are closed first, so the same addresses can be bound again; when the new ones cannot all be
/// bound, the previous listeners are bound again and `Err` (the reason, also logged) is
/// returned: CONFIG SET then replies `Unable to listen on this port` or `Failed to bind to
/// specified addresses.` and restores the old values, and calling this again with them is a
/// no-op.
pub fn rebind(server: &Server) -> Result<(), String> {
    let (bind, port) = {
        let c = server.config.read();
        (c.bind.clone(), c.port)
    };
    rebind_to(server, &bind, port)
}

/// [`rebind`] to explicit addresses.
fn rebind_to(server: &Server, bind: &[String], port: u16) -> Result<(), String> {
    let Some(server) = server.listeners.server.get().and_then(Weak::upgrade) else {
        return Err("the server is not serving yet".into());
    };
    let wanted = (bind.to_vec(), port);
    let mut bound = server.listeners.bound.lock();
    if bound.as_ref() == Some(&wanted) {
        return Ok(());
    }
    let old: Vec<SocketAddr> = server.listeners.tcp_addrs();
    let backlog = backlog(&server);
    server.listeners.close_tcp();
    match bind_all(bind, port, backlog) {
        Ok(socks) => {
            start_tcp(&server, socks);
            server.port.store(port as u64, Ordering::Relaxed);
            *bound = Some(wanted);
            Ok(())
        }
        Err(()) => {
            tracing::warn!("Failed to bind");
            // Back to the previous sockets; `bound` still names them.
            let socks: Vec<_> =
                old.into_iter().filter_map(|sa| listen_socket(sa, backlog).ok()).collect();
            start_tcp(&server, socks);
            Err("Failed to bind".into())
        }
    }
}

/// Returns the shared handle of `server` once it serves (for work that outlives a command,
/// such as a background AOF rewrite); `None` before (in-process tests).
pub fn shared(server: &Server) -> Option<Arc<Server>> {
    server.listeners.server.get().and_then(Weak::upgrade)
}

/// Serves until shutdown; returns the exit code.
pub async fn serve(server: Arc<Server>) -> i32 {
    // From here on the process is the server (Redis's role letter turns from C to M).
    crate::logging::set_role(b'M');
    crate::server::info::apply_jemalloc_bg_thread(&server.config.read());
    let _ = server.listeners.server.set(Arc::downgrade(&server));
    let (bind, port, unixsocket) = {
        let c = server.config.read();
        (c.bind.clone(), c.port, c.unixsocket.clone())
    };
    let backlog = backlog(&server);
    let socks = match bind_all(&bind, port, backlog) {
        Ok(l) => l,
        Err(()) => {
            tracing::warn!("Failed listening on port {port} (TCP), aborting.");
            return 1;
        }
    };
    let tcp_count = socks.len();
    let unix = match &unixsocket {
        Some(path) => match unix_socket(path, unix_perm(&server), backlog) {
            Ok(l) => Some((path.clone(), l)),
            Err(e) => {
                tracing::warn!("Failed opening Unix socket: {e}");
                return 1;
            }
        },
        None => None,
    };
    if tcp_count == 0 && unix.is_none() {
        tracing::warn!("Configured to not listen anywhere, exiting.");
        return 1;
    }
    crate::config::process::create_pid_file(&server.config.read());
    crate::logging::banner(&server);
    tracing::warn!("Server initialized");
    // Persistence hook: the AOF is loaded (and opened) before any client is served. With the
    // AOF on, the RDB file is not loaded at all, as in Redis.
    if !crate::persistence::aof::boot(&server) {
        return 1;
    }
    let load_rdb = !crate::persistence::aof::Settings::read(&server).enabled;
    // Clients that connect while the RDB file loads are answered LOADING (persistence).
    if load_rdb && crate::cmd::persist::rdb_path(&server).exists() {
        server.persist.loading.store(true, Ordering::Release);
    }
    start_tcp(&server, socks);
    *server.listeners.bound.lock() = Some((bind, port));
    if let Some((path, l)) = unix
        && let Ok(l) = UnixListener::from_std(l)
    {
        *server.listeners.unix_path.lock() = Some(path.clone());
        tokio::spawn(accept_unix(server.clone(), l, path));
    }
    if load_rdb {
        let srv = server.clone();
        let loaded =
            tokio::task::spawn_blocking(move || crate::cmd::persist::load_at_startup(&srv)).await;
        if !loaded.unwrap_or(false) {
            return 1;
        }
    }
    tokio::spawn(super::cron::run(server.clone()));
    tokio::spawn(signals(server.clone()));
    if tcp_count > 0 {
        tracing::info!("Ready to accept connections");
    }
    if let Some(path) = &unixsocket {
        tracing::info!("The server is now ready to accept connections at {path}");
    }
    crate::config::process::notify_ready();
    loop {
        server.shutdown.notified().await;
        if server.shutting_down.load(Ordering::Acquire) {
            break;
        }
    }
    crate::config::process::notify_stopping();
    // The TCP listeners were closed by `request_shutdown`, the only way here.
    *server.listeners.bound.lock() = None;
    if let Some(path) = server.listeners.unix_path.lock().take() {
        tracing::info!("Removing the unix socket file.");
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!("Error removing the unix socket file: {e}");
        }
    }
    crate::persistence::aof::shutdown(&server);
    crate::config::process::remove_pid_file();
    tracing::warn!("Redis is now ready to exit, bye bye...");
    0
}

async fn signals(server: Arc<Server>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        return;
    };
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        if server.shutting_down.load(Ordering::Acquire) && name == "SIGINT" {
            tracing::warn!("You insist... exiting now.");
            std::process::exit(1);
        }
        let asap = &server.persist.shutdown_asap;
        if name == "SIGINT" && asap.load(Ordering::Acquire) {
            // A second SIGINT while the first one's shutdown (and final save) is pending.
            tracing::warn!("You insist... exiting now.");
            crate::cmd::persist::remove_temp_file(&server);
            std::process::exit(1);
        }
        tracing::warn!("Received {name} scheduling shutdown...");
        // The cron carries it out (with the final save), so SHUTDOWN ABORT can cancel it.
        asap.store(true, Ordering::Release);
    }
}

/// Logs an accept error and backs off briefly, so a full descriptor table (EMFILE) does not
/// turn the loop into a busy spin (CVE-2025-48367).
async fn accept_failed(e: std::io::Error) {
    tracing::warn!("Accepting client connection: {e}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

async fn accept_tcp(server: Arc<Server>, listener: Weak<TcpListener>) {
    loop {
        // The listener is borrowed only inside each poll, so `rebind` closes it by dropping
        // the registry's reference.
        let accepted = std::future::poll_fn(|cx| match listener.upgrade() {
            Some(l) => l.poll_accept(cx).map(Some),
            None => Poll::Ready(None),
        })
        .await;
        match accepted {
            None => return,
            Some(Ok((sock, peer))) => {
                tracing::debug!("Accepted {peer}");
                let _ = sock.set_nodelay(true);
                set_keepalive(&sock, &server);
                let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
                let local = sock.local_addr().ok();
                let Some(info) = admit(&server, |id| ClientInfo::new_tcp(id, peer, local, fd))
                else {
                    reject(sock, MAX_CLIENTS);
                    continue;
                };
                if denied_by_protected_mode(&server, &info) {
                    server.clients.remove(info.id);
                    reject(sock, DENIED);
                    continue;
                }
                server.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
                let server = server.clone();
                info.set_socket_open(true);
                // Captured as it is: a `let mut sock = sock;` inside the task would keep a
                // second copy of the socket in every connection's task.
                let mut sock = sock;
                tokio::spawn(async move {
                    let (r, w) = sock.split();
                    super::conn::serve(server, r, w, info).await;
                });
            }
            Some(Err(e)) => accept_failed(e).await,
        }
    }
}

async fn accept_unix(server: Arc<Server>, listener: UnixListener, path: String) {
    let addr = format!("{path}:0");
    loop {
        match listener.accept().await {
            Ok((sock, _)) => {
                tracing::debug!("Accepted connection to {path}");
                let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
                let new = |id| ClientInfo::new(id, addr.clone(), addr.clone(), fd, true);
                let Some(info) = admit(&server, new) else {
                    reject(sock, MAX_CLIENTS);
                    continue;
                };
                server.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
                let server = server.clone();
                info.set_socket_open(true);
                // Captured as it is: a `let mut sock = sock;` inside the task would keep a
                // second copy of the socket in every connection's task.
                let mut sock = sock;
                tokio::spawn(async move {
                    let (r, w) = sock.split();
                    super::conn::serve(server, r, w, info).await;
                });
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Applies `tcp-keepalive`: probes after that many idle seconds, then every third of it, and
/// gives up after three, as Redis's `anetKeepAlive`.
fn set_keepalive(sock: &tokio::net::TcpStream, server: &Server) {
    let secs = server.config.read().tcp_keepalive;
    if secs == 0 {
        return;
    }
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs))
        .with_interval(Duration::from_secs((secs / 3).max(1)))
        .with_retries(3);
    let _ = socket2::SockRef::from(sock).set_tcp_keepalive(&ka);
}

/// Creates and registers the client of a new connection, unless `maxclients` are connected
/// already (then counts a rejected connection and returns None; no id is used up).
fn admit(server: &Server, new: impl FnOnce(u64) -> ClientInfo) -> Option<Arc<ClientInfo>> {
    let maxclients = server.config.read().maxclients as usize;
    if server.clients.len() >= maxclients {
        server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    let info = Arc::new(new(server.clients.next_id()));
    server.clients.add(info.clone());
    Some(info)
}

/// True (and the rejection counted) when protected mode refuses this peer: protected mode on,
/// no password for the default user, and the peer not on loopback.
fn denied_by_protected_mode(server: &Server, info: &ClientInfo) -> bool {
    let cfg = server.config.read();
    if !cfg.protected_mode || cfg.requirepass.is_some() || info.is_local() {
        return false;
    }
    server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
    true
}

/// Writes a best-effort error line and closes, without holding up the accept loop.
fn reject<S>(mut sock: S, msg: &'static [u8])
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), sock.write_all(msg)).await;
    });
}

/// Time (unix seconds) of the last cross-protocol attack warning; logged at most once a
/// minute.
static SECURITY_WARNED: AtomicI64 = AtomicI64::new(0);

/// Logs the cross-protocol scripting warning (a client sent `POST` or `Host:` as a command),
/// at most once a minute.
pub fn security_warning() {
    let now = crate::util::now_ms() / 1000;
    let last = SECURITY_WARNED.load(Ordering::Relaxed);
    if (now - last).abs() > 60
        && SECURITY_WARNED.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        tracing::warn!(
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: \
             commands to Redis. This is likely due to an attacker attempting to use Cross \
             Protocol Scripting to compromise your Redis instance. Connection aborted."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn optional_and_unsupported_addresses_are_skipped() {
        // 192.0.2.1 (TEST-NET) is not configured here: optional, so skipped.
        let l = bind_all(&strs(&["127.0.0.1", "-192.0.2.1"]), 0, 16).unwrap();
        assert!(l.is_empty(), "port 0 binds nothing");
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let l = bind_all(&strs(&["127.0.0.1", "-192.0.2.1"]), port, 16).unwrap();
        assert_eq!(l.len(), 1);
        // The same address again is busy: a hard failure.
        assert!(bind_all(&strs(&["127.0.0.1"]), port, 16).is_err());
        // A mandatory address that is not here fails; garbage too.
        assert!(bind_all(&strs(&["192.0.2.1"]), port, 16).is_err());
        assert!(bind_all(&strs(&["999.999.999.999"]), port, 16).is_err());
        assert!(bind_all(&[], port, 16).unwrap().is_empty());
        assert_eq!(resolve("localhost", 7), Some("127.0.0.1:7".parse().unwrap()));
        assert_eq!(resolve("::1", 7), Some("[::1]:7".parse().unwrap()));
    }

    #[test]
    fn unix_socket_gets_its_permissions_before_listening() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("rrs-unix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let p = path.to_str().unwrap();
        std::fs::write(&path, b"stale").unwrap();
        let l = unix_socket(p, 0o700, 16).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop(l);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn free_port() -> u16 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    }

    async fn ping(port: u16) -> std::io::Result<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        c.write_all(b"PING\r\n").await?;
        let mut buf = vec![0u8; 7];
        c.read_exact(&mut buf).await?;
        Ok(buf)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rebind_moves_the_listener_and_rolls_back_on_failure() {
        let port = free_port();
        let cfg = crate::config::Config {
            port,
            bind: strs(&["127.0.0.1"]),
            ..crate::config::Config::default()
        };
        let server = Arc::new(Server::new(cfg, crate::cmd::FAMILIES));
        let running = tokio::spawn(serve(server.clone()));
        for _ in 0..100 {
            if !server.listeners.tcp_addrs().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(ping(port).await.unwrap(), b"+PONG\r\n");
        // Same address again: allowed, since the old socket is closed first.
        rebind_to(&server, &strs(&["127.0.0.1"]), port).unwrap();
        assert_eq!(ping(port).await.unwrap(), b"+PONG\r\n");
        // A new port.
        let port2 = free_port();
        rebind_to(&server, &strs(&["127.0.0.1"]), port2).unwrap();
        assert_eq!(ping(port2).await.unwrap(), b"+PONG\r\n");
        assert!(ping(port).await.is_err(), "the old port is closed");
        assert_eq!(server.port.load(Ordering::Relaxed), port2 as u64);
        // A port in use elsewhere: error, and still listening where it was.
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        assert!(rebind_to(&server, &strs(&["127.0.0.1"]), busy_port).is_err());
        assert_eq!(ping(port2).await.unwrap(), b"+PONG\r\n");
        // An address that cannot be bound: same.
        assert!(rebind_to(&server, &strs(&["999.999.999.999"]), port2).is_err());
        assert_eq!(ping(port2).await.unwrap(), b"+PONG\r\n");
        // No address at all: nothing listens.
        rebind_to(&server, &[], port2).unwrap();
        assert!(ping(port2).await.is_err());
        server.request_shutdown();
        assert_eq!(running.await.unwrap(), 0);
    }

    #[test]
    fn bind_errors_read_like_redis() {
        let e = std::io::Error::from_raw_os_error(libc::EADDRINUSE);
        assert_eq!(bind_error_text(&e), "bind: Address already in use");
    }
}
