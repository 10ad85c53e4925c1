//! Server commands: INFO, COMMAND (and its subcommands), TIME, LASTSAVE, SHUTDOWN, SLOWLOG,
//! LATENCY and MEMORY.
//!
//! COMMAND reports the table's rows in Redis 7.0's shapes (redis-cli asserts on the shape of
//! COMMAND DOCS); INFO's text is built in `server::info`. The slow log, the latency histograms
//! and the latency monitor are filled by `Table::record_call` after every command.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::command::table::{
    Arg, ArgType, BeginSearch, Command, Entry, FindKeys, KeySpecDef, Table, acl, arg_flags,
    doc_flags, key_flags,
};
use crate::command::{Ctx, KeySpec, flags::*};
use crate::protocol::{Reply, errors};
use crate::server::info;
use crate::util::parse_i64_strict;

/// Replies a HELP text as Redis does: a header naming the command, the given lines, then the
/// HELP entry, each as a status line.
pub fn reply_help(out: &mut Reply, cmd: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(
        format!("{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd).as_bytes(),
    );
    for l in lines {
        out.simple(l.as_bytes());
    }
    out.simple(b"HELP");
    out.simple(b"    Prints this help.");
}

/// Replies a set of status strings: the names of the bits set in `mask`.
fn reply_flag_set<T: Copy + Into<u32>>(out: &mut Reply, mask: u32, names: &[(T, &str)]) {
    let n = names.iter().filter(|(b, _)| mask & (*b).into() != 0).count();
    out.set(n);
    for (b, name) in names {
        if mask & (*b).into() != 0 {
            out.simple(name.as_bytes());
        }
    }
}

/// Replies the "unknown subcommand or wrong number of arguments" error for `argv`.
fn subcommand_error(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv.get(1).copied().unwrap_or(b"");
    ctx.out.error(&errors::subcommand_syntax(sub, argv[0]));
}

/// A container command run without a subcommand (its arity normally prevents this).
fn container(ctx: &mut Ctx, argv: &[&[u8]]) {
    subcommand_error(ctx, argv);
}

// ---- INFO ----

/// INFO [section [section ...]]
fn info_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let text = info::build(ctx.server, &argv[1..]);
    ctx.out.verbatim(text.as_bytes());
}

// ---- COMMAND ----

/// Replies one key spec map of COMMAND INFO.
fn reply_key_spec(out: &mut Reply, s: &KeySpecDef) {
    out.map(if s.notes.is_empty() { 3 } else { 4 });
    if !s.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(s.notes.as_bytes());
    }
    out.bulk(b"flags");
    reply_flag_set(out, s.flags, key_flags::NAMES);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match s.begin {
        BeginSearch::Index(pos) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(pos as i64);
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(startfrom as i64);
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match s.find {
        FindKeys::Range { lastkey, keystep, limit } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(lastkey as i64);
            out.bulk(b"keystep");
            out.int(keystep as i64);
            out.bulk(b"limit");
            out.int(limit as i64);
        }
        FindKeys::Keynum { keynumidx, firstkey, keystep } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(keynumidx as i64);
            out.bulk(b"firstkey");
            out.int(firstkey as i64);
            out.bulk(b"keystep");
            out.int(keystep as i64);
        }
        FindKeys::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// Replies the COMMAND INFO entry of table entry `idx`: name, arity, flags, first key, last
/// key, step, ACL categories, tips, key specs, subcommands.
fn reply_command_info(out: &mut Reply, table: &Table, idx: usize) {
    let e: &Entry = &table.entries[idx];
    let c = e.cmd;
    let (first, last, step) = c.legacy_range();
    out.array(10);
    out.bulk(e.full_name.as_bytes());
    out.int(c.arity as i64);
    reply_flag_set(out, c.info_flags(), REPLY_ORDER);
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    let cats = c.acl_categories();
    out.set(cats.count_ones() as usize);
    for (i, name) in acl::NAMES.iter().enumerate() {
        if cats & (1 << i) != 0 {
            out.simple(format!("@{name}").as_bytes());
        }
    }
    out.set(c.tips.len());
    for t in c.tips {
        out.bulk(t.as_bytes());
    }
    let specs = c.effective_key_specs();
    out.set(specs.len());
    for s in &specs {
        reply_key_spec(out, s);
    }
    if e.sub_order.is_empty() {
        out.set(0);
    } else {
        out.array(e.sub_order.len());
        for &s in &e.sub_order {
            reply_command_info(out, table, s);
        }
    }
}

/// Replies the COMMAND DOCS arguments array.
fn reply_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let has_token = !a.token.is_empty() || matches!(a.kind, ArgType::PureToken);
        let len = 2
            + (a.key_spec_index >= 0) as usize
            + has_token as usize
            + !a.summary.is_empty() as usize
            + !a.since.is_empty() as usize
            + !a.deprecated_since.is_empty() as usize
            + (a.flags != 0) as usize
            + matches!(a.kind, ArgType::OneOf | ArgType::Block) as usize;
        out.map(len);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.name().as_bytes());
        if a.key_spec_index >= 0 {
            out.bulk(b"key_spec_index");
            out.int(a.key_spec_index as i64);
        }
        // A pure token always shows its token, even the empty one (MIGRATE's `""` key).
        if has_token {
            out.bulk(b"token");
            out.bulk(a.token.as_bytes());
        }
        for (field, value) in [
            ("summary", a.summary),
            ("since", a.since),
            ("deprecated_since", a.deprecated_since),
        ] {
            if !value.is_empty() {
                out.bulk(field.as_bytes());
                out.bulk(value.as_bytes());
            }
        }
        if a.flags != 0 {
            out.bulk(b"flags");
            reply_flag_set(out, a.flags as u32, arg_flags::NAMES);
        }
        if matches!(a.kind, ArgType::OneOf | ArgType::Block) {
            out.bulk(b"arguments");
            reply_args(out, a.subargs);
        }
    }
}

