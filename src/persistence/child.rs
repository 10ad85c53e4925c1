//! The save child: BGSAVE and AOF rewrites write their file from a child process, as Redis's
//! forked child does, so that what an operator (or Redis's test suite) sees is Redis's: one
//! child per save or rewrite under the server's pid (`pgrep -P`), its `temp-<pid>.rdb` or
//! `temp-rewriteaof-bg-<pid>.aof` in the working directory, and killing it aborts the save,
//! which the server then records as a failure.
//!
//! We do not fork: the walk over a point-in-time image of the store and the encoding stay in
//! the server (`store/snapshot.rs`, `persistence/file.rs`), which costs a few percent of memory
//! where fork's copy-on-write may cost up to the whole dataset. The child is the server's own
//! binary re-executed in a hidden mode ([`WRITER_FLAG`], recognised by `main` before any other
//! argument): it creates its temporary file at once, copies the stream it reads on its stdin
//! into it, fsyncs it and, for an RDB file, renames it onto the target and fsyncs the
//! directory. The parent's side of the pipe is a [`Writer`].
//!
//! The stream is framed (an 8-byte little-endian length before each chunk, a zero length at
//! the end) so the child tells a complete stream from a parent that stopped half-way: only a
//! stream that ends with the end frame is kept.
//!
//! One child runs at a time in a process (Redis's rule too); it is registered here so that
//! SHUTDOWN, FLUSHALL and `CONFIG SET appendonly no` can kill it by pid. The thread that
//! spawned it reaps it ([`Writer::wait`]): no zombie is left behind.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};

use parking_lot::Mutex;

use crate::config::io_strerror as strerror;

/// The first argument that makes the binary a save child. Not in `--help`: it is an internal
/// interface between a server and the children it starts, not something to run by hand.
pub const WRITER_FLAG: &str = "--internal-bgsave-writer";

/// What a child writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// An RDB file (BGSAVE): `temp-<pid>.rdb`, renamed onto the target by the child.
    Rdb,
    /// An AOF base (BGREWRITEAOF): `temp-rewriteaof-bg-<pid>.aof`, renamed into the AOF
    /// directory by the parent once the child exited 0 (the manifest is the parent's).
    Aof,
}

impl Job {
    fn arg(self) -> &'static str {
        match self {
            Job::Rdb => "rdb",
            Job::Aof => "aof",
        }
    }
}

/// Returns the temporary file a child of `pid` writes for `job` (in the working directory,
/// which is `dir`).
pub fn temp_name(job: Job, pid: u32) -> PathBuf {
    PathBuf::from(match job {
        Job::Rdb => format!("temp-{pid}.rdb"),
        Job::Aof => format!("temp-rewriteaof-bg-{pid}.aof"),
    })
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Exit status 0: the file is complete and in place.
    Ok,
    /// A non-zero exit status: the child failed (and removed its temporary file).
    Error(i32),
    /// Killed by this signal (its temporary file may be left: the parent removes it).
    Signal(i32),
}

// ---- the registry of the running child ----

/// The child running, if any: its pid and job.
static RUNNING: Mutex<Option<(u32, Job)>> = Mutex::new(None);
/// The binary to re-execute; `None` where the process is not the server binary (in-process
/// tests): saves are then written by a thread of the server itself.
static PROGRAM: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Makes background saves run in a child started from `program` (called by `main`).
pub fn enable(program: PathBuf) {
    *PROGRAM.lock() = Some(program);
}

/// True when background saves run in a child process.
pub fn enabled() -> bool {
    PROGRAM.lock().is_some()
}

/// Sends `signal` to the running child if it does `job`. Returns its pid.
pub fn kill(job: Job, signal: i32) -> Option<u32> {
    let g = RUNNING.lock();
    let (pid, j) = (*g)?;
    if j != job {
        return None;
    }
    // The registry lock is held and the child is unregistered (by `Writer::wait`) before it
    // is reaped, so `pid` is still our child here, never a reused pid.
    // SAFETY: kill(2) on a pid, no memory involved.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
    Some(pid)
}

/// True once the child `pid` has exited (it is not reaped: [`Writer::wait`] does that).
pub fn exited(pid: u32) -> bool {
    // SAFETY: waitid fills the zeroed siginfo it is given; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r == 0 && info.si_pid() != 0
    }
}

// ---- the parent's side ----

/// Chunks go to the child in frames of about this size.
const FRAME: usize = 64 * 1024;

/// The parent's end of a child: a [`Write`] into the child's stdin (framed), its pid, and
/// the reaping.
pub struct Writer {
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    buf: Vec<u8>,
    pid: u32,
    job: Job,
}

