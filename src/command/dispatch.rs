//! Dispatch: from an argument vector to a reply, through Redis's gates.

use std::sync::atomic::Ordering;

use super::table::{Command, KeySpec, flags};
use crate::protocol::{Reply, errors};
use crate::server::Server;
use crate::server::client::Client;
use crate::store::{Keyspace, hash_key, shard_of, shard_of_key};

/// What a handler works with: the server, the keyspace view holding the command's shards, the
/// calling client's session, and its output buffer.
pub struct Ctx<'s, 'c> {
    pub server: &'s Server,
    pub ks: Keyspace<'s>,
    pub client: &'c mut Client,
    pub out: &'c mut Reply,
    /// Index of the running command's table entry.
    pub entry: usize,
}

impl Ctx<'_, '_> {
    /// Replies `ERR syntax error`.
    pub fn syntax_error(&mut self) {
        self.out.error(errors::SYNTAX);
    }

    /// Switches the client and this view to database `db` (the caller checked the range).
    pub fn select(&mut self, db: usize) {
        self.client.db = db;
        self.ks.db = db;
        self.client.info.db.store(db, Ordering::Relaxed);
    }
}

/// Returns the bit mask of the shards holding the keys `cmd` declares in `argv`, and the hash
/// of the first key (index, hash), so the command does not hash it again.
fn shard_mask(cmd: &Command, argv: &[&[u8]]) -> (u32, Option<(usize, u64)>) {
    match cmd.keys {
        KeySpec::None => (0, None),
        KeySpec::Range { first, last, step } => {
            let argc = argv.len() as i32;
            let last = if last < 0 { argc + last } else { last.min(argc - 1) };
            let mut mask = 0u32;
            let mut first_hash = None;
            let mut i = first;
            while i <= last && i < argc && step > 0 {
                let h = hash_key(argv[i as usize]);
                first_hash.get_or_insert((i as usize, h));
                mask |= 1 << shard_of(h);
                i += step;
            }
            (mask, first_hash)
        }
        KeySpec::Custom(f) => {
            let mask = f(argv).into_iter().filter(|&i| i < argv.len()).fold(0, |m, i| {
                m | 1 << shard_of_key(argv[i])
            });
            (mask, None)
        }
    }
}

/// True when `maxmemory` is set and the memory in use exceeds it. Eviction is not built yet,
/// so under every policy a command that may grow memory is refused, as Redis does under
/// `noeviction` (and under the other policies once nothing is left to evict).
fn over_maxmemory(server: &Server) -> bool {
    let max = server.config.read().maxmemory;
    max > 0 && crate::server::info::used_memory() > max
}