/// Replies the COMMAND DOCS map of table entry `idx`.
fn reply_command_docs(out: &mut Reply, table: &Table, idx: usize) {
    let e: &Entry = &table.entries[idx];
    let c = e.cmd;
    let len = 1
        + !c.summary.is_empty() as usize
        + !c.since.is_empty() as usize
        + !c.complexity.is_empty() as usize
        + (c.doc_flags != 0) as usize
        + !c.deprecated_since.is_empty() as usize
        + !c.replaced_by.is_empty() as usize
        + !c.history.is_empty() as usize
        + !c.args.is_empty() as usize
        + !e.sub_order.is_empty() as usize;
    out.map(len);
    if !c.summary.is_empty() {
        out.bulk(b"summary");
        out.bulk(c.summary.as_bytes());
    }
    if !c.since.is_empty() {
        out.bulk(b"since");
        out.bulk(c.since.as_bytes());
    }
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    if !c.complexity.is_empty() {
        out.bulk(b"complexity");
        out.bulk(c.complexity.as_bytes());
    }
    if c.doc_flags != 0 {
        out.bulk(b"doc_flags");
        reply_flag_set(out, c.doc_flags as u32, doc_flags::NAMES);
    }
    if !c.deprecated_since.is_empty() {
        out.bulk(b"deprecated_since");
        out.bulk(c.deprecated_since.as_bytes());
    }
    if !c.replaced_by.is_empty() {
        out.bulk(b"replaced_by");
        out.bulk(c.replaced_by.as_bytes());
    }
    if !c.history.is_empty() {
        out.bulk(b"history");
        out.set(c.history.len());
        for (version, change) in c.history {
            out.array(2);
            out.bulk(version.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    if !c.args.is_empty() {
        out.bulk(b"arguments");
        reply_args(out, c.args);
    }
    if !e.sub_order.is_empty() {
        out.bulk(b"subcommands");
        out.map(e.sub_order.len());
        for &s in &e.sub_order {
            out.bulk(table.entries[s].full_name.as_bytes());
            reply_command_docs(out, table, s);
        }
    }
}

/// COMMAND
fn command_all(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let t = &ctx.server.table;
    let top = t.top_level();
    ctx.out.array(top.len());
    for (_, idx) in top {
        reply_command_info(ctx.out, t, idx);
    }
}

/// COMMAND COUNT
fn command_count(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.server.table.len() as i64);
}

/// COMMAND INFO [command-name [command-name ...]]
fn command_info(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() == 2 {
        return command_all(ctx, argv);
    }
    let t = &ctx.server.table;
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match t.lookup_full(name) {
            Some(idx) => reply_command_info(ctx.out, t, idx),
            None => ctx.out.null(),
        }
    }
}

/// COMMAND DOCS [command-name [command-name ...]]
fn command_docs(ctx: &mut Ctx, argv: &[&[u8]]) {
    let t = &ctx.server.table;
    let found: Vec<usize> = if argv.len() == 2 {
        t.top_level().into_iter().map(|(_, i)| i).collect()
    } else {
        argv[2..].iter().filter_map(|n| t.lookup_full(n)).collect()
    };
    ctx.out.map(found.len());
    for idx in found {
        ctx.out.bulk(t.entries[idx].full_name.as_bytes());
        reply_command_docs(ctx.out, t, idx);
    }
}

/// COMMAND LIST [FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]
fn command_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    enum Filter<'a> {
        All,
        None,
        Acl(u32),
        Pattern(&'a [u8]),
    }
    let filter = match argv.len() {
        2 => Filter::All,
        5 if argv[2].eq_ignore_ascii_case(b"filterby") => {
            let what = argv[3].to_ascii_lowercase();
            match what.as_slice() {
                // No modules can be loaded, so no command belongs to one.
                b"module" => Filter::None,
                b"aclcat" => match acl::bit(argv[4]) {
                    Some(bit) => Filter::Acl(bit),
                    None => Filter::None,
                },
                b"pattern" => Filter::Pattern(argv[4]),
                _ => return ctx.syntax_error(),
            }
        }
        _ => return ctx.syntax_error(),
    };
    let t = &ctx.server.table;
    let names: Vec<&str> = t
        .all_entries()
        .into_iter()
        .map(|i| &t.entries[i])
        .filter(|e| match filter {
            Filter::All => true,
            Filter::None => false,
            Filter::Acl(bit) => e.cmd.acl_categories() & bit != 0,
            Filter::Pattern(p) => crate::util::glob::glob_match(p, e.full_name.as_bytes(), true),
        })
        .map(|e| e.full_name.as_str())
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// COMMAND GETKEYS command [arg [arg ...]] and GETKEYSANDFLAGS: the keys of a full command.
fn getkeys(ctx: &mut Ctx, argv: &[&[u8]], with_flags: bool) {
    let t = &ctx.server.table;
    let cmd_argv = &argv[2..];
    let Some(idx) = t.lookup_argv(cmd_argv) else {
        return ctx.out.error(errors::INVALID_COMMAND_SPECIFIED);
    };
    let cmd = t.entries[idx].cmd;
    if !cmd.has_keys() {
        return ctx.out.error(errors::COMMAND_HAS_NO_KEYS);
    }
    if !cmd.arity_ok(cmd_argv.len()) {
        return ctx.out.error(errors::INVALID_GETKEYS_ARITY);
    }
    let keys = match cmd.keys_with_flags(cmd_argv) {
        Some(k) if !k.is_empty() => k,
        _ if cmd.flags & NO_MANDATORY_KEYS != 0 => Vec::new(),
        _ => return ctx.out.error(errors::INVALID_GETKEYS_ARGS),
    };
    ctx.out.array(keys.len());
    for (i, fl) in keys {
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(cmd_argv[i]);
            reply_flag_set(ctx.out, fl, key_flags::NAMES);
        } else {
            ctx.out.bulk(cmd_argv[i]);
        }
    }
}

/// COMMAND GETKEYS command [arg [arg ...]]
fn command_getkeys(ctx: &mut Ctx, argv: &[&[u8]]) {
    getkeys(ctx, argv, false);
}

/// COMMAND GETKEYSANDFLAGS command [arg [arg ...]]
fn command_getkeysandflags(ctx: &mut Ctx, argv: &[&[u8]]) {
    getkeys(ctx, argv, true);
}

/// COMMAND HELP
fn command_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

// ---- TIME, LASTSAVE, SHUTDOWN ----

/// TIME
fn time(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
}

/// LASTSAVE
fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.server.lastsave.load(Ordering::Relaxed));
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    for a in &argv[1..] {
        match a.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" => now = true,
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return ctx.syntax_error(),
        }
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return ctx.syntax_error();
    }
    if abort {
        // Only a shutdown a signal scheduled (carried out by the cron) can be pending: there
        // are no replicas to wait for.
        if ctx.server.persist.shutdown_asap.swap(false, Ordering::AcqRel) {
            tracing::warn!("Shutdown manually aborted.");
            return ctx.out.ok();
        }
        return ctx.out.error(errors::NO_SHUTDOWN_IN_PROGRESS);
    }
    tracing::warn!("User requested shutdown...");
    if !super::persist::prepare_shutdown(ctx.server, save, nosave) && !force {
        tracing::warn!(
            "Errors trying to shut down the server. Check the logs for more information."
        );
        return ctx.out.error(errors::SHUTDOWN_ERRORS);
    }
    // Nothing is replied: the connection closes as the server exits, as in Redis, and nothing
    // pipelined after SHUTDOWN runs.
    ctx.client.close_after_reply = true;
    ctx.server.request_shutdown();
}

// ---- SLOWLOG ----

/// SLOWLOG GET [count]
fn slowlog_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return subcommand_error(ctx, argv);
    }
    let log = ctx.server.table.slowlog.lock();
    let mut count = 10usize;
    if let Some(a) = argv.get(2) {
        match parse_i64_strict(a) {
            Some(-1) => count = log.entries.len(),
            Some(n) if n >= 0 => count = n as usize,
            _ => return ctx.out.error(errors::SLOWLOG_COUNT),
        }
    }
    let n = count.min(log.entries.len());
    ctx.out.array(n);
    for e in log.entries.iter().take(n) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time);
        ctx.out.int(e.duration_us as i64);
        ctx.out.array(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(&e.name);
    }
}

