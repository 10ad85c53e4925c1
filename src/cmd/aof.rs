//! The AOF's commands: BGREWRITEAOF. (DEBUG LOADAOF lives with DEBUG; the machinery is in
//! `persistence::aof`.)

use crate::command::{Command, Ctx, flags::*};
use crate::persistence::aof::rewrite;
use crate::protocol::errors;

/// BGREWRITEAOF
fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let server = ctx.server;
    if server
        .aof
        .stats
        .rewrite_in_progress
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return ctx.out.error(errors::AOF_REWRITE_IN_PROGRESS);
    }
    let bgsave = &server.persist.bgsave_in_progress;
    if ctx.client.in_exec || bgsave.load(std::sync::atomic::Ordering::Acquire) {
        // EXEC holds every shard the rewrite needs, or a background save runs (one background
        // job at a time, as Redis runs one child): the cron starts it afterwards.
        let stats = &server.aof.stats;
        stats
            .rewrite_scheduled
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // Asked for by hand: not held back by earlier failures (see `rewrite::check_auto`).
        stats
            .consecutive_failures
            .store(0, std::sync::atomic::Ordering::Relaxed);
        return ctx
            .out
            .simple(b"Background append only file rewriting scheduled");
    }
    let started = match crate::server::listen::shared(server) {
        Some(arc) => rewrite::start_background(&arc),
        // In-process tests: no shared handle, so the rewrite runs here (no shard is held:
        // BGREWRITEAOF declares no keys).
        None => rewrite::rewrite_here(server).is_ok(),
    };
    if started {
        ctx.out
            .simple(b"Background append only file rewriting started");
    } else {
        ctx.out.error(errors::AOF_REWRITE_FAILED);
    }
}

pub const COMMANDS: &[Command] = &[Command {
    group: "server",
    summary: "Asynchronously rewrite the append-only file",
    complexity: "O(1)",
    acl: &["admin", "dangerous"],
    ..Command::new(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        bgrewriteaof,
    )
}];

#[cfg(test)]
mod tests {
    use crate::command::testing::Harness;
    use crate::protocol::reply::Value;

    #[test]
    fn bgrewriteaof_writes_a_base_and_a_manifest() {
        // appenddirname is a name in the working directory (the crate's, under cargo test).
        let name = format!("test-aof-cmd-{}", std::process::id());
        let mut cfg = crate::config::Config {
            enable_debug_command: "yes".into(),
            ..Default::default()
        };
        let d = crate::config::table::lookup(b"appenddirname").unwrap().0;
        cfg.set_value(d, name.as_bytes()).unwrap();
        let p = crate::config::table::lookup(b"aof-use-rdb-preamble").unwrap().0;
        cfg.set_value(p, b"no").unwrap();
        let mut h = Harness::with_config(cfg);
        h.run(&["SET", "k", "v"]);
        h.run(&["RPUSH", "l", "a", "b"]);
        assert_eq!(
            h.run(&["BGREWRITEAOF"]),
            Value::Simple("Background append only file rewriting started".into())
        );
        let aofdir = std::path::PathBuf::from(&name);
        let manifest = std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap();
        assert_eq!(manifest, "file appendonly.aof.1.base.aof seq 1 type b\n");
        let base = std::fs::read(aofdir.join("appendonly.aof.1.base.aof")).unwrap();
        let text = String::from_utf8_lossy(&base);
        assert!(
            text.contains("$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"),
            "{text}"
        );
        assert!(
            text.contains("$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n"),
            "{text}"
        );
        // With the preamble (the default) the base is an RDB file.
        h.run(&["CONFIG", "SET", "aof-use-rdb-preamble", "yes"]);
        h.run(&["BGREWRITEAOF"]);
        let manifest = std::fs::read_to_string(aofdir.join("appendonly.aof.manifest")).unwrap();
        assert_eq!(manifest, "file appendonly.aof.2.base.rdb seq 2 type b\n");
        let base = std::fs::read(aofdir.join("appendonly.aof.2.base.rdb")).unwrap();
        assert!(base.starts_with(b"REDIS0010"));
        let text = String::from_utf8_lossy(&base);
        assert!(text.contains("aof-base"), "{text}");
        let _ = std::fs::remove_dir_all(&aofdir);
    }
}
