//! The command table as data: one [`Command`] row per command (and per subcommand), collected
//! from every family at start-up into a [`Table`] with per-command statistics.
//!
//! A row carries what dispatch needs (arity, flags, key positions, handler) and what COMMAND
//! INFO / COMMAND DOCS report (ACL categories, tips, key specs, summary, arguments, history).
//! Everything beyond the first group has a default in [`Command::new`], so a family only spells
//! out what it knows; what it leaves out is derived (ACL categories from the flags, a key spec
//! from the key positions).
//!
//! The table also keeps what Redis records per call: calls, time, rejected and failed calls, a
//! latency histogram (INFO latencystats, LATENCY HISTOGRAM), the slow log, and the latency
//! monitor's events ([`Table::record_call`]).

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::dispatch::Ctx;
use crate::config::Config;
use crate::server::client::Client;

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
    pub const NO_ASYNC_LOADING: u32 = 1 << 19;
    /// Not a Redis flag: the command needs the whole keyspace at one instant, so dispatch locks
    /// every shard (FLUSHALL, SWAPDB, KEYS, SCAN, DBSIZE, RANDOMKEY...).
    pub const ALL_SHARDS: u32 = 1 << 31;

    /// Stands for the derived `movablekeys` flag in [`REPLY_ORDER`]; never set on a row.
    pub const MOVABLE_KEYS: u32 = 1 << 30;

    /// The flags COMMAND INFO shows, in its order. Redis hides `may_replicate`, `sentinel`
    /// and `protected` on purpose; `movablekeys` is derived from the key positions.
    pub const REPLY_ORDER: &[(u32, &str)] = &[
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
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories, as bits of a mask, in the order Redis lists them.
pub mod acl {
    /// Category names (without `@`); bit `i` of a mask is `NAMES[i]`.
    pub const NAMES: &[&str] = &[
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ];

    /// Returns the bit of a category name (case-insensitive), if it is one.
    pub fn bit(name: &[u8]) -> Option<u32> {
        NAMES.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(name)).map(|i| 1 << i)
    }

    pub(super) fn bit_of(name: &str) -> u32 {
        bit(name.as_bytes()).unwrap_or(0)
    }
}

/// Key-spec flags (COMMAND INFO key specs, COMMAND GETKEYSANDFLAGS), in Redis's reply order.
pub mod key_flags {
    pub const RO: u32 = 1 << 0;
    pub const RW: u32 = 1 << 1;
    pub const OW: u32 = 1 << 2;
    pub const RM: u32 = 1 << 3;
    pub const ACCESS: u32 = 1 << 4;
    pub const UPDATE: u32 = 1 << 5;
    pub const INSERT: u32 = 1 << 6;
    pub const DELETE: u32 = 1 << 7;
    pub const NOT_KEY: u32 = 1 << 8;
    pub const INCOMPLETE: u32 = 1 << 9;
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    pub const NAMES: &[(u32, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where a command's keys are in its arguments, for dispatch's shard locking.
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

/// How a key spec finds its first key (Redis's `begin_search`).
#[derive(Clone, Copy, Debug)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i32),
    /// Just after `keyword`, searched from `startfrom` (negative: backwards from the end).
    Keyword { keyword: &'static str, startfrom: i32 },
    /// Cannot be told from the arguments alone.
    Unknown,
}

/// How a key spec finds the keys after the first (Redis's `find_keys`).
#[derive(Clone, Copy, Debug)]
pub enum FindKeys {
    /// Up to `lastkey` (relative to the first key; negative counts from the end), every
    /// `keystep`; with `limit` > 1 and `lastkey` -1, only the first 1/limit of what is left.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` (relative to the first) holds the number of keys, which
    /// start at `firstkey` (relative) every `keystep`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

/// One key spec of a command, as COMMAND INFO reports it.
#[derive(Clone, Copy, Debug)]
pub struct KeySpecDef {
    /// Bits of [`key_flags`].
    pub flags: u32,
    pub begin: BeginSearch,
    pub find: FindKeys,
    pub notes: &'static str,
}

impl KeySpecDef {
    /// A spec of one key at `index`.
    pub const fn index(index: i32, flags: u32) -> KeySpecDef {
        KeySpecDef::range(index, 0, 1, flags)
    }

    /// A spec of keys from `index` to `lastkey` (relative, or negative from the end).
    pub const fn range(index: i32, lastkey: i32, keystep: i32, flags: u32) -> KeySpecDef {
        KeySpecDef {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Range { lastkey, keystep, limit: 0 },
            notes: "",
        }
    }

    /// A spec of `numkeys`-style keys: the count at `index`, keys right after it.
    pub const fn keynum(index: i32, flags: u32) -> KeySpecDef {
        KeySpecDef {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Keynum { keynumidx: 0, firstkey: 1, keystep: 1 },
            notes: "",
        }
    }

    /// Finds the keys of this spec in `argv`, appending (index, flags). `Err` when the
    /// arguments do not fit the spec (Redis's "invalid spec"): the caller falls back or fails.
    fn find_in(&self, argv: &[&[u8]], out: &mut Vec<(usize, u32)>) -> Result<(), ()> {
        let argc = argv.len() as i64;
        let first: i64 = match self.begin {
            BeginSearch::Index(i) => i as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                let kw = keyword.as_bytes();
                let found = if startfrom > 0 {
                    (startfrom as i64..argc).find(|&i| argv[i as usize].eq_ignore_ascii_case(kw))
                } else {
                    let start = argc + startfrom as i64;
                    (1..=start.min(argc - 1))
                        .rev()
                        .find(|&i| argv[i as usize].eq_ignore_ascii_case(kw))
                };
                match found {
                    Some(i) => i + 1,
                    // A keyword that is absent means no keys of this spec, not an error.
                    None => return Ok(()),
                }
            }
            BeginSearch::Unknown => return Err(()),
        };
        let (first, last, step) = match self.find {
            FindKeys::Range { lastkey, keystep, limit } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit <= 1 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, keystep.max(1) as i64)
            }
            FindKeys::Keynum { keynumidx, firstkey, keystep } => {
                let at = first + keynumidx as i64;
                if at < 0 || at >= argc {
                    return Err(());
                }
                let n = crate::util::parse_i64_strict(argv[at as usize]).ok_or(())?;
                if n < 0 {
                    return Err(());
                }
                let first = first + firstkey as i64;
                // Redis counts the last key as first + numkeys - 1 whatever the step.
                (first, first + n - 1, keystep.max(1) as i64)
            }
            FindKeys::Unknown => return Err(()),
        };
        if last >= argc || last < first || first >= argc || first < 0 {
            return Err(());
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, self.flags));
            i += step;
        }
        if self.flags & key_flags::INCOMPLETE != 0 {
            return Err(());
        }
        Ok(())
    }
}

