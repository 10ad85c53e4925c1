//! What real clients send when they connect (redis-behaviour.md A.2), replayed byte for byte,
//! plus the real tools (redis-cli, redis-benchmark) and the `redis` crate itself.

use std::path::PathBuf;
use std::process::Command;

use crate::connection::expect_hello;
use crate::support::{Raw, Resp, Server, cmd, show};

/// Asserts a CLIENT SETINFO reply as clients tolerate it: `+OK` (7.2 and later), or Redis
/// 7.0.15's own refusal of the unknown subcommand, which every client ignores.
fn expect_setinfo(c: &mut Raw, sub: &str) {
    let (v, raw) = c.read_reply_raw();
    let refusal = format!("-ERR unknown subcommand '{sub}'. Try CLIENT HELP.\r\n");
    assert!(
        raw == b"+OK\r\n" || raw == refusal.as_bytes(),
        "CLIENT {sub} reply {} ({v:?})",
        show(&raw)
    );
}

/// Asserts an INFO reply a client can parse: bulk (RESP2) or verbatim `txt` (RESP3), sections
/// `# Name`, `key:value` lines, every line ending in CRLF; returns its text.
fn expect_info(c: &mut Raw, resp3: bool) -> String {
    let (v, raw) = c.read_reply_raw();
    let text = match (&v, resp3) {
        (Resp::Bulk(t), false) => t.clone(),
        (Resp::Verbatim { format, text }, true) if format == "txt" => text.clone(),
        _ => panic!("INFO reply of the wrong type (resp3={resp3}): {}", show(&raw)),
    };
    let text = String::from_utf8(text).expect("INFO is text");
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && text.as_bytes()[i - 1] == b'\r', "INFO line without CR at {i}");
        }
    }
    assert!(text.starts_with("# Server\r\n"), "INFO starts with {:?}", &text[..20.min(text.len())]);
    for line in text.split("\r\n").filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(line.contains(':'), "INFO line without a colon: {line:?}");
    }
    text
}

