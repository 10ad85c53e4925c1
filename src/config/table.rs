//! The directive table as data: every directive of Redis 7.0's config table (`standardConfig`
//! in `config.c`), with its alias, type, bounds, default, flags, where its value lives in
//! [`Config`] and which live hook applies a change made by CONFIG SET.
//!
//! A directive whose value has a typed field in `Config` is read by the subsystem that honours
//! it. A directive with [`Field::Stored`] (or the [`flags::STORED_ONLY`] flag) is accepted,
//! validated exactly as Redis validates it, stored, answered by CONFIG GET and rewritten by
//! CONFIG REWRITE, but has no effect yet; setting it to a non-default value logs a warning once.
//!
//! Depends on nothing outside `config`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Config;

/// Directive flags (Redis's `*_CONFIG` flags, plus our own `STORED_ONLY`).
pub mod flags {
    /// CONFIG SET refuses it ("can't set immutable config").
    pub const IMMUTABLE: u32 = 1 << 0;
    /// CONFIG SET needs `enable-protected-configs` ("can't set protected config").
    pub const PROTECTED: u32 = 1 << 1;
    /// Its value is redacted from MONITOR and SLOWLOG.
    pub const SENSITIVE: u32 = 1 << 2;
    /// Only an exact CONFIG GET name shows it, never a pattern.
    pub const HIDDEN: u32 = 1 << 3;
    /// Takes several arguments (the rest of the line).
    pub const MULTI_ARG: u32 = 1 << 4;
    /// Listed by DEBUG's config dump in Redis; informative here.
    pub const DEBUG: u32 = 1 << 5;
    /// Refused while loading a dataset.
    pub const DENY_LOADING: u32 = 1 << 6;
    /// Setting the same value still counts as a change (its apply hook runs).
    pub const VOLATILE: u32 = 1 << 7;
    /// Not Redis's: the value has a typed field but nothing honours it yet.
    pub const STORED_ONLY: u32 = 1 << 8;
}

use flags::*;

/// How a numeric directive is written and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumFmt {
    /// A plain integer (`string2ll`).
    Int,
    /// A memory amount with units (`1gb`), shown in bytes.
    Memory,
    /// A memory amount, or a percentage `N%` stored as `-N`.
    MemoryPercent,
    /// An octal number (`unixsocketperm`).
    Octal,
}

/// A validity check beyond the type's own rules; `Err` is the reason CONFIG SET reports.
pub type BoolCheck = fn(bool) -> Result<(), &'static str>;
pub type EnumCheck = fn(i32) -> Result<(), &'static str>;
pub type StrCheck = fn(&[u8]) -> Result<(), &'static str>;

/// The type of a directive, with its default and rules.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool {
        default: bool,
        check: Option<BoolCheck>,
    },
    /// `unsigned` selects Redis's unsigned bound check (unsigned int, size_t, unsigned long
    /// long): the parsed value's bit pattern is compared as an unsigned number.
    Num {
        min: i128,
        max: i128,
        default: i64,
        unsigned: bool,
        fmt: NumFmt,
    },
    /// With the `MULTI_ARG` flag the names are bit flags and several may be given.
    Enum {
        names: &'static [(&'static str, i32)],
        default: i32,
        check: Option<EnumCheck>,
    },
    /// `empty_is_null`: an empty value means "unset" (rewritten as absent).
    Str {
        default: Option<&'static str>,
        empty_is_null: bool,
        check: Option<StrCheck>,
    },
    Special(Special),
}

/// Directives with their own syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

/// Where a directive's value lives.
#[derive(Clone, Copy)]
pub enum Field {
    /// In `Config::stored`, by primary name (no typed field: not implemented yet).
    Stored,
    Bool(fn(&Config) -> bool, fn(&mut Config, bool)),
    Num(fn(&Config) -> i64, fn(&mut Config, i64)),
    Enum(fn(&Config) -> i32, fn(&mut Config, i32)),
    Str(
        fn(&Config) -> Option<Vec<u8>>,
        fn(&mut Config, Option<Vec<u8>>),
    ),
    /// A typed field handled by the special directive's own code.
    Special,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Stored => "Stored",
            Field::Bool(..) => "Bool",
            Field::Num(..) => "Num",
            Field::Enum(..) => "Enum",
            Field::Str(..) => "Str",
            Field::Special => "Special",
        })
    }
}

/// The live hook CONFIG SET runs after setting a directive (Redis's `apply` functions). The
/// work is done by the CONFIG command, which has the server at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    None,
    LogLevel,
    Port,
    Bind,
    Hz,
    Maxclients,
    Maxmemory,
    OomScoreAdj,
    /// jemalloc's background purging thread (`jemalloc-bg-thread`).
    JemallocBgThread,
}

/// One row of the table.
#[derive(Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u32,
    pub kind: Kind,
    pub field: Field,
    pub apply: Apply,
}

impl Directive {
    /// True when the directive takes the rest of the line.
    pub fn multi_arg(&self) -> bool {
        self.flags & MULTI_ARG != 0
    }

    /// True when the server honours the value (otherwise it is stored only).
    pub fn honoured(&self) -> bool {
        (!matches!(self.field, Field::Stored) || READ_BY_NAME.contains(&self.name))
            && self.flags & STORED_ONLY == 0
    }

