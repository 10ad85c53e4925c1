//! Client-side caching (CLIENT TRACKING): the tracking table, the broadcast prefixes, and the
//! invalidation messages.
//!
//! As in Redis 7.0, the tracking table maps a key name (across databases) to the ids of the
//! clients that read it while tracking; a write to the key sends each of them one
//! invalidation and forgets the key, so the next read is remembered again. Clients in BCAST
//! mode are not in the table: every modified key is matched against their prefixes instead,
//! and each prefix gets one message per command listing its keys.
//!
//! The store knows nothing of clients: while [`Store::tracking`] is set, its mutation paths
//! collect modified keys in the command's `Keyspace` (`invalidated`, `tracking_flushed`), and
//! dispatch hands them here after the command, with the shard locks still held, so no read
//! can be remembered between a write and its invalidation. The active expiry's keys come from
//! the cron. Messages go to the destination connection's pub/sub inbox (which applies the
//! output limits and wakes it); those for the connection running the command are kept in its
//! `Client::tracking_pending` and follow its reply, as Redis sends them after the reply.
//!
//! Lock order: shard locks, then this registry's lock, then inboxes and the client registry.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::Server;
use super::client::{Client, ClientInfo, flags};
use super::pubsub::Subscriber;
use crate::protocol::errors;
use crate::store::Store;

/// The pub/sub channel a RESP2 redirect client receives invalidations on.
const CHANNEL: &[u8] = b"__redis__:invalidate";

/// Keys a tracking table over its limit gives up per try, times the tries in a row that
/// did not bring it under (Redis's growing effort).
const EVICT_EFFORT: usize = 100;

/// The tracking registry, one per server.
#[derive(Debug, Default)]
pub struct Tracking {
    state: Mutex<State>,
    /// Clients with tracking on (INFO `tracking_clients`).
    clients_on: AtomicUsize,
    /// Keys in the table, readable without the lock (the per-command limit check).
    table_len: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    /// Key -> ids of the clients that may have cached it.
    table: HashMap<Vec<u8>, Vec<u64>>,
    /// Sum of the id lists' lengths (INFO `tracking_total_items`).
    items: usize,
    /// Clients with tracking on, by id.
    clients: HashMap<u64, Tracker>,
    /// BCAST prefix -> ids of the clients registered for it.
    prefixes: BTreeMap<Vec<u8>, Vec<u64>>,
    /// Limit enforcements in a row that ended still over the limit.
    limit_runs: usize,
}

/// One tracking client, as the registry sees it. Its mode is in its `ClientInfo` flags.
#[derive(Debug)]
struct Tracker {
    info: Arc<ClientInfo>,
    inbox: Arc<Subscriber>,
    /// Client id that receives the invalidations, 0 for the client itself.
    redirect: u64,
    /// BCAST prefixes, in order (CLIENT TRACKINGINFO lists them sorted, as Redis's rax).
    prefixes: BTreeSet<Vec<u8>>,
}

/// What [`Tracking::invalidate`] serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The tracking table and the BCAST prefixes: a command on its own.
    All,
    /// The table only: a command inside EXEC, whose keys are broadcast once EXEC is done (a
    /// BCAST client gets one message per prefix for the whole transaction, as Redis sends
    /// them once per event loop).
    Table,
    /// The BCAST prefixes only: the keys of a whole transaction.
    Broadcast,
}

/// What an invalidation carries.
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    /// Everything (FLUSHDB / FLUSHALL): a null.
    Null,
}

/// The mode bits CLIENT TRACKING ON sets (besides `flags::TRACKING`).
pub const MODE_BITS: u32 =
    flags::TRACKING_BCAST | flags::TRACKING_OPTIN | flags::TRACKING_OPTOUT | flags::TRACKING_NOLOOP;

impl Tracking {
    /// Number of clients with tracking on.
    pub fn clients(&self) -> usize {
        self.clients_on.load(Ordering::Relaxed)
    }

    /// True when some client tracks in BCAST mode (a prefix is registered).
    pub fn has_prefixes(&self) -> bool {
        !self.state.lock().prefixes.is_empty()
    }

