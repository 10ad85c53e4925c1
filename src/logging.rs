//! Logging in Redis's format, through `tracing`:
//!
//! ```text
//! 10360:M 21 Nov 2026 04:57:33.152 * Ready to accept connections
//! ```
//!
//! Levels map as `warn!` = `#` warning, `info!` = `*` notice, `debug!` = `-` verbose,
//! `trace!` = `.` debug. `loglevel` and `logfile` can change at run time. Like Redis, the log
//! file is opened and closed for every line, so logrotate needs no signal. With
//! `syslog-enabled yes` every message also goes to syslog (`syslog-ident`, `syslog-facility`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use parking_lot::RwLock;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Verbosity: 0 debug, 1 verbose, 2 notice, 3 warning, 4 nothing.
static LEVEL: AtomicU8 = AtomicU8::new(2);
/// Role letter: `C` while starting, `M` once serving.
static ROLE: AtomicU8 = AtomicU8::new(b'C');
static LOGFILE: RwLock<String> = RwLock::new(String::new());
/// True once `openlog` was called for `syslog-enabled yes`.
static SYSLOG: AtomicBool = AtomicBool::new(false);

/// Returns the verbosity number of a `loglevel` name.
pub fn level_number(name: &str) -> u8 {
    match name {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        "warning" => 3,
        _ => 4,
    }
}

/// Applies `loglevel`.
pub fn set_level(name: &str) {
    LEVEL.store(level_number(name), Ordering::Relaxed);
}

/// Returns `loglevel` and `logfile` as they apply now (a save child is started with them).
pub fn settings() -> (&'static str, String) {
    let level = match LEVEL.load(Ordering::Relaxed) {
        0 => "debug",
        1 => "verbose",
        2 => "notice",
        3 => "warning",
        _ => "nothing",
    };
    (level, LOGFILE.read().clone())
}

/// Applies `logfile` (empty for standard output).
pub fn set_file(path: &str) {
    *LOGFILE.write() = path.to_string();
}

/// Sends every later message to syslog too, under `ident` and `facility` (a `LOG_*` value),
/// as `syslog-enabled yes` asks.
pub fn enable_syslog(ident: &str, facility: i32) {
    // openlog keeps the pointer: the identity must live for the rest of the process.
    let ident: &'static std::ffi::CStr = Box::leak(
        std::ffi::CString::new(ident.replace('\0', ""))
            .unwrap_or_default()
            .into_boxed_c_str(),
    );
    // SAFETY: `ident` is a NUL-terminated string that is never freed.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT,
            facility,
        )
    };
    SYSLOG.store(true, Ordering::Relaxed);
}

fn to_syslog(level: u8, msg: &str) {
    let prio = match level {
        0 => libc::LOG_DEBUG,
        1 => libc::LOG_INFO,
        2 => libc::LOG_NOTICE,
        _ => libc::LOG_WARNING,
    };
    let Ok(msg) = std::ffi::CString::new(msg.replace('\0', "")) else {
        return;
    };
    // SAFETY: a constant format string with one NUL-terminated argument.
    unsafe { libc::syslog(prio, c"%s".as_ptr(), msg.as_ptr()) };
}

/// Sets the role letter of later lines.
pub fn set_role(c: u8) {
    ROLE.store(c, Ordering::Relaxed);
}

fn level_of(l: &Level) -> (u8, char) {
    match *l {
        Level::ERROR | Level::WARN => (3, '#'),
        Level::INFO => (2, '*'),
        Level::DEBUG => (1, '-'),
        Level::TRACE => (0, '.'),
    }
}

/// Returns the local time as `21 Nov 2026 04:57:33.152`.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: localtime_r fills `tm`; strftime writes at most buf.len() bytes and returns the
    // length written.
    let n = unsafe {
        libc::localtime_r(&secs, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%d %b %Y %H:%M:%S".as_ptr(),
            &tm,
        )
    };
    format!(
        "{}.{:03}",
        String::from_utf8_lossy(&buf[..n]),
        now.subsec_millis()
    )
}

/// Writes one raw line (no prefix) to the log destination.
pub fn write_raw(text: &str) {
    let path = LOGFILE.read().clone();
    if path.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    } else if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}

struct RedisLayer;

impl<S: Subscriber> Layer<S> for RedisLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let (num, ch) = level_of(event.metadata().level());
        if num < LEVEL.load(Ordering::Relaxed) {
            return;
        }
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        if SYSLOG.load(Ordering::Relaxed) {
            to_syslog(num, &v.0);
        }
        let line = format!(
            "{}:{} {} {} {}\n",
            std::process::id(),
            ROLE.load(Ordering::Relaxed) as char,
            timestamp(),
            ch,
            v.0
        );
        write_raw(&line);
    }
}

/// Installs the logger. Safe to call more than once (later calls do nothing).
pub fn init(level: &str, file: &str) {
    set_level(level);
    set_file(file);
    let _ = tracing_subscriber::registry().with(RedisLayer).try_init();
}

/// Prints the start-up logo (with ` PID: <pid>`, which test harnesses wait for) when
/// `always-show-logo` is set, or when logging to a terminal without syslog, as Redis decides;
/// otherwise Redis's one-line summary.
pub fn banner(server: &crate::server::Server) {
    set_role(b'M');
    let (show, port) = {
        let c = server.config.read();
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(libc::STDOUT_FILENO) } == 1;
        let show = c.always_show_logo || (!c.syslog_enabled && c.logfile.is_empty() && tty);
        (show, server.port.load(Ordering::Relaxed))
    };
    if show && LEVEL.load(Ordering::Relaxed) <= 2 {
        let pid = std::process::id();
        let text = format!(
            "\n    rusty-redis-server {ours}, compatible with Redis {compat} (64 bit)\n\n    \
             Running in standalone mode\n    Port: {port}\n    PID: {pid}\n\n",
            ours = env!("CARGO_PKG_VERSION"),
            compat = crate::REDIS_VERSION,
        );
        write_raw(&text);
    } else {
        tracing::info!("Running mode=standalone, port={port}.");
    }
}