/// SLOWLOG LEN
fn slowlog_len(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = ctx.server.table.slowlog.lock().entries.len();
    ctx.out.int(n as i64);
}

/// SLOWLOG RESET
fn slowlog_reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.server.table.slowlog.lock().entries.clear();
    ctx.out.ok();
}

/// SLOWLOG HELP
fn slowlog_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---- LATENCY ----

/// Replies the cumulative latency distribution of one command.
fn reply_histogram(out: &mut Reply, e: &Entry) {
    let steps = e.stats.latency.cumulative_usec();
    out.bulk(e.full_name.as_bytes());
    out.map(2);
    out.bulk(b"calls");
    out.int(e.stats.latency.total() as i64);
    out.bulk(b"histogram_usec");
    out.map(steps.len());
    for (usec, count) in steps {
        out.int(usec as i64);
        out.int(count as i64);
    }
}

/// LATENCY HISTOGRAM [command [command ...]]
fn latency_histogram(ctx: &mut Ctx, argv: &[&[u8]]) {
    let t = &ctx.server.table;
    let mut chosen: Vec<usize> = Vec::new();
    if argv.len() == 2 {
        chosen = t.all_entries();
    } else {
        for name in &argv[2..] {
            let Some(idx) = t.lookup_full(name) else { continue };
            chosen.push(idx);
            chosen.extend_from_slice(&t.entries[idx].sub_order);
        }
    }
    chosen.retain(|&i| t.entries[i].stats.latency.total() > 0);
    ctx.out.map(chosen.len());
    for idx in chosen {
        reply_histogram(ctx.out, &t.entries[idx]);
    }
}

/// LATENCY LATEST
fn latency_latest(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let events = ctx.server.table.latency_events.lock();
    let mut names: Vec<&String> = events.keys().collect();
    names.sort();
    ctx.out.array(names.len());
    for name in names {
        let ev = &events[name];
        let (time, latency) = ev.samples.back().copied().unwrap_or((0, 0));
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(time);
        ctx.out.int(latency as i64);
        ctx.out.int(ev.max as i64);
    }
}

/// LATENCY HISTORY event
fn latency_history(ctx: &mut Ctx, argv: &[&[u8]]) {
    let events = ctx.server.table.latency_events.lock();
    let name = String::from_utf8_lossy(argv[2]);
    let Some(ev) = events.get(name.as_ref()) else {
        return ctx.out.array(0);
    };
    ctx.out.array(ev.samples.len());
    for &(time, ms) in &ev.samples {
        ctx.out.array(2);
        ctx.out.int(time);
        ctx.out.int(ms as i64);
    }
}

/// LATENCY RESET [event [event ...]]
fn latency_reset(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut events = ctx.server.table.latency_events.lock();
    let n = if argv.len() == 2 {
        let n = events.len();
        events.clear();
        n
    } else {
        argv[2..]
            .iter()
            .filter(|name| events.remove(String::from_utf8_lossy(name).as_ref()).is_some())
            .count()
    };
    ctx.out.int(n as i64);
}

/// LATENCY GRAPH event
fn latency_graph(ctx: &mut Ctx, argv: &[&[u8]]) {
    let events = ctx.server.table.latency_events.lock();
    let name = String::from_utf8_lossy(argv[2]);
    let Some(ev) = events.get(name.as_ref()).filter(|e| !e.samples.is_empty()) else {
        return ctx.out.error(&errors::no_latency_samples(argv[2]));
    };
    let text = latency_graph_text(&name, ev, crate::util::now_ms() / 1000);
    ctx.out.verbatim(text.as_bytes());
}

/// Renders an event's samples as a small ASCII chart: one column per sample, four rows of
/// height, then each column's age (`12s`, `3m`, `2h`, `1d`) written downwards.
fn latency_graph_text(name: &str, ev: &crate::command::table::LatencyEvent, now: i64) -> String {
    let max = ev.samples.iter().map(|s| s.1).max().unwrap_or(0);
    let min = ev.samples.iter().map(|s| s.1).min().unwrap_or(0);
    let mut out = format!(
        "{name} - high {max} ms, low {min} ms (all time high {} ms)\n{}\n",
        ev.max,
        "-".repeat(80)
    );
    const ROWS: u64 = 4;
    for row in (0..ROWS).rev() {
        for &(_, ms) in &ev.samples {
            let level = if max == min { ROWS - 1 } else { (ms - min) * (ROWS - 1) / (max - min) };
            out.push(if level > row {
                '|'
            } else if level == row {
                '_'
            } else {
                ' '
            });
        }
        out.push('\n');
    }
    let labels: Vec<String> = ev
        .samples
        .iter()
        .map(|&(t, _)| {
            let age = (now - t).max(0);
            match age {
                a if a < 60 => format!("{a}s"),
                a if a < 3600 => format!("{}m", a / 60),
                a if a < 86400 => format!("{}h", a / 3600),
                a => format!("{}d", a / 86400),
            }
        })
        .collect();
    let height = labels.iter().map(|l| l.len()).max().unwrap_or(0);
    for i in 0..height {
        for l in &labels {
            out.push(l.as_bytes().get(i).map_or(' ', |&c| c as char));
        }
        out.push('\n');
    }
    out
}

/// LATENCY DOCTOR
fn latency_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let threshold = ctx.server.table.settings.latency_monitor_threshold.load(Ordering::Relaxed);
    let events = ctx.server.table.latency_events.lock();
    let mut text = String::new();
    if events.is_empty() && threshold == 0 {
        text.push_str(
            "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis \
             instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in \
             order to enable it. If we weren't in a deep space mission I'd suggest to take a \
             look at https://redis.io/topics/latency-monitor.\n",
        );
    } else if events.is_empty() {
        text.push_str(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, \
             not in the slightest bit. I honestly think you ought to sit down calmly, take a \
             stress pill, and think things over.\n",
        );
    } else {
        text.push_str(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind \
             talking about it, do you Dave?\n\n",
        );
        let mut names: Vec<&String> = events.keys().collect();
        names.sort();
        for (i, name) in names.iter().enumerate() {
            let ev = &events[*name];
            let n = ev.samples.len().max(1) as u64;
            let avg = ev.samples.iter().map(|s| s.1).sum::<u64>() / n;
            let dev = ev.samples.iter().map(|s| s.1.abs_diff(avg)).sum::<u64>() / n;
            let span = match (ev.samples.front(), ev.samples.back()) {
                (Some(a), Some(b)) => (b.0 - a.0).max(0) as f64,
                _ => 0.0,
            };
            let period = if n > 1 { span / (n - 1) as f64 } else { 1.0 };
            let _ = writeln!(
                text,
                "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} \
                 sec). Worst all time event {}ms.",
                i + 1,
                name,
                ev.samples.len(),
                avg,
                dev,
                period,
                ev.max
            );
        }
        text.push_str(
            "\nI have a few advices for you:\n\n- Check your Slow Log to understand what are \
             the commands you are running which are too slow to execute. Please check \
             https://redis.io/commands/slowlog for more information.\n",
        );
    }
    ctx.out.verbatim(text.as_bytes());
}

