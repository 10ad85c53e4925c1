//! The AOF under crashes: `kill -9` in the middle of a write load loses no acknowledged write
//! under `appendfsync always`, and at most about a second of them under `everysec`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Server, cmd};

/// Writers running SETs until told to stop or the server goes away; each returns the keys it
/// got `+OK` for, with when.
fn write_load(
    port: u16,
    writers: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<(String, Instant)>>> {
    (0..writers)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    return acked;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("w{w}:k{i}");
                    if s.write_all(&cmd(&["SET", &key, "v"])).is_err() {
                        break;
                    }
                    let mut buf = [0u8; 5];
                    match s.read_exact(&mut buf) {
                        Ok(()) if &buf == b"+OK\r\n" => acked.push((key, Instant::now())),
                        _ => break,
                    }
                    i += 1;
                    // A steady load, not a flood: the other black-box tests share the machine.
                    std::thread::sleep(Duration::from_micros(200));
                }
                acked
            })
        })
        .collect()
}

/// Runs a write load, kills the server mid-way, restarts it, and returns the acknowledged keys
/// the restarted server lacks (with how long before the kill they were acknowledged), and how
/// many were acknowledged.
fn crash_under_load(fsync: &str) -> (Vec<Duration>, usize) {
    let mut srv = Server::with_args(&["--appendonly", "yes", "--appendfsync", fsync]);
    let stop = Arc::new(AtomicBool::new(false));
    let handles = write_load(srv.port, 2, &stop);
    std::thread::sleep(Duration::from_millis(600));
    let killed_at = Instant::now();
    srv.crash_and_restart();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<(String, Instant)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(
        acked.len() > 100,
        "the load wrote too little to mean anything: {}",
        acked.len()
    );
    let mut con = srv.client();
    let mut missing = Vec::new();
    for (key, at) in &acked {
        // Writes acknowledged after the kill went to the restarted server: still there.
        let n: i64 = redis::cmd("EXISTS").arg(key).query(&mut con).unwrap();
        if n == 0 {
            missing.push(killed_at.saturating_duration_since(*at));
        }
    }
    (missing, acked.len())
}

#[test]
fn kill_9_with_appendfsync_always_loses_no_acknowledged_write() {
    let (missing, acked) = crash_under_load("always");
    assert!(
        missing.is_empty(),
        "{} of {acked} acknowledged writes lost",
        missing.len()
    );
}

#[test]
fn kill_9_with_appendfsync_everysec_loses_at_most_about_a_second() {
    let (missing, acked) = crash_under_load("everysec");
    let old = missing
        .iter()
        .filter(|d| **d > Duration::from_millis(1500))
        .count();
    assert_eq!(
        old, 0,
        "writes acknowledged over a second before the kill lost ({acked} acked)"
    );
}

/// Selects database 3 and returns the whole of its list `l`.
fn list_in_db3(con: &mut redis::Connection) -> Vec<String> {
    let _: () = redis::cmd("SELECT").arg("3").query(con).unwrap();
    redis::cmd("LRANGE").arg("l").arg("0").arg("-1").query(con).unwrap()
}

#[test]
fn data_survives_a_restart_and_select_is_kept() {
    let mut srv = Server::with_args(&["--appendonly", "yes"]);
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let _: () = redis::cmd("SELECT").arg("3").query(&mut con).unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg("l")
        .arg("x")
        .arg("y")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("v")
        .arg("EX")
        .arg("1000")
        .query(&mut con)
        .unwrap();
    drop(con);
    srv.crash_and_restart();
    let mut con = srv.client();
    let a: String = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    assert_eq!(a, "1");
    assert_eq!(list_in_db3(&mut con), ["x", "y"]);
    let ttl: i64 = redis::cmd("TTL").arg("t").query(&mut con).unwrap();
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    // A rewrite keeps everything too.
    let r: String = redis::cmd("BGREWRITEAOF").query(&mut con).unwrap();
    assert_eq!(r, "Background append only file rewriting started");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(&mut con)
            .unwrap();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rewrite did not finish: {info}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(con);
    srv.crash_and_restart();
    let mut con = srv.client();
    assert_eq!(list_in_db3(&mut con), ["x", "y"]);
}

/// The AOF's manifest, as text.
fn manifest(srv: &Server) -> String {
    std::fs::read_to_string(srv.dir().join("appendonlydir/appendonly.aof.manifest"))
        .unwrap_or_default()
}

/// Sets `rdb-key-save-delay` (microseconds per key) and starts a background rewrite.
fn start_rewrite(c: &mut crate::support::Raw, delay_us: &str) {
    use crate::support::Resp;
    assert_eq!(
        c.call(&["CONFIG", "SET", "rdb-key-save-delay", delay_us]),
        Resp::Simple("OK".into())
    );
    assert_eq!(
        c.call(&["BGREWRITEAOF"]),
        Resp::Simple("Background append only file rewriting started".into())
    );
}

