//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, SSUBSCRIBE,
//! SUNSUBSCRIBE, SPUBLISH and PUBSUB. The registry and delivery are in `server::pubsub`; the
//! RESP2 subscribed-mode gate is in dispatch.
//!
//! Shard channels are not keys here (no cluster), so SSUBSCRIBE and SPUBLISH lock no shard.

use crate::command::table::{Arg, ArgType, KeySpecDef, key_flags};
use crate::command::{Command, Ctx, flags::*};
use crate::protocol::errors;
use crate::server::pubsub::{self, Kind};

/// Writes one (un)subscribe confirmation: `[kind, name or nil, count]`, a push in RESP3.
/// CLIENT REPLY OFF / SKIP never silence it, in RESP2 either (Redis marks it as pushing).
fn confirm(ctx: &mut Ctx, what: &[u8], name: Option<&[u8]>, kind: Kind) {
    let count = pubsub::reply_count(ctx.client, kind);
    ctx.client.reply_is_push = true;
    ctx.out.push(3);
    ctx.out.bulk(what);
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

fn subscribe_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind, what: &[u8]) {
    for name in &argv[1..] {
        pubsub::subscribe(&ctx.server.pubsub, ctx.client, kind, name);
        confirm(ctx, what, Some(name), kind);
    }
}

fn unsubscribe_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind, what: &[u8]) {
    if argv.len() > 1 {
        for name in &argv[1..] {
            pubsub::unsubscribe(&ctx.server.pubsub, ctx.client, kind, name);
            confirm(ctx, what, Some(name), kind);
        }
        return;
    }
    let names = pubsub::names_of(ctx.client, kind);
    if names.is_empty() {
        return confirm(ctx, what, None, kind);
    }
    for name in names {
        pubsub::unsubscribe(&ctx.server.pubsub, ctx.client, kind, &name);
        confirm(ctx, what, Some(&name), kind);
    }
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    subscribe_kind(ctx, argv, Kind::Channel, b"subscribe");
}

/// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsubscribe_kind(ctx, argv, Kind::Channel, b"unsubscribe");
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    subscribe_kind(ctx, argv, Kind::Pattern, b"psubscribe");
}

/// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsubscribe_kind(ctx, argv, Kind::Pattern, b"punsubscribe");
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    subscribe_kind(ctx, argv, Kind::Shard, b"ssubscribe");
}

/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    unsubscribe_kind(ctx, argv, Kind::Shard, b"sunsubscribe");
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx, argv: &[&[u8]]) {
    let me = Some((ctx.client.id, &mut *ctx.out));
    let n = ctx.server.pubsub.publish(argv[1], argv[2], me);
    ctx.out.int(n as i64);
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx, argv: &[&[u8]]) {
    let me = Some((ctx.client.id, &mut *ctx.out));
    let n = ctx.server.pubsub.spublish(argv[1], argv[2], me);
    ctx.out.int(n as i64);
}

/// Replies the names of `kind` matching the optional pattern (CHANNELS, SHARDCHANNELS).
fn list_names(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    if argv.len() > 3 {
        let sub = String::from_utf8_lossy(argv[1]).to_ascii_uppercase();
        return ctx.out.error(&errors::subcommand_syntax(sub.as_bytes(), b"PUBSUB"));
    }
    let names = ctx.server.pubsub.names(kind, argv.get(2).copied());
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
}

/// Replies `name, count` pairs for each argument (NUMSUB, SHARDNUMSUB).
fn count_subscribers(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) {
    let names = &argv[2..];
    ctx.out.map(names.len());
    for n in names {
        ctx.out.bulk(n);
        ctx.out.int(ctx.server.pubsub.subscribers(kind, n) as i64);
    }
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(ctx: &mut Ctx, argv: &[&[u8]]) {
    list_names(ctx, argv, Kind::Channel);
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) {
    list_names(ctx, argv, Kind::Shard);
}

/// PUBSUB NUMSUB [channel [channel ...]]
fn pubsub_numsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    count_subscribers(ctx, argv, Kind::Channel);
}

/// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
fn pubsub_shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    count_subscribers(ctx, argv, Kind::Shard);
}

/// PUBSUB NUMPAT
fn pubsub_numpat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.server.pubsub.count(Kind::Pattern) as i64);
}

const PUBSUB_HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

