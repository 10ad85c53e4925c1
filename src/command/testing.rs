//! In-process command tests: run an argument vector straight through dispatch, with no socket,
//! and read the reply back as a value.
//!
//! ```ignore
//! let mut h = Harness::new();
//! assert_eq!(h.run(&["SET", "k", "v"]), Value::Simple("OK".into()));
//! ```

use std::sync::Arc;

use crate::config::Config;
use crate::protocol::Reply;
use crate::protocol::reply::Value;
use crate::server::Server;
use crate::server::client::{Client, ClientInfo};

/// A server with one client, for running commands in tests.
pub struct Harness {
    pub server: Arc<Server>,
    pub client: Client,
    pub out: Reply,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A server with the default config plus debug commands enabled, and no save points, so
    /// that no in-process test writes an RDB file into the working directory (FLUSHALL and
    /// SHUTDOWN save when save points exist).
    pub fn new() -> Harness {
        Harness::with_config(Config {
            enable_debug_command: "yes".into(),
            save: String::new(),
            ..Config::default()
        })
    }

    pub fn with_config(cfg: Config) -> Harness {
        let server = Arc::new(Server::new(cfg, crate::cmd::FAMILIES));
        let id = server.clients.next_id();
        let info = Arc::new(ClientInfo::new(id, "127.0.0.1:1".into(), "127.0.0.1:6379".into(), -1, false));
        server.clients.add(info.clone());
        let authenticated = !server.auth_required();
        Harness { server, client: Client::new(info, authenticated), out: Reply::new() }
    }

    /// Another client of the same server.
    pub fn another(&self) -> Harness {
        let server = self.server.clone();
        let id = server.clients.next_id();
        let info = Arc::new(ClientInfo::new(id, "127.0.0.1:2".into(), "127.0.0.1:6379".into(), -1, false));
        server.clients.add(info.clone());
        let authenticated = !server.auth_required();
        Harness { server, client: Client::new(info, authenticated), out: Reply::new() }
    }

    /// Returns the reply written so far and clears it (a blocked client's reply arrives after
    /// its command returned).
    pub fn take_reply(&mut self) -> Value {
        if self.out.buf.is_empty() {
            return Value::Null;
        }
        let (v, used) = Value::parse(&self.out.buf).expect("malformed reply");
        assert_eq!(used, self.out.buf.len(), "more than one reply");
        self.out.buf.clear();
        v
    }

    /// Runs one command and returns its decoded reply (`Value::Null` when there is none, as
    /// under CLIENT REPLY OFF).
    pub fn run(&mut self, argv: &[&str]) -> Value {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        self.run_bytes(&args)
    }

    /// Runs one command given as byte strings.
    pub fn run_bytes(&mut self, argv: &[&[u8]]) -> Value {
        self.out.buf.clear();
        self.server.execute(&mut self.client, &mut self.out, argv);
        if self.out.buf.is_empty() {
            return Value::Null;
        }
        let (v, used) = Value::parse(&self.out.buf).expect("handler wrote a malformed reply");
        assert_eq!(used, self.out.buf.len(), "handler wrote more than one reply");
        v
    }

    /// Runs a command and returns the raw bytes it wrote.
    pub fn raw(&mut self, argv: &[&str]) -> Vec<u8> {
        self.out.buf.clear();
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        self.server.execute(&mut self.client, &mut self.out, &args);
        self.out.buf.clone()
    }
}

/// Shorthand for a bulk-string reply.
pub fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

/// Shorthand for an error reply.
pub fn err(s: &str) -> Value {
    Value::Error(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_unknown_arity() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SET", "k", "v"]), Value::Simple("OK".into()));
        assert_eq!(h.run(&["get", "k"]), bulk("v"));
        assert_eq!(h.run(&["GET", "nokey"]), Value::Null);
        assert_eq!(
            h.run(&["NOPE", "a"]),
            err("ERR unknown command 'NOPE', with args beginning with: 'a' ")
        );
        assert_eq!(h.run(&["GET"]), err("ERR wrong number of arguments for 'get' command"));
        assert_eq!(h.run(&["DEL", "k", "x"]), Value::Int(1));
    }
}