/// Type of a documented argument (COMMAND DOCS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }
}

/// Argument flags (COMMAND DOCS).
pub mod arg_flags {
    pub const OPTIONAL: u8 = 1;
    pub const MULTIPLE: u8 = 2;
    pub const MULTIPLE_TOKEN: u8 = 4;
    pub const NAMES: &[(u8, &str)] =
        &[(OPTIONAL, "optional"), (MULTIPLE, "multiple"), (MULTIPLE_TOKEN, "multiple_token")];
}

/// One documented argument of a command, as COMMAND DOCS reports it. Built with the const
/// builders: `Arg::new("key", ArgType::Key).key_spec(0)`,
/// `Arg::new("count", ArgType::Integer).token("COUNT").optional()`.
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
    /// Index of the key spec this key argument belongs to, or -1.
    pub key_spec_index: i32,
    pub token: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub deprecated_since: &'static str,
    /// Bits of [`arg_flags`].
    pub flags: u8,
    /// The alternatives of a `OneOf`, the parts of a `Block`.
    pub subargs: &'static [Arg],
}

impl Arg {
    pub const fn new(name: &'static str, kind: ArgType) -> Arg {
        Arg {
            name,
            kind,
            key_spec_index: -1,
            token: "",
            summary: "",
            since: "",
            deprecated_since: "",
            flags: 0,
            subargs: &[],
        }
    }

    /// A key argument belonging to key spec `index`.
    pub const fn key(name: &'static str, index: i32) -> Arg {
        Arg { key_spec_index: index, ..Arg::new(name, ArgType::Key) }
    }

    /// A pure token (a keyword with no value), e.g. `NX`.
    pub const fn pure(name: &'static str, token: &'static str) -> Arg {
        Arg { token, ..Arg::new(name, ArgType::PureToken) }
    }

    /// A choice between `subargs`.
    pub const fn one_of(name: &'static str, subargs: &'static [Arg]) -> Arg {
        Arg { subargs, ..Arg::new(name, ArgType::OneOf) }
    }

    /// A group of `subargs` given together.
    pub const fn block(name: &'static str, subargs: &'static [Arg]) -> Arg {
        Arg { subargs, ..Arg::new(name, ArgType::Block) }
    }

    pub const fn token(self, token: &'static str) -> Arg {
        Arg { token, ..self }
    }

    pub const fn since(self, since: &'static str) -> Arg {
        Arg { since, ..self }
    }

    pub const fn optional(self) -> Arg {
        Arg { flags: self.flags | arg_flags::OPTIONAL, ..self }
    }

    pub const fn multiple(self) -> Arg {
        Arg { flags: self.flags | arg_flags::MULTIPLE, ..self }
    }

    pub const fn multiple_token(self) -> Arg {
        Arg { flags: self.flags | arg_flags::MULTIPLE_TOKEN, ..self }
    }
}

