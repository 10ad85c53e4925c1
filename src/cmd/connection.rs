//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT with its
//! subcommands. They act on the calling session (`ctx.client`, the protocol of `ctx.out`) and,
//! for CLIENT LIST / KILL / PAUSE, on the server's client registry. No keys.

use std::sync::atomic::Ordering;

use crate::command::{Command, Ctx, flags::*};
use crate::protocol::errors;
use crate::server::Server;
use crate::server::client::{
    ClientInfo, ClientType, NameKind, PauseKind, ReplyMode, flags as cflags,
};
use crate::util::parse_i64_strict;

/// Returns true when `user` / `pass` log in. There is one user, `default`, whose password is
/// `requirepass`; without one, any password logs it in (`nopass`), as Redis's ACL does.
pub fn authenticate(server: &Server, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &server.config.read().requirepass {
        None => true,
        Some(p) => p.as_slice() == pass,
    }
}

/// True when a client name (or CLIENT SETINFO value) keeps CLIENT LIST splittable: printable
/// ASCII without spaces.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Sets the client name (an empty name removes it), or replies the error and returns false.
fn set_name(ctx: &mut Ctx, name: &[u8]) -> bool {
    if !valid_name(name) {
        ctx.out.error(errors::BAD_CLIENT_NAME);
        return false;
    }
    store_name(ctx, NameKind::Name, name);
    true
}

/// Stores the client name or CLIENT SETINFO value of `kind`: an empty one removes it.
fn store_name(ctx: &mut Ctx, kind: NameKind, value: &[u8]) {
    ctx.client.info.set_name_of(kind, (!value.is_empty()).then(|| value.to_vec()));
}

/// Switches the session's protocol version (2 or 3).
fn set_protocol(ctx: &mut Ctx, ver: i64) {
    ctx.out.resp3 = ver == 3;
    ctx.client.info.resp.store(ver as u8, Ordering::Relaxed);
    if ver == 3 {
        // A RESP3 connection can receive pushes from others (client-side caching's
        // invalidations redirected to it) whether or not it subscribes: give it its inbox.
        crate::server::pubsub::ensure_inbox(&ctx.server.pubsub, ctx.client);
    }
}

/// PING [message]
fn ping(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 2 {
        return ctx.out.error(&errors::wrong_arity("ping"));
    }
    // Subscribed RESP2 clients get a pub/sub-shaped reply they can tell apart from messages.
    if !ctx.out.resp3 && ctx.client.info.has_flag(cflags::PUBSUB) {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
        return;
    }
    match argv.get(1) {
        None => ctx.out.simple(b"PONG"),
        Some(m) => ctx.out.bulk(m),
    }
}

/// ECHO message
fn echo(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.bulk(argv[1]);
}

/// QUIT
fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// SELECT index
fn select(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(n) = parse_i64_strict(argv[1]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return ctx.out.error(&errors::out_of_range_between(i32::MIN as i64, i32::MAX as i64));
    }
    if n < 0 || n as usize >= ctx.server.store.databases() {
        return ctx.out.error(errors::DB_INDEX_OUT_OF_RANGE);
    }
    ctx.select(n as usize);
    ctx.out.ok();
}

/// AUTH [username] password
fn auth(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return ctx.syntax_error();
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        if !ctx.server.auth_required() {
            return ctx.out.error(errors::NO_PASSWORD_SET);
        }
        (b"default", argv[1])
    } else {
        (argv[1], argv[2])
    };
    if authenticate(ctx.server, user, pass) {
        ctx.client.authenticated = true;
        ctx.out.ok();
    } else {
        ctx.out.error(errors::WRONGPASS);
    }
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut ver = 0;
    if let Some(v) = argv.get(1) {
        let Some(v) = parse_i64_strict(v) else {
            return ctx.out.error(errors::HELLO_PROTO_NOT_INT);
        };
        if !(2..=3).contains(&v) {
            return ctx.out.error(errors::NOPROTO);
        }
        ver = v;
    }
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
            if !authenticate(ctx.server, argv[j + 1], argv[j + 2]) {
                return ctx.out.error(errors::WRONGPASS);
            }
            ctx.client.authenticated = true;
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
            if !set_name(ctx, argv[j + 1]) {
                return;
            }
            j += 2;
        } else {
            return ctx.out.error(&errors::hello_syntax(opt));
        }
    }
    if !ctx.client.authenticated && ctx.server.auth_required() {
        return ctx.out.error(errors::HELLO_NOAUTH);
    }
    if ver != 0 {
        set_protocol(ctx, ver);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

/// RESET
fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let f = ctx.client.info.flags.load(Ordering::Relaxed);
    if f & (cflags::REPLICA | cflags::MASTER) != 0 && f & cflags::MONITOR == 0 {
        return ctx.out.error(errors::RESET_NOT_NORMAL);
    }
    ctx.client.info.set_flag(cflags::MONITOR | cflags::REPLICA, false);
    let authenticated = !ctx.server.auth_required();
    crate::cmd::multi::forget(ctx.server, ctx.client);
    crate::server::pubsub::unsubscribe_everything(&ctx.server.pubsub, ctx.client);
    ctx.server.tracking.disable(&ctx.server.store, &ctx.client.info);
    ctx.client.reset_session(authenticated);
    ctx.select(0);
    ctx.out.resp3 = false;
    ctx.out.simple(b"RESET");
}

