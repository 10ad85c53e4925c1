//! Configuration: redis.conf and the command line turned into typed settings, exactly as
//! redis-server 7.0 reads them, and the value layer behind CONFIG GET / SET / REWRITE.
//!
//! - [`table`]: every directive of Redis 7.0 as data (name, alias, type, bounds, default,
//!   flags, where the value lives, live hook).
//! - this module: [`Config`] (typed fields other modules read, plus `stored` values of the
//!   directives not implemented yet), setting a directive from its arguments with Redis's
//!   validation and error texts, formatting it for CONFIG GET, and loading config text
//!   (`include`, `rename-command`, the `save` accumulation rule, multi-argument re-splitting).
//! - [`rewrite`]: CONFIG REWRITE. [`process`]: daemonize, pidfile, open-files limit,
//!   oom_score_adj, systemd readiness.
//!
//! The command line is redis-server's: an optional config file first, then any directive as
//! `--name value...`; both become config text, file first, so the last value wins. Lines are
//! tokenised with the same rules as inline requests (`protocol::splitargs`).
//!
//! Depends on `protocol::splitargs` and `util` only (and `tracing` for warnings).

pub mod process;
pub mod rewrite;
pub mod table;

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

use crate::protocol::splitargs::split_args;
use table::{Directive, Field, Kind, NumFmt, Special};

/// Keyspace notification classes (`notify-keyspace-events`), with Redis's bit values.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    /// `m`: excluded from `A` on purpose.
    pub const KEY_MISS: u32 = 1 << 11;
    pub const LOADED: u32 = 1 << 12;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
    /// `A`: every class but `m` and `n`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// Parses a class string such as `KEA`; `None` on an unknown character.
    pub fn parse(classes: &[u8]) -> Option<u32> {
        let mut flags = 0;
        for &c in classes {
            flags |= match c {
                b'A' => ALL,
                b'g' => GENERIC,
                b'$' => STRING,
                b'l' => LIST,
                b's' => SET,
                b'h' => HASH,
                b'z' => ZSET,
                b'x' => EXPIRED,
                b'e' => EVICTED,
                b'K' => KEYSPACE,
                b'E' => KEYEVENT,
                b't' => STREAM,
                b'm' => KEY_MISS,
                b'd' => MODULE,
                b'n' => NEW,
                _ => return None,
            };
        }
        Some(flags)
    }

    /// Formats flags as Redis shows them (`AKE` for `KEA`).
    pub fn format(flags: u32) -> String {
        let mut s = String::new();
        if flags & ALL == ALL {
            s.push('A');
        } else {
            for (bit, c) in [
                (GENERIC, 'g'),
                (STRING, '$'),
                (LIST, 'l'),
                (SET, 's'),
                (HASH, 'h'),
                (ZSET, 'z'),
                (EXPIRED, 'x'),
                (EVICTED, 'e'),
                (STREAM, 't'),
                (MODULE, 'd'),
                (NEW, 'n'),
            ] {
                if flags & bit != 0 {
                    s.push(c);
                }
            }
        }
        for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
        s
    }
}

/// A fatal configuration error, reported as Redis reports it before exiting with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The `*** FATAL CONFIG FILE ERROR ***` block on stderr; `line` is the line number and
    /// the trimmed line, when the error belongs to one.
    Fatal {
        line: Option<(usize, Vec<u8>)>,
        msg: String,
    },
    /// An error Redis logs as a warning line (a config file that can't be opened).
    Log(String),
}

impl ConfigError {
    fn at(line_no: usize, line: &[u8], msg: impl Into<String>) -> ConfigError {
        ConfigError::Fatal {
            line: Some((line_no, line.to_vec())),
            msg: msg.into(),
        }
    }

    /// Returns the bytes Redis prints on stderr for a fatal error, or the log message.
    pub fn report(&self) -> Vec<u8> {
        match self {
            ConfigError::Fatal { line, msg } => {
                let mut out = format!(
                    "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n",
                    crate::REDIS_VERSION
                )
                .into_bytes();
                if let Some((n, text)) = line {
                    out.extend_from_slice(
                        format!("Reading the configuration file, at line {n}\n>>> '").as_bytes(),
                    );
                    out.extend_from_slice(text);
                    out.extend_from_slice(b"'\n");
                }
                out.extend_from_slice(msg.as_bytes());
                out.push(b'\n');
                out
            }
            ConfigError::Log(msg) => msg.clone().into_bytes(),
        }
    }

    /// The reason alone.
    pub fn message(&self) -> &str {
        match self {
            ConfigError::Fatal { msg, .. } | ConfigError::Log(msg) => msg,
        }
    }
}

/// One class of `client-output-buffer-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: i64,
}

/// Indices of [`Config::client_output_buffer_limit`].
pub const OBUF_NORMAL: usize = 0;
pub const OBUF_REPLICA: usize = 1;
pub const OBUF_PUBSUB: usize = 2;
const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit {
        hard_bytes: 0,
        soft_bytes: 0,
        soft_seconds: 0,
    },
    ObufLimit {
        hard_bytes: 256 << 20,
        soft_bytes: 64 << 20,
        soft_seconds: 60,
    },
    ObufLimit {
        hard_bytes: 32 << 20,
        soft_bytes: 8 << 20,
        soft_seconds: 60,
    },
];

/// The value of a directive without a typed field.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Bool(bool),
    Num(i64),
    Enum(i32),
    Str(Option<Vec<u8>>),
}

/// The settings the server runs with. Other modules read the typed fields through
/// `server.config.read()`; CONFIG SET changes them under the write lock.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub databases: usize,
    /// `requirepass`: the default user's password, binary-safe.
    pub requirepass: Option<Vec<u8>>,
    /// Already clamped to 1..=500, as Redis does.
    pub hz: u32,
    /// `debug`, `verbose`, `notice` or `warning`.
    pub loglevel: String,
    pub logfile: String,
    pub always_show_logo: bool,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: u64,
    pub maxclients: u64,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    /// `no`, `yes` or `local`.
    pub enable_debug_command: String,
    pub protected_mode: bool,
    pub unixsocket: Option<String>,
    pub daemonize: bool,
    /// Empty when not set.
    pub pidfile: String,
    /// The last `dir` given (the process's working directory is the real value).
    pub dir: String,
    /// Save points as CONFIG GET shows them (`3600 1 300 100 60 10000`, or empty).
    pub save: String,
    pub appendonly: bool,
    /// Absolute path of the config file, when one was given.
    pub config_file: Option<String>,
    /// `rename-command` pairs from the config file (an empty new name removes the command).
    pub renames: Vec<(String, String)>,

    /// `no`, `yes` or `local`.
    pub enable_protected_configs: String,
    /// `no`, `yes` or `local`.
    pub enable_module_command: String,
    pub maxmemory: u64,
    /// `noeviction`, `allkeys-lru`, ...
    pub maxmemory_policy: String,
    pub maxmemory_samples: u64,
    pub maxmemory_eviction_tenacity: u64,
    /// Bytes, or a percentage of maxmemory stored as a negative number (`-5` for `5%`).
    pub maxmemory_clients: i64,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub replica_lazy_flush: bool,
    /// Bits of [`notify`].
    pub notify_keyspace_events: u32,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    pub zset_max_listpack_entries: u64,
    pub zset_max_listpack_value: u64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: u64,
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: u64,
    pub hll_sparse_max_bytes: u64,
    pub active_expire_effort: u32,
    pub activerehashing: bool,
    pub dynamic_hz: bool,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub latency_monitor_threshold: u64,
    pub latency_tracking: bool,
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
    pub busy_reply_threshold: u64,
    /// Bits of `table::SHUTDOWN_*` (0 is `default`).
    pub shutdown_on_sigint: u32,
    pub shutdown_on_sigterm: u32,
    pub shutdown_timeout: u64,
    /// Indexed by `OBUF_NORMAL`, `OBUF_REPLICA`, `OBUF_PUBSUB`.
    pub client_output_buffer_limit: [ObufLimit; 3],
    pub tcp_backlog: u32,
    pub unixsocketperm: u32,
    /// `no`, `upstart`, `systemd` or `auto`.
    pub supervised: String,
    pub syslog_enabled: bool,
    pub syslog_ident: String,
    /// `user`, `local0` ... `local7`.
    pub syslog_facility: String,
    /// `no`, `yes` (relative) or `absolute`.
    pub oom_score_adj: String,
    /// For master, replica, background child.
    pub oom_score_adj_values: [i32; 3],
    /// `replicaof host port` (accepted, not supported yet).
    pub replicaof: Option<(String, u16)>,

    /// Values of the directives stored only, by primary name (absent means default).
    pub stored: BTreeMap<&'static str, Val>,
    /// `user` lines (ACL rules) from the config file, kept for the ACL subsystem.
    pub users: Vec<Vec<Vec<u8>>>,
    /// Warnings gathered while loading, to log once logging is set up.
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            databases: 16,
            requirepass: None,
            hz: 10,
            loglevel: "notice".into(),
            logfile: String::new(),
            always_show_logo: false,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            enable_debug_command: "no".into(),
            protected_mode: true,
            unixsocket: None,
            daemonize: false,
            pidfile: String::new(),
            dir: "./".into(),
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            config_file: None,
            renames: Vec::new(),
            enable_protected_configs: "no".into(),
            enable_module_command: "no".into(),
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            maxmemory_clients: 0,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            replica_lazy_flush: false,
            notify_keyspace_events: 0,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            hll_sparse_max_bytes: 3000,
            active_expire_effort: 1,
            activerehashing: true,
            dynamic_hz: true,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            busy_reply_threshold: 5000,
            shutdown_on_sigint: 0,
            shutdown_on_sigterm: 0,
            shutdown_timeout: 10,
            client_output_buffer_limit: OBUF_DEFAULTS,
            tcp_backlog: 511,
            unixsocketperm: 0,
            supervised: "no".into(),
            syslog_enabled: false,
            syslog_ident: "redis".into(),
            syslog_facility: "local0".into(),
            oom_score_adj: "no".into(),
            oom_score_adj_values: [0, 200, 800],
            replicaof: None,
            stored: BTreeMap::new(),
            users: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