impl Writer {
    /// Starts a child writing `job` (for an RDB file, onto `target`, relative to the working
    /// directory) and registers it. Fails when one runs already or the process cannot start.
    /// `oom_score` is the `oom_score_adj` the child sets itself, as Redis's child does.
    pub fn spawn(job: Job, target: &Path, oom_score: Option<i32>) -> io::Result<Writer> {
        let program = PROGRAM
            .lock()
            .clone()
            .ok_or_else(|| io::Error::other("no child program"))?;
        let mut running = RUNNING.lock();
        if running.is_some() {
            return Err(io::Error::other("a child is already running"));
        }
        let (level, file) = crate::logging::settings();
        let mut cmd = Command::new(program);
        // The process title Redis gives its children (`ps` shows it).
        cmd.arg0(match job {
            Job::Rdb => "redis-rdb-bgsave",
            Job::Aof => "redis-aof-rewrite",
        })
        .arg(WRITER_FLAG)
        .arg(job.arg())
        .arg(target)
        .arg(level)
        .arg(file)
        .arg(oom_score.map_or_else(|| "no".to_string(), |v| v.to_string()))
        .stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
        let mut child = cmd.spawn()?;
        let pid = child.id();
        let stdin = child.stdin.take();
        *running = Some((pid, job));
        Ok(Writer {
            child,
            stdin,
            buf: Vec::with_capacity(FRAME),
            pid,
            job,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The child's temporary file.
    pub fn temp_path(&self) -> PathBuf {
        temp_name(self.job, self.pid)
    }

    fn frame(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(pipe) = self.stdin.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        };
        pipe.write_all(&(data.len() as u64).to_le_bytes())?;
        pipe.write_all(data)
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.frame(&buf);
        self.buf = buf;
        self.buf.clear();
        r
    }

    /// Ends the stream (the end frame) and closes the pipe: the child then syncs and renames.
    pub fn finish(&mut self) -> io::Result<()> {
        self.send_buf()?;
        let r = self.frame(&[]);
        self.stdin = None;
        r
    }

    /// Closes the pipe without the end frame (the child discards its file), waits for the
    /// child to exit and reaps it.
    pub fn wait(mut self) -> Exit {
        self.stdin = None;
        // Wait without reaping, unregister, then reap: a kill by pid can never reach a reused
        // pid (see `kill`).
        // SAFETY: as in `exited`, blocking.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            while libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            ) != 0
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
        }
        *RUNNING.lock() = None;
        match self.child.wait() {
            Ok(st) => match (st.code(), st.signal()) {
                (Some(0), _) => Exit::Ok,
                (Some(c), _) => Exit::Error(c),
                (None, Some(s)) => Exit::Signal(s),
                (None, None) => Exit::Error(-1),
            },
            Err(_) => Exit::Error(-1),
        }
    }
}

impl Write for Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > FRAME {
            self.send_buf()?;
        }
        if data.len() >= FRAME {
            self.frame(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A writer dropped without `wait` (a panic on the saving thread) still must not leave
        // a child behind: closing the pipe makes it discard its file and exit.
        if RUNNING.lock().is_some_and(|(p, _)| p == self.pid) {
            self.stdin = None;
            let _ = self.child.wait();
            *RUNNING.lock() = None;
        }
    }
}

// ---- the child's side ----

/// Reads one frame's length; `None` at end of input.
fn read_len(input: &mut impl Read) -> io::Result<Option<u64>> {
    let mut len = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        match input.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(u64::from_le_bytes(len)))
}

/// Copies a framed stream from `input` to `out` until the end frame. An input that ends
/// before it is an error (the parent gave up).
pub fn copy_stream(input: &mut impl Read, out: &mut impl Write) -> io::Result<u64> {
    let mut total = 0u64;
    let mut chunk = vec![0u8; FRAME];
    loop {
        let Some(len) = read_len(input)? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the stream before its end",
            ));
        };
        if len == 0 {
            return Ok(total);
        }
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            input.read_exact(&mut chunk[..n])?;
            out.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        total += len;
    }
}

