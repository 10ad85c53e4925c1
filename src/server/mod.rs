//! The server: shared state, listeners, the connection loop, the cron, and shutdown.
//!
//! One tokio runtime; one task per connection; commands run inline on the connection's task
//! (see `conn`). The cron task does the periodic work Redis's `serverCron` does: active expiry,
//! incremental rehashing, client timeouts, instantaneous metrics.

pub mod client;
pub mod conn;
pub mod cron;
pub mod info;
pub mod listen;
pub mod notify;
pub mod pubsub;
pub mod tracking;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use crate::command::{Command, Table};
use crate::config::Config;
use crate::protocol::Reply;
use crate::store::Store;
use client::{Client, Clients};

/// Server-wide counters (INFO stats). Relaxed atomics: they are statistics, not
/// synchronisation.
#[derive(Debug, Default)]
pub struct Stats {
    pub total_connections_received: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Changes since the last save (`rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
    pub errorstats: Mutex<HashMap<String, u64>>,
    /// Clients waiting in a blocking command (a gauge: CONFIG RESETSTAT leaves it).
    pub blocked_clients: AtomicU64,
}

impl Stats {
    /// Counts the errors a reply buffer recorded (total and per code), and forgets them.
    pub fn count_errors(&self, out: &mut Reply) {
        if !out.has_errors() {
            return;
        }
        let errs = out.take_errors();
        self.total_error_replies.fetch_add(errs.len() as u64, Ordering::Relaxed);
        let mut map = self.errorstats.lock();
        for e in errs {
            // Redis stops tracking new error codes past 128 of them.
            if map.len() >= 128 && !map.contains_key(&e) {
                continue;
            }
            *map.entry(e).or_insert(0) += 1;
        }
    }

    /// Resets what CONFIG RESETSTAT resets.
    pub fn reset(&self) {
        for a in [
            &self.total_connections_received,
            &self.total_commands_processed,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.total_error_replies,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.errorstats.lock().clear();
    }
}

/// Everything connections share.
pub struct Server {
    pub store: Store,
    pub table: Table,
    pub config: RwLock<Config>,
    pub stats: Stats,
    pub clients: Clients,
    pub started: Instant,
    /// Unix time of start-up, in seconds.
    pub started_unix: i64,
    /// 40 hex characters, new every start.
    pub run_id: String,
    /// Unix time of the last successful save, in seconds.
    pub lastsave: AtomicI64,
    /// Set once shutdown has begun.
    pub shutting_down: AtomicBool,
    /// Wakes the main task to shut down.
    pub shutdown: tokio::sync::Notify,
    /// The TCP port actually listened on.
    pub port: AtomicU64,
    /// Whether the cron expires keys actively (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    /// The TCP listeners, replaced by CONFIG SET port / bind (`listen::rebind`).
    pub listeners: listen::Listeners,
    /// INFO's state between calls: rates, memory peak, replication ids.
    pub info_state: info::InfoState,
    /// CLIENT PAUSE state.
    pub pause: client::Pause,
    /// Pub/sub channels, patterns and shard channels with their subscribers.
    pub pubsub: pubsub::PubSub,
    /// Client-side caching: the tracking table and tracking clients.
    pub tracking: tracking::Tracking,
    /// The append-only file (`persistence::aof`).
    pub aof: Arc<crate::persistence::aof::Aof>,
    /// RDB save/load state (persistence).
    pub persist: crate::persistence::State,
}

impl Server {
    pub fn new(config: Config, families: &[&'static [Command]]) -> Server {
        let store = Store::new(config.databases);
        // Read before every write command (dispatch's OOM gate); kept in step by the cron's
        // `sync_tunables` on CONFIG SET.
        store.tunables.maxmemory.store(config.maxmemory, Ordering::Relaxed);
        // Read by the connection loop on every batch (same).
        let t = &store.tunables;
        t.proto_max_bulk_len.store(config.proto_max_bulk_len, Ordering::Relaxed);
        t.client_query_buffer_limit.store(config.client_query_buffer_limit, Ordering::Relaxed);
        t.set_obuf_limits(&config.client_output_buffer_limit);
        let table = Table::build(families, &config.renames);
        table.apply_config(&config);
        let now = crate::util::now_ms() / 1000;
        let run_id = {
            use rand::RngExt;
            let mut rng = rand::rng();
            (0..40).map(|_| format!("{:x}", rng.random_range(0..16u8))).collect()
        };
        Server {
            store,
            table,
            port: AtomicU64::new(config.port as u64),
            config: RwLock::new(config),
            stats: Stats::default(),
            clients: Clients::default(),
            started: Instant::now(),
            started_unix: now,
            run_id,
            lastsave: AtomicI64::new(now),
            shutting_down: AtomicBool::new(false),
            shutdown: tokio::sync::Notify::new(),
            active_expire: AtomicBool::new(true),
            listeners: listen::Listeners::default(),
            info_state: info::InfoState::default(),
            pause: client::Pause::default(),
            pubsub: pubsub::PubSub::default(),
            tracking: tracking::Tracking::default(),
            aof: Arc::default(),
            persist: crate::persistence::State::default(),
        }
    }

    /// True when a password is set, so new clients must authenticate.
    #[inline]
    pub fn auth_required(&self) -> bool {
        self.config.read().requirepass.is_some()
    }

    /// True when a protected command (DEBUG, MODULE) may run for this client, following
    /// `enable-debug-command` (`yes`, `no` or `local`).
    pub fn protected_allowed(&self, _cmd: &Command, client: &Client) -> bool {
        match self.config.read().enable_debug_command.as_str() {
            "yes" => true,
            "local" => client.info.is_local(),
            _ => false,
        }
    }

    /// Runs one request for `client`, writing the reply into `out`.
    pub fn execute(&self, client: &mut Client, out: &mut Reply, argv: &[&[u8]]) {
        if client.batch_clock {
            // Added with the batch's other statistics (see `dispatch::PendingCalls`).
            client.pending.commands += 1;
        } else {
            self.stats.total_commands_processed.fetch_add(1, Ordering::Relaxed);
        }
        crate::command::execute(self, client, out, argv);
    }

    /// Asks the server to shut down.
    pub fn request_shutdown(&self) {
        // Refuse new connections now, before the SHUTDOWN client sees its connection close:
        // Redis closes its listeners before exiting, and clients (the suite among them) take
        // that close as "the server is gone" and expect a new connection to be refused.
        self.listeners.close_tcp();
        self.shutting_down.store(true, Ordering::Release);
        self.shutdown.notify_one();
    }
}

/// Builds the server from its config and runs it until shutdown. Returns the exit code.
pub fn run(config: Config) -> i32 {
    // Worker threads. Redis executes every command on one thread (its `io-threads` only add
    // threads for socket reads and writes), so requests that reach it in one order run in
    // that order, even on different connections: a client may send UNSUBSCRIBE on one
    // connection and, without waiting for the reply, PUBLISH on another, and Redis's suite
    // does exactly that. A multi-threaded runtime breaks this (two workers may take the two
    // connections at once, and tokio's LIFO slot runs the connection woken last first), so by
    // default (`io-threads 1`) the server runs on one current-thread runtime, whose run queue
    // keeps the order the sockets became ready in. `io-threads N` (N > 1) trades that
    // ordering for N workers (at most one per core).
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let io_threads = crate::command::table::config_text(&config, "io-threads")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    let workers = io_threads.clamp(1, cores);
    let built = if workers == 1 {
        // Poll the I/O driver once per pass over the ready connections, as Redis's event loop
        // does, not every 61 task polls (tokio's default): strace counted 1703 epoll_wait
        // calls for 50k unpipelined requests from 50 clients before, 1081 after (Redis: 1054).
        tokio::runtime::Builder::new_current_thread().event_interval(512).enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("Failed creating the runtime: {e}");
            return 1;
        }
    };
    let server = Arc::new(Server::new(config, crate::cmd::FAMILIES));
    rt.block_on(listen::serve(server))
}