/// Documentation flags of a command (COMMAND DOCS `doc_flags`).
pub mod doc_flags {
    pub const DEPRECATED: u8 = 1;
    pub const SYSCMD: u8 = 2;
    pub const NAMES: &[(u8, &str)] = &[(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
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
    /// Command tips (`nondeterministic_output`, `request_policy:all_shards`...).
    pub tips: &'static [&'static str],
    /// Redis's key specs, for COMMAND INFO and GETKEYSANDFLAGS. When empty, one is derived
    /// from `keys` and the flags (RO/access for read-only commands, RW/update otherwise).
    pub key_specs: &'static [KeySpecDef],
    /// Documented arguments (COMMAND DOCS; redis-cli builds its hints from them).
    pub args: &'static [Arg],
    /// (version, change) pairs (COMMAND DOCS `history`).
    pub history: &'static [(&'static str, &'static str)],
    /// Bits of [`doc_flags`].
    pub doc_flags: u8,
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
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
            tips: &[],
            key_specs: &[],
            args: &[],
            history: &[],
            doc_flags: 0,
            deprecated_since: "",
            replaced_by: "",
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

    /// Returns the ACL categories as a mask of [`acl`] bits: the row's own plus those its
    /// flags imply, as Redis derives them (`@slow` for whatever is not `@fast`).
    pub fn acl_categories(&self) -> u32 {
        use flags::*;
        let mut m = self.acl.iter().fold(0, |m, c| m | acl::bit_of(c));
        if self.flags & WRITE != 0 {
            m |= acl::bit_of("write");
        }
        if self.flags & READONLY != 0 && m & acl::bit_of("scripting") == 0 {
            m |= acl::bit_of("read");
        }
        if self.flags & ADMIN != 0 {
            m |= acl::bit_of("admin") | acl::bit_of("dangerous");
        }
        if self.flags & PUBSUB != 0 {
            m |= acl::bit_of("pubsub");
        }
        if self.flags & FAST != 0 {
            m |= acl::bit_of("fast");
        }
        if self.flags & BLOCKING != 0 {
            m |= acl::bit_of("blocking");
        }
        if m & acl::bit_of("fast") == 0 {
            m |= acl::bit_of("slow");
        }
        m
    }

    /// True when the command's keys cannot be told from fixed positions (COMMAND INFO's
    /// `movablekeys`).
    pub fn movable_keys(&self) -> bool {
        if matches!(self.keys, KeySpec::Custom(_)) {
            return true;
        }
        self.key_specs.iter().any(|s| {
            !matches!((s.begin, s.find), (BeginSearch::Index(_), FindKeys::Range { .. }))
                || s.flags & key_flags::INCOMPLETE != 0
        })
    }

    /// Returns the flags COMMAND INFO shows (with the derived `movablekeys`).
    pub fn info_flags(&self) -> u32 {
        self.flags | if self.movable_keys() { flags::MOVABLE_KEYS } else { 0 }
    }

    /// Returns COMMAND INFO's legacy (first key, last key, step) triple.
    pub fn legacy_range(&self) -> (i32, i32, i32) {
        match self.keys {
            KeySpec::Range { first, last, step } => (first, last, step),
            // Keys found by a function: the plain index/range specs at the front, if any.
            _ => {
                let mut range: Option<(i32, i32)> = None;
                for s in self.key_specs {
                    let (BeginSearch::Index(pos), FindKeys::Range { lastkey, keystep: 1, .. }) =
                        (s.begin, s.find)
                    else {
                        continue;
                    };
                    let last = if lastkey >= 0 { pos + lastkey } else { lastkey };
                    match range {
                        None => range = Some((pos, last)),
                        Some((f, l)) if l >= 0 && pos == l + 1 => range = Some((f, last)),
                        Some(_) => {}
                    }
                }
                range.map_or((0, 0, 0), |(f, l)| (f, l, 1))
            }
        }
    }

    /// Returns the key specs COMMAND INFO shows: the row's, or one derived from `keys`.
    pub fn effective_key_specs(&self) -> Vec<KeySpecDef> {
        if !self.key_specs.is_empty() {
            return self.key_specs.to_vec();
        }
        let kflags = self.default_key_flags();
        match self.keys {
            KeySpec::None => Vec::new(),
            KeySpec::Range { first, last, step } => {
                let lastkey = if last >= 0 { last - first } else { last };
                vec![KeySpecDef::range(first, lastkey, step, kflags)]
            }
            KeySpec::Custom(_) => vec![KeySpecDef {
                flags: kflags | key_flags::INCOMPLETE,
                begin: BeginSearch::Unknown,
                find: FindKeys::Unknown,
                notes: "",
            }],
        }
    }

    /// Key flags for a row that declares no key specs: read-only commands read, others update.
    fn default_key_flags(&self) -> u32 {
        if self.flags & flags::READONLY != 0 && self.flags & flags::WRITE == 0 {
            key_flags::RO | key_flags::ACCESS
        } else {
            key_flags::RW | key_flags::UPDATE
        }
    }

    /// True when the command takes keys at all (COMMAND GETKEYS refuses the others).
    pub fn has_keys(&self) -> bool {
        !matches!(self.keys, KeySpec::None)
            || self.key_specs.iter().any(|s| s.flags & key_flags::NOT_KEY == 0)
    }

    /// Returns the keys of `argv` (whose argv[0] is this command, or its subcommand's
    /// parent) with their key-spec flags, as COMMAND GETKEYSANDFLAGS reports them. `None` when
    /// the arguments do not fit the key positions.
    pub fn keys_with_flags(&self, argv: &[&[u8]]) -> Option<Vec<(usize, u32)>> {
        let mut out = Vec::new();
        let specs = self.effective_key_specs();
        let mut specs_ok = !specs.is_empty();
        for s in specs.iter().filter(|s| s.flags & key_flags::NOT_KEY == 0) {
            if s.find_in(argv, &mut out).is_err() {
                specs_ok = false;
                break;
            }
        }
        if specs_ok {
            return Some(out);
        }
        // The specs could not say (an incomplete or unknown one): ask the row's key function,
        // taking each key's flags from the spec that found it, or from the first spec that
        // could not be followed.
        let fallback = specs
            .iter()
            .find(|s| {
                s.flags & key_flags::INCOMPLETE != 0 || matches!(s.begin, BeginSearch::Unknown)
            })
            .map_or_else(|| self.default_key_flags(), |s| s.flags & !key_flags::INCOMPLETE);
        let mut partial = Vec::new();
        for s in &specs {
            let _ = s.find_in(argv, &mut partial);
        }
        match self.keys {
            KeySpec::Custom(f) => {
                let idx = f(argv);
                if idx.iter().any(|&i| i >= argv.len()) {
                    return None;
                }
                Some(idx
                    .into_iter()
                    .map(|i| {
                        let fl = partial.iter().find(|(p, _)| *p == i).map_or(fallback, |p| p.1);
                        (i, fl & !key_flags::INCOMPLETE)
                    })
                    .collect())
            }
            _ => None,
        }
    }
}

/// Lowest and highest latency the histograms track, in nanoseconds (1 ns to 1 s), with two
/// significant digits, as Redis's per-command HdrHistograms do.
const HIST_MAX: u64 = 1_000_000_000;
/// Values per half bucket (2 significant digits need 200 distinct values: 256 sub-buckets).
const HIST_HALF: usize = 128;
const HIST_HALF_BITS: u32 = 7;
/// Buckets needed so that 256 << (buckets - 1) exceeds HIST_MAX.
const HIST_BUCKETS: usize = 23;
const HIST_LEN: usize = (HIST_BUCKETS + 1) * HIST_HALF;

/// A latency histogram with HdrHistogram's bucket layout (so percentiles are reported with the
/// same rounding Redis shows: `p50=6.015`): each power of two is split into 128 equal steps.
/// The counters are allocated on first use and updated with relaxed atomics, so recording is
/// lock-free.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    counts: OnceLock<Box<[AtomicU64]>>,
}

