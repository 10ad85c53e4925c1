//! The pub/sub registry: channels, patterns and shard channels, each with its subscribers.
//!
//! A subscriber is a connection's id plus its inbox: a byte buffer the publisher appends the
//! encoded message to, and a notification that wakes the connection's task, which moves the
//! bytes into its output buffer (where `client-output-buffer-limit pubsub` applies). So PUBLISH
//! never waits for a slow subscriber and never holds a lock while a socket is written: it
//! encodes each message once (the RESP2 and RESP3 frames differ only in their first byte) and
//! copies it into each inbox.
//!
//! The connection keeps its own view of what it subscribed to ([`Subscriptions`], on
//! `Client`), for the counts in replies and CLIENT LIST, and to leave everything when it
//! closes or RESETs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use super::client::{Client, ClientInfo, flags};
use crate::protocol::Reply;
use crate::util::glob::glob_match;

/// An inbox grown past this is freed once emptied.
const INBOX_KEEP: usize = 64 * 1024;

/// What kind of name a subscription is to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE: a glob pattern matched against PUBLISH's channel.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::Channel => 0,
            Kind::Pattern => 1,
            Kind::Shard => 2,
        }
    }
}

/// One subscribed connection, as the registry holds it.
#[derive(Debug)]
pub struct Subscriber {
    pub id: u64,
    pub info: Arc<ClientInfo>,
    /// Encoded messages not yet moved to the connection's output buffer.
    inbox: Mutex<Vec<u8>>,
    notify: Notify,
}

impl Subscriber {
    pub fn new(info: Arc<ClientInfo>) -> Subscriber {
        Subscriber { id: info.id, info, inbox: Mutex::new(Vec::new()), notify: Notify::new() }
    }

    /// Queues one message, given as its RESP2 frame; a RESP3 subscriber gets it as a push.
    fn deliver(&self, frame: &[u8]) {
        let resp3 = self.info.resp.load(Ordering::Relaxed) == 3;
        {
            let mut inbox = self.inbox.lock();
            inbox.push(if resp3 { b'>' } else { b'*' });
            inbox.extend_from_slice(&frame[1..]);
        }
        self.notify.notify_one();
    }

    /// Queues bytes already encoded for this connection (client-side caching's invalidation
    /// pushes and messages, built for the connection's protocol by the sender).
    pub fn push_raw(&self, bytes: &[u8]) {
        self.inbox.lock().extend_from_slice(bytes);
        self.notify.notify_one();
    }

    /// Moves the queued messages to the end of `out`; returns whether there were any.
    pub fn take_into(&self, out: &mut Vec<u8>) -> bool {
        let mut inbox = self.inbox.lock();
        if inbox.is_empty() {
            return false;
        }
        if out.is_empty() && out.capacity() < inbox.len() {
            // Swap rather than copy: the output buffer takes the inbox's allocation.
            std::mem::swap(out, &mut *inbox);
        } else {
            out.extend_from_slice(&inbox);
            if inbox.capacity() > INBOX_KEEP {
                // A burst is over: do not keep its memory for the connection's life.
                *inbox = Vec::new();
            } else {
                inbox.clear();
            }
        }
        true
    }

    /// Resolves when messages may have been queued since the last wake.
    pub async fn wait(&self) {
        self.notify.notified().await;
    }
}

type Subs = HashMap<u64, Arc<Subscriber>>;

/// Every subscription on the server, by kind then name.
#[derive(Debug, Default)]
pub struct PubSub {
    maps: RwLock<[HashMap<Vec<u8>, Subs>; 3]>,
    /// Every connection's inbox that exists, by client id, so anyone can reach a connection
    /// by id (client-side caching's invalidations and redirections). A connection gets one
    /// when it first subscribes, turns tracking on or switches to RESP3, and leaves here
    /// when it closes.
    inboxes: Mutex<HashMap<u64, Arc<Subscriber>>>,
}

impl PubSub {
    /// Adds `sub` to `name`; false when it was already there.
    fn add(&self, kind: Kind, name: &[u8], sub: &Arc<Subscriber>) -> bool {
        let mut maps = self.maps.write();
        let map = &mut maps[kind.index()];
        let subs = match map.get_mut(name) {
            Some(s) => s,
            None => map.entry(name.to_vec()).or_default(),
        };
        subs.insert(sub.id, sub.clone()).is_none()
    }

