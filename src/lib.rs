//! rusty-redis-server: a drop-in replacement for `redis-server` 7.0.
//!
//! # Architecture in one page
//!
//! ```text
//! main.rs        redis-server's command line -> Config -> logging -> server::run
//! server/        listeners, one tokio task per connection (conn.rs), the cron, shutdown
//!   conn.rs      read -> decode every complete request -> dispatch each -> one write per batch
//! protocol/      RESP decoder (multibulk + inline, Redis's limits and errors), reply encoder
//!                (RESP2/RESP3 decided in one place), wire strings. Knows no keyspace.
//! command/       the command table as data, and dispatch: gates in Redis's order, shard locking
//!                from each row's key positions, per-command statistics
//! cmd/           one file per command family; each declares its rows next to its handlers
//! store/         databases in shards by key hash, each behind its own lock; compact entries;
//!                a dict with incremental rehash and a SCAN cursor; expiry. No sockets, no RESP.
//! config/        redis.conf and `--name value` parsing, CONFIG GET/SET support
//! util/          strict number parsing and formatting, glob matching, clocks
//! ```
//!
//! A request flows: the connection task reads into its buffer; the decoder yields argv slices
//! without copying; dispatch looks up the row, checks arity and auth, locks the shards of the
//! declared keys, runs the handler, which writes its reply straight into the output buffer;
//! after the batch, one write sends every reply.

pub mod cmd;
pub mod command;
pub mod config;
pub mod logging;
pub mod persistence;
pub mod protocol;
pub mod server;
pub mod store;
pub mod util;

/// The Redis version whose behaviour we reproduce, reported in INFO, HELLO and `-v`.
pub const REDIS_VERSION: &str = "7.0.15";
/// Our own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