    const fn with_apply(mut self, apply: Apply) -> Directive {
        self.apply = apply;
        self
    }
}

/// Directives without a typed field that a subsystem honours by reading the stored value by
/// name (persistence, client-side caching, the runtime's threads): not "stored only".
pub const READ_BY_NAME: &[&str] = &[
    "appendfilename",
    "appenddirname",
    "appendfsync",
    "aof-use-rdb-preamble",
    "aof-load-truncated",
    "aof-timestamp-enabled",
    "aof-disable-auto-gc",
    "auto-aof-rewrite-percentage",
    "auto-aof-rewrite-min-size",
    "dbfilename",
    "rdbcompression",
    "rdbchecksum",
    "stop-writes-on-bgsave-error",
    "rdb-key-save-delay",
    "key-load-delay",
    "io-threads",
    "tracking-table-max-keys",
    "jemalloc-bg-thread",
];

const fn row(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    kind: Kind,
    field: Field,
) -> Directive {
    Directive {
        name,
        alias,
        flags,
        kind,
        field,
        apply: Apply::None,
    }
}

const fn boolean(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    default: bool,
    field: Field,
) -> Directive {
    row(
        name,
        alias,
        flags,
        Kind::Bool {
            default,
            check: None,
        },
        field,
    )
}

#[allow(clippy::too_many_arguments)]
const fn num(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    min: i128,
    max: i128,
    default: i64,
    fmt: NumFmt,
    field: Field,
) -> Directive {
    row(
        name,
        alias,
        flags,
        Kind::Num {
            min,
            max,
            default,
            unsigned: false,
            fmt,
        },
        field,
    )
}

/// A numeric directive with Redis's unsigned bound check.
#[allow(clippy::too_many_arguments)]
const fn unum(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    min: i128,
    max: i128,
    default: i64,
    fmt: NumFmt,
    field: Field,
) -> Directive {
    row(
        name,
        alias,
        flags,
        Kind::Num {
            min,
            max,
            default,
            unsigned: true,
            fmt,
        },
        field,
    )
}

const fn enumd(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    names: &'static [(&'static str, i32)],
    default: i32,
    field: Field,
) -> Directive {
    row(
        name,
        alias,
        flags,
        Kind::Enum {
            names,
            default,
            check: None,
        },
        field,
    )
}

const fn string(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    default: Option<&'static str>,
    empty_is_null: bool,
    field: Field,
) -> Directive {
    row(
        name,
        alias,
        flags,
        Kind::Str {
            default,
            empty_is_null,
            check: None,
        },
        field,
    )
}

const fn special(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    s: Special,
) -> Directive {
    row(name, alias, flags, Kind::Special(s), Field::Special)
}

// ---- bounds (C's limits) ----

const INT_MIN: i128 = i32::MIN as i128;
const INT_MAX: i128 = i32::MAX as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;
const LLONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;
const SSIZE_MAX: i128 = i64::MAX as i128;

// ---- enumerations, in Redis's order (it decides error texts and the name shown) ----

pub const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
pub const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", libc::LOG_USER),
    ("local0", libc::LOG_LOCAL0),
    ("local1", libc::LOG_LOCAL1),
    ("local2", libc::LOG_LOCAL2),
    ("local3", libc::LOG_LOCAL3),
    ("local4", libc::LOG_LOCAL4),
    ("local5", libc::LOG_LOCAL5),
    ("local6", libc::LOG_LOCAL6),
    ("local7", libc::LOG_LOCAL7),
];
pub const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
pub const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 0), ("always", 1), ("no", 2)];
/// Bit flags of `shutdown-on-sigint` / `shutdown-on-sigterm` (SHUTDOWN's options).
pub const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
pub const SHUTDOWN_SAVE: u32 = 1;
pub const SHUTDOWN_NOSAVE: u32 = 2;
pub const SHUTDOWN_NOW: u32 = 4;
pub const SHUTDOWN_FORCE: u32 = 8;
const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
pub const OOM_SCORE_ADJ: &[(&str, i32)] =
    &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
/// `enable-protected-configs`, `enable-debug-command`, `enable-module-command`.
pub const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const CLUSTER_ENDPOINT_TYPE: &[(&str, i32)] =
    &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

/// Returns the value of enum name `name` (case-insensitive), if it is one.
pub fn enum_value(names: &[(&str, i32)], name: &str) -> Option<i32> {
    names
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

/// Returns the name of `value` as Redis shows it (`configEnumGetName`): the first exact match;
/// for bit flags, the matching names in table order joined by spaces; `unknown` otherwise.
pub fn enum_name(names: &[(&str, i32)], value: i32, bitflags: bool) -> String {
    let mut out = String::new();
    let mut unmatched = value;
    for &(n, v) in names {
        if v == value {
            return n.to_string();
        }
        if bitflags && v != 0 && v == (unmatched & v) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(n);
            unmatched &= !v;
        }
    }
    if out.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        out
    }
}

/// The value of a name-typed enum field, for the accessors below.
fn named(names: &[(&str, i32)], name: &str) -> i32 {
    enum_value(names, name).unwrap_or(0)
}

// ---- validity checks (Redis's is_valid_fn) ----