    /// Removes subscriber `id` from `name`; false when it was not there.
    fn remove(&self, kind: Kind, name: &[u8], id: u64) -> bool {
        let mut maps = self.maps.write();
        let map = &mut maps[kind.index()];
        let Some(subs) = map.get_mut(name) else {
            return false;
        };
        let gone = subs.remove(&id).is_some();
        if subs.is_empty() {
            map.remove(name);
        }
        gone
    }

    /// Removes connection `id` from every subscription at once (CLIENT KILL: Redis frees the
    /// client before replying, so its subscriptions are gone by then). Its own task leaves
    /// the same names again when it ends, which finds nothing left to remove.
    pub fn drop_client(&self, id: u64) {
        self.forget_inbox(id);
        let mut maps = self.maps.write();
        for map in maps.iter_mut() {
            map.retain(|_, subs| {
                subs.remove(&id);
                !subs.is_empty()
            });
        }
    }

    /// Returns the inbox of connection `id`, if it has one.
    pub fn inbox(&self, id: u64) -> Option<Arc<Subscriber>> {
        self.inboxes.lock().get(&id).cloned()
    }

    /// Forgets connection `id`'s inbox (it closed, or was killed).
    pub fn forget_inbox(&self, id: u64) {
        self.inboxes.lock().remove(&id);
    }

    /// PUBLISH: delivers `message` to the subscribers of `channel` and of every pattern that
    /// matches it; returns how many received it. `me` is the publishing connection: if it is
    /// itself subscribed, its copy goes straight into its reply buffer, ahead of the reply, as
    /// Redis does. Keyspace notifications call this with `me` = None.
    pub fn publish(&self, channel: &[u8], message: &[u8], me: Option<(u64, &mut Reply)>) -> usize {
        self.send(Kind::Channel, channel, message, me)
    }

    /// SPUBLISH: delivers `message` to the subscribers of shard channel `channel`.
    pub fn spublish(&self, channel: &[u8], message: &[u8], me: Option<(u64, &mut Reply)>) -> usize {
        self.send(Kind::Shard, channel, message, me)
    }

    fn send(
        &self,
        kind: Kind,
        channel: &[u8],
        message: &[u8],
        mut me: Option<(u64, &mut Reply)>,
    ) -> usize {
        let maps = self.maps.read();
        let mut count = 0;
        // `$<channel>\r\n$<message>\r\n`, shared by every frame of this publication.
        let mut tail = Reply::default();
        tail.bulk(channel);
        tail.bulk(message);
        let mut frame = Reply::default();
        let mut hand = |frame: &[u8], sub: &Subscriber| match me.as_mut() {
            Some((id, out)) if *id == sub.id => {
                let resp3 = out.resp3;
                out.buf.push(if resp3 { b'>' } else { b'*' });
                out.buf.extend_from_slice(&frame[1..]);
            }
            _ => sub.deliver(frame),
        };
        if let Some(subs) = maps[kind.index()].get(channel) {
            frame.array(3);
            frame.bulk(if kind == Kind::Shard { b"smessage" } else { b"message" });
            frame.buf.extend_from_slice(&tail.buf);
            for sub in subs.values() {
                hand(&frame.buf, sub);
            }
            count += subs.len();
        }
        if kind == Kind::Channel {
            for (pattern, subs) in maps[Kind::Pattern.index()].iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                frame.buf.clear();
                frame.array(4);
                frame.bulk(b"pmessage");
                frame.bulk(pattern);
                frame.buf.extend_from_slice(&tail.buf);
                for sub in subs.values() {
                    hand(&frame.buf, sub);
                }
                count += subs.len();
            }
        }
        count
    }

    /// Number of names of `kind` with at least one subscriber (INFO, PUBSUB NUMPAT).
    pub fn count(&self, kind: Kind) -> usize {
        self.maps.read()[kind.index()].len()
    }

    /// The names of `kind` with subscribers, matching `pattern` if given (PUBSUB CHANNELS).
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let maps = self.maps.read();
        maps[kind.index()]
            .keys()
            .filter(|n| pattern.is_none_or(|p| glob_match(p, n, false)))
            .cloned()
            .collect()
    }

    /// Number of subscribers of `name` (PUBSUB NUMSUB).
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.maps.read()[kind.index()].get(name).map_or(0, |s| s.len())
    }
}

/// What one connection is subscribed to.
#[derive(Debug)]
pub struct Subscriptions {
    /// The connection's entry in the registry (its inbox).
    pub me: Arc<Subscriber>,
    names: [HashSet<Vec<u8>>; 3],
}

impl Subscriptions {
    /// Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE reply.
    pub fn count(&self) -> usize {
        self.names[0].len() + self.names[1].len()
    }

