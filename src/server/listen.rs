//! Listeners, accepting clients, start-up lines and shutdown.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak, mpsc};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::Server;
use super::client::ClientInfo;

/// The TCP listeners accepting clients, so that CONFIG SET port / bind can replace them.
#[derive(Default)]
pub struct Listeners {
    set: parking_lot::Mutex<ListenerSet>,
    /// The server, to hand to new accept loops (set when serving starts).
    server: OnceLock<Weak<Server>>,
}

#[derive(Default)]
struct ListenerSet {
    /// The (bind, port) the running listeners were bound for.
    bound: Option<(Vec<String>, u16)>,
    running: Vec<Running>,
}

/// One accept loop: how to stop it, and how to learn that its socket is closed.
struct Running {
    stop: Arc<Notify>,
    closed: mpsc::Receiver<()>,
}

impl ListenerSet {
    /// Stops every accept loop and waits (briefly) until their sockets are closed, so that
    /// the addresses can be bound again at once.
    fn stop_all(&mut self) {
        let running = std::mem::take(&mut self.running);
        for r in &running {
            r.stop.notify_one();
        }
        let wait = || {
            for r in &running {
                let _ = r.closed.recv_timeout(Duration::from_secs(1));
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            // On a current-thread runtime the loops can't run while we wait: don't.
            Ok(_) => {}
            Err(_) => wait(),
        }
        self.bound = None;
    }

    fn start(&mut self, server: &Arc<Server>, listeners: Vec<std::net::TcpListener>) {
        for l in listeners {
            let Ok(l) = TcpListener::from_std(l) else { continue };
            let stop = Arc::new(Notify::new());
            let (tx, rx) = mpsc::channel();
            tokio::spawn(accept_loop(server.clone(), l, stop.clone(), tx));
            self.running.push(Running { stop, closed: rx });
        }
    }
}

/// Listens on the `bind` addresses and `port` of the current config, replacing the listeners
/// when they differ (CONFIG SET port / bind). Like Redis, the old listeners are closed first;
/// on failure the server is left without TCP listeners and CONFIG SET restores the old values
/// and calls this again. Port 0 means no TCP listener. The error (also logged) is the reason.
pub fn rebind(server: &Server) -> Result<(), String> {
    let (bind, port, backlog) = {
        let c = server.config.read();
        (c.bind.clone(), c.port, c.tcp_backlog)
    };
    let Some(arc) = server.listeners.server.get().and_then(Weak::upgrade) else {
        return Err("the server is not serving yet".into());
    };
    let mut set = server.listeners.set.lock();
    let wanted = (bind, port);
    if set.bound.as_ref() == Some(&wanted) {
        return Ok(());
    }
    set.stop_all();
    let listeners = if port == 0 {
        Vec::new()
    } else {
        match bind_all(&wanted.0, port, backlog) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("{e}");
                return Err(e);
            }
        }
    };
    set.start(&arc, listeners);
    set.bound = Some(wanted);
    server.port.store(port as u64, Ordering::Relaxed);
    Ok(())
}

/// Binds every address of `bind` on `port`. Addresses prefixed with `-` are optional.
fn bind_all(
    bind: &[String],
    port: u16,
    backlog: u32,
) -> Result<Vec<std::net::TcpListener>, String> {
    let mut out = Vec::new();
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
        let sa: SocketAddr = match format!("{ip}:{port}").parse().or_else(|_| {
            format!("[{ip}]:{port}").parse::<SocketAddr>()
        }) {
            Ok(sa) => sa,
            Err(_) => {
                if optional {
                    continue;
                }
                return Err(format!("Invalid bind address '{addr}'"));
            }
        };
        match listen_socket(sa, backlog) {
            Ok(l) => out.push(l),
            Err(e) => {
                let unavailable = matches!(
                    e.raw_os_error(),
                    Some(libc::EADDRNOTAVAIL) | Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT)
                );
                if optional && unavailable {
                    continue;
                }
                return Err(format!("Could not create server TCP listening socket {addr}:{port}: {e}"));
            }
        }
    }
    Ok(out)
}

fn listen_socket(sa: SocketAddr, backlog: u32) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if sa.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&sa.into())?;
    s.listen(backlog.min(i32::MAX as u32) as i32)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Serves until shutdown; returns the exit code.
pub async fn serve(server: Arc<Server>) -> i32 {
    let _ = server.listeners.server.set(Arc::downgrade(&server));
    let (bind, port, backlog) = {
        let c = server.config.read();
        (c.bind.clone(), c.port, c.tcp_backlog)
    };
    // Port 0 means no TCP listener.
    let listeners = if port == 0 { Ok(Vec::new()) } else { bind_all(&bind, port, backlog) };
    let listeners = match listeners {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("{e}");
            tracing::warn!("Failed listening on port {port} (TCP), aborting.");
            return 1;
        }
    };
    crate::config::process::create_pid_file(&server.config.read());
    crate::logging::banner(&server);
    tracing::warn!("Server initialized");
    let tcp = !listeners.is_empty();
    {
        let mut set = server.listeners.set.lock();
        set.start(&server, listeners);
        set.bound = Some((bind, port));
    }
    tokio::spawn(super::cron::run(server.clone()));
    tokio::spawn(signals(server.clone()));
    if tcp {
        tracing::info!("Ready to accept connections");
    }
    crate::config::process::notify_ready();
    loop {
        server.shutdown.notified().await;
        if server.shutting_down.load(Ordering::Acquire) {
            break;
        }
    }
    crate::config::process::notify_stopping();
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
        tracing::warn!("Received {name} scheduling shutdown...");
        tracing::warn!("User requested shutdown...");
        server.request_shutdown();
    }
}

/// Accepts clients until told to stop; then closes the socket and says so on `closed`.
async fn accept_loop(
    server: Arc<Server>,
    listener: TcpListener,
    stop: Arc<Notify>,
    closed: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.notified() => {
                drop(listener);
                let _ = closed.send(());
                return;
            }
            r = listener.accept() => r,
        };
        let (sock, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning (CVE-2025-48367).
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        accept_one(&server, sock, peer);
    }
}

fn accept_one(server: &Arc<Server>, sock: TcpStream, peer: SocketAddr) {
    let _ = sock.set_nodelay(true);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
    let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
    server.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
    let id = server.clients.next_id();
    let info = Arc::new(ClientInfo::new(id, peer.to_string(), laddr, fd, false));
    let maxclients = server.config.read().maxclients as usize;
    if server.clients.len() >= maxclients {
        server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut sock = sock;
            let _ = sock.write_all(b"-ERR max number of clients reached\r\n").await;
        });
        return;
    }
    server.clients.add(info.clone());
    tokio::spawn(super::conn::serve(server.clone(), sock, info));
}