/// LATENCY HELP
fn latency_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for \
             the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

// ---- MEMORY ----

/// MEMORY USAGE key [SAMPLES count]
fn memory_usage(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut j = 3;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"samples") && j + 1 < argv.len() {
            match parse_i64_strict(argv[j + 1]) {
                None => return ctx.out.error(errors::NOT_INTEGER),
                Some(n) if n < 0 => return ctx.syntax_error(),
                // Strings need no sampling; the count only matters for aggregates.
                Some(_) => {}
            }
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    match ctx.ks.peek(argv[2]) {
        None => ctx.out.null(),
        Some(e) => {
            let bytes = e.alloc_size() + e.value().heap_size();
            ctx.out.int(bytes as i64);
        }
    }
}

/// MEMORY STATS
fn memory_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let server = ctx.server;
    let m = info::memory();
    let startup = info::startup_memory(server);
    let peak = info::peak_memory(server).max(m.used);
    let clients: u64 =
        server.clients.all().iter().map(|c| c.qbuf_cap.load(Ordering::Relaxed) as u64).sum();
    // Per database: the hash table's bucket array (8 bytes a bucket, as a pointer each).
    let mut dbs: Vec<(usize, u64)> = Vec::new();
    let mut keys_total = 0u64;
    for db in 0..server.store.databases() {
        let (keys, _) = server.store.db_sizes(db);
        if keys == 0 {
            continue;
        }
        keys_total += keys as u64;
        let buckets: usize =
            (0..crate::store::SHARDS)
                .map(|i| server.store.with_shard(i, |s| s.dbs[db].dict.buckets()))
                .sum();
        dbs.push((db, buckets as u64 * 8));
    }
    let overhead = startup + clients + dbs.iter().map(|d| d.1).sum::<u64>();
    let dataset = m.used.saturating_sub(overhead);
    let net = m.used.saturating_sub(startup);
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let out = &mut *ctx.out;
    out.map(27 + dbs.len());
    let int = |out: &mut Reply, k: &str, v: i64| {
        out.bulk(k.as_bytes());
        out.int(v);
    };
    int(out, "peak.allocated", peak as i64);
    int(out, "total.allocated", m.used as i64);
    int(out, "startup.allocated", startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", clients as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for (db, main) in &dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", *main as i64);
        int(out, "overhead.hashtable.expires", 0);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", overhead as i64);
    int(out, "keys.count", keys_total as i64);
    int(out, "keys.bytes-per-key", net.checked_div(keys_total).unwrap_or(0) as i64);
    int(out, "dataset.bytes", dataset as i64);
    out.bulk(b"dataset.percentage");
    out.double(pct(dataset, net));
    out.bulk(b"peak.percentage");
    out.double(pct(m.used, peak));
    int(out, "allocator.allocated", m.allocator_allocated as i64);
    int(out, "allocator.active", m.allocator_active as i64);
    int(out, "allocator.resident", m.allocator_resident as i64);
    out.bulk(b"allocator-fragmentation.ratio");
    out.double(ratio(m.allocator_active, m.allocator_allocated));
    int(
        out,
        "allocator-fragmentation.bytes",
        m.allocator_active as i64 - m.allocator_allocated as i64,
    );
    out.bulk(b"allocator-rss.ratio");
    out.double(ratio(m.allocator_resident, m.allocator_active));
    int(out, "allocator-rss.bytes", m.allocator_resident as i64 - m.allocator_active as i64);
    out.bulk(b"rss-overhead.ratio");
    out.double(ratio(m.rss, m.allocator_resident));
    int(out, "rss-overhead.bytes", m.rss as i64 - m.allocator_resident as i64);
    out.bulk(b"fragmentation");
    out.double(ratio(m.rss, m.used));
    int(out, "fragmentation.bytes", m.rss as i64 - m.used as i64);
}

/// MEMORY DOCTOR
fn memory_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let m = info::memory();
    let text = if m.used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector \
         can't be used in these conditions. Please, leave for your mission on Earth and fill it \
         with some data. The new Sam and I will be back to our programming as soon as I \
         finished rebooting.\n"
            .to_string()
    } else {
        let frag = if m.used == 0 { 0.0 } else { m.rss as f64 / m.used as f64 };
        if frag > 1.4 && m.rss.saturating_sub(m.used) > 10 * 1024 * 1024 {
            format!(
                "Sam, I detected a few issues in this Redis instance memory implants:\n\n * High \
                 total RSS: This instance has a memory fragmentation and RSS overhead greater \
                 than 1.4 (this means that the Resident Set Size of the Redis process is much \
                 larger than the sum of the logical allocations Redis performed). This problem \
                 is usually due either to a large peak memory (check if there is a peak memory \
                 entry above in the report) or may result from a workload that causes the \
                 allocator to fragment memory a lot. If the problem is a large peak memory, then \
                 there is no issue. Otherwise, make sure you are using the Jemalloc allocator \
                 and not the default libc malloc. Note: The currently used allocator is \
                 \"jemalloc-5.3.0\". (ratio {frag:.2})\n\nI'm here to keep you safe, Sam. I \
                 want to help you.\n"
            )
        } else {
            "Hi Sam, I can't find any memory issue in your instance. I can only account for \
             what occurs on this base.\n"
                .to_string()
        }
    };
    ctx.out.verbatim(text.as_bytes());
}

/// MEMORY MALLOC-STATS
fn memory_malloc_stats(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let text = info::malloc_stats();
    ctx.out.verbatim(text.as_bytes());
}

/// MEMORY PURGE
fn memory_purge(ctx: &mut Ctx, _argv: &[&[u8]]) {
    // Every arena (MALLCTL_ARENAS_ALL is 4096) returns its dirty pages to the system.
    match info::mallctl_void(b"arena.4096.purge") {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error(errors::PURGE_FAILED),
    }
}

/// MEMORY HELP
fn memory_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    reply_help(
        ctx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

// ---- the table rows ----

const HELP_SUMMARY: &str = "Show helpful text about the different subcommands";
const NONDET: &[&str] = &["nondeterministic_output"];
const NONDET_ORDER: &[&str] = &["nondeterministic_output_order"];
const ALL_NODES_SUCCEEDED: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];
const ALL_NODES_SPECIAL: &[&str] =
    &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"];
const ALL_SHARDS_SPECIAL: &[&str] =
    &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"];

const COMMAND_NAMES_ARG: &[Arg] =
    &[Arg::new("command-name", ArgType::String).optional().multiple()];