/// Starts a BGREWRITEAOF slowed down to last (a second per key) and returns its child's pid
/// and temporary file, once the child exists and has created the file.
fn start_slowed_rewrite(
    srv: &Server,
    c: &mut crate::support::Raw,
) -> (u32, std::path::PathBuf) {
    use crate::persistence::{children_of, wait_until};
    start_rewrite(c, "1000000");
    let kids = children_of(srv.pid());
    assert_eq!(kids.len(), 1, "the child exists once BGREWRITEAOF answered: {kids:?}");
    let child = kids[0];
    let temp = srv.dir().join(format!("temp-rewriteaof-bg-{child}.aof"));
    wait_until("the child's temp file", || temp.exists());
    (child, temp)
}

#[test]
fn a_killed_rewrite_child_fails_the_rewrite_and_loses_nothing() {
    use crate::persistence::{assert_reaped, children_of, info_field, wait_until};
    use crate::support::Resp;
    let mut srv = Server::with_args(&["--appendonly", "yes"]);
    let mut c = srv.raw();
    for i in 0..30 {
        assert_eq!(c.call(&["SET", &format!("k{i}"), "v"]), Resp::Simple("OK".into()));
    }
    let (child, temp) = start_slowed_rewrite(&srv, &mut c);
    // The rewrite opened a new incremental file at once, part of the AOF whatever happens.
    wait_until("the new incremental file", || manifest(&srv).contains("appendonly.aof.2.incr"));
    assert_eq!(c.call(&["SET", "during", "1"]), Resp::Simple("OK".into()));

    crate::persistence::signal(child, "-9");
    wait_until("the rewrite to end", || info_field(&mut c, "aof_rewrite_in_progress") == "0");
    assert_reaped(child);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "err");
    assert_eq!(info_field(&mut c, "aof_rewrites_consecutive_failures"), "1");
    assert!(srv.wait_for_log("Background AOF rewrite terminated by signal 9"));
    assert!(!temp.exists(), "the parent removes a killed child's temp file");
    let m = manifest(&srv);
    assert!(m.contains("appendonly.aof.1.incr.aof seq 1 type i"), "{m}");
    assert!(m.contains("appendonly.aof.2.incr.aof seq 2 type i"), "{m}");
    assert_eq!(c.call(&["SET", "after", "1"]), Resp::Simple("OK".into()));

    // A rewrite that is let finish replaces the base and retires both incremental files.
    start_rewrite(&mut c, "0");
    wait_until("the second rewrite", || info_field(&mut c, "aof_rewrite_in_progress") == "0");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(
        manifest(&srv),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
    );
    assert!(srv.log_text().contains("Successfully renamed the temporary AOF base file"));
    wait_until("no child left", || children_of(srv.pid()).is_empty());
    drop(c);
    srv.crash_and_restart();
    let mut c = srv.raw();
    for k in ["k0", "k29", "during", "after"] {
        assert_eq!(c.call(&["EXISTS", k]), Resp::Int(1), "{k}");
    }
}

#[test]
fn sigterm_during_a_rewrite_kills_its_child_and_removes_its_temp_file() {
    use crate::persistence::proc_state;
    use crate::support::Resp;
    let mut srv = Server::with_args(&["--appendonly", "yes"]);
    let mut c = srv.raw();
    assert_eq!(c.call(&["SET", "k", "v"]), Resp::Simple("OK".into()));
    let (child, temp) = start_slowed_rewrite(&srv, &mut c);
    crate::persistence::signal(srv.pid(), "-TERM");
    assert!(srv.wait_exit(), "the server did not exit");
    let log = srv.log_text();
    assert!(log.contains("There is a child rewriting the AOF. Killing it!"), "{log}");
    assert!(!temp.exists(), "the temp file is removed");
    // Reaped by the server before it exited: not even a zombie left for init.
    assert_eq!(proc_state(child), None);
}

/// A connection to `srv` holding one key, with saves and rewrites slowed to a second a key.
fn one_key_slow_saves(srv: &Server) -> crate::support::Raw {
    use crate::support::Resp;
    let mut c = srv.raw();
    assert_eq!(c.call(&["SET", "k", "v"]), Resp::Simple("OK".into()));
    assert_eq!(
        c.call(&["CONFIG", "SET", "rdb-key-save-delay", "1000000"]),
        Resp::Simple("OK".into())
    );
    c
}