    /// Returns (keys, items, prefixes) for INFO.
    pub fn totals(&self) -> (usize, usize, usize) {
        let st = self.state.lock();
        (st.table.len(), st.items, st.prefixes.len())
    }

    /// Returns the BCAST prefixes of client `id`, sorted.
    pub fn prefixes_of(&self, id: u64) -> Vec<Vec<u8>> {
        let st = self.state.lock();
        st.clients
            .get(&id)
            .map_or_else(Vec::new, |t| t.prefixes.iter().cloned().collect())
    }

    /// Mirrors "anything to track" into the store, so its writes collect keys only then.
    fn sync(&self, st: &State, store: &Store) {
        self.table_len.store(st.table.len(), Ordering::Relaxed);
        let on = !st.clients.is_empty() || !st.table.is_empty();
        if store.tracking.load(Ordering::Relaxed) != on {
            store.tracking.store(on, Ordering::Relaxed);
        }
    }

    /// CLIENT TRACKING ON: checks the options against each other and the client's current
    /// mode (Redis's errors, in its order), then turns tracking on. `mode` holds the
    /// [`MODE_BITS`] asked for; `redirect` is 0 for none.
    pub fn enable(
        &self,
        server: &Server,
        client: &mut Client,
        redirect: u64,
        mode: u32,
        prefixes: &[&[u8]],
    ) -> Result<(), String> {
        let info = client.info.clone();
        let bcast = mode & flags::TRACKING_BCAST != 0;
        let (optin, optout) = (
            mode & flags::TRACKING_OPTIN != 0,
            mode & flags::TRACKING_OPTOUT != 0,
        );
        if !bcast && !prefixes.is_empty() {
            return Err(errors::TRACKING_PREFIX_BCAST.into());
        }
        if info.has_flag(flags::TRACKING) && info.has_flag(flags::TRACKING_BCAST) != bcast {
            return Err(errors::TRACKING_BCAST_SWITCH.into());
        }
        if bcast && (optin || optout) {
            return Err(errors::TRACKING_BCAST_OPTIN.into());
        }
        if optin && optout {
            return Err(errors::TRACKING_OPTIN_OPTOUT.into());
        }
        if (optin && info.has_flag(flags::TRACKING_OPTOUT))
            || (optout && info.has_flag(flags::TRACKING_OPTIN))
        {
            return Err(errors::TRACKING_OPT_SWITCH.into());
        }
        // The inbox first: it takes the pub/sub registry's lock, which comes after ours.
        let inbox = super::pubsub::ensure_inbox(&server.pubsub, client);
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if bcast {
            let existing = st.clients.get(&info.id).map(|t| &t.prefixes);
            check_prefixes(existing, prefixes)?;
        }
        if !info.has_flag(flags::TRACKING) {
            self.clients_on.fetch_add(1, Ordering::Relaxed);
        }
        info.set_flag(flags::TRACKING_BROKEN_REDIR | MODE_BITS, false);
        info.set_flag(flags::TRACKING | mode, true);
        info.tracking_redir
            .store(redirect as i64, Ordering::Relaxed);
        let t = st.clients.entry(info.id).or_insert_with(|| Tracker {
            info: info.clone(),
            inbox,
            redirect,
            prefixes: BTreeSet::new(),
        });
        t.redirect = redirect;
        if bcast {
            let empty: [&[u8]; 1] = [b""];
            let list = if prefixes.is_empty() {
                &empty[..]
            } else {
                prefixes
            };
            for p in list {
                if t.prefixes.insert(p.to_vec()) {
                    st.prefixes.entry(p.to_vec()).or_default().push(info.id);
                }
            }
        }
        self.sync(st, &server.store);
        Ok(())
    }

