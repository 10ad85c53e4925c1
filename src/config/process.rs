//! Process-level work the configuration asks for, done as redis-server does it: daemonizing
//! (before any thread exists), the pid file, raising the open-files limit for `maxclients`,
//! `oom-score-adj`, and telling a supervisor (systemd, upstart) how start-up goes.
//!
//! Depends on `config` only; logs through `tracing`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};

use super::{Config, strerror};

/// Descriptors Redis keeps for itself beyond `maxclients` (`CONFIG_MIN_RESERVED_FDS`).
pub const MIN_RESERVED_FDS: u64 = 32;
/// The pid file of a daemon that did not name one (`CONFIG_DEFAULT_PID_FILE`).
pub const DEFAULT_PID_FILE: &str = "/var/run/redis.pid";

const SUPERVISED_NONE: u8 = 0;
const SUPERVISED_UPSTART: u8 = 1;
const SUPERVISED_SYSTEMD: u8 = 2;

/// The supervision mode in effect (set once at start-up).
static SUPERVISED: AtomicU8 = AtomicU8::new(SUPERVISED_NONE);
/// True when we forked into the background.
static BACKGROUND: AtomicBool = AtomicBool::new(false);
/// The pid file we wrote, to remove at exit.
static PIDFILE: Mutex<Option<String>> = Mutex::new(None);

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Sends a message to systemd's notification socket (`sd_notify`). Returns 0 when there is no
/// socket, a positive number when sent, a negative errno on failure.
fn sd_notify(msg: &str) -> i32 {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return 0;
    };
    let path = path.into_encoded_bytes();
    let addr = if let Some(name) = path.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name)
    } else {
        SocketAddr::from_pathname(std::ffi::OsStr::from_encoded_bytes_checked(&path))
    };
    let sent = addr.and_then(|a| {
        let s = UnixDatagram::unbound()?;
        s.send_to_addr(msg.as_bytes(), &a)
    });
    match sent {
        Ok(_) => 1,
        Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
    }
}

trait FromBytes {
    fn from_encoded_bytes_checked(b: &[u8]) -> &std::ffi::OsStr;
}

impl FromBytes for std::ffi::OsStr {
    fn from_encoded_bytes_checked(b: &[u8]) -> &std::ffi::OsStr {
        std::os::unix::ffi::OsStrExt::from_bytes(b)
    }
}

/// Sends `msg` to systemd when supervised by it, logging failures as Redis does.
fn communicate_systemd(msg: &str) -> i32 {
    let rc = sd_notify(msg);
    if rc == 0 {
        tracing::warn!("systemd supervision error: NOTIFY_SOCKET not found!");
    } else if rc < 0 {
        tracing::warn!("systemd supervision error: sd_notify: {rc}");
    }
    rc
}

/// Decides whether a supervisor runs us (`supervised`), as `redisIsSupervised`. Returns true
/// when supervised, in which case `daemonize` is ignored.
pub fn detect_supervision(cfg: &Config) -> bool {
    let mut mode = match cfg.supervised.as_str() {
        "upstart" => SUPERVISED_UPSTART,
        "systemd" => SUPERVISED_SYSTEMD,
        "auto" => {
            if std::env::var_os("UPSTART_JOB").is_some() {
                tracing::debug!("Upstart supervision detected.");
                SUPERVISED_UPSTART
            } else if std::env::var_os("NOTIFY_SOCKET").is_some() {
                tracing::debug!("Systemd supervision detected.");
                SUPERVISED_SYSTEMD
            } else {
                SUPERVISED_NONE
            }
        }
        _ => SUPERVISED_NONE,
    };
    let ok = match mode {
        SUPERVISED_UPSTART => {
            if std::env::var_os("UPSTART_JOB").is_none() {
                tracing::warn!("upstart supervision requested, but UPSTART_JOB not found!");
                false
            } else {
                tracing::info!("supervised by upstart, will stop to signal readiness.");
                // SAFETY: raising a signal on ourselves; upstart resumes us.
                unsafe {
                    libc::raise(libc::SIGSTOP);
                }
                // SAFETY: no other thread exists yet at start-up.
                unsafe { std::env::remove_var("UPSTART_JOB") };
                true
            }
        }
        SUPERVISED_SYSTEMD => {
            if communicate_systemd("STATUS=Redis is loading...\n") <= 0 {
                false
            } else {
                tracing::info!(
                    "Supervised by systemd. Please make sure you set appropriate values for \
                     TimeoutStartSec and TimeoutStopSec in your service unit."
                );
                true
            }
        }
        _ => false,
    };
    if !ok {
        mode = SUPERVISED_NONE;
    }
    SUPERVISED.store(mode, Ordering::Relaxed);
    ok
}

