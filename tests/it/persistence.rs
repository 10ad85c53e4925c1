//! RDB persistence end to end: SAVE / BGSAVE / SHUTDOWN SAVE, a restart on the same `dir`
//! finding the same data (DEBUG DIGEST), DEBUG RELOAD, a corrupt file refused at start-up, and
//! files moving both ways between the real redis-server 7.0 and us.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Raw, Resp, Server};

/// A fresh directory for one test's RDB files.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rrs-persist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the test directory");
    d
}

/// Starts our server in `dir` and waits until it has loaded its file (PING answers PONG
/// rather than LOADING).
fn start_in(dir: &Path) -> Server {
    let srv = Server::with_args(&[
        "--dir",
        dir.to_str().unwrap(),
        "--enable-debug-command",
        "yes",
    ]);
    let mut c = srv.raw();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.call(&["PING"]) != Resp::Simple("PONG".into()) {
        assert!(
            Instant::now() < deadline,
            "the server did not finish loading"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    srv
}

fn ok(c: &mut Raw, words: &[&str]) {
    let r = c.call(words);
    assert!(
        matches!(r, Resp::Simple(_) | Resp::Int(_)),
        "{words:?} -> {r:?}"
    );
}

/// Fills the server with every type in every encoding, an expire and a second database.
fn fill(c: &mut Raw) {
    ok(c, &["SET", "str", "hello"]);
    ok(c, &["SET", "int", "12345"]);
    ok(c, &["SET", "long", &"x".repeat(300)]);
    ok(c, &["SET", "ttl", "v", "PX", "1000000"]);
    ok(c, &["RPUSH", "list", "a", "b", "1", "-70000"]);
    ok(c, &["HSET", "hash", "f", "v", "n", "7"]);
    ok(c, &["SADD", "intset", "1", "2", "-3"]);
    ok(c, &["SADD", "set", "a", "b"]);
    ok(c, &["ZADD", "zset", "1.5", "a", "-2", "b"]);
    for i in 0..300 {
        let (m, s) = (format!("m{i}"), format!("{i}"));
        ok(c, &["RPUSH", "biglist", &m]);
        ok(c, &["HSET", "bighash", &m, &s]);
        ok(c, &["SADD", "bigset", &m]);
        ok(c, &["ZADD", "bigzset", &s, &m]);
    }
    // The encodings the small ones above do not reach: a hashtable hash (a value over
    // hash-max-listpack-value), a skiplist zset by member length, an LZF-compressed string, a
    // quicklist of several nodes, and one with a plain node (an element over the node size).
    ok(c, &["HSET", "hash-ht", "f", &"v".repeat(100)]);
    ok(c, &["ZADD", "zset-long", "1", &"m".repeat(100)]);
    ok(c, &["SET", "lzf", &"abcd".repeat(5000)]);
    for i in 0..3000 {
        ok(c, &["RPUSH", "nodes", &format!("element-{i}")]);
    }
    ok(c, &["RPUSH", "plain", "a", &"p".repeat(10_000), "b"]);
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", "in-db-3", "x"]);
    ok(c, &["SELECT", "0"]);
}

fn digest(c: &mut Raw) -> Resp {
    c.call(&["DEBUG", "DIGEST"])
}

pub(crate) fn info_field(c: &mut Raw, field: &str) -> String {
    let Resp::Bulk(b) = c.call(&["INFO", "persistence"]) else {
        panic!("INFO is a bulk")
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

#[test]
fn save_restart_and_reload_keep_the_dataset() {
    let dir = temp_dir("save");
    let want;
    {
        let srv = start_in(&dir);
        let mut c = srv.raw();
        fill(&mut c);
        want = digest(&mut c);
        assert_eq!(c.call(&["SAVE"]), Resp::Simple("OK".into()));
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(c.call(&["DEBUG", "RELOAD"]), Resp::Simple("OK".into()));
        assert_eq!(digest(&mut c), want);
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(
            c.call(&["OBJECT", "ENCODING", "intset"]),
            Resp::Bulk(b"intset".to_vec())
        );
        assert_eq!(
            c.call(&["OBJECT", "ENCODING", "bigzset"]),
            Resp::Bulk(b"skiplist".to_vec())
        );
        let encodings =
            [("hash-ht", "hashtable"), ("zset-long", "skiplist"), ("hash", "listpack")];
        for (key, enc) in encodings {
            assert_eq!(c.call(&["OBJECT", "ENCODING", key]), Resp::Bulk(enc.as_bytes().to_vec()));
        }
    }
    assert!(dir.join("dump.rdb").exists());
    let srv = start_in(&dir);
    let mut c = srv.raw();
    assert_eq!(digest(&mut c), want);
    assert!(
        srv.log_text()
            .contains("Done loading RDB, keys loaded: 19, keys expired: 0.")
    );
    assert!(matches!(c.call(&["PTTL", "ttl"]), Resp::Int(n) if n > 900_000));
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded"), "19");
    // redis-check-rdb (redis-tools) accepts the file, when it is installed.
    if Path::new("/usr/bin/redis-check-rdb").exists() {
        let out = Command::new("/usr/bin/redis-check-rdb")
            .arg(dir.join("dump.rdb"))
            .output()
            .expect("run redis-check-rdb");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("RDB looks OK"), "{text}");
    } else {
        eprintln!("skipped redis-check-rdb: /usr/bin/redis-check-rdb is not installed");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_and_shutdown_save_write_the_file() {
    let dir = temp_dir("bgsave");
    let want;
    {
        let mut srv = start_in(&dir);
        let mut c = srv.raw();
        fill(&mut c);
        want = digest(&mut c);
        assert_eq!(
            c.call(&["BGSAVE"]),
            Resp::Simple("Background saving started".into())
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while info_field(&mut c, "rdb_bgsave_in_progress") != "0" {
            assert!(Instant::now() < deadline, "BGSAVE did not finish");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
        assert!(dir.join("dump.rdb").exists());
        std::fs::remove_file(dir.join("dump.rdb")).unwrap();
        // SHUTDOWN SAVE saves even without save points, then exits.
        c.send(b"SHUTDOWN SAVE\r\n");
        assert!(srv.wait_exit(), "the server did not exit");
        assert!(
            srv.log_text()
                .contains("Saving the final RDB snapshot before exiting.")
        );
    }
    let srv = start_in(&dir);
    assert_eq!(digest(&mut srv.raw()), want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_file_stops_the_start() {
    let dir = temp_dir("corrupt");
    {
        let srv = start_in(&dir);
        let mut c = srv.raw();
        fill(&mut c);
        assert_eq!(c.call(&["SAVE"]), Resp::Simple("OK".into()));
    }
    let path = dir.join("dump.rdb");
    let mut data = std::fs::read(&path).unwrap();
    let n = data.len();
    data[n - 3] ^= 0xFF; // the checksum
    std::fs::write(&path, &data).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(crate::support::server_bin())
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(!status.success());
    assert!(out.contains("RDB CRC error"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real redis-server on a free port in `dir`, killed on drop.
struct Redis(Child, u16);

impl Redis {
    fn start(dir: &Path) -> Option<Redis> {
        if !Path::new("/usr/bin/redis-server").exists() {
            eprintln!("skipped: /usr/bin/redis-server is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--dir",
                dir.to_str().unwrap(),
                "--enable-debug-command",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Redis(child, port))
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn files_move_both_ways_with_redis() {
    let dir = temp_dir("cross");
    // Redis writes, we load.
    let want = {
        let Some(r) = Redis::start(&dir) else { return };
        let mut c = Raw::connect(r.1);
        fill(&mut c);
        assert_eq!(c.call(&["SAVE"]), Resp::Simple("OK".into()));
        digest(&mut c)
    };
    {
        let srv = start_in(&dir);
        let mut c = srv.raw();
        assert_eq!(digest(&mut c), want);
        // We write, Redis loads.
        ok(&mut c, &["HSET", "hash", "added", "by-us"]);
        let want = digest(&mut c);
        assert_eq!(c.call(&["SAVE"]), Resp::Simple("OK".into()));
        drop(srv);
        let r = Redis::start(&dir).expect("redis-server was there a moment ago");
        assert_eq!(digest(&mut Raw::connect(r.1)), want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clients_get_loading_while_the_file_loads() {
    let dir = temp_dir("loading");
    {
        let srv = start_in(&dir);
        let mut c = srv.raw();
        ok(&mut c, &["DEBUG", "POPULATE", "3000"]);
        assert_eq!(c.call(&["SAVE"]), Resp::Simple("OK".into()));
    }
    // One millisecond a key: three seconds of loading. (Redis serves clients every
    // `loading-process-events-interval-bytes` of the file; we serve them all along.)
    let srv = Server::with_args(&[
        "--dir",
        dir.to_str().unwrap(),
        "--key-load-delay",
        "1000",
        "--loading-process-events-interval-bytes",
        "1024",
    ]);
    let mut c = srv.raw();
    assert_eq!(
        c.call(&["GET", "key:1"]),
        Resp::Error("LOADING Redis is loading the dataset in memory".into())
    );
    assert_eq!(info_field(&mut c, "loading"), "1");
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.call(&["DBSIZE"]) != Resp::Int(3000) {
        assert!(Instant::now() < deadline, "the load did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_field(&mut c, "loading"), "0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_bgsave_stops_writes_until_a_save_succeeds() {
    let dir = temp_dir("misconf");
    let srv = Server::with_args(&["--dir", dir.to_str().unwrap(), "--save", "900 1"]);
    let mut c = srv.raw();
    ok(&mut c, &["SET", "k", "v"]);
    // A directory where the file should go makes the final rename fail.
    std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    // The child logged why (Redis's line) and removed its temp file; the server logged the
    // failed save.
    let log = srv.log_text();
    assert!(
        log.contains("Error moving temp DB file temp-")
            && log.contains("on the final destination dump.rdb")
            && log.contains("Is a directory"),
        "{log}"
    );
    assert!(log.contains("Background saving error"), "{log}");
    let temps = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("temp-"))
        .count();
    assert_eq!(temps, 0, "no temp file left");
    let Resp::Error(e) = c.call(&["SET", "k", "w"]) else { panic!("SET was not refused") };
    assert!(e.starts_with("MISCONF "), "{e}");
    assert_eq!(c.call(&["GET", "k"]), Resp::Bulk(b"v".to_vec()));
    std::fs::remove_dir(dir.join("dump.rdb")).unwrap();
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    while info_field(&mut c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(c.call(&["SET", "k", "w"]), Resp::Simple("OK".into()));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the save child ----

/// Returns the pids of `parent`'s child processes (from /proc, as `pgrep -P` finds them).
pub(crate) fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The fields after the command name (which may hold spaces) start after its ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let mut f = rest.split_whitespace();
        let _state = f.next();
        if f.next().and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// Sends `sig` (as `kill` takes it: `-9`, `-STOP`) to process `pid`.
pub(crate) fn signal(pid: u32, sig: &str) {
    let sent = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
    assert!(sent.success(), "kill {sig} {pid}");
}

/// Returns a process's state letter (`Z` for a zombie), or `None` once it is gone.
pub(crate) fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

/// Waits for `cond`, failing with `what` after 10 seconds.
pub(crate) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Returns the one child of the server, waiting for it to appear.
pub(crate) fn the_child(srv: &Server) -> u32 {
    let mut kids = Vec::new();
    wait_until("a save child", || {
        kids = children_of(srv.pid());
        !kids.is_empty()
    });
    assert_eq!(kids.len(), 1, "one child at a time: {kids:?}");
    kids[0]
}

/// Asserts that `pid` was reaped (no zombie left).
pub(crate) fn assert_reaped(pid: u32) {
    wait_until("the child to be reaped", || proc_state(pid).is_none());
}

#[test]
fn bgsave_child_killed_fails_the_save_and_a_later_one_succeeds() {
    let dir = temp_dir("child-kill");
    let srv = start_in(&dir);
    let mut c = srv.raw();
    for i in 0..50 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    // Save points make a failed background save refuse writes (stop-writes-on-bgsave-error).
    ok(&mut c, &["CONFIG", "SET", "save", "3600 1"]);
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "1000000"]);
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    // The child exists once BGSAVE has answered, and writes temp-<its pid>.rdb.
    let kids = children_of(srv.pid());
    assert_eq!(kids.len(), 1, "{kids:?}");
    let child = kids[0];
    let temp = dir.join(format!("temp-{child}.rdb"));
    wait_until("the child's temp file", || temp.exists());
    assert!(srv.log_text().contains(&format!("Background saving started by pid {child}")));
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    wait_until("the save to report its total", || {
        info_field(&mut c, "current_save_keys_total") == "50"
    });

    signal(child, "-9");
    wait_until("the save to end", || info_field(&mut c, "rdb_bgsave_in_progress") == "0");
    assert_reaped(child);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    assert!(srv.wait_for_log("Background saving terminated by signal 9"));
    assert!(!temp.exists(), "the parent removes a killed child's temp file");
    assert!(!dir.join("dump.rdb").exists());
    assert_eq!(info_field(&mut c, "current_save_keys_total"), "0");
    match c.call(&["SET", "x", "y"]) {
        Resp::Error(e) => assert!(e.starts_with("MISCONF "), "{e}"),
        r => panic!("a write after a failed save: {r:?}"),
    }
    assert_eq!(c.call(&["GET", "k1"]), Resp::Bulk(b"v".to_vec()), "reads still work");

    // The next save, not slowed down, succeeds: the file is in place and writes work again.
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    wait_until("the second save to end", || {
        info_field(&mut c, "rdb_bgsave_in_progress") == "0"
    });
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert!(dir.join("dump.rdb").exists());
    assert_eq!(c.call(&["SET", "x", "y"]), Resp::Simple("OK".into()));
    assert!(srv.wait_for_log("DB saved on disk"));
    // The child logged that line itself, with Redis's role letter for a child.
    assert!(srv.log_text().lines().any(|l| l.contains(":C ") && l.ends_with("DB saved on disk")));
    wait_until("no child left", || children_of(srv.pid()).is_empty());
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_kills_the_save_child_and_removes_its_temp_file() {
    let dir = temp_dir("child-shutdown");
    let mut srv = start_in(&dir);
    let mut c = srv.raw();
    for i in 0..20 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "1000000"]);
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    let child = the_child(&srv);
    let temp = dir.join(format!("temp-{child}.rdb"));
    wait_until("the child's temp file", || temp.exists());
    c.send(b"SHUTDOWN NOSAVE\r\n");
    // As with Redis, once the connection closes new ones are refused (what the suite checks
    // right after SHUTDOWN).
    c.expect_closed();
    assert!(std::net::TcpStream::connect(("127.0.0.1", srv.port)).is_err());
    assert!(srv.wait_exit(), "the server did not exit");
    assert!(srv.log_text().contains("There is a child saving an .rdb. Killing it!"));
    // Redis exits without reaping the child it killed, so it never logs its end.
    assert!(!srv.log_text().contains("Background saving terminated by signal"));
    assert!(!temp.exists(), "the temp file is removed");
    // Killed and reaped before the server exited.
    assert_reaped(child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_background_save_reports_its_progress_and_copy_on_write() {
    let dir = temp_dir("child-info");
    let srv = start_in(&dir);
    let mut c = srv.raw();
    let value = "x".repeat(100);
    for i in 0..2000 {
        ok(&mut c, &["SET", &format!("k{i}"), &value]);
    }
    ok(&mut c, &["CONFIG", "SET", "rdbcompression", "no"]);
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "2000"]);
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    wait_until("the total", || info_field(&mut c, "current_save_keys_total") == "2000");
    // Writers touching keys the walk has not reached hand them over first: that is the
    // copy-on-write INFO reports (at least the values' bytes, uncompressed here).
    for i in 0..2000 {
        ok(&mut c, &["APPEND", &format!("k{i}"), "y"]);
    }
    let cow: u64 = info_field(&mut c, "current_cow_size").parse().unwrap();
    let processed: u64 = info_field(&mut c, "current_save_keys_processed").parse().unwrap();
    let perc: f64 = info_field(&mut c, "current_fork_perc").parse().unwrap();
    assert!(cow >= 100 * 100, "{cow}");
    assert!((100..=2000).contains(&processed), "{processed}");
    assert!(perc > 0.0 && perc <= 100.0, "{perc}");
    wait_until("the save to end", || info_field(&mut c, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    let last: u64 = info_field(&mut c, "rdb_last_cow_size").parse().unwrap();
    assert!(last >= cow, "{last} < {cow}");
    assert_eq!(info_field(&mut c, "current_cow_size"), "0");
    assert_eq!(info_field(&mut c, "current_save_keys_processed"), "0");
    // The file holds the dataset as it was when the save started.
    drop(srv);
    let srv = start_in(&dir);
    let mut c = srv.raw();
    assert_eq!(c.call(&["STRLEN", "k7"]), Resp::Int(100));
    assert_eq!(c.call(&["DBSIZE"]), Resp::Int(2000));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_save_child_does_not_stall_writers() {
    // A save child that stops reading (SIGSTOP here; a stalled disk alike) stops the save,
    // not the server: writers hand their copy-on-write to an unbounded queue instead of
    // waiting for room under their shard lock, as Redis's parent does not wait for its child.
    let dir = temp_dir("child-stopped");
    let srv = start_in(&dir);
    let mut c = srv.raw();
    let keys = 20_000;
    // 40 MB of incompressible-enough values: far more than the pipe and the walker's queue
    // (16 buffers of 64 KiB) hold, so writers' copies must queue past that bound.
    ok(&mut c, &["CONFIG", "SET", "rdbcompression", "no"]);
    ok(&mut c, &["DEBUG", "POPULATE", &keys.to_string(), "key", "2000"]);
    // The walk is slowed (50 us per key: about a second in all), so the child is stopped
    // well before the save could end on its own.
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "50"]);
    assert_eq!(c.call(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    let child = the_child(&srv);
    signal(child, "-STOP");
    wait_until("the child to stop", || proc_state(child) == Some('T'));

    // Every key rewritten before the save could save it: each is copied first. The replies
    // come back while the child stays stopped (a read waits at most 10 s before failing).
    let new = "n".repeat(100);
    for chunk in (0..keys).collect::<Vec<_>>().chunks(1000) {
        let mut batch = Vec::new();
        for i in chunk {
            batch.extend(crate::support::cmd(&["SET", &format!("key:{i}"), &new]));
        }
        c.send(&batch);
        for _ in chunk {
            assert_eq!(c.read_reply(), Resp::Simple("OK".into()));
        }
    }
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    assert_eq!(proc_state(child), Some('T'), "the child is still stopped");
    let cow: u64 = info_field(&mut c, "current_cow_size").parse().unwrap();
    assert!(cow > 16 * 64 * 1024, "writers queued past the walker's bound: {cow}");

    // Resumed, the child writes everything, and the file holds the data as it was when the
    // save started.
    signal(child, "-CONT");
    wait_until("the save to end", || info_field(&mut c, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_reaped(child);
    drop(srv);
    let srv = start_in(&dir);
    let mut c = srv.raw();
    assert_eq!(c.call(&["DBSIZE"]), Resp::Int(keys));
    assert_eq!(c.call(&["STRLEN", "key:7"]), Resp::Int(2000));
    assert_eq!(c.call(&["STRLEN", &format!("key:{}", keys - 1)]), Resp::Int(2000));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
