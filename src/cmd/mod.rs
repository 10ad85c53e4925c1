//! Command families, one file per Redis command group. Each declares its table rows
//! (`COMMANDS`) next to its handlers; pure keyspace work goes through `store`, replies through
//! `ctx.out`.

pub mod config;
pub mod connection;
pub mod debug;
pub mod keys;
pub mod server;
pub mod string;

use crate::command::Command;

/// Every family's rows, in the order COMMAND lists them.
pub const FAMILIES: &[&[Command]] = &[
    string::COMMANDS,
    keys::COMMANDS,
    connection::COMMANDS,
    server::COMMANDS,
    config::COMMANDS,
    debug::COMMANDS,
];
