//! Persistence: Redis's RDB format (values, DUMP payloads, files) and the save and load
//! machinery around it, and the append-only file. The RDB side depends on `store` for the
//! values it serializes and knows nothing of sockets or RESP; the AOF also depends on the
//! command table (to replay commands) and the server's shared state. Nothing below depends on
//! this module except the hooks that feed it.

pub mod aof;
pub mod child;
pub mod file;
pub mod listpack;
pub mod rdb;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

/// A connection MIGRATE keeps open to a target (`host:port`), with the database last
/// selected on it (-1 when unknown) and when it was last used.
#[derive(Debug)]
pub struct MigrateConn {
    pub stream: std::net::TcpStream,
    pub last_db: i64,
    pub last_use: std::time::Instant,
}

/// Save and load state the server keeps (INFO's persistence section, BGSAVE bookkeeping).
/// Relaxed atomics: each field is read on its own.
#[derive(Debug)]
pub struct State {
    /// A background save is running.
    pub bgsave_in_progress: AtomicBool,
    /// The running background save must stop (SHUTDOWN, FLUSHALL).
    pub bgsave_cancel: AtomicBool,
    /// BGSAVE SCHEDULE asked for one to start when the running one ends.
    pub bgsave_scheduled: AtomicBool,
    /// The running background save was stopped by a shutdown: its end is not logged, as
    /// Redis exits without reaping the child it killed.
    pub bgsave_killed_by_shutdown: AtomicBool,
    /// When the running background save started (ms).
    pub bgsave_started_ms: AtomicI64,
    /// The last background save succeeded (`rdb_last_bgsave_status`).
    pub last_bgsave_ok: AtomicBool,
    /// Duration of the last background save in seconds, -1 before the first.
    pub last_bgsave_secs: AtomicI64,
    /// When the last background save was attempted (ms), for the retry delay after a failure.
    pub last_bgsave_try_ms: AtomicI64,
    /// Successful saves (`rdb_saves`).
    pub saves: AtomicU64,
    /// Loading is in progress (`loading`): commands without the LOADING flag are refused.
    pub loading: AtomicBool,
    /// The load in progress: when it started (s), the file's size, the bytes read so far, and
    /// the `used-mem` the file recorded.
    pub loading_start: AtomicI64,
    pub loading_total: AtomicU64,
    pub loading_loaded: AtomicU64,
    /// Keys loaded and keys skipped as expired by the last load.
    pub last_load_keys: AtomicU64,
    pub last_load_expired: AtomicU64,
    /// A SIGTERM/SIGINT asked for a shutdown that the cron carries out (SHUTDOWN ABORT
    /// cancels it meanwhile), as Redis's `shutdown_asap`.
    pub shutdown_asap: AtomicBool,
    /// MIGRATE's cached connections, by `host:port` (`migrate_cached_sockets`).
    pub migrate: parking_lot::Mutex<HashMap<String, MigrateConn>>,
    /// The running background save's (or rewrite's) progress: INFO's `current_*` fields.
    pub progress: file::SaveProgress,
    /// Copy-on-write bytes of the last background save and of the last AOF rewrite
    /// (`rdb_last_cow_size`, `aof_last_cow_size`).
    pub rdb_last_cow: AtomicU64,
    pub aof_last_cow: AtomicU64,
    /// Save children started (BGSAVE; rewrites count theirs in `AofStats::forks`), and how
    /// long the last start took in microseconds (`latest_fork_usec`).
    pub forks: AtomicU64,
    pub latest_fork_usec: AtomicU64,
}

impl Default for State {
    fn default() -> Self {
        State {
            bgsave_in_progress: AtomicBool::new(false),
            bgsave_cancel: AtomicBool::new(false),
            bgsave_scheduled: AtomicBool::new(false),
            bgsave_killed_by_shutdown: AtomicBool::new(false),
            bgsave_started_ms: AtomicI64::new(0),
            last_bgsave_ok: AtomicBool::new(true),
            last_bgsave_secs: AtomicI64::new(-1),
            last_bgsave_try_ms: AtomicI64::new(0),
            saves: AtomicU64::new(0),
            loading: AtomicBool::new(false),
            loading_start: AtomicI64::new(0),
            loading_total: AtomicU64::new(0),
            loading_loaded: AtomicU64::new(0),
            last_load_keys: AtomicU64::new(0),
            last_load_expired: AtomicU64::new(0),
            shutdown_asap: AtomicBool::new(false),
            migrate: parking_lot::Mutex::new(HashMap::new()),
            progress: file::SaveProgress::default(),
            rdb_last_cow: AtomicU64::new(0),
            aof_last_cow: AtomicU64::new(0),
            forks: AtomicU64::new(0),
            latest_fork_usec: AtomicU64::new(0),
        }
    }
}
