//! Loading the AOF: at start-up (it wins over the RDB when `appendonly yes`) and for DEBUG
//! LOADAOF. Each file of the manifest, base first, is replayed command by command through
//! dispatch with a pseudo-client, with Redis's log lines and its handling of bad files: a
//! truncated last file is cut at its last complete command under `aof-load-truncated yes`, an
//! unfinished MULTI is reverted, anything else stops the server. Files are read through a
//! refilled window (`file::Window`), never whole: a command cut by the window's end is parsed
//! again once the window holds it, and replayed with its arguments borrowed from the window.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Settings;
use super::manifest::{FileInfo, Kind, Manifest};
use crate::persistence::file::{self, LoadFail};
use crate::protocol::Reply;
use crate::server::Server;
use crate::server::client::{Client, ClientInfo};
use crate::store::entry::Entry;

/// How loading one file ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Ok,
    /// The file is empty.
    Empty,
    /// Cut at its last complete command (`aof-load-truncated yes`).
    Truncated,
}

/// Why loading failed (already logged).
#[derive(Debug, PartialEq, Eq)]
pub struct Failed;

/// One parse step over the bytes of a file.
enum Step<'a> {
    /// A command (its arguments borrowed from the bytes) and the offset after it.
    Command(Vec<&'a [u8]>, usize),
    /// An annotation line (`#TS:...`) and the offset after it.
    Skip(usize),
    /// The bytes end inside a command: parsing it needs at least this many bytes from the
    /// start of the data (`usize::MAX`: no more bytes would complete it, it is cut for good).
    ShortRead(usize),
    /// Not the AOF's RESP.
    Format,
}

/// Reads one line (without CRLF) at `pos`; `None` when no newline follows.
fn line(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = data.get(pos..)?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let l = &rest[..nl];
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    Some((l, pos + nl + 1))
}

/// C's `atoi`/`strtol` on a header: leading digits after an optional sign.
fn number(b: &[u8]) -> i64 {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let n = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |acc, &c| {
            acc.saturating_mul(10).saturating_add((c - b'0') as i64)
        });
    if neg { -n } else { n }
}

/// Parses the command at `pos`, as Redis's loader reads it (fgets lines, fread payloads).
fn step(data: &[u8], pos: usize) -> Step<'_> {
    // A line without its newline yet: more bytes may complete it (the window doubles).
    let more = data.len() + 1;
    let Some((head, mut at)) = line(data, pos) else {
        return Step::ShortRead(more);
    };
    if head.first() == Some(&b'#') {
        return Step::Skip(at);
    }
    if head.first() != Some(&b'*') {
        return Step::Format;
    }
    if head.len() == 1 {
        return Step::ShortRead(usize::MAX);
    }
    let argc = number(&head[1..]);
    if argc < 1 {
        return Step::Format;
    }
    let mut argv = Vec::with_capacity(argc.min(1024) as usize);
    for _ in 0..argc {
        let Some((h, next)) = line(data, at) else {
            return Step::ShortRead(more);
        };
        if h.first() != Some(&b'$') {
            return Step::Format;
        }
        let len = number(&h[1..]).max(0) as usize;
        let end = next.saturating_add(len);
        if end.saturating_add(2) > data.len() {
            return Step::ShortRead(end.saturating_add(2));
        }
        argv.push(&data[next..end]);
        at = end + 2;
    }
    Step::Command(argv, at)
}

/// One thing to replay: a command, or a key of an RDB preamble (database, entry), or the
/// preamble's hint of how many keys a database is about to receive (database, keys).
pub enum Item<'x> {
    Command(&'x [&'x [u8]]),
    Key(usize, Entry),
    Reserve(usize, usize),
}

/// Replays one item; fails only for a key that cannot be filed (a duplicate).
pub type Runner<'a> = dyn FnMut(Item<'_>) -> Result<(), LoadFail> + 'a;

