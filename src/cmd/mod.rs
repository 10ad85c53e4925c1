//! Command families, one file per Redis command group. Each declares its table rows
//! (`COMMANDS`) next to its handlers; pure keyspace work goes through `store`, replies through
//! `ctx.out`.

pub mod aof;
pub mod blocking;
pub mod config;
pub mod connection;
pub mod debug;
pub mod hash;
pub mod keys;
pub mod list;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod zset;

use crate::command::Command;

/// Every family's rows, in the order COMMAND lists them.
pub const FAMILIES: &[&[Command]] = &[
    string::COMMANDS,
    list::COMMANDS,
    blocking::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    zset::COMMANDS,
    keys::COMMANDS,
    persist::COMMANDS,
    sort::COMMANDS,
    multi::COMMANDS,
    connection::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    config::COMMANDS,
    debug::COMMANDS,
    aof::COMMANDS,
];