    /// Turns tracking off for the client (CLIENT TRACKING OFF, RESET, disconnection). Keys it
    /// read stay in the table until written, as in Redis; nothing is sent to it any more.
    pub fn disable(&self, store: &Store, info: &ClientInfo) {
        if !info.has_flag(flags::TRACKING) {
            return;
        }
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if let Some(t) = st.clients.remove(&info.id) {
            for p in &t.prefixes {
                if let Some(ids) = st.prefixes.get_mut(p) {
                    ids.retain(|&id| id != info.id);
                    if ids.is_empty() {
                        st.prefixes.remove(p);
                    }
                }
            }
        }
        self.clients_on.fetch_sub(1, Ordering::Relaxed);
        info.set_flag(
            flags::TRACKING | flags::TRACKING_BROKEN_REDIR | MODE_BITS,
            false,
        );
        info.set_flag(flags::TRACKING_CACHING, false);
        self.sync(st, store);
    }

    /// Remembers that client `id` read `keys` (after a read-only command).
    pub fn remember<'k>(&self, store: &Store, id: u64, keys: impl Iterator<Item = &'k [u8]>) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        for k in keys {
            let ids = match st.table.get_mut(k) {
                Some(ids) => ids,
                None => st.table.entry(k.to_vec()).or_default(),
            };
            if !ids.contains(&id) {
                ids.push(id);
                st.items += 1;
            }
        }
        self.sync(st, store);
    }

    /// Sends the invalidations of one command: `keys` it modified (with whether the command
    /// itself did, rather than an expiry), and a null to every tracking client when it
    /// flushed a database. `writer` is the client that ran it (0: the server itself); what is
    /// due to that very connection is appended to `own`, to follow its reply. `scope` says
    /// whether the tracking table, the BCAST prefixes or both are served.
    pub fn invalidate(
        &self,
        server: &Server,
        keys: &mut Vec<(Vec<u8>, bool)>,
        flushed: bool,
        writer: u64,
        own: &mut Vec<u8>,
        scope: Scope,
    ) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if flushed {
            for t in st.clients.values() {
                send(server, t, Payload::Null, writer, own);
            }
            // Everything may have been cached: the table starts over.
            st.table = HashMap::new();
            st.items = 0;
        }
        dedup(keys);
        if scope != Scope::Broadcast {
            for (k, _) in keys.iter() {
                invalidate_key(server, st, k, writer, own);
            }
        }
        if scope != Scope::Table && !st.prefixes.is_empty() && !keys.is_empty() {
            broadcast(server, st, keys, writer, own);
        }
        self.sync(st, &server.store);
    }

    /// Brings the tracking table back under `tracking-table-max-keys` (0: no limit) by
    /// invalidating keys, as Redis does before each command and in its cron. The effort per
    /// call grows while the table stays over the limit.
    pub fn enforce_limit(&self, server: &Server, writer: u64, own: &mut Vec<u8>) {
        let max = server
            .store
            .tunables
            .tracking_table_max_keys
            .load(Ordering::Relaxed) as usize;
        if max == 0 || self.table_len.load(Ordering::Relaxed) <= max {
            return;
        }
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if st.table.len() <= max {
            st.limit_runs = 0;
            return;
        }
        let effort = EVICT_EFFORT * (st.limit_runs + 1);
        let over = st.table.len() - max;
        let victims: Vec<Vec<u8>> = st.table.keys().take(over.min(effort)).cloned().collect();
        for k in &victims {
            invalidate_key(server, st, k, writer, own);
        }
        if st.table.len() <= max {
            st.limit_runs = 0;
        } else {
            st.limit_runs += 1;
        }
        self.sync(st, &server.store);
    }
}

/// Checks new BCAST prefixes against the client's existing ones and each other: no prefix
/// may be a prefix of another (Redis's errors).
fn check_prefixes(existing: Option<&BTreeSet<Vec<u8>>>, new: &[&[u8]]) -> Result<(), String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = existing.and_then(|e| e.iter().find(|o| overlap(o, p))) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single \
                 client must not overlap.",
                show(p),
                show(old)
            ));
        }
        if let Some(other) = new[i + 1..].iter().find(|o| overlap(o, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a \
                 single client must not overlap.",
                show(p),
                show(other)
            ));
        }
    }
    Ok(())
}

