//! DEBUG and its subcommands that the test suite and the benchmarks use: SLEEP, OBJECT,
//! DIGEST, DIGEST-VALUE, POPULATE, PROTOCOL, SET-ACTIVE-EXPIRE, LOG, CHANGE-REPL-ID, and the
//! knobs tests flip (REPLYBUFFER, QUICKLIST-PACKED-THRESHOLD, PAUSE-CRON...).
//!
//! DEBUG is one command (not a container: Redis parses its subcommands itself, so its errors
//! are "unknown subcommand or wrong number of arguments"). It is PROTECTED (refused unless
//! `enable-debug-command` allows it) and locks every shard: SLEEP must freeze the whole
//! keyspace, DIGEST and POPULATE must see it at one instant.
//!
//! The dataset digest follows Redis's scheme, so equal datasets give equal digests: each
//! key/value pair is digested in order-preserving steps (`mix`: SHA1 of the running digest
//! xored with SHA1 of the data), the pairs and the members of unordered collections are
//! combined with xor (order-free).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use super::server::reply_help;
use crate::command::table::doc_flags;
use crate::command::{Command, Ctx, flags::*};
use crate::protocol::errors;
use crate::store::value::Value;
use crate::util::{parse_i64_strict, parse_memory};

/// DEBUG PAUSE-CRON: the cron skips its work while set.
static CRON_PAUSED: AtomicBool = AtomicBool::new(false);
/// DEBUG REPLYBUFFER PEAK-RESET-TIME, milliseconds (-1: never), and RESIZING.
static REPLY_BUFFER_PEAK_RESET_MS: AtomicI64 = AtomicI64::new(5000);
static REPLY_BUFFER_RESIZING: AtomicBool = AtomicBool::new(true);
/// DEBUG SET-SKIP-CHECKSUM-VALIDATION, for RDB loading and RESTORE.
static SKIP_CHECKSUM_VALIDATION: AtomicBool = AtomicBool::new(false);
/// DEBUG SET-DISABLE-DENY-SCRIPTS, for scripting.
static DISABLE_DENY_SCRIPTS: AtomicBool = AtomicBool::new(false);
/// DEBUG AOF-FLUSH-SLEEP, microseconds, for the AOF.
static AOF_FLUSH_SLEEP_US: AtomicI64 = AtomicI64::new(0);

/// Returns the packed-node threshold of lists, in bytes (kept by the list type, which reads
/// it on every push).
pub fn quicklist_packed_threshold() -> u64 {
    crate::store::types::list::packed_threshold()
}

/// True while DEBUG PAUSE-CRON holds the cron.
pub fn cron_paused() -> bool {
    CRON_PAUSED.load(Ordering::Relaxed)
}

/// Returns DEBUG REPLYBUFFER's settings: (peak reset time in ms or -1, resizing enabled).
pub fn reply_buffer_settings() -> (i64, bool) {
    (
        REPLY_BUFFER_PEAK_RESET_MS.load(Ordering::Relaxed),
        REPLY_BUFFER_RESIZING.load(Ordering::Relaxed),
    )
}

/// True when checksums of RDB payloads are not verified.
pub fn skip_checksum_validation() -> bool {
    SKIP_CHECKSUM_VALIDATION.load(Ordering::Relaxed)
}

/// True when scripts may call commands they normally may not.
pub fn deny_scripts_disabled() -> bool {
    DISABLE_DENY_SCRIPTS.load(Ordering::Relaxed)
}

/// Returns the sleep before each AOF flush, in microseconds.
pub fn aof_flush_sleep_us() -> i64 {
    AOF_FLUSH_SLEEP_US.load(Ordering::Relaxed)
}

// ---- SHA1 (FIPS 180-1), for the digests ----

/// Returns the SHA1 of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    // The message, a 1 bit, zeros up to 56 mod 64, then the bit length: walk it block by block
    // without copying all of it.
    let mut tail = Vec::with_capacity(128);
    let whole = data.len() / 64 * 64;
    tail.extend_from_slice(&data[whole..]);
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&bit_len.to_be_bytes());
    for block in data[..whole].chunks_exact(64).chain(tail.chunks_exact(64)) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t =
                a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Xors SHA1(data) into `digest`: combines unordered things.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// `digest = SHA1(digest xor SHA1(data))`: combines things whose order matters.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// Returns the hex form of a digest.