const COMMAND_SUBS: &[Command] = &[
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Get total number of Redis commands",
        acl: &["connection"],
        ..Command::new("count", 2, LOADING | STALE, command_count)
    },
    Command {
        group: "server",
        since: "7.0.0",
        summary: "Get array of specific Redis command documentation",
        complexity: "O(N) where N is the number of commands to look up",
        acl: &["connection"],
        tips: NONDET_ORDER,
        args: COMMAND_NAMES_ARG,
        ..Command::new("docs", -2, LOADING | STALE, command_docs)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Extract keys given a full Redis command",
        complexity: "O(N) where N is the number of arguments to the command",
        acl: &["connection"],
        ..Command::new("getkeys", -4, LOADING | STALE, command_getkeys)
    },
    Command {
        group: "server",
        since: "7.0.0",
        summary: "Extract keys and access flags given a full Redis command",
        complexity: "O(N) where N is the number of arguments to the command",
        acl: &["connection"],
        ..Command::new("getkeysandflags", -4, LOADING | STALE, command_getkeysandflags)
    },
    Command {
        group: "server",
        since: "5.0.0",
        summary: HELP_SUMMARY,
        acl: &["connection"],
        ..Command::new("help", 2, LOADING | STALE, command_help)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Get array of specific Redis command details, or all when no argument is given.",
        complexity: "O(N) where N is the number of commands to look up",
        acl: &["connection"],
        tips: NONDET_ORDER,
        history: &[("7.0.0", "Allowed to be called with no argument to get info on all commands.")],
        args: COMMAND_NAMES_ARG,
        ..Command::new("info", -2, LOADING | STALE, command_info)
    },
    Command {
        group: "server",
        since: "7.0.0",
        summary: "Get an array of Redis command names",
        complexity: "O(N) where N is the total number of Redis commands",
        acl: &["connection"],
        tips: NONDET_ORDER,
        args: &[Arg::one_of(
            "filterby",
            &[
                Arg::new("module-name", ArgType::String).token("MODULE"),
                Arg::new("category", ArgType::String).token("ACLCAT"),
                Arg::new("pattern", ArgType::Pattern).token("PATTERN"),
            ],
        )
        .token("FILTERBY")
        .optional()],
        ..Command::new("list", -2, LOADING | STALE, command_list)
    },
];

const SLOWLOG_SUBS: &[Command] = &[
    Command {
        group: "server",
        since: "2.2.12",
        summary: "Get the slow log's entries",
        complexity: "O(N) where N is the number of entries returned",
        tips: &["request_policy:all_nodes", "nondeterministic_output"],
        history: &[("4.0.0", "Added client IP address, port and name to the reply.")],
        args: &[Arg::new("count", ArgType::Integer).optional()],
        ..Command::new("get", -2, ADMIN | LOADING | STALE, slowlog_get)
    },
    Command {
        group: "server",
        since: "6.2.0",
        summary: HELP_SUMMARY,
        ..Command::new("help", 2, LOADING | STALE, slowlog_help)
    },
    Command {
        group: "server",
        since: "2.2.12",
        summary: "Get the slow log's length",
        tips: &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"],
        ..Command::new("len", 2, ADMIN | LOADING | STALE, slowlog_len)
    },
    Command {
        group: "server",
        since: "2.2.12",
        summary: "Clear all entries from the slow log",
        complexity: "O(N) where N is the number of entries in the slowlog",
        tips: ALL_NODES_SUCCEEDED,
        ..Command::new("reset", 2, ADMIN | LOADING | STALE, slowlog_reset)
    },
];

const LATENCY_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const EVENT_ARG: &[Arg] = &[Arg::new("event", ArgType::String)];

const LATENCY_SUBS: &[Command] = &[
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Return a human readable latency analysis report.",
        tips: ALL_NODES_SPECIAL,
        ..Command::new("doctor", 2, LATENCY_FLAGS, latency_doctor)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Return a latency graph for the event.",
        tips: ALL_NODES_SPECIAL,
        args: EVENT_ARG,
        ..Command::new("graph", 3, LATENCY_FLAGS, latency_graph)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Show helpful text about the different subcommands.",
        ..Command::new("help", 2, LOADING | STALE, latency_help)
    },
    Command {
        group: "server",
        since: "7.0.0",
        summary: "Return the cumulative distribution of latencies of a subset of commands or all.",
        complexity: "O(N) where N is the number of commands with latency information being \
                     retrieved.",
        tips: ALL_NODES_SPECIAL,
        args: &[Arg::new("command", ArgType::String).optional().multiple()],
        ..Command::new("histogram", -2, LATENCY_FLAGS, latency_histogram)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Return timestamp-latency samples for the event.",
        tips: ALL_NODES_SPECIAL,
        args: EVENT_ARG,
        ..Command::new("history", 3, LATENCY_FLAGS, latency_history)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Return the latest latency samples for all events.",
        tips: ALL_NODES_SPECIAL,
        ..Command::new("latest", 2, LATENCY_FLAGS, latency_latest)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Reset latency data for one or more events.",
        tips: ALL_NODES_SUCCEEDED,
        args: &[Arg::new("event", ArgType::String).optional().multiple()],
        ..Command::new("reset", -2, LATENCY_FLAGS, latency_reset)
    },
];

const MEMORY_SUBS: &[Command] = &[
    Command {
        group: "server",
        since: "4.0.0",
        summary: "Outputs memory problems report",
        tips: ALL_SHARDS_SPECIAL,
        ..Command::new("doctor", 2, 0, memory_doctor)
    },
    Command {
        group: "server",
        since: "4.0.0",
        summary: HELP_SUMMARY,
        ..Command::new("help", 2, LOADING | STALE, memory_help)
    },
    Command {
        group: "server",
        since: "4.0.0",
        summary: "Show allocator internal stats",
        complexity: "Depends on how much memory is allocated, could be slow",
        tips: ALL_SHARDS_SPECIAL,
        ..Command::new("malloc-stats", 2, 0, memory_malloc_stats)
    },
    Command {
        group: "server",
        since: "4.0.0",
        summary: "Ask the allocator to release memory",
        complexity: "Depends on how much memory is allocated, could be slow",
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        ..Command::new("purge", 2, 0, memory_purge)
    },
    Command {
        group: "server",
        since: "4.0.0",
        summary: "Show memory usage details",
        tips: ALL_SHARDS_SPECIAL,
        ..Command::new("stats", 2, 0, memory_stats)
    },
    Command {
        keys: KeySpec::Range { first: 2, last: 2, step: 1 },
        key_specs: &[KeySpecDef::index(2, key_flags::RO)],
        group: "server",
        since: "4.0.0",
        summary: "Estimate the memory usage of a key",
        complexity: "O(N) where N is the number of samples.",
        args: &[
            Arg::key("key", 0),
            Arg::new("count", ArgType::Integer).token("SAMPLES").optional(),
        ],
        ..Command::new("usage", -3, READONLY, memory_usage)
    },
];