fn check_activedefrag(v: bool) -> Result<(), &'static str> {
    // Active defragmentation needs jemalloc's defrag hint, which neither the Debian build of
    // Redis 7.0.15 nor we have; the reply is the real server's.
    if v {
        return Err(
            "Active defragmentation cannot be enabled: it requires a Redis server \
                    compiled with a modified Jemalloc like the one shipped by default with the \
                    Redis source distribution",
        );
    }
    Ok(())
}

fn is_base_name(v: &[u8]) -> bool {
    !v.contains(&b'/')
}

fn check_dbfilename(v: &[u8]) -> Result<(), &'static str> {
    if !is_base_name(v) {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_appendfilename(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if !is_base_name(v) {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_appenddirname(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if !is_base_name(v) {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn check_shutdown_flags(v: i32) -> Result<(), &'static str> {
    let v = v as u32;
    if v & SHUTDOWN_NOSAVE != 0 && v & SHUTDOWN_SAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously");
    }
    Ok(())
}

fn check_hostname(v: &[u8]) -> Result<(), &'static str> {
    // NET_HOST_STR_LEN is 256.
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !v
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
    {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// Checks a `proc-title-template`: every `{variable}` must be known and the expansion (with an
/// empty title) must not be blank, as Redis's `validateProcTitleTemplate` requires.
fn check_proc_title(v: &[u8]) -> Result<(), &'static str> {
    const BAD: &str = "template format is invalid or contains unknown variables";
    let mut out: Vec<u8> = Vec::new();
    let mut p = 0;
    while p < v.len() {
        let Some(open) = v[p..].iter().position(|&c| c == b'{').map(|i| p + i) else {
            out.extend_from_slice(&v[p..]);
            break;
        };
        out.extend_from_slice(&v[p..open]);
        let start = open + 1;
        if start >= v.len() {
            return Err(BAD);
        }
        if v[start] == b'{' {
            out.push(b'{');
            p = start + 1;
            continue;
        }
        let Some(close) = v[start..]
            .iter()
            .position(|&c| c == b'}')
            .map(|i| start + i)
        else {
            return Err(BAD);
        };
        match &v[start..close] {
            b"title" | b"server-mode" | b"unixsocket" => {}
            b"listen-addr" | b"config-file" | b"port" | b"tls-port" => out.push(b'x'),
            _ => return Err(BAD),
        }
        p = close + 1;
    }
    if out.iter().all(|&c| c == b' ') {
        return Err(BAD);
    }
    Ok(())
}

// ---- accessors of typed fields ----

macro_rules! f_bool {
    ($f:ident) => {
        Field::Bool(|c| c.$f, |c, v| c.$f = v)
    };
}
macro_rules! f_num {
    ($f:ident) => {
        Field::Num(|c| c.$f as i64, |c, v| c.$f = v as _)
    };
}
macro_rules! f_enum_named {
    ($f:ident, $names:expr) => {
        Field::Enum(
            |c| named($names, &c.$f),
            |c, v| c.$f = enum_name($names, v, false),
        )
    };
}
macro_rules! f_enum_flags {
    ($f:ident) => {
        Field::Enum(|c| c.$f as i32, |c, v| c.$f = v as u32)
    };
}

const STR_LOGFILE: Field = Field::Str(
    |c| Some(c.logfile.clone().into_bytes()),
    |c, v| c.logfile = String::from_utf8_lossy(&v.unwrap_or_default()).into_owned(),
);
const STR_PIDFILE: Field = Field::Str(
    |c| {
        if c.pidfile.is_empty() {
            None
        } else {
            Some(c.pidfile.clone().into_bytes())
        }
    },
    |c, v| c.pidfile = String::from_utf8_lossy(&v.unwrap_or_default()).into_owned(),
);
const STR_UNIXSOCKET: Field = Field::Str(
    |c| c.unixsocket.clone().map(String::into_bytes),
    |c, v| c.unixsocket = v.map(|b| String::from_utf8_lossy(&b).into_owned()),
);
const STR_REQUIREPASS: Field = Field::Str(|c| c.requirepass.clone(), |c, v| c.requirepass = v);
const STR_SYSLOG_IDENT: Field = Field::Str(
    |c| Some(c.syslog_ident.clone().into_bytes()),
    |c, v| c.syslog_ident = String::from_utf8_lossy(&v.unwrap_or_default()).into_owned(),
);

const S: Field = Field::Stored;
const N: Option<&str> = None;

/// Every directive, in Redis's table order. Keep one row per directive.
pub static DIRECTIVES: &[Directive] = &[
    // ---- booleans ----
    boolean("rdbchecksum", N, IMMUTABLE, true, S),
    boolean("daemonize", N, IMMUTABLE, false, f_bool!(daemonize)),
    boolean("io-threads-do-reads", N, DEBUG | IMMUTABLE, false, S),
    boolean(
        "always-show-logo",
        N,
        IMMUTABLE,
        false,
        f_bool!(always_show_logo),
    ),
    boolean("protected-mode", N, 0, true, f_bool!(protected_mode)),
    boolean("rdbcompression", N, 0, true, S),
    boolean("rdb-del-sync-files", N, 0, false, S),
    boolean("activerehashing", N, 0, true, f_bool!(activerehashing)),
    boolean("stop-writes-on-bgsave-error", N, 0, true, S),
    boolean("set-proc-title", N, IMMUTABLE, true, S),
    boolean("dynamic-hz", N, 0, true, f_bool!(dynamic_hz)),
    boolean(
        "lazyfree-lazy-eviction",
        N,
        DEBUG,
        false,
        f_bool!(lazyfree_lazy_eviction),
    ),
    boolean(
        "lazyfree-lazy-expire",
        N,
        DEBUG,
        false,
        f_bool!(lazyfree_lazy_expire),
    ),
    boolean(
        "lazyfree-lazy-server-del",
        N,
        DEBUG,
        false,
        f_bool!(lazyfree_lazy_server_del),
    ),
    boolean(
        "lazyfree-lazy-user-del",
        N,
        DEBUG,
        false,
        f_bool!(lazyfree_lazy_user_del),
    ),
    boolean(
        "lazyfree-lazy-user-flush",
        N,
        DEBUG,
        false,
        f_bool!(lazyfree_lazy_user_flush),
    ),
    boolean("repl-disable-tcp-nodelay", N, 0, false, S),
    boolean("repl-diskless-sync", N, DEBUG, true, S),
    boolean("aof-rewrite-incremental-fsync", N, 0, true, S),
    boolean("no-appendfsync-on-rewrite", N, 0, false, S),
    boolean("cluster-require-full-coverage", N, 0, true, S),
    boolean("rdb-save-incremental-fsync", N, 0, true, S),
    boolean("aof-load-truncated", N, 0, true, S),
    boolean("aof-use-rdb-preamble", N, 0, true, S),
    boolean("aof-timestamp-enabled", N, 0, false, S),
    boolean(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        0,
        false,
        S,
    ),
    boolean(
        "replica-lazy-flush",
        Some("slave-lazy-flush"),
        0,
        false,
        f_bool!(replica_lazy_flush),
    ),
    boolean(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        0,
        true,
        S,
    ),
    boolean("replica-read-only", Some("slave-read-only"), DEBUG, true, S),
    boolean(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        0,
        true,
        S,
    ),
    boolean("jemalloc-bg-thread", N, 0, true, S).with_apply(Apply::JemallocBgThread),
    row(
        "activedefrag",
        N,
        DEBUG,
        Kind::Bool {
            default: false,
            check: Some(check_activedefrag),
        },
        S,
    ),
    boolean(
        "syslog-enabled",
        N,
        IMMUTABLE,
        false,
        f_bool!(syslog_enabled),
    ),
    boolean("cluster-enabled", N, IMMUTABLE, false, S),
    boolean(
        "appendonly",
        N,
        DENY_LOADING,
        false,
        f_bool!(appendonly),
    ),
    boolean("cluster-allow-reads-when-down", N, 0, false, S),
    boolean("cluster-allow-pubsubshard-when-down", N, 0, true, S),
    boolean("crash-log-enabled", N, 0, true, S),
    boolean("crash-memcheck-enabled", N, 0, true, S),
    boolean("use-exit-on-panic", N, HIDDEN, false, S),
    boolean("disable-thp", N, IMMUTABLE, true, S),
    boolean("cluster-allow-replica-migration", N, 0, true, S),
    boolean("replica-announced", N, 0, true, S),
    boolean("latency-tracking", N, 0, true, f_bool!(latency_tracking)),
    boolean("aof-disable-auto-gc", N, 0, false, S),
    boolean("replica-ignore-disk-write-errors", N, 0, false, S),
    boolean("lua-enable-deprecated-api", N, IMMUTABLE | HIDDEN, false, S),
    // ---- strings ----
    string("aclfile", N, IMMUTABLE, Some(""), false, S),
    string("unixsocket", N, IMMUTABLE, None, true, STR_UNIXSOCKET),
    string("pidfile", N, IMMUTABLE, None, true, STR_PIDFILE),
    string(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        0,
        None,
        true,
        S,
    ),
    string("masteruser", N, SENSITIVE, None, true, S),
    string("cluster-announce-ip", N, 0, None, true, S),
    string(
        "cluster-config-file",
        N,
        IMMUTABLE,
        Some("nodes.conf"),
        false,
        S,
    ),
    row(
        "cluster-announce-hostname",
        N,
        0,
        Kind::Str {
            default: None,
            empty_is_null: true,
            check: Some(check_hostname),
        },
        S,
    ),
    string(
        "syslog-ident",
        N,
        IMMUTABLE,
        Some("redis"),
        false,
        STR_SYSLOG_IDENT,
    ),
    row(
        "dbfilename",
        N,
        PROTECTED,
        Kind::Str {
            default: Some("dump.rdb"),
            empty_is_null: false,
            check: Some(check_dbfilename),
        },
        S,
    ),
    row(
        "appendfilename",
        N,
        IMMUTABLE,
        Kind::Str {
            default: Some("appendonly.aof"),
            empty_is_null: false,
            check: Some(check_appendfilename),
        },
        S,
    ),
    row(
        "appenddirname",
        N,
        IMMUTABLE,
        Kind::Str {
            default: Some("appendonlydir"),
            empty_is_null: false,
            check: Some(check_appenddirname),
        },
        S,
    ),
    string("server_cpulist", N, IMMUTABLE, None, true, S),
    string("bio_cpulist", N, IMMUTABLE, None, true, S),
    string("aof_rewrite_cpulist", N, IMMUTABLE, None, true, S),
    string("bgsave_cpulist", N, IMMUTABLE, None, true, S),
    string("ignore-warnings", N, 0, Some(""), false, S),
    row(
        "proc-title-template",
        N,
        0,
        Kind::Str {
            default: Some("{title} {listen-addr} {server-mode}"),
            empty_is_null: false,
            check: Some(check_proc_title),
        },
        S,
    ),
    string("bind-source-addr", N, 0, None, true, S),
    string("logfile", N, IMMUTABLE, Some(""), false, STR_LOGFILE),
    string("masterauth", N, SENSITIVE, None, true, S),
    string("requirepass", N, SENSITIVE, None, true, STR_REQUIREPASS),
    // ---- enumerations ----
    enumd(
        "supervised",
        N,
        IMMUTABLE,
        SUPERVISED,
        0,
        f_enum_named!(supervised, SUPERVISED),
    ),
    enumd(
        "syslog-facility",
        N,
        IMMUTABLE,
        SYSLOG_FACILITY,
        libc::LOG_LOCAL0,
        f_enum_named!(syslog_facility, SYSLOG_FACILITY),
    ),
    enumd(
        "repl-diskless-load",
        N,
        DEBUG | DENY_LOADING,
        REPL_DISKLESS_LOAD,
        0,
        S,
    ),
    enumd(
        "loglevel",
        N,
        0,
        LOGLEVEL,
        2,
        f_enum_named!(loglevel, LOGLEVEL),
    )
    .with_apply(Apply::LogLevel),
    enumd(
        "maxmemory-policy",
        N,
        0,
        MAXMEMORY_POLICY,
        7,
        f_enum_named!(maxmemory_policy, MAXMEMORY_POLICY),
    ),
    enumd("appendfsync", N, 0, APPENDFSYNC, 0, S),
    enumd(
        "oom-score-adj",
        N,
        0,
        OOM_SCORE_ADJ,
        0,
        f_enum_named!(oom_score_adj, OOM_SCORE_ADJ),
    )
    .with_apply(Apply::OomScoreAdj),
    enumd("acl-pubsub-default", N, 0, ACL_PUBSUB_DEFAULT, 0, S),
    enumd(
        "sanitize-dump-payload",
        N,
        DEBUG,
        SANITIZE_DUMP_PAYLOAD,
        0,
        S,
    ),
    enumd(
        "enable-protected-configs",
        N,
        IMMUTABLE,
        PROTECTED_ACTION,
        0,
        f_enum_named!(enable_protected_configs, PROTECTED_ACTION),
    ),
    enumd(
        "enable-debug-command",
        N,
        IMMUTABLE,
        PROTECTED_ACTION,
        0,
        f_enum_named!(enable_debug_command, PROTECTED_ACTION),
    ),
    enumd(
        "enable-module-command",
        N,
        IMMUTABLE,
        PROTECTED_ACTION,
        0,
        f_enum_named!(enable_module_command, PROTECTED_ACTION),
    ),
    enumd(
        "cluster-preferred-endpoint-type",
        N,
        0,
        CLUSTER_ENDPOINT_TYPE,
        0,
        S,
    ),
    enumd(
        "propagation-error-behavior",
        N,
        0,
        PROPAGATION_ERROR_BEHAVIOR,
        0,
        S,
    ),
    row(
        "shutdown-on-sigint",
        N,
        MULTI_ARG,
        Kind::Enum {
            names: SHUTDOWN_ON_SIG,
            default: 0,
            check: Some(check_shutdown_flags),
        },
        f_enum_flags!(shutdown_on_sigint),
    ),
    row(
        "shutdown-on-sigterm",
        N,
        MULTI_ARG,
        Kind::Enum {
            names: SHUTDOWN_ON_SIG,
            default: 0,
            check: Some(check_shutdown_flags),
        },
        f_enum_flags!(shutdown_on_sigterm),
    ),
    // ---- integers ----
    num(
        "databases",
        N,
        IMMUTABLE,
        1,
        INT_MAX,
        16,
        NumFmt::Int,
        f_num!(databases),
    ),
    num("port", N, 0, 0, 65535, 6379, NumFmt::Int, f_num!(port)).with_apply(Apply::Port),
    num(
        "io-threads",
        N,
        DEBUG | IMMUTABLE,
        1,
        128,
        1,
        NumFmt::Int,
        S,
    ),
    num(
        "auto-aof-rewrite-percentage",
        N,
        0,
        0,
        INT_MAX,
        100,
        NumFmt::Int,
        S,
    ),
    num(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        0,
        0,
        INT_MAX,
        10,
        NumFmt::Int,
        S,
    ),
    num(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        0,
        INT_MIN,
        INT_MAX,
        -2,
        NumFmt::Int,
        f_num!(list_max_listpack_size),
    ),
    num(
        "tcp-keepalive",
        N,
        0,
        0,
        INT_MAX,
        300,
        NumFmt::Int,
        f_num!(tcp_keepalive),
    ),
    num(
        "cluster-migration-barrier",
        N,
        0,
        0,
        INT_MAX,
        1,
        NumFmt::Int,
        S,
    ),
    num("active-defrag-cycle-min", N, 0, 1, 99, 1, NumFmt::Int, S),
    num("active-defrag-cycle-max", N, 0, 1, 99, 25, NumFmt::Int, S),
    num(
        "active-defrag-threshold-lower",
        N,
        0,
        0,
        1000,
        10,
        NumFmt::Int,
        S,
    ),
    num(
        "active-defrag-threshold-upper",
        N,
        0,
        0,
        1000,
        100,
        NumFmt::Int,
        S,
    ),
    num(
        "lfu-log-factor",
        N,
        0,
        0,
        INT_MAX,
        10,
        NumFmt::Int,
        f_num!(lfu_log_factor),
    ),
    num(
        "lfu-decay-time",
        N,
        0,
        0,
        INT_MAX,
        1,
        NumFmt::Int,
        f_num!(lfu_decay_time),
    ),
    num(
        "replica-priority",
        Some("slave-priority"),
        0,
        0,
        INT_MAX,
        100,
        NumFmt::Int,
        S,
    ),
    num(
        "repl-diskless-sync-delay",
        N,
        0,
        0,
        INT_MAX,
        5,
        NumFmt::Int,
        S,
    ),
    num(
        "maxmemory-samples",
        N,
        0,
        1,
        INT_MAX,
        5,
        NumFmt::Int,
        f_num!(maxmemory_samples),
    ),
    num(
        "maxmemory-eviction-tenacity",
        N,
        0,
        0,
        100,
        10,
        NumFmt::Int,
        f_num!(maxmemory_eviction_tenacity),
    ),
    num("timeout", N, 0, 0, INT_MAX, 0, NumFmt::Int, f_num!(timeout)),
    num(
        "replica-announce-port",
        Some("slave-announce-port"),
        0,
        0,
        65535,
        0,
        NumFmt::Int,
        S,
    ),
    num(
        "tcp-backlog",
        N,
        IMMUTABLE,
        0,
        INT_MAX,
        511,
        NumFmt::Int,
        f_num!(tcp_backlog),
    ),
    num("cluster-port", N, IMMUTABLE, 0, 65535, 0, NumFmt::Int, S),
    num(
        "cluster-announce-bus-port",
        N,
        0,
        0,
        65535,
        0,
        NumFmt::Int,
        S,
    ),
    num("cluster-announce-port", N, 0, 0, 65535, 0, NumFmt::Int, S),
    num(
        "cluster-announce-tls-port",
        N,
        0,
        0,
        65535,
        0,
        NumFmt::Int,
        S,
    ),
    num("repl-timeout", N, 0, 1, INT_MAX, 60, NumFmt::Int, S),
    num(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        0,
        1,
        INT_MAX,
        10,
        NumFmt::Int,
        S,
    ),
    num(
        "list-compress-depth",
        N,
        DEBUG,
        0,
        INT_MAX,
        0,
        NumFmt::Int,
        f_num!(list_compress_depth),
    ),
    num(
        "rdb-key-save-delay",
        N,
        HIDDEN,
        INT_MIN,
        INT_MAX,
        0,
        NumFmt::Int,
        S,
    ),
    num(
        "key-load-delay",
        N,
        HIDDEN,
        INT_MIN,
        INT_MAX,
        0,
        NumFmt::Int,
        S,
    ),
    num(
        "active-expire-effort",
        N,
        0,
        1,
        10,
        1,
        NumFmt::Int,
        f_num!(active_expire_effort),
    ),
    num("hz", N, 0, 0, INT_MAX, 10, NumFmt::Int, f_num!(hz)).with_apply(Apply::Hz),
    num(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        0,
        0,
        INT_MAX,
        0,
        NumFmt::Int,
        S,
    ),
    num(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        0,
        0,
        INT_MAX,
        10,
        NumFmt::Int,
        S,
    ),
    num("watchdog-period", N, HIDDEN, 0, INT_MAX, 0, NumFmt::Int, S),
    num(
        "shutdown-timeout",
        N,
        0,
        0,
        INT_MAX,
        10,
        NumFmt::Int,
        f_num!(shutdown_timeout),
    ),
    num(
        "repl-diskless-sync-max-replicas",
        N,
        0,
        0,
        INT_MAX,
        0,
        NumFmt::Int,
        S,
    ),
    // ---- unsigned int ----
    unum(
        "maxclients",
        N,
        0,
        1,
        UINT_MAX,
        10000,
        NumFmt::Int,
        f_num!(maxclients),
    )
    .with_apply(Apply::Maxclients),
    unum(
        "unixsocketperm",
        N,
        IMMUTABLE,
        0,
        0o777,
        0,
        NumFmt::Octal,
        f_num!(unixsocketperm),
    ),
    unum(
        "socket-mark-id",
        N,
        IMMUTABLE,
        0,
        UINT_MAX,
        0,
        NumFmt::Int,
        S,
    ),
    // ---- unsigned long ----
    num(
        "active-defrag-max-scan-fields",
        N,
        0,
        1,
        LONG_MAX,
        1000,
        NumFmt::Int,
        S,
    ),
    num(
        "slowlog-max-len",
        N,
        0,
        0,
        LONG_MAX,
        128,
        NumFmt::Int,
        f_num!(slowlog_max_len),
    ),
    num("acllog-max-len", N, 0, 0, LONG_MAX, 128, NumFmt::Int, S),
    // ---- long long ----
    num(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        0,
        0,
        LONG_MAX,
        5000,
        NumFmt::Int,
        f_num!(busy_reply_threshold),
    ),
    num(
        "cluster-node-timeout",
        N,
        0,
        0,
        LLONG_MAX,
        15000,
        NumFmt::Int,
        S,
    ),
    num(
        "slowlog-log-slower-than",
        N,
        0,
        -1,
        LLONG_MAX,
        10000,
        NumFmt::Int,
        f_num!(slowlog_log_slower_than),
    ),
    num(
        "latency-monitor-threshold",
        N,
        0,
        0,
        LLONG_MAX,
        0,
        NumFmt::Int,
        f_num!(latency_monitor_threshold),
    ),
    num(
        "proto-max-bulk-len",
        N,
        DEBUG,
        1024 * 1024,
        LONG_MAX,
        512 * 1024 * 1024,
        NumFmt::Memory,
        f_num!(proto_max_bulk_len),
    ),
    num(
        "stream-node-max-entries",
        N,
        0,
        0,
        LLONG_MAX,
        100,
        NumFmt::Int,
        f_num!(stream_node_max_entries),
    ),
    num(
        "repl-backlog-size",
        N,
        0,
        1,
        LLONG_MAX,
        1024 * 1024,
        NumFmt::Memory,
        S,
    ),
    // ---- unsigned long long ----
    unum(
        "maxmemory",
        N,
        0,
        0,
        ULLONG_MAX,
        0,
        NumFmt::Memory,
        f_num!(maxmemory),
    )
    .with_apply(Apply::Maxmemory),
    unum(
        "cluster-link-sendbuf-limit",
        N,
        0,
        0,
        ULLONG_MAX,
        0,
        NumFmt::Memory,
        S,
    ),
    // ---- size_t ----
    unum(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        0,
        0,
        LONG_MAX,
        512,
        NumFmt::Int,
        f_num!(hash_max_listpack_entries),
    ),
    unum(
        "set-max-intset-entries",
        N,
        0,
        0,
        LONG_MAX,
        512,
        NumFmt::Int,
        f_num!(set_max_intset_entries),
    ),
    unum(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        0,
        0,
        LONG_MAX,
        128,
        NumFmt::Int,
        f_num!(zset_max_listpack_entries),
    ),
    unum(
        "active-defrag-ignore-bytes",
        N,
        0,
        1,
        LLONG_MAX,
        100 << 20,
        NumFmt::Memory,
        S,
    ),
    unum(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        0,
        0,
        LONG_MAX,
        64,
        NumFmt::Memory,
        f_num!(hash_max_listpack_value),
    ),
    unum(
        "stream-node-max-bytes",
        N,
        0,
        0,
        LONG_MAX,
        4096,
        NumFmt::Memory,
        f_num!(stream_node_max_bytes),
    ),
    unum(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        0,
        0,
        LONG_MAX,
        64,
        NumFmt::Memory,
        f_num!(zset_max_listpack_value),
    ),
    unum(
        "hll-sparse-max-bytes",
        N,
        0,
        0,
        LONG_MAX,
        3000,
        NumFmt::Memory,
        f_num!(hll_sparse_max_bytes),
    ),
    unum(
        "tracking-table-max-keys",
        N,
        0,
        0,
        LONG_MAX,
        1_000_000,
        NumFmt::Int,
        S,
    ),
    unum(
        "client-query-buffer-limit",
        N,
        DEBUG,
        1024 * 1024,
        LONG_MAX,
        1024 * 1024 * 1024,
        NumFmt::Memory,
        f_num!(client_query_buffer_limit),
    ),
    num(
        "maxmemory-clients",
        N,
        0,
        -100,
        SSIZE_MAX,
        0,
        NumFmt::MemoryPercent,
        f_num!(maxmemory_clients),
    ),
    // ---- time_t, off_t ----
    num("repl-backlog-ttl", N, 0, 0, LONG_MAX, 3600, NumFmt::Int, S),
    num(
        "auto-aof-rewrite-min-size",
        N,
        0,
        0,
        LLONG_MAX,
        64 * 1024 * 1024,
        NumFmt::Memory,
        S,
    ),
    num(
        "loading-process-events-interval-bytes",
        N,
        HIDDEN,
        1024,
        INT_MAX,
        2 * 1024 * 1024,
        NumFmt::Int,
        S,
    ),
    // ---- TLS (the Debian build of Redis 7.0.15 has them) ----
    num("tls-port", N, 0, 0, 65535, 0, NumFmt::Int, S),
    num(
        "tls-session-cache-size",
        N,
        0,
        0,
        INT_MAX,
        20 * 1024,
        NumFmt::Int,
        S,
    ),
    num(
        "tls-session-cache-timeout",
        N,
        0,
        0,
        INT_MAX,
        300,
        NumFmt::Int,
        S,
    ),
    boolean("tls-cluster", N, 0, false, S),
    boolean("tls-replication", N, 0, false, S),
    enumd("tls-auth-clients", N, 0, TLS_AUTH_CLIENTS, 1, S),
    boolean("tls-prefer-server-ciphers", N, 0, false, S),
    boolean("tls-session-caching", N, 0, true, S),
    string("tls-cert-file", N, VOLATILE, None, true, S),
    string("tls-key-file", N, VOLATILE, None, true, S),
    string("tls-key-file-pass", N, 0, None, true, S),
    string("tls-client-cert-file", N, VOLATILE, None, true, S),
    string("tls-client-key-file", N, VOLATILE, None, true, S),
    string("tls-client-key-file-pass", N, 0, None, true, S),
    string("tls-dh-params-file", N, VOLATILE, None, true, S),
    string("tls-ca-cert-file", N, VOLATILE, None, true, S),
    string("tls-ca-cert-dir", N, VOLATILE, None, true, S),
    string("tls-protocols", N, 0, None, true, S),
    string("tls-ciphers", N, 0, None, true, S),
    string("tls-ciphersuites", N, 0, None, true, S),
    // ---- special ----
    special("dir", N, PROTECTED | DENY_LOADING, Special::Dir),
    special("save", N, MULTI_ARG, Special::Save),
    special(
        "client-output-buffer-limit",
        N,
        MULTI_ARG,
        Special::ClientOutputBufferLimit,
    ),
    special(
        "oom-score-adj-values",
        N,
        MULTI_ARG,
        Special::OomScoreAdjValues,
    )
    .with_apply(Apply::OomScoreAdj),
    special(
        "notify-keyspace-events",
        N,
        0,
        Special::NotifyKeyspaceEvents,
    ),
    special("bind", N, MULTI_ARG, Special::Bind).with_apply(Apply::Bind),
    special(
        "replicaof",
        Some("slaveof"),
        IMMUTABLE | MULTI_ARG | STORED_ONLY,
        Special::ReplicaOf,
    ),
    special(
        "latency-tracking-info-percentiles",
        N,
        MULTI_ARG,
        Special::LatencyTrackingInfoPercentiles,
    ),
];

/// Lower-case name (primary or alias) -> (row index, is the alias).
fn index() -> &'static HashMap<&'static str, (usize, bool)> {
    static INDEX: OnceLock<HashMap<&'static str, (usize, bool)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for (i, d) in DIRECTIVES.iter().enumerate() {
            m.insert(d.name, (i, false));
            if let Some(a) = d.alias {
                m.insert(a, (i, true));
            }
        }
        m
    })
}