// ---- C-compatible number parsing ----

/// Parses a memory amount as Redis's `memtoull`: digits then an optional unit (`b`, `k`, `kb`,
/// `m`, `mb`, `g`, `gb`, any case). Like Redis, no digits means 0, an overflowing number
/// saturates and the unit multiplication wraps.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = if unit.is_empty() || unit.eq_ignore_ascii_case(b"b") {
        1
    } else if unit.eq_ignore_ascii_case(b"k") {
        1000
    } else if unit.eq_ignore_ascii_case(b"kb") {
        1024
    } else if unit.eq_ignore_ascii_case(b"m") {
        1000 * 1000
    } else if unit.eq_ignore_ascii_case(b"mb") {
        1024 * 1024
    } else if unit.eq_ignore_ascii_case(b"g") {
        1000 * 1000 * 1000
    } else if unit.eq_ignore_ascii_case(b"gb") {
        1024 * 1024 * 1024
    } else {
        return None;
    };
    if digits >= 128 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[..digits] {
        // strtoull saturates on overflow.
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .unwrap_or(u64::MAX);
    }
    Some(v.wrapping_mul(mul))
}

/// C's `strtoll(s, &end, base)`: returns the value (saturated on overflow), whether it
/// overflowed, and whether the whole string was consumed (`*end == '\0'`). No digits consumes
/// nothing, so an empty string counts as fully consumed with value 0.
fn strtoll(s: &[u8], base: u32) -> (i64, bool, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i128 = 0;
    let mut overflow = false;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(base) else {
            break;
        };
        v = v * base as i128 + d as i128;
        if v > i64::MAX as i128 + 1 {
            overflow = true;
            v = i64::MAX as i128 + 1;
        }
        i += 1;
    }
    if i == start {
        // Nothing converted: the end pointer is the start of the string.
        return (0, false, s.is_empty());
    }
    let v = if neg { -v } else { v };
    let (v, of) = if v > i64::MAX as i128 {
        (i64::MAX, true)
    } else if v < i64::MIN as i128 {
        (i64::MIN, true)
    } else {
        (v as i64, false)
    };
    (v, overflow || of, i == s.len())
}

/// Parses a numeric directive's value; the error is Redis's.
fn parse_num(fmt: NumFmt, s: &[u8]) -> Result<i64, &'static str> {
    if matches!(fmt, NumFmt::Memory | NumFmt::MemoryPercent)
        && let Some(v) = memtoull(s)
    {
        return Ok(v as i64);
    }
    if fmt == NumFmt::MemoryPercent
        && s.len() > 1
        && s[s.len() - 1] == b'%'
        && let Some(v) = crate::util::parse_i64_strict(&s[..s.len() - 1])
        && v >= 0
    {
        // Percentages are stored as negative numbers.
        return Ok(-v);
    }
    if fmt == NumFmt::Octal {
        let (v, overflow, all) = strtoll(s, 8);
        if !overflow && all {
            return Ok(v);
        }
    }
    if fmt == NumFmt::Int
        && let Some(v) = crate::util::parse_i64_strict(s)
    {
        return Ok(v);
    }
    Err(match fmt {
        NumFmt::MemoryPercent => "argument must be a memory or percent value",
        NumFmt::Memory => "argument must be a memory value",
        NumFmt::Octal => "argument couldn't be parsed as an octal number",
        NumFmt::Int => "argument couldn't be parsed into an integer",
    })
}

/// Checks a parsed number against its bounds, with Redis's messages.
fn check_bounds(kind: &Kind, v: i64) -> Result<(), String> {
    let Kind::Num {
        min,
        max,
        unsigned,
        fmt,
        ..
    } = *kind
    else {
        return Ok(());
    };
    if unsigned {
        let u = v as u64 as i128;
        if u > max || u < min {
            return Err(if fmt == NumFmt::Octal {
                format!("argument must be between {:o} and {:o} inclusive", min, max)
            } else {
                format!("argument must be between {} and {} inclusive", min, max)
            });
        }
    } else if fmt == NumFmt::MemoryPercent && v < 0 {
        if (v as i128) < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -min
            ));
        }
    } else if (v as i128) > max || (v as i128) < min {
        return Err(format!(
            "argument must be between {} and {} inclusive",
            min, max
        ));
    }
    Ok(())
}

/// Quotes bytes as Redis's `sdscatrepr` does, so the tokenizer gives them back unchanged.
pub fn repr(s: &[u8]) -> Vec<u8> {
    let mut q = vec![b'"'];
    for &c in s {
        match c {
            b'\\' => q.extend_from_slice(b"\\\\"),
            b'"' => q.extend_from_slice(b"\\\""),
            b'\n' => q.extend_from_slice(b"\\n"),
            b'\r' => q.extend_from_slice(b"\\r"),
            b'\t' => q.extend_from_slice(b"\\t"),
            0x07 => q.extend_from_slice(b"\\a"),
            0x08 => q.extend_from_slice(b"\\b"),
            0x20..=0x7e => q.push(c),
            _ => q.extend_from_slice(format!("\\x{:02x}", c).as_bytes()),
        }
    }
    q.push(b'"');
    q
}