/// Bucket and sub-bucket of a value.
fn hist_position(v: u64) -> (u32, u64) {
    let bucket = (63 - (v | 0xff).leading_zeros()) - HIST_HALF_BITS;
    (bucket, v >> bucket)
}

fn hist_index(v: u64) -> usize {
    let (bucket, sub) = hist_position(v);
    bucket as usize * HIST_HALF + sub as usize
}

/// The smallest value counted at `index`.
fn hist_value_at(index: usize) -> u64 {
    let mut bucket = (index >> HIST_HALF_BITS) as i64 - 1;
    let mut sub = (index & (HIST_HALF - 1)) as u64 + HIST_HALF as u64;
    if bucket < 0 {
        sub -= HIST_HALF as u64;
        bucket = 0;
    }
    sub << bucket
}

fn hist_lowest_equivalent(v: u64) -> u64 {
    let (bucket, sub) = hist_position(v);
    sub << bucket
}

/// The largest value counted together with `v`.
fn hist_highest_equivalent(v: u64) -> u64 {
    let (bucket, _) = hist_position(v);
    hist_lowest_equivalent(v) + (1u64 << bucket) - 1
}

impl LatencyHistogram {
    /// Records one call of `nanos` nanoseconds (clamped to 1 ns ..= 1 s).
    pub fn record(&self, nanos: u64) {
        self.record_n(nanos, 1);
    }

    /// Records `n` calls of `nanos` nanoseconds each.
    pub fn record_n(&self, nanos: u64, n: u64) {
        let counts = self.counts.get_or_init(|| (0..HIST_LEN).map(|_| AtomicU64::new(0)).collect());
        counts[hist_index(nanos.clamp(1, HIST_MAX))].fetch_add(n, Ordering::Relaxed);
    }

    /// Returns a snapshot of the counters, or `None` if nothing was ever recorded.
    fn snapshot(&self) -> Option<Vec<u64>> {
        let counts = self.counts.get()?;
        let v: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        if v.iter().all(|&c| c == 0) { None } else { Some(v) }
    }

    /// Returns the number of calls recorded.
    pub fn total(&self) -> u64 {
        self.counts.get().map_or(0, |c| c.iter().map(|c| c.load(Ordering::Relaxed)).sum())
    }