/// PUBSUB HELP
fn pubsub_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    crate::cmd::connection::reply_help(ctx, argv[0], PUBSUB_HELP);
}

/// Never called: PUBSUB always runs one of its subcommands.
fn pubsub_container(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.error(&errors::subcommand_syntax(argv.get(1).copied().unwrap_or(b""), argv[0]));
}

/// A PUBSUB subcommand row.
const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: crate::command::Handler,
) -> Command {
    Command { group: "pubsub", acl: &["pubsub"], ..Command::new(name, arity, flags, handler) }
}

const PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "2.8.0",
        summary: "List active channels",
        complexity: "O(N) where N is the number of active channels, and assuming constant time \
                     pattern matching (relatively short channels and patterns)",
        args: &[PATTERN.optional()],
        ..sub("channels", -2, PUBSUB | LOADING | STALE, pubsub_channels)
    },
    Command {
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        complexity: "O(1)",
        ..sub("help", 2, LOADING | STALE, pubsub_help)
    },
    Command {
        since: "2.8.0",
        summary: "Get the count of unique patterns pattern subscriptions",
        complexity: "O(1)",
        ..sub("numpat", 2, PUBSUB | LOADING | STALE, pubsub_numpat)
    },
    Command {
        since: "2.8.0",
        summary: "Get the count of subscribers for channels",
        complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        args: &[CHANNEL.optional().multiple()],
        ..sub("numsub", -2, PUBSUB | LOADING | STALE, pubsub_numsub)
    },
    Command {
        since: "7.0.0",
        summary: "List active shard channels",
        complexity: "O(N) where N is the number of active shard channels, and assuming constant \
                     time pattern matching (relatively short shard channels).",
        args: &[PATTERN.optional()],
        ..sub("shardchannels", -2, PUBSUB | LOADING | STALE, pubsub_shardchannels)
    },
    Command {
        since: "7.0.0",
        summary: "Get the count of subscribers for shard channels",
        complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested \
                     shard channels",
        args: &[SHARDCHANNEL.optional().multiple()],
        ..sub("shardnumsub", -2, PUBSUB | LOADING | STALE, pubsub_shardnumsub)
    },
];

/// Shard channels are reported as Redis reports them: key positions flagged `not_key`, which
/// neither lock a shard nor count as keys for COMMAND GETKEYS.
const SHARD_CHANNELS: &[KeySpecDef] = &[KeySpecDef::range(1, -1, 1, key_flags::NOT_KEY)];

const CHANNEL: Arg = Arg::new("channel", ArgType::String);
const SHARDCHANNEL: Arg = Arg::new("shardchannel", ArgType::String);
const PATTERN: Arg = Arg::new("pattern", ArgType::Pattern);
const MESSAGE: Arg = Arg::new("message", ArgType::String);

/// Flags of the (un)subscribe commands.
const SUB_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
/// Flags of PUBLISH and SPUBLISH.
const PUB_FLAGS: u32 = PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE;