/// Formats a percentile as Redis does (`%f`, trailing zeros and dot removed).
fn fmt_percentile(v: f64) -> String {
    let s = format!("{v:.6}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The text of an OS error number, as C's `strerror`.
pub fn strerror(errno: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the XSI strerror_r writes a NUL-terminated message of at most buf.len() bytes.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    let n = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The text Redis's `strerror` gives for an I/O error (without Rust's " (os error N)"); the
/// error's own text when it carries no errno.
pub fn io_strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => strerror(n),
        None => e.to_string(),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether `save` replaces the save points or adds to them (config files accumulate them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveMode {
    Replace,
    Append,
}

/// Names of directives already warned about as "stored only".
static WARNED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// Returns the "stored only" warning for `d` the first time it gets a non-default value.
fn stored_only_warning(cfg: &Config, d: &'static Directive) -> Option<String> {
    if d.honoured() || cfg.get(d) == Config::default().get(d) {
        return None;
    }
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if !warned.get_or_insert_with(HashSet::new).insert(d.name) {
        return None;
    }
    Some(format!(
        "Config directive '{}' is not supported yet by rusty-redis-server, stored only (it has no \
         effect)",
        d.name
    ))
}

impl Config {
    /// Returns the value of a directive that has no special syntax.
    pub(crate) fn read(&self, d: &Directive) -> Val {
        match d.field {
            Field::Bool(get, _) => Val::Bool(get(self)),
            Field::Num(get, _) => Val::Num(get(self)),
            Field::Enum(get, _) => Val::Enum(get(self)),
            Field::Str(get, _) => Val::Str(get(self)),
            Field::Stored | Field::Special => self
                .stored
                .get(d.name)
                .cloned()
                .unwrap_or_else(|| default_val(&d.kind)),
        }
    }

    fn write(&mut self, d: &'static Directive, v: Val) {
        match (d.field, v) {
            (Field::Bool(_, set), Val::Bool(b)) => set(self, b),
            (Field::Num(_, set), Val::Num(n)) => set(self, n),
            (Field::Enum(_, set), Val::Enum(e)) => set(self, e),
            (Field::Str(_, set), Val::Str(s)) => set(self, s),
            (_, v) => {
                self.stored.insert(d.name, v);
            }
        }
    }

    /// Returns a directive's value as CONFIG GET shows it.
    pub fn get(&self, d: &Directive) -> Vec<u8> {
        if let Kind::Special(s) = d.kind {
            return self.get_special(s);
        }
        match (self.read(d), &d.kind) {
            (Val::Bool(b), _) => {
                if b {
                    b"yes".to_vec()
                } else {
                    b"no".to_vec()
                }
            }
            (Val::Num(v), Kind::Num { fmt, .. }) => match fmt {
                NumFmt::MemoryPercent if v < 0 => format!("{}%", -(v as i128)).into_bytes(),
                NumFmt::Memory | NumFmt::MemoryPercent => (v as u64).to_string().into_bytes(),
                NumFmt::Octal => format!("{:o}", v as u64).into_bytes(),
                NumFmt::Int => v.to_string().into_bytes(),
            },
            (Val::Enum(v), Kind::Enum { names, .. }) => {
                table::enum_name(names, v, d.multi_arg()).into_bytes()
            }
            (Val::Str(s), _) => s.unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn get_special(&self, s: Special) -> Vec<u8> {
        match s {
            Special::Dir => std::env::current_dir()
                .map(|p| p.into_os_string().into_encoded_bytes())
                .unwrap_or_default(),
            Special::Save => self.save.clone().into_bytes(),
            Special::ClientOutputBufferLimit => {
                let l = &self.client_output_buffer_limit;
                format!(
                    "normal {} {} {} slave {} {} {} pubsub {} {} {}",
                    l[0].hard_bytes,
                    l[0].soft_bytes,
                    l[0].soft_seconds,
                    l[1].hard_bytes,
                    l[1].soft_bytes,
                    l[1].soft_seconds,
                    l[2].hard_bytes,
                    l[2].soft_bytes,
                    l[2].soft_seconds
                )
                .into_bytes()
            }
            Special::OomScoreAdjValues => {
                let v = &self.oom_score_adj_values;
                format!("{} {} {}", v[0], v[1], v[2]).into_bytes()
            }
            Special::NotifyKeyspaceEvents => {
                notify::format(self.notify_keyspace_events).into_bytes()
            }
            Special::Bind => self.bind.join(" ").into_bytes(),
            Special::ReplicaOf => match &self.replicaof {
                Some((h, p)) => format!("{h} {p}").into_bytes(),
                None => Vec::new(),
            },
            Special::LatencyTrackingInfoPercentiles => self
                .latency_tracking_info_percentiles
                .iter()
                .map(|&v| fmt_percentile(v))
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes(),
        }
    }

    /// Sets a directive from its arguments (already split), validating as Redis does. Returns
    /// whether the value changed (Redis runs apply hooks only then). `save` decides whether
    /// save points replace or extend the current ones.
    pub fn set_directive(
        &mut self,
        d: &'static Directive,
        args: &[&[u8]],
        save: SaveMode,
    ) -> Result<bool, String> {
        let kind = d.kind;
        let volatile = d.flags & table::flags::VOLATILE != 0;
        let new = match kind {
            Kind::Special(s) => return self.set_special(s, args, save),
            Kind::Bool { check, .. } => {
                let a = args.first().copied().unwrap_or_default();
                let b = if a.eq_ignore_ascii_case(b"yes") {
                    true
                } else if a.eq_ignore_ascii_case(b"no") {
                    false
                } else {
                    return Err("argument must be 'yes' or 'no'".into());
                };
                if let Some(check) = check {
                    check(b)?;
                }
                Val::Bool(b)
            }
            Kind::Num { fmt, .. } => {
                let v = parse_num(fmt, args.first().copied().unwrap_or_default())?;
                check_bounds(&kind, v)?;
                Val::Num(v)
            }
            Kind::Enum { names, check, .. } => {
                let bitflags = d.multi_arg();
                let v = enum_parse(names, args, bitflags).ok_or_else(|| {
                    let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                    let mut msg = format!(
                        "argument(s) must be one of the following: {}",
                        list.join(", ")
                    );
                    // Redis builds the message in a 256-byte buffer.
                    msg.truncate(255);
                    msg
                })?;
                if let Some(check) = check {
                    check(v)?;
                }
                Val::Enum(v)
            }
            Kind::Str {
                empty_is_null,
                check,
                ..
            } => {
                let a = args.first().copied().unwrap_or_default();
                if let Some(check) = check {
                    check(a)?;
                }
                Val::Str(if empty_is_null && a.is_empty() {
                    None
                } else {
                    Some(a.to_vec())
                })
            }
        };
        let changed = self.read(d) != new;
        self.write(d, new);
        Ok(changed || volatile)
    }

    fn set_special(&mut self, s: Special, args: &[&[u8]], save: SaveMode) -> Result<bool, String> {
        match s {
            Special::Dir => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                let path = OsStr::from_bytes(args[0]);
                std::env::set_current_dir(path).map_err(|e| io_strerror(&e))?;
                self.dir = lossy(args[0]);
                Ok(true)
            }
            Special::Save => self.set_save(args, save),
            Special::ClientOutputBufferLimit => {
                const BAD: &str =
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
                if !args.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut limits = self.client_output_buffer_limit;
                for chunk in args.chunks(4) {
                    let class = chunk[0];
                    let idx = if class.eq_ignore_ascii_case(b"normal") {
                        OBUF_NORMAL
                    } else if class.eq_ignore_ascii_case(b"slave")
                        || class.eq_ignore_ascii_case(b"replica")
                    {
                        OBUF_REPLICA
                    } else if class.eq_ignore_ascii_case(b"pubsub") {
                        OBUF_PUBSUB
                    } else {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        );
                    };
                    let (Some(hard), Some(soft)) = (memtoull(chunk[1]), memtoull(chunk[2])) else {
                        return Err(BAD.into());
                    };
                    let (secs, _, all) = strtoll(chunk[3], 10);
                    // Redis keeps the seconds in an int.
                    let secs = secs as i32;
                    if secs < 0 || !all {
                        return Err(BAD.into());
                    }
                    limits[idx] = ObufLimit {
                        hard_bytes: hard,
                        soft_bytes: soft,
                        soft_seconds: secs as i64,
                    };
                }
                self.client_output_buffer_limit = limits;
                Ok(true)
            }
            Special::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err("wrong number of arguments".into());
                }
                let mut values = [0i32; 3];
                for (i, a) in args.iter().enumerate() {
                    let (v, _, all) = strtoll(a, 10);
                    if !all || !(-2000..=2000).contains(&v) {
                        return Err(
                            "Invalid oom-score-adj-values, elements must be between -2000 \
                                    and 2000."
                                .into(),
                        );
                    }
                    values[i] = v as i32;
                }
                if values[1] < values[0] || values[2] < values[1] {
                    tracing::warn!(
                        "The oom-score-adj-values configuration may not work for non-privileged \
                         processes! Please consult the documentation."
                    );
                }
                let changed = values != self.oom_score_adj_values;
                self.oom_score_adj_values = values;
                Ok(changed)
            }
            Special::NotifyKeyspaceEvents => {
                if args.len() != 1 {
                    return Err("wrong number of arguments".into());
                }
                let flags = notify::parse(args[0]).ok_or_else(|| {
                    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()
                })?;
                self.notify_keyspace_events = flags;
                Ok(true)
            }
            Special::Bind => {
                if args.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                let args = if args.len() == 1 && args[0].is_empty() {
                    &[][..]
                } else {
                    args
                };
                self.bind = args.iter().map(|a| lossy(a)).collect();
                Ok(true)
            }
            Special::ReplicaOf => {
                if args.len() != 2 {
                    return Err("wrong number of arguments".into());
                }
                self.replicaof = None;
                if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
                    return Ok(true);
                }
                let (port, _, all) = strtoll(args[1], 10);
                if !all || !(0..=65535).contains(&port) {
                    return Err("Invalid master port".into());
                }
                self.replicaof = Some((lossy(args[0]), port as u16));
                Ok(true)
            }
            Special::LatencyTrackingInfoPercentiles => {
                let args = if args.len() == 1 && args[0].is_empty() {
                    &[][..]
                } else {
                    args
                };
                let mut v = Vec::with_capacity(args.len());
                for a in args {
                    let Some(p) = crate::util::parse_f64_strict(a) else {
                        self.latency_tracking_info_percentiles.clear();
                        return Err("Invalid latency-tracking-info-percentiles parameters".into());
                    };
                    if !(0.0..=100.0).contains(&p) {
                        self.latency_tracking_info_percentiles.clear();
                        return Err("latency-tracking-info-percentiles parameters should sit \
                                    between [0.0,100.0]"
                            .into());
                    }
                    v.push(p);
                }
                self.latency_tracking_info_percentiles = v;
                Ok(true)
            }
        }
    }

    fn set_save(&mut self, args: &[&[u8]], mode: SaveMode) -> Result<bool, String> {
        let mut args = args;
        let mut mode = mode;
        // A single empty argument means "no save points".
        if args.len() == 1 && args[0].is_empty() {
            self.save.clear();
            args = &[];
            mode = SaveMode::Append;
        }
        if !args.len().is_multiple_of(2) {
            return Err("Invalid save parameters".into());
        }
        let mut points = Vec::with_capacity(args.len() / 2);
        for pair in args.chunks(2) {
            let (secs, _, all1) = strtoll(pair[0], 10);
            let (changes, _, all2) = strtoll(pair[1], 10);
            if !all1 || !all2 || secs < 1 || changes < 0 {
                return Err("Invalid save parameters".into());
            }
            // Redis keeps the change count in an int.
            points.push(format!("{} {}", secs, changes as i32));
        }
        if mode == SaveMode::Replace {
            self.save.clear();
        }
        for p in points {
            if !self.save.is_empty() {
                self.save.push(' ');
            }
            self.save.push_str(&p);
        }
        Ok(true)
    }

    /// Returns the save points as (seconds, changes) pairs.
    pub fn save_params(&self) -> Vec<(i64, i64)> {
        let nums: Vec<i64> = self
            .save
            .split(' ')
            .filter_map(|s| s.parse().ok())
            .collect();
        nums.chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0], c[1]))
            .collect()
    }

    /// True when `protected` actions (per `enable-*` value `setting`) are allowed for a client.
    pub fn protected_action_allowed(setting: &str, client_is_local: bool) -> bool {
        setting == "yes" || (setting == "local" && client_is_local)
    }
}

