//! The connection loop: read what the socket has, decode and run every complete request in the
//! buffer, then send all their replies with one write.
//!
//! Protocol errors reply and close after the reply is written; nothing after them in the
//! pipeline runs. Command errors reply and the connection goes on.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};
use smallvec::SmallVec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Server;
use super::client::{Client, ClientInfo, ReplyMode};
use crate::protocol::{Decoded, Decoder, Limits, Reply};

/// Read buffer size for ordinary requests.
const READ_CHUNK: usize = 16 * 1024;
/// Output buffers larger than this are released after they are written.
const OUT_KEEP: usize = 64 * 1024;

/// Serves one connection until it closes.
pub async fn serve<S>(server: Arc<Server>, mut sock: S, info: Arc<ClientInfo>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authenticated = !server.auth_required();
    let mut client = Client::new(info.clone(), authenticated);
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Reply::new();
    let mut dec = Decoder::new();

    'conn: loop {
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        let n = tokio::select! {
            biased;
            _ = info.kill.notified() => break 'conn,
            r = sock.read_buf(&mut rbuf) => match r {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => n,
            },
        };
        if info.killed.load(Ordering::Acquire) {
            break;
        }
        server.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        let (limits, qbuf_limit) = {
            let cfg = server.config.read();
            (
                Limits {
                    proto_max_bulk_len: cfg.proto_max_bulk_len,
                    auth_required: !client.authenticated && cfg.requirepass.is_some(),
                },
                cfg.client_query_buffer_limit as usize,
            )
        };
        if rbuf.len() > qbuf_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                info.id,
                info.addr,
                String::from_utf8_lossy(&rbuf[..rbuf.len().min(64)])
            );
            break;
        }
        info.last_interaction_ms.store(crate::util::now_ms(), Ordering::Relaxed);

        let mut start = 0;
        let mut want = None;
        while start < rbuf.len() && !client.close_after_reply {
            let buf = &rbuf[start..];
            match dec.decode(buf, &limits) {
                Ok(Decoded::Incomplete { want: w }) => {
                    want = w.map(|w| start + w);
                    break;
                }
                Ok(Decoded::Request { consumed }) => {
                    if dec.argc() > 0 {
                        let mut argv: SmallVec<[&[u8]; 8]> = SmallVec::new();
                        dec.args_into(buf, &mut argv);
                        let mark = out.buf.len();
                        server.execute(&mut client, &mut out, &argv);
                        apply_reply_mode(&mut client, &mut out, mark);
                    }
                    start += consumed;
                }
                Err(e) => {
                    tracing::debug!(
                        "Protocol error ({}) from client: id={} addr={}",
                        e.message(),
                        info.id,
                        info.addr
                    );
                    out.error(&e.message());
                    server.stats.count_errors(&mut out);
                    client.close_after_reply = true;
                    break;
                }
            }
        }
        rbuf.advance(start);
        if let Some(w) = want {
            // A big argument: make room for exactly the rest of it.
            let w = w - start;
            if w > rbuf.capacity() {
                rbuf.reserve(w - rbuf.len());
            }
        }
        info.qbuf.store(rbuf.len(), Ordering::Relaxed);
        info.qbuf_cap.store(rbuf.capacity(), Ordering::Relaxed);

        if !out.buf.is_empty() {
            if sock.write_all(&out.buf).await.is_err() {
                break;
            }
            server.stats.net_output_bytes.fetch_add(out.buf.len() as u64, Ordering::Relaxed);
            out.buf.clear();
            if out.buf.capacity() > OUT_KEEP {
                out.buf.shrink_to(READ_CHUNK);
            }
        }
        if client.close_after_reply {
            break;
        }
    }
    let _ = sock.shutdown().await;
    server.clients.remove(info.id);
}

/// Drops the reply just written when CLIENT REPLY OFF or SKIP says so.
fn apply_reply_mode(client: &mut Client, out: &mut Reply, mark: usize) {
    match client.reply_mode {
        ReplyMode::On | ReplyMode::SkipNext => {
            if client.reply_mode == ReplyMode::SkipNext {
                // The SKIP command itself was just answered (silently); skip the next one.
                out.buf.truncate(mark);
                client.reply_mode = ReplyMode::Skip;
            }
        }
        ReplyMode::Off => out.buf.truncate(mark),
        ReplyMode::Skip => {
            out.buf.truncate(mark);
            client.reply_mode = ReplyMode::On;
        }
    }
}
