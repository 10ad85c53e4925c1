//! Connection commands: PING, ECHO, QUIT, SELECT, and (to come) HELLO, AUTH, RESET, CLIENT.

use crate::command::{Command, Ctx, flags::*};
use crate::protocol::errors;
use crate::util::parse_i64_strict;

/// PING [message]
fn ping(ctx: &mut Ctx, argv: &[&[u8]]) {
    match argv.get(1) {
        None => ctx.out.simple(b"PONG"),
        Some(m) => ctx.out.bulk(m),
    }
}

/// ECHO message
fn echo(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.bulk(argv[1]);
}

/// QUIT
fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// SELECT index
fn select(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(n) = parse_i64_strict(argv[1]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if n < 0 || n as usize >= ctx.server.store.databases() {
        return ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
    }
    ctx.select(n as usize);
    ctx.out.ok();
}

pub const COMMANDS: &[Command] = &[
    Command {
        group: "connection",
        summary: "Ping the server",
        acl: &["connection"],
        ..Command::new("ping", -1, FAST, ping)
    },
    Command {
        group: "connection",
        summary: "Echo the given string",
        acl: &["connection"],
        ..Command::new("echo", 2, FAST, echo)
    },
    Command {
        group: "connection",
        summary: "Close the connection",
        acl: &["connection"],
        ..Command::new("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, quit)
    },
    Command {
        group: "connection",
        summary: "Change the selected database for the current connection",
        acl: &["connection"],
        ..Command::new("select", 2, LOADING | STALE | FAST, select)
    },
];