/// Drops repeated keys, keeping the first place of each; a key counts as changed by the
/// command only if every change to it was (so NOLOOP still hears of its expiry).
fn dedup(keys: &mut Vec<(Vec<u8>, bool)>) {
    if keys.len() < 2 {
        return;
    }
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::with_capacity(keys.len());
    let mut out: Vec<(Vec<u8>, bool)> = Vec::with_capacity(keys.len());
    for (k, by_cmd) in keys.drain(..) {
        match seen.get(&k) {
            Some(&i) => out[i].1 &= by_cmd,
            None => {
                seen.insert(k.clone(), out.len());
                out.push((k, by_cmd));
            }
        }
    }
    *keys = out;
}

/// Sends the invalidation of `key` to every client the table lists for it (skipping BCAST
/// clients and a NOLOOP writer) and forgets the key.
fn invalidate_key(server: &Server, st: &mut State, key: &[u8], writer: u64, own: &mut Vec<u8>) {
    let Some(ids) = st.table.remove(key) else {
        return;
    };
    st.items -= ids.len();
    for id in ids {
        let Some(t) = st.clients.get(&id) else {
            continue;
        };
        let f = t.info.flags.load(Ordering::Relaxed);
        if f & flags::TRACKING_BCAST != 0 || (f & flags::TRACKING_NOLOOP != 0 && id == writer) {
            continue;
        }
        send(server, t, Payload::Keys(&[key]), writer, own);
    }
}

/// BCAST: each prefix that matches modified keys sends them, in one message, to each of its
/// clients (a NOLOOP writer does not hear of its own changes).
fn broadcast(
    server: &Server,
    st: &State,
    keys: &[(Vec<u8>, bool)],
    writer: u64,
    own: &mut Vec<u8>,
) {
    let mut matched: Vec<&(Vec<u8>, bool)> = Vec::new();
    let mut list: Vec<&[u8]> = Vec::new();
    for (prefix, ids) in &st.prefixes {
        matched.clear();
        matched.extend(keys.iter().filter(|(k, _)| k.starts_with(prefix)));
        if matched.is_empty() {
            continue;
        }
        // Redis lists a prefix's keys in byte order.
        matched.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for &id in ids {
            let Some(t) = st.clients.get(&id) else {
                continue;
            };
            let noloop = id == writer && t.info.has_flag(flags::TRACKING_NOLOOP);
            list.clear();
            list.extend(
                matched
                    .iter()
                    .filter(|(_, own)| !(noloop && *own))
                    .map(|(k, _)| &k[..]),
            );
            if !list.is_empty() {
                send(server, t, Payload::Keys(&list), writer, own);
            }
        }
    }
}