/// Tells systemd we are ready (after "Ready to accept connections").
pub fn notify_ready() {
    if SUPERVISED.load(Ordering::Relaxed) == SUPERVISED_SYSTEMD {
        communicate_systemd("STATUS=Ready to accept connections\n");
        communicate_systemd("READY=1\n");
    }
}

/// Tells systemd we are stopping.
pub fn notify_stopping() {
    if SUPERVISED.load(Ordering::Relaxed) == SUPERVISED_SYSTEMD {
        communicate_systemd("STOPPING=1\n");
    }
}

/// Forks into the background: the parent exits, the child starts a new session with its
/// standard streams on /dev/null. Must run before any thread is started (the tokio runtime
/// included): a fork keeps only the calling thread.
pub fn daemonize() {
    // SAFETY: called from main before any thread exists; fork/setsid/open/dup2/close are plain
    // syscalls on descriptors we own.
    unsafe {
        match libc::fork() {
            -1 => {
                eprintln!("Can't fork into the background: {}", strerror(errno()));
                std::process::exit(1);
            }
            0 => {}
            _ => std::process::exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0);
        if fd != -1 {
            libc::dup2(fd, libc::STDIN_FILENO);
            libc::dup2(fd, libc::STDOUT_FILENO);
            libc::dup2(fd, libc::STDERR_FILENO);
            if fd > libc::STDERR_FILENO {
                libc::close(fd);
            }
        }
    }
    BACKGROUND.store(true, Ordering::Relaxed);
}

/// Writes the pid file when one is configured, or when running in the background (then at
/// `/var/run/redis.pid` by default). Best effort, as in Redis.
pub fn create_pid_file(cfg: &Config) {
    if !BACKGROUND.load(Ordering::Relaxed) && cfg.pidfile.is_empty() {
        return;
    }
    let path = if cfg.pidfile.is_empty() {
        DEFAULT_PID_FILE.to_string()
    } else {
        cfg.pidfile.clone()
    };
    let _ = std::fs::write(&path, format!("{}\n", std::process::id()));
    *PIDFILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(path);
}

/// Removes the pid file written at start-up, logging it as Redis does at shutdown.
pub fn remove_pid_file() {
    let path = PIDFILE.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(path) = path {
        tracing::info!("Removing the pid file.");
        let _ = std::fs::remove_file(path);
    }
}

/// Why the open-files limit could not be adjusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdLimitError {
    /// Not even enough descriptors to start: Redis exits.
    TooLow,
}