/// Loads the RDB image a file starts with (a base written with `aof-use-rdb-preamble yes`, or
/// an old single-file AOF with a preamble) through `run`, leaving the window after the image:
/// an old-style file goes on with commands from there.
fn load_preamble<R: std::io::Read>(
    server: &Server,
    w: &mut file::Window<R>,
    name: &str,
    run: &mut Runner,
) -> Result<(), Failed> {
    tracing::info!("Reading RDB base file on AOF loading...");
    let mut opts = crate::cmd::persist::load_opts(server, false);
    // Redis keeps a preamble's expired keys (the commands after it may refer to them).
    opts.drop_expired = false;
    let run = std::cell::RefCell::new(run);
    let target = file::Target {
        insert: &mut |db, e| (run.borrow_mut())(Item::Key(db, e)),
        reserve: &mut |db, keys| {
            let _ = (run.borrow_mut())(Item::Reserve(db, keys));
        },
    };
    let res = file::load_into_target(server.store.databases(), w, &opts, target, &|_| {});
    let fail = match res {
        Ok(_) => match w.fill(1) {
            Ok(tail) => {
                if tail {
                    tracing::info!("Reading the remaining AOF tail...");
                }
                return Ok(());
            }
            Err(e) => LoadFail::Io {
                offset: w.offset() as usize,
                err: e.to_string(),
            },
        },
        Err(e) => e,
    };
    tracing::warn!("{fail}");
    tracing::warn!("Error reading the RDB base file {name}, AOF loading aborted");
    Err(Failed)
}

/// Replays the file at `path` (named `name` in logs) through `run`. `last` when it is the last
/// file, the only one that may be truncated.
pub fn load_file(
    server: &Server,
    path: &Path,
    name: &str,
    last: bool,
    s: &Settings,
    run: &mut Runner,
) -> Result<Loaded, Failed> {
    load_file_sized(server, path, name, last, s, run, file::WINDOW)
}

/// [`load_file`] through a window of `window` bytes.
fn load_file_sized(
    server: &Server,
    path: &Path,
    name: &str,
    last: bool,
    s: &Settings,
    run: &mut Runner,
    window: usize,
) -> Result<Loaded, Failed> {
    // Read through a window, never whole (see `file::Window`): the peak memory of a load is
    // the dataset, not the dataset plus the file.
    let opened = file::Window::open_sized(path, window)
        .and_then(|w| w.ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENOENT)));
    let mut w = match opened {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "Fatal error: can't open the append log file {name} for reading: {}",
                crate::config::io_strerror(&e)
            );
            return Err(Failed);
        }
    };
    let read_failed = |e: std::io::Error| {
        tracing::warn!(
            "Unrecoverable error reading the append only file {name}: {}",
            crate::config::io_strerror(&e)
        );
        Failed
    };
    w.fill(5).map_err(read_failed)?;
    if w.avail().is_empty() {
        return Ok(Loaded::Empty);
    }
    if w.avail().starts_with(b"REDIS") {
        load_preamble(server, &mut w, name, run)?;
    }
    let mut in_multi = false;
    let mut valid_up_to = w.offset();
    let mut before_multi = valid_up_to;
    let short = loop {
        if w.avail().is_empty() && !w.fill(1).map_err(read_failed)? {
            break false;
        }
        match step(w.avail(), 0) {
            Step::Skip(next) => w.consume(next),
            Step::ShortRead(want) => {
                // Cut by the window's end: parsed again once the window holds the command,
                // unless the file ends first.
                if w.fill(want).map_err(read_failed)? {
                    continue;
                }
                break true;
            }
            Step::Format => {
                tracing::warn!(
                    "Bad file format reading the append only file {name}: make a backup of your \
                     AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                );
                return Err(Failed);
            }
            Step::Command(argv, next) => {
                if server.table.lookup(argv[0]).is_none() {
                    tracing::warn!(
                        "Unknown command '{}' reading the append only file {name}",
                        String::from_utf8_lossy(argv[0])
                    );
                    return Err(Failed);
                }
                if argv[0].eq_ignore_ascii_case(b"multi") {
                    before_multi = valid_up_to;
                    in_multi = true;
                } else if argv[0].eq_ignore_ascii_case(b"exec")
                    || argv[0].eq_ignore_ascii_case(b"discard")
                {
                    in_multi = false;
                }
                let _ = run(Item::Command(&argv));
                w.consume(next);
                valid_up_to = w.offset();
            }
        }
    };
    let mut short = short;
    if !short && in_multi {
        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
        valid_up_to = before_multi;
        short = true;
    }
    if !short {
        return Ok(Loaded::Ok);
    }
    if s.load_truncated {
        if !last {
            tracing::warn!("Fatal error: the truncated file is not the last file");
            return Err(Failed);
        }
        tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
        tracing::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
        drop(w);
        let cut = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(valid_up_to));
        match cut {
            Ok(()) => {
                tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                return Ok(Loaded::Truncated);
            }
            Err(e) => tracing::warn!("Error truncating the AOF file {name}: {e}"),
        }
    }
    tracing::warn!(
        "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup \
         of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively \
         you can set the 'aof-load-truncated' configuration option to yes and restart the server."
    );
    Err(Failed)
}

