//! Configuration: redis.conf and the command line turned into typed settings.
//!
//! The command line is redis-server's: an optional config file first, then any directive as
//! `--name value...`; both become config text, file first, so the last value wins.
//! Lines are tokenised with the same rules as inline requests (`protocol::splitargs`).
//!
//! Depends on `protocol::splitargs` and `util` only.

use std::collections::BTreeMap;

use crate::protocol::splitargs::split_args;
use crate::util::parse_memory;

/// A fatal configuration error, reported as Redis does before exiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line_no: usize,
    pub line: String,
    pub msg: String,
}

impl ConfigError {
    /// Returns the text Redis prints on stderr for it.
    pub fn report(&self) -> String {
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}\n",
            self.line_no, self.line, self.msg
        )
    }
}

/// The settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub databases: usize,
    pub requirepass: Option<Vec<u8>>,
    pub hz: u32,
    pub loglevel: String,
    pub logfile: String,
    pub always_show_logo: bool,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: u64,
    pub maxclients: u64,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub enable_debug_command: String,
    pub protected_mode: bool,
    pub unixsocket: Option<String>,
    pub daemonize: bool,
    pub pidfile: String,
    pub dir: String,
    pub save: String,
    pub appendonly: bool,
    /// Absolute path of the config file, when one was given.
    pub config_file: Option<String>,
    /// Directives accepted but not implemented yet: stored and answered by CONFIG GET.
    pub other: BTreeMap<String, String>,
    /// `rename-command` pairs from the config file.
    pub renames: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            databases: 16,
            requirepass: None,
            hz: 10,
            loglevel: "notice".into(),
            logfile: String::new(),
            always_show_logo: false,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            enable_debug_command: "no".into(),
            protected_mode: true,
            unixsocket: None,
            daemonize: false,
            pidfile: String::new(),
            dir: "./".into(),
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            config_file: None,
            other: BTreeMap::new(),
            renames: Vec::new(),
        }
    }
}

fn yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn int<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse::<T>().map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

fn memory(v: &str) -> Result<u64, String> {
    parse_memory(v.as_bytes()).ok_or_else(|| "argument must be a memory value".to_string())
}

impl Config {
    /// Builds the config from redis-server's command line (without the program name).
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut text = String::new();
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with('-') || first == "-" {
                let content = if first == "-" {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                        ConfigError { line_no: 0, line: "-".into(), msg: e.to_string() }
                    })?;
                    s
                } else {
                    let path = std::fs::canonicalize(first).unwrap_or_else(|_| first.into());
                    cfg.config_file = Some(path.to_string_lossy().into_owned());
                    std::fs::read_to_string(first).map_err(|e| ConfigError {
                        line_no: 0,
                        line: first.clone(),
                        msg: format!("Fatal error, can't open config file '{}': {}", first, e),
                    })?
                };
                text.push_str(&content);
                text.push('\n');
                rest = &args[1..];
            }
        }
        text.push_str(&options_to_text(rest));
        cfg.load_text(&text)?;
        Ok(cfg)
    }

    /// Applies config text, line by line.
    pub fn load_text(&mut self, text: &str) -> Result<(), ConfigError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |msg: String| ConfigError { line_no: i + 1, line: line.to_string(), msg };
            let Some(argv) = split_args(line.as_bytes()) else {
                return Err(fail("Unbalanced quotes in configuration line".into()));
            };
            if argv.is_empty() {
                continue;
            }
            let argv: Vec<String> =
                argv.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect();
            let name = argv[0].to_ascii_lowercase();
            self.set(&name, &argv[1..]).map_err(fail)?;
        }
        Ok(())
    }

    /// Sets one directive from its arguments.
    pub fn set(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let one = || -> Result<&str, String> {
            if args.len() == 1 { Ok(args[0].as_str()) } else { Err("wrong number of arguments".into()) }
        };
        match name {
            "port" => self.port = int(one()?)?,
            "bind" => self.bind = args.to_vec(),
            "databases" => {
                let n: usize = int(one()?)?;
                if n < 1 {
                    return Err("argument must be between 1 and 2147483647 inclusive".into());
                }
                self.databases = n;
            }
            "requirepass" => {
                let v = one()?;
                self.requirepass = if v.is_empty() { None } else { Some(v.as_bytes().to_vec()) };
            }
            "hz" => self.hz = int::<u32>(one()?)?.clamp(1, 500),
            "loglevel" => {
                let v = one()?.to_ascii_lowercase();
                if !["debug", "verbose", "notice", "warning", "nothing"].contains(&v.as_str()) {
                    return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
                }
                self.loglevel = v;
            }
            "logfile" => self.logfile = one()?.to_string(),
            "always-show-logo" => self.always_show_logo = yes_no(one()?)?,
            "proto-max-bulk-len" => self.proto_max_bulk_len = memory(one()?)? as i64,
            "client-query-buffer-limit" => self.client_query_buffer_limit = memory(one()?)?,
            "maxclients" => self.maxclients = int(one()?)?,
            "timeout" => self.timeout = int(one()?)?,
            "tcp-keepalive" => self.tcp_keepalive = int(one()?)?,
            "enable-debug-command" => self.enable_debug_command = one()?.to_ascii_lowercase(),
            "protected-mode" => self.protected_mode = yes_no(one()?)?,
            "unixsocket" => {
                let v = one()?;
                self.unixsocket = if v.is_empty() { None } else { Some(v.to_string()) };
            }
            "daemonize" => self.daemonize = yes_no(one()?)?,
            "pidfile" => self.pidfile = one()?.to_string(),
            "dir" => self.dir = one()?.to_string(),
            "save" => self.save = args.join(" "),
            "appendonly" => self.appendonly = yes_no(one()?)?,
            "rename-command" => {
                if args.len() != 2 {
                    return Err("wrong number of arguments".into());
                }
                self.renames.push((args[0].clone(), args[1].clone()));
            }
            _ => {
                self.other.insert(name.to_string(), args.join(" "));
            }
        }
        Ok(())
    }
}