    /// Returns the value (ns) at each percentile, as HdrHistogram's `value_at_percentile`
    /// reports it (the highest value equivalent to the one reached); `None` when empty.
    pub fn percentiles(&self, ps: &[f64]) -> Option<Vec<u64>> {
        let counts = self.snapshot()?;
        let total: u64 = counts.iter().sum();
        Some(
            ps.iter()
                .map(|&p| {
                    let p = p.clamp(0.0, 100.0);
                    let want = (((p / 100.0) * total as f64) + 0.5) as u64;
                    let want = want.max(1);
                    let mut seen = 0;
                    let mut at = 0;
                    for (i, &c) in counts.iter().enumerate() {
                        seen += c;
                        if seen >= want {
                            at = hist_value_at(i);
                            break;
                        }
                    }
                    if p == 0.0 { hist_lowest_equivalent(at) } else { hist_highest_equivalent(at) }
                })
                .collect(),
        )
    }

    /// Returns the cumulative distribution LATENCY HISTOGRAM shows: (microseconds, calls up to
    /// it) at 1024 ns, 2048 ns, ... steps, keeping only steps where the count grew.
    pub fn cumulative_usec(&self) -> Vec<(u64, u64)> {
        let Some(counts) = self.snapshot() else { return Vec::new() };
        let total: u64 = counts.iter().sum();
        let mut out = Vec::new();
        let (mut seen, mut idx, mut prev) = (0u64, 0usize, 0u64);
        let mut level: u64 = 1024;
        while prev < total {
            let last = hist_index(level.min(HIST_MAX)).min(HIST_LEN - 1);
            while idx <= last {
                seen += counts[idx];
                idx += 1;
            }
            if level > HIST_MAX {
                // Past the tracked range: everything left is in this step.
                seen = total;
            }
            if seen > prev {
                out.push((hist_highest_equivalent(level.min(HIST_MAX)) / 1000, seen));
                prev = seen;
            }
            level *= 2;
        }
        out
    }