/// Reads the manifest from the AOF directory: `Ok(None)` when there is none. Errors are logged.
pub fn read_manifest(s: &Settings) -> Result<Option<Manifest>, Failed> {
    let path = s.dir().join(s.manifest_name());
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            tracing::warn!("Fail to open AOF manifest file: {e}");
            return Err(Failed);
        }
    };
    match Manifest::parse(&text) {
        Ok(m) => Ok(Some(m)),
        Err(msg) => {
            tracing::warn!("{msg}");
            Err(Failed)
        }
    }
}

/// The upgrade from a single-file AOF of Redis before 7.0 (`appendfilename` in `dir`): the
/// file moves into the AOF directory and becomes the base of a new manifest.
fn upgrade_old_aof(s: &Settings, m: &mut Manifest) -> Result<(), Failed> {
    let dir = s.dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::warn!("Can't open or create append-only dir {}: {e}", s.dirname);
        return Err(Failed);
    }
    *m = Manifest::default();
    m.base_seq = 1;
    m.base = Some(FileInfo {
        name: s.filename.clone(),
        seq: 1,
        kind: Kind::Base,
    });
    if let Err(e) = super::persist_manifest(s, m) {
        tracing::warn!("Can't persist the AOF manifest file: {e}");
        return Err(Failed);
    }
    if let Err(e) = std::fs::rename(&s.filename, dir.join(&s.filename)) {
        tracing::warn!("Error trying to rename the existing AOF to old AOF dir: {e}");
        return Err(Failed);
    }
    tracing::info!("Successfully migrated an old-style AOF into the AOF directory");
    Ok(())
}

/// Loads the manifest (always, so a later CONFIG SET appendonly yes continues its sequence)
/// and, with `appendonly yes`, the data. Returns false when the server must not start.
pub fn load_at_boot(server: &Server) -> bool {
    let s = Settings::read(server);
    let mut m = match read_manifest(&s) {
        Ok(m) => m,
        Err(Failed) if !s.enabled => None,
        Err(Failed) => return false,
    };
    if !s.enabled {
        *server.aof.manifest.lock() = m.unwrap_or_default();
        return true;
    }
    let old_style = Path::new(&s.filename).is_file();
    let mut man = m.take().unwrap_or_default();
    let old_in_dir = man.incr.is_empty()
        && man.base.as_ref().is_some_and(|b| b.name == s.filename)
        && !s.dir().join(&s.filename).exists();
    if old_style
        && (!s.dir().is_dir() || (man.base.is_none() && man.incr.is_empty()) || old_in_dir)
        && upgrade_old_aof(&s, &mut man).is_err()
    {
        return false;
    }
    let ok = with_replay(server, |run| load_files(server, &s, &man, run));
    *server.aof.manifest.lock() = man;
    // Replayed commands are not calls: Redis's loader runs them without counting them.
    server.stats.reset();
    server.table.reset_stats();
    server.store.reset_stats();
    ok
}

/// Runs `f` with a runner that replays commands in `ctx`'s view (which holds every shard), as
/// EXEC runs queued commands: with a pseudo-client in place of the caller, replies dropped,
/// nothing expired meanwhile. MULTI and EXEC themselves are skipped: every shard is held.
fn replay_in<R>(ctx: &mut crate::command::Ctx, f: impl FnOnce(&mut Runner) -> R) -> R {
    let server = ctx.server;
    let id = server.clients.next_id();
    let info = Arc::new(ClientInfo::new(id, String::new(), String::new(), -1, false));
    let mut pseudo = Client::new(info, true);
    let mut scratch = Reply::new();
    std::mem::swap(ctx.client, &mut pseudo);
    let db = ctx.ks.db;
    ctx.ks.loading = true;
    let r = {
        let mut run = |item: Item<'_>| {
            let argv = match item {
                Item::Command(argv) => argv,
                Item::Key(db, e) => return file::insert_loaded(&mut ctx.ks, false, db, e),
                // The view holds every shard.
                Item::Reserve(db, keys) => {
                    ctx.ks.reserve_in(db, keys);
                    return Ok(());
                }
            };
            let name = argv[0];
            if name.eq_ignore_ascii_case(b"multi") || name.eq_ignore_ascii_case(b"exec") {
                return Ok(());
            }
            let Some(idx) = resolve(server, argv) else {
                return Ok(());
            };
            std::mem::swap(ctx.out, &mut scratch);
            crate::command::dispatch::run_queued(ctx, idx, argv);
            std::mem::swap(ctx.out, &mut scratch);
            scratch.buf.clear();
            server.stats.count_errors(&mut scratch);
            Ok(())
        };
        f(&mut run)
    };
    ctx.ks.loading = false;
    ctx.ks.db = db;
    std::mem::swap(ctx.client, &mut pseudo);
    r
}