/// True for the commands a RESP2 client in subscribed mode may run.
fn allowed_when_subscribed(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// Runs one request. `argv` is not empty.
pub fn execute(server: &Server, client: &mut Client, out: &mut Reply, argv: &[&[u8]]) {
    let table = &server.table;
    let Some(mut idx) = table.lookup(argv[0]) else {
        client.flag_multi_error();
        out.error(&errors::unknown_command(argv[0], &argv[1..]));
        server.stats.count_errors(out);
        return;
    };
    let parent = &table.entries[idx];
    if !parent.cmd.subcommands.is_empty() && argv.len() >= 2 {
        match table.lookup_sub(idx, argv[1]) {
            Some(s) => idx = s,
            None => {
                client.flag_multi_error();
                out.error(&errors::unknown_subcommand(argv[1], &String::from_utf8_lossy(argv[0])));
                server.stats.count_errors(out);
                return;
            }
        }
    }
    let entry = &table.entries[idx];
    let cmd = entry.cmd;
    // A command refused here dooms the transaction being queued, if any (EXECABORT).
    let reject = |client: &mut Client, out: &mut Reply, msg: &str| {
        client.flag_multi_error();
        out.error(msg);
        entry.stats.rejected_calls.fetch_add(1, Ordering::Relaxed);
        server.stats.count_errors(out);
    };
    if !cmd.arity_ok(argv.len()) {
        return reject(client, out, &errors::wrong_arity(&entry.full_name));
    }
    if !client.authenticated && cmd.flags & flags::NO_AUTH == 0 && server.auth_required() {
        return reject(client, out, errors::NOAUTH);
    }
    if cmd.flags & flags::PROTECTED != 0 && !server.protected_allowed(cmd, client) {
        return reject(client, out, errors::DEBUG_DISABLED);
    }
    let in_multi = client.multi.is_some();
    if in_multi && cmd.flags & flags::NO_MULTI != 0 {
        return reject(client, out, errors::NOT_IN_MULTI);
    }
    // Queueing may use any amount of memory, so in MULTI everything but EXEC, DISCARD, QUIT
    // and RESET is refused when over maxmemory; EXEC itself when it holds a command that
    // is (the transaction is then discarded, as Redis's execCommandAbort does).
    let queues =
        in_multi && !matches!(cmd.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset");
    let denyoom = cmd.flags & flags::DENYOOM != 0
        || (in_multi
            && cmd.name == "exec"
            && client.multi.as_ref().is_some_and(|m| m.cmd_flags & flags::DENYOOM != 0));
    let oom_check =
        denyoom || (in_multi && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset"));
    if oom_check && over_maxmemory(server) {
        if in_multi && cmd.name == "exec" {
            client.discard_multi();
            crate::cmd::multi::forget(server, client);
            return reject(client, out, &crate::cmd::multi::exec_abort_error(errors::OOM));
        }
        return reject(client, out, errors::OOM);
    }
    // Persistence: writes (and PING) are refused while the last background save failed and
    // `stop-writes-on-bgsave-error` is on, as Redis's MISCONF gate.
    let writes = cmd.flags & flags::WRITE != 0
        || cmd.name == "ping"
        || (in_multi
            && cmd.name == "exec"
            && client.multi.as_ref().is_some_and(|m| m.cmd_flags & flags::WRITE != 0));
    if writes && crate::cmd::persist::writes_refused(server) {
        if in_multi && cmd.name == "exec" {
            client.discard_multi();
            crate::cmd::multi::forget(server, client);
            return reject(client, out, &crate::cmd::multi::exec_abort_error(errors::MISCONF));
        }
        return reject(client, out, errors::MISCONF);
    }
    // Persistence: while the RDB file loads, only LOADING-flagged commands run.
    if cmd.flags & flags::LOADING == 0 && server.persist.loading.load(Ordering::Acquire) {
        return reject(client, out, errors::LOADING);
    }
    // RESP2 subscribed mode: replies and messages share one stream, so only the commands
    // whose replies look like messages may run.
    if client.pubsub.is_some()
        && !out.resp3
        && crate::server::pubsub::subscribed(client)
        && !allowed_when_subscribed(cmd)
    {
        return reject(client, out, &errors::subscribed_context(&entry.full_name));
    }
    if queues {
        // Counted when EXEC runs it, as Redis counts a command in its call.
        server.stats.total_commands_processed.fetch_sub(1, Ordering::Relaxed);
        return queue(client, out, idx, cmd, argv);
    }

    let now = crate::util::now_ms();
    let ks = if cmd.flags & flags::ALL_SHARDS != 0 {
        server.store.lock_all(client.db, now)
    } else {
        let (mask, first) = shard_mask(cmd, argv);
        let mut ks = server.store.lock_mask(client.db, now, mask);
        if let Some((i, h)) = first {
            ks.set_hash_hint(argv[i], h);
        }
        ks
    };
    let started = crate::util::mono_ns();
    let mut ctx = Ctx { server, ks, client, out, entry: idx };
    (cmd.handler)(&mut ctx, argv);
    if !ctx.ks.ready.is_empty() {
        // Clients blocked on keys this command created are served now, before its locks go.
        crate::cmd::blocking::serve_ready(&mut ctx.ks);
    }
    ctx.ks.finish_watch(0);
    let dirty = ctx.ks.dirty;
    drop(ctx);
    if client.blocked.is_some() {
        client.info.last_cmd.store(idx, Ordering::Relaxed);
        // Counted when the wait ends (cmd::blocking::finish_blocked), as Redis counts a
        // blocked command's call once, on unblocking.
        if dirty > 0 {
            server.stats.dirty.fetch_add(dirty, Ordering::Relaxed);
        }
        return;
    }
    let took = std::time::Duration::from_nanos(crate::util::mono_ns() - started);
    if dirty > 0 {
        server.stats.dirty.fetch_add(dirty, Ordering::Relaxed);
    }
    table.record_call(idx, took, argv, client);
    if out.has_errors() {
        entry.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        server.stats.count_errors(out);
    }
    client.info.last_cmd.store(idx, Ordering::Relaxed);
}

/// Files a command in the client's transaction and replies `+QUEUED`. A transaction already
/// doomed (a queueing error, or a watched key touched) keeps nothing, as Redis does.
fn queue(client: &mut Client, out: &mut Reply, idx: usize, cmd: &Command, argv: &[&[u8]]) {
    let doomed = client.watch_dirty.load(Ordering::Relaxed);
    if let Some(m) = client.multi.as_mut()
        && !m.error
        && !doomed
    {
        m.queue.push((idx, argv.iter().map(|a| a.to_vec()).collect()));
        m.cmd_flags |= cmd.flags;
        client.info.multi.store(m.queue.len() as i32, Ordering::Relaxed);
        if cmd.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0 {
            client.info.set_flag(crate::server::client::flags::MULTI_MAY_WRITE, true);
        }
    }
    // CLIENT LIST's cmd= shows the last command queued, as Redis records it at lookup.
    client.info.last_cmd.store(idx, Ordering::Relaxed);
    out.simple(b"QUEUED");
}

/// Runs one queued command inside EXEC against EXEC's view (every shard held), recording its
/// call, errors and touched watched keys as if it had run alone.
pub fn run_queued(ctx: &mut Ctx, idx: usize, argv: &[&[u8]]) {
    let server = ctx.server;
    let entry = &server.table.entries[idx];
    let exec_entry = std::mem::replace(&mut ctx.entry, idx);
    let started = crate::util::mono_ns();
    let dirty_before = ctx.ks.dirty;
    server.stats.total_commands_processed.fetch_add(1, Ordering::Relaxed);
    (entry.cmd.handler)(ctx, argv);
    ctx.ks.finish_watch(dirty_before);
    let took = std::time::Duration::from_nanos(crate::util::mono_ns() - started);
    server.table.record_call(idx, took, argv, ctx.client);
    if ctx.out.has_errors() {
        entry.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        server.stats.count_errors(ctx.out);
    }
    ctx.entry = exec_entry;
}