#[test]
fn redis_cli_sequences() {
    let srv = Server::start();
    // `redis-cli ping`, `redis-cli -3 ping`, `redis-cli -n 2 ...`.
    let mut c = srv.raw();
    c.send(b"*1\r\n$4\r\nping\r\n");
    c.expect(b"+PONG\r\n");
    let mut c = srv.raw();
    c.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    expect_hello(&mut c, 3);
    c.send(b"*1\r\n$4\r\nping\r\n");
    c.expect(b"+PONG\r\n");
    let mut c = srv.raw();
    c.send(b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n");
    c.expect(b"+OK\r\n+OK\r\n");
    // `redis-cli --pipe` ends with an ECHO of 20 random bytes after a bare CRLF.
    let mut c = srv.raw();
    c.send(b"SET p 1\r\n\r\n*2\r\n$4\r\nECHO\r\n$20\r\n\x01\x02abcdefghijklmnop\xff\xfe\r\n");
    c.expect(b"+OK\r\n$20\r\n\x01\x02abcdefghijklmnop\xff\xfe\r\n");
}

/// Checks a COMMAND DOCS reply has the shape redis-cli asserts on: pairs of a name and a
/// map (RESP3) or flat array of pairs (RESP2) of documentation fields.
fn check_docs_shape(v: &Resp) {
    let pairs: Vec<(&Resp, &Resp)> = match v {
        Resp::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        Resp::Array(a) => {
            assert!(a.len() % 2 == 0, "COMMAND DOCS has an odd number of items");
            a.chunks(2).map(|p| (&p[0], &p[1])).collect()
        }
        other => panic!("COMMAND DOCS is neither an error, a map nor an array: {other:?}"),
    };
    assert!(pairs.len() > 20, "COMMAND DOCS documents only {} commands", pairs.len());
    for (name, doc) in pairs {
        assert!(matches!(name, Resp::Bulk(_)), "COMMAND DOCS name {name:?}");
        match doc {
            Resp::Map(_) => {}
            Resp::Array(d) => assert!(d.len() % 2 == 0, "COMMAND DOCS entry {name:?} is odd"),
            other => panic!("COMMAND DOCS entry {name:?} is {other:?}"),
        }
        assert!(doc.field("summary").is_some(), "COMMAND DOCS entry {name:?} has no summary");
    }
}

#[test]
fn interactive_redis_cli_command_docs() {
    // Interactive redis-cli sends COMMAND DOCS first and assert()s on the reply's shape; on an
    // error it falls back to COMMAND, which must then be well formed.
    let srv = Server::start();
    for resp3 in [false, true] {
        let mut c = srv.raw();
        if resp3 {
            c.send(b"HELLO 3\r\n");
            expect_hello(&mut c, 3);
        }
        c.send(b"*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n");
        let docs = c.read_reply();
        if !docs.is_error() {
            check_docs_shape(&docs);
        }
        c.send(b"*1\r\n$7\r\nCOMMAND\r\n");
        let Resp::Array(all) = c.read_reply() else { panic!("COMMAND is not an array") };
        assert!(all.len() > 20, "COMMAND lists {} commands", all.len());
        for e in &all {
            let Resp::Array(f) = e else { panic!("COMMAND entry {e:?}") };
            assert_eq!(f.len(), 10, "a 7.0 COMMAND entry has 10 fields: {e:?}");
            assert!(matches!(f[0], Resp::Bulk(_)) && matches!(f[1], Resp::Int(_)), "{e:?}");
        }
    }
}

#[test]
fn redis_benchmark_sequences() {
    let srv = Server::start();
    // The config probe, pipelined in one write.
    let mut c = srv.raw();
    c.send(&[cmd(&["CONFIG", "GET", "save"]), cmd(&["CONFIG", "GET", "appendonly"])].concat());
    c.expect(b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    // PING_INLINE, PING_MBULK, SET, GET, each pipelined.
    let mut c = srv.raw();
    c.send(&b"PING\r\n".repeat(5));
    c.expect(&b"+PONG\r\n".repeat(5));
    c.send(&b"*1\r\n$4\r\nPING\r\n".repeat(5));
    c.expect(&b"+PONG\r\n".repeat(5));
    c.send(&b"*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nVXK\r\n".repeat(5));
    c.expect(&b"+OK\r\n".repeat(5));
    c.send(&b"*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n".repeat(5));
    c.expect(&b"$3\r\nVXK\r\n".repeat(5));
    // With -3 and --dbnum.
    let mut c = srv.raw();
    c.send(b"*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    c.expect(b"+OK\r\n");
    expect_hello(&mut c, 3);
}

#[test]
fn redis_py_handshake() {
    // redis-py 8: HELLO 3, CLIENT SETNAME (must be OK), CLIENT SETINFO x2, SELECT.
    let srv = Server::with_args(&["--requirepass", "secret"]);
    let mut c = srv.raw();
    c.send(&cmd(&["HELLO", "3", "AUTH", "default", "secret"]));
    expect_hello(&mut c, 3);
    c.send(&cmd(&["CLIENT", "SETNAME", "py-app"]));
    c.expect(b"+OK\r\n");
    c.send(&cmd(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]));
    expect_setinfo(&mut c, "SETINFO");
    c.send(&cmd(&["CLIENT", "SETINFO", "LIB-VER", "8.1.0"]));
    expect_setinfo(&mut c, "SETINFO");
    c.send(&cmd(&["SELECT", "1"]));
    c.expect(b"+OK\r\n");
    c.expect_open();
    // With protocol=2: AUTH, then the same steps.
    let mut c = srv.raw();
    c.send(&cmd(&["AUTH", "secret"]));
    c.expect(b"+OK\r\n");
    c.send(&cmd(&["CLIENT", "SETNAME", "py-app"]));
    c.expect(b"+OK\r\n");
    c.expect_open();
}

#[test]
fn node_redis_and_go_redis_handshakes() {
    // node-redis 6 and go-redis 9: `HELLO 3 AUTH u p SETNAME n`, then SELECT and CLIENT SETINFO,
    // all pipelined in one write.
    let srv = Server::with_args(&["--requirepass", "secret"]);
    for lib in ["node-redis", "go-redis(,go1.24.0)"] {
        let mut c = srv.raw();
        let mut req = cmd(&["HELLO", "3", "AUTH", "default", "secret", "SETNAME", "svc"]);
        req.extend(cmd(&["SELECT", "2"]));
        req.extend(cmd(&["CLIENT", "SETINFO", "LIB-NAME", lib]));
        req.extend(cmd(&["CLIENT", "SETINFO", "LIB-VER", "6.2.1"]));
        req.extend(cmd(&["CLIENT", "GETNAME"]));
        c.send(&req);
        expect_hello(&mut c, 3);
        c.expect(b"+OK\r\n");
        expect_setinfo(&mut c, "SETINFO");
        expect_setinfo(&mut c, "SETINFO");
        c.expect(b"$3\r\nsvc\r\n");
    }
}

#[test]
fn ioredis_handshake_and_ready_check() {
    // ioredis 6: HELLO 3, SELECT, CLIENT SETNAME, CLIENT SETINFO x2, then INFO (ready check,
    // which waits while `loading:1`).
    let srv = Server::start();
    let mut c = srv.raw();
    let mut req = cmd(&["HELLO", "3"]);
    req.extend(cmd(&["SELECT", "0"]));
    req.extend(cmd(&["CLIENT", "SETNAME", "io"]));
    req.extend(cmd(&["CLIENT", "SETINFO", "LIB-VER", "6.0.0"]));
    req.extend(cmd(&["CLIENT", "SETINFO", "LIB-NAME", "ioredis"]));
    req.extend(cmd(&["INFO"]));
    c.send(&req);
    expect_hello(&mut c, 3);
    c.expect(b"+OK\r\n+OK\r\n");
    expect_setinfo(&mut c, "SETINFO");
    expect_setinfo(&mut c, "SETINFO");
    let info = expect_info(&mut c, true);
    for field in ["redis_version:7.0.15\r\n", "loading:0\r\n", "redis_mode:standalone\r\n"] {
        assert!(info.contains(field), "INFO lacks {field:?}");
    }
    // A RESP2 client sees the same text as a bulk string.
    let mut c = srv.raw();
    c.send(b"INFO\r\n");
    let info2 = expect_info(&mut c, false);
    assert!(info2.contains("\r\n# Keyspace\r\n"), "INFO lacks the Keyspace section");
    // ioredis falls back to RESP2 only on NOPROTO or "unknown command ... HELLO": an unknown
    // version must give NOPROTO.
    c.send(b"HELLO 4\r\n");
    c.expect(b"-NOPROTO unsupported protocol version\r\n");
}

#[test]
fn jedis_and_lettuce_handshakes() {
    // Both read `proto` and `version` from the HELLO map, then name, identify and select.
    let srv = Server::start();
    let mut c = srv.raw();
    c.send(&cmd(&["HELLO", "3"]));
    let (v, _) = c.read_reply_raw();
    assert_eq!(v.field("proto"), Some(&Resp::Int(3)));
    assert!(v.field("version").is_some_and(|s| s.is_text("7.0.15")));
    assert!(v.field("server").is_some_and(|s| s.is_text("redis")));
    let mut req = cmd(&["CLIENT", "SETNAME", "jedis-app"]);
    req.extend(cmd(&["CLIENT", "SETINFO", "lib-name", "jedis"]));
    req.extend(cmd(&["CLIENT", "SETINFO", "lib-ver", "8.0.0"]));
    req.extend(cmd(&["SELECT", "3"]));
    c.send(&req);
    c.expect(b"+OK\r\n");
    expect_setinfo(&mut c, "SETINFO");
    expect_setinfo(&mut c, "SETINFO");
    c.expect(b"+OK\r\n");
    c.expect_open();
}

#[test]
fn redis_rs_connects_with_resp2_and_resp3() {
    // The `redis` crate itself: AUTH / HELLO 3, SELECT n, CLIENT SETINFO (ignored result).
    use redis::Commands;
    let srv = Server::with_args(&["--requirepass", "secret"]);
    for proto in ["resp2", "resp3"] {
        let url = format!("redis://:secret@127.0.0.1:{}/4?protocol={proto}", srv.port);
        let client = redis::Client::open(url).expect("url");
        let mut con = client
            .get_connection_with_timeout(crate::support::REPLY_TIMEOUT)
            .unwrap_or_else(|e| panic!("{proto} connect: {e}"));
        let () = con.set("rs-key", proto).expect("SET");
        let got: String = con.get("rs-key").expect("GET");
        assert_eq!(got, proto);
        let missing: Option<String> = con.get("rs-missing").expect("GET missing");
        assert_eq!(missing, None);
    }
    // Both wrote database 4, not 0.
    let mut c = srv.raw_authed();
    c.send(b"GET rs-key\r\nSELECT 4\r\nGET rs-key\r\n");
    c.expect(b"$-1\r\n+OK\r\n$5\r\nresp3\r\n");
}

/// Finds a tool on PATH. When it is missing outside CI, the test says so and returns `None`;
/// in CI (where `.ci/run` installs redis-tools) a missing tool fails the test.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|d| d.join(name)).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed (apt-get install redis-tools)"
        );
        eprintln!("note: {name} not installed; install redis-tools to run this test");
    }
    found
}