/// Runs `f` with a replay runner over a view holding every shard (start-up).
fn with_replay<R>(server: &Server, f: impl FnOnce(&mut Runner) -> R) -> R {
    let ks = server.store.lock_all(0, crate::util::now_ms());
    let id = server.clients.next_id();
    let info = Arc::new(ClientInfo::new(id, String::new(), String::new(), -1, false));
    let mut client = Client::new(info, true);
    let mut out = Reply::new();
    let mut ctx = crate::command::Ctx {
        server,
        ks,
        client: &mut client,
        out: &mut out,
        entry: 0,
    };
    // Store-wide readers called by replayed commands use the held locks, as inside EXEC.
    let held = ctx.ks.hold_all();
    let r = replay_in(&mut ctx, f);
    drop(held);
    r
}

/// Replays every file of `m` through `run`. Returns false when loading failed (logged).
pub fn load_files(server: &Server, s: &Settings, m: &Manifest, run: &mut Runner) -> bool {
    let files: Vec<&FileInfo> = m.base.iter().chain(m.incr.iter()).collect();
    if files.is_empty() {
        return true;
    }
    let dir = s.dir();
    for f in &files {
        if let Err(e) = std::fs::metadata(dir.join(&f.name)) {
            tracing::warn!(
                "Unable to obtain the AOF file {} length. stat: {}",
                f.name,
                crate::config::io_strerror(&e)
            );
            return false;
        }
    }
    // Replaying must not feed the AOF it reads.
    let propagating = server
        .store
        .tunables
        .propagate
        .swap(false, Ordering::Relaxed);
    let started = Instant::now();
    let mut ok = true;
    for (i, f) in files.iter().enumerate() {
        let t = Instant::now();
        let last = i + 1 == files.len();
        let kind = if f.kind == Kind::Base { "base" } else { "incr" };
        match load_file(server, &dir.join(&f.name), &f.name, last, s, run) {
            Ok(Loaded::Empty) => {}
            Ok(_) => tracing::info!(
                "DB loaded from {kind} file {}: {:.3} seconds",
                f.name,
                t.elapsed().as_secs_f64()
            ),
            Err(Failed) => {
                ok = false;
                break;
            }
        }
    }
    if ok {
        tracing::info!(
            "DB loaded from append only file: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    server
        .store
        .tunables
        .propagate
        .store(propagating, Ordering::Relaxed);
    ok
}

/// DEBUG LOADAOF: writes out what is pending, empties every database and loads the AOF again,
/// inside the DEBUG command's view (which holds every shard). Like Redis, exits when the AOF
/// cannot be loaded.
pub fn debug_loadaof(ctx: &mut crate::command::Ctx) {
    let server = ctx.server;
    if server.aof.is_on() {
        server.aof.flush_all();
    }
    for db in 0..server.store.databases() {
        ctx.ks.flush_db(db);
    }
    let s = Settings::read(server);
    let m = match read_manifest(&s) {
        Ok(m) => m.unwrap_or_default(),
        Err(Failed) => std::process::exit(1),
    };
    // A rewrite may hold the manifest while it waits for the shards this command holds: then
    // it installs its own manifest once done, from the data loaded here.
    if let Some(mut held) = server.aof.manifest.try_lock() {
        *held = m.clone();
    }
    let ok = replay_in(ctx, |run| load_files(server, &s, &m, run));
    if !ok {
        std::process::exit(1);
    }
    // Loading is not a change to propagate or to count for the next save; as in Redis, the
    // changes counted since the last save are forgotten too (the AOF holds them).
    ctx.ks.dirty = 0;
    server.stats.dirty.store(0, Ordering::Relaxed);
    ctx.prevent_propagation();
    tracing::warn!("Append Only File loaded by DEBUG LOADAOF");
    ctx.out.ok();
}

/// Returns the table entry that runs `argv` (subcommand included), if its arity is right.
fn resolve(server: &Server, argv: &[&[u8]]) -> Option<usize> {
    let table = &server.table;
    let mut idx = table.lookup(argv[0])?;
    if !table.entries[idx].cmd.subcommands.is_empty() && argv.len() >= 2 {
        idx = table.lookup_sub(idx, argv[1])?;
    }
    table.entries[idx].cmd.arity_ok(argv.len()).then_some(idx)
}

/// Returns every command of `data` (annotations skipped), stopping at anything incomplete or
/// malformed.
pub fn parse_all(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut pos = 0;
    let mut all = Vec::new();
    while pos < data.len() {
        match step(data, pos) {
            Step::Command(a, n) => {
                all.push(a.iter().map(|x| x.to_vec()).collect());
                pos = n;
            }
            Step::Skip(n) => pos = n,
            Step::ShortRead(_) | Step::Format => break,
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut pos = 0;
        let mut all = vec![];
        while pos < data.len() {
            match step(data, pos) {
                Step::Command(a, n) => {
                    all.push(a.iter().map(|x| x.to_vec()).collect());
                    pos = n;
                }
                Step::Skip(n) => pos = n,
                _ => panic!("bad"),
            }
        }
        all
    }

    #[test]
    fn parses_commands_and_skips_annotations() {
        let data =
            b"#TS:123\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
        let c = cmds(data);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1], vec![b"SET".to_vec(), b"k".to_vec(), vec![]]);
    }

    fn settings(load_truncated: bool) -> Settings {
        Settings {
            enabled: true,
            fsync: super::super::Fsync::Everysec,
            filename: "appendonly.aof".into(),
            dirname: "appendonlydir".into(),
            load_truncated,
            timestamps: false,
            disable_auto_gc: false,
            auto_rewrite_percentage: 100,
            auto_rewrite_min_size: 64 << 20,
            key_save_delay_us: 0,
            rdb_preamble: true,
        }
    }

    /// Returns an RDB image of a server holding `k` = "v" in db 0 and list `l` in db 3.
    fn preamble() -> Vec<u8> {
        let mut src = crate::command::testing::Harness::new();
        src.run(&["SET", "k", "v"]);
        src.run(&["SELECT", "3"]);
        src.run(&["RPUSH", "l", "a", "b"]);
        let opts = crate::cmd::persist::save_opts(&src.server);
        let mut w = file::RdbWriter::new(Vec::new(), opts.clone()).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        file::write_snapshot(&src.server.store, &opts, &cancel, 0, || {}, &mut w).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn an_rdb_preamble_loads_and_the_commands_after_it_run() {
        use crate::protocol::reply::Value as R;
        let mut data = preamble();
        data.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n");
        data.extend_from_slice(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nc\r\n");
        let (r, mut h, _) = load(&data, false);
        assert_eq!(r, Ok(Loaded::Ok));
        assert_eq!(h.run(&["GET", "k"]), R::Bulk(b"v".to_vec()));
        h.run(&["SELECT", "3"]);
        assert_eq!(h.run(&["LLEN", "l"]), R::Int(3));
        // A base that is only an image loads too; a damaged image fails.
        let image = preamble();
        let (r, mut h, _) = load(&image, false);
        assert_eq!(r, Ok(Loaded::Ok));
        assert_eq!(h.run(&["DBSIZE"]), R::Int(1));
        let (r, _, _) = load(&image[..image.len() - 12], true);
        assert_eq!(r, Err(Failed));
    }

    /// Writes `data` to a temp file and replays it into a fresh server; returns the outcome,
    /// the harness, and the file's length afterwards.
    fn load(
        data: &[u8],
        truncated_ok: bool,
    ) -> (
        Result<Loaded, Failed>,
        crate::command::testing::Harness,
        u64,
    ) {
        load_through(data, truncated_ok, file::WINDOW)
    }

    /// [`load`] through a window of `window` bytes.
    fn load_through(
        data: &[u8],
        truncated_ok: bool,
        window: usize,
    ) -> (
        Result<Loaded, Failed>,
        crate::command::testing::Harness,
        u64,
    ) {
        let h = crate::command::testing::Harness::new();
        let path = std::env::temp_dir().join(format!(
            "rrs-load-{}-{}",
            std::process::id(),
            crate::util::mono_ns()
        ));
        std::fs::write(&path, data).unwrap();
        let s = settings(truncated_ok);
        let r = with_replay(&h.server, |run| {
            load_file_sized(&h.server, &path, "f", true, &s, run, window)
        });
        let len = std::fs::metadata(&path).unwrap().len();
        let _ = std::fs::remove_file(&path);
        (r, h, len)
    }

    #[test]
    fn a_short_last_file_is_cut_at_its_last_command() {
        let good = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n";
        let mut data = good.to_vec();
        data.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$1\r");
        let (r, mut h, len) = load(&data, true);
        assert_eq!(r, Ok(Loaded::Truncated));
        assert_eq!(len, good.len() as u64);
        assert_eq!(
            h.run(&["GET", "k"]),
            crate::protocol::reply::Value::Bulk(b"2".to_vec())
        );
        let (r, _, len) = load(&data, false);
        assert_eq!(r, Err(Failed));
        assert_eq!(
            len,
            data.len() as u64,
            "left alone without aof-load-truncated"
        );
    }

    #[test]
    fn an_unfinished_multi_is_reverted() {
        let data = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$5\r\nMULTI\r\n\
                     *3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n";
        let (r, mut h, len) = load(data, true);
        assert_eq!(r, Ok(Loaded::Truncated));
        assert_eq!(len, 27, "cut before MULTI");
        assert_eq!(
            h.run(&["GET", "a"]),
            crate::protocol::reply::Value::Bulk(b"1".to_vec())
        );
    }

    #[test]
    fn a_past_expiry_does_not_drop_later_writes_while_loading() {
        let data = b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n\
                     *3\r\n$9\r\nPEXPIREAT\r\n$1\r\nl\r\n$4\r\n1000\r\n\
                     *3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nb\r\n";
        let (r, mut h, _) = load(data, false);
        assert_eq!(r, Ok(Loaded::Ok));
        // The list kept its past TTL through the second push: it is gone once loaded.
        assert_eq!(h.run(&["LLEN", "l"]), crate::protocol::reply::Value::Int(0));
    }

    #[test]
    fn bad_format_and_unknown_commands_fail() {
        let (r, _, _) = load(b"*1\r\n$3\r\nBLA\r\n", true);
        assert_eq!(r, Err(Failed));
        let (r, _, _) = load(b"+OK\r\n", true);
        assert_eq!(r, Err(Failed));
        let (r, _, _) = load(b"", true);
        assert_eq!(r, Ok(Loaded::Empty));
    }

    #[test]
    fn short_reads_and_format_errors() {
        // What each cut needs: the payload and its CRLF, one more byte for an unfinished line,
        // nothing for a lone `*` (cut for good).
        assert!(matches!(
            step(b"*2\r\n$3\r\nGET\r\n$1\r\nk", 0),
            Step::ShortRead(20)
        ));
        assert!(matches!(step(b"*2\r\n$3\r\nGET", 0), Step::ShortRead(13)));
        assert!(matches!(step(b"*", 0), Step::ShortRead(2)));
        assert!(matches!(step(b"*\r\n", 0), Step::ShortRead(usize::MAX)));
        assert!(matches!(step(b"*1\r\n", 0), Step::ShortRead(5)));
        assert!(matches!(step(b"!!!\r\n", 0), Step::Format));
        assert!(matches!(step(b"*0\r\n", 0), Step::Format));
        assert!(matches!(step(b"*1\r\nxx\r\n", 0), Step::Format));
    }

    /// Returns the AOF of commands `cmds`, as RESP.
    fn aof_of(cmds: &[&[&str]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cmds {
            out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for a in *c {
                out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
            }
        }
        out
    }

    #[test]
    fn commands_spanning_the_window_edge_and_larger_than_it_replay_whole() {
        use crate::protocol::reply::Value as R;
        let big = "v".repeat(3000);
        let mut data = b"#TS:1\r\n".to_vec();
        data.extend(aof_of(&[
            &["SET", "a", "1"],
            &["SET", "big", &big],
            &["INCR", "a"],
            &["RPUSH", "l", "x", "y", "z"],
        ]));
        for size in (16..120).chain([500, 4096]) {
            let (r, mut h, _) = load_through(&data, false, size);
            assert_eq!(r, Ok(Loaded::Ok), "window {size}");
            assert_eq!(
                h.run(&["GET", "a"]),
                R::Bulk(b"2".to_vec()),
                "window {size}"
            );
            assert_eq!(h.run(&["STRLEN", "big"]), R::Int(3000), "window {size}");
            assert_eq!(h.run(&["LLEN", "l"]), R::Int(3), "window {size}");
        }
    }

    #[test]
    fn a_preamble_and_its_tail_load_through_a_small_window() {
        use crate::protocol::reply::Value as R;
        let mut data = preamble();
        data.extend(aof_of(&[&["SELECT", "3"], &["RPUSH", "l", "c"]]));
        for size in [16, 33, 64, 200] {
            let (r, mut h, _) = load_through(&data, false, size);
            assert_eq!(r, Ok(Loaded::Ok), "window {size}");
            assert_eq!(h.run(&["GET", "k"]), R::Bulk(b"v".to_vec()));
            h.run(&["SELECT", "3"]);
            assert_eq!(
                h.run(&["LRANGE", "l", "0", "-1"]),
                R::Array(vec![
                    R::Bulk(b"a".to_vec()),
                    R::Bulk(b"b".to_vec()),
                    R::Bulk(b"c".to_vec()),
                ])
            );
        }
    }

    #[test]
    fn a_preamble_with_size_hints_sizes_the_tables_it_fills() {
        use crate::protocol::reply::Value as R;
        // SAVE's format, which has RESIZEDB records.
        let mut src = crate::command::testing::Harness::new();
        for i in 0..1280 {
            src.run(&["SET", &format!("k{i}"), "v"]);
        }
        let opts = crate::cmd::persist::save_opts(&src.server);
        let mut w = file::RdbWriter::new(Vec::new(), opts).unwrap();
        let mut ks = src.server.store.lock_all(0, crate::util::now_ms());
        file::write_keyspace(&mut ks, 16, &mut w).unwrap();
        drop(ks);
        let mut data = w.finish().unwrap();
        data.extend(aof_of(&[&["SET", "after", "1"]]));
        let (r, mut h, _) = load_through(&data, false, 64);
        assert_eq!(r, Ok(Loaded::Ok));
        assert_eq!(h.run(&["DBSIZE"]), R::Int(1281));
        // Sized once for the hint (80 keys a shard: 128 buckets each). Grown instead, each
        // table would still be moving its 64 buckets into 128, one per insert since the 65th.
        let mut ks = h.server.store.lock_all(0, crate::util::now_ms());
        for i in 0..crate::store::SHARDS {
            let d = &ks.shard_mut(i).dbs[0].dict;
            assert!(!d.is_rehashing(), "shard {i}: {} keys", d.len());
            assert_eq!(d.buckets(), 128, "shard {i}: {} keys", d.len());
        }
    }

    #[test]
    fn a_file_cut_anywhere_is_cut_back_to_the_same_command_through_any_window() {
        use crate::protocol::reply::Value as R;
        let data = aof_of(&[
            &["SET", "a", "1"],
            &["INCR", "a"],
            &["MULTI"],
            &["INCR", "a"],
            &["EXEC"],
            &["APPEND", "s", &"w".repeat(100)],
            &["INCR", "a"],
        ]);
        for n in 1..data.len() {
            let (r, mut h, len) = load_through(&data[..n], true, data.len() + 1);
            let a = h.run(&["GET", "a"]);
            for size in [16, 40] {
                let (rs, mut hs, lens) = load_through(&data[..n], true, size);
                assert_eq!((&rs, lens), (&r, len), "cut at {n}, window {size}");
                assert_eq!(hs.run(&["GET", "a"]), a, "cut at {n}, window {size}");
            }
            // Without aof-load-truncated the cut is an error, whatever the window.
            if r == Ok(Loaded::Truncated) {
                assert_eq!(
                    load_through(&data[..n], false, 16).0,
                    Err(Failed),
                    "cut at {n}"
                );
            }
        }
        // A cut inside the last INCR keeps everything before it.
        let (r, mut h, _) = load_through(&data[..data.len() - 3], true, 16);
        assert_eq!(r, Ok(Loaded::Truncated));
        assert_eq!(h.run(&["GET", "a"]), R::Bulk(b"3".to_vec()));
        assert_eq!(h.run(&["STRLEN", "s"]), R::Int(100));
    }
}
