//! The `rusty-redis-server` binary: redis-server's command line, then the server.

use rusty_redis_server::{REDIS_VERSION, VERSION, config::Config, logging, server};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn usage() {
    eprintln!(
        "Usage: ./rusty-redis-server [/path/to/redis.conf] [options] [-]\n       \
         ./rusty-redis-server - (read config from stdin)\n       \
         ./rusty-redis-server -v or --version\n       \
         ./rusty-redis-server -h or --help\n\n\
         Examples:\n       \
         ./rusty-redis-server (run the server with default conf)\n       \
         ./rusty-redis-server /etc/redis/6379.conf\n       \
         ./rusty-redis-server --port 7777\n       \
         ./rusty-redis-server /etc/myredis.conf --loglevel verbose -\n       \
         ./rusty-redis-server /etc/myredis.conf --loglevel verbose"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(|s| s.as_str()) {
        Some("-v") | Some("--version") => {
            println!(
                "Redis server v={REDIS_VERSION} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=0 rusty-redis-server={VERSION}"
            );
            return;
        }
        Some("-h") | Some("--help") => {
            usage();
            return;
        }
        _ => {}
    }
    // Log to stdout until the config says otherwise.
    logging::init("notice", "");
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.report());
            std::process::exit(1);
        }
    };
    logging::set_level(&config.loglevel);
    logging::set_file(&config.logfile);
    tracing::warn!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    tracing::warn!(
        "Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid={}, just started",
        std::process::id()
    );
    if config.config_file.is_none() && args.is_empty() {
        tracing::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use rusty-redis-server /path/to/redis.conf"
        );
    } else {
        tracing::warn!("Configuration loaded");
    }
    std::process::exit(server::run(config));
}
