//! CONFIG GET, SET, RESETSTAT, REWRITE, HELP, and the live hooks that apply a CONFIG SET.
//!
//! CONFIG SET follows Redis's order: resolve every name (unknown, immutable, protected and
//! duplicate names fail before anything changes), set every value under the config lock
//! (restoring the old values if one is refused), then run each distinct apply hook once; if a
//! hook fails, every value is restored and the hooks run again with the old values.

use crate::command::{Command, Ctx, flags::*};
use crate::config::table::{self, Apply, Directive, flags as cf};
use crate::config::{Config, process, rewrite};
use crate::server::Server;
use crate::util::glob::glob_match;

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// CONFIG (container; dispatch selects a subcommand before a handler runs)
fn config(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv.get(1).copied().unwrap_or_default();
    ctx.out
        .error(&crate::protocol::errors::unknown_subcommand(sub, "config"));
}

/// CONFIG GET parameter [parameter ...]
fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) {
    let cfg = ctx.server.config.read();
    // (name as listed, row); names compare case-insensitively, as Redis's reply dict does.
    let mut found: Vec<(&[u8], &'static Directive)> = Vec::new();
    let seen = |found: &[(&[u8], &Directive)], n: &[u8]| {
        found.iter().any(|(f, _)| f.eq_ignore_ascii_case(n))
    };
    for &pat in &argv[2..] {
        if !pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
            // An exact name, shown as given; hidden directives are found this way only.
            if !seen(&found, pat)
                && let Some((d, _)) = table::lookup(pat)
            {
                found.push((pat, d));
            }
            continue;
        }
        for (name, d) in table::names() {
            if d.flags & cf::HIDDEN != 0 || seen(&found, name.as_bytes()) {
                continue;
            }
            if glob_match(pat, name.as_bytes(), true) {
                found.push((name.as_bytes(), d));
            }
        }
    }
    ctx.out.map(found.len());
    for (name, d) in found {
        ctx.out.bulk(name);
        ctx.out.bulk(&cfg.get(d));
    }
}

/// The CONFIG SET error for `name`, with its reason.
fn set_failed(name: &str, reason: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
}