/// Returns the working directory for log lines.
fn cwd() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Writes the temporary file from stdin and puts it in place. Returns the line to log on
/// failure (Redis's wording for each step).
fn write_job(job: Job, target: &Path, tmp: &Path) -> Result<(), String> {
    let f = File::create(tmp).map_err(|e| match job {
        Job::Rdb => format!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
            tmp.display(),
            cwd(),
            strerror(&e)
        ),
        Job::Aof => format!(
            "Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): {}",
            strerror(&e)
        ),
    })?;
    // `op` names the failing step for an RDB, as Redis's child does.
    let write_error = |op: &'static str| {
        move |e: io::Error| match job {
            Job::Rdb => format!("Write error saving DB on disk({op}): {}", strerror(&e)),
            Job::Aof => {
                format!(
                    "Write error writing append only file on disk: {}",
                    strerror(&e)
                )
            }
        }
    };
    let mut w = io::BufWriter::with_capacity(FRAME, f);
    copy_stream(&mut io::stdin().lock(), &mut w).map_err(write_error("rdbSaveRio"))?;
    let f = w
        .into_inner()
        .map_err(|e| write_error("fflush")(e.into_error()))?;
    f.sync_all().map_err(write_error("fsync"))?;
    drop(f);
    if job == Job::Rdb {
        std::fs::rename(tmp, target).map_err(|e| {
            format!(
                "Error moving temp DB file {} on the final destination {} (in server root dir \
                 {}): {}",
                tmp.display(),
                target.display(),
                cwd(),
                strerror(&e)
            )
        })?;
        crate::util::sync_dir(target.parent().unwrap_or(Path::new("")));
    }
    Ok(())
}

/// The child's `main`: `args` are what follows [`WRITER_FLAG`] (job, target, loglevel,
/// logfile, oom_score_adj or `no`). Returns the exit status.
pub fn run_writer(args: &[OsString]) -> i32 {
    let arg = |i: usize| args.get(i).map(|a| a.as_bytes()).unwrap_or_default();
    let job = match arg(0) {
        b"rdb" => Job::Rdb,
        b"aof" => Job::Aof,
        _ => {
            eprintln!("{WRITER_FLAG} is internal to rusty-redis-server.");
            return 1;
        }
    };
    let target = PathBuf::from(args.get(1).cloned().unwrap_or_default());
    crate::logging::init(
        &String::from_utf8_lossy(arg(2)),
        &String::from_utf8_lossy(arg(3)),
    );
    crate::logging::set_role(b'C');
    set_name(job);
    if let Ok(score) = String::from_utf8_lossy(arg(4)).parse::<i32>() {
        // Redis's child makes itself the first candidate of the OOM killer (bgchild class).
        if let Err(e) = std::fs::write("/proc/self/oom_score_adj", format!("{score}\n")) {
            tracing::warn!("Unable to write oom_score_adj: {e}");
        }
    }
    let tmp = temp_name(job, std::process::id());
    match write_job(job, &target, &tmp) {
        Ok(()) => {
            match job {
                Job::Rdb => tracing::info!("DB saved on disk"),
                Job::Aof => tracing::info!(
                    "Successfully created the temporary AOF base file {}",
                    tmp.display()
                ),
            }
            0
        }
        Err(line) => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!("{line}");
            1
        }
    }
}

/// Names the thread (`comm`, what `top` and `pgrep` match) as Redis names its children.
fn set_name(job: Job) {
    let name: &std::ffi::CStr = match job {
        Job::Rdb => c"redis-rdb-bgsa",
        Job::Aof => c"redis-aof-rewr",
    };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(chunks: &[&[u8]], end: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&(c.len() as u64).to_le_bytes());
            out.extend_from_slice(c);
        }
        if end {
            out.extend_from_slice(&0u64.to_le_bytes());
        }
        out
    }

    #[test]
    fn a_complete_stream_is_copied() {
        let big = vec![7u8; FRAME * 2 + 3];
        let input = framed(&[b"REDIS", &big, b"tail"], true);
        let mut out = Vec::new();
        let n = copy_stream(&mut input.as_slice(), &mut out).unwrap();
        assert_eq!(n as usize, 5 + big.len() + 4);
        assert_eq!(&out[..5], b"REDIS");
        assert_eq!(&out[out.len() - 4..], b"tail");
    }

    #[test]
    fn a_stream_cut_anywhere_before_its_end_frame_is_an_error() {
        let input = framed(&[b"REDIS0010", b"more"], true);
        for cut in 0..input.len() {
            let mut out = Vec::new();
            assert!(
                copy_stream(&mut &input[..cut], &mut out).is_err(),
                "cut at {cut}"
            );
        }
        // Without the end frame, even with every chunk whole.
        let input = framed(&[b"REDIS0010"], false);
        assert!(copy_stream(&mut input.as_slice(), &mut Vec::new()).is_err());
    }

    #[test]
    fn temp_names_are_redis_ones() {
        assert_eq!(temp_name(Job::Rdb, 42), PathBuf::from("temp-42.rdb"));
        assert_eq!(
            temp_name(Job::Aof, 42),
            PathBuf::from("temp-rewriteaof-bg-42.aof")
        );
    }

    #[test]
    fn no_child_without_a_program() {
        assert!(!enabled());
        assert!(Writer::spawn(Job::Rdb, Path::new("x.rdb"), None).is_err());
        assert_eq!(kill(Job::Rdb, libc::SIGUSR1), None);
    }
}