    /// Forgets every recorded call.
    pub fn reset(&self) {
        if let Some(c) = self.counts.get() {
            for x in c.iter() {
                x.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// Statistics of one command (INFO commandstats, latencystats).
#[derive(Default, Debug)]
pub struct CommandStats {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
    pub latency: LatencyHistogram,
}

impl CommandStats {
    pub fn reset(&self) {
        self.calls.store(0, Ordering::Relaxed);
        self.usec.store(0, Ordering::Relaxed);
        self.rejected_calls.store(0, Ordering::Relaxed);
        self.failed_calls.store(0, Ordering::Relaxed);
        self.latency.reset();
    }
}

/// Most arguments a slow log entry keeps (the last slot says how many more there were).
const SLOWLOG_MAX_ARGC: usize = 32;
/// Longest argument a slow log entry keeps whole.
const SLOWLOG_MAX_STRING: usize = 128;

/// One slow log entry (SLOWLOG GET).
#[derive(Debug, Clone)]
pub struct SlowlogEntry {
    pub id: u64,
    /// Unix time the command ran, in seconds.
    pub time: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

/// The slow log: the latest commands that took longer than `slowlog-log-slower-than`.
#[derive(Debug, Default)]
pub struct Slowlog {
    /// Newest first.
    pub entries: VecDeque<SlowlogEntry>,
    pub next_id: u64,
}

impl Slowlog {
    /// Keeps a copy of a slow command's arguments, shortened as Redis shortens them.
    fn push(&mut self, argv: &[&[u8]], duration_us: u64, client: &Client, max_len: usize) {
        let mut args = Vec::with_capacity(argv.len().min(SLOWLOG_MAX_ARGC));
        for (i, a) in argv.iter().enumerate() {
            if i == SLOWLOG_MAX_ARGC - 1 && argv.len() > SLOWLOG_MAX_ARGC {
                args.push(format!("... ({} more arguments)", argv.len() - i).into_bytes());
                break;
            }
            if a.len() > SLOWLOG_MAX_STRING {
                let mut v = a[..SLOWLOG_MAX_STRING].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_STRING).as_bytes(),
                );
                args.push(v);
            } else {
                args.push(a.to_vec());
            }
        }
        let entry = SlowlogEntry {
            id: self.next_id,
            time: crate::util::now_ms() / 1000,
            duration_us,
            args,
            peer: client.info.addr().to_string(),
            name: client.info.name().unwrap_or_default(),
        };
        self.next_id += 1;
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }
}

/// Samples the latency monitor keeps per event (Redis's `LATENCY_TS_LEN`).
pub const LATENCY_EVENT_SAMPLES: usize = 160;

/// One event class of the latency monitor (LATENCY LATEST / HISTORY).
#[derive(Debug, Default, Clone)]
pub struct LatencyEvent {
    /// (unix seconds, milliseconds), oldest first; one sample per second at most (the worst).
    pub samples: VecDeque<(i64, u64)>,
    /// All-time maximum, in milliseconds.
    pub max: u64,
}

/// Live settings of the per-call bookkeeping, mirrored from the config into atomics so that
/// dispatch reads no lock per command.
#[derive(Debug)]
pub struct CallSettings {
    pub latency_tracking: AtomicBool,
    /// `slowlog-log-slower-than`, microseconds; negative disables the slow log.
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    /// `latency-monitor-threshold`, milliseconds; 0 disables the monitor.
    pub latency_monitor_threshold: AtomicU64,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            latency_tracking: AtomicBool::new(true),
            slowlog_slower_than: AtomicI64::new(10_000),
            slowlog_max_len: AtomicUsize::new(128),
            latency_monitor_threshold: AtomicU64::new(0),
        }
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
    /// Entry indices of the subcommands, in declaration order.
    pub sub_order: Vec<usize>,
}

/// Every command the server knows, looked up case-insensitively, with the per-call
/// bookkeeping.
#[derive(Debug)]
pub struct Table {
    pub entries: Vec<Entry>,
    by_name: HashMap<Vec<u8>, usize, ahash::RandomState>,
    pub settings: CallSettings,
    pub slowlog: Mutex<Slowlog>,
    /// Latency monitor events by name (`command`, `fast-command`).
    pub latency_events: Mutex<HashMap<String, LatencyEvent>>,
}

/// Returns a directive's value as CONFIG GET shows it, for the settings the server commands
/// read (`latency-tracking`, `slowlog-*`, `maxmemory*`, `repl-backlog-size`...): the one place
/// that knows where the config keeps them.
pub fn config_text(cfg: &Config, name: &str) -> Option<String> {
    cfg.get_by_name(name.as_bytes()).map(|v| String::from_utf8_lossy(&v).into_owned())
}

impl Table {
    /// Builds the table from every family's rows. `renames` applies redis.conf's
    /// `rename-command` (an empty new name removes the command).
    pub fn build(families: &[&'static [Command]], renames: &[(String, String)]) -> Table {
        let mut t = Table {
            entries: Vec::new(),
            by_name: HashMap::default(),
            settings: CallSettings::default(),
            slowlog: Mutex::new(Slowlog::default()),
            latency_events: Mutex::new(HashMap::new()),
        };
        for fam in families {
            for cmd in fam.iter() {
                let idx = t.entries.len();
                t.entries.push(Entry {
                    cmd,
                    full_name: cmd.name.to_string(),
                    stats: CommandStats::default(),
                    parent: None,
                    subs: HashMap::new(),
                    sub_order: Vec::new(),
                });
                for sub in cmd.subcommands {
                    let sidx = t.entries.len();
                    t.entries.push(Entry {
                        cmd: sub,
                        full_name: format!("{}|{}", cmd.name, sub.name),
                        stats: CommandStats::default(),
                        parent: Some(idx),
                        subs: HashMap::new(),
                        sub_order: Vec::new(),
                    });
                    t.entries[idx].subs.insert(sub.name.as_bytes().to_vec(), sidx);
                    t.entries[idx].sub_order.push(sidx);
                }
                t.by_name.insert(cmd.name.as_bytes().to_vec(), idx);
            }
        }
        for (from, to) in renames {
            if let Some(idx) = t.by_name.remove(from.to_ascii_lowercase().as_bytes())
                && !to.is_empty()
            {
                t.by_name.insert(to.to_ascii_lowercase().into_bytes(), idx);
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

    /// Finds a command by its full name (`get`, `config|get`), as COMMAND INFO and LATENCY
    /// HISTOGRAM take it; a `|` after a command without subcommands finds nothing.
    pub fn lookup_full(&self, name: &[u8]) -> Option<usize> {
        let mut parts = name.split(|&c| c == b'|');
        let base = self.lookup(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(sub), None) => self.lookup_sub(base, sub),
            _ => None,
        }
    }

    /// Finds the entry a request runs (the subcommand when the command has them), as COMMAND
    /// GETKEYS resolves its arguments.
    pub fn lookup_argv(&self, argv: &[&[u8]]) -> Option<usize> {
        let idx = self.lookup(argv.first()?)?;
        if self.entries[idx].subs.is_empty() || argv.len() < 2 {
            return Some(idx);
        }
        self.lookup_sub(idx, argv[1])
    }

    /// Returns true when a command of this name is in the table (after renames).
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name.to_ascii_lowercase().as_bytes())
    }

    /// Returns the number of top-level commands (COMMAND COUNT).
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Returns the top-level entries as (name, entry index), in name order.
    pub fn top_level(&self) -> Vec<(&[u8], usize)> {
        let mut v: Vec<(&[u8], usize)> =
            self.by_name.iter().map(|(k, &i)| (k.as_slice(), i)).collect();
        v.sort();
        v
    }

    /// Returns every reachable entry (each top-level command followed by its subcommands),
    /// in name order: the order INFO commandstats and latencystats list them in.
    pub fn all_entries(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (_, idx) in self.top_level() {
            out.push(idx);
            out.extend_from_slice(&self.entries[idx].sub_order);
        }
        out
    }

    /// Resets every command's statistics (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for e in &self.entries {
            e.stats.reset();
        }
    }

    /// Mirrors the settings of the per-call bookkeeping from the config: `latency-tracking`,
    /// `slowlog-log-slower-than`, `slowlog-max-len`, `latency-monitor-threshold`. Called at
    /// start, by the cron, and after CONFIG SET.
    pub fn apply_config(&self, cfg: &Config) {
        let s = &self.settings;
        let other = |name| config_text(cfg, name);
        if let Some(v) = other("latency-tracking") {
            s.latency_tracking.store(!v.eq_ignore_ascii_case("no"), Ordering::Relaxed);
        }
        if let Some(n) = other("slowlog-log-slower-than").and_then(|v| v.parse().ok()) {
            s.slowlog_slower_than.store(n, Ordering::Relaxed);
        }
        if let Some(n) = other("slowlog-max-len").and_then(|v| v.parse().ok()) {
            s.slowlog_max_len.store(n, Ordering::Relaxed);
            self.slowlog.lock().entries.truncate(n);
        }
        if let Some(n) = other("latency-monitor-threshold").and_then(|v| v.parse().ok()) {
            s.latency_monitor_threshold.store(n, Ordering::Relaxed);
        }
    }

    /// Records one finished call of entry `idx`: its count and time, its latency histogram,
    /// and, when it was slow enough, a slow log entry and a latency monitor sample.
    pub fn record_call(&self, idx: usize, took: Duration, argv: &[&[u8]], client: &Client) {
        let entry = &self.entries[idx];
        let usec = took.as_micros() as u64;
        self.count_calls(idx, 1, usec);
        if self.latency_tracking() {
            entry.stats.latency.record(took.as_nanos() as u64);
        }
        self.watch_call(idx, usec, argv, client);
    }

    /// Adds `calls` calls of entry `idx` taking `usec` microseconds in all to its statistics
    /// (several at once for a run of calls recorded together, see `dispatch::PendingCalls`).
    #[inline]
    pub fn count_calls(&self, idx: usize, calls: u64, usec: u64) {
        let stats = &self.entries[idx].stats;
        stats.calls.fetch_add(calls, Ordering::Relaxed);
        stats.usec.fetch_add(usec, Ordering::Relaxed);
    }

    /// True when `latency-tracking` is on: calls go into the latency histograms.
    #[inline]
    pub fn latency_tracking(&self) -> bool {
        self.settings.latency_tracking.load(Ordering::Relaxed)
    }

    /// The part of [`Table::record_call`] that looks at one call alone: a slow log entry and a
    /// latency monitor sample when it was slow enough.
    #[inline(always)]
    pub fn watch_call(&self, idx: usize, usec: u64, argv: &[&[u8]], client: &Client) {
        let entry = &self.entries[idx];
        let s = &self.settings;
        let slower_than = s.slowlog_slower_than.load(Ordering::Relaxed);
        if slower_than >= 0
            && usec >= slower_than as u64
            && entry.cmd.flags & flags::SKIP_SLOWLOG == 0
        {
            let max = s.slowlog_max_len.load(Ordering::Relaxed);
            self.slowlog.lock().push(argv, usec, client, max);
        }
        let threshold = s.latency_monitor_threshold.load(Ordering::Relaxed);
        let ms = usec / 1000;
        if threshold > 0 && ms >= threshold {
            let event = if entry.cmd.flags & flags::FAST != 0 { "fast-command" } else { "command" };
            self.add_latency_sample(event, ms);
        }
    }

    /// Adds a latency monitor sample to `event`, keeping the worst one per second.
    pub fn add_latency_sample(&self, event: &str, ms: u64) {
        let now = crate::util::now_ms() / 1000;
        let mut events = self.latency_events.lock();
        let ev = events.entry(event.to_string()).or_default();
        ev.max = ev.max.max(ms);
        match ev.samples.back_mut() {
            Some(last) if last.0 == now => last.1 = last.1.max(ms),
            _ => {
                ev.samples.push_back((now, ms));
                if ev.samples.len() > LATENCY_EVENT_SAMPLES {
                    ev.samples.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nop(_: &mut Ctx<'_, '_>, _: &[&[u8]]) {}

    const GETLIKE: Command = Command {
        keys: KeySpec::Range { first: 1, last: 1, step: 1 },
        acl: &["string"],
        ..Command::new("get", 2, flags::READONLY | flags::FAST, nop)
    };

    fn av<'a>(v: &[&'a str]) -> Vec<&'a [u8]> {
        v.iter().map(|s| s.as_bytes()).collect()
    }

    #[test]
    fn acl_categories_follow_flags() {
        let m = GETLIKE.acl_categories();
        let names: Vec<&str> = acl::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| m & (1 << i) != 0)
            .map(|p| *p.1)
            .collect();
        assert_eq!(names, ["read", "string", "fast"]);
        let admin = Command::new("x", 1, flags::ADMIN | flags::NOSCRIPT, nop);
        let m = admin.acl_categories();
        let names: Vec<&str> = acl::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| m & (1 << i) != 0)
            .map(|p| *p.1)
            .collect();
        assert_eq!(names, ["admin", "slow", "dangerous"]);
    }