/// Sends one invalidation for tracking client `t`: to its redirect client if it has one (a
/// RESP3 push, or a message on `__redis__:invalidate` to a RESP2 subscriber), otherwise to
/// itself if it speaks RESP3. A redirect client that is gone marks the redirection broken
/// and tells a RESP3 client so. Bytes for `writer` go to `own`.
fn send(server: &Server, t: &Tracker, payload: Payload, writer: u64, own: &mut Vec<u8>) {
    let mut frame = Vec::new();
    let (dest, redirected) = if t.redirect != 0 {
        match server.pubsub.inbox(t.redirect) {
            Some(inbox) => (inbox, true),
            None => {
                if server.clients.get(t.redirect).is_some() {
                    // There, but neither RESP3 nor subscribed: nothing can reach it.
                    return;
                }
                t.info.set_flag(flags::TRACKING_BROKEN_REDIR, true);
                if t.info.resp.load(Ordering::Relaxed) == 3 {
                    frame.extend_from_slice(b">2\r\n$21\r\ntracking-redir-broken\r\n");
                    frame.extend_from_slice(format!(":{}\r\n", t.redirect).as_bytes());
                    deliver(&t.inbox, frame, writer, own);
                }
                return;
            }
        }
    } else {
        (t.inbox.clone(), false)
    };
    if dest.info.resp.load(Ordering::Relaxed) == 3 {
        frame.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else if redirected && dest.info.has_flag(flags::PUBSUB) {
        frame.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n");
        frame.extend_from_slice(CHANNEL);
        frame.extend_from_slice(b"\r\n");
    } else {
        // RESP2 without a subscribed redirect client: no way to say it.
        return;
    }
    match payload {
        Payload::Keys(keys) => {
            frame.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for k in keys {
                frame.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
                frame.extend_from_slice(k);
                frame.extend_from_slice(b"\r\n");
            }
        }
        // The null of the tracking client's protocol, even when redirected (as Redis).
        Payload::Null if t.info.resp.load(Ordering::Relaxed) == 3 => {
            frame.extend_from_slice(b"_\r\n")
        }
        Payload::Null => frame.extend_from_slice(b"$-1\r\n"),
    }
    deliver(&dest, frame, writer, own);
}

/// Hands a frame to its connection: the writer's own goes after its reply, others' to their
/// inbox.
fn deliver(dest: &Subscriber, frame: Vec<u8>, writer: u64, own: &mut Vec<u8>) {
    if dest.id == writer {
        own.extend_from_slice(&frame);
    } else {
        dest.push_raw(&frame);
    }
}

/// Visits the key arguments `cmd` declares in `argv`.
pub fn for_each_key<'a>(
    cmd: &crate::command::table::Command,
    argv: &[&'a [u8]],
    mut f: impl FnMut(&'a [u8]),
) {
    use crate::command::table::KeySpec;
    match cmd.keys {
        KeySpec::None => {}
        KeySpec::Range { first, last, step } => {
            let argc = argv.len() as i32;
            let last = if last < 0 {
                argc + last
            } else {
                last.min(argc - 1)
            };
            let mut i = first;
            while i <= last && i < argc && step > 0 {
                if let Some(k) = argv.get(i as usize) {
                    f(k);
                }
                i += step;
            }
        }
        KeySpec::Custom(spec) => {
            let mut seen = HashSet::new();
            for i in spec(argv) {
                if let Some(k) = argv.get(i)
                    && seen.insert(i)
                {
                    f(k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::testing::{Harness, bulk, err};
    use crate::protocol::reply::Value;

    /// Takes what other connections queued for the harness's client.
    fn inbox(h: &Harness) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(p) = h.client.pubsub.as_ref() {
            p.me.take_into(&mut v);
        }
        v
    }

    fn ok() -> Value {
        Value::Simple("OK".into())
    }

    /// A RESP3 client with tracking on (plus `opts`), and another client.
    fn pair(opts: &[&str]) -> (Harness, Harness) {
        let mut a = Harness::new();
        let b = a.another();
        a.raw(&["hello", "3"]);
        let mut argv = vec!["client", "tracking", "on"];
        argv.extend_from_slice(opts);
        assert_eq!(a.run(&argv), ok());
        (a, b)
    }

    fn info_field(h: &mut Harness, name: &str) -> String {
        let Value::Bulk(text) = h.run(&["info", "everything"]) else {
            panic!()
        };
        let text = String::from_utf8(text).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap();
        line[name.len() + 1..].to_string()
    }

    #[test]
    fn a_read_key_is_invalidated_once_when_another_client_writes_it() {
        let (mut a, mut b) = pair(&[]);
        b.run(&["set", "k", "1"]);
        assert_eq!(a.run(&["get", "k"]), bulk("1"));
        assert_eq!(a.run(&["get", "other"]), Value::Null);
        assert_eq!(info_field(&mut b, "tracking_total_keys"), "2");
        assert_eq!(info_field(&mut b, "tracking_clients"), "1");
        b.run(&["incr", "k"]);
        assert_eq!(inbox(&a), b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
        // Forgotten once invalidated, until read again.
        b.run(&["incr", "k"]);
        assert!(inbox(&a).is_empty());
        assert_eq!(info_field(&mut b, "tracking_total_keys"), "1");
        // A write that changes nothing in place invalidates nothing.
        a.run(&["get", "k"]);
        b.run(&["lpush", "l", "x"]);
        a.run(&["lrange", "l", "0", "-1"]);
        assert_eq!(b.run(&["lrem", "l", "0", "nothere"]), Value::Int(0));
        assert!(inbox(&a).is_empty());
        assert_eq!(b.run(&["rpush", "l", "y"]), Value::Int(2));
        assert_eq!(inbox(&a), b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nl\r\n");
    }

    #[test]
    fn own_writes_follow_the_reply_unless_noloop() {
        let (mut a, _b) = pair(&[]);
        a.run(&["get", "k"]);
        assert_eq!(
            a.raw(&["set", "k", "1"]),
            b"+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
        );
        let (mut a, _b) = pair(&["noloop"]);
        a.run(&["get", "k"]);
        assert_eq!(a.raw(&["set", "k", "1"]), b"+OK\r\n");
        // Inside a transaction: after EXEC's whole reply.
        let (mut a, _b) = pair(&[]);
        a.run(&["mset", "a", "1", "b", "2"]);
        a.run(&["get", "a"]);
        a.run(&["multi"]);
        a.run(&["incr", "a"]);
        a.run(&["get", "b"]);
        assert_eq!(
            a.raw(&["exec"]),
            b"*2\r\n:2\r\n$1\r\n2\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n"
        );
    }

    #[test]
    fn tracking_turned_on_inside_a_transaction_still_follows_exec() {
        let mut a = Harness::new();
        a.raw(&["hello", "3"]);
        a.run(&["multi"]);
        a.run(&["client", "tracking", "on"]);
        a.run(&["get", "kk"]);
        a.run(&["set", "kk", "v"]);
        assert_eq!(
            a.raw(&["exec"]),
            b"*3\r\n+OK\r\n_\r\n+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nkk\r\n"
        );
    }

    #[test]
    fn resp2_redirect_gets_messages_and_a_gone_one_is_reported() {
        let mut r = Harness::new();
        r.run(&["subscribe", "x"]);
        let rid = r.client.id.to_string();
        let mut a = r.another();
        let mut b = r.another();
        assert_eq!(a.run(&["client", "tracking", "on", "redirect", &rid]), ok());
        assert_eq!(
            a.run(&["client", "getredir"]),
            Value::Int(r.client.id as i64)
        );
        a.run(&["get", "k"]);
        b.run(&["set", "k", "1"]);
        assert_eq!(
            inbox(&r),
            b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n"
        );
        // A flush: the null of the tracking client's protocol.
        b.run(&["flushall"]);
        assert_eq!(
            inbox(&r),
            b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
        );
        // The redirect client leaves: a RESP3 tracking client is told, and flagged.
        r.server.pubsub.forget_inbox(r.client.id);
        r.server.clients.remove(r.client.id);
        a.raw(&["hello", "3"]);
        a.run(&["get", "k"]);
        b.run(&["set", "k", "2"]);
        assert_eq!(
            inbox(&a),
            format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{rid}\r\n").as_bytes()
        );
        let Value::Map(info) = a.run(&["client", "trackinginfo"]) else {
            panic!()
        };
        assert_eq!(
            info[0].1,
            Value::Set(vec![bulk("on"), bulk("broken_redirect")])
        );
        assert_eq!(
            a.run(&["client", "tracking", "on", "redirect", &rid]),
            err("ERR The client ID you want redirect to does not exist")
        );
    }

    #[test]
    fn bcast_sends_one_message_per_prefix_and_checks_collisions() {
        let (mut a, mut b) = pair(&["bcast", "prefix", "a:", "prefix", "b:"]);
        b.run(&["mset", "b:1", "x", "a:2", "x", "c:1", "x", "a:1", "x"]);
        assert_eq!(
            inbox(&a),
            b">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\na:1\r\n$3\r\na:2\r\n\
              >2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nb:1\r\n"
        );
        assert_eq!(info_field(&mut b, "tracking_total_prefixes"), "2");
        assert_eq!(
            a.run(&["client", "tracking", "on", "bcast", "prefix", "a"]),
            err(
                "ERR Prefix 'a' overlaps with an existing prefix 'a:'. Prefixes for a single \
                 client must not overlap."
            )
        );
        assert_eq!(
            a.run(&[
                "client", "tracking", "on", "bcast", "prefix", "cd", "prefix", "c"
            ]),
            err(
                "ERR Prefix 'cd' overlaps with another provided prefix 'c'. Prefixes for a \
                 single client must not overlap."
            )
        );
        assert_eq!(
            a.run(&["client", "tracking", "on"]),
            err(crate::protocol::errors::TRACKING_BCAST_SWITCH)
        );
        assert_eq!(
            a.run(&["client", "tracking", "on", "bcast", "prefix", "c"]),
            ok()
        );
        let Value::Map(info) = a.run(&["client", "trackinginfo"]) else {
            panic!()
        };
        assert_eq!(
            info[2].1,
            Value::Array(vec![bulk("a:"), bulk("b:"), bulk("c")])
        );
        assert_eq!(a.run(&["client", "tracking", "off"]), ok());
        assert_eq!(info_field(&mut b, "tracking_total_prefixes"), "0");
        assert_eq!(info_field(&mut b, "tracking_clients"), "0");
        b.run(&["set", "a:1", "y"]);
        assert!(inbox(&a).is_empty());
    }

    #[test]
    fn optin_and_optout_follow_client_caching() {
        let (mut a, mut b) = pair(&["optin"]);
        assert_eq!(
            a.run(&["client", "caching", "no"]),
            err(crate::protocol::errors::CACHING_NO_OPTOUT)
        );
        a.run(&["get", "k"]);
        assert_eq!(info_field(&mut b, "tracking_total_keys"), "0");
        assert_eq!(a.run(&["client", "caching", "yes"]), ok());
        let Value::Map(info) = a.run(&["client", "trackinginfo"]) else {
            panic!()
        };
        assert_eq!(
            info[0].1,
            Value::Set(vec![bulk("on"), bulk("optin"), bulk("caching-yes")])
        );
        a.run(&["get", "k"]);
        // CLIENT CACHING covers one command only.
        a.run(&["get", "k2"]);
        assert_eq!(info_field(&mut b, "tracking_total_keys"), "1");
        assert_eq!(
            a.run(&["client", "tracking", "on", "optout"]),
            err(crate::protocol::errors::TRACKING_OPT_SWITCH)
        );
        let (mut a, mut b) = pair(&["optout"]);
        a.run(&["client", "caching", "no"]);
        a.run(&["get", "k"]);
        a.run(&["get", "k2"]);
        b.run(&["set", "k", "1"]);
        b.run(&["set", "k2", "1"]);
        assert_eq!(inbox(&a), b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n");
    }

    #[test]
    fn expiry_and_flushes_invalidate() {
        let (mut a, mut b) = pair(&[]);
        b.run(&["set", "k", "v", "px", "1"]);
        a.run(&["get", "k"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        // Lazy expiry by a read of another client.
        assert_eq!(b.run(&["get", "k"]), Value::Null);
        assert_eq!(inbox(&a), b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
        a.run(&["get", "k1"]);
        a.run(&["get", "k2"]);
        assert_eq!(b.run(&["flushdb", "async"]), ok());
        assert_eq!(inbox(&a), b">2\r\n$10\r\ninvalidate\r\n_\r\n");
        assert_eq!(info_field(&mut b, "tracking_total_keys"), "0");
    }

    #[test]
    fn table_over_its_limit_evicts_before_the_next_command() {
        let (mut a, mut b) = pair(&[]);
        for k in ["k1", "k2", "k3"] {
            a.run(&["get", k]);
        }
        assert_eq!(
            b.run(&["config", "set", "tracking-table-max-keys", "1"]),
            ok()
        );
        // The invalidations of the two keys given up come ahead of the reply.
        let out = a.raw(&["ping"]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("invalidate").count(), 2);
        assert!(text.ends_with("+PONG\r\n"));
        assert_eq!(info_field(&mut b, "tracking_total_keys"), "1");
    }

    #[test]
    fn reset_and_off_stop_tracking() {
        let (mut a, mut b) = pair(&["noloop"]);
        assert_eq!(a.run(&["client", "getredir"]), Value::Int(0));
        a.run(&["reset"]);
        assert_eq!(a.run(&["client", "getredir"]), Value::Int(-1));
        assert_eq!(info_field(&mut b, "tracking_clients"), "0");
        let Value::Array(info) = a.run(&["client", "trackinginfo"]) else {
            panic!()
        };
        assert_eq!(info[1], Value::Array(vec![bulk("off")]));
        assert_eq!(info[3], Value::Int(-1));
    }
}