#[test]
fn appendonly_no_while_the_enabling_rewrite_runs_leaves_the_aof_off() {
    use crate::persistence::{assert_reaped, children_of, info_field, wait_until};
    use crate::support::Resp;
    let srv = Server::start();
    let mut c = one_key_slow_saves(&srv);
    let ok = Resp::Simple("OK".into());
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "yes"]), ok);
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1");
    let kids = children_of(srv.pid());
    assert_eq!(kids.len(), 1, "{kids:?}");
    let temp_incr = srv.dir().join("appendonlydir/temp-appendonly.aof.incr");
    wait_until("the temporary incremental file", || temp_incr.exists());
    // Setting it again changes nothing: the AOF is already on its way.
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "yes"]), ok);
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "0");
    assert_eq!(c.call(&["CONFIG", "SET", "appendonly", "no"]), ok);
    wait_until("the rewrite to stop", || info_field(&mut c, "aof_rewrite_in_progress") == "0");
    assert_reaped(kids[0]);
    assert!(srv.wait_for_log("Killing running AOF rewrite child"));
    assert!(srv.wait_for_log("Removing the temp incr aof file"));
    assert!(!temp_incr.exists());
    // Killed by the server itself: reaped without a "terminated by signal" line, as Redis.
    assert!(!srv.log_text().contains("Background AOF rewrite terminated by signal"));
    // Stopped on purpose: not a failure, nothing scheduled, the AOF stays off.
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "0");
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0", "no rewrite restarted");
    assert!(children_of(srv.pid()).is_empty());
}

#[test]
fn a_rewrite_keeps_the_key_save_delay_it_started_with() {
    // A forked child keeps the config it was forked with: the suite sees a rewrite running,
    // sets rdb-key-save-delay to 0, and kills the child, expecting that rewrite to still be
    // slowed (it expects the next one to be the one that succeeds). The new value is sent in
    // the same write as BGREWRITEAOF, so it lands before the rewrite's thread could read it.
    use crate::persistence::{assert_reaped, children_of, info_field, wait_until};
    use crate::support::Resp;
    let srv = Server::start();
    let mut c = one_key_slow_saves(&srv);
    let ok = Resp::Simple("OK".into());
    let mut both = cmd(&["BGREWRITEAOF"]);
    both.extend(cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]));
    c.send(&both);
    assert_eq!(
        c.read_reply(),
        Resp::Simple("Background append only file rewriting started".into())
    );
    assert_eq!(c.read_reply(), ok);
    let Resp::Bulk(stats) = c.call(&["INFO", "stats"]) else { panic!("INFO is a bulk") };
    let stats = String::from_utf8_lossy(&stats).into_owned();
    assert!(stats.contains("\r\ntotal_forks:1\r\n"), "counted when it started: {stats}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1", "still slowed down");
    let kids = children_of(srv.pid());
    assert_eq!(kids.len(), 1, "{kids:?}");
    crate::persistence::signal(kids[0], "-9");
    wait_until("the rewrite to end", || info_field(&mut c, "aof_rewrite_in_progress") == "0");
    assert_reaped(kids[0]);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "err");
}

/// Redis opens the rewrite's new incremental file and persists the manifest naming it before
/// it forks, so a disk that cannot take them fails BGREWRITEAOF itself, not the rewrite later.
#[test]
fn bgrewriteaof_fails_at_once_when_the_manifest_cannot_be_written() {
    let srv = Server::with_args(&["--appendonly", "yes"]);
    let mut r = srv.raw();
    r.send(&cmd(&["SET", "k", "v"]));
    r.expect(b"+OK\r\n");
    // A directory where the temporary manifest goes: creating that file fails (EISDIR), as
    // writing it fails on a full disk.
    let blocker = srv.dir().join("appendonlydir").join("temp-appendonly.aof.manifest");
    std::fs::create_dir_all(&blocker).unwrap();
    r.send(&cmd(&["BGREWRITEAOF"]));
    r.expect(
        b"-ERR Can't execute an AOF background rewriting. Please check the server logs for \
          more information.\r\n",
    );
    let logged = "Can't open the AOF manifest file temp-appendonly.aof.manifest: Is a directory";
    assert!(srv.wait_for_log(logged), "{}", srv.log_text());
    let mut c = srv.client();
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
    assert!(info.contains("aof_rewrite_in_progress:0\r\n"), "{info}");
    assert!(info.contains("aof_last_bgrewrite_status:err\r\n"), "{info}");
    // Once the manifest can be written again, so can a rewrite.
    std::fs::remove_dir(&blocker).unwrap();
    r.send(&cmd(&["BGREWRITEAOF"]));
    r.expect(b"+Background append only file rewriting started\r\n");
    srv.assert_alive();
}
