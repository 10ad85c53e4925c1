//! INFO: the report of the server's state, in Redis 7.0's sections, field names and field
//! order (tools read fields by name, and redis-cli takes the first `strstr` match, so order
//! matters too). Every line ends in CRLF; sections are separated by an empty line.
//!
//! Also the bookkeeping INFO needs between calls: instantaneous rates sampled by the cron
//! (ops/sec, network kbps), the memory peak and the memory at start-up, and the replication
//! ids.
//!
//! Memory figures come from jemalloc's statistics (the binary's global allocator), the RSS from
//! /proc, CPU time from getrusage.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use super::Server;
use super::pubsub::Kind;
use crate::config::Config;
use crate::store::lazyfree;

/// Samples kept per instantaneous metric (Redis's `STATS_METRIC_SAMPLES`).
const SAMPLES: usize = 16;
/// Minimum time between two samples, in milliseconds (Redis samples every 100 ms).
const SAMPLE_PERIOD_MS: u128 = 100;

/// One instantaneous metric: a counter's rate per second, averaged over the last samples.
#[derive(Debug, Default)]
struct Rate {
    last_value: u64,
    samples: [u64; SAMPLES],
    idx: usize,
}

impl Rate {
    fn add(&mut self, value: u64, ms: u128) {
        let delta = value.saturating_sub(self.last_value);
        self.last_value = value;
        self.samples[self.idx] = (delta as u128 * 1000).checked_div(ms).unwrap_or(0) as u64;
        self.idx = (self.idx + 1) % SAMPLES;
    }

    fn value(&self) -> u64 {
        self.samples.iter().sum::<u64>() / SAMPLES as u64
    }
}

#[derive(Debug)]
struct Rates {
    at: Instant,
    ops: Rate,
    net_in: Rate,
    net_out: Rate,
}

/// What INFO keeps between calls.
#[derive(Debug)]
pub struct InfoState {
    rates: Mutex<Rates>,
    /// Highest `used_memory` seen.
    peak_memory: AtomicU64,
    /// `used_memory` when the server started.
    startup_memory: AtomicU64,
    /// `master_replid` and `master_replid2` (changed by DEBUG CHANGE-REPL-ID).
    pub replids: Mutex<(String, String)>,
}

impl Default for InfoState {
    fn default() -> Self {
        let used = memory().used;
        InfoState {
            rates: Mutex::new(Rates {
                at: Instant::now(),
                ops: Rate::default(),
                net_in: Rate::default(),
                net_out: Rate::default(),
            }),
            peak_memory: AtomicU64::new(used),
            startup_memory: AtomicU64::new(used),
            replids: Mutex::new((random_hex40(), "0".repeat(40))),
        }
    }
}

/// Returns 40 random hexadecimal characters (run ids, replication ids).
pub fn random_hex40() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..40).map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0')).collect()
}

/// The cron's INFO step: samples the instantaneous rates, refreshes the memory peak, and
/// mirrors the per-call settings (latency tracking, slow log) from the config.
pub fn cron_tick(server: &Server) {
    let st = &server.info_state;
    {
        let mut r = st.rates.lock();
        let ms = r.at.elapsed().as_millis();
        if ms >= SAMPLE_PERIOD_MS {
            r.at = Instant::now();
            let s = &server.stats;
            r.ops.add(s.total_commands_processed.load(Ordering::Relaxed), ms);
            r.net_in.add(s.net_input_bytes.load(Ordering::Relaxed), ms);
            r.net_out.add(s.net_output_bytes.load(Ordering::Relaxed), ms);
        }
    }
    st.peak_memory.fetch_max(memory().used, Ordering::Relaxed);
    server.table.apply_config(&server.config.read());
}

/// Returns `used_memory` at start-up.
pub fn startup_memory(server: &Server) -> u64 {
    server.info_state.startup_memory.load(Ordering::Relaxed)
}

/// Returns the highest `used_memory` seen so far.
pub fn peak_memory(server: &Server) -> u64 {
    server.info_state.peak_memory.load(Ordering::Relaxed)
}

/// Memory figures of the process.
#[derive(Debug, Default, Clone, Copy)]
pub struct Memory {
    /// Bytes allocated by the program (`used_memory`).
    pub used: u64,
    pub allocator_allocated: u64,
    pub allocator_active: u64,
    pub allocator_resident: u64,
    /// Resident set size of the process.
    pub rss: u64,
}

/// Reads the allocator's statistics (refreshing them first) and the process's RSS.
pub fn memory() -> Memory {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    let allocated = stats::allocated::read().unwrap_or(0) as u64;
    let active = stats::active::read().unwrap_or(0) as u64;
    let resident = stats::resident::read().unwrap_or(0) as u64;
    let rss = process_rss();
    // Without jemalloc as the global allocator (unit tests), its counters stay near zero: the
    // RSS is the best figure left.
    let used = if allocated > 0 { allocated } else { rss };
    Memory {
        used,
        allocator_allocated: allocated,
        allocator_active: active,
        allocator_resident: resident,
        rss,
    }
}