/// The full name of the command a client last ran, as CLIENT LIST shows it.
fn last_cmd_name<'a>(ctx: &'a Ctx, c: &ClientInfo) -> &'a str {
    let idx = c.last_cmd.load(Ordering::Relaxed);
    ctx.server.table.entries.get(idx).map_or("NULL", |e| e.full_name.as_str())
}

/// Appends one client's CLIENT LIST line and a newline; the calling client is shown as Redis
/// shows it, running this very command.
fn client_line(ctx: &Ctx, c: &ClientInfo, argv: &[&[u8]], out: &mut Vec<u8>) {
    if c.id == ctx.client.id {
        let argv_mem = argv.iter().map(|a| a.len()).sum();
        let cmd = ctx.server.table.entries[ctx.entry].full_name.as_str();
        let pending = ctx.out.buf.len().saturating_sub(ctx.client.out_written);
        c.write_info_line_with(out, cmd, argv_mem, pending);
    } else {
        c.write_info_line(out, last_cmd_name(ctx, c), 0);
    }
    out.push(b'\n');
}

/// CLIENT ID
fn client_id(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.int(ctx.client.id as i64);
}

/// CLIENT INFO
fn client_info(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut text = Vec::with_capacity(512);
    let me = ctx.client.info.clone();
    client_line(ctx, &me, argv, &mut text);
    ctx.out.verbatim(&text);
}

/// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
fn client_list(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut text = Vec::new();
    if argv.len() == 4 && argv[2].eq_ignore_ascii_case(b"type") {
        let Some(t) = ClientType::by_name(argv[3]) else {
            return ctx.out.error(&errors::unknown_client_type(argv[3]));
        };
        for c in ctx.server.clients.all() {
            if c.client_type() == t {
                client_line(ctx, &c, argv, &mut text);
            }
        }
    } else if argv.len() > 3 && argv[2].eq_ignore_ascii_case(b"id") {
        for a in &argv[3..] {
            let Some(id) = parse_i64_strict(a) else {
                return ctx.out.error(errors::INVALID_CLIENT_ID);
            };
            if let Some(c) = ctx.server.clients.get(id as u64) {
                client_line(ctx, &c, argv, &mut text);
            }
        }
    } else if argv.len() != 2 {
        return ctx.syntax_error();
    } else {
        for c in ctx.server.clients.all() {
            client_line(ctx, &c, argv, &mut text);
        }
    }
    ctx.out.verbatim(&text);
}

/// CLIENT SETNAME connection-name
fn client_setname(ctx: &mut Ctx, argv: &[&[u8]]) {
    if set_name(ctx, argv[2]) {
        ctx.out.ok();
    }
}

/// CLIENT GETNAME
fn client_getname(ctx: &mut Ctx, _argv: &[&[u8]]) {
    match ctx.client.info.name() {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
}

/// CLIENT SETINFO LIB-NAME libname | LIB-VER libver (Redis 7.2; clients send it on connect)
fn client_setinfo(ctx: &mut Ctx, argv: &[&[u8]]) {
    let (attr, val) = (argv[2], argv[3]);
    let kind = if attr.eq_ignore_ascii_case(b"lib-name") {
        NameKind::LibName
    } else if attr.eq_ignore_ascii_case(b"lib-ver") {
        NameKind::LibVer
    } else {
        return ctx.out.error(&errors::unrecognized_option(attr));
    };
    if !valid_name(val) {
        return ctx.out.error(&errors::bad_client_attr(attr));
    }
    store_name(ctx, kind, val);
    ctx.out.ok();
}

/// CLIENT REPLY ON|OFF|SKIP
fn client_reply(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mode = argv[2];
    if mode.eq_ignore_ascii_case(b"on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if mode.eq_ignore_ascii_case(b"off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.syntax_error();
    }
}

/// CLIENT NO-EVICT ON|OFF
fn client_no_evict(ctx: &mut Ctx, argv: &[&[u8]]) {
    let on = if argv[2].eq_ignore_ascii_case(b"on") {
        true
    } else if argv[2].eq_ignore_ascii_case(b"off") {
        false
    } else {
        return ctx.syntax_error();
    };
    ctx.client.info.no_evict.store(on, Ordering::Relaxed);
    ctx.out.ok();
}

/// Which clients CLIENT KILL closes.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    id: Option<u64>,
    max_age: Option<u64>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, c: &ClientInfo, me: u64) -> bool {
        self.addr.is_none_or(|a| a == c.addr().as_bytes())
            && self.laddr.is_none_or(|a| a == c.laddr().as_bytes())
            && self.kind.is_none_or(|k| k == c.client_type())
            && self.id.is_none_or(|id| id == c.id)
            && self.max_age.is_none_or(|age| c.age_secs() >= age)
            && !(self.skip_me && c.id == me)
    }
}

