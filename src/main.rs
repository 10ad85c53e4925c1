//! The `rusty-redis-server` binary: redis-server's command line, then the server.
//!
//! Order of start-up, as redis-server's `main()`: special first arguments (`-v`, `-h`, ...),
//! config (file, stdin, `--options`), supervision check, daemonize (before any thread), the
//! start-up log lines, the open-files limit, then the server (listeners, pid file, banner,
//! "Ready to accept connections").

use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use rusty_redis_server::config::{self, Config, ConfigError, process, table};
use rusty_redis_server::persistence::child;
use rusty_redis_server::{REDIS_VERSION, VERSION, logging, server};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Prints redis-server's usage on stderr and exits with status 1, as it does.
fn usage() -> ! {
    eprint!(
        "Usage: ./rusty-redis-server [/path/to/redis.conf] [options] [-]\n       \
         ./rusty-redis-server - (read config from stdin)\n       \
         ./rusty-redis-server -v or --version\n       \
         ./rusty-redis-server -h or --help\n       \
         ./rusty-redis-server --test-memory <megabytes>\n       \
         ./rusty-redis-server --check-system\n\n\
         Examples:\n       \
         ./rusty-redis-server (run the server with default conf)\n       \
         echo 'maxmemory 128mb' | ./rusty-redis-server -\n       \
         ./rusty-redis-server /etc/redis/6379.conf\n       \
         ./rusty-redis-server --port 7777\n       \
         ./rusty-redis-server --port 7777 --replicaof 127.0.0.1 8888\n       \
         ./rusty-redis-server /etc/myredis.conf --loglevel verbose -\n       \
         ./rusty-redis-server /etc/myredis.conf --loglevel verbose\n\n\
         rusty-redis-server {VERSION} (compatible with Redis {REDIS_VERSION}).\n"
    );
    std::process::exit(1);
}

/// A build id in the spirit of Redis's (a hash of version and build details), in hex.
fn build_id() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{VERSION}-{REDIS_VERSION}-{}", std::env::consts::ARCH).bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:x}")
}

/// Handles the arguments redis-server treats before any config: they print and exit.
fn special_first_argument(args: &[Vec<u8>]) {
    let Some(first) = args.first() else { return };
    match first.as_slice() {
        b"-v" | b"--version" => {
            println!(
                "Redis server v={REDIS_VERSION} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 \
                 build={} rusty-redis-server={VERSION}",
                build_id()
            );
            std::process::exit(0);
        }
        b"--help" | b"-h" => usage(),
        b"--test-memory" => {
            if args.len() == 2 {
                eprintln!("--test-memory is not supported by rusty-redis-server.");
            } else {
                eprintln!("Please specify the amount of memory to test in megabytes.");
                eprintln!("Example: ./rusty-redis-server --test-memory 4096\n");
            }
            std::process::exit(1);
        }
        b"--check-system" => {
            eprintln!("--check-system is not supported by rusty-redis-server.");
            std::process::exit(1);
        }
        _ => {}
    }
    if args.iter().any(|a| a.as_slice() == b"--sentinel") {
        eprintln!("Sentinel mode is not supported by rusty-redis-server.");
        std::process::exit(1);
    }
}

fn main() {
    let argv0 = std::env::args_os()
        .next()
        .map(|a| a.as_bytes().to_vec())
        .unwrap_or_default();
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(|a| a.as_bytes().to_vec())
        .collect();
    // A save child this binary started for BGSAVE or an AOF rewrite (persistence::child):
    // recognised before anything else, since it is not a server and reads no config.
    if args.first().is_some_and(|a| a == child::WRITER_FLAG.as_bytes()) {
        let rest: Vec<std::ffi::OsString> = std::env::args_os().skip(2).collect();
        std::process::exit(child::run_writer(&rest));
    }
    special_first_argument(&args);

    // Log to stdout until the config says otherwise.
    logging::init("notice", "");
    let commands: Vec<&str> = rusty_redis_server::cmd::FAMILIES
        .iter()
        .flat_map(|fam| fam.iter().map(|c| c.name))
        .collect();
    let cmdline = config::parse_command_line(&args);
    let mut config = match Config::load(&cmdline, Some(&commands)) {
        Ok(c) => c,
        Err(ConfigError::Log(msg)) => {
            tracing::warn!("{msg}");
            std::process::exit(1);
        }
        Err(e) => {
            let _ = std::io::stderr().write_all(&e.report());
            std::process::exit(1);
        }
    };

    let supervised = process::detect_supervision(&config);
    if config.daemonize && !supervised {
        process::daemonize();
    }
    logging::set_level(&config.loglevel);
    logging::set_file(&config.logfile);
    if config.syslog_enabled {
        let facility = table::enum_value(table::SYSLOG_FACILITY, &config.syslog_facility)
            .unwrap_or(libc::LOG_LOCAL0);
        logging::enable_syslog(&config.syslog_ident, facility);
    }

    tracing::warn!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    tracing::warn!(
        "Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid={}, just started",
        std::process::id()
    );
    if cmdline.no_args {
        tracing::warn!(
            "Warning: no config file specified, using the default config. In order to specify a \
             config file use {} /path/to/redis.conf",
            String::from_utf8_lossy(&argv0)
        );
    } else {
        tracing::warn!("Configuration loaded");
    }
    for w in std::mem::take(&mut config.warnings) {
        tracing::warn!("{w}");
    }

    // From here on Redis is in `initServer`: its lines carry the master role letter.
    logging::set_role(b'M');
    match process::adjust_open_files_limit(config.maxclients) {
        Ok(n) => config.maxclients = n,
        Err(_) => std::process::exit(1),
    }
    if config.maxmemory > 0 && config.maxmemory < 1024 * 1024 {
        tracing::warn!(
            "WARNING: You specified a maxmemory value that is less than 1MB (current value is {} \
             bytes). Are you sure this is what you really want?",
            config.maxmemory
        );
    }
    let _ = process::set_oom_score_adj(&config);
    // Background saves are written by a child running this same binary. /proc/self/exe is
    // the image running now even if the file was replaced or removed since.
    let exe = std::path::PathBuf::from("/proc/self/exe");
    match if exe.exists() { Ok(exe) } else { std::env::current_exe() } {
        Ok(p) => child::enable(p),
        Err(e) => tracing::warn!("Can't find this program's path for save children: {e}"),
    }
    std::process::exit(server::run(config));
}