    #[test]
    fn derived_key_spec_and_flags() {
        assert_eq!(GETLIKE.legacy_range(), (1, 1, 1));
        assert!(!GETLIKE.movable_keys());
        assert_eq!(
            GETLIKE.keys_with_flags(&av(&["get", "k"])).unwrap(),
            vec![(1, key_flags::RO | key_flags::ACCESS)]
        );
        const MSET: Command = Command {
            keys: KeySpec::Range { first: 1, last: -1, step: 2 },
            key_specs: &[KeySpecDef::range(1, -1, 2, key_flags::OW | key_flags::UPDATE)],
            ..Command::new("mset", -3, flags::WRITE, nop)
        };
        let k = MSET.keys_with_flags(&av(&["mset", "a", "1", "b", "2"])).unwrap();
        assert_eq!(k.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn keynum_and_keyword_specs() {
        fn numkeys(argv: &[&[u8]]) -> Vec<usize> {
            // Like Redis's own key function: a bad count means no keys at all.
            let n = match crate::util::parse_i64_strict(argv[2]) {
                Some(n) if n >= 1 && (n as usize) <= argv.len() - 3 => n as usize,
                _ => return Vec::new(),
            };
            let mut v = vec![1];
            v.extend((3..3 + n).filter(|&i| i < argv.len()));
            v
        }
        const ZUNIONSTORE: Command = Command {
            keys: KeySpec::Custom(numkeys),
            key_specs: &[
                KeySpecDef::index(1, key_flags::OW | key_flags::UPDATE),
                KeySpecDef::keynum(2, key_flags::RO | key_flags::ACCESS),
            ],
            ..Command::new("zunionstore", -4, flags::WRITE, nop)
        };
        assert!(ZUNIONSTORE.movable_keys());
        assert_eq!(ZUNIONSTORE.legacy_range(), (1, 1, 1));
        let k = ZUNIONSTORE.keys_with_flags(&av(&["zunionstore", "d", "2", "a", "b"])).unwrap();
        assert_eq!(k.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 3, 4]);
        let bad = ZUNIONSTORE.keys_with_flags(&av(&["zunionstore", "d", "x", "a"]));
        assert!(bad.unwrap_or_default().is_empty());

        fn sort_keys(argv: &[&[u8]]) -> Vec<usize> {
            let mut v = vec![1];
            if let Some(p) = argv.iter().position(|a| a.eq_ignore_ascii_case(b"store"))
                && p + 1 < argv.len()
            {
                v.push(p + 1);
            }
            v
        }
        const SORT: Command = Command {
            keys: KeySpec::Custom(sort_keys),
            key_specs: &[
                KeySpecDef::index(1, key_flags::RO | key_flags::ACCESS),
                KeySpecDef {
                    flags: key_flags::OW | key_flags::UPDATE | key_flags::INCOMPLETE,
                    begin: BeginSearch::Unknown,
                    find: FindKeys::Unknown,
                    notes: "",
                },
            ],
            ..Command::new("sort", -2, flags::WRITE, nop)
        };
        let k = SORT.keys_with_flags(&av(&["sort", "k1", "store", "k2"])).unwrap();
        assert_eq!(
            k,
            vec![(1, key_flags::RO | key_flags::ACCESS), (3, key_flags::OW | key_flags::UPDATE)]
        );
        let kw = KeySpecDef {
            flags: key_flags::RO,
            begin: BeginSearch::Keyword { keyword: "STREAMS", startfrom: 1 },
            find: FindKeys::Range { lastkey: -1, keystep: 1, limit: 2 },
            notes: "",
        };
        let mut out = Vec::new();
        kw.find_in(&av(&["xread", "count", "1", "streams", "a", "b", "0", "0"]), &mut out).unwrap();
        assert_eq!(out.iter().map(|p| p.0).collect::<Vec<_>>(), vec![4, 5]);
    }

    #[test]
    fn histogram_matches_hdr_rounding() {
        let h = LatencyHistogram::default();
        assert_eq!(h.percentiles(&[50.0]), None);
        h.record(6000);
        // 6000 ns falls in the 32 ns wide step starting at 5984: reported as 6015.
        assert_eq!(h.percentiles(&[50.0, 99.0]), Some(vec![6015, 6015]));
        h.record(71_000);
        assert_eq!(h.percentiles(&[100.0]), Some(vec![71_167]));
        assert_eq!(h.percentiles(&[0.0]), Some(vec![5984]));
        h.record(0);
        assert_eq!(h.percentiles(&[1.0]), Some(vec![1]));
        h.record(u64::MAX);
        assert_eq!(h.total(), 4);
        h.reset();
        assert_eq!(h.total(), 0);
        assert_eq!(h.percentiles(&[50.0]), None);
    }

    #[test]
    fn histogram_cumulative_steps() {
        let h = LatencyHistogram::default();
        for v in [5000, 5000, 7000, 3_100_000, 10_100_000] {
            h.record(v);
        }
        assert_eq!(h.cumulative_usec(), vec![(8, 3), (4227, 4), (16908, 5)]);
        let h = LatencyHistogram::default();
        h.record(100);
        assert_eq!(h.cumulative_usec(), vec![(1, 1)]);
        h.record(2_000_000_000);
        let c = h.cumulative_usec();
        assert_eq!(c.last().unwrap().1, 2);
    }
}
