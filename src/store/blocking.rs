//! Clients blocked on keys (BLPOP, BLMOVE, BLMPOP and, later, the sorted-set and stream
//! blocking reads): the waiter of one blocked command, and the per-database queues of waiters
//! by key.
//!
//! # How a blocked command is served
//!
//! A blocking command that finds nothing to pop files a [`Waiter`] in the queue of each of its
//! keys, in the shards of those keys, under those shards' locks (the same locks it checked the
//! keys under, so nothing can slip in between the check and the filing). A write that adds a
//! key with waiters (any new key: LPUSH creating a list, RENAME, MOVE, COPY, SORT ... STORE)
//! notes the key as ready in the writer's [`super::Keyspace`]; when the writing command is done
//! and before its locks are released, the command layer serves the ready keys: for each, the
//! waiters in the order they blocked, each getting its elements popped (or moved) and its reply
//! built there and then. A served waiter's reply waits in the waiter until its connection picks
//! it up. So the element leaves the list and enters the reply in one step under the key's
//! lock, as in Redis.
//!
//! # Races with the waiter going away
//!
//! The waiter's state has its own small lock. Serving takes it while holding the key's shard
//! lock, and only pops when the waiter is still waiting. A waiter that times out, is unblocked
//! by CLIENT UNBLOCK or disconnects takes the same lock to leave the waiting state; whoever
//! comes first wins. A waiter that finds itself served when it wanted to leave takes the reply
//! (a timeout that lost the race delivers the element instead of a null); a connection that
//! closed before writing a served pop's reply gives the elements back to the list
//! ([`Delivery::restore`]), so nothing is lost or delivered twice.
//!
//! Lock order: a shard lock, then a waiter's state lock, never the other way round. A waiter
//! removing itself from the queues does so after releasing its state lock, one shard at a
//! time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

/// What a blocked command does once one of its keys has data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockOp {
    /// BLPOP / BRPOP (`multi: false`, one element) and BLMPOP (`multi: true`, up to `count`).
    ListPop { left: bool, count: usize, multi: bool },
    /// BLMOVE / BRPOPLPUSH: pop from the key, push onto `dst`.
    ListMove { dst: Vec<u8>, from_left: bool, to_left: bool },
    /// BZPOPMIN / BZPOPMAX (`multi: false`) and BZMPOP (`multi: true`, up to `count`).
    ZPop { max: bool, count: usize, multi: bool },
}

/// A reply handed to a waiter, built for its protocol, with what it takes to undo the pop if
/// the reply can never be sent.
#[derive(Debug, Default)]
pub struct Delivery {
    /// The reply bytes, for the waiter's protocol version.
    pub reply: Vec<u8>,
    /// Error codes within the reply, for the error statistics.
    pub errors: thin_vec::ThinVec<String>,
    /// What was popped for this reply, to put back if it can never be sent.
    pub restore: Option<Restore>,
}

/// Elements popped for a reply, as they can be given back.
#[derive(Debug)]
pub enum Restore {
    /// From a list: the elements in the order popped, and whether from the left. Pushing them
    /// back in reverse order restores the list.
    List { key: Vec<u8>, elems: Vec<Vec<u8>>, left: bool },
    /// From a sorted set: members and their scores.
    ZSet { key: Vec<u8>, members: Vec<(Vec<u8>, f64)> },
}

/// Where a waiter stands.
#[derive(Debug)]
enum State {
    /// Blocked; the waker of the connection task waiting for the outcome.
    Waiting(Option<Waker>),
    /// Served: the reply waits to be picked up.
    Served(Delivery),
    /// Unblocked by CLIENT UNBLOCK, as a timeout or with the UNBLOCKED error.
    Unblocked { error: bool },
    /// The outcome was taken, or the waiter gave up.
    Done,
}

/// How a blocked command ended, as its connection learns it.
#[derive(Debug)]
pub enum Outcome {
    /// Served: the reply to send (or, for a client that left, the elements to give back).
    Served(Delivery),
    /// CLIENT UNBLOCK: reply as for a timeout (`error: false`) or with the UNBLOCKED error.
    Unblocked { error: bool },
    /// The timeout passed (or the client left) before anything was served.
    TimedOut,
}

/// One blocked command.
#[derive(Debug)]
pub struct Waiter {
    /// The blocked client's id.
    pub client_id: u64,
    /// The database its keys are in.
    pub db: usize,
    /// Its keys, each once, in the order given.
    pub keys: Vec<Vec<u8>>,
    pub op: BlockOp,
    /// The client speaks RESP3.
    pub resp3: bool,
    state: Mutex<State>,
}

impl Waiter {
    pub fn new(client_id: u64, db: usize, keys: Vec<Vec<u8>>, op: BlockOp, resp3: bool) -> Self {
        Waiter { client_id, db, keys, op, resp3, state: Mutex::new(State::Waiting(None)) }
    }

    /// True while the waiter waits.
    pub fn is_waiting(&self) -> bool {
        matches!(*self.state.lock(), State::Waiting(_))
    }

    /// Serves the waiter if it is still waiting: `serve` does the pop and builds the reply
    /// (returning `None` when it cannot serve after all, which leaves the waiter waiting).
    /// Returns true when the waiter was served. Called with the key's shard locked.
    pub fn serve_with(&self, serve: impl FnOnce() -> Option<Delivery>) -> bool {
        let mut st = self.state.lock();
        let State::Waiting(waker) = &mut *st else { return false };
        let waker = waker.take();
        match serve() {
            Some(d) => {
                *st = State::Served(d);
                drop(st);
                if let Some(w) = waker {
                    w.wake();
                }
                true
            }
            None => {
                *st = State::Waiting(waker);
                false
            }
        }
    }