fn default_val(kind: &Kind) -> Val {
    match *kind {
        Kind::Bool { default, .. } => Val::Bool(default),
        Kind::Num { default, .. } => Val::Num(default),
        Kind::Enum { default, .. } => Val::Enum(default),
        Kind::Str { default, .. } => Val::Str(default.map(|s| s.as_bytes().to_vec())),
        Kind::Special(_) => Val::Str(None),
    }
}

/// Parses enum arguments (`configEnumGetValue`): one name, or with `bitflags` one or more names
/// whose values are OR-ed. `None` when a name is unknown or the count is wrong.
fn enum_parse(names: &[(&str, i32)], args: &[&[u8]], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut v = 0;
    for a in args {
        let a = std::str::from_utf8(a).ok()?;
        let mut matched = false;
        for &(n, val) in names {
            if n.eq_ignore_ascii_case(a) {
                v |= val;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(v)
}

// ---- loading config text ----

/// Every top-level command of Redis 7.0.15 (`COMMAND LIST`), so `rename-command` of one we
/// don't implement yet is accepted rather than refused as unknown.
pub const REDIS_COMMANDS: &[&str] = &[
    "acl",
    "append",
    "asking",
    "auth",
    "bgrewriteaof",
    "bgsave",
    "bitcount",
    "bitfield",
    "bitfield_ro",
    "bitop",
    "bitpos",
    "blmove",
    "blmpop",
    "blpop",
    "brpop",
    "brpoplpush",
    "bzmpop",
    "bzpopmax",
    "bzpopmin",
    "client",
    "cluster",
    "command",
    "config",
    "copy",
    "dbsize",
    "debug",
    "decr",
    "decrby",
    "del",
    "discard",
    "dump",
    "echo",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "exec",
    "exists",
    "expire",
    "expireat",
    "expiretime",
    "failover",
    "fcall",
    "fcall_ro",
    "flushall",
    "flushdb",
    "function",
    "geoadd",
    "geodist",
    "geohash",
    "geopos",
    "georadius",
    "georadius_ro",
    "georadiusbymember",
    "georadiusbymember_ro",
    "geosearch",
    "geosearchstore",
    "get",
    "getbit",
    "getdel",
    "getex",
    "getrange",
    "getset",
    "hdel",
    "hello",
    "hexists",
    "hget",
    "hgetall",
    "hincrby",
    "hincrbyfloat",
    "hkeys",
    "hlen",
    "hmget",
    "hmset",
    "hrandfield",
    "hscan",
    "hset",
    "hsetnx",
    "hstrlen",
    "hvals",
    "incr",
    "incrby",
    "incrbyfloat",
    "info",
    "keys",
    "lastsave",
    "latency",
    "lcs",
    "lindex",
    "linsert",
    "llen",
    "lmove",
    "lmpop",
    "lolwut",
    "lpop",
    "lpos",
    "lpush",
    "lpushx",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "memory",
    "mget",
    "migrate",
    "module",
    "monitor",
    "move",
    "mset",
    "msetnx",
    "multi",
    "object",
    "persist",
    "pexpire",
    "pexpireat",
    "pexpiretime",
    "pfadd",
    "pfcount",
    "pfdebug",
    "pfmerge",
    "pfselftest",
    "ping",
    "psetex",
    "psubscribe",
    "psync",
    "pttl",
    "publish",
    "pubsub",
    "punsubscribe",
    "quit",
    "randomkey",
    "readonly",
    "readwrite",
    "rename",
    "renamenx",
    "replconf",
    "replicaof",
    "reset",
    "restore",
    "restore-asking",
    "role",
    "rpop",
    "rpoplpush",
    "rpush",
    "rpushx",
    "sadd",
    "save",
    "scan",
    "scard",
    "script",
    "sdiff",
    "sdiffstore",
    "select",
    "set",
    "setbit",
    "setex",
    "setnx",
    "setrange",
    "shutdown",
    "sinter",
    "sintercard",
    "sinterstore",
    "sismember",
    "slaveof",
    "slowlog",
    "smembers",
    "smismember",
    "smove",
    "sort",
    "sort_ro",
    "spop",
    "spublish",
    "srandmember",
    "srem",
    "sscan",
    "ssubscribe",
    "strlen",
    "subscribe",
    "substr",
    "sunion",
    "sunionstore",
    "sunsubscribe",
    "swapdb",
    "sync",
    "time",
    "touch",
    "ttl",
    "type",
    "unlink",
    "unsubscribe",
    "unwatch",
    "wait",
    "watch",
    "xack",
    "xadd",
    "xautoclaim",
    "xclaim",
    "xdel",
    "xgroup",
    "xinfo",
    "xlen",
    "xpending",
    "xrange",
    "xread",
    "xreadgroup",
    "xrevrange",
    "xsetid",
    "xtrim",
    "zadd",
    "zcard",
    "zcount",
    "zdiff",
    "zdiffstore",
    "zincrby",
    "zinter",
    "zintercard",
    "zinterstore",
    "zlexcount",
    "zmpop",
    "zmscore",
    "zpopmax",
    "zpopmin",
    "zrandmember",
    "zrange",
    "zrangebylex",
    "zrangebyscore",
    "zrangestore",
    "zrank",
    "zrem",
    "zremrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zrevrange",
    "zrevrangebylex",
    "zrevrangebyscore",
    "zrevrank",
    "zscan",
    "zscore",
    "zunion",
    "zunionstore",
];

/// Deprecated directives Redis still accepts and ignores (with exactly one argument).
const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

/// What redis-server's arguments say: the config file, whether to read stdin, and the
/// `--name value` options turned into config text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub config_file: Option<Vec<u8>>,
    pub from_stdin: bool,
    pub options: Vec<u8>,
    /// No arguments at all: Redis then loads no config (and says so in the log).
    pub no_args: bool,
}

/// Splits redis-server's arguments (without the program name) as its `main()` does.
pub fn parse_command_line(args: &[Vec<u8>]) -> CommandLine {
    let mut cl = CommandLine {
        no_args: args.is_empty(),
        ..Default::default()
    };
    let mut start = 0;
    if let Some(first) = args.first()
        && first.first() != Some(&b'-')
    {
        cl.config_file = Some(first.clone());
        start = 1;
    }
    let (options, stdin) = build_options(args, start);
    cl.options = options;
    cl.from_stdin = stdin;
    cl
}

/// Turns arguments from index `start` into config text, one directive per line, following
/// redis-server: after an option name given alone, the next argument is always a value (even
/// one starting with `--`); a bare `--save` (followed by another option, or last) means
/// `save ""`; a lone `-` first or last means "read stdin"; values are quoted.
fn build_options(args: &[Vec<u8>], start: usize) -> (Vec<u8>, bool) {
    let mut options: Vec<u8> = Vec::new();
    let mut stdin = false;
    let mut handled_last = true;
    let last = args.len().saturating_sub(1);
    let is_opt = |a: &[u8]| a.len() >= 2 && a[0] == b'-' && a[1] == b'-';
    for j in start..args.len() {
        let a = &args[j];
        if a.as_slice() == b"-" && (j == 0 || j == last) {
            stdin = true;
        } else if handled_last && is_opt(a) {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&a[2..]);
            options.push(b' ');
            let tokens = split_args(a).map(|t| t.len()).unwrap_or(0);
            if tokens == 1 {
                // Only a name: the next argument is its value, whatever it looks like.
                handled_last = false;
                let next_is_opt = j != last && is_opt(&args[j + 1]);
                if a.eq_ignore_ascii_case(b"--save") && (next_is_opt || j == last) {
                    options.extend_from_slice(b"\"\"");
                    handled_last = true;
                } else if a.eq_ignore_ascii_case(b"--sentinel") && next_is_opt {
                    handled_last = true;
                }
            } else {
                // Name and value in one argument (`"--port 6380"`).
                handled_last = true;
            }
        } else {
            options.extend_from_slice(&repr(a));
            options.push(b' ');
            handled_last = true;
        }
    }
    (options, stdin)
}

/// Turns `--name value ...` arguments into config text, as redis-server does (see
/// [`parse_command_line`]).
pub fn options_to_text(args: &[String]) -> String {
    let args: Vec<Vec<u8>> = args.iter().map(|s| s.as_bytes().to_vec()).collect();
    let (mut text, _) = build_options(&args, 0);
    text.push(b'\n');
    lossy(&text)
}

fn trim_line(line: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|c| !is_ws(c)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|c| !is_ws(c))
        .map_or(start, |e| e + 1);
    &line[start..end]
}