/// Returns `used_memory`: the bytes the program has allocated (the RSS where jemalloc keeps no
/// count). Cheaper than [`memory`]: for the maxmemory checks.
pub fn used_memory() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    match stats::allocated::read() {
        Ok(n) if n > 0 => n as u64,
        _ => process_rss(),
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as u64 } else { 4096 }
}

/// Returns the resident set size from /proc/self/statm, or 0 where it is unavailable.
pub fn process_rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page_size())
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 { pages as u64 * page_size() } else { 0 }
}

/// Calls into the bundled jemalloc for what tikv-jemalloc-ctl does not expose: controls that
/// take no value (arena purge, tcache flush), controls of any integer width, and the
/// statistics report. tikv-jemalloc-sys prefixes its symbols with `_rjem_`.
mod je {
    use std::ffi::{c_char, c_int, c_void};

    unsafe extern "C" {
        #[link_name = "_rjem_mallctl"]
        pub fn mallctl(
            name: *const c_char,
            oldp: *mut c_void,
            oldlenp: *mut usize,
            newp: *mut c_void,
            newlen: usize,
        ) -> c_int;
        #[link_name = "_rjem_malloc_stats_print"]
        pub fn malloc_stats_print(
            write_cb: Option<unsafe extern "C" fn(*mut c_void, *const c_char)>,
            cbopaque: *mut c_void,
            opts: *const c_char,
        );
    }
}

fn c_name(name: &[u8]) -> Result<std::ffi::CString, i32> {
    std::ffi::CString::new(name).map_err(|_| libc::EINVAL)
}

/// Starts or stops jemalloc's background thread as `jemalloc-bg-thread` says (Redis's
/// `set_jemalloc_bg_thread`): it returns freed pages to the system after their decay time even
/// while the server is idle, so memory released by idle connections leaves the RSS.
pub fn apply_jemalloc_bg_thread(cfg: &crate::config::Config) {
    let on = cfg.get_by_name(b"jemalloc-bg-thread").is_none_or(|v| v == b"yes");
    // Fails only without background-thread support in the allocator; nothing to do then.
    let _ = mallctl_int(b"background_thread", Some(on as i64));
}