/// Turns `--name value ...` arguments into config text, one directive per line, as
/// redis-server does: after a name, the next argument is always a value (even one starting with
/// `--`); a bare `--save` (followed by another option, or last) means `save ""`.
pub fn options_to_text(args: &[String]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut have_value = true;
    for (j, a) in args.iter().enumerate() {
        if have_value && a.starts_with("--") {
            let mut line = a[2..].to_string();
            have_value = false;
            let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
            if a.eq_ignore_ascii_case("--save") && (next_is_option || j + 1 == args.len()) {
                line.push_str(" \"\"");
                have_value = true;
            }
            lines.push(line);
        } else if let Some(line) = lines.last_mut() {
            line.push(' ');
            line.push_str(&quote(a));
            have_value = true;
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Quotes a value so `split_args` gives it back unchanged.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.bytes() {
        match c {
            b'\\' => q.push_str("\\\\"),
            b'"' => q.push_str("\\\""),
            b'\n' => q.push_str("\\n"),
            b'\r' => q.push_str("\\r"),
            b'\t' => q.push_str("\\t"),
            0x20..=0x7e => q.push(c as char),
            _ => q.push_str(&format!("\\x{:02x}", c)),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_options() {
        let c = Config::from_args(&args(&["--port", "6380", "--save", "", "--loglevel", "verbose"]))
            .unwrap();
        assert_eq!(c.port, 6380);
        assert_eq!(c.save, "");
        assert_eq!(c.loglevel, "verbose");
        let c = Config::from_args(&args(&["--save", "--port", "1"])).unwrap();
        assert_eq!(c.save, "");
        assert_eq!(c.port, 1);
        let c = Config::from_args(&args(&["--port", "7", "--save"])).unwrap();
        assert_eq!(c.save, "");
        let c = Config::from_args(&args(&["--proc-title-template", "--my--title"])).unwrap();
        assert_eq!(c.other.get("proc-title-template").map(|s| s.as_str()), Some("--my--title"));
        let c = Config::from_args(&args(&["--save", "3600 1 300 100"])).unwrap();
        assert_eq!(c.save, "3600 1 300 100");
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::from_args(&args(&["--port"])).unwrap_err();
        assert_eq!(e.msg, "wrong number of arguments");
        assert_eq!(e.line, "port");
        let e = Config::from_args(&args(&["--maxclients", "abc"])).unwrap_err();
        assert_eq!(e.msg, "argument couldn't be parsed into an integer");
    }
}