/// Finds a directive by name or alias, case-insensitively. Returns the row and whether the name
/// was its alias.
pub fn lookup(name: &[u8]) -> Option<(&'static Directive, bool)> {
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    index()
        .get(lower.as_str())
        .map(|&(i, alias)| (&DIRECTIVES[i], alias))
}

/// Every name CONFIG GET may list: (name, row), primary name then alias, in table order.
pub fn names() -> impl Iterator<Item = (&'static str, &'static Directive)> {
    DIRECTIVES
        .iter()
        .flat_map(|d| std::iter::once((d.name, d)).chain(d.alias.map(|a| (a, d))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_read_by_name_are_stored_and_honoured() {
        for name in READ_BY_NAME {
            let (d, _) = lookup(name.as_bytes()).unwrap_or_else(|| panic!("{name} unknown"));
            assert!(matches!(d.field, Field::Stored), "{name} has a typed field");
            assert!(d.honoured(), "{name}");
        }
        assert!(!lookup(b"rdb-del-sync-files").unwrap().0.honoured());
    }

    #[test]
    fn names_are_unique_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for (n, _) in names() {
            assert_eq!(n, n.to_ascii_lowercase(), "{n}");
            assert!(seen.insert(n), "duplicate directive {n}");
        }
        // Redis 7.0.15 (with TLS) answers 192 names to CONFIG GET *, plus 6 hidden ones.
        let visible = names().filter(|(_, d)| d.flags & HIDDEN == 0).count();
        assert_eq!(visible, 192);
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        let (d, alias) = lookup(b"SLAVEOF").unwrap();
        assert_eq!(d.name, "replicaof");
        assert!(alias);
        let (d, alias) = lookup(b"Hash-Max-Ziplist-Entries").unwrap();
        assert_eq!(d.name, "hash-max-listpack-entries");
        assert!(alias);
        assert!(lookup(b"nosuch").is_none());
        assert!(lookup(b"\xff").is_none());
    }

    #[test]
    fn enum_names_follow_redis() {
        assert_eq!(enum_name(OOM_SCORE_ADJ, 1, false), "yes");
        assert_eq!(enum_name(SHUTDOWN_ON_SIG, 0, true), "default");
        assert_eq!(
            enum_name(SHUTDOWN_ON_SIG, 2 | 4 | 8, true),
            "nosave now force"
        );
        assert_eq!(enum_name(SHUTDOWN_ON_SIG, 16, true), "unknown");
        assert_eq!(enum_value(LOGLEVEL, "NOTICE"), Some(2));
        assert_eq!(enum_value(LOGLEVEL, "nothing"), None);
    }

    #[test]
    fn proc_title_templates() {
        assert!(check_proc_title(b"{title} {listen-addr} {server-mode}").is_ok());
        assert!(check_proc_title(b"--my--title--template").is_ok());
        assert!(check_proc_title(b"{title}").is_err());
        assert!(check_proc_title(b"{xx}").is_err());
        assert!(check_proc_title(b"abc {").is_err());
        assert!(check_proc_title(b"{port").is_err());
        assert!(check_proc_title(b"{{ {port}").is_ok());
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname(b"").is_ok());
        assert!(check_hostname(b"a-b.c").is_ok());
        assert!(check_hostname(b"a_b").is_err());
    }
}