fn hex(digest: &[u8; 20]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mixes a value (its type, its content) and whether it expires into `digest`, as Redis's
/// DEBUG DIGEST does for one key.
fn value_digest(digest: &mut [u8; 20], v: &Value, expires: bool) {
    // Redis's type codes: string 0, list 1, set 2, zset 3, hash 4, stream 6.
    let code: u32 = match v {
        Value::Int(_) | Value::Small(_) | Value::Str(_) | Value::Raw(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    };
    mix_digest(digest, &code.to_be_bytes());
    match v {
        Value::Int(_) | Value::Small(_) | Value::Str(_) | Value::Raw(_) => {
            let mut tmp = itoa::Buffer::new();
            mix_digest(digest, v.str_bytes(&mut tmp).unwrap_or_default());
        }
        // A list's elements, in order (integers as their decimal text, as Redis reads them).
        Value::List(l) => l.walk(0, false, |e| {
            mix_digest(digest, e);
            true
        }),
        // A hash: each pair mixed on its own (field, then value), the pairs combined in any
        // order.
        Value::Hash(h) => h.for_each(|f, val| {
            let mut pair = [0u8; 20];
            mix_digest(&mut pair, f);
            mix_digest(&mut pair, val);
            xor_digest(digest, &pair);
        }),
        // A set's members are unordered: each one's SHA1 is XORed in (xorDigest), so the
        // digest does not depend on the encoding or the order of the walk.
        Value::Set(s) => s.for_each_member(|m| xor_digest(digest, m)),
        // Each member with its score printed as %.17g, digested apart and xored in, so the
        // order does not matter (Redis 7.0's xorObjectDigest for both encodings).
        Value::ZSet(z) => {
            let mut buf = [0u8; 32];
            z.for_each(|m, score| {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, m);
                mix_digest(&mut ele, crate::cmd::zset::fmt_score(score, &mut buf));
                xor_digest(digest, &ele);
            });
        }
    }
    if expires {
        xor_digest(digest, b"!!expire!!");
    }
}

/// Returns the digest of every database (all zeros for an empty dataset). Keys whose time
/// has passed but that are still stored count, as in Redis.
fn dataset_digest(ctx: &mut Ctx) -> [u8; 20] {
    let mut total = [0u8; 20];
    for db in 0..ctx.server.store.databases() {
        if ctx.ks.db_len(db) == 0 {
            continue;
        }
        mix_digest(&mut total, &(db as u32).to_be_bytes());
        for i in 0..crate::store::SHARDS {
            ctx.ks.shard_mut(i).dbs[db].dict.for_each(|e| {
                let mut d = [0u8; 20];
                mix_digest(&mut d, e.key());
                value_digest(&mut d, e.value(), e.expire().is_some());
                xor_digest(&mut total, &d);
            });
        }
    }
    total
}

/// Finds a key in the current database as stored, without expiring it: DEBUG looks at the
/// dataset as it is, keys past their time included (as Redis's `dictFind` does).
fn stored<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a crate::store::entry::Entry> {
    let h = crate::store::hash_key(key);
    let db = ctx.ks.db;
    ctx.ks.shard_mut(crate::store::shard_of(h)).dbs[db].dict.get(h, key)
}

// ---- DEBUG OBJECT helpers ----

/// Returns the bytes a value takes in an RDB file (DEBUG OBJECT's `serializedlength`): its
/// real serialization, LZF included when `compress` (`rdbcompression`), as Redis measures it.
fn serialized_length(v: &Value, compress: bool) -> usize {
    let mut buf = Vec::new();
    crate::persistence::rdb::write_body(&mut buf, v, compress);
    buf.len()
}

/// Redis shares the objects of small integers; OBJECT and DEBUG report their refcount as
/// `INT_MAX`.
fn refcount(v: &Value) -> i64 {
    match v {
        Value::Int(n) if (0..10_000).contains(n) => i32::MAX as i64,
        _ => 1,
    }
}

/// Parses a number the way C's `strtod` does: the longest leading part that is one, else 0.
fn strtod_prefix(s: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(s);
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&n| text.is_char_boundary(n))
        .find_map(|n| text[..n].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Parses an integer the way C's `atoi` does: leading digits, else 0.
fn atoi(s: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(s);
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().position(|c| !c.is_ascii_digit()).unwrap_or(digits.len());
    let v: i64 = digits[..end].parse().unwrap_or(0);
    if neg { -v } else { v }
}

/// Parses a positive count as Redis's `getPositiveLongFromObjectOrReply` does.
fn positive(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    match parse_i64_strict(arg) {
        Some(n) if n >= 0 => Some(n),
        _ => {
            ctx.out.error(errors::POSITIVE);
            None
        }
    }
}

// ---- subcommands ----

/// DEBUG OBJECT key
fn object(ctx: &mut Ctx, key: &[u8]) {
    let compress =
        ctx.server.config.read().get_by_name(b"rdbcompression").is_some_and(|v| v == b"yes");
    let Some(e) = stored(ctx, key) else {
        return ctx.out.error(errors::NO_SUCH_KEY);
    };
    let v = e.value();
    let mut line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        v as *const Value,
        refcount(v),
        v.encoding_name(),
        serialized_length(v, compress),
        e.clock(),
        crate::store::idle_seconds(e.clock())
    );
    if let Value::List(l) = v {
        let s = l.stats();
        line.push_str(&format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} \
             ql_uncompressed_size:{}",
            s.nodes, s.avg_node, s.listpack_max, s.compressed as u8, s.uncompressed_size
        ));
    }
    ctx.out.simple(line.as_bytes());
}

