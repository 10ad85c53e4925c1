//! The command table and dispatch.
//!
//! Every command is one row of data ([`Command`]: name, arity, flags, key positions, group,
//! docs, handler), declared by its family in `src/cmd/*.rs` next to its handler. Dispatch looks a
//! request's name up, runs Redis's gates in Redis's order (unknown command, subcommand, arity,
//! auth, protected commands; later MULTI queueing, subscribed mode and OOM), locks the shards of
//! the keys the row declares, runs the handler, and keeps the per-command statistics.
//!
//! Handlers never count their own arguments: arity is checked here from the row.
//! Depends on `protocol`, `store` and the server's shared state; never on sockets.

pub mod dispatch;
pub mod table;
pub mod testing;

pub use dispatch::{Ctx, execute};
pub use table::{Command, Handler, KeySpec, Table, flags};
