//! Keyspace events waiting to be published (`notify-keyspace-events`).
//!
//! The store cannot publish (it knows nothing of the server or pub/sub), so a command's events
//! are collected in its [`super::Keyspace`] in the order Redis emits them (a lazy `expired`
//! before the command's own events, `new` when a key is created, `keymiss` on a read miss, and
//! the handlers' events noted through [`super::Keyspace::notify`]) and published by dispatch
//! when the command ends; the cron publishes the active expiry's `expired` events. Nothing is
//! collected for a class that is not enabled, so with notifications off (the default) the cost
//! is one relaxed load where an event could arise.

/// One keyspace event: `event` happened to `key` of database `db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// The class bit of [`crate::config::notify`] (checked again when published, so a class
    /// disabled meanwhile publishes nothing).
    pub class: u32,
    /// The event name (`set`, `lpush`, `expired`, ...).
    pub event: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

impl KeyEvent {
    /// Returns an event of class `class` named `event` for `key` of database `db`.
    pub fn new(class: u32, event: &'static str, db: usize, key: &[u8]) -> KeyEvent {
        KeyEvent { class, event, db, key: key.to_vec() }
    }
}