fn run(tool: &PathBuf, args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the tool");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input).expect("feed stdin");
    }
    let out = child.wait_with_output().expect("tool output");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?} failed: {text}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn real_redis_cli() {
    let Some(cli) = tool("redis-cli") else { return };
    let srv = Server::start();
    let p = srv.port.to_string();
    assert_eq!(run(&cli, &["-p", &p, "ping"], None), "PONG\n");
    assert_eq!(run(&cli, &["-p", &p, "-3", "ping"], None), "PONG\n");
    assert_eq!(run(&cli, &["-p", &p, "-n", "2", "set", "k", "v"], None), "OK\n");
    assert_eq!(run(&cli, &["-p", &p, "-n", "2", "get", "k"], None), "v\n");
    assert_eq!(run(&cli, &["-p", &p, "get", "k"], None), "\n");
    let info = run(&cli, &["-p", &p, "info", "server"], None);
    assert!(info.contains("redis_version:7.0.15"), "redis-cli info: {info}");
    // --pipe: mass insertion, ending with the ECHO handshake.
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend(cmd(&["SET", &format!("pipe:{i}"), &i.to_string()]));
    }
    let out = run(&cli, &["-p", &p, "--pipe"], Some(&input));
    assert!(out.contains("errors: 0, replies: 1000"), "redis-cli --pipe: {out}");
    assert_eq!(run(&cli, &["-p", &p, "get", "pipe:999"], None), "999\n");
}

#[test]
fn real_redis_benchmark() {
    let Some(bench) = tool("redis-benchmark") else { return };
    let srv = Server::start();
    let p = srv.port.to_string();
    for extra in [&[][..], &["-P", "16"], &["-3"]] {
        let mut args =
            vec!["-p", &p, "-n", "2000", "-c", "4", "-t", "ping,set,get,incr,mset", "-q"];
        args.extend_from_slice(extra);
        let out = run(&bench, &args, None);
        assert!(!out.contains("WARNING"), "redis-benchmark {extra:?}: {out}");
        for t in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"] {
            assert!(
                // -q rewrites a progress line in place with CRs before the final figure.
                out.split(['\r', '\n']).any(|l| l.trim().starts_with(&format!("{t}: "))
                    && l.contains("requests per second")),
                "redis-benchmark {extra:?} has no {t} result: {out}"
            );
        }
    }
}
