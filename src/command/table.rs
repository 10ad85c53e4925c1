//! The command table as data: one [`Command`] row per command (and per subcommand), collected
//! from every family at start-up into a [`Table`] with per-command statistics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::dispatch::Ctx;

/// A command handler. It parses its options from `argv` (whose length the dispatcher already
/// checked against the row's arity) and writes its reply through `ctx.out`.
pub type Handler = fn(&mut Ctx<'_, '_>, &[&[u8]]);

/// Command flags, as COMMAND INFO names them (plus our own `ALL_SHARDS`).
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
    pub const PROTECTED: u32 = 1 << 15;
    pub const NO_MULTI: u32 = 1 << 16;
    pub const ALLOW_BUSY: u32 = 1 << 17;
    pub const SENTINEL: u32 = 1 << 18;
    /// Not a Redis flag: the command needs the whole keyspace at one instant, so dispatch locks
    /// every shard (FLUSHALL, SWAPDB, KEYS, SCAN, DBSIZE, RANDOMKEY...).
    pub const ALL_SHARDS: u32 = 1 << 31;

    /// Names of the Redis flags, in COMMAND INFO's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (PROTECTED, "protected"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (SENTINEL, "sentinel"),
    ];
}

/// Where a command's keys are in its arguments.
#[derive(Clone, Copy, Debug)]
pub enum KeySpec {
    /// No keys.
    None,
    /// Keys at `first`, `first + step`, ... up to `last` (negative counts from the end, -1 being
    /// the last argument), as in COMMAND INFO's legacy triple.
    Range { first: i32, last: i32, step: i32 },
    /// Keys found by a function of the arguments (numkeys-style commands); returns indices.
    Custom(fn(&[&[u8]]) -> Vec<usize>),
}

/// One row of the command table.
#[derive(Debug)]
pub struct Command {
    /// Lower-case name (for a subcommand, its own name: `get` under `config`).
    pub name: &'static str,
    /// Redis's arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    /// Command group (`string`, `generic`, `connection`, `server`...), for COMMAND DOCS.
    pub group: &'static str,
    /// Redis version that introduced the command, for COMMAND DOCS.
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// ACL categories beyond those implied by the flags (`@string`, `@keyspace`...), without
    /// the `@`.
    pub acl: &'static [&'static str],
    pub handler: Handler,
    /// Subcommands; when non-empty, argv[1] selects one and `handler` is not called.
    pub subcommands: &'static [Command],
}

impl Command {
    /// A row with the common defaults; families fill the rest with struct update syntax.
    pub const fn new(name: &'static str, arity: i32, flags: u32, handler: Handler) -> Command {
        Command {
            name,
            arity,
            flags,
            keys: KeySpec::None,
            group: "generic",
            since: "1.0.0",
            summary: "",
            complexity: "O(1)",
            acl: &[],
            handler,
            subcommands: &[],
        }
    }

    /// Returns the argument indices of the keys in `argv`.
    pub fn key_indices(&self, argv: &[&[u8]]) -> Vec<usize> {
        match self.keys {
            KeySpec::None => Vec::new(),
            KeySpec::Range { first, last, step } => {
                let argc = argv.len() as i32;
                let last = if last < 0 { argc + last } else { last.min(argc - 1) };
                let mut v = Vec::new();
                let mut i = first;
                while i <= last && i < argc && step > 0 {
                    v.push(i as usize);
                    i += step;
                }
                v
            }
            KeySpec::Custom(f) => f(argv),
        }
    }

    /// True when `argc` arguments satisfy the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 { argc == self.arity } else { argc >= -self.arity }
    }
}

/// Statistics of one command (INFO commandstats).
#[derive(Default, Debug)]
pub struct CommandStats {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
}

impl CommandStats {
    pub fn reset(&self) {
        self.calls.store(0, Ordering::Relaxed);
        self.usec.store(0, Ordering::Relaxed);
        self.rejected_calls.store(0, Ordering::Relaxed);
        self.failed_calls.store(0, Ordering::Relaxed);
    }
}

/// An entry of the table: the row, its full name (`config|get`) and its statistics.
#[derive(Debug)]
pub struct Entry {
    pub cmd: &'static Command,
    pub full_name: String,
    pub stats: CommandStats,
    /// Index of the parent in `Table::entries` for a subcommand.
    pub parent: Option<usize>,
    /// Subcommand name -> entry index.
    pub subs: HashMap<Vec<u8>, usize>,
}

/// Every command the server knows, looked up case-insensitively.
#[derive(Debug)]
pub struct Table {
    pub entries: Vec<Entry>,
    by_name: HashMap<Vec<u8>, usize, ahash::RandomState>,
}

impl Table {
    /// Builds the table from every family's rows. `renames` applies redis.conf's
    /// `rename-command` (an empty new name removes the command).
    pub fn build(families: &[&'static [Command]], renames: &[(String, String)]) -> Table {
        let mut t = Table { entries: Vec::new(), by_name: HashMap::default() };
        for fam in families {
            for cmd in fam.iter() {
                let idx = t.entries.len();
                t.entries.push(Entry {
                    cmd,
                    full_name: cmd.name.to_string(),
                    stats: CommandStats::default(),
                    parent: None,
                    subs: HashMap::new(),
                });
                for sub in cmd.subcommands {
                    let sidx = t.entries.len();
                    t.entries.push(Entry {
                        cmd: sub,
                        full_name: format!("{}|{}", cmd.name, sub.name),
                        stats: CommandStats::default(),
                        parent: Some(idx),
                        subs: HashMap::new(),
                    });
                    t.entries[idx].subs.insert(sub.name.as_bytes().to_vec(), sidx);
                }
                t.by_name.insert(cmd.name.as_bytes().to_vec(), idx);
            }
        }
        for (from, to) in renames {
            if let Some(idx) = t.by_name.remove(from.to_ascii_lowercase().as_bytes()) {
                if !to.is_empty() {
                    t.by_name.insert(to.to_ascii_lowercase().into_bytes(), idx);
                }
            }
        }
        t
    }

    /// Finds a top-level command by name, case-insensitively, without allocating.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 32];
        match crate::util::lower_into(name, &mut buf) {
            Some(lower) => self.by_name.get(lower).copied(),
            None => self.by_name.get(&name.to_ascii_lowercase()).copied(),
        }
    }

    /// Finds subcommand `sub` of entry `parent`.
    pub fn lookup_sub(&self, parent: usize, sub: &[u8]) -> Option<usize> {
        self.entries[parent].subs.get(&sub.to_ascii_lowercase()).copied()
    }

    /// Returns true when a command of this name is in the table (after renames).
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name.to_ascii_lowercase().as_bytes())
    }

    /// Returns the top-level entries as (name, entry index), in name order.
    pub fn top_level(&self) -> Vec<(&[u8], usize)> {
        let mut v: Vec<(&[u8], usize)> =
            self.by_name.iter().map(|(k, &i)| (k.as_slice(), i)).collect();
        v.sort();
        v
    }

    /// Resets every command's statistics (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for e in &self.entries {
            e.stats.reset();
        }
    }
}
