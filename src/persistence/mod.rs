//! Persistence: the append-only file (and, from the rdb work, the RDB format). Depends on the
//! store, the command table (to replay commands) and the server's shared state; nothing below
//! depends on it except the hooks that feed it.

pub mod aof;
