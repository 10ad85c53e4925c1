//! String commands.

use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::protocol::errors;
use crate::store::value::Value;

/// GET key
fn get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut tmp = itoa::Buffer::new();
    match ctx.ks.get(argv[1]) {
        None => ctx.out.null(),
        Some(v) => match v.str_bytes(&mut tmp) {
            Some(b) => ctx.out.bulk(b),
            None => ctx.out.error(errors::WRONGTYPE),
        },
    }
}

/// SET key value
fn set(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.ks.set(argv[1], Value::string(argv[2]), false);
    ctx.out.ok();
}

const KEY1: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

pub const COMMANDS: &[Command] = &[
    Command {
        keys: KEY1,
        group: "string",
        summary: "Get the value of a key",
        acl: &["string"],
        ..Command::new("get", 2, READONLY | FAST, get)
    },
    Command {
        keys: KEY1,
        group: "string",
        summary: "Set the string value of a key",
        complexity: "O(1)",
        acl: &["string"],
        ..Command::new("set", -3, WRITE | DENYOOM, set)
    },
];