    /// CLIENT UNBLOCK: ends the wait as a timeout or an error; false when the waiter was no
    /// longer waiting.
    pub fn unblock(&self, error: bool) -> bool {
        let mut st = self.state.lock();
        let State::Waiting(waker) = &mut *st else { return false };
        let waker = waker.take();
        *st = State::Unblocked { error };
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Polls for the end of the wait: ready once the waiter was served or unblocked.
    pub fn poll_ended(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.state.lock();
        match &mut *st {
            State::Waiting(w) => {
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }

    /// Ends the wait, from the waiter's side (it was woken, its timeout passed, or its client
    /// is leaving), and returns how it ended: a reply served in the meantime wins over a
    /// timeout.
    pub fn finish(&self) -> Outcome {
        let mut st = self.state.lock();
        match std::mem::replace(&mut *st, State::Done) {
            State::Served(d) => Outcome::Served(d),
            State::Unblocked { error } => Outcome::Unblocked { error },
            State::Waiting(_) | State::Done => Outcome::TimedOut,
        }
    }
}

/// The waiters of one database slice, by key, each queue in blocking order. Waiters that
/// stopped waiting are removed by their own connection ([`crate::store::Store::remove_waiter`])
/// and skipped if met before that.
#[derive(Default)]
pub struct Waiters {
    by_key: HashMap<Box<[u8]>, VecDeque<Arc<Waiter>>>,
}

impl Waiters {
    /// True when nobody waits on any key of this slice.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// True when somebody waits on `key`.
    #[inline]
    pub fn has(&self, key: &[u8]) -> bool {
        !self.by_key.is_empty() && self.by_key.contains_key(key)
    }

    /// Files `w` at the back of `key`'s queue.
    pub fn add(&mut self, key: &[u8], w: Arc<Waiter>) {
        self.by_key.entry(key.into()).or_default().push_back(w);
    }

    /// Returns the first waiter of `key` still waiting, dropping those ahead of it that are
    /// not.
    pub fn front(&mut self, key: &[u8]) -> Option<Arc<Waiter>> {
        let q = self.by_key.get_mut(key)?;
        while let Some(w) = q.front() {
            if w.is_waiting() {
                return Some(w.clone());
            }
            q.pop_front();
        }
        self.by_key.remove(key);
        None
    }

    /// Removes `w` from `key`'s queue.
    pub fn remove(&mut self, key: &[u8], w: &Arc<Waiter>) {
        if let Some(q) = self.by_key.get_mut(key) {
            q.retain(|x| !Arc::ptr_eq(x, w));
            if q.is_empty() {
                self.by_key.remove(key);
            }
        }
    }

    /// Returns the keys somebody waits on.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.by_key.keys().map(|k| &k[..])
    }

    /// Returns how many waiters are queued over all keys (a waiter on several keys counts
    /// once per key).
    pub fn queued(&self) -> usize {
        self.by_key.values().map(|q| q.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(id: u64) -> Arc<Waiter> {
        let op = BlockOp::ListPop { left: true, count: 1, multi: false };
        Arc::new(Waiter::new(id, 0, vec![b"k".to_vec()], op, false))
    }

    #[test]
    fn first_to_claim_wins() {
        let w = waiter(1);
        assert!(w.serve_with(|| Some(Delivery { reply: b"x".to_vec(), ..Default::default() })));
        // A second server and CLIENT UNBLOCK find it no longer waiting.
        assert!(!w.serve_with(|| panic!("must not pop for a served waiter")));
        assert!(!w.unblock(true));
        match w.finish() {
            Outcome::Served(d) => assert_eq!(d.reply, b"x"),
            o => panic!("unexpected {o:?}"),
        }
        // Taken once only.
        assert!(matches!(w.finish(), Outcome::TimedOut));
    }

    #[test]
    fn giving_up_first_means_nothing_is_popped() {
        let w = waiter(1);
        assert!(matches!(w.finish(), Outcome::TimedOut));
        assert!(!w.serve_with(|| panic!("must not pop for a waiter that left")));
    }

    #[test]
    fn a_server_that_cannot_serve_leaves_the_waiter_waiting() {
        let w = waiter(1);
        assert!(!w.serve_with(|| None));
        assert!(w.is_waiting());
        assert!(w.unblock(false));
        assert!(matches!(w.finish(), Outcome::Unblocked { error: false }));
    }

    #[test]
    fn queues_keep_blocking_order_and_skip_leavers() {
        let mut q = Waiters::default();
        let (a, b, c) = (waiter(1), waiter(2), waiter(3));
        q.add(b"k", a.clone());
        q.add(b"k", b.clone());
        q.add(b"k", c.clone());
        assert!(q.has(b"k"));
        assert_eq!(q.front(b"k").unwrap().client_id, 1);
        a.finish();
        assert_eq!(q.front(b"k").unwrap().client_id, 2);
        q.remove(b"k", &b);
        assert_eq!(q.front(b"k").unwrap().client_id, 3);
        q.remove(b"k", &c);
        assert!(q.front(b"k").is_none());
        assert!(q.is_empty());
    }
}