pub const COMMANDS: &[Command] = &[
    Command {
        group: "server",
        summary: "Get information and statistics about the server",
        acl: &["dangerous"],
        tips: ALL_SHARDS_SPECIAL,
        history: &[("7.0.0", "Added support for taking multiple section arguments.")],
        args: &[Arg::new("section", ArgType::String).optional().multiple()],
        ..Command::new("info", -1, LOADING | STALE, info_cmd)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "Get array of Redis command details",
        complexity: "O(N) where N is the total number of Redis commands",
        acl: &["connection"],
        tips: NONDET_ORDER,
        subcommands: COMMAND_SUBS,
        ..Command::new("command", -1, LOADING | STALE, command_all)
    },
    Command {
        group: "server",
        since: "2.6.0",
        summary: "Return the current server time",
        tips: NONDET,
        ..Command::new("time", 1, LOADING | STALE | FAST, time)
    },
    Command {
        group: "server",
        summary: "Get the UNIX time stamp of the last successful save to disk",
        acl: &["admin", "dangerous"],
        tips: NONDET,
        ..Command::new("lastsave", 1, LOADING | STALE | FAST, lastsave)
    },
    Command {
        group: "server",
        summary: "Synchronously save the dataset to disk and then shut down the server",
        complexity: "O(N) when saving, where N is the total number of keys in all databases \
                     when saving data, otherwise O(1)",
        history: &[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")],
        args: &[
            Arg::one_of("nosave_save", &[Arg::pure("nosave", "NOSAVE"), Arg::pure("save", "SAVE")])
                .optional(),
            Arg::pure("now", "NOW").since("7.0.0").optional(),
            Arg::pure("force", "FORCE").since("7.0.0").optional(),
            Arg::pure("abort", "ABORT").since("7.0.0").optional(),
        ],
        ..Command::new(
            "shutdown",
            -1,
            ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
            shutdown,
        )
    },
    Command {
        group: "server",
        since: "2.2.12",
        summary: "A container for slow log commands",
        complexity: "Depends on subcommand.",
        subcommands: SLOWLOG_SUBS,
        ..Command::new("slowlog", -2, 0, container)
    },
    Command {
        group: "server",
        since: "2.8.13",
        summary: "A container for latency diagnostics commands",
        complexity: "Depends on subcommand.",
        subcommands: LATENCY_SUBS,
        ..Command::new("latency", -2, 0, container)
    },
    Command {
        group: "server",
        since: "4.0.0",
        summary: "A container for memory diagnostics commands",
        complexity: "Depends on subcommand.",
        subcommands: MEMORY_SUBS,
        ..Command::new("memory", -2, 0, container)
    },
];

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::protocol::reply::Value as R;
    use crate::server::Server;
    use crate::server::client::{Client, ClientInfo};

    /// A server and one client to run commands through dispatch, with no socket.
    pub(crate) struct Harness {
        pub server: Server,
        pub client: Client,
        pub resp3: bool,
    }

    impl Harness {
        pub fn new() -> Harness {
            // No save points: SHUTDOWN and FLUSHALL would write an RDB file here.
            let cfg = Config {
                enable_debug_command: "yes".into(),
                save: String::new(),
                ..Config::default()
            };
            let server = Server::new(cfg, crate::cmd::FAMILIES);
            let info = Arc::new(ClientInfo::new(
                1,
                "127.0.0.1:5000".into(),
                "127.0.0.1:6379".into(),
                -1,
                false,
            ));
            Harness { server, client: Client::new(info, true), resp3: false }
        }

        /// Runs one command; returns its decoded reply.
        pub fn run(&mut self, argv: &[&str]) -> R {
            let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            self.run_bytes(&argv)
        }

        pub fn run_bytes(&mut self, argv: &[&[u8]]) -> R {
            let mut out = Reply::new();
            out.resp3 = self.resp3;
            self.server.execute(&mut self.client, &mut out, argv);
            let (v, used) = R::parse(&out.buf).expect("a complete reply");
            assert_eq!(used, out.buf.len(), "one reply per command");
            v
        }

        /// Runs one command and returns the raw reply bytes.
        pub fn raw(&mut self, argv: &[&str]) -> Vec<u8> {
            let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
            let mut out = Reply::new();
            out.resp3 = self.resp3;
            self.server.execute(&mut self.client, &mut out, &argv);
            out.buf
        }
    }

    fn bulk(s: &str) -> R {
        R::Bulk(s.as_bytes().to_vec())
    }

    fn text(v: &R) -> String {
        match v {
            R::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            R::Verbatim(s) | R::Simple(s) | R::Error(s) => s.clone(),
            other => panic!("not a string: {other:?}"),
        }
    }

    /// Looks a field up in a map reply (RESP3) or flat array (RESP2).
    fn field<'a>(v: &'a R, name: &str) -> Option<&'a R> {
        match v {
            R::Map(pairs) => pairs.iter().find(|(k, _)| text(k) == name).map(|p| &p.1),
            R::Array(items) => items.chunks(2).find(|c| text(&c[0]) == name).and_then(|c| c.get(1)),
            _ => None,
        }
    }

    #[test]
    fn info_is_verbatim_in_resp3_and_bulk_in_resp2() {
        let mut h = Harness::new();
        let v = h.run(&["INFO", "server"]);
        assert!(matches!(&v, R::Bulk(b) if b.starts_with(b"# Server\r\nredis_version:7.0.15")));
        assert_eq!(h.run(&["INFO", "nosuchsection"]), R::Bulk(Vec::new()));
        h.resp3 = true;
        let raw = h.raw(&["INFO", "cpu"]);
        assert!(raw.starts_with(b"="));
        assert!(String::from_utf8_lossy(&raw).contains("txt:# CPU\r\nused_cpu_sys:"));
    }

    #[test]
    fn info_counts_commands_and_errors() {
        let mut h = Harness::new();
        h.run(&["PING"]);
        h.run(&["PING"]);
        assert!(matches!(h.run(&["NOSUCH"]), R::Error(_)));
        assert!(matches!(h.run(&["GET"]), R::Error(_)));
        let t = text(&h.run(&["INFO", "commandstats", "errorstats", "stats"]));
        assert!(t.contains("\r\ncmdstat_ping:calls=2,"), "{t}");
        assert!(t.contains(
            "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"
        ));
        assert!(t.contains("errorstat_ERR:count=2"));
        assert!(t.contains("\r\ntotal_error_replies:2\r\n"));
        let t = text(&h.run(&["INFO", "latencystats"]));
        assert!(t.contains("latency_percentiles_usec_ping:p50="), "{t}");
    }

    #[test]
    fn command_count_and_list() {
        let mut h = Harness::new();
        let n = h.server.table.len() as i64;
        assert_eq!(h.run(&["COMMAND", "COUNT"]), R::Int(n));
        let R::Array(all) = h.run(&["COMMAND", "LIST"]) else { panic!() };
        assert!(all.contains(&bulk("get")));
        assert!(all.contains(&bulk("command|info")));
        assert_eq!(
            h.run(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "command|*keys*"]),
            R::Array(vec![bulk("command|getkeys"), bulk("command|getkeysandflags")])
        );
        assert_eq!(h.run(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"]), R::Array(vec![]));
        assert_eq!(h.run(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]), R::Array(vec![]));
        let R::Array(adm) = h.run(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "ADMIN"]) else {
            panic!()
        };
        assert!(adm.contains(&bulk("shutdown")) && !adm.contains(&bulk("get")));
        for bad in [&["COMMAND", "LIST", "bad"][..], &["COMMAND", "LIST", "FILTERBY", "x", "y"]] {
            assert_eq!(h.run(bad), R::Error("ERR syntax error".into()));
        }
    }

    #[test]
    fn command_info_shape() {
        let mut h = Harness::new();
        let v = h.run(&["COMMAND", "INFO", "get", "nosuch", "get|key", "config|get|x"]);
        let R::Array(items) = v else { panic!() };
        assert_eq!(items.len(), 4);
        assert_eq!(&items[1..], &[R::Null, R::Null, R::Null]);
        let R::Array(get) = &items[0] else { panic!() };
        assert_eq!(get.len(), 10);
        assert_eq!(get[0], bulk("get"));
        assert_eq!(get[1], R::Int(2));
        assert_eq!(get[2], R::Array(vec![R::Simple("readonly".into()), R::Simple("fast".into())]));
        assert_eq!(&get[3..6], &[R::Int(1), R::Int(1), R::Int(1)]);
        assert_eq!(
            get[6],
            R::Array(vec![
                R::Simple("@read".into()),
                R::Simple("@string".into()),
                R::Simple("@fast".into())
            ])
        );
        // One derived key spec: RO access, index 1, range 0/1/0.
        let R::Array(specs) = &get[8] else { panic!() };
        assert_eq!(specs.len(), 1);
        let flags = field(&specs[0], "flags").unwrap();
        assert_eq!(flags, &R::Array(vec![R::Simple("RO".into()), R::Simple("access".into())]));
        // Subcommands are nested entries named parent|sub.
        let R::Array(cmd) = h.run(&["COMMAND", "INFO", "command"]) else { panic!() };
        let R::Array(entry) = &cmd[0] else { panic!() };
        let R::Array(subs) = &entry[9] else { panic!() };
        assert_eq!(subs.len(), COMMAND_SUBS.len());
        let R::Array(first) = &subs[0] else { panic!() };
        assert_eq!(first[0], bulk("command|count"));
        // RESP3 uses sets for flags, categories, tips and key specs.
        h.resp3 = true;
        let raw = String::from_utf8(h.raw(&["COMMAND", "INFO", "time"])).unwrap();
        assert_eq!(
            raw,
            "*1\r\n*10\r\n$4\r\ntime\r\n:1\r\n~3\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n\
             :0\r\n~1\r\n+@fast\r\n~1\r\n$23\r\nnondeterministic_output\r\n~0\r\n~0\r\n"
        );
    }

    #[test]
    fn command_docs_shape() {
        let mut h = Harness::new();
        h.resp3 = true;
        let v = h.run(&["COMMAND", "DOCS", "shutdown", "nosuch", "command|list"]);
        let R::Map(docs) = v else { panic!() };
        assert_eq!(docs.len(), 2);
        assert_eq!(text(&docs[0].0), "shutdown");
        let d = &docs[0].1;
        assert_eq!(text(field(d, "group").unwrap()), "server");
        assert_eq!(text(field(d, "since").unwrap()), "1.0.0");
        let R::Array(args) = field(d, "arguments").unwrap() else { panic!() };
        assert_eq!(args.len(), 4);
        assert_eq!(text(field(&args[0], "type").unwrap()), "oneof");
        assert_eq!(field(&args[0], "flags").unwrap(), &R::Set(vec![R::Simple("optional".into())]));
        let R::Array(sub) = field(&args[0], "arguments").unwrap() else { panic!() };
        assert_eq!(text(field(&sub[1], "token").unwrap()), "SAVE");
        let R::Set(history) = field(d, "history").unwrap() else { panic!() };
        assert_eq!(history.len(), 1);
        assert_eq!(text(&docs[1].0), "command|list");
        // Every command's docs form a map whose keys are strings (redis-cli asserts on it).
        let R::Map(all) = h.run(&["COMMAND", "DOCS"]) else { panic!() };
        assert_eq!(all.len(), h.server.table.len());
        for (k, v) in &all {
            assert!(matches!(k, R::Bulk(_)));
            let R::Map(m) = v else { panic!("{k:?}") };
            assert!(m.iter().all(|(k, _)| matches!(k, R::Bulk(_))));
            assert!(field(v, "group").is_some());
        }
        let R::Map(cmd) = h.run(&["COMMAND", "DOCS", "command"]) else { panic!() };
        let R::Map(subs) = field(&cmd[0].1, "subcommands").unwrap() else { panic!() };
        assert!(subs.iter().any(|(k, _)| text(k) == "command|docs"));
    }

    #[test]
    fn command_getkeys() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["COMMAND", "GETKEYS", "get", "key"]), R::Array(vec![bulk("key")]));
        assert_eq!(
            h.run(&["COMMAND", "GETKEYS", "memory", "usage", "key"]),
            R::Array(vec![bulk("key")])
        );
        assert_eq!(
            h.run(&["COMMAND", "GETKEYSANDFLAGS", "memory", "usage", "k"]),
            R::Array(vec![R::Array(vec![bulk("k"), R::Array(vec![R::Simple("RO".into())])])])
        );
        assert_eq!(
            h.run(&["COMMAND", "GETKEYS", "nosuch", "x"]),
            R::Error("ERR Invalid command specified".into())
        );
        assert_eq!(
            h.run(&["COMMAND", "GETKEYS", "ping", "x"]),
            R::Error("ERR The command has no key arguments".into())
        );
        assert_eq!(
            h.run(&["COMMAND", "GETKEYS", "get", "a", "b"]),
            R::Error("ERR Invalid number of arguments specified for command".into())
        );
        assert!(matches!(h.run(&["COMMAND", "GETKEYS", "get"]), R::Error(_)));
    }

    #[test]
    fn help_and_subcommand_errors() {
        let mut h = Harness::new();
        let R::Array(lines) = h.run(&["COMMAND", "HELP"]) else { panic!() };
        assert_eq!(
            lines[0],
            R::Simple("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        assert_eq!(lines.last(), Some(&R::Simple("    Prints this help.".into())));
        assert_eq!(
            h.run(&["COMMAND", "foo"]),
            R::Error("ERR unknown subcommand 'foo'. Try COMMAND HELP.".into())
        );
        assert_eq!(
            h.run(&["LATENCY", "help", "xxx"]),
            R::Error("ERR wrong number of arguments for 'latency|help' command".into())
        );
        assert_eq!(
            h.run(&["SLOWLOG", "get", "1", "2"]),
            R::Error(
                "ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP."
                    .into()
            )
        );
    }

    #[test]
    fn time_and_lastsave() {
        let mut h = Harness::new();
        let R::Array(t) = h.run(&["TIME"]) else { panic!() };
        let secs: i64 = text(&t[0]).parse().unwrap();
        let usecs: i64 = text(&t[1]).parse().unwrap();
        assert!((secs - crate::util::now_ms() / 1000).abs() <= 1);
        assert!((0..1_000_000).contains(&usecs));
        assert_eq!(h.run(&["LASTSAVE"]), R::Int(h.server.lastsave.load(Ordering::Relaxed)));
    }

    #[test]
    fn shutdown_flags() {
        let mut h = Harness::new();
        for bad in [
            &["SHUTDOWN", "foo"][..],
            &["SHUTDOWN", "NOSAVE", "SAVE"],
            &["SHUTDOWN", "ABORT", "NOW"],
        ] {
            assert_eq!(h.run(bad), R::Error("ERR syntax error".into()));
        }
        assert_eq!(h.run(&["SHUTDOWN", "ABORT"]), R::Error("ERR No shutdown in progress.".into()));
        // SHUTDOWN SAVE writes the RDB file: tests/persistence.rs covers it on a real server.
        let raw = h.raw(&["SHUTDOWN", "nosave", "now"]);
        assert!(raw.is_empty());
        assert!(h.client.close_after_reply);
        assert!(h.server.shutting_down.load(Ordering::Acquire));
    }

    #[test]
    fn slowlog_records_slow_commands() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SLOWLOG", "LEN"]), R::Int(0));
        h.server.table.settings.slowlog_slower_than.store(0, Ordering::Relaxed);
        h.run(&["PING", "hello"]);
        let long = "x".repeat(200);
        h.run(&["ECHO", &long]);
        // PING and ECHO; each command is logged once it has run.
        assert_eq!(h.run(&["SLOWLOG", "LEN"]), R::Int(2));
        let R::Array(entries) = h.run(&["SLOWLOG", "GET", "2"]) else { panic!() };
        assert_eq!(entries.len(), 2);
        let R::Array(e) = &entries[1] else { panic!() };
        // Newest first: SLOWLOG LEN, then the ECHO.
        assert_eq!(e.len(), 6);
        let R::Array(args) = &e[3] else { panic!() };
        assert_eq!(args[0], bulk("ECHO"));
        assert_eq!(text(&args[1]), format!("{}... (72 more bytes)", "x".repeat(128)));
        assert_eq!(e[4], bulk("127.0.0.1:5000"));
        assert_eq!(h.run(&["SLOWLOG", "GET", "-2"]), R::Error(errors::SLOWLOG_COUNT.into()));
        let R::Array(all) = h.run(&["SLOWLOG", "GET", "-1"]) else { panic!() };
        assert!(all.len() >= 4);
        // The RESET itself is logged once it has run, unless the log is off.
        assert_eq!(h.run(&["SLOWLOG", "RESET"]), R::Simple("OK".into()));
        assert_eq!(h.run(&["SLOWLOG", "LEN"]), R::Int(1));
        h.server.table.settings.slowlog_slower_than.store(-1, Ordering::Relaxed);
        assert_eq!(h.run(&["SLOWLOG", "RESET"]), R::Simple("OK".into()));
        assert_eq!(h.run(&["SLOWLOG", "LEN"]), R::Int(0));
    }

    #[test]
    fn latency_histogram_and_events() {
        let mut h = Harness::new();
        h.run(&["PING"]);
        h.run(&["PING"]);
        h.run(&["COMMAND", "COUNT"]);
        let v = h.run(&["LATENCY", "HISTOGRAM", "ping", "nosuch", "command"]);
        let R::Array(flat) = v else { panic!() };
        assert_eq!(flat.len(), 4);
        assert_eq!(flat[0], bulk("ping"));
        assert_eq!(field(&flat[1], "calls"), Some(&R::Int(2)));
        assert_eq!(flat[2], bulk("command|count"));
        assert_eq!(h.run(&["LATENCY", "LATEST"]), R::Array(vec![]));
        h.server.table.add_latency_sample("command", 300);
        let R::Array(latest) = h.run(&["LATENCY", "LATEST"]) else { panic!() };
        let R::Array(ev) = &latest[0] else { panic!() };
        assert_eq!(ev[0], bulk("command"));
        assert_eq!(ev[2], R::Int(300));
        assert_eq!(ev[3], R::Int(300));
        let R::Array(hist) = h.run(&["LATENCY", "HISTORY", "command"]) else { panic!() };
        assert_eq!(hist.len(), 1);
        assert!(text(&h.run(&["LATENCY", "GRAPH", "command"])).starts_with("command - high 300"));
        assert!(text(&h.run(&["LATENCY", "DOCTOR"])).contains("1. command: 1 latency spikes"));
        assert_eq!(
            h.run(&["LATENCY", "GRAPH", "nosuch"]),
            R::Error("ERR No samples available for event 'nosuch'".into())
        );
        assert_eq!(h.run(&["LATENCY", "RESET", "nosuch"]), R::Int(0));
        assert_eq!(h.run(&["LATENCY", "RESET"]), R::Int(1));
        assert_eq!(h.run(&["LATENCY", "LATEST"]), R::Array(vec![]));
    }

    #[test]
    fn memory_commands() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["MEMORY", "USAGE", "nokey"]), R::Null);
        h.run(&["SET", "foo", "bar"]);
        let R::Int(n) = h.run(&["MEMORY", "USAGE", "foo"]) else { panic!() };
        assert!(n > 0 && n < 200);
        assert_eq!(
            h.run(&["MEMORY", "USAGE", "foo", "SAMPLES"]),
            R::Error("ERR syntax error".into())
        );
        assert_eq!(
            h.run(&["MEMORY", "USAGE", "foo", "SAMPLES", "x"]),
            R::Error(errors::NOT_INTEGER.into())
        );
        h.resp3 = true;
        let stats = h.run(&["MEMORY", "STATS"]);
        assert_eq!(field(&stats, "keys.count"), Some(&R::Int(1)));
        assert!(field(&stats, "db.0").is_some());
        assert!(matches!(field(&stats, "fragmentation"), Some(R::Double(_))));
        assert!(text(&h.run(&["MEMORY", "DOCTOR"])).starts_with("Hi Sam"));
        assert_eq!(h.run(&["MEMORY", "PURGE"]), R::Simple("OK".into()));
        assert!(text(&h.run(&["MEMORY", "MALLOC-STATS"])).contains("jemalloc"));
    }

    #[test]
    fn every_row_has_docs_and_keys_fit_arity() {
        for fam in crate::cmd::FAMILIES {
            for c in fam.iter().flat_map(|c| std::iter::once(c).chain(c.subcommands)) {
                assert!(!c.summary.is_empty(), "{} has no summary", c.name);
                assert!(!c.group.is_empty());
                if let KeySpec::Range { first, .. } = c.keys {
                    assert!(first < c.arity.abs(), "{}: first key beyond arity", c.name);
                }
            }
        }
    }
}