/// Runs a jemalloc control that takes and returns nothing (`arena.4096.purge`,
/// `thread.tcache.flush`). Returns the errno on failure.
pub fn mallctl_void(name: &[u8]) -> Result<(), i32> {
    let name = c_name(name)?;
    // SAFETY: a NUL-terminated name and no buffers.
    let rc = unsafe {
        je::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == 0 { Ok(()) } else { Err(rc) }
}

/// Reads (and, with `new`, writes) an integer jemalloc control, trying 8, 4, 2 and 1 byte
/// widths as DEBUG MALLCTL does. Returns the old value; `Ok(None)` when the control could only
/// be written.
pub fn mallctl_int(name: &[u8], new: Option<i64>) -> Result<Option<i64>, i32> {
    let cname = c_name(name)?;
    let mut size = 8usize;
    while size > 0 {
        let mut old = [0u8; 8];
        let mut old_len = size;
        let mut val = new.unwrap_or(0).to_ne_bytes();
        let (newp, newlen) = match new {
            Some(_) => (val.as_mut_ptr() as *mut std::ffi::c_void, size),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: `old` and `val` are at least `size` bytes; the name is NUL-terminated.
        let rc = unsafe {
            je::mallctl(cname.as_ptr(), old.as_mut_ptr() as *mut _, &mut old_len, newp, newlen)
        };
        match rc {
            0 => {
                let v = match size {
                    8 => i64::from_ne_bytes(old),
                    4 => i32::from_ne_bytes([old[0], old[1], old[2], old[3]]) as i64,
                    2 => i16::from_ne_bytes([old[0], old[1]]) as i64,
                    _ => old[0] as i64,
                };
                return Ok(Some(v));
            }
            libc::EPERM if new.is_some() => {
                // A write-only control: write without reading.
                // SAFETY: as above, without the old-value buffer.
                let rc = unsafe {
                    je::mallctl(
                        cname.as_ptr(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        newp,
                        newlen,
                    )
                };
                return if rc == 0 { Ok(None) } else { Err(rc) };
            }
            libc::EINVAL => size /= 2,
            e => return Err(e),
        }
    }
    Err(libc::EINVAL)
}

/// Reads a string jemalloc control.
pub fn mallctl_str(name: &[u8]) -> Result<String, i32> {
    let cname = c_name(name)?;
    let mut p: *const std::ffi::c_char = std::ptr::null();
    let mut len = std::mem::size_of::<*const std::ffi::c_char>();
    // SAFETY: jemalloc writes a pointer to a static NUL-terminated string into `p`.
    let rc = unsafe {
        je::mallctl(cname.as_ptr(), &mut p as *mut _ as *mut _, &mut len, std::ptr::null_mut(), 0)
    };
    if rc != 0 {
        return Err(rc);
    }
    if p.is_null() {
        return Ok(String::new());
    }
    // SAFETY: checked non-null; jemalloc's strings are NUL-terminated and static.
    Ok(unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Returns jemalloc's statistics report (MEMORY MALLOC-STATS).
pub fn malloc_stats() -> String {
    unsafe extern "C" fn collect(opaque: *mut std::ffi::c_void, text: *const std::ffi::c_char) {
        // SAFETY: `opaque` is the String passed below; `text` is NUL-terminated.
        unsafe {
            let out = &mut *(opaque as *mut String);
            out.push_str(&std::ffi::CStr::from_ptr(text).to_string_lossy());
        }
    }
    let mut out = String::new();
    // SAFETY: the callback only appends to `out`, which outlives the call.
    unsafe {
        je::malloc_stats_print(Some(collect), &mut out as *mut String as *mut _, std::ptr::null())
    };
    out
}

/// Returns the strerror text of an errno, as Redis replies DEBUG MALLCTL failures.
pub fn strerror(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or("")
        .to_string()
}

/// Formats bytes as Redis's `bytesToHuman` does: `1.02M`, `200B`.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: &[(u64, &str)] =
        &[(1 << 50, "P"), (1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    if n < 1024 {
        return format!("{n}B");
    }
    if n >= 1024 << 50 {
        return format!("{n}B");
    }
    for &(unit, suffix) in UNITS {
        if n >= unit {
            return format!("{:.2}{}", n as f64 / unit as f64, suffix);
        }
    }
    format!("{n}B")
}

/// Formats a percentile as Redis names it in latencystats: `%f` with trailing zeros (and a
/// trailing dot) removed, so 50.0 is `50` and 99.9 is `99.9`.
fn percentile_name(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

/// Replaces the characters that would break INFO's format (`#`, `:`, CR, LF) with `_`.
fn safe_name(s: &str) -> String {
    s.chars().map(|c| if matches!(c, '#' | ':' | '\r' | '\n') { '_' } else { c }).collect()
}

/// Returns a directive's value as CONFIG GET shows it.
fn other(cfg: &Config, name: &str) -> Option<String> {
    crate::command::table::config_text(cfg, name)
}

/// The percentiles latencystats reports (`latency-tracking-info-percentiles`).
fn latency_percentiles(cfg: &Config) -> Vec<f64> {
    if let Some(v) = other(cfg, "latency-tracking-info-percentiles") {
        let parsed: Option<Vec<f64>> = v.split_whitespace().map(|p| p.parse().ok()).collect();
        if let Some(p) = parsed {
            return p;
        }
    }
    vec![50.0, 99.0, 99.9]
}

/// The sections of INFO, in the order they are printed.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Sections of a plain `INFO` (or `INFO default`).
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Which sections a list of INFO arguments asks for: `default`, `all`, `everything`, or
/// names (case-insensitive; unknown names select nothing).
fn wanted(args: &[&[u8]]) -> Vec<bool> {
    let mut want = vec![false; SECTIONS.len()];
    let mut set = |name: &str| {
        if let Some(i) = SECTIONS.iter().position(|s| *s == name) {
            want[i] = true;
        }
    };
    if args.is_empty() {
        DEFAULT_SECTIONS.iter().for_each(|s| set(s));
    }
    for a in args {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "default" => DEFAULT_SECTIONS.iter().for_each(|s| set(s)),
            "all" | "everything" => SECTIONS.iter().for_each(|s| set(s)),
            // Redis's default list calls the modules section `module_list`.
            "module_list" => set("modules"),
            name => set(name),
        }
    }
    want
}

/// Returns `(sec, usec)` of a timeval as Redis prints it (`%ld.%06ld`).
fn tv(t: libc::timeval) -> String {
    format!("{}.{:06}", t.tv_sec, t.tv_usec)
}

fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage fills the zeroed struct; on failure it stays zeroed.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    }
}

fn uname() -> (String, String, String) {
    // SAFETY: uname fills the zeroed struct with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return ("Linux".into(), String::new(), String::new());
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr()).to_string_lossy().into_owned()
        };
        (s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

/// Builds the INFO text for the sections `args` selects.
pub fn build(server: &Server, args: &[&[u8]]) -> String {
    let want = wanted(args);
    let mut out = String::with_capacity(4096);
    let cfg = server.config.read().clone();
    for (i, name) in SECTIONS.iter().enumerate() {
        if !want[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *name {
            "server" => section_server(server, &cfg, &mut out),
            "clients" => section_clients(server, &cfg, &mut out),
            "memory" => section_memory(server, &cfg, &mut out),
            "persistence" => section_persistence(server, &mut out),
            "stats" => section_stats(server, &mut out),
            "replication" => section_replication(server, &cfg, &mut out),
            "cpu" => section_cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => section_commandstats(server, &mut out),
            "errorstats" => section_errorstats(server, &mut out),
            "latencystats" => section_latencystats(server, &cfg, &mut out),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => section_keyspace(server, &mut out),
            _ => {}
        }
    }
    out
}

/// Appends `name:value\r\n` lines.
macro_rules! fields {
    ($out:expr, $($name:literal => $val:expr),* $(,)?) => {
        $( let _ = write!($out, concat!($name, ":{}\r\n"), $val); )*
    };
}

fn section_server(server: &Server, cfg: &Config, out: &mut String) {
    let (sys, release, machine) = uname();
    let uptime = server.started.elapsed().as_secs();
    let exe = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    out.push_str("# Server\r\n");
    fields!(out,
        "redis_version" => crate::REDIS_VERSION,
        "redis_git_sha1" => "00000000",
        "redis_git_dirty" => 0,
        "redis_build_id" => build_id(),
        "redis_mode" => "standalone",
        "os" => format!("{sys} {release} {machine}"),
        "arch_bits" => usize::BITS,
        "monotonic_clock" => "POSIX clock_gettime",
        "multiplexing_api" => "epoll",
        "atomicvar_api" => "c11-builtin",
        "gcc_version" => "0.0.0",
        "process_id" => std::process::id(),
        "process_supervised" => "no",
        "run_id" => server.run_id,
        "tcp_port" => server.port.load(Ordering::Relaxed),
        "server_time_usec" => crate::util::now_us(),
        "uptime_in_seconds" => uptime,
        "uptime_in_days" => uptime / 86400,
        "hz" => cfg.hz,
        "configured_hz" => cfg.hz,
        "lru_clock" => crate::store::lru_clock(),
        "executable" => exe,
        "config_file" => cfg.config_file.as_deref().unwrap_or(""),
        "io_threads_active" => 0,
        "rusty_redis_version" => crate::VERSION,
        "server_name" => "rusty-redis-server",
    );
}

/// A build id: a hash of our version, stable for a given build.
fn build_id() -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in crate::VERSION.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

fn section_clients(server: &Server, cfg: &Config, out: &mut String) {
    let clients = server.clients.all();
    let max_in = clients.iter().map(|c| c.qbuf.load(Ordering::Relaxed)).max().unwrap_or(0);
    out.push_str("# Clients\r\n");
    fields!(out,
        "connected_clients" => clients.len(),
        "cluster_connections" => 0,
        "maxclients" => cfg.maxclients,
        "client_recent_max_input_buffer" => max_in,
        "client_recent_max_output_buffer" => 0,
        "blocked_clients" => server.stats.blocked_clients.load(Ordering::Relaxed),
        "tracking_clients" => server.tracking.clients(),
        "clients_in_timeout_table" => 0,
    );
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn section_memory(server: &Server, cfg: &Config, out: &mut String) {
    let m = memory();
    let st = &server.info_state;
    let peak = st.peak_memory.fetch_max(m.used, Ordering::Relaxed).max(m.used);
    let startup = st.startup_memory.load(Ordering::Relaxed);
    let clients = server.clients.all();
    let clients_mem: u64 = clients.iter().map(|c| c.qbuf_cap.load(Ordering::Relaxed) as u64).sum();
    let overhead = startup + clients_mem;
    let dataset = m.used.saturating_sub(overhead);
    let net = m.used.saturating_sub(startup);
    let maxmemory =
        other(cfg, "maxmemory").and_then(|v| crate::util::parse_memory(v.as_bytes())).unwrap_or(0);
    let policy = other(cfg, "maxmemory-policy").unwrap_or_else(|| "noeviction".into());
    let total = total_system_memory();
    let signed = |a: u64, b: u64| a as i64 - b as i64;
    out.push_str("# Memory\r\n");
    fields!(out,
        "used_memory" => m.used,
        "used_memory_human" => bytes_to_human(m.used),
        "used_memory_rss" => m.rss,
        "used_memory_rss_human" => bytes_to_human(m.rss),
        "used_memory_peak" => peak,
        "used_memory_peak_human" => bytes_to_human(peak),
        "used_memory_peak_perc" => format!("{:.2}%", ratio(m.used, peak) * 100.0),
        "used_memory_overhead" => overhead,
        "used_memory_startup" => startup,
        "used_memory_dataset" => dataset,
        "used_memory_dataset_perc" => format!("{:.2}%", ratio(dataset, net) * 100.0),
        "allocator_allocated" => m.allocator_allocated,
        "allocator_active" => m.allocator_active,
        "allocator_resident" => m.allocator_resident,
        "total_system_memory" => total,
        "total_system_memory_human" => bytes_to_human(total),
        "used_memory_lua" => 0,
        "used_memory_vm_eval" => 0,
        "used_memory_lua_human" => "0B",
        "used_memory_scripts_eval" => 0,
        "number_of_cached_scripts" => 0,
        "number_of_functions" => 0,
        "number_of_libraries" => 0,
        "used_memory_vm_functions" => 0,
        "used_memory_vm_total" => 0,
        "used_memory_vm_total_human" => "0B",
        "used_memory_functions" => 0,
        "used_memory_scripts" => 0,
        "used_memory_scripts_human" => "0B",
        "maxmemory" => maxmemory,
        "maxmemory_human" => bytes_to_human(maxmemory),
        "maxmemory_policy" => policy,
        "allocator_frag_ratio" =>
            format!("{:.2}", ratio(m.allocator_active, m.allocator_allocated)),
        "allocator_frag_bytes" => m.allocator_active.saturating_sub(m.allocator_allocated),
        "allocator_rss_ratio" => format!("{:.2}", ratio(m.allocator_resident, m.allocator_active)),
        "allocator_rss_bytes" => signed(m.allocator_resident, m.allocator_active),
        "rss_overhead_ratio" => format!("{:.2}", ratio(m.rss, m.allocator_resident)),
        "rss_overhead_bytes" => signed(m.rss, m.allocator_resident),
        "mem_fragmentation_ratio" => format!("{:.2}", ratio(m.rss, m.used)),
        "mem_fragmentation_bytes" => signed(m.rss, m.used),
        "mem_not_counted_for_evict" => 0,
        "mem_replication_backlog" => 0,
        "mem_total_replication_buffers" => 0,
        "mem_clients_slaves" => 0,
        "mem_clients_normal" => clients_mem,
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => 0,
        "mem_allocator" => "jemalloc-5.3.0",
        "active_defrag_running" => 0,
        "lazyfree_pending_objects" => lazyfree::pending_objects(),
        "lazyfreed_objects" => lazyfree::freed_objects(),
    );
}

fn section_persistence(server: &Server, out: &mut String) {
    let aof = &server.aof;
    let a = &aof.stats;
    let ok = |b: bool| if b { "ok" } else { "err" };
    out.push_str("# Persistence\r\n");
    let p = &server.persist;
    let bg = p.bgsave_in_progress.load(Ordering::Relaxed);
    let bg_secs = if bg {
        (crate::util::now_ms() - p.bgsave_started_ms.load(Ordering::Relaxed)) / 1000
    } else {
        -1
    };
    let prog = &p.progress;
    let cow = prog.cow.load(Ordering::Relaxed);
    let processed = prog.processed.load(Ordering::Relaxed);
    let total = prog.total.load(Ordering::Relaxed);
    let fork_perc = if total > 0 { processed as f64 * 100.0 / total as f64 } else { 0.0 };
    fields!(out,
        "loading" => p.loading.load(Ordering::Relaxed) as u8,
        "async_loading" => 0,
        // Our copy-on-write is the bytes serialized early for writers (it only grows during
        // a save, so its peak is its current value).
        "current_cow_peak" => cow,
        "current_cow_size" => cow,
        "current_cow_size_age" => 0,
        "current_fork_perc" => format!("{fork_perc:.2}"),
        "current_save_keys_processed" => processed,
        "current_save_keys_total" => total,
        "rdb_changes_since_last_save" => server.stats.dirty.load(Ordering::Relaxed),
        "rdb_bgsave_in_progress" => bg as u8,
        "rdb_last_save_time" => server.lastsave.load(Ordering::Relaxed),
        "rdb_last_bgsave_status" => ok(p.last_bgsave_ok.load(Ordering::Relaxed)),
        "rdb_last_bgsave_time_sec" => p.last_bgsave_secs.load(Ordering::Relaxed),
        "rdb_current_bgsave_time_sec" => bg_secs,
        "rdb_saves" => p.saves.load(Ordering::Relaxed),
        "rdb_last_cow_size" => p.rdb_last_cow.load(Ordering::Relaxed),
        "rdb_last_load_keys_expired" => p.last_load_expired.load(Ordering::Relaxed),
        "rdb_last_load_keys_loaded" => p.last_load_keys.load(Ordering::Relaxed),
        "aof_enabled" => aof.is_on() as u8,
        "aof_rewrite_in_progress" => a.rewrite_in_progress.load(Ordering::Relaxed) as u8,
        "aof_rewrite_scheduled" => a.rewrite_scheduled.load(Ordering::Relaxed) as u8,
        "aof_last_rewrite_time_sec" => a.last_rewrite_time_sec.load(Ordering::Relaxed),
        "aof_current_rewrite_time_sec" => if a.rewrite_in_progress.load(Ordering::Relaxed) {
            (crate::util::now_ms() - a.rewrite_started_ms.load(Ordering::Relaxed)) / 1000
        } else {
            -1
        },
        "aof_last_bgrewrite_status" => ok(a.last_bgrewrite_ok.load(Ordering::Relaxed)),
        "aof_rewrites" => a.rewrites.load(Ordering::Relaxed),
        "aof_rewrites_consecutive_failures" => a.consecutive_failures.load(Ordering::Relaxed),
        "aof_last_write_status" => ok(a.write_status_ok()),
        "aof_last_cow_size" => p.aof_last_cow.load(Ordering::Relaxed),
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
    if aof.is_on() {
        fields!(out,
            "aof_current_size" => a.current_size.load(Ordering::Relaxed),
            "aof_base_size" => a.base_size.load(Ordering::Relaxed),
            "aof_pending_rewrite" => 0,
            "aof_buffer_length" => aof.buffered(),
            "aof_pending_bio_fsync" => 0,
            "aof_delayed_fsync" => a.delayed_fsync.load(Ordering::Relaxed),
        );
    }
    if p.loading.load(Ordering::Relaxed) {
        let start = p.loading_start.load(Ordering::Relaxed);
        let total = p.loading_total.load(Ordering::Relaxed);
        let loaded = p.loading_loaded.load(Ordering::Relaxed);
        let perc = if total > 0 { loaded as f64 * 100.0 / total as f64 } else { 0.0 };
        let elapsed = crate::util::now_ms() / 1000 - start;
        let eta = if elapsed > 0 && loaded > 0 {
            ((total.saturating_sub(loaded)) as f64 / (loaded as f64 / elapsed as f64)) as i64
        } else {
            1
        };
        fields!(out,
            "loading_start_time" => start,
            "loading_total_bytes" => total,
            "loading_rdb_used_mem" => 0,
            "loading_loaded_bytes" => loaded,
            "loading_loaded_perc" => format!("{perc:.2}"),
            "loading_eta_seconds" => eta,
        );
    }
}

fn section_stats(server: &Server, out: &mut String) {
    let s = &server.stats;
    let ks = server.store.stats();
    let (ops, kin, kout) = {
        let r = server.info_state.rates.lock();
        (r.ops.value(), r.net_in.value() as f64 / 1024.0, r.net_out.value() as f64 / 1024.0)
    };
    // The active expiry's running estimates, as Redis keeps them.
    let cycle = &server.store.expire_stats;
    let stale = cycle.stale_fraction() * 100.0;
    let commands = s.total_commands_processed.load(Ordering::Relaxed);
    let tracking = server.tracking.totals();
    out.push_str("# Stats\r\n");
    fields!(out,
        "total_connections_received" => s.total_connections_received.load(Ordering::Relaxed),
        "total_commands_processed" => commands,
        "instantaneous_ops_per_sec" => ops,
        "total_net_input_bytes" => s.net_input_bytes.load(Ordering::Relaxed),
        "total_net_output_bytes" => s.net_output_bytes.load(Ordering::Relaxed),
        "total_net_repl_input_bytes" => 0,
        "total_net_repl_output_bytes" => 0,
        "instantaneous_input_kbps" => format!("{kin:.2}"),
        "instantaneous_output_kbps" => format!("{kout:.2}"),
        "instantaneous_input_repl_kbps" => "0.00",
        "instantaneous_output_repl_kbps" => "0.00",
        "rejected_connections" => s.rejected_connections.load(Ordering::Relaxed),
        "sync_full" => 0,
        "sync_partial_ok" => 0,
        "sync_partial_err" => 0,
        "expired_keys" => ks.expired_keys,
        "expired_stale_perc" => format!("{stale:.2}"),
        "expired_time_cap_reached_count" => cycle.time_cap_reached.load(Ordering::Relaxed),
        "expire_cycle_cpu_milliseconds" => cycle.time_used_us.load(Ordering::Relaxed) / 1000,
        "evicted_keys" => 0,
        "evicted_clients" => 0,
        "total_eviction_exceeded_time" => 0,
        "current_eviction_exceeded_time" => 0,
        "keyspace_hits" => ks.keyspace_hits,
        "keyspace_misses" => ks.keyspace_misses,
        "pubsub_channels" => server.pubsub.count(Kind::Channel),
        "pubsub_patterns" => server.pubsub.count(Kind::Pattern),
        "pubsubshard_channels" => server.pubsub.count(Kind::Shard),
        "latest_fork_usec" => server.persist.latest_fork_usec.load(Ordering::Relaxed),
        "total_forks" => server.aof.stats.forks.load(Ordering::Relaxed)
            + server.persist.forks.load(Ordering::Relaxed),
        "migrate_cached_sockets" => server.persist.migrate.lock().len(),
        "slave_expires_tracked_keys" => 0,
        "active_defrag_hits" => 0,
        "active_defrag_misses" => 0,
        "active_defrag_key_hits" => 0,
        "active_defrag_key_misses" => 0,
        "total_active_defrag_time" => 0,
        "current_active_defrag_time" => 0,
        "tracking_total_keys" => tracking.0,
        "tracking_total_items" => tracking.1,
        "tracking_total_prefixes" => tracking.2,
        "unexpected_error_replies" => 0,
        "total_error_replies" => s.total_error_replies.load(Ordering::Relaxed),
        "dump_payload_sanitizations" => 0,
        "total_reads_processed" => 0,
        "total_writes_processed" => 0,
        "io_threaded_reads_processed" => 0,
        "io_threaded_writes_processed" => 0,
        "reply_buffer_shrinks" => 0,
        "reply_buffer_expands" => 0,
    );
}

fn section_replication(server: &Server, cfg: &Config, out: &mut String) {
    let (id, id2) = server.info_state.replids.lock().clone();
    let backlog = other(cfg, "repl-backlog-size")
        .and_then(|v| crate::util::parse_memory(v.as_bytes()))
        .unwrap_or(1024 * 1024);
    out.push_str("# Replication\r\n");
    fields!(out,
        "role" => "master",
        "connected_slaves" => 0,
        "master_failover_state" => "no-failover",
        "master_replid" => id,
        "master_replid2" => id2,
        "master_repl_offset" => 0,
        "second_repl_offset" => -1,
        "repl_backlog_active" => 0,
        "repl_backlog_size" => backlog,
        "repl_backlog_first_byte_offset" => 0,
        "repl_backlog_histlen" => 0,
    );
}

fn section_cpu(out: &mut String) {
    let me = rusage(libc::RUSAGE_SELF);
    let children = rusage(libc::RUSAGE_CHILDREN);
    let thread = rusage(libc::RUSAGE_THREAD);
    out.push_str("# CPU\r\n");
    fields!(out,
        "used_cpu_sys" => tv(me.ru_stime),
        "used_cpu_user" => tv(me.ru_utime),
        "used_cpu_sys_children" => tv(children.ru_stime),
        "used_cpu_user_children" => tv(children.ru_utime),
        "used_cpu_sys_main_thread" => tv(thread.ru_stime),
        "used_cpu_user_main_thread" => tv(thread.ru_utime),
    );
}

fn section_commandstats(server: &Server, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    let t = &server.table;
    for idx in t.all_entries() {
        let e = &t.entries[idx];
        let calls = e.stats.calls.load(Ordering::Relaxed);
        let usec = e.stats.usec.load(Ordering::Relaxed);
        let rejected = e.stats.rejected_calls.load(Ordering::Relaxed);
        let failed = e.stats.failed_calls.load(Ordering::Relaxed);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        // Redis divides in single precision before printing with two decimals.
        let per_call = if calls == 0 { 0.0 } else { (usec as f32 / calls as f32) as f64 };
        let _ = write!(
            out,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},\
             rejected_calls={rejected},failed_calls={failed}\r\n",
            safe_name(&e.full_name)
        );
    }
}

fn section_errorstats(server: &Server, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    let mut errs: Vec<(String, u64)> =
        server.stats.errorstats.lock().iter().map(|(k, &v)| (k.clone(), v)).collect();
    errs.sort();
    for (code, count) in errs {
        let _ = write!(out, "errorstat_{}:count={count}\r\n", safe_name(&code));
    }
}

fn section_latencystats(server: &Server, cfg: &Config, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    let t = &server.table;
    if !t.settings.latency_tracking.load(Ordering::Relaxed) {
        return;
    }
    let ps = latency_percentiles(cfg);
    for idx in t.all_entries() {
        let e = &t.entries[idx];
        let Some(values) = e.stats.latency.percentiles(&ps) else { continue };
        let _ = write!(out, "latency_percentiles_usec_{}:", safe_name(&e.full_name));
        for (i, (p, v)) in ps.iter().zip(values).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "p{}={:.3}", percentile_name(*p), v as f64 / 1000.0);
        }
        out.push_str("\r\n");
    }
}

fn section_keyspace(server: &Server, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for db in 0..server.store.databases() {
        let (keys, expires, avg_ttl) = server.store.db_info(db);
        if keys > 0 || expires > 0 {
            let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server {
        Server::new(Config::default(), crate::cmd::FAMILIES)
    }

    /// Returns the section headers of an INFO text, in order.
    fn headers(text: &str) -> Vec<&str> {
        text.split("\r\n").filter(|l| l.starts_with("# ")).collect()
    }

    fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        text.split("\r\n").find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
    }

    #[test]
    fn default_all_and_named_sections() {
        let s = server();
        let d = build(&s, &[]);
        assert_eq!(
            headers(&d),
            [
                "# Server",
                "# Clients",
                "# Memory",
                "# Persistence",
                "# Stats",
                "# Replication",
                "# CPU",
                "# Modules",
                "# Errorstats",
                "# Cluster",
                "# Keyspace"
            ]
        );
        assert_eq!(headers(&build(&s, &[b"default"])), headers(&d));
        let all = build(&s, &[b"all"]);
        assert!(headers(&all).contains(&"# Commandstats"));
        assert!(headers(&all).contains(&"# Latencystats"));
        assert_eq!(headers(&build(&s, &[b"CPU", b"sentinel"])), ["# CPU"]);
        assert_eq!(build(&s, &[b"nosuch"]), "");
        // "cpu all" lists the CPU section once.
        assert_eq!(build(&s, &[b"cpu", b"all"]).matches("# CPU").count(), 1);
        // Sections are separated by one empty line, and every line ends in CRLF.
        assert!(d.contains("\r\n\r\n# Clients\r\n"));
        assert!(d.ends_with("\r\n"));
        assert!(!d.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn server_fields() {
        let s = server();
        let t = build(&s, &[b"server"]);
        assert!(t.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
        assert_eq!(field(&t, "redis_mode"), Some("standalone"));
        assert_eq!(field(&t, "run_id"), Some(s.run_id.as_str()));
        assert_eq!(field(&t, "server_name"), Some("rusty-redis-server"));
        assert!(t.ends_with("server_name:rusty-redis-server\r\n"));
        assert_eq!(field(&t, "arch_bits"), Some("64"));
    }

    #[test]
    fn keyspace_lists_only_non_empty_databases() {
        let s = server();
        assert_eq!(build(&s, &[b"keyspace"]), "# Keyspace\r\n");
        {
            let mut ks = s.store.lock_all(3, crate::util::now_ms());
            ks.set(b"a", crate::store::value::Value::Int(1), false);
            ks.set_with_expire(b"b", crate::store::value::Value::Int(1), Some(i64::MAX / 2));
        }
        assert_eq!(build(&s, &[b"keyspace"]), "# Keyspace\r\ndb3:keys=2,expires=1,avg_ttl=0\r\n");
    }

    #[test]
    fn errorstats_and_commandstats() {
        let s = server();
        let mut r = crate::protocol::Reply::new();
        r.error("ERR x");
        r.error("WRONGTYPE y");
        r.error("ERR z");
        s.stats.count_errors(&mut r);
        assert_eq!(
            build(&s, &[b"errorstats"]),
            "# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n"
        );
        let idx = s.table.lookup(b"ping").unwrap();
        s.table.entries[idx].stats.calls.store(3, Ordering::Relaxed);
        s.table.entries[idx].stats.usec.store(2, Ordering::Relaxed);
        let t = build(&s, &[b"commandstats"]);
        assert_eq!(
            field(&t, "cmdstat_ping"),
            Some("calls=3,usec=2,usec_per_call=0.67,rejected_calls=0,failed_calls=0")
        );
    }

    #[test]
    fn latencystats_use_configured_percentiles() {
        let s = server();
        let idx = s.table.lookup(b"ping").unwrap();
        s.table.entries[idx].stats.latency.record(6000);
        let t = build(&s, &[b"latencystats"]);
        assert_eq!(
            field(&t, "latency_percentiles_usec_ping"),
            Some("p50=6.015,p99=6.015,p99.9=6.015")
        );
        s.config.write().set_by_name(b"latency-tracking-info-percentiles", b"0 50.5").unwrap();
        let t = build(&s, &[b"latencystats"]);
        assert_eq!(field(&t, "latency_percentiles_usec_ping"), Some("p0=5.984,p50.5=6.015"));
        s.table.settings.latency_tracking.store(false, Ordering::Relaxed);
        assert_eq!(build(&s, &[b"latencystats"]), "# Latencystats\r\n");
    }

    #[test]
    fn human_bytes_and_names() {
        assert_eq!(bytes_to_human(200), "200B");
        assert_eq!(bytes_to_human(1065552), "1.02M");
        assert_eq!(bytes_to_human(25276510208), "23.54G");
        assert_eq!(bytes_to_human(32768), "32.00K");
        assert_eq!(percentile_name(50.0), "50");
        assert_eq!(percentile_name(99.9), "99.9");
        assert_eq!(safe_name("a:b#c"), "a_b_c");
    }

    #[test]
    fn jemalloc_controls() {
        assert!(mallctl_int(b"arenas.page", None).unwrap().unwrap() >= 4096);
        assert!(mallctl_str(b"version").unwrap().starts_with("5."));
        assert_eq!(mallctl_int(b"no.such.thing", None), Err(libc::ENOENT));
        assert!(mallctl_void(b"thread.tcache.flush").is_ok());
        assert!(malloc_stats().contains("jemalloc"));
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
    }

    #[test]
    fn rates_average_samples() {
        let mut r = Rate::default();
        r.add(0, 100);
        r.add(100, 100);
        assert_eq!(r.value(), 1000 / SAMPLES as u64);
    }
}
