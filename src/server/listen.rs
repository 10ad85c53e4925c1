//! Listeners, accepting clients, start-up lines and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::{TcpListener, TcpStream};

use super::Server;
use super::client::ClientInfo;

/// Binds every address of `bind` on `port`. Addresses prefixed with `-` are optional.
fn bind_all(bind: &[String], port: u16) -> Result<Vec<std::net::TcpListener>, String> {
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
        match listen_socket(sa) {
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

fn listen_socket(sa: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if sa.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&sa.into())?;
    s.listen(511)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Serves until shutdown; returns the exit code.
pub async fn serve(server: Arc<Server>) -> i32 {
    let (bind, port) = {
        let c = server.config.read();
        (c.bind.clone(), c.port)
    };
    let listeners = match bind_all(&bind, port) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("{e}");
            tracing::warn!("Failed listening on port {port} (TCP), aborting.");
            return 1;
        }
    };
    crate::logging::banner(&server);
    tracing::warn!("Server initialized");
    for l in listeners {
        let Ok(l) = TcpListener::from_std(l) else { continue };
        tokio::spawn(accept_loop(server.clone(), l));
    }
    tokio::spawn(super::cron::run(server.clone()));
    tokio::spawn(signals(server.clone()));
    tracing::info!("Ready to accept connections");
    loop {
        server.shutdown.notified().await;
        if server.shutting_down.load(Ordering::Acquire) {
            break;
        }
    }
    tracing::info!("Redis is now ready to exit, bye bye...");
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

async fn accept_loop(server: Arc<Server>, listener: TcpListener) {
    loop {
        let (sock, peer) = match listener.accept().await {
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