pub const COMMANDS: &[Command] = &[
    Command {
        group: "pubsub",
        since: "2.0.0",
        summary: "Listen for messages published to channels matching the given patterns",
        complexity: "O(N) where N is the number of patterns the client is already subscribed to.",
        acl: &["pubsub", "slow"],
        args: &[Arg::block("pattern", &[PATTERN]).multiple()],
        ..Command::new("psubscribe", -2, SUB_FLAGS, psubscribe)
    },
    Command {
        group: "pubsub",
        since: "2.0.0",
        summary: "Post a message to a channel",
        complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel \
                     and M is the total number of subscribed patterns (by any client).",
        acl: &["pubsub", "fast"],
        args: &[CHANNEL, MESSAGE],
        ..Command::new("publish", 3, PUB_FLAGS, publish)
    },
    Command {
        group: "pubsub",
        since: "2.8.0",
        summary: "A container for Pub/Sub commands",
        complexity: "Depends on subcommand.",
        acl: &["slow"],
        subcommands: PUBSUB_SUBCOMMANDS,
        ..Command::new("pubsub", -2, 0, pubsub_container)
    },
    Command {
        group: "pubsub",
        since: "2.0.0",
        summary: "Stop listening for messages posted to channels matching the given patterns",
        complexity: "O(N+M) where N is the number of patterns the client is already subscribed \
                     and M is the number of total patterns subscribed in the system (by any \
                     client).",
        acl: &["pubsub", "slow"],
        args: &[PATTERN.optional().multiple()],
        ..Command::new("punsubscribe", -1, SUB_FLAGS, punsubscribe)
    },
    Command {
        group: "pubsub",
        since: "7.0.0",
        summary: "Post a message to a shard channel",
        complexity: "O(N) where N is the number of clients subscribed to the receiving shard \
                     channel.",
        acl: &["pubsub", "fast"],
        key_specs: &[KeySpecDef::range(1, 0, 1, key_flags::NOT_KEY)],
        args: &[SHARDCHANNEL, MESSAGE],
        ..Command::new("spublish", 3, PUB_FLAGS, spublish)
    },
    Command {
        group: "pubsub",
        since: "7.0.0",
        summary: "Listen for messages published to the given shard channels",
        complexity: "O(N) where N is the number of shard channels to subscribe to.",
        acl: &["pubsub", "slow"],
        key_specs: SHARD_CHANNELS,
        args: &[SHARDCHANNEL.multiple()],
        ..Command::new("ssubscribe", -2, SUB_FLAGS, ssubscribe)
    },
    Command {
        group: "pubsub",
        since: "2.0.0",
        summary: "Listen for messages published to the given channels",
        complexity: "O(N) where N is the number of channels to subscribe to.",
        acl: &["pubsub", "slow"],
        args: &[CHANNEL.multiple()],
        ..Command::new("subscribe", -2, SUB_FLAGS, subscribe)
    },
    Command {
        group: "pubsub",
        since: "7.0.0",
        summary: "Stop listening for messages posted to the given shard channels",
        complexity: "O(N) where N is the number of clients already subscribed to a shard \
                     channel.",
        acl: &["pubsub", "slow"],
        key_specs: SHARD_CHANNELS,
        args: &[SHARDCHANNEL.optional().multiple()],
        ..Command::new("sunsubscribe", -1, SUB_FLAGS, sunsubscribe)
    },
    Command {
        group: "pubsub",
        since: "2.0.0",
        summary: "Stop listening for messages posted to the given channels",
        complexity: "O(N) where N is the number of clients already subscribed to a channel.",
        acl: &["pubsub", "slow"],
        args: &[CHANNEL.optional().multiple()],
        ..Command::new("unsubscribe", -1, SUB_FLAGS, unsubscribe)
    },
];

#[cfg(test)]
mod tests {
    use crate::command::testing::Harness;
    use crate::protocol::reply::Value;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn subscribe_unsubscribe_replies_and_gate() {
        let mut t = Harness::new();
        assert_eq!(
            t.raw(&["subscribe", "a", "b", "a"]),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
              *3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
              *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
        );
        assert_eq!(t.run(&["ping"]), Value::Array(vec![bulk("pong"), bulk("")]));
        let Value::Error(e) = t.run(&["get", "k"]) else { panic!() };
        assert_eq!(
            e,
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
             RESET are allowed in this context"
        );
        assert_eq!(
            t.run(&["unsubscribe", "zz"]),
            Value::Array(vec![bulk("unsubscribe"), bulk("zz"), Value::Int(2)])
        );
        assert_eq!(t.raw(&["unsubscribe"]).len(), 2 * 33);
        assert_eq!(t.run(&["get", "k"]), Value::Null);
        assert_eq!(
            t.run(&["punsubscribe"]),
            Value::Array(vec![bulk("punsubscribe"), Value::Null, Value::Int(0)])
        );
    }

    #[test]
    fn pubsub_introspection() {
        let mut t = Harness::new();
        assert_eq!(t.run(&["pubsub", "numpat"]), Value::Int(0));
        assert_eq!(t.run(&["pubsub", "numsub", "x"]), Value::Array(vec![bulk("x"), Value::Int(0)]));
        let Value::Error(e) = t.run(&["pubsub", "channels", "a", "b"]) else { panic!() };
        assert_eq!(
            e,
            "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
        );
        assert_eq!(t.run(&["publish", "c", "m"]), Value::Int(0));
        assert_eq!(t.run(&["spublish", "c", "m"]), Value::Int(0));
        let Value::Array(help) = t.run(&["pubsub", "help"]) else { panic!() };
        assert_eq!(help.len(), 14);
    }
}
