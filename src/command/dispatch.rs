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

    /// True when writes are propagated (the AOF is on): only then do the propagation methods
    /// below record anything.
    #[inline]
    pub fn propagating(&self) -> bool {
        self.server.store.tunables.propagate.load(Ordering::Relaxed)
    }

    /// Propagates `argv` instead of the command's own argument vector (Redis's
    /// `rewriteClientCommandVector`), even when the command changed nothing.
    pub fn propagate_as(&mut self, argv: &[&[u8]]) {
        if self.propagating() {
            self.ks.prop.replaced = Some(argv.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// Propagates the command even if it changed nothing (Redis's `forceCommandPropagation`).
    pub fn force_propagation(&mut self) {
        if self.propagating() {
            self.ks.prop.forced = true;
        }
    }

    /// Propagates nothing for the command itself (it propagated its effects with
    /// [`Ctx::also_propagate`]).
    pub fn prevent_propagation(&mut self) {
        if self.propagating() {
            self.ks.prop.replaced = Some(Vec::new());
        }
    }

    /// Propagates `argv` in the current database, before the command's own (Redis's
    /// `alsoPropagate`): several commands of one execution unit are wrapped in MULTI/EXEC.
    pub fn also_propagate(&mut self, argv: &[&[u8]]) {
        if self.propagating() {
            let db = self.ks.db;
            self.ks.prop.unit.push((db, argv.iter().map(|a| a.to_vec()).collect()));
        }
    }

    /// Switches the client and this view to database `db` (the caller checked the range).
    pub fn select(&mut self, db: usize) {
        self.client.db = db;
        self.ks.db = db;
        self.client.info.db.store(db, Ordering::Relaxed);
    }

    /// Notes keyspace event `event` of class `class` (a bit of `config::notify`) for `key` of
    /// the current database, published when the command ends; a no-op (one relaxed load)
    /// unless `notify-keyspace-events` enables the class.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.ks.notify(class, event, key);
    }
}

/// The last command name a client sent, as sent (up to 16 bytes), and its table index: a
/// pipeline repeats one command, and comparing two integers is cheaper than lowercasing,
/// hashing and comparing the name in the table.
#[derive(Debug, Default)]
pub struct NameCache {
    /// The name's bytes as [`NameCache::pack`] folds them, two halves (a `u128` field would
    /// align the whole client to 16 bytes); `len` 0: empty.
    key: [u64; 2],
    len: u32,
    idx: u32,
}

impl NameCache {
    /// Folds a name of 1 to 16 bytes into two words with at most four loads, no byte loop:
    /// two words that may overlap (their first and last bytes) cover every byte, so with the
    /// length (compared apart) the result tells any two names apart.
    #[inline(always)]
    fn pack(name: &[u8]) -> Option<[u64; 2]> {
        let n = name.len();
        let word = |at: usize| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&name[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let half = |at: usize| -> u64 {
            let mut b = [0u8; 4];
            b.copy_from_slice(&name[at..at + 4]);
            u32::from_le_bytes(b) as u64
        };
        match n {
            8..=16 => Some([word(0), word(n - 8)]),
            4..=7 => Some([half(0), half(n - 4)]),
            1..=3 => Some([name[0] as u64 | (name[n / 2] as u64) << 8, name[n - 1] as u64]),
            _ => None,
        }
    }

    /// Returns the table index of `name` if it is the name last remembered.
    #[inline]
    fn get(&self, name: &[u8]) -> Option<usize> {
        (name.len() == self.len as usize && Self::pack(name) == Some(self.key))
            .then_some(self.idx as usize)
    }

    /// Remembers that `name` is entry `idx`.
    #[inline]
    fn put(&mut self, name: &[u8], idx: usize) {
        if let Some(key) = Self::pack(name) {
            *self = NameCache { key, len: name.len() as u32, idx: idx as u32 };
        }
    }
}

/// Finds the table entry of command `name`, through the client's [`NameCache`].
#[inline]
fn lookup_cached(table: &crate::command::Table, client: &mut Client, name: &[u8]) -> Option<usize> {
    if let Some(idx) = client.name_cache.get(name) {
        return Some(idx);
    }
    let idx = table.lookup(name)?;
    client.name_cache.put(name, idx);
    Some(idx)
}

/// True for the commands whose statistics may wait in [`PendingCalls`]: keyspace commands
/// (fast, reading or writing keys). Those that report or reset statistics (INFO, LATENCY,
/// CONFIG, COMMAND, CLIENT, SLOWLOG, MEMORY STATS, DEBUG, EXEC) are none of these, so the calls
/// before them are always counted when they run.
#[inline]
fn batched(cmd: &Command) -> bool {
    cmd.flags & (flags::FAST | flags::WRITE | flags::READONLY) != 0
}

/// Statistics of a run of calls of one keyspace command in a batch of pipelined requests, added
/// to the shared counters together: one atomic add per counter for the run rather than one
/// per call (a locked add costs more than a GET's own work on these VMs). Flushed before any
/// other command runs (so INFO, LATENCY HISTOGRAM and the like see every earlier call, as with
/// Redis) and when the batch ends.
#[derive(Debug, Default)]
///
/// Counts are 32-bit (flushed before they could wrap) to keep every connection's task small.
pub struct PendingCalls {
    usec: u64,
    /// `total_commands_processed` not yet added (any command of the batch).
    pub commands: u64,
    /// Calls of 0, 1, 2 and 3 microseconds not yet in the latency histogram (a fast command's
    /// measured time alternates between a few values; longer calls are recorded at once).
    hist: [u32; 4],
    /// Table entry of the run.
    idx: u32,
    calls: u32,
}

impl PendingCalls {
    /// Adds what is pending to the server's counters.
    pub fn flush(&mut self, server: &Server) {
        if self.commands > 0 {
            server.stats.total_commands_processed.fetch_add(self.commands, Ordering::Relaxed);
            self.commands = 0;
        }
        if self.calls > 0 {
            server.table.count_calls(self.idx as usize, self.calls as u64, self.usec);
            self.flush_histogram(server);
            self.calls = 0;
            self.usec = 0;
        }
    }

    fn flush_histogram(&mut self, server: &Server) {
        let hist = &server.table.entries[self.idx as usize].stats.latency;
        for (usec, n) in self.hist.iter_mut().enumerate() {
            if *n > 0 {
                hist.record_n(usec as u64 * 1000, *n as u64);
                *n = 0;
            }
        }
    }

    /// Notes one call of entry `idx` (see [`batched`]) taking `usec` microseconds.
    #[inline(always)]
    fn add(&mut self, server: &Server, idx: usize, usec: u64) {
        if self.calls > 0 && (self.idx as usize != idx || self.calls == u32::MAX) {
            self.flush(server);
        }
        self.idx = idx as u32;
        self.calls += 1;
        self.usec += usec;
        if server.table.latency_tracking() {
            match self.hist.get_mut(usec as usize) {
                Some(n) => *n += 1,
                None => server.table.entries[idx].stats.latency.record(usec * 1000),
            }
        }
    }
}

/// Publishes the keyspace events the command noted in `ks` (none unless notifications are
/// on). Called by `execute` once the command's locks are released, and by `run_queued` after
/// each command of a transaction, under EXEC's locks (the pub/sub registry lock is never held
/// while taking a shard lock, so either order is safe).
fn publish_events(server: &Server, ks: &mut Keyspace) {
    if !ks.events.is_empty() {
        let events = std::mem::take(&mut ks.events);
        crate::server::notify::publish(server, &events);
    }
}

/// Returns the bit mask of the shards holding the keys `cmd` declares in `argv`, and the hash
/// of the first key (index, hash), so the command does not hash it again.
#[inline(always)]
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
    let max = server.store.tunables.maxmemory.load(Ordering::Relaxed);
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

/// Owns a command's context and drops it cheaply: when its keyspace view noted nothing (no
/// side table allocated, the common case), only the view's locks are released and the rest,
/// references and unallocated vectors, is forgotten; otherwise the context is dropped in full.
/// Also on unwinding, so a panicking handler still releases its shards.
struct BareDrop<'s, 'c>(std::mem::ManuallyDrop<Ctx<'s, 'c>>);

impl Drop for BareDrop<'_, '_> {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.0.ks.release_if_bare() {
            // SAFETY: the context is dropped here once, and never used again.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.0) }
        }
    }
}

/// Runs one request. `argv` is not empty.
pub fn execute(server: &Server, client: &mut Client, out: &mut Reply, argv: &[&[u8]]) {
    let table = &server.table;
    let Some(mut idx) = lookup_cached(table, client, argv[0]) else {
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
    let p = &client.pending;
    if (p.calls > 0 || p.commands > 0) && (p.idx as usize != idx || !batched(cmd)) {
        // Another command: what it may report includes every call before it.
        client.pending.flush(server);
    }
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
    // `stop-writes-on-bgsave-error` is on, or the AOF's last write failed: Redis's MISCONF gate.
    let writes = cmd.flags & flags::WRITE != 0
        || cmd.name == "ping"
        || (in_multi
            && cmd.name == "exec"
            && client.multi.as_ref().is_some_and(|m| m.cmd_flags & flags::WRITE != 0));
    if writes
        && crate::cmd::persist::disk_failed(server)
        && let Some(err) = crate::cmd::persist::writes_refused(server)
    {
        if in_multi && cmd.name == "exec" {
            client.discard_multi();
            crate::cmd::multi::forget(server, client);
            return reject(client, out, &crate::cmd::multi::exec_abort_error(&err));
        }
        return reject(client, out, &err);
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
    // Client-side caching: one relaxed load when nobody tracks.
    let tracking = server.store.tracking.load(Ordering::Relaxed);
    if tracking {
        tracking_before(server, client, out);
    }
    if queues {
        // Counted when EXEC runs it, as Redis counts a command in its call.
        if client.pending.commands > 0 {
            client.pending.commands -= 1;
        } else {
            server.stats.total_commands_processed.fetch_sub(1, Ordering::Relaxed);
        }
        return queue(client, out, idx, cmd, argv);
    }

    // One clock reading is both the command's clock and the start of its duration (as Redis's
    // `call` reads `ustime` once); inside a batch it is the end of the previous command.
    // In a batch, once the time-stamp counter is calibrated, readings are the counter's (a
    // third of the cost of the clock here), converted against the wall-clock reading the
    // batch started with; the batch is short, so the counter's drift is nothing.
    let scale = if client.batch_clock { crate::util::tsc_scale() } else { None };
    let started = match scale {
        Some(scale) => {
            if client.clock_us == 0 || client.clock_tsc == 0 {
                client.clock_us = crate::util::now_us();
                client.clock_tsc = crate::util::tsc();
                client.last_tsc = client.clock_tsc;
            }
            let at = client.last_tsc.max(client.clock_tsc);
            client.clock_us + crate::util::tsc_to_us(at - client.clock_tsc, scale)
        }
        None => match std::mem::take(&mut client.clock_us) {
            0 => crate::util::now_us(),
            t => t,
        },
    };
    let now = started / 1000;
    let (mask, first) =
        if cmd.flags & flags::ALL_SHARDS != 0 { (u32::MAX, None) } else { shard_mask(cmd, argv) };
    let db = client.db;
    // The keyspace view is a few hundred bytes: it is built in its final place inside the
    // context (`view`, then `lock_more`), as each move of it was a memcpy call on every
    // command, and dropped through `BareDrop`, which only releases the locks when the command
    // noted nothing.
    let (dirty, events) = {
        let mut guard = BareDrop(std::mem::ManuallyDrop::new(Ctx {
            server,
            ks: server.store.view(db, now),
            client,
            out,
            entry: idx,
        }));
        let ctx: &mut Ctx = &mut guard.0;
        ctx.ks.lock_more(mask);
        if let Some((i, h)) = first {
            ctx.ks.set_hash_hint(argv[i], h);
        }
        run_locked(ctx, db, cmd, argv, tracking, &entry.full_name);
        // (An `Option`: the drop of an empty event vector was an out-of-line call.)
        let events = (!ctx.ks.events.is_empty()).then(|| std::mem::take(&mut ctx.ks.events));
        (ctx.ks.dirty, events)
    };
    if let Some(events) = events {
        // Keyspace notifications, after the locks are released (see `publish_events`).
        crate::server::notify::publish(server, &events);
    }
    if client.blocked.is_some() {
        client.info.last_cmd.store(idx, Ordering::Relaxed);
        // Counted when the wait ends (cmd::blocking::finish_blocked), as Redis counts a
        // blocked command's call once, on unblocking.
        if dirty > 0 {
            server.stats.dirty.fetch_add(dirty, Ordering::Relaxed);
        }
        return;
    }
    let ended = match scale {
        Some(scale) => {
            let t = crate::util::tsc().max(client.last_tsc).max(client.clock_tsc);
            client.last_tsc = t;
            client.clock_us + crate::util::tsc_to_us(t - client.clock_tsc, scale)
        }
        None => {
            let ended = crate::util::now_us();
            if client.batch_clock {
                client.clock_us = ended;
                // No counter reading goes with this one: should the rate be published before
                // the next command, that command must read both clocks afresh rather than
                // pair this reading with the read's counter value (which would put the rest
                // of the batch ahead by this command's duration).
                client.clock_tsc = 0;
            }
            ended
        }
    };
    // Wall-clock microseconds, as Redis measures a call (a clock step back counts as 0).
    let took = std::time::Duration::from_micros(ended.saturating_sub(started).max(0) as u64);
    if dirty > 0 {
        server.stats.dirty.fetch_add(dirty, Ordering::Relaxed);
    }
    if client.batch_clock && batched(cmd) {
        // Counted with the calls of the same command around it (see `PendingCalls`).
        let usec = took.as_micros() as u64;
        client.pending.add(server, idx, usec);
        table.watch_call(idx, usec, argv, client);
    } else {
        table.record_call(idx, took, argv, client);
    }
    if out.has_errors() {
        entry.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        server.stats.count_errors(out);
    }
    client.info.last_cmd.store(idx, Ordering::Relaxed);
}

/// Runs the handler of `cmd` in `ctx` (its shards held), then what follows a command while its
/// locks are still held: propagation (in `db`, the database selected when the command
/// started), serving blocked clients, watches, client-side caching.
#[inline(always)]
fn run_locked(ctx: &mut Ctx, db: usize, cmd: &Command, argv: &[&[u8]], tracking: bool, name: &str) {
    (cmd.handler)(ctx, argv);
    let propagating = ctx.propagating();
    if propagating {
        end_propagation(ctx, db, cmd, argv, 0);
    }
    if !ctx.ks.ready.is_empty() {
        // Clients blocked on keys this command created are served now, before its locks go.
        crate::cmd::blocking::serve_ready(&mut ctx.ks);
    }
    if propagating {
        feed_aof(ctx);
    }
    ctx.ks.finish_watch(0);
    // (A transaction that turned tracking on may have left invalidations in the client.)
    if tracking
        || ctx.ks.tracking_flushed
        || !ctx.ks.invalidated.is_empty()
        || !ctx.client.tracking_pending.is_empty()
        || !ctx.client.tracking_bcast.is_empty()
    {
        ctx.ks.finish_tracking(0);
        tracking_after(ctx, cmd, argv, false);
        tracking_end(ctx, name);
    }
}

/// Client-side caching before a command: a tracking table grown past
/// `tracking-table-max-keys` is cut down now, as Redis does before each command; what that
/// sends this client goes ahead of the reply.
fn tracking_before(server: &Server, client: &mut Client, out: &mut Reply) {
    server.tracking.enforce_limit(server, client.id, &mut out.buf);
}

/// Client-side caching after one command (alone or inside EXEC), its shard locks still held
/// so no write slips between a read and its remembering: the keys it modified or flushed are
/// invalidated, then, for a tracking client, the keys a read-only command declared are
/// remembered (in OPTIN mode only after CLIENT CACHING YES, in OPTOUT mode unless CLIENT
/// CACHING NO; never in BCAST mode, nor for pub/sub's shard channels).
/// Inside EXEC (`in_exec`) the BCAST part waits for the end of the transaction.
pub fn tracking_after(ctx: &mut Ctx, cmd: &Command, argv: &[&[u8]], in_exec: bool) {
    use crate::server::tracking::Scope;
    let server = ctx.server;
    if ctx.ks.tracking_flushed || !ctx.ks.invalidated.is_empty() {
        let mut keys = std::mem::take(&mut ctx.ks.invalidated);
        let flushed = std::mem::take(&mut ctx.ks.tracking_flushed);
        // This client's own invalidations (rare) gather in a Vec, then follow its reply.
        let mut own = Vec::new();
        let scope = if in_exec { Scope::Table } else { Scope::All };
        server.tracking.invalidate(server, &mut keys, flushed, ctx.client.id, &mut own, scope);
        ctx.client.tracking_pending.extend_from_slice(&own);
        if in_exec && server.tracking.has_prefixes() {
            ctx.client.tracking_bcast.extend(keys.drain(..));
        }
        keys.clear();
        ctx.ks.invalidated = keys;
    }
    if !in_exec && !ctx.client.tracking_bcast.is_empty() {
        let mut keys: Vec<_> = std::mem::take(&mut ctx.client.tracking_bcast).into_iter().collect();
        let mut own = Vec::new();
        let id = ctx.client.id;
        server.tracking.invalidate(server, &mut keys, false, id, &mut own, Scope::Broadcast);
        ctx.client.tracking_pending.extend_from_slice(&own);
    }
    use crate::server::client::flags as cf;
    let f = ctx.client.info.flags.load(Ordering::Relaxed);
    if f & cf::TRACKING == 0
        || f & cf::TRACKING_BCAST != 0
        || cmd.flags & flags::READONLY == 0
        || cmd.flags & flags::PUBSUB != 0
    {
        return;
    }
    let caching = f & cf::TRACKING_CACHING != 0;
    if (f & cf::TRACKING_OPTIN != 0 && !caching) || (f & cf::TRACKING_OPTOUT != 0 && caching) {
        return;
    }
    let mut keys: smallvec::SmallVec<[&[u8]; 8]> = smallvec::SmallVec::new();
    crate::server::tracking::for_each_key(cmd, argv, |k| keys.push(k));
    if !keys.is_empty() {
        server.tracking.remember(&server.store, ctx.client.id, keys.into_iter());
    }
}

/// Client-side caching at the end of a command: CLIENT CACHING applies to one command (or
/// transaction) only, and invalidations due to this client follow its reply (into its inbox
/// when CLIENT REPLY drops the reply, as Redis lets pushes through).
fn tracking_end(ctx: &mut Ctx, full_name: &str) {
    use crate::server::client::flags as cf;
    let info = &ctx.client.info;
    if info.has_flag(cf::TRACKING_CACHING)
        && ctx.client.multi.is_none()
        && !full_name.starts_with("client|")
    {
        info.set_flag(cf::TRACKING_CACHING, false);
    }
    if ctx.client.tracking_pending.is_empty() {
        return;
    }
    if ctx.client.reply_mode == crate::server::client::ReplyMode::On {
        ctx.out.buf.extend_from_slice(&ctx.client.tracking_pending);
    } else if let Some(inbox) = ctx.server.pubsub.inbox(ctx.client.id) {
        inbox.push_raw(&ctx.client.tracking_pending);
    }
    ctx.client.tracking_pending.clear();
}

/// Propagation hook: ends the command's execution unit, with its own argv (or what it
/// propagates instead) when it changed something since `dirty_before`. EXEC is never
/// propagated itself: its unit holds the queued commands.
fn end_propagation(ctx: &mut Ctx, db: usize, cmd: &Command, argv: &[&[u8]], dirty_before: u64) {
    if cmd.name != "exec" {
        let dirty = ctx.ks.dirty > dirty_before;
        ctx.ks.prop.end_command(db, argv, dirty);
    }
    ctx.ks.prop.end_unit();
}

/// Propagation hook: hands what the command gathered to the AOF while its locks are still
/// held (so writes to one key reach the file in order), and notes the offset its reply must
/// wait for.
fn feed_aof(ctx: &mut Ctx) {
    let lazy = ctx.server.store.tunables.lazy_expire.load(Ordering::Relaxed);
    if let Some(at) = ctx.server.aof.feed(&mut ctx.ks.prop, lazy) {
        ctx.client.aof_need = at;
    }
}

/// Files a command in the client's transaction and replies `+QUEUED`. A transaction already
/// doomed (a queueing error, or a watched key touched) keeps nothing, as Redis does.
fn queue(client: &mut Client, out: &mut Reply, idx: usize, cmd: &Command, argv: &[&[u8]]) {
    let doomed = client.watch_dirty.is_set();
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
    let db = ctx.ks.db;
    server.stats.total_commands_processed.fetch_add(1, Ordering::Relaxed);
    (entry.cmd.handler)(ctx, argv);
    if ctx.propagating() {
        // Joins EXEC's execution unit, closed (and wrapped in MULTI/EXEC) when EXEC ends.
        let dirty = ctx.ks.dirty > dirty_before;
        ctx.ks.prop.end_command(db, argv, dirty);
    }
    ctx.ks.finish_watch(dirty_before);
    ctx.ks.finish_tracking(dirty_before);
    // Invalidations to this client wait in `tracking_pending` until EXEC has replied.
    tracking_after(ctx, entry.cmd, argv, true);
    publish_events(server, &mut ctx.ks);
    let took = std::time::Duration::from_nanos(crate::util::mono_ns() - started);
    server.table.record_call(idx, took, argv, ctx.client);
    if ctx.out.has_errors() {
        entry.stats.failed_calls.fetch_add(1, Ordering::Relaxed);
        server.stats.count_errors(ctx.out);
    }
    ctx.entry = exec_entry;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::command::testing::Harness;

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn batched_calls_are_counted_before_another_command_reads_them() {
        let mut h = Harness::new();
        let server = h.server.clone();
        let before = server.stats.total_commands_processed.load(Ordering::Relaxed);
        // As the connection loop runs a batch of pipelined requests.
        h.client.batch_clock = true;
        for _ in 0..3 {
            h.run(&["GET", "k"]);
        }
        h.run(&["SET", "k", "v"]);
        let get = server.table.lookup(b"get").unwrap();
        let get_calls = || server.table.entries[get].stats.calls.load(Ordering::Relaxed);
        // The run of GETs was added when SET (another command) came.
        assert_eq!(get_calls(), 3);
        let info = h.raw(&["INFO", "commandstats"]);
        assert!(contains(&info, "cmdstat_get:calls=3,"), "{}", String::from_utf8_lossy(&info));
        assert!(contains(&info, "cmdstat_set:calls=1,"), "{}", String::from_utf8_lossy(&info));
        let info = h.raw(&["INFO", "stats"]);
        // Both INFOs count themselves, as they do outside a batch.
        let want = format!("total_commands_processed:{}\r\n", before + 6);
        assert!(contains(&info, &want), "{}", String::from_utf8_lossy(&info));
        // The end of the batch adds the rest.
        h.run(&["GET", "k"]);
        h.client.batch_clock = false;
        h.client.pending.flush(&h.server);
        assert_eq!(get_calls(), 4);
        assert_eq!(server.stats.total_commands_processed.load(Ordering::Relaxed), before + 7);
        let hist = &server.table.entries[get].stats.latency;
        assert_eq!(hist.total(), 4);
    }

    #[test]
    fn commands_that_report_statistics_are_never_batched() {
        let h = Harness::new();
        let t = &h.server.table;
        let mut seen = 0;
        for e in &t.entries {
            let name = e.full_name.as_str();
            let base = name.split('|').next().unwrap_or(name);
            let reports = matches!(
                base,
                "info" | "latency" | "config" | "command" | "client" | "slowlog" | "debug" | "exec"
            ) || name == "memory|stats";
            if reports {
                seen += 1;
                assert!(!super::batched(e.cmd), "{name} must flush the batched statistics");
            }
        }
        assert!(seen > 10, "{seen}");
        let get = t.lookup(b"get").unwrap();
        assert!(super::batched(t.entries[get].cmd));
        let set = t.lookup(b"set").unwrap();
        assert!(super::batched(t.entries[set].cmd));
    }

    #[test]
    fn name_cache_tells_apart_names_that_pack_alike() {
        let mut h = Harness::new();
        h.run(&["SET", "k", "v"]);
        assert_eq!(h.run(&["get", "k"]), crate::command::testing::bulk("v"));
        assert_eq!(h.run(&["GET", "k"]), crate::command::testing::bulk("v"));
        // Same packed bytes as "get" followed by NULs: a different, unknown command.
        let reply = h.run_bytes(&[b"get\0", b"k"]);
        assert!(matches!(reply, crate::protocol::reply::Value::Error(_)), "{reply:?}");
        assert_eq!(h.run(&["GET", "k"]), crate::command::testing::bulk("v"));
        // Longer than the cache holds.
        let long = "x".repeat(17);
        assert!(matches!(h.run(&[&long]), crate::protocol::reply::Value::Error(_)));
        assert_eq!(h.run(&["gEt", "k"]), crate::command::testing::bulk("v"));
        let mut c = super::NameCache::default();
        assert_eq!(c.get(b""), None);
        c.put(b"lpush", 7);
        assert_eq!(c.get(b"lpush"), Some(7));
        assert_eq!(c.get(b"LPUSH"), None);
        assert_eq!(c.get(b"lpus"), None);
        // Every length the packing distinguishes by its own rule, against a one-byte change
        // at each position.
        for len in 1..=16usize {
            let name: Vec<u8> = (0..len as u8).map(|i| b'a' + i).collect();
            c.put(&name, len);
            assert_eq!(c.get(&name), Some(len), "{len}");
            for at in 0..len {
                let mut other = name.clone();
                other[at] = b'Z';
                assert_eq!(c.get(&other), None, "{len} {at}");
            }
            assert_eq!(c.get(&name[..len - 1]), None, "{len}");
        }
    }

    #[test]
    fn commands_of_a_batch_take_their_clock_from_the_counter_as_time_goes_on() {
        crate::util::calibrate_tsc();
        std::thread::sleep(std::time::Duration::from_millis(110));
        crate::util::calibrate_tsc();
        let mut h = Harness::new();
        h.client.batch_clock = true;
        h.client.clock_us = crate::util::now_us();
        h.client.clock_tsc = crate::util::tsc();
        h.client.last_tsc = h.client.clock_tsc;
        let ok = crate::protocol::reply::Value::Simple("OK".into());
        assert_eq!(h.run(&["SET", "k", "v", "PX", "60"]), ok);
        assert_eq!(h.run(&["GET", "k"]), crate::command::testing::bulk("v"));
        // A command of the batch that takes time: the next one starts after it.
        assert_eq!(h.run(&["DEBUG", "SLEEP", "0.1"]), ok);
        assert_eq!(h.run(&["GET", "k"]), crate::protocol::reply::Value::Null);
        if let Some(scale) = crate::util::tsc_scale() {
            let since = crate::util::tsc() - h.client.clock_tsc;
            let elapsed = crate::util::tsc_to_us(since, scale);
            let wall = crate::util::now_us() - h.client.clock_us;
            assert!((elapsed - wall).abs() < 20_000, "counter {elapsed} us, clock {wall} us");
        }
    }

    #[test]
    fn a_counter_calibrated_in_the_middle_of_a_batch_does_not_shift_its_clock() {
        use crate::util::{TSC_SCALE_FOR_TEST, now_us, tsc};
        // The counter's rate, measured here (the process-wide one may not be known yet).
        let (t0, us0) = (tsc(), now_us());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (t1, us1) = (tsc(), now_us());
        if t1 <= t0 {
            return; // no time-stamp counter on this machine: the batch always reads the clock
        }
        let scale = (us1 - us0) as f64 / (t1 - t0) as f64;
        let mut h = Harness::new();
        // A read, then its batch: the first command runs before the rate is known and takes
        // 100 ms; the rate is published; the next ones take their clock from the counter.
        TSC_SCALE_FOR_TEST.with(|c| c.set(Some(None)));
        h.client.batch_clock = true;
        h.client.clock_us = now_us();
        h.client.clock_tsc = tsc();
        h.client.last_tsc = h.client.clock_tsc;
        let ok = crate::protocol::reply::Value::Simple("OK".into());
        assert_eq!(h.run(&["DEBUG", "SLEEP", "0.1"]), ok);
        TSC_SCALE_FOR_TEST.with(|c| c.set(Some(Some(scale))));
        assert_eq!(h.run(&["PING"]), crate::protocol::reply::Value::Simple("PONG".into()));
        let before = now_us() / 1000 + 10_000;
        assert_eq!(h.run(&["SET", "k", "v", "PX", "10000"]), ok);
        let after = now_us() / 1000 + 10_000;
        TSC_SCALE_FOR_TEST.with(|c| c.set(None));
        let crate::protocol::reply::Value::Int(at) = h.run(&["PEXPIRETIME", "k"]) else {
            panic!("PEXPIRETIME");
        };
        // The SET's clock is the real time of the SET (within the counter's rounding), not
        // 100 ms (the sleep) ahead of it. Bounded by readings on both sides, so a slow
        // machine cannot fail it.
        assert!(at >= before - 5 && at <= after + 50, "expires at {at}, want {before}..{after}");
    }

    #[test]
    fn queued_commands_in_a_batch_are_counted_when_exec_runs_them() {
        let mut h = Harness::new();
        let before = h.server.stats.total_commands_processed.load(Ordering::Relaxed);
        h.client.batch_clock = true;
        h.run(&["MULTI"]);
        h.run(&["GET", "k"]);
        h.run(&["GET", "k"]);
        h.run(&["EXEC"]);
        h.client.batch_clock = false;
        h.client.pending.flush(&h.server);
        // MULTI, EXEC and the two GETs run inside EXEC.
        assert_eq!(h.server.stats.total_commands_processed.load(Ordering::Relaxed), before + 4);
    }
}