/// Expands a glob pattern (`include /etc/redis/conf.d/*.conf`) into matching paths, sorted.
fn glob_paths(pattern: &[u8]) -> Vec<Vec<u8>> {
    let Ok(c) = std::ffi::CString::new(pattern) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // SAFETY: glob(3) fills `g` (zeroed as it expects); we read gl_pathc entries of gl_pathv,
    // each a NUL-terminated string owned by `g`, then release it with globfree.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(c.as_ptr(), 0, None, &mut g) == 0 {
            for i in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(i);
                if !p.is_null() {
                    out.push(std::ffi::CStr::from_ptr(p).to_bytes().to_vec());
                }
            }
        }
        libc::globfree(&mut g);
    }
    out
}

fn read_config_file(path: &[u8]) -> Result<Vec<u8>, ConfigError> {
    let os = OsStr::from_bytes(path);
    std::fs::read(os).map_err(|e| {
        ConfigError::Log(format!(
            "Fatal error, can't open config file '{}': {}",
            lossy(path),
            io_strerror(&e)
        ))
    })
}

/// Why a config line failed: a message about this line, or an error in an included file.
enum LineError {
    Msg(String),
    Nested(ConfigError),
}

impl From<String> for LineError {
    fn from(s: String) -> Self {
        LineError::Msg(s)
    }
}

impl From<&str> for LineError {
    fn from(s: &str) -> Self {
        LineError::Msg(s.to_string())
    }
}

/// Reads config text into a [`Config`], line by line, as `loadServerConfigFromString`.
struct Loader<'a> {
    cfg: &'a mut Config,
    /// Redis's `reading_config_file`; note it is cleared at the end of an included file.
    reading_file: bool,
    /// Whether a `save` line was already seen (the first one replaces the defaults).
    save_loaded: bool,
    /// Command names as renamed so far (ours and Redis's), to check `rename-command` (None:
    /// not checked).
    commands: Option<HashSet<Vec<u8>>>,
    /// The commands we implement.
    implemented: HashSet<Vec<u8>>,
    /// Include depth, against include loops.
    depth: usize,
}