/// Raises RLIMIT_NOFILE to `maxclients + 32` when it is lower, as `adjustOpenFilesLimit`
/// does, logging like Redis. Returns the number of clients the limit allows (smaller than
/// `maxclients` when the limit could not be raised enough).
pub fn adjust_open_files_limit(maxclients: u64) -> Result<u64, FdLimitError> {
    let maxfiles = maxclients + MIN_RESERVED_FDS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == -1 {
        tracing::warn!(
            "Unable to obtain the current NOFILE limit ({}), assuming 1024 and setting the max \
             clients configuration accordingly.",
            strerror(errno())
        );
        return Ok(1024 - MIN_RESERVED_FDS);
    }
    let old = limit.rlim_cur;
    if old >= maxfiles {
        return Ok(maxclients);
    }
    let mut best = maxfiles;
    let mut set_error = 0;
    while best > old {
        let want = libc::rlimit {
            rlim_cur: best,
            rlim_max: best,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != -1 {
            break;
        }
        set_error = errno();
        // Try a little lower each time, down to what we have.
        if best < 16 {
            best = old;
            break;
        }
        best -= 16;
    }
    if best < old {
        best = old;
    }
    if best < maxfiles {
        if best <= MIN_RESERVED_FDS {
            tracing::warn!(
                "Your current 'ulimit -n' of {old} is not enough for the server to start. Please \
                 increase your open file limit to at least {maxfiles}. Exiting."
            );
            return Err(FdLimitError::TooLow);
        }
        let reduced = best - MIN_RESERVED_FDS;
        tracing::warn!(
            "You requested maxclients of {maxclients} requiring at least {maxfiles} max file \
             descriptors."
        );
        tracing::warn!(
            "Server can't set maximum open files to {maxfiles} because of OS error: {}.",
            strerror(set_error)
        );
        tracing::warn!(
            "Current maximum open files is {best}. maxclients has been reduced to {reduced} to \
             compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."
        );
        return Ok(reduced);
    }
    tracing::info!(
        "Increased maximum number of open files to {maxfiles} (it was originally set to {old})."
    );
    Ok(maxclients)
}

/// True once we changed /proc/self/oom_score_adj, and the value it had before.
static OOM_ADJUSTED: AtomicBool = AtomicBool::new(false);
static OOM_BASE: AtomicI32 = AtomicI32::new(0);

/// Applies `oom-score-adj` / `oom-score-adj-values` to this process (as a master), as
/// `setOOMScoreAdj`: `yes`/`relative` adds the value to the score we started with, `absolute`
/// sets it, `no` restores the original score if we changed it. The error (also logged) is the
/// reason.
pub fn set_oom_score_adj(cfg: &Config) -> Result<(), String> {
    let class = if cfg.replicaof.is_some() { 1 } else { 0 };
    let val = if cfg.oom_score_adj != "no" {
        if !OOM_ADJUSTED.load(Ordering::Relaxed) {
            match read_oom_score() {
                Ok(v) => OOM_BASE.store(v, Ordering::Relaxed),
                Err(e) => {
                    let msg = format!("Unable to read oom_score_adj: {e}");
                    tracing::warn!("{msg}");
                    return Err(msg);
                }
            }
            OOM_ADJUSTED.store(true, Ordering::Relaxed);
        }
        class_score(cfg, class, OOM_BASE.load(Ordering::Relaxed))
    } else if OOM_ADJUSTED.swap(false, Ordering::Relaxed) {
        OOM_BASE.load(Ordering::Relaxed)
    } else {
        return Ok(());
    };
    std::fs::write(OOM_SCORE_PATH, format!("{val}\n")).map_err(|e| {
        let msg = format!("Unable to write oom_score_adj: {e}");
        tracing::warn!("{msg}");
        msg
    })
}

const OOM_SCORE_PATH: &str = "/proc/self/oom_score_adj";

/// Reads the process's `oom_score_adj` (0 when unparsable).
fn read_oom_score() -> std::io::Result<i32> {
    std::fs::read_to_string(OOM_SCORE_PATH).map(|s| s.trim().parse().unwrap_or(0))
}

/// The score of `class` (0 master, 1 replica, 2 save child) under `oom-score-adj yes` or
/// `relative` (added to `base`, the score the server started with) or `absolute`, clamped to
/// the kernel's range.
fn class_score(cfg: &Config, class: usize, base: i32) -> i32 {
    let v = cfg.oom_score_adj_values[class];
    let v = if cfg.oom_score_adj == "absolute" { v } else { v.saturating_add(base) };
    v.clamp(-1000, 1000)
}

/// Returns the `oom_score_adj` a save child takes (Redis's `CONFIG_OOM_BGCHILD` class, the
/// third of `oom-score-adj-values`), or `None` with `oom-score-adj no`.
pub fn bgchild_oom_score_adj(cfg: &Config) -> Option<i32> {
    if cfg.oom_score_adj == "no" {
        return None;
    }
    // Relative to the score the server started with (read now if never adjusted).
    let base = if OOM_ADJUSTED.load(Ordering::Relaxed) {
        OOM_BASE.load(Ordering::Relaxed)
    } else {
        read_oom_score().unwrap_or(0)
    };
    Some(class_score(cfg, 2, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_child_takes_the_bgchild_score() {
        let mut cfg = Config::default();
        assert_eq!(bgchild_oom_score_adj(&cfg), None);
        cfg.oom_score_adj = "absolute".into();
        cfg.oom_score_adj_values = [0, 200, 1500];
        assert_eq!(bgchild_oom_score_adj(&cfg), Some(1000), "clamped");
        cfg.oom_score_adj_values = [0, 200, 800];
        assert_eq!(bgchild_oom_score_adj(&cfg), Some(800));
        // Relative: added to the starting score, then clamped, for every class.
        cfg.oom_score_adj = "relative".into();
        assert_eq!(class_score(&cfg, 2, 100), 900);
        assert_eq!(class_score(&cfg, 1, -1500), -1000);
        assert_eq!(class_score(&cfg, 2, 300), 1000);
    }

    #[test]
    fn open_files_limit_is_enough_for_small_maxclients() {
        // Whatever the machine's limit, 10 clients fit.
        assert_eq!(adjust_open_files_limit(10), Ok(10));
    }

    #[test]
    fn pid_file_only_when_asked() {
        let mut cfg = Config::default();
        create_pid_file(&cfg);
        assert!(PIDFILE.lock().unwrap().is_none());
        let path = std::env::temp_dir().join(format!("rrs-pid-{}.pid", std::process::id()));
        cfg.pidfile = path.display().to_string();
        create_pid_file(&cfg);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
        remove_pid_file();
        assert!(!path.exists());
    }

    #[test]
    fn no_notify_socket_means_not_supervised() {
        // The test environment has no systemd socket; `auto` finds nothing.
        if std::env::var_os("NOTIFY_SOCKET").is_none() && std::env::var_os("UPSTART_JOB").is_none()
        {
            let mut cfg = Config::default();
            cfg.supervised = "auto".into();
            assert!(!detect_supervision(&cfg));
            assert_eq!(sd_notify("READY=1\n"), 0);
        }
    }
}
