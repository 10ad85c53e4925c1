//! Black-box tests: each starts the built `rusty-redis-server` on a free port and speaks to it
//! through raw sockets (byte-exact replies, connection open or closed) and the `redis` crate.
//!
//! One test binary with a module per area, so it links once. Every expectation is Redis
//! 7.0.15's behaviour; `scripts/check-tests-against-redis` runs this binary against the real
//! `redis-server` to prove it.

mod aof;
mod auth;
mod blocking;
mod config;
mod connection;
mod handshake;
mod hash;
mod keys;
mod list;
mod multi;
mod notify;
mod persistence;
mod protocol;
mod pubsub;
mod set;
mod strings;
mod support;
mod zset;