impl Loader<'_> {
    fn warn(&mut self, msg: String) {
        self.cfg.warnings.push(msg);
    }

    /// Loads a file (or every file matching a glob, alphabetically), like `loadServerConfig`.
    fn load_path(&mut self, path: &[u8]) -> Result<(), ConfigError> {
        let text = if path.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            let mut text = Vec::new();
            for p in glob_paths(path) {
                text.extend_from_slice(&read_config_file(&p)?);
            }
            text
        } else {
            read_config_file(path)?
        };
        self.load_string(&text)
    }

    fn load_string(&mut self, text: &[u8]) -> Result<(), ConfigError> {
        self.reading_file = true;
        for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
            let line = trim_line(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let line_no = i + 1;
            let Some(argv) = split_args(line) else {
                return Err(ConfigError::at(
                    line_no,
                    line,
                    "Unbalanced quotes in configuration line",
                ));
            };
            if argv.is_empty() {
                continue;
            }
            match self.line(&argv) {
                Ok(()) => {}
                Err(LineError::Msg(msg)) => return Err(ConfigError::at(line_no, line, msg)),
                Err(LineError::Nested(e)) => return Err(e),
            }
        }
        self.finish()?;
        self.reading_file = false;
        Ok(())
    }

    /// Applies one line's arguments.
    fn line(&mut self, argv: &[Vec<u8>]) -> Result<(), LineError> {
        let name = argv[0].to_ascii_lowercase();
        if let Some((d, _)) = table::lookup(&name) {
            if !d.multi_arg() && argv.len() != 2 {
                return Err("wrong number of arguments".into());
            }
            // `--save "3600 1 300 100"` arrives as one argument: split it again.
            let resplit;
            let args: Vec<&[u8]> = if d.multi_arg() && argv.len() == 2 && !argv[1].is_empty() {
                resplit = split_args(&argv[1]).unwrap_or_default();
                resplit.iter().map(|a| a.as_slice()).collect()
            } else {
                argv[1..].iter().map(|a| a.as_slice()).collect()
            };
            let mode = if matches!(d.kind, Kind::Special(Special::Save))
                && self.reading_file
                && self.save_loaded
            {
                SaveMode::Append
            } else {
                SaveMode::Replace
            };
            self.cfg.set_directive(d, &args, mode)?;
            if matches!(d.kind, Kind::Special(Special::Save)) && self.reading_file {
                self.save_loaded = true;
            }
            if let Some(w) = stored_only_warning(self.cfg, d) {
                self.warn(w);
            }
            return Ok(());
        }
        if DEPRECATED.iter().any(|n| n.as_bytes() == name.as_slice()) && argv.len() == 2 {
            return Ok(());
        }
        match name.as_slice() {
            b"include" if argv.len() == 2 => {
                if self.depth >= 32 {
                    return Err("Too many nested includes".into());
                }
                self.depth += 1;
                let r = self.load_path(&argv[1]);
                self.depth -= 1;
                // An error in the included file is reported with its own line. A nested load
                // ends with `reading_file` cleared, as in Redis.
                r.map_err(LineError::Nested)?;
            }
            b"rename-command" if argv.len() == 3 => {
                let from = argv[1].to_ascii_lowercase();
                let to = argv[2].to_ascii_lowercase();
                if let Some(cmds) = &mut self.commands {
                    if !cmds.remove(&from) {
                        return Err("No such command in rename-command".into());
                    }
                    if !to.is_empty() && !cmds.insert(to.clone()) {
                        return Err("Target command name already exists".into());
                    }
                    if !self.implemented.contains(&from) {
                        self.cfg.warnings.push(format!(
                            "rename-command: '{}' is not implemented yet by rusty-redis-server",
                            lossy(&from)
                        ));
                    }
                }
                self.cfg.renames.push((lossy(&from), lossy(&to)));
            }
            b"user" if argv.len() >= 2 => {
                self.cfg.users.push(argv[1..].to_vec());
                if self.cfg.users.len() == 1 {
                    self.warn(
                        "Config directive 'user' is not supported yet by rusty-redis-server: ACL \
                         users are stored only and NOT enforced; use requirepass"
                            .into(),
                    );
                }
            }
            b"loadmodule" if argv.len() >= 2 => {
                self.warn(format!(
                    "Modules are not supported by rusty-redis-server: 'loadmodule {}' ignored",
                    lossy(&argv[1])
                ));
            }
            n if n.contains(&b'.') => {
                if argv.len() < 2 {
                    return Err("Module config specified without value".into());
                }
                self.warn(format!(
                    "Modules are not supported by rusty-redis-server: module config '{}' ignored",
                    lossy(&argv[0])
                ));
            }
            b"sentinel" => {
                if argv.len() != 1 {
                    return Err("sentinel directive while not in sentinel mode".into());
                }
            }
            _ => return Err("Bad directive or wrong number of arguments".into()),
        }
        Ok(())
    }

    /// The checks Redis runs after each piece of config text.
    fn finish(&mut self) -> Result<(), ConfigError> {
        if !self.cfg.logfile.is_empty() {
            // Fail now if the log file can't be opened: later the server couldn't say why.
            if let Err(e) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.cfg.logfile)
            {
                return Err(ConfigError::Fatal {
                    line: None,
                    msg: format!("Can't open the log file: {}", io_strerror(&e)),
                });
            }
        }
        let cluster = table::lookup(b"cluster-enabled").map(|(d, _)| self.cfg.read(d));
        if cluster == Some(Val::Bool(true)) && self.cfg.replicaof.is_some() {
            return Err(ConfigError::Fatal {
                line: None,
                msg: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        // hz is a hint: out-of-range values are accepted and clamped.
        self.cfg.hz = self.cfg.hz.clamp(1, 500);
        Ok(())
    }
}

impl Config {
    /// Builds the config from redis-server's command line (without the program name), reading
    /// the config file and stdin as it says. `commands`, when given, are the command names
    /// `rename-command` may rename.
    pub fn load(cl: &CommandLine, commands: Option<&[&str]>) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        if cl.no_args {
            return Ok(cfg);
        }
        let mut text = Vec::new();
        if let Some(file) = &cl.config_file {
            let abs = std::path::absolute(OsStr::from_bytes(file))
                .map(|p| p.into_os_string().into_encoded_bytes())
                .unwrap_or_else(|_| file.clone());
            cfg.config_file = Some(lossy(&abs));
            // The file itself may be a glob, like an include.
            if abs.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                for p in glob_paths(&abs) {
                    text.extend_from_slice(&read_config_file(&p)?);
                }
            } else {
                text.extend_from_slice(&read_config_file(&abs)?);
            }
        }
        if cl.from_stdin {
            tracing::warn!("Reading config from stdin");
            let mut s = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut s);
            text.extend_from_slice(&s);
        }
        text.push(b'\n');
        text.extend_from_slice(&cl.options);
        cfg.load_text_with(&text, commands)?;
        Ok(cfg)
    }

    /// Builds the config from redis-server's command line given as strings.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let args: Vec<Vec<u8>> = args.iter().map(|s| s.as_bytes().to_vec()).collect();
        Config::load(&parse_command_line(&args), None)
    }

    /// Applies config text, line by line, as a config file.
    pub fn load_text(&mut self, text: &str) -> Result<(), ConfigError> {
        self.load_text_with(text.as_bytes(), None)
    }

    fn load_text_with(
        &mut self,
        text: &[u8],
        commands: Option<&[&str]>,
    ) -> Result<(), ConfigError> {
        let lower = |n: &&str| n.as_bytes().to_ascii_lowercase();
        let implemented: HashSet<Vec<u8>> = commands
            .map(|c| c.iter().map(lower).collect())
            .unwrap_or_default();
        let commands = commands.map(|_| {
            let mut all: HashSet<Vec<u8>> = REDIS_COMMANDS.iter().map(lower).collect();
            all.extend(implemented.iter().cloned());
            all
        });
        let mut loader = Loader {
            cfg: self,
            reading_file: false,
            save_loaded: false,
            commands,
            implemented,
            depth: 0,
        };
        loader.load_string(text)
    }

    /// Sets a directive by name from a CONFIG SET value (one string; multi-argument directives
    /// split it on spaces), outside any config file.
    pub fn set_by_name(&mut self, name: &[u8], value: &[u8]) -> Result<bool, String> {
        let (d, _) =
            table::lookup(name).ok_or_else(|| format!("Unknown option '{}'", lossy(name)))?;
        self.set_value(d, value)
    }

    /// Sets a directive from a CONFIG SET value: multi-argument directives split it on single
    /// spaces (Redis's `sdssplitlen`, so two spaces make an empty argument).
    pub fn set_value(&mut self, d: &'static Directive, value: &[u8]) -> Result<bool, String> {
        let args: Vec<&[u8]> = if d.multi_arg() {
            if value.is_empty() {
                Vec::new()
            } else {
                value.split(|&c| c == b' ').collect()
            }
        } else {
            vec![value]
        };
        self.set_directive(d, &args, SaveMode::Replace)
    }

    /// Sets one directive from its arguments, as a config file line `name args...` would
    /// (outside a file: `save` replaces the save points).
    pub fn set(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let mut line = vec![name.as_bytes().to_vec()];
        line.extend(args.iter().map(|a| a.as_bytes().to_vec()));
        let mut loader = Loader {
            cfg: self,
            reading_file: false,
            save_loaded: false,
            commands: None,
            implemented: HashSet::new(),
            depth: 0,
        };
        loader.line(&line).map_err(|e| match e {
            LineError::Msg(m) => m,
            LineError::Nested(e) => e.message().to_string(),
        })?;
        self.hz = self.hz.clamp(1, 500);
        Ok(())
    }

    /// Returns the "stored only" warning to log after CONFIG SET of `d`, the first time.
    pub fn unsupported_warning(&self, d: &'static Directive) -> Option<String> {
        stored_only_warning(self, d)
    }

    /// Returns the value of a directive by name as CONFIG GET shows it.
    pub fn get_by_name(&self, name: &[u8]) -> Option<Vec<u8>> {
        table::lookup(name).map(|(d, _)| self.get(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn get(c: &Config, name: &str) -> String {
        lossy(&c.get_by_name(name.as_bytes()).unwrap())
    }

    fn fatal_msg(e: &ConfigError) -> (Option<String>, String) {
        match e {
            ConfigError::Fatal { line, msg } => (line.as_ref().map(|(_, l)| lossy(l)), msg.clone()),
            ConfigError::Log(m) => (None, m.clone()),
        }
    }

    #[test]
    fn command_line_options() {
        let c = Config::from_args(&args(&[
            "--port",
            "6380",
            "--save",
            "",
            "--loglevel",
            "verbose",
        ]))
        .unwrap();
        assert_eq!(c.port, 6380);
        assert_eq!(c.save, "");
        assert_eq!(c.loglevel, "verbose");
        let c = Config::from_args(&args(&["--save", "--port", "1"])).unwrap();
        assert_eq!(c.save, "");
        assert_eq!(c.port, 1);
        let c = Config::from_args(&args(&["--port", "7", "--save"])).unwrap();
        assert_eq!(c.save, "");
        let c = Config::from_args(&args(&["--proc-title-template", "--my--title"])).unwrap();
        assert_eq!(get(&c, "proc-title-template"), "--my--title");
        let c = Config::from_args(&args(&["--save", "3600 1 300 100"])).unwrap();
        assert_eq!(c.save, "3600 1 300 100");
        // Name and value in one argument, then another option.
        let c = Config::from_args(&args(&[
            "--maxmemory 700mb",
            "--maxmemory-policy volatile-lru",
        ]))
        .unwrap();
        assert_eq!(c.maxmemory, 700 << 20);
        assert_eq!(c.maxmemory_policy, "volatile-lru");
        let c = Config::from_args(&args(&[
            "--proc-title-template",
            "--save",
            "--save",
            "",
            "--loglevel",
            "verbose",
        ]))
        .unwrap();
        assert_eq!(get(&c, "proc-title-template"), "--save");
        assert_eq!(c.save, "");
        let c =
            Config::from_args(&args(&["--shutdown-on-sigint", "nosave", "force", "now"])).unwrap();
        assert_eq!(get(&c, "shutdown-on-sigint"), "nosave now force");
    }

    #[test]
    fn options_text_quotes_values() {
        assert_eq!(
            options_to_text(&args(&["--port", "6379", "6380"])),
            "port \"6379\" \"6380\" \n"
        );
        assert_eq!(options_to_text(&args(&["--save"])), "save \"\"\n");
        assert_eq!(
            options_to_text(&args(&["--x", "a\"b\\\n\x07"])),
            "x \"a\\\"b\\\\\\n\\a\" \n"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&[&str], &str, &str)] = &[
            (&["--port"], "port", "wrong number of arguments"),
            (
                &["--port", "6380", "--loglevel"],
                "loglevel",
                "wrong number of arguments",
            ),
            (
                &["--port", "6379", "6380"],
                "port \"6379\" \"6380\"",
                "wrong number of arguments",
            ),
            (
                &["--port", "--loglevel", "verbose"],
                "port \"--loglevel\" \"verbose\"",
                "wrong number of arguments",
            ),
            (
                &["--port", "--bla", "--loglevel", "verbose"],
                "port \"--bla\"",
                "argument couldn't be parsed into an integer",
            ),
            (
                &["--maxclients", "abc"],
                "maxclients \"abc\"",
                "argument couldn't be parsed into an integer",
            ),
            (
                &["--shutdown-on-sigint"],
                "shutdown-on-sigint",
                "argument(s) must be one of the following: default, save, nosave, now, force",
            ),
            (
                &["--replicaof", "127.0.0.1", "abc"],
                "replicaof \"127.0.0.1\" \"abc\"",
                "Invalid master port",
            ),
            (
                &["--replicaof", "--127.0.0.1", "--abc"],
                "replicaof \"--127.0.0.1\"",
                "wrong number of arguments",
            ),
            (
                &["--nosuch", "1"],
                "nosuch \"1\"",
                "Bad directive or wrong number of arguments",
            ),
            (
                &["--maxmemory", "1xb"],
                "maxmemory \"1xb\"",
                "argument must be a memory value",
            ),
        ];
        for (a, line, msg) in cases {
            let e = Config::from_args(&args(a)).unwrap_err();
            assert_eq!(
                fatal_msg(&e),
                (Some(line.to_string()), msg.to_string()),
                "{a:?}"
            );
        }
        let e = Config::from_args(&args(&[
            "--logfile",
            "--my--log--file",
            "--loglevel",
            "--bla",
        ]))
        .unwrap_err();
        assert_eq!(fatal_msg(&e).0.as_deref(), Some("loglevel \"--bla\""));
        assert!(
            fatal_msg(&e)
                .1
                .starts_with("argument(s) must be one of the following")
        );
        let _ = std::fs::remove_file("--my--log--file");
        let report =
            String::from_utf8(ConfigError::at(2, b"port", "wrong number of arguments").report())
                .unwrap();
        assert_eq!(
            report,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at \
             line 2\n>>> 'port'\nwrong number of arguments\n"
        );
    }

    #[test]
    fn save_accumulates_in_files_and_resets() {
        let mut c = Config::default();
        c.load_text("save 900 1\n").unwrap();
        assert_eq!(c.save, "900 1");
        // A later file line accumulates; an empty one resets.
        let mut c = Config::default();
        c.load_text("save 900 1\nsave 100 100\n").unwrap();
        assert_eq!(c.save, "900 1 100 100");
        let mut c = Config::default();
        c.load_text("save 900 1\nsave \"\"\n").unwrap();
        assert_eq!(c.save, "");
        let mut c = Config::default();
        c.load_text("port 1\n").unwrap();
        assert_eq!(c.save, "3600 1 300 100 60 10000");
        assert_eq!(c.save_params(), vec![(3600, 1), (300, 100), (60, 10000)]);
        // CONFIG SET replaces.
        c.set_by_name(b"save", b"3000 5").unwrap();
        assert_eq!(c.save, "3000 5");
        assert_eq!(
            c.set_by_name(b"save", b"100 10  5 5").unwrap_err(),
            "Invalid save parameters"
        );
        assert_eq!(
            c.set_by_name(b"save", b"100").unwrap_err(),
            "Invalid save parameters"
        );
        assert_eq!(
            c.set_by_name(b"save", b"0 1").unwrap_err(),
            "Invalid save parameters"
        );
        c.set_by_name(b"save", b"+100 10").unwrap();
        assert_eq!(c.save, "100 10");
        c.set_by_name(b"save", b"").unwrap();
        assert_eq!(c.save, "");
    }

    #[test]
    fn numbers_memory_and_bounds() {
        let mut c = Config::default();
        c.set_by_name(b"maxmemory", b"1GB").unwrap();
        assert_eq!(c.maxmemory, 1 << 30);
        assert_eq!(get(&c, "maxmemory"), "1073741824");
        c.set_by_name(b"maxmemory", b"").unwrap();
        assert_eq!(c.maxmemory, 0);
        c.set_by_name(b"maxmemory", b"99999999999999999999")
            .unwrap();
        assert_eq!(get(&c, "maxmemory"), "18446744073709551615");
        assert_eq!(
            c.set_by_name(b"maxmemory", b"abc").unwrap_err(),
            "argument must be a memory value"
        );
        assert_eq!(
            c.set_by_name(b"maxclients", b"0").unwrap_err(),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            c.set_by_name(b"maxclients", b"-1").unwrap_err(),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            c.set_by_name(b"timeout", b"-1").unwrap_err(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            c.set_by_name(b"timeout", b"01").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            c.set_by_name(b"hash-max-listpack-entries", b"-1")
                .unwrap_err(),
            "argument must be between 0 and 9223372036854775807 inclusive"
        );
        c.set_by_name(b"maxmemory-clients", b"5%").unwrap();
        assert_eq!(c.maxmemory_clients, -5);
        assert_eq!(get(&c, "maxmemory-clients"), "5%");
        assert_eq!(
            c.set_by_name(b"maxmemory-clients", b"200%").unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        assert_eq!(
            c.set_by_name(b"maxmemory-clients", b"-5").unwrap_err(),
            "argument must be a memory or percent value"
        );
        // Unchanged values report no change (apply hooks don't run).
        assert!(!c.set_by_name(b"port", b"6379").unwrap());
        assert!(c.set_by_name(b"port", b"6380").unwrap());
        // Octal.
        let mut c = Config::default();
        c.load_text("unixsocketperm 700\n").unwrap();
        assert_eq!(c.unixsocketperm, 0o700);
        assert_eq!(get(&c, "unixsocketperm"), "700");
        let e = Config::default()
            .load_text("unixsocketperm 1777\n")
            .unwrap_err();
        assert_eq!(e.message(), "argument must be between 0 and 777 inclusive");
        let e = Config::default()
            .load_text("unixsocketperm 8\n")
            .unwrap_err();
        assert_eq!(
            e.message(),
            "argument couldn't be parsed as an octal number"
        );
    }

    #[test]
    fn set_by_line() {
        let mut c = Config::default();
        c.set("port", &["7001".into()]).unwrap();
        assert_eq!(c.port, 7001);
        c.set("save", &["10 1".into()]).unwrap();
        c.set("save", &["20".into(), "2".into()]).unwrap();
        assert_eq!(c.save, "20 2");
        assert_eq!(c.set("port", &[]).unwrap_err(), "wrong number of arguments");
        assert_eq!(
            c.set("nosuch", &["1".into()]).unwrap_err(),
            "Bad directive or wrong number of arguments"
        );
    }

    #[test]
    fn hz_is_clamped() {
        let mut c = Config::default();
        c.load_text("hz 0\n").unwrap();
        assert_eq!(c.hz, 1);
        c.load_text("hz 100000\n").unwrap();
        assert_eq!(c.hz, 500);
    }

    #[test]
    fn booleans_enums_strings() {
        let mut c = Config::default();
        c.load_text("daemonize YES\nloglevel WARNING\nrequirepass \"a\\x00b\"\npidfile \"\"\n")
            .unwrap();
        assert!(c.daemonize);
        assert_eq!(c.loglevel, "warning");
        assert_eq!(c.requirepass.as_deref(), Some(&b"a\x00b"[..]));
        assert_eq!(c.pidfile, "");
        assert_eq!(
            c.set_by_name(b"protected-mode", b"maybe").unwrap_err(),
            "argument must be 'yes' or 'no'"
        );
        assert_eq!(
            c.set_by_name(b"loglevel", b"nothing").unwrap_err(),
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        );
        c.set_by_name(b"oom-score-adj", b"relative").unwrap();
        assert_eq!(get(&c, "oom-score-adj"), "yes");
        assert_eq!(
            c.set_by_name(b"shutdown-on-sigint", b"save nosave")
                .unwrap_err(),
            "shutdown options SAVE and NOSAVE can't be used simultaneously"
        );
        c.set_by_name(b"shutdown-on-sigterm", b"nosave now")
            .unwrap();
        assert_eq!(
            c.shutdown_on_sigterm,
            table::SHUTDOWN_NOSAVE | table::SHUTDOWN_NOW
        );
        c.set_by_name(b"requirepass", b"").unwrap();
        assert_eq!(c.requirepass, None);
        assert_eq!(
            c.set_by_name(b"dbfilename", b"a/b").unwrap_err(),
            "dbfilename can't be a path, just a filename"
        );
        c.set_by_name(b"dbfilename", b"x.rdb").unwrap();
        assert_eq!(get(&c, "dbfilename"), "x.rdb");
        assert!(
            c.set_by_name(b"activedefrag", b"yes")
                .unwrap_err()
                .starts_with("Active defrag")
        );
        c.set_by_name(b"activedefrag", b"no").unwrap();
    }

    #[test]
    fn aliases_share_the_value() {
        let mut c = Config::default();
        c.load_text("hash-max-listpack-entries 20\nhash-max-ziplist-entries 21\n")
            .unwrap();
        assert_eq!(c.hash_max_listpack_entries, 21);
        assert_eq!(get(&c, "hash-max-ziplist-entries"), "21");
        c.load_text("slaveof 127.0.0.1 6380\n").unwrap();
        assert_eq!(get(&c, "replicaof"), "127.0.0.1 6380");
        c.load_text("lua-time-limit 100\n").unwrap();
        assert_eq!(c.busy_reply_threshold, 100);
    }

    #[test]
    fn specials() {
        let mut c = Config::default();
        assert_eq!(
            get(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        c.set_by_name(b"client-output-buffer-limit", b"replica 1mb 2 3")
            .unwrap();
        assert_eq!(
            get(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 1048576 2 3 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            c.set_by_name(b"client-output-buffer-limit", b"normal 1 2")
                .unwrap_err(),
            "Wrong number of arguments in buffer limit configuration."
        );
        assert_eq!(
            c.set_by_name(b"client-output-buffer-limit", b"master 1 2 3")
                .unwrap_err(),
            "Invalid client class specified in buffer limit configuration."
        );
        assert_eq!(
            c.set_by_name(b"client-output-buffer-limit", b"normal 1 2 -3")
                .unwrap_err(),
            "Error in hard, soft or soft_seconds setting in buffer limit configuration."
        );
        c.set_by_name(b"notify-keyspace-events", b"KEA").unwrap();
        assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
        assert_eq!(
            c.notify_keyspace_events,
            notify::ALL | notify::KEYSPACE | notify::KEYEVENT
        );
        c.set_by_name(b"notify-keyspace-events", b"Ex$m").unwrap();
        assert_eq!(get(&c, "notify-keyspace-events"), "$xEm");
        assert!(c.set_by_name(b"notify-keyspace-events", b"x y").is_err());
        c.set_by_name(b"latency-tracking-info-percentiles", b"50 99.99 0.5")
            .unwrap();
        assert_eq!(get(&c, "latency-tracking-info-percentiles"), "50 99.99 0.5");
        assert!(
            c.set_by_name(b"latency-tracking-info-percentiles", b"101")
                .is_err()
        );
        assert_eq!(
            c.set_by_name(b"bind", b"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17")
                .unwrap_err(),
            "Too many bind addresses specified."
        );
        c.set_by_name(b"bind", b"127.0.0.1 -::1").unwrap();
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
        assert_eq!(
            c.set_by_name(b"oom-score-adj-values", b"1 2").unwrap_err(),
            "wrong number of arguments"
        );
        assert!(c.set_by_name(b"oom-score-adj-values", b"1 2 3000").is_err());
        c.set_by_name(b"oom-score-adj-values", b"1 1 1").unwrap();
        assert_eq!(get(&c, "oom-score-adj-values"), "1 1 1");
        c.set_by_name(b"slaveof", b"no one").unwrap();
        assert_eq!(c.replicaof, None);
    }

    #[test]
    fn config_file_rules() {
        let mut c = Config::default();
        c.load_text("# comment\n\n   \t port 7000  \r\nlist-max-ziplist-entries 5\n")
            .unwrap();
        assert_eq!(c.port, 7000);
        let e = Config::default()
            .load_text("port 1\nport \"unbalanced\n")
            .unwrap_err();
        assert_eq!(
            e,
            ConfigError::Fatal {
                line: Some((2, b"port \"unbalanced".to_vec())),
                msg: "Unbalanced quotes in configuration line".into()
            }
        );
        let e = Config::default()
            .load_text("list-max-ziplist-entries 5 6\n")
            .unwrap_err();
        assert_eq!(e.message(), "Bad directive or wrong number of arguments");
        let e = Config::default()
            .load_text("sentinel monitor x\n")
            .unwrap_err();
        assert_eq!(e.message(), "sentinel directive while not in sentinel mode");
        let mut c = Config::default();
        c.load_text("rename-command flushdb badger\nrename-command config \"\"\n")
            .unwrap();
        assert_eq!(
            c.renames,
            vec![
                ("flushdb".into(), "badger".into()),
                ("config".into(), "".into())
            ]
        );
        let mut c = Config::default();
        let e = c
            .load_text_with(b"rename-command nosuch x\n", Some(&["get", "set"]))
            .unwrap_err();
        assert_eq!(e.message(), "No such command in rename-command");
        let e = c
            .load_text_with(b"rename-command get set\n", Some(&["get", "set"]))
            .unwrap_err();
        assert_eq!(e.message(), "Target command name already exists");
        // A Redis command we don't implement yet can be renamed, with a warning.
        let mut c = Config::default();
        c.load_text_with(b"rename-command FLUSHALL \"\"\n", Some(&["get"]))
            .unwrap();
        assert_eq!(c.renames, vec![("flushall".into(), "".into())]);
        assert_eq!(c.warnings.len(), 1);
        let mut c = Config::default();
        c.load_text("user alice on >pw ~* +@all\nfoo.bar 1\nloadmodule /x.so\n")
            .unwrap();
        assert_eq!(c.users.len(), 1);
        assert_eq!(c.warnings.len(), 3);
        let e = Config::default().load_text("foo.bar\n").unwrap_err();
        assert_eq!(e.message(), "Module config specified without value");
    }

    #[test]
    fn includes_with_globs() {
        let dir = std::env::temp_dir().join(format!("rrs-cfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        std::fs::write(dir.join("conf.d/b.conf"), "port 2\nsave 10 10\n").unwrap();
        std::fs::write(dir.join("conf.d/a.conf"), "port 1\ntimeout 5\n").unwrap();
        std::fs::write(
            dir.join("main.conf"),
            format!(
                "include {}/conf.d/*.conf\ninclude {}/empty/*.conf\nmaxclients 7\n",
                dir.display(),
                dir.display()
            ),
        )
        .unwrap();
        let c = Config::from_args(&[dir.join("main.conf").display().to_string()]).unwrap();
        // Alphabetical: b.conf comes last and wins.
        assert_eq!(c.port, 2);
        assert_eq!(c.timeout, 5);
        assert_eq!(c.maxclients, 7);
        assert_eq!(c.save, "10 10");
        assert_eq!(
            c.config_file.as_deref(),
            Some(dir.join("main.conf").to_str().unwrap())
        );
        // A plain missing include is fatal.
        std::fs::write(dir.join("bad.conf"), "include /nonexistent/x.conf\n").unwrap();
        let e = Config::from_args(&[dir.join("bad.conf").display().to_string()]).unwrap_err();
        assert!(
            e.message()
                .contains("can't open config file '/nonexistent/x.conf'")
        );
        let e = Config::from_args(&[dir.join("missing.conf").display().to_string()]).unwrap_err();
        assert!(matches!(e, ConfigError::Log(_)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn memtoull_matches_redis() {
        assert_eq!(memtoull(b"1mb"), Some(1 << 20));
        assert_eq!(memtoull(b"1K"), Some(1000));
        assert_eq!(memtoull(b"100"), Some(100));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"abc"), None);
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"+1"), None);
        assert_eq!(memtoull(b" 1"), None);
    }

    #[test]
    fn strtoll_like_c() {
        assert_eq!(strtoll(b"", 10), (0, false, true));
        assert_eq!(strtoll(b" 12", 10), (12, false, true));
        assert_eq!(strtoll(b"+5", 10), (5, false, true));
        assert_eq!(strtoll(b"5x", 10), (5, false, false));
        assert_eq!(strtoll(b"x", 10), (0, false, false));
        assert_eq!(strtoll(b"99999999999999999999", 10), (i64::MAX, true, true));
        assert_eq!(strtoll(b"777", 8), (0o777, false, true));
    }
    #[test]
    fn example_config_documents_every_directive() {
        let text = include_str!("../../redis.conf.example");
        // It loads (its only path, `dir ./`, leaves the working directory as it is).
        let mut c = Config::default();
        c.load_text(text).unwrap();
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
        // Every directive has a line, active or commented out.
        let names: Vec<(&str, usize)> = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| {
                let l = l.strip_prefix("# ").unwrap_or(l);
                let name = l.split(' ').next()?;
                table::lookup(name.as_bytes()).map(|(d, _)| (d.name, i))
            })
            .collect();
        for d in table::DIRECTIVES {
            assert!(
                names.iter().any(|(n, _)| *n == d.name),
                "{} is not documented",
                d.name
            );
        }
        // The last section lists exactly the directives stored only.
        let start = text
            .lines()
            .position(|l| l.contains("ACCEPTED, NOT IMPLEMENTED YET"))
            .unwrap();
        let mut listed: Vec<&str> = names
            .iter()
            .filter(|(_, i)| *i > start)
            .map(|(n, _)| *n)
            .collect();
        listed.sort();
        listed.dedup();
        let mut stored: Vec<&str> = table::DIRECTIVES
            .iter()
            .filter(|d| !d.honoured())
            .map(|d| d.name)
            .collect();
        stored.sort();
        assert_eq!(listed, stored);
    }
}