/// Restores `old` values of `dirs` after a failed CONFIG SET, logging what can't be restored.
fn restore(cfg: &mut Config, dirs: &[(&'static Directive, String)], old: &[Vec<u8>]) {
    for ((d, name), v) in dirs.iter().zip(old) {
        if let Err(e) = cfg.set_value(d, v) {
            tracing::warn!(
                "Failed restoring failed CONFIG SET command. Error setting {name} to '{}': {e}",
                lossy(v)
            );
        }
    }
}

/// CONFIG SET parameter value [parameter value ...]
fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) {
    if !argv.len().is_multiple_of(2) {
        return ctx.syntax_error();
    }
    let server = ctx.server;
    let protected_ok = {
        let cfg = server.config.read();
        Config::protected_action_allowed(&cfg.enable_protected_configs, ctx.client.info.is_local())
    };
    // Resolve every name first; the first problem found is the one reported.
    let mut dirs: Vec<(&'static Directive, String)> = Vec::new();
    let mut values: Vec<&[u8]> = Vec::new();
    let mut error: Option<String> = None;
    for pair in argv[2..].chunks(2) {
        let (name, value) = (pair[0], pair[1]);
        let Some((d, alias)) = table::lookup(name) else {
            if error.is_none() {
                error = Some(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    lossy(name)
                ));
            }
            continue;
        };
        if error.is_some() {
            continue;
        }
        let reason = if d.flags & cf::IMMUTABLE != 0 {
            Some("can't set immutable config")
        } else if d.flags & cf::PROTECTED != 0 && !protected_ok {
            Some("can't set protected config")
        } else if dirs
            .iter()
            .any(|(o, n)| std::ptr::eq(*o, d) && (n.as_str() != d.name) == alias)
        {
            // Redis keeps an alias as its own entry, so only the same spelling is a duplicate.
            Some("duplicate parameter")
        } else {
            None
        };
        if let Some(reason) = reason {
            error = Some(set_failed(&lossy(name), reason));
            continue;
        }
        let shown = if alias {
            d.alias.unwrap_or(d.name)
        } else {
            d.name
        };
        dirs.push((d, shown.to_string()));
        values.push(value);
    }
    if let Some(e) = error {
        return ctx.out.error(&e);
    }

    // Set every value, remembering the old ones and the hooks to run.
    let mut hooks: Vec<(Apply, usize)> = Vec::new();
    let old: Vec<Vec<u8>>;
    let mut warnings = Vec::new();
    {
        let mut cfg = server.config.write();
        old = dirs.iter().map(|(d, _)| cfg.get(d)).collect();
        for (i, ((d, name), value)) in dirs.iter().zip(&values).enumerate() {
            match cfg.set_value(d, value) {
                Err(reason) => {
                    restore(&mut cfg, &dirs[..=i], &old[..=i]);
                    return ctx.out.error(&set_failed(name, &reason));
                }
                Ok(changed) => {
                    if changed
                        && d.apply != Apply::None
                        && !hooks.iter().any(|(a, _)| *a == d.apply)
                    {
                        hooks.push((d.apply, i));
                    }
                }
            }
        }
        for (d, _) in &dirs {
            if let Some(w) = cfg.unsupported_warning(d) {
                warnings.push(w);
            }
        }
    }

    // Apply, without the config lock (a hook may read the config).
    for &(hook, i) in &hooks {
        if let Err(reason) = apply(server, hook) {
            let name = &dirs[i].1;
            tracing::warn!(
                "Failed applying new configuration. Possibly related to new {name} setting. \
                 Restoring previous settings."
            );
            restore(&mut server.config.write(), &dirs, &old);
            for &(h, _) in &hooks {
                if let Err(e) = apply(server, h) {
                    tracing::warn!("Failed applying restored failed CONFIG SET command: {e}");
                }
            }
            return ctx.out.error(&set_failed(name, &reason));
        }
    }
    // Persistence hook: appendonly / appendfsync / aof-timestamp-enabled /
    // aof-disable-auto-gc take effect.
    if dirs.iter().any(|(d, _)| {
        matches!(
            d.name,
            "appendonly" | "appendfsync" | "aof-timestamp-enabled" | "aof-disable-auto-gc"
        )
    }) && let Err(reason) = crate::persistence::aof::config_changed(server, ctx.client.in_exec)
    {
        let name = &dirs[0].1;
        restore(&mut server.config.write(), &dirs, &old);
        return ctx.out.error(&set_failed(name, &reason));
    }
    for w in warnings {
        tracing::warn!("{w}");
    }
    // The keyspace's own copy of the settings it reads on hot paths (policy, lazy freeing).
    crate::server::cron::sync_tunables(server);
    // The command table's copy (latency tracking, slow log).
    server.table.apply_config(&server.config.read());
    ctx.out.ok();
}

/// Runs a live hook after CONFIG SET changed a directive.
fn apply(server: &Server, hook: Apply) -> Result<(), String> {
    match hook {
        Apply::None => Ok(()),
        Apply::LogLevel => {
            crate::logging::set_level(&server.config.read().loglevel);
            Ok(())
        }
        Apply::JemallocBgThread => {
            crate::server::info::apply_jemalloc_bg_thread(&server.config.read());
            Ok(())
        }
        Apply::Hz => {
            // hz is a hint: out-of-range values are accepted and clamped.
            let mut cfg = server.config.write();
            cfg.hz = cfg.hz.clamp(1, 500);
            Ok(())
        }
        Apply::Port => crate::server::listen::rebind(server)
            .map_err(|_| "Unable to listen on this port. Check server logs.".to_string()),
        Apply::Bind => crate::server::listen::rebind(server)
            .map_err(|_| "Failed to bind to specified addresses.".to_string()),
        Apply::Maxclients => {
            let wanted = server.config.read().maxclients;
            // Where Redis would exit because the limit is below its reserve, we refuse instead.
            let possible = process::adjust_open_files_limit(wanted).unwrap_or(0);
            if possible == wanted {
                return Ok(());
            }
            Err(format!(
                "The operating system is not able to handle the specified number of clients, try \
                 with {possible}"
            ))
        }
        Apply::Maxmemory => {
            let maxmemory = server.config.read().maxmemory;
            if maxmemory > 0 {
                let used = crate::server::info::used_memory();
                if maxmemory < used {
                    tracing::warn!(
                        "WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is \
                         smaller than the current memory usage ({used}). This will result in key \
                         eviction and/or the inability to accept new write commands depending on \
                         the maxmemory-policy."
                    );
                }
            }
            Ok(())
        }
        Apply::OomScoreAdj => process::set_oom_score_adj(&server.config.read())
            .map_err(|_| "Failed to set current oom_score_adj. Check server logs.".to_string()),
    }
}

/// CONFIG RESETSTAT
fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let server = ctx.server;
    server.stats.reset();
    server.table.reset_stats();
    server.store.reset_stats();
    crate::store::lazyfree::reset_stats();
    ctx.out.ok();
}