/// CLIENT KILL ip:port
/// CLIENT KILL [ID id] [TYPE type] [USER username] [ADDR ip:port] [LADDR ip:port]
///             [SKIPME yes|no] [MAXAGE seconds] ...
fn client_kill(ctx: &mut Ctx, argv: &[&[u8]]) {
    let old_form = argv.len() == 3;
    let mut f = KillFilter { skip_me: true, ..KillFilter::default() };
    if old_form {
        f.addr = Some(argv[2]);
        // With the old form a client may kill itself.
        f.skip_me = false;
    } else {
        let mut i = 2;
        while i < argv.len() {
            let (opt, val) = (argv[i], argv.get(i + 1).copied());
            let Some(val) = val else { return ctx.syntax_error() };
            if opt.eq_ignore_ascii_case(b"id") {
                match parse_i64_strict(val) {
                    Some(id) if id >= 1 => f.id = Some(id as u64),
                    _ => return ctx.out.error(errors::CLIENT_ID_POSITIVE),
                }
            } else if opt.eq_ignore_ascii_case(b"type") {
                match ClientType::by_name(val) {
                    Some(t) => f.kind = Some(t),
                    None => return ctx.out.error(&errors::unknown_client_type(val)),
                }
            } else if opt.eq_ignore_ascii_case(b"addr") {
                f.addr = Some(val);
            } else if opt.eq_ignore_ascii_case(b"laddr") {
                f.laddr = Some(val);
            } else if opt.eq_ignore_ascii_case(b"user") {
                // `default` is the only user, and every client is logged in as it.
                if val != b"default" {
                    return ctx.out.error(&errors::no_such_user(val));
                }
            } else if opt.eq_ignore_ascii_case(b"skipme") {
                if val.eq_ignore_ascii_case(b"yes") {
                    f.skip_me = true;
                } else if val.eq_ignore_ascii_case(b"no") {
                    f.skip_me = false;
                } else {
                    return ctx.syntax_error();
                }
            } else if opt.eq_ignore_ascii_case(b"maxage") {
                // Redis 7.4's filter: clients connected at least this many seconds.
                match parse_i64_strict(val) {
                    Some(age) if age >= 0 => f.max_age = Some(age as u64),
                    _ => return ctx.out.error(errors::NOT_INTEGER),
                }
            } else {
                return ctx.syntax_error();
            }
            i += 2;
        }
    }
    let me = ctx.client.id;
    let mut killed = 0;
    let mut close_me = false;
    for c in ctx.server.clients.all() {
        if !f.matches(&c, me) {
            continue;
        }
        if c.id == me {
            close_me = true;
        } else {
            ctx.server.clients.kill(&c);
            if c.has_flag(cflags::PUBSUB) {
                ctx.server.pubsub.drop_client(c.id);
            }
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            ctx.out.error(errors::NO_SUCH_CLIENT);
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
    // Flagged only after the reply is queued, so the reply is still written.
    if close_me {
        ctx.client.close_after_reply = true;
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]
fn client_pause(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 4 {
        return ctx.out.error(&errors::subcommand_syntax(argv[1], argv[0]));
    }
    let mut kind = PauseKind::All;
    if let Some(m) = argv.get(3) {
        if m.eq_ignore_ascii_case(b"write") {
            kind = PauseKind::Write;
        } else if !m.eq_ignore_ascii_case(b"all") {
            return ctx.out.error(errors::PAUSE_MODE);
        }
    }
    let Some(ms) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::TIMEOUT_NOT_INTEGER);
    };
    if ms < 0 {
        return ctx.out.error(errors::TIMEOUT_NEGATIVE);
    }
    let end = if ms > 0 { crate::util::now_ms().saturating_add(ms) } else { 0 };
    ctx.server.pause.pause(kind, end);
    // A pause also holds expiry back: the dataset must not change while it is in force.
    if end > 0 {
        ctx.server.store.tunables.pause_expiry(end);
    }
    ctx.out.ok();
}

/// CLIENT UNPAUSE
fn client_unpause(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.server.pause.unpause();
    ctx.server.store.tunables.pause_expiry(0);
    ctx.out.ok();
}

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
fn client_unblock(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 4 {
        return ctx.out.error(&errors::subcommand_syntax(argv[1], argv[0]));
    }
    let Some(id) = parse_i64_strict(argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let error = match argv.get(3) {
        None => false,
        Some(r) if r.eq_ignore_ascii_case(b"timeout") => false,
        Some(r) if r.eq_ignore_ascii_case(b"error") => true,
        Some(_) => return ctx.out.error(errors::UNBLOCK_REASON),
    };
    // Only a client blocked on keys can be unblocked (not one held by CLIENT PAUSE).
    let waiter = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(id))
        .and_then(|c| c.waiter());
    ctx.out.int(waiter.is_some_and(|w| w.unblock(error)) as i64);
}

/// CLIENT TRACKING ON|OFF [REDIRECT client-id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT]
///                 [NOLOOP]
fn client_tracking(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut redirect: u64 = 0;
    let mut mode = 0u32;
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        if opt.eq_ignore_ascii_case(b"redirect") && more > 0 {
            j += 1;
            if redirect != 0 {
                return ctx.out.error(errors::TRACKING_REDIR_ONE);
            }
            let Some(id) = parse_i64_strict(argv[j]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            // The redirect client must exist now, though it may leave later.
            if id <= 0 || ctx.server.clients.get(id as u64).is_none() {
                return ctx.out.error(errors::TRACKING_REDIR_MISSING);
            }
            redirect = id as u64;
        } else if opt.eq_ignore_ascii_case(b"bcast") {
            mode |= cflags::TRACKING_BCAST;
        } else if opt.eq_ignore_ascii_case(b"optin") {
            mode |= cflags::TRACKING_OPTIN;
        } else if opt.eq_ignore_ascii_case(b"optout") {
            mode |= cflags::TRACKING_OPTOUT;
        } else if opt.eq_ignore_ascii_case(b"noloop") {
            mode |= cflags::TRACKING_NOLOOP;
        } else if opt.eq_ignore_ascii_case(b"prefix") && more > 0 {
            j += 1;
            prefixes.push(argv[j]);
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let server = ctx.server;
    if argv[2].eq_ignore_ascii_case(b"on") {
        match server.tracking.enable(server, ctx.client, redirect, mode, &prefixes) {
            Ok(()) => ctx.out.ok(),
            Err(e) => ctx.out.error(&e),
        }
    } else if argv[2].eq_ignore_ascii_case(b"off") {
        server.tracking.disable(&server.store, &ctx.client.info);
        ctx.out.ok();
    } else {
        ctx.syntax_error();
    }
}

/// CLIENT CACHING YES|NO
fn client_caching(ctx: &mut Ctx, argv: &[&[u8]]) {
    let info = &ctx.client.info;
    if !info.has_flag(cflags::TRACKING) {
        return ctx.out.error(errors::CACHING_NOT_TRACKING);
    }
    let opt = argv[2];
    if opt.eq_ignore_ascii_case(b"yes") {
        if !info.has_flag(cflags::TRACKING_OPTIN) {
            return ctx.out.error(errors::CACHING_YES_OPTIN);
        }
    } else if opt.eq_ignore_ascii_case(b"no") {
        if !info.has_flag(cflags::TRACKING_OPTOUT) {
            return ctx.out.error(errors::CACHING_NO_OPTOUT);
        }
    } else {
        return ctx.syntax_error();
    }
    // Applies to the next command (or transaction); dispatch clears it afterwards.
    info.set_flag(cflags::TRACKING_CACHING, true);
    ctx.out.ok();
}

/// CLIENT GETREDIR
fn client_getredir(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let info = &ctx.client.info;
    let redir =
        if info.has_flag(cflags::TRACKING) { info.tracking_redir.load(Ordering::Relaxed) } else { -1 };
    ctx.out.int(redir);
}

/// CLIENT TRACKINGINFO
fn client_trackinginfo(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let info = ctx.client.info.clone();
    let f = info.flags.load(Ordering::Relaxed);
    let on = f & cflags::TRACKING != 0;
    let mut names: Vec<&[u8]> = vec![if on { b"on" } else { b"off" }];
    if f & cflags::TRACKING_BCAST != 0 {
        names.push(b"bcast");
    }
    let caching = f & cflags::TRACKING_CACHING != 0;
    if f & cflags::TRACKING_OPTIN != 0 {
        names.push(b"optin");
        if caching {
            names.push(b"caching-yes");
        }
    }
    if f & cflags::TRACKING_OPTOUT != 0 {
        names.push(b"optout");
        if caching {
            names.push(b"caching-no");
        }
    }
    if f & cflags::TRACKING_NOLOOP != 0 {
        names.push(b"noloop");
    }
    if f & cflags::TRACKING_BROKEN_REDIR != 0 {
        names.push(b"broken_redirect");
    }
    let prefixes = if on { ctx.server.tracking.prefixes_of(info.id) } else { Vec::new() };
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(names.len());
    for n in names {
        out.bulk(n);
    }
    out.bulk(b"redirect");
    out.int(if on { info.tracking_redir.load(Ordering::Relaxed) } else { -1 });
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
}

/// The lines of CLIENT HELP, between Redis's header and footer.
const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

/// Writes a HELP reply the way Redis's `addReplyHelp` does: a header naming the command (as
/// typed, upper-cased), the lines, and the HELP entry, each as a status reply.
pub fn reply_help(ctx: &mut Ctx, command: &[u8], lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    let mut head = command.to_ascii_uppercase();
    head.extend_from_slice(b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.out.simple(&head);
    for l in lines {
        ctx.out.simple(l.as_bytes());
    }
    ctx.out.simple(b"HELP");
    ctx.out.simple(b"    Prints this help.");
}

/// CLIENT HELP
fn client_help(ctx: &mut Ctx, argv: &[&[u8]]) {
    reply_help(ctx, argv[0], CLIENT_HELP);
}

/// Never called: CLIENT always runs one of its subcommands.
fn client_container(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.error(&errors::subcommand_syntax(argv.get(1).copied().unwrap_or(b""), argv[0]));
}

/// A CLIENT subcommand row.
const fn sub(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: crate::command::Handler,
) -> Command {
    Command {
        group: "connection",
        acl: &["connection"],
        ..Command::new(name, arity, flags | NOSCRIPT | LOADING | STALE, handler)
    }
}

const CLIENT_SUBCOMMANDS: &[Command] = &[
    Command {
        since: "6.0.0",
        summary: "Instruct the server about tracking or not keys in the next request",
        ..sub("caching", 3, 0, client_caching)
    },
    Command {
        since: "6.0.0",
        summary: "Get the tracking notifications redirection client ID if any",
        ..sub("getredir", 2, 0, client_getredir)
    },
    Command {
        since: "2.6.9",
        summary: "Get the current connection name",
        ..sub("getname", 2, 0, client_getname)
    },
    Command {
        since: "5.0.0",
        summary: "Show helpful text about the different subcommands",
        ..sub("help", 2, 0, client_help)
    },
    Command {
        since: "5.0.0",
        summary: "Returns the client ID for the current connection",
        ..sub("id", 2, 0, client_id)
    },
    Command {
        since: "6.2.0",
        summary: "Returns information about the current client connection.",
        ..sub("info", 2, 0, client_info)
    },
    Command {
        since: "2.4.0",
        summary: "Kill the connection of a client",
        complexity: "O(N) where N is the number of client connections",
        ..sub("kill", -3, ADMIN, client_kill)
    },
    Command {
        since: "2.4.0",
        summary: "Get the list of client connections",
        complexity: "O(N) where N is the number of client connections",
        ..sub("list", -2, ADMIN, client_list)
    },
    Command {
        since: "7.0.0",
        summary: "Set client eviction mode for the current connection",
        ..sub("no-evict", 3, ADMIN, client_no_evict)
    },
    Command {
        since: "2.9.50",
        summary: "Stop processing commands from clients for some time",
        ..sub("pause", -3, ADMIN, client_pause)
    },
    Command {
        since: "3.2.0",
        summary: "Instruct the server whether to reply to commands",
        ..sub("reply", 3, 0, client_reply)
    },
    Command {
        since: "7.2.0",
        summary: "Set client or connection specific info",
        ..sub("setinfo", 4, 0, client_setinfo)
    },
    Command {
        since: "2.6.9",
        summary: "Set the current connection name",
        ..sub("setname", 3, 0, client_setname)
    },
    Command {
        since: "6.0.0",
        summary: "Enable or disable server assisted client side caching support",
        complexity: "O(1). Some options may introduce additional complexity.",
        ..sub("tracking", -3, 0, client_tracking)
    },
    Command {
        since: "6.2.0",
        summary: concat!(
            "Return information about server assisted client side caching for the current ",
            "connection"
        ),
        ..sub("trackinginfo", 2, 0, client_trackinginfo)
    },
    Command {
        since: "5.0.0",
        summary: "Unblock a client blocked in a blocking command from a different connection",
        complexity: "O(log N) where N is the number of client connections",
        ..sub("unblock", -3, ADMIN, client_unblock)
    },
    Command {
        since: "6.2.0",
        summary: "Resume processing of clients that were paused",
        complexity: "O(N) Where N is the number of paused clients",
        ..sub("unpause", 2, ADMIN, client_unpause)
    },
];

/// The connection-level flags Redis gives AUTH, HELLO and friends: they run before
/// authentication, while loading, and during a busy script.
const HANDSHAKE: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;

pub const COMMANDS: &[Command] = &[
    Command {
        group: "connection",
        summary: "Ping the server",
        acl: &["connection"],
        ..Command::new("ping", -1, FAST | SENTINEL, ping)
    },
    Command {
        group: "connection",
        summary: "Echo the given string",
        acl: &["connection"],
        ..Command::new("echo", 2, FAST, echo)
    },
    Command {
        group: "connection",
        summary: "Close the connection",
        acl: &["connection"],
        ..Command::new("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, quit)
    },
    Command {
        group: "connection",
        summary: "Change the selected database for the current connection",
        acl: &["connection"],
        ..Command::new("select", 2, LOADING | STALE | FAST, select)
    },
    Command {
        group: "connection",
        summary: "Authenticate to the server",
        complexity: "O(N) where N is the number of passwords defined for the user",
        acl: &["connection"],
        ..Command::new("auth", -2, HANDSHAKE | SENTINEL, auth)
    },
    Command {
        group: "connection",
        since: "6.0.0",
        summary: "Handshake with Redis",
        acl: &["connection"],
        ..Command::new("hello", -1, HANDSHAKE | SENTINEL, hello)
    },
    Command {
        group: "connection",
        since: "6.2.0",
        summary: "Reset the connection",
        acl: &["connection"],
        ..Command::new("reset", 1, HANDSHAKE, reset)
    },
    Command {
        group: "connection",
        since: "2.4.0",
        summary: "A container for client connection commands",
        complexity: "Depends on subcommand.",
        acl: &["connection"],
        subcommands: CLIENT_SUBCOMMANDS,
        ..Command::new("client", -2, SENTINEL, client_container)
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::protocol::Reply;
    use crate::protocol::reply::Value;
    use crate::server::client::Client;
    use std::sync::Arc;

    /// A server and one registered client session, running commands in process.
    struct T {
        server: Arc<Server>,
        client: Client,
        out: Reply,
    }

    impl T {
        fn new(cfg: Config) -> T {
            let server = Arc::new(Server::new(cfg, crate::cmd::FAMILIES));
            let client = T::session(&server, "127.0.0.1:5000");
            T { server, client, out: Reply::new() }
        }

        fn session(server: &Arc<Server>, addr: &str) -> Client {
            let info = Arc::new(ClientInfo::new(
                server.clients.next_id(),
                addr.into(),
                "127.0.0.1:6379".into(),
                8,
                false,
            ));
            server.clients.add(info.clone());
            Client::new(info, !server.auth_required())
        }

        /// Runs one command; returns its raw reply bytes.
        fn raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
            self.out.buf.clear();
            self.server.execute(&mut self.client, &mut self.out, args);
            std::mem::take(&mut self.out.buf)
        }

        fn run(&mut self, args: &[&str]) -> Value {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let raw = self.raw(&argv);
            let (v, used) = Value::parse(&raw).expect("one well-formed reply");
            assert_eq!(used, raw.len(), "exactly one reply");
            v
        }
    }

    fn err(s: &str) -> Value {
        Value::Error(s.into())
    }

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn ping_echo_select_quit() {
        let mut t = T::new(Config::default());
        assert_eq!(t.raw(&[b"PING"]), b"+PONG\r\n");
        assert_eq!(t.run(&["ping", "hi"]), bulk("hi"));
        assert_eq!(
            t.run(&["ping", "a", "b"]),
            err("ERR wrong number of arguments for 'ping' command")
        );
        assert_eq!(t.run(&["echo", "x y"]), bulk("x y"));
        assert_eq!(t.run(&["select", "15"]), Value::Simple("OK".into()));
        assert_eq!(t.client.db, 15);
        assert_eq!(t.run(&["select", "16"]), err("ERR DB index is out of range"));
        assert_eq!(t.run(&["select", "-1"]), err("ERR DB index is out of range"));
        assert_eq!(t.run(&["select", "abc"]), err("ERR value is not an integer or out of range"));
        assert_eq!(
            t.run(&["select", "3000000000"]),
            err("ERR value is out of range, value must between -2147483648 and 2147483647")
        );
        assert_eq!(t.client.db, 15);
        assert_eq!(t.run(&["quit"]), Value::Simple("OK".into()));
        assert!(t.client.close_after_reply);
    }

    #[test]
    fn ping_in_subscribed_resp2_mode() {
        let mut t = T::new(Config::default());
        t.client.info.set_flag(cflags::PUBSUB, true);
        assert_eq!(t.raw(&[b"PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(t.raw(&[b"PING", b"m"]), b"*2\r\n$4\r\npong\r\n$1\r\nm\r\n");
        t.out.resp3 = true;
        assert_eq!(t.raw(&[b"PING"]), b"+PONG\r\n");
    }

    #[test]
    fn auth_without_password() {
        let mut t = T::new(Config::default());
        assert_eq!(t.run(&["auth", "foo"]), err(errors::NO_PASSWORD_SET));
        assert_eq!(t.run(&["auth", "a", "b"]), err(errors::WRONGPASS));
        assert_eq!(t.run(&["auth", "default", "anything"]), Value::Simple("OK".into()));
        assert_eq!(t.run(&["auth", "a", "b", "c"]), err("ERR syntax error"));
        assert_eq!(t.run(&["auth"]), err("ERR wrong number of arguments for 'auth' command"));
    }

    #[test]
    fn auth_with_requirepass() {
        let mut cfg = Config::default();
        cfg.requirepass = Some(b"foobar".to_vec());
        let mut t = T::new(cfg);
        assert_eq!(t.run(&["set", "k", "v"]), err(errors::NOAUTH));
        assert_eq!(t.run(&["hello", "3"]), err(errors::HELLO_NOAUTH));
        assert_eq!(t.run(&["auth", "wrong!"]), err(errors::WRONGPASS));
        assert_eq!(t.run(&["auth", "default", "wrong!"]), err(errors::WRONGPASS));
        assert!(!t.client.authenticated);
        assert_eq!(t.run(&["auth", "foobar"]), Value::Simple("OK".into()));
        assert_eq!(t.run(&["set", "k", "v"]), Value::Simple("OK".into()));
        // RESET logs out again.
        assert_eq!(t.raw(&[b"RESET"]), b"+RESET\r\n");
        assert_eq!(t.run(&["get", "k"]), err(errors::NOAUTH));
        // HELLO AUTH logs in and switches protocol at once.
        let v = t.run(&["hello", "3", "auth", "default", "foobar"]);
        let Value::Map(m) = v else { panic!("map expected, got {v:?}") };
        assert_eq!(m[2], (bulk("proto"), Value::Int(3)));
        assert!(t.client.authenticated);
        let mut t2 = T::new(Config { requirepass: Some(b"x".to_vec()), ..Config::default() });
        assert_eq!(t2.run(&["hello", "3", "AUTH", "default", "nope"]), err(errors::WRONGPASS));
        assert!(!t2.out.resp3);
    }

    #[test]
    fn binary_password() {
        let mut cfg = Config::default();
        cfg.requirepass = Some(b"abc\x00def".to_vec());
        let mut t = T::new(cfg);
        assert_eq!(t.run(&["auth", "abc"]), err(errors::WRONGPASS));
        assert_eq!(t.raw(&[b"AUTH", b"abc\x00def"]), b"+OK\r\n");
    }

    #[test]
    fn hello_replies_and_errors() {
        let mut t = T::new(Config::default());
        let id = t.client.id as i64;
        let raw = t.raw(&[b"HELLO", b"3"]);
        let expect = format!(
            "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
             $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
             $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
        );
        assert_eq!(String::from_utf8(raw).unwrap(), expect);
        assert!(t.out.resp3);
        assert_eq!(t.client.info.resp.load(Ordering::Relaxed), 3);
        // HELLO without a version keeps the protocol and answers in it.
        assert!(t.raw(&[b"HELLO"]).starts_with(b"%7\r\n"));
        let raw = t.raw(&[b"HELLO", b"2"]);
        assert!(raw.starts_with(b"*14\r\n"));
        assert!(!t.out.resp3);
        assert_eq!(t.run(&["hello", "4"]), err("NOPROTO unsupported protocol version"));
        assert_eq!(t.run(&["hello", "1"]), err("NOPROTO unsupported protocol version"));
        assert_eq!(t.run(&["hello", "x"]), err(errors::HELLO_PROTO_NOT_INT));
        assert_eq!(t.run(&["hello", "3", "auth"]), err("ERR Syntax error in HELLO option 'auth'"));
        assert_eq!(
            t.run(&["hello", "3", "AUTH", "a"]),
            err("ERR Syntax error in HELLO option 'AUTH'")
        );
        assert_eq!(t.run(&["hello", "3", "setname", "a b"]), err(errors::BAD_CLIENT_NAME));
        assert!(!t.out.resp3, "a failed HELLO switches nothing");
        t.run(&["hello", "2", "setname", "myname"]);
        assert_eq!(t.run(&["client", "getname"]), bulk("myname"));
    }

    #[test]
    fn reset_restores_a_fresh_session() {
        let mut t = T::new(Config::default());
        t.run(&["hello", "3", "setname", "n"]);
        t.run(&["select", "5"]);
        t.run(&["client", "setinfo", "lib-name", "redis-py"]);
        t.run(&["client", "no-evict", "on"]);
        assert_eq!(t.raw(&[b"RESET"]), b"+RESET\r\n");
        assert_eq!(t.client.db, 0);
        assert!(!t.out.resp3);
        assert_eq!(t.run(&["client", "getname"]), Value::Null);
        assert_eq!(t.client.info.name_of(NameKind::LibName).as_deref(), Some(&b"redis-py"[..]));
        assert!(t.client.info.no_evict.load(Ordering::Relaxed));
        // CLIENT REPLY OFF is lifted by RESET.
        t.client.reply_mode = ReplyMode::Off;
        t.raw(&[b"RESET"]);
        assert_eq!(t.client.reply_mode, ReplyMode::On);
    }

    #[test]
    fn client_names_and_ids() {
        let mut t = T::new(Config::default());
        assert_eq!(t.run(&["client", "id"]), Value::Int(t.client.id as i64));
        assert_eq!(t.run(&["client", "getname"]), Value::Null);
        assert_eq!(t.run(&["client", "setname", "a b"]), err(errors::BAD_CLIENT_NAME));
        assert_eq!(t.run(&["client", "setname", "a\nb"]), err(errors::BAD_CLIENT_NAME));
        assert_eq!(t.run(&["client", "setname", "x"]), Value::Simple("OK".into()));
        assert_eq!(t.run(&["client", "getname"]), bulk("x"));
        assert_eq!(t.run(&["client", "setname", ""]), Value::Simple("OK".into()));
        assert_eq!(t.run(&["client", "getname"]), Value::Null);
        assert_eq!(t.run(&["client"]), err("ERR wrong number of arguments for 'client' command"));
        assert_eq!(
            t.run(&["client", "foo"]),
            err("ERR unknown subcommand 'foo'. Try CLIENT HELP.")
        );
        assert_eq!(
            t.run(&["client", "id", "x"]),
            err("ERR wrong number of arguments for 'client|id' command")
        );
    }

    #[test]
    fn client_setinfo_validates_like_7_2() {
        let mut t = T::new(Config::default());
        assert_eq!(
            t.run(&["client", "setinfo", "LIB-NAME", "redis-py"]),
            Value::Simple("OK".into())
        );
        assert_eq!(t.run(&["client", "setinfo", "lib-ver", "8.1.0"]), Value::Simple("OK".into()));
        assert_eq!(
            t.run(&["client", "setinfo", "lib-name", "a b"]),
            err("ERR lib-name cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(
            t.run(&["client", "setinfo", "color", "x"]),
            err("ERR Unrecognized option 'color'")
        );
        assert_eq!(t.client.info.name_of(NameKind::LibVer).as_deref(), Some(&b"8.1.0"[..]));
    }

    #[test]
    fn client_list_and_info() {
        let mut t = T::new(Config::default());
        let other = T::session(&t.server, "127.0.0.1:6000");
        other.info.set_flag(cflags::PUBSUB, true);
        let Value::Bulk(list) = t.run(&["client", "list"]) else { panic!() };
        let list = String::from_utf8(list).unwrap();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(list.ends_with('\n'));
        let me = lines[0];
        assert!(me.starts_with(&format!("id={} addr=127.0.0.1:5000 ", t.client.id)));
        assert!(me.contains(" argv-mem=10 "), "{me}");
        assert!(me.contains(" cmd=client|list user=default redir=-1 resp=2"), "{me}");
        assert!(lines[1].contains(" flags=P ") && lines[1].contains(" cmd=NULL "));
        let Value::Bulk(l) = t.run(&["client", "list", "type", "pubsub"]) else { panic!() };
        assert!(String::from_utf8(l).unwrap().starts_with(&format!("id={} ", other.id)));
        let Value::Bulk(l) = t.run(&["client", "list", "type", "master"]) else { panic!() };
        assert!(l.is_empty());
        let Value::Bulk(l) = t.run(&["client", "list", "id", &other.id.to_string(), "999"]) else {
            panic!()
        };
        assert_eq!(String::from_utf8(l).unwrap().lines().count(), 1);
        assert_eq!(t.run(&["client", "list", "type", "x"]), err("ERR Unknown client type 'x'"));
        assert_eq!(t.run(&["client", "list", "id", "x"]), err("ERR Invalid client ID"));
        assert_eq!(t.run(&["client", "list", "foo"]), err("ERR syntax error"));
        // CLIENT INFO: the caller's line, a verbatim string in RESP3.
        t.out.resp3 = true;
        let Value::Verbatim(info) = t.run(&["client", "info"]) else { panic!() };
        assert!(info.contains(" cmd=client|info ") && info.ends_with(" resp=2\n"), "{info}");
    }

    #[test]
    fn client_kill_forms() {
        let mut t = T::new(Config::default());
        let a = T::session(&t.server, "127.0.0.1:6001");
        let b = T::session(&t.server, "127.0.0.1:6002");
        assert_eq!(t.run(&["client", "kill", "1.2.3.4:5"]), err(errors::NO_SUCH_CLIENT));
        assert_eq!(t.run(&["client", "kill", "127.0.0.1:6001"]), Value::Simple("OK".into()));
        assert!(a.info.is_killed());
        assert!(t.server.clients.get(a.id).is_none());
        assert_eq!(
            t.run(&["client", "kill"]),
            err("ERR wrong number of arguments for 'client|kill' command")
        );
        assert_eq!(t.run(&["client", "kill", "id", "10", "wrong_arg"]), err("ERR syntax error"));
        for bad in ["str", "-1", "0"] {
            assert_eq!(t.run(&["client", "kill", "id", bad]), err(errors::CLIENT_ID_POSITIVE));
        }
        assert_eq!(
            t.run(&["client", "kill", "type", "wrong_type"]),
            err("ERR Unknown client type 'wrong_type'")
        );
        assert_eq!(
            t.run(&["client", "kill", "user", "wrong_user"]),
            err("ERR No such user 'wrong_user'")
        );
        assert_eq!(t.run(&["client", "kill", "skipme", "yes_or_no"]), err("ERR syntax error"));
        assert_eq!(t.run(&["client", "kill", "id", &b.id.to_string()]), Value::Int(1));
        assert!(b.info.is_killed());
        // SKIPME yes (the default) spares the caller; no kills it after the reply.
        let _c = T::session(&t.server, "127.0.0.1:6003");
        assert_eq!(t.run(&["client", "kill", "user", "default"]), Value::Int(1));
        assert!(!t.client.close_after_reply);
        assert_eq!(t.run(&["client", "kill", "skipme", "no"]), Value::Int(1));
        assert!(t.client.close_after_reply);
        assert!(!t.client.info.is_killed());
    }

    #[test]
    fn client_reply_modes() {
        let mut t = T::new(Config::default());
        assert_eq!(t.run(&["client", "reply", "maybe"]), err("ERR syntax error"));
        t.raw(&[b"CLIENT", b"REPLY", b"SKIP"]);
        assert_eq!(t.client.reply_mode, ReplyMode::SkipNext);
        t.client.reply_mode = ReplyMode::Off;
        t.raw(&[b"CLIENT", b"REPLY", b"SKIP"]);
        assert_eq!(t.client.reply_mode, ReplyMode::Off, "SKIP does not override OFF");
        assert_eq!(t.run(&["client", "reply", "on"]), Value::Simple("OK".into()));
        assert_eq!(t.run(&["client", "no-evict", "maybe"]), err("ERR syntax error"));
        assert_eq!(t.run(&["client", "no-evict", "ON"]), Value::Simple("OK".into()));
    }

    #[test]
    fn client_pause_arguments() {
        let mut t = T::new(Config::default());
        assert_eq!(t.run(&["client", "pause", "abc"]), err(errors::TIMEOUT_NOT_INTEGER));
        assert_eq!(t.run(&["client", "pause", "-1"]), err(errors::TIMEOUT_NEGATIVE));
        assert_eq!(t.run(&["client", "pause", "10", "read"]), err(errors::PAUSE_MODE));
        assert_eq!(
            t.run(&["client", "pause", "10", "all", "x"]),
            err(
                "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."
            )
        );
        assert_eq!(t.run(&["client", "pause", "100000", "write"]), Value::Simple("OK".into()));
        assert!(t.server.pause.blocks(true).is_some());
        assert_eq!(t.run(&["client", "unpause"]), Value::Simple("OK".into()));
        assert!(t.server.pause.blocks(true).is_none());
    }

    #[test]
    fn tracking_family_without_tracking() {
        let mut t = T::new(Config::default());
        assert_eq!(t.run(&["client", "getredir"]), Value::Int(-1));
        assert_eq!(t.run(&["client", "caching", "yes"]), err(errors::CACHING_NOT_TRACKING));
        assert_eq!(t.run(&["client", "tracking", "off"]), Value::Simple("OK".into()));
        assert_eq!(
            t.run(&["client", "tracking", "on", "prefix", "a"]),
            err(errors::TRACKING_PREFIX_BCAST)
        );
        assert_eq!(
            t.run(&["client", "tracking", "on", "optin", "optout"]),
            err(errors::TRACKING_OPTIN_OPTOUT)
        );
        assert_eq!(t.run(&["client", "tracking", "maybe"]), err("ERR syntax error"));
        assert_eq!(
            t.run(&["client", "trackinginfo"]),
            Value::Array(vec![
                bulk("flags"),
                Value::Array(vec![bulk("off")]),
                bulk("redirect"),
                Value::Int(-1),
                bulk("prefixes"),
                Value::Array(vec![]),
            ])
        );
        assert_eq!(t.run(&["client", "unblock", "1"]), Value::Int(0));
        assert_eq!(t.run(&["client", "unblock", "1", "maybe"]), err(errors::UNBLOCK_REASON));
    }

    #[test]
    fn client_help_shape() {
        let mut t = T::new(Config::default());
        let Value::Array(lines) = t.run(&["client", "help"]) else { panic!() };
        assert_eq!(lines.len(), CLIENT_HELP.len() + 3);
        assert_eq!(
            lines[0],
            Value::Simple("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        assert_eq!(lines[lines.len() - 1], Value::Simple("    Prints this help.".into()));
    }
}