    /// Shard channels: the count SSUBSCRIBE replies.
    pub fn shard_count(&self) -> usize {
        self.names[2].len()
    }

    /// Every subscription of any kind.
    pub fn total(&self) -> usize {
        self.count() + self.shard_count()
    }
}

/// The count a (un)subscribe reply of `kind` carries.
pub fn reply_count(client: &Client, kind: Kind) -> usize {
    match client.pubsub.as_ref() {
        None => 0,
        Some(s) if kind == Kind::Shard => s.shard_count(),
        Some(s) => s.count(),
    }
}

/// True when the client has any subscription (Redis's subscribed mode).
#[inline]
pub fn subscribed(client: &Client) -> bool {
    client.pubsub.as_ref().is_some_and(|s| s.total() > 0)
}

/// Gives the client its inbox (registered by id, and drained by its connection) if it has
/// none yet, and returns it. A client whose subscriptions were dropped gets its registered
/// inbox back, so nothing queued there is stranded.
pub fn ensure_inbox(ps: &PubSub, client: &mut Client) -> Arc<Subscriber> {
    if let Some(s) = client.pubsub.as_ref() {
        return s.me.clone();
    }
    let me = {
        let mut inboxes = ps.inboxes.lock();
        inboxes.entry(client.id).or_insert_with(|| Arc::new(Subscriber::new(client.info.clone()))).clone()
    };
    client.pubsub = Some(Box::new(Subscriptions { me: me.clone(), names: Default::default() }));
    me
}

/// Subscribes the client to `name`; false when it already was.
pub fn subscribe(ps: &PubSub, client: &mut Client, kind: Kind, name: &[u8]) -> bool {
    ensure_inbox(ps, client);
    let Some(subs) = client.pubsub.as_mut() else { return false };
    if subs.names[kind.index()].contains(name) {
        return false;
    }
    subs.names[kind.index()].insert(name.to_vec());
    ps.add(kind, name, &subs.me);
    sync_info(client);
    true
}

/// Unsubscribes the client from `name`; false when it was not subscribed.
pub fn unsubscribe(ps: &PubSub, client: &mut Client, kind: Kind, name: &[u8]) -> bool {
    let Some(subs) = client.pubsub.as_mut() else {
        return false;
    };
    if !subs.names[kind.index()].remove(name) {
        return false;
    }
    ps.remove(kind, name, subs.me.id);
    sync_info(client);
    true
}

/// Returns the names of `kind` the client is subscribed to.
pub fn names_of(client: &Client, kind: Kind) -> Vec<Vec<u8>> {
    client
        .pubsub
        .as_ref()
        .map_or_else(Vec::new, |s| s.names[kind.index()].iter().cloned().collect())
}

/// Leaves every subscription of every kind, silently (a closing connection, RESET).
pub fn unsubscribe_everything(ps: &PubSub, client: &mut Client) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in names_of(client, kind) {
            unsubscribe(ps, client, kind, &name);
        }
    }
}