/// Rewrites the config file (CONFIG REWRITE; with `force_all`, DEBUG CONFIG-REWRITE-FORCE-ALL,
/// which writes every directive). The error is the OS's reason (`strerror`).
pub fn rewrite_config_file(server: &Server, force_all: bool) -> Result<(), String> {
    let cfg = server.config.read();
    rewrite::rewrite_config(&cfg, force_all).map_err(|e| match e.raw_os_error() {
        Some(n) => crate::config::strerror(n),
        None => e.to_string(),
    })
}

/// CONFIG REWRITE
fn config_rewrite(ctx: &mut Ctx, _argv: &[&[u8]]) {
    if ctx.server.config.read().config_file.is_none() {
        return ctx
            .out
            .error("ERR The server is running without a config file");
    }
    match rewrite_config_file(ctx.server, false) {
        Ok(()) => {
            tracing::warn!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        Err(e) => {
            tracing::warn!("CONFIG REWRITE failed: {e}");
            ctx.out.error(&format!("ERR Rewriting config file: {e}"));
        }
    }
}

/// CONFIG HELP
fn config_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    const LINES: &[&str] = &[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.array(LINES.len());
    for l in LINES {
        ctx.out.simple(l.as_bytes());
    }
}

const SUBCOMMANDS: &[Command] = &[
    Command {
        group: "server",
        since: "2.0.0",
        summary: "Get the values of configuration parameters",
        complexity: "O(N) when N is the number of configuration parameters provided",
        ..Command::new("get", -3, ADMIN | NOSCRIPT | LOADING | STALE, config_get)
    },
    Command {
        group: "server",
        since: "2.0.0",
        summary: "Set configuration parameters to the given values",
        complexity: "O(N) when N is the number of configuration parameters provided",
        ..Command::new("set", -4, ADMIN | NOSCRIPT | LOADING | STALE, config_set)
    },
    Command {
        group: "server",
        since: "2.0.0",
        summary: "Reset the stats returned by INFO",
        ..Command::new(
            "resetstat",
            2,
            ADMIN | NOSCRIPT | LOADING | STALE,
            config_resetstat,
        )
    },
    Command {
        group: "server",
        since: "2.8.0",
        summary: "Rewrite the configuration file with the in memory configuration",
        ..Command::new(
            "rewrite",
            2,
            ADMIN | NOSCRIPT | LOADING | STALE,
            config_rewrite,
        )
    },
    Command {
        group: "server",
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..Command::new("help", 2, LOADING | STALE, config_help)
    },
];

pub const COMMANDS: &[Command] = &[Command {
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands",
    complexity: "Depends on subcommand.",
    subcommands: SUBCOMMANDS,
    ..Command::new("config", -2, 0, config)
}];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::protocol::Reply;
    use crate::protocol::reply::Value;
    use crate::server::Server;
    use crate::server::client::{Client, ClientInfo};

    fn server() -> Server {
        Server::new(crate::config::Config::default(), crate::cmd::FAMILIES)
    }

    fn run_as(server: &Server, addr: &str, resp3: bool, argv: &[&str]) -> Value {
        let info = Arc::new(ClientInfo::new(
            1,
            addr.into(),
            "127.0.0.1:6379".into(),
            -1,
            false,
        ));
        let mut client = Client::new(info, true);
        let mut out = Reply::new();
        out.resp3 = resp3;
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        server.execute(&mut client, &mut out, &argv);
        Value::parse(&out.buf).expect("one complete reply").0
    }

    fn run(server: &Server, argv: &[&str]) -> Value {
        run_as(server, "127.0.0.1:5555", false, argv)
    }

    fn err(s: &str) -> Value {
        Value::Error(s.into())
    }

    fn bulks(items: &[&str]) -> Value {
        Value::Array(
            items
                .iter()
                .map(|s| Value::Bulk(s.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn get_exact_patterns_and_duplicates() {
        let s = server();
        assert_eq!(
            run(&s, &["CONFIG", "GET", "MAXMEMORY"]),
            bulks(&["MAXMEMORY", "0"])
        );
        assert_eq!(run(&s, &["config", "get", "nosuch"]), Value::Array(vec![]));
        let Value::Array(v) = run(
            &s,
            &["config", "get", "maxmemory", "maxmemory*", "bind", "*of"],
        ) else {
            panic!()
        };
        let names: Vec<Value> = v.iter().step_by(2).cloned().collect();
        assert_eq!(names.len() * 2, v.len());
        for n in [
            "maxmemory",
            "maxmemory-samples",
            "maxmemory-clients",
            "bind",
            "slaveof",
            "replicaof",
        ] {
            assert!(names.contains(&Value::Bulk(n.as_bytes().to_vec())), "{n}");
        }
        // Hidden directives need their exact name.
        let Value::Array(all) = run(&s, &["config", "get", "*"]) else {
            panic!()
        };
        assert_eq!(all.len(), 2 * 192);
        assert!(!all.contains(&Value::Bulk(b"key-load-delay".to_vec())));
        assert_eq!(
            run(&s, &["config", "get", "key-load-delay"]),
            bulks(&["key-load-delay", "0"])
        );
        // RESP3: a map.
        assert_eq!(
            run_as(&s, "127.0.0.1:1", true, &["config", "get", "maxmemory"]),
            Value::Map(vec![(
                Value::Bulk(b"maxmemory".to_vec()),
                Value::Bulk(b"0".to_vec())
            )])
        );
    }

    #[test]
    fn set_errors_as_redis() {
        let s = server();
        assert_eq!(
            run(&s, &["config", "set", "nosuch", "1"]),
            err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
        );
        assert_eq!(
            run(&s, &["config", "set", "maxmemory", "abc"]),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must \
                 be a memory value"
            )
        );
        assert_eq!(
            run(&s, &["config", "set", "daemonize", "no"]),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set \
                 immutable config"
            )
        );
        assert_eq!(
            run(&s, &["config", "set", "dir", "x", "daemonize", "no"]),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected \
                 config"
            )
        );
        assert_eq!(
            run(&s, &["config", "set", "maxmemory", "1", "maxmemory", "2"]),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate \
                 parameter"
            )
        );
        assert_eq!(
            run(&s, &["config", "set", "a", "b", "c"]),
            err("ERR syntax error")
        );
        assert_eq!(
            run(&s, &["config", "set", "a"]),
            err("ERR wrong number of arguments for 'config|set' command")
        );
        assert_eq!(
            run(&s, &["config", "foo"]),
            err("ERR unknown subcommand 'foo'. Try CONFIG HELP.")
        );
        assert_eq!(
            run(&s, &["config", "set", "HASH-MAX-ZIPLIST-ENTRIES", "x"]),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') \
                 - argument couldn't be parsed into an integer"
            )
        );
        // An alias and its primary name are not duplicates; the last one wins.
        assert_eq!(
            run(
                &s,
                &[
                    "config",
                    "set",
                    "hash-max-ziplist-entries",
                    "1",
                    "hash-max-listpack-entries",
                    "2"
                ]
            ),
            Value::Simple("OK".into())
        );
        assert_eq!(s.config.read().hash_max_listpack_entries, 2);
    }

    #[test]
    fn set_is_atomic_with_rollback() {
        let s = server();
        assert_eq!(
            run(&s, &["config", "set", "maxmemory", "10000002"]),
            Value::Simple("OK".into())
        );
        assert_eq!(
            run(
                &s,
                &[
                    "config",
                    "set",
                    "maxmemory",
                    "10000001",
                    "maxmemory-clients",
                    "200%",
                    "client-query-buffer-limit",
                    "invalid"
                ]
            ),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - \
                 percentage argument must be less or equal to 100"
            )
        );
        let cfg = s.config.read();
        assert_eq!(cfg.maxmemory, 10000002);
        assert_eq!(cfg.maxmemory_clients, 0);
        assert_eq!(cfg.client_query_buffer_limit, 1 << 30);
    }

    #[test]
    fn set_several_and_apply_hooks() {
        let s = server();
        assert_eq!(
            run(
                &s,
                &[
                    "config",
                    "set",
                    "maxmemory",
                    "10000001",
                    "repl-backlog-size",
                    "10000002",
                    "save",
                    "3000 5",
                    "hz",
                    "100000"
                ]
            ),
            Value::Simple("OK".into())
        );
        assert_eq!(
            run(&s, &["config", "get", "save"]),
            bulks(&["save", "3000 5"])
        );
        assert_eq!(
            run(&s, &["config", "get", "repl-backlog-size"]),
            bulks(&["repl-backlog-size", "10000002"])
        );
        // The hz hook clamps the value, as Redis does.
        assert_eq!(run(&s, &["config", "get", "hz"]), bulks(&["hz", "500"]));
    }

    #[test]
    fn protected_configs_follow_enable_protected_configs() {
        let mut cfg = crate::config::Config::default();
        cfg.enable_protected_configs = "local".into();
        let s = Server::new(cfg, crate::cmd::FAMILIES);
        let dbf = ["config", "set", "dbfilename", "x.rdb"];
        assert_eq!(
            run_as(&s, "10.1.2.3:5000", false, &dbf),
            err(
                "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set \
             protected config"
            )
        );
        assert_eq!(
            run_as(&s, "127.0.0.1:5000", false, &dbf),
            Value::Simple("OK".into())
        );
        assert_eq!(
            run(&s, &["config", "get", "dbfilename"]),
            bulks(&["dbfilename", "x.rdb"])
        );
    }

    #[test]
    fn help_resetstat_rewrite() {
        let s = server();
        let Value::Array(help) = run(&s, &["config", "help"]) else {
            panic!()
        };
        assert_eq!(help.len(), 11);
        assert_eq!(
            help[0],
            Value::Simple("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        run(&s, &["nosuchcommand"]);
        assert!(
            s.stats
                .total_error_replies
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        );
        assert_eq!(
            run(&s, &["config", "resetstat"]),
            Value::Simple("OK".into())
        );
        assert_eq!(
            s.stats
                .total_error_replies
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        assert!(s.stats.errorstats.lock().is_empty());
        assert_eq!(
            run(&s, &["config", "rewrite"]),
            err("ERR The server is running without a config file")
        );
    }
}