/// DEBUG POPULATE count [prefix] [size]
fn populate(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(count) = positive(ctx, argv[2]) else { return };
    let size = match argv.get(4) {
        Some(a) => match positive(ctx, a) {
            Some(n) => n as usize,
            None => return,
        },
        None => 0,
    };
    let prefix: &[u8] = argv.get(3).copied().unwrap_or(b"key");
    let db = ctx.ks.db;
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut num = itoa::Buffer::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(num.format(j).as_bytes());
        // Existing keys are left alone; an expired one counts as absent.
        if ctx.ks.entry_in(db, &key).is_some() {
            continue;
        }
        let text = format!("value:{j}");
        let value = if size == 0 {
            Value::bytes(text.as_bytes(), false)
        } else {
            let mut v = vec![0u8; size];
            let n = text.len().min(size);
            v[..n].copy_from_slice(&text.as_bytes()[..n]);
            Value::bytes(&v, false)
        };
        ctx.ks.insert_in(db, &key, value, None);
    }
    ctx.out.ok();
}

/// DEBUG PROTOCOL type: a sample reply of each RESP type, for client tests.
fn protocol(ctx: &mut Ctx, kind: &[u8]) {
    let out = &mut *ctx.out;
    match kind.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis's sample double, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => out.big_number(b"1234567999999999999999999999999999999"),
        b"null" => out.null(),
        b"array" => {
            out.array(3);
            (0..3).for_each(|j| out.int(j));
        }
        b"set" => {
            out.set(3);
            (0..3).for_each(|j| out.int(j));
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        b"attrib" => {
            // An attribute is not a reply of its own: RESP2 clients get the reply alone.
            if out.resp3 {
                out.raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.resp3 {
                return out.error(errors::RESP2_NOT_SUPPORTED);
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        b"verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => out.error(errors::DEBUG_PROTOCOL_TYPE),
    }
}

/// DEBUG HTSTATS dbid
fn htstats(ctx: &mut Ctx, arg: &[u8]) {
    let Some(db) = parse_i64_strict(arg) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if db < 0 || db as usize >= ctx.server.store.databases() {
        return ctx.out.error(errors::OUT_OF_RANGE_DB);
    }
    let db = db as usize;
    let (mut buckets, mut keys, mut volatile) = (0usize, 0usize, 0usize);
    for i in 0..crate::store::SHARDS {
        let d = &ctx.ks.shard_mut(i).dbs[db];
        buckets += d.dict.buckets();
        keys += d.dict.len();
        volatile += d.volatile;
    }
    let table = |size: usize, n: usize| {
        if n == 0 {
            "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
                .to_string()
        } else {
            format!(
                "Hash table 0 stats (main hash table):\n table size: {size}\n number of \
                 elements: {n}\n"
            )
        }
    };
    // The keyspace keeps a key's expire time in its entry: there is no second table, so the
    // expires figure counts keys only.
    let text = format!(
        "[Dictionary HT]\n{}[Expires HT]\n{}",
        table(buckets, keys),
        table(volatile, volatile)
    );
    ctx.out.verbatim(text.as_bytes());
}

/// DEBUG SDSLEN key
fn sdslen(ctx: &mut Ctx, key: &[u8]) {
    let Some(e) = ctx.ks.peek(key) else {
        return ctx.out.error(errors::NO_SUCH_KEY);
    };
    let v = e.value();
    if matches!(v, Value::Int(_)) {
        return ctx.out.error(errors::NOT_SDS_STRING);
    }
    let len = v.str_len().unwrap_or(0);
    let cap = match v {
        Value::Str(s) | Value::Raw(s) => s.capacity(),
        _ => len,
    };
    let line = format!(
        "key_sds_len:{}, key_sds_avail:0, key_zmalloc: {}, val_sds_len:{}, val_sds_avail:{}, \
         val_zmalloc: {}",
        key.len(),
        e.alloc_size(),
        len,
        cap - len,
        v.heap_size()
    );
    ctx.out.simple(line.as_bytes());
}

/// DEBUG MALLCTL key [value] / MALLCTL-STR key [value]
fn mallctl(ctx: &mut Ctx, argv: &[&[u8]], string: bool) {
    use crate::server::info;
    let name = argv[2];
    let fail = |ctx: &mut Ctx, e: i32| ctx.out.error(&format!("ERR {}", info::strerror(e)));
    if string {
        if let Some(v) = argv.get(3) {
            if *v == b"VOID" {
                return match info::mallctl_void(name) {
                    Ok(()) => ctx.out.ok(),
                    Err(e) => fail(ctx, e),
                };
            }
            // Writing arbitrary strings into jemalloc's controls is not supported.
            return ctx.out.error(&format!("ERR {}", info::strerror(libc::EPERM)));
        }
        return match info::mallctl_str(name) {
            Ok(s) => ctx.out.bulk(s.as_bytes()),
            Err(e) => fail(ctx, e),
        };
    }
    let new = match argv.get(3) {
        Some(a) => match parse_i64_strict(a) {
            Some(n) => Some(n),
            None => return ctx.out.error(errors::NOT_INTEGER),
        },
        None => None,
    };
    match info::mallctl_int(name, new) {
        Ok(Some(old)) => ctx.out.int(old),
        Ok(None) => ctx.out.ok(),
        Err(e) => fail(ctx, e),
    }
}

/// A small fuzzer of the glob matcher: random patterns against random strings must neither
/// panic nor hang.
fn stringmatch_test() {
    use rand::RngExt;
    let mut rng = rand::rng();
    const ALPHABET: &[u8] = b"*?[]^-\\abc";
    for _ in 0..100_000 {
        let plen = rng.random_range(0..32);
        let slen = rng.random_range(0..32);
        let pat: Vec<u8> =
            (0..plen).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect();
        let s: Vec<u8> = (0..slen).map(|_| rng.random_range(0..=255u8)).collect();
        let _ = crate::util::glob::glob_match(&pat, &s, rng.random_bool(0.5));
    }
}

const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
];

/// Ends the process the way a crash would, after logging why (DEBUG SEGFAULT, PANIC, ASSERT,
/// OOM: used by tests of crash reporting).
fn crash(what: &str) -> ! {
    tracing::warn!("=== REDIS BUG REPORT START: Cut & paste starting from here ===");
    tracing::warn!("{what}");
    tracing::warn!("=== REDIS BUG REPORT END. Make sure to include from START to END. ===");
    std::process::abort()
}

/// DEBUG subcommand [arg ...]
fn debug(ctx: &mut Ctx, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let argc = argv.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => reply_help(ctx.out, "DEBUG", HELP),
        (b"sleep", 3) => {
            let secs = strtod_prefix(argv[2]);
            if secs > 0.0 && secs.is_finite() {
                // Every shard is held: the keyspace is frozen for the whole sleep.
                std::thread::sleep(Duration::from_secs_f64(secs.min(1e9)));
            }
            ctx.out.ok();
        }
        (b"set-active-expire", 3) => {
            ctx.server.active_expire.store(atoi(argv[2]) != 0, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"object", 3) => object(ctx, argv[2]),
        (b"sdslen", 3) => sdslen(ctx, argv[2]),
        (b"populate", 3..=5) => populate(ctx, argv),
        (b"digest", 2) => {
            let d = dataset_digest(ctx);
            ctx.out.simple(hex(&d).as_bytes());
        }
        (b"digest-value", _) => {
            ctx.out.array(argc - 2);
            for key in &argv[2..] {
                let mut d = [0u8; 20];
                if let Some(e) = stored(ctx, key) {
                    value_digest(&mut d, e.value(), e.expire().is_some());
                }
                ctx.out.simple(hex(&d).as_bytes());
            }
        }
        (b"protocol", 3) => protocol(ctx, argv[2]),
        (b"log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(argv[2]));
            ctx.out.ok();
        }
        (b"leak", 3) => {
            std::mem::forget(argv[2].to_vec());
            ctx.out.ok();
        }
        (b"error", 3) => {
            // The argument is the whole error line, code included.
            let msg = String::from_utf8_lossy(argv[2]).into_owned();
            ctx.out.error(&msg);
        }
        (b"change-repl-id", 2) => {
            tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            *ctx.server.info_state.replids.lock() =
                (crate::server::info::random_hex40(), "0".repeat(40));
            ctx.out.ok();
        }
        (b"stringmatch-test", 2) => {
            stringmatch_test();
            ctx.out.simple(b"Apparently Redis did not crash: test passed");
        }
        (b"quicklist-packed-threshold", 3) => match parse_memory(argv[2]) {
            Some(sz) if sz <= (1u64 << 32) - (1 << 20) => {
                crate::store::types::list::set_packed_threshold(sz);
                ctx.out.ok();
            }
            _ => ctx.out.error(errors::PACKED_THRESHOLD),
        },
        (b"listpack", 3) | (b"quicklist", 3..=4) => {
            let (want, err, msg): (&str, &str, &[u8]) = if sub == b"listpack" {
                ("listpack", errors::NOT_LISTPACK, b"Listpack structure printed on stdout")
            } else {
                ("quicklist", errors::NOT_QUICKLIST, b"Quicklist structure printed on stdout")
            };
            match ctx.ks.peek(argv[2]).map(|e| e.value().encoding_name()) {
                None => ctx.out.error(errors::NO_SUCH_KEY),
                Some(enc) if enc != want => ctx.out.error(err),
                Some(enc) => {
                    println!("{{{enc} of key {}}}", String::from_utf8_lossy(argv[2]));
                    ctx.out.simple(msg);
                }
            }
        }
        (b"htstats", 3) => htstats(ctx, argv[2]),
        (b"htstats-key", 3) => match ctx.ks.peek(argv[2]) {
            None => ctx.out.error(errors::NO_SUCH_KEY),
            Some(e) => match match e.value() {
                Value::Hash(h) => h.table_size(),
                Value::Set(s) => s.table_size(),
                Value::ZSet(z) => z.table_size(),
                _ => None,
            } {
                Some((size, n)) => {
                    let text = format!(
                        "Hash table 0 stats (main hash table):\n table size: {size}\n number \
                         of elements: {n}\n"
                    );
                    ctx.out.verbatim(text.as_bytes());
                }
                // Strings, lists and the compact encodings are not hash tables.
                None => ctx.out.error(errors::NOT_HASHTABLE),
            },
        },
        (b"structsize", 2) => {
            let text = format!(
                "bits:{} entry:{} value:{} ",
                usize::BITS,
                std::mem::size_of::<crate::store::entry::Entry>(),
                std::mem::size_of::<Value>()
            );
            ctx.out.bulk(text.as_bytes());
        }
        (b"mallctl", 3..) => mallctl(ctx, argv, false),
        (b"mallctl-str", 3..) => mallctl(ctx, argv, true),
        (b"reload", _) => {
            let (mut merge, mut noflush, mut nosave) = (false, false, false);
            for opt in &argv[2..] {
                match opt.to_ascii_lowercase().as_slice() {
                    b"merge" => merge = true,
                    b"noflush" => noflush = true,
                    b"nosave" => nosave = true,
                    _ => return ctx.out.error(errors::DEBUG_RELOAD_OPTIONS),
                }
            }
            super::persist::debug_reload(ctx, merge, noflush, nosave);
        }
        (b"loadaof", 2) => crate::persistence::aof::load::debug_loadaof(ctx),
        (b"set-skip-checksum-validation", 3) => {
            SKIP_CHECKSUM_VALIDATION.store(atoi(argv[2]) != 0, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"set-disable-deny-scripts", 3) => {
            DISABLE_DENY_SCRIPTS.store(atoi(argv[2]) != 0, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"aof-flush-sleep", 3) => {
            AOF_FLUSH_SLEEP_US.store(atoi(argv[2]), Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"pause-cron", 3) => {
            CRON_PAUSED.store(atoi(argv[2]) != 0, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"drop-cluster-packet-filter", 3) => match parse_i64_strict(argv[2]) {
            // There is no cluster bus, so there is nothing to filter.
            Some(_) => ctx.out.ok(),
            None => ctx.out.error(errors::NOT_INTEGER),
        },
        (b"replybuffer", 4) => {
            let what = argv[2].to_ascii_lowercase();
            let val = argv[3].to_ascii_lowercase();
            match what.as_slice() {
                b"peak-reset-time" => {
                    let ms = match val.as_slice() {
                        b"never" => -1,
                        b"reset" => 5000,
                        _ => match parse_i64_strict(argv[3]) {
                            Some(n) => n,
                            None => return ctx.out.error(errors::NOT_INTEGER),
                        },
                    };
                    REPLY_BUFFER_PEAK_RESET_MS.store(ms, Ordering::Relaxed);
                }
                b"resizing" => REPLY_BUFFER_RESIZING.store(atoi(argv[3]) != 0, Ordering::Relaxed),
                _ => return ctx.out.error(&errors::subcommand_syntax(argv[1], b"debug")),
            }
            ctx.out.ok();
        }
        (b"segfault", 2) => crash("Crashed running the instruction at: DEBUG SEGFAULT"),
        (b"panic", 2) => crash(&format!(
            "Guru Meditation: DEBUG PANIC called at Unix time {}",
            crate::util::now_ms() / 1000
        )),
        (b"assert", 2) => crash("ASSERTION FAILED: DEBUG ASSERT"),
        (b"oom", 2) => crash("Out Of Memory allocating a huge block: DEBUG OOM"),
        _ => ctx.out.error(&errors::subcommand_syntax(argv[1], b"debug")),
    }
}

pub const COMMANDS: &[Command] = &[Command {
    group: "server",
    summary: "A container for debugging commands",
    complexity: "Depends on subcommand.",
    doc_flags: doc_flags::SYSCMD,
    ..Command::new("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED | ALL_SHARDS, debug)
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::server::tests::Harness;
    use crate::protocol::reply::Value as R;

    fn status(s: &str) -> R {
        R::Simple(s.into())
    }

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            hex(&sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(hex(&sha1(&[b'a'; 1000])), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }

    #[test]
    fn digest_matches_redis() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["DEBUG", "DIGEST"]), status(&"0".repeat(40)));
        // The same dataset in real Redis 7.0.15 gives these digests.
        let long = "a".repeat(73);
        for (k, v) in [("foo", "bar"), ("foo2", "12345"), ("foo3", long.as_str()), ("a", "b")] {
            h.run(&["SET", k, v]);
        }
        assert_eq!(h.run(&["DEBUG", "POPULATE", "3", "p", "2"]), status("OK"));
        assert_eq!(
            h.run(&["DEBUG", "DIGEST-VALUE", "foo", "foo2", "foo3", "nokey"]),
            R::Array(vec![
                status("68467c70ae30376e7ce005bcc8827f5ba7fd67dc"),
                status("e1cf90774e995ae03de66e8109dc5cb9d9c2dc83"),
                status("79553225418a8f5ce931c271d2672d86f870b41a"),
                status("0000000000000000000000000000000000000000"),
            ])
        );
        assert_eq!(h.run(&["DEBUG", "DIGEST"]), status("b4931beef1dda411e96554a9d47f0daf3846946c"));
        assert_eq!(h.run(&["DEBUG", "DIGEST-VALUE"]), R::Array(vec![]));
    }

    #[test]
    fn digest_sees_keys_past_their_time() {
        let mut h = Harness::new();
        {
            let mut ks = h.server.store.lock_all(0, 1000);
            ks.set_with_expire(b"old", Value::string(b"v"), Some(1));
        }
        let R::Array(d) = h.run(&["DEBUG", "DIGEST-VALUE", "old"]) else { panic!() };
        let mut expect = [0u8; 20];
        value_digest(&mut expect, &Value::string(b"v"), true);
        assert_eq!(d, vec![status(&hex(&expect))]);
        assert!(matches!(h.run(&["DEBUG", "OBJECT", "old"]), R::Simple(_)));
        assert_ne!(h.run(&["DEBUG", "DIGEST"]), status(&"0".repeat(40)));
        // DEBUG looked without expiring: the key is still stored.
        assert_eq!(h.server.store.db_sizes(0), (1, 1));
    }

    #[test]
    fn populate_semantics() {
        let mut h = Harness::new();
        h.run(&["SET", "key:1", "keep"]);
        assert_eq!(h.run(&["DEBUG", "POPULATE", "3"]), status("OK"));
        assert_eq!(h.run(&["GET", "key:0"]), R::Bulk(b"value:0".to_vec()));
        assert_eq!(h.run(&["GET", "key:1"]), R::Bulk(b"keep".to_vec()));
        h.run(&["DEBUG", "POPULATE", "2", "p", "10"]);
        assert_eq!(h.run(&["GET", "p:1"]), R::Bulk(b"value:1\0\0\0".to_vec()));
        h.run(&["DEBUG", "POPULATE", "2", "q", "3"]);
        assert_eq!(h.run(&["GET", "q:1"]), R::Bulk(b"val".to_vec()));
        for bad in ["-1", "abc"] {
            assert_eq!(h.run(&["DEBUG", "POPULATE", bad]), R::Error(errors::POSITIVE.into()));
        }
        assert_eq!(h.server.store.db_sizes(0).0, 7);
    }

    #[test]
    fn populate_is_fast() {
        let mut h = Harness::new();
        let t = std::time::Instant::now();
        h.run(&["DEBUG", "POPULATE", "200000"]);
        assert_eq!(h.server.store.db_sizes(0).0, 200_000);
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn object_line() {
        let mut h = Harness::new();
        h.run(&["SET", "foo", "bar"]);
        h.run(&["SET", "n", "20000"]);
        h.run(&["SET", "s", "5"]);
        let R::Simple(line) = h.run(&["DEBUG", "OBJECT", "foo"]) else { panic!() };
        assert!(line.starts_with("Value at:0x"), "{line}");
        assert!(line.contains(" refcount:1 encoding:embstr serializedlength:4 lru:"), "{line}");
        assert!(line.ends_with(" lru_seconds_idle:0"));
        let R::Simple(line) = h.run(&["DEBUG", "OBJECT", "n"]) else { panic!() };
        assert!(line.contains("encoding:int serializedlength:3 "), "{line}");
        let R::Simple(line) = h.run(&["DEBUG", "OBJECT", "s"]) else { panic!() };
        assert!(line.contains("refcount:2147483647 encoding:int serializedlength:2 "));
        assert_eq!(h.run(&["DEBUG", "OBJECT", "nokey"]), R::Error("ERR no such key".into()));
        assert_eq!(serialized_length(&Value::string(&[b'x'; 100]), false), 102);
        // Compressed as an RDB file would hold it.
        assert!(serialized_length(&Value::string(&[b'x'; 100]), true) < 20);
    }

    #[test]
    fn protocol_types() {
        let mut h = Harness::new();
        assert_eq!(h.raw(&["DEBUG", "PROTOCOL", "double"]), b"$5\r\n3.141\r\n");
        assert_eq!(h.raw(&["DEBUG", "PROTOCOL", "true"]), b":1\r\n");
        assert_eq!(
            h.raw(&["DEBUG", "PROTOCOL", "attrib"]),
            b"$39\r\nSome real reply following the attribute\r\n"
        );
        assert_eq!(
            h.run(&["DEBUG", "PROTOCOL", "push"]),
            R::Error(errors::RESP2_NOT_SUPPORTED.into())
        );
        assert_eq!(
            h.run(&["DEBUG", "PROTOCOL", "x"]),
            R::Error(errors::DEBUG_PROTOCOL_TYPE.into())
        );
        h.resp3 = true;
        assert_eq!(
            h.raw(&["DEBUG", "PROTOCOL", "attrib"]),
            b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n\
              $39\r\nSome real reply following the attribute\r\n"
                .to_vec()
        );
        assert_eq!(
            h.raw(&["DEBUG", "PROTOCOL", "push"]),
            b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n\
              $40\r\nSome real reply following the push reply\r\n"
                .to_vec()
        );
        assert_eq!(
            h.raw(&["DEBUG", "PROTOCOL", "map"]),
            b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
        );
        assert_eq!(
            h.raw(&["DEBUG", "PROTOCOL", "verbatim"]),
            b"=29\r\ntxt:This is a verbatim\nstring\r\n"
        );
        assert_eq!(
            h.raw(&["DEBUG", "PROTOCOL", "bignum"]),
            b"(1234567999999999999999999999999999999\r\n"
        );
        assert_eq!(h.raw(&["DEBUG", "PROTOCOL", "null"]), b"_\r\n");
    }

    #[test]
    fn sleep_and_switches() {
        let mut h = Harness::new();
        let t = std::time::Instant::now();
        assert_eq!(h.run(&["DEBUG", "SLEEP", "0.05"]), status("OK"));
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert_eq!(h.run(&["DEBUG", "SLEEP", "abc"]), status("OK"));
        h.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        assert!(!h.server.active_expire.load(Ordering::Relaxed));
        h.run(&["DEBUG", "set-active-expire", "1"]);
        assert!(h.server.active_expire.load(Ordering::Relaxed));
        assert_eq!(
            h.run(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"]),
            R::Error(errors::PACKED_THRESHOLD.into())
        );
        assert_eq!(h.run(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]), status("OK"));
        assert_eq!(quicklist_packed_threshold(), 100);
        assert_eq!(h.run(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]), status("OK"));
        assert_eq!(quicklist_packed_threshold(), 1 << 30);
        assert_eq!(h.run(&["DEBUG", "REPLYBUFFER", "peak-reset-time", "never"]), status("OK"));
        assert_eq!(reply_buffer_settings().0, -1);
        h.run(&["DEBUG", "REPLYBUFFER", "peak-reset-time", "reset"]);
        assert_eq!(
            h.run(&["DEBUG", "REPLYBUFFER", "foo", "1"]),
            R::Error(
                "ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'. \
                 Try DEBUG HELP."
                    .into()
            )
        );
        assert_eq!(h.run(&["DEBUG", "ERROR", "FOO bar"]), R::Error("FOO bar".into()));
        assert_eq!(h.run(&["DEBUG", "LOG", "hello"]), status("OK"));
        assert_eq!(
            h.run(&["DEBUG", "RELOAD", "bad"]),
            R::Error(errors::DEBUG_RELOAD_OPTIONS.into())
        );
        assert_eq!(
            h.run(&["DEBUG", "JMAP"]),
            R::Error(
                "ERR unknown subcommand or wrong number of arguments for 'JMAP'. Try DEBUG HELP."
                    .into()
            )
        );
        let old = h.server.info_state.replids.lock().0.clone();
        assert_eq!(h.run(&["DEBUG", "CHANGE-REPL-ID"]), status("OK"));
        assert_ne!(h.server.info_state.replids.lock().0, old);
        assert!(matches!(h.run(&["DEBUG", "MALLCTL", "arenas.page"]), R::Int(n) if n >= 4096));
        assert_eq!(
            h.run(&["DEBUG", "MALLCTL", "no.such"]),
            R::Error("ERR No such file or directory".into())
        );
        assert_eq!(h.run(&["DEBUG", "MALLCTL-STR", "thread.tcache.flush", "VOID"]), status("OK"));
        let R::Array(help) = h.run(&["DEBUG", "HELP"]) else { panic!() };
        assert!(help.len() > 20);
    }

    #[test]
    fn listpack_and_htstats() {
        let mut h = Harness::new();
        h.run(&["SET", "s", "x"]);
        assert_eq!(h.run(&["DEBUG", "LISTPACK", "s"]), R::Error(errors::NOT_LISTPACK.into()));
        assert_eq!(h.run(&["DEBUG", "LISTPACK", "nokey"]), R::Error(errors::NO_SUCH_KEY.into()));
        let R::Bulk(t) = h.run(&["DEBUG", "HTSTATS", "0"]) else { panic!() };
        let t = String::from_utf8(t).unwrap();
        assert!(t.starts_with("[Dictionary HT]\n") && t.contains("number of elements: 1\n"), "{t}");
        assert_eq!(h.run(&["DEBUG", "HTSTATS", "99"]), R::Error(errors::OUT_OF_RANGE_DB.into()));
    }

    #[test]
    fn htstats_key_answers_for_every_hashtable_encoding() {
        let mut h = Harness::new();
        h.run(&["CONFIG", "SET", "set-max-intset-entries", "1"]);
        h.run(&["CONFIG", "SET", "zset-max-listpack-entries", "1"]);
        h.run(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
        h.run(&["SADD", "s", "a", "b"]);
        h.run(&["ZADD", "z", "1", "a", "2", "b"]);
        h.run(&["HSET", "h", "a", "1", "b", "2"]);
        h.run(&["SADD", "small", "1"]);
        for k in ["s", "z", "h"] {
            let R::Bulk(t) = h.run(&["DEBUG", "HTSTATS-KEY", k]) else { panic!("{k}") };
            let t = String::from_utf8(t).unwrap();
            assert!(t.contains("number of elements: 2\n"), "{k}: {t}");
        }
        assert_eq!(h.run(&["DEBUG", "HTSTATS-KEY", "small"]), R::Error(errors::NOT_HASHTABLE.into()));
        h.run(&["SET", "str", "x"]);
        assert_eq!(h.run(&["DEBUG", "HTSTATS-KEY", "str"]), R::Error(errors::NOT_HASHTABLE.into()));
    }

    #[test]
    fn parsing_like_c() {
        assert_eq!(strtod_prefix(b"0.5abc"), 0.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b" 2"), 2.0);
        assert_eq!(atoi(b"12x"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }
}