/// Mirrors the counts into CLIENT LIST's fields and the `P` flag.
fn sync_info(client: &Client) {
    let Some(s) = client.pubsub.as_ref() else {
        return;
    };
    let info = &client.info;
    info.sub.store(s.names[0].len() as u32, Ordering::Relaxed);
    info.psub.store(s.names[1].len() as u32, Ordering::Relaxed);
    info.ssub.store(s.names[2].len() as u32, Ordering::Relaxed);
    info.set_flag(flags::PUBSUB, s.total() > 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u64) -> Client {
        let info = Arc::new(ClientInfo::new(id, "a".into(), "b".into(), 5, false));
        Client::new(info, true)
    }

    fn inbox(c: &Client) -> Vec<u8> {
        let mut v = Vec::new();
        c.pubsub.as_ref().unwrap().me.take_into(&mut v);
        v
    }

    #[test]
    fn counts_follow_subscribe_and_unsubscribe() {
        let ps = PubSub::default();
        let mut c = client(1);
        assert!(subscribe(&ps, &mut c, Kind::Channel, b"a"));
        assert!(!subscribe(&ps, &mut c, Kind::Channel, b"a"));
        assert!(subscribe(&ps, &mut c, Kind::Pattern, b"a*"));
        assert!(subscribe(&ps, &mut c, Kind::Shard, b"s"));
        assert_eq!(reply_count(&c, Kind::Channel), 2);
        assert_eq!(reply_count(&c, Kind::Shard), 1);
        assert!(c.info.has_flag(flags::PUBSUB));
        assert_eq!(c.info.psub.load(Ordering::Relaxed), 1);
        assert_eq!((ps.count(Kind::Channel), ps.count(Kind::Pattern)), (1, 1));
        assert!(!unsubscribe(&ps, &mut c, Kind::Channel, b"zz"));
        assert!(unsubscribe(&ps, &mut c, Kind::Channel, b"a"));
        assert_eq!(ps.count(Kind::Channel), 0);
        assert!(subscribed(&c));
        unsubscribe_everything(&ps, &mut c);
        assert!(!subscribed(&c));
        assert!(!c.info.has_flag(flags::PUBSUB));
        assert_eq!(ps.count(Kind::Pattern) + ps.count(Kind::Shard), 0);
    }

    #[test]
    fn drop_client_leaves_others_subscribed() {
        let ps = PubSub::default();
        let mut a = client(1);
        let mut b = client(2);
        subscribe(&ps, &mut a, Kind::Channel, b"c");
        subscribe(&ps, &mut a, Kind::Pattern, b"p*");
        subscribe(&ps, &mut b, Kind::Channel, b"c");
        ps.drop_client(1);
        assert_eq!(ps.subscribers(Kind::Channel, b"c"), 1);
        assert_eq!(ps.count(Kind::Pattern), 0);
        // The killed connection's own clean-up afterwards changes nothing.
        unsubscribe_everything(&ps, &mut a);
        assert_eq!(ps.subscribers(Kind::Channel, b"c"), 1);
        assert_eq!(ps.publish(b"c", b"m", None), 1);
    }

    #[test]
    fn publish_reaches_channels_and_matching_patterns() {
        let ps = PubSub::default();
        let mut a = client(1);
        let mut b = client(2);
        subscribe(&ps, &mut a, Kind::Channel, b"news.x");
        subscribe(&ps, &mut b, Kind::Pattern, b"news.[xy]");
        subscribe(&ps, &mut b, Kind::Pattern, b"sport.*");
        b.info.resp.store(3, Ordering::Relaxed);
        assert_eq!(ps.publish(b"news.x", b"hi", None), 2);
        assert_eq!(inbox(&a), b"*3\r\n$7\r\nmessage\r\n$6\r\nnews.x\r\n$2\r\nhi\r\n");
        assert_eq!(
            inbox(&b),
            b">4\r\n$8\r\npmessage\r\n$9\r\nnews.[xy]\r\n$6\r\nnews.x\r\n$2\r\nhi\r\n"
        );
        assert_eq!(ps.publish(b"news.z", b"hi", None), 0);
        // Shard channels are a separate namespace.
        assert_eq!(ps.spublish(b"news.x", b"hi", None), 0);
        subscribe(&ps, &mut a, Kind::Shard, b"news.x");
        assert_eq!(ps.spublish(b"news.x", b"m", None), 1);
        assert_eq!(inbox(&a), b"*3\r\n$8\r\nsmessage\r\n$6\r\nnews.x\r\n$1\r\nm\r\n");
        assert_eq!(ps.subscribers(Kind::Channel, b"news.x"), 1);
        assert_eq!(ps.names(Kind::Pattern, Some(b"news*")), vec![b"news.[xy]".to_vec()]);
    }

    #[test]
    fn inboxes_are_found_by_id_until_forgotten() {
        let ps = PubSub::default();
        let mut a = client(7);
        assert!(ps.inbox(7).is_none());
        let me = ensure_inbox(&ps, &mut a);
        assert!(Arc::ptr_eq(&me, &ps.inbox(7).unwrap()));
        // Subscribing later keeps the same inbox.
        subscribe(&ps, &mut a, Kind::Channel, b"c");
        assert!(Arc::ptr_eq(&me, &a.pubsub.as_ref().unwrap().me));
        ps.inbox(7).unwrap().push_raw(b">1\r\n$1\r\nx\r\n");
        assert_eq!(inbox(&a), b">1\r\n$1\r\nx\r\n");
        // A session that lost its subscriptions gets the registered inbox back.
        a.pubsub = None;
        assert!(Arc::ptr_eq(&me, &ensure_inbox(&ps, &mut a)));
        ps.drop_client(7);
        assert!(ps.inbox(7).is_none());
    }

    #[test]
    fn publishing_to_oneself_goes_before_the_reply() {
        let ps = PubSub::default();
        let mut a = client(1);
        subscribe(&ps, &mut a, Kind::Channel, b"c");
        let mut out = Reply::default();
        out.resp3 = true;
        assert_eq!(ps.publish(b"c", b"m", Some((1, &mut out))), 1);
        assert_eq!(out.buf, b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
        assert!(inbox(&a).is_empty());
    }
}
