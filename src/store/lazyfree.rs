//! Freeing big values away from the command path: UNLINK, FLUSHALL/FLUSHDB ASYNC and the
//! `lazyfree-lazy-*` directives hand what they removed to one background thread, so a client
//! never waits while millions of entries are freed.
//!
//! The counters are INFO's `lazyfree_pending_objects` and `lazyfreed_objects`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};

use parking_lot::Mutex;

type Job = (Box<dyn Send>, u64);

/// Above this many allocations to free, a value is freed in the background rather than by the
/// command that dropped it (Redis's `LAZYFREE_THRESHOLD`).
pub const THRESHOLD: usize = 64;

static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn queue() -> &'static Mutex<Sender<Job>> {
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for (obj, n) in rx {
                    drop(obj);
                    PENDING.fetch_sub(n, Ordering::Relaxed);
                    FREED.fetch_add(n, Ordering::Relaxed);
                }
            })
            .expect("spawn lazyfree thread");
        Mutex::new(tx)
    })
}

/// Frees `obj` on the background thread; `objects` is how many objects it counts for in the
/// statistics. If the thread cannot take it, it is freed here.
pub fn free_later<T: Send + 'static>(obj: T, objects: u64) {
    PENDING.fetch_add(objects, Ordering::Relaxed);
    if let Err(e) = queue().lock().send((Box::new(obj), objects)) {
        drop(e.0);
        PENDING.fetch_sub(objects, Ordering::Relaxed);
        FREED.fetch_add(objects, Ordering::Relaxed);
    }
}

/// Objects handed to the background thread and not freed yet.
pub fn pending_objects() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects freed by the background thread since start (or the last CONFIG RESETSTAT).
pub fn freed_objects() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// Resets the freed counter (CONFIG RESETSTAT).
pub fn reset_stats() {
    FREED.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_in_background() {
        let before = freed_objects();
        free_later(vec![1u8; 1000], 3);
        for _ in 0..1000 {
            if freed_objects() >= before + 3 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("background free did not happen");
    }
}
