//! The periodic task, run `hz` times a second like Redis's `serverCron`: refresh the access
//! clock, expire keys actively, advance table resizes, close idle clients.
//!
//! The active expiry is Redis 7.0's `activeExpireCycle`: a slow cycle every tick, spending at
//! most 25% of the tick (plus 2% per `active-expire-effort` step above 1), visiting 16
//! databases per call round-robin (all of them after a cycle that ran out of time), and in each
//! database sampling about 20 keys with a TTL per round, repeating while more than 10% of the
//! sample was expired. Between ticks, when the last slow cycle ran out of time or the estimated
//! share of expired keys is high, fast cycles of 1 ms run every few milliseconds, as Redis
//! runs them before sleeping. Each round locks one shard, so clients wait at most a round.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Server, notify};
use crate::config::Config;
use crate::config::notify as notify_class;
use crate::store::events::KeyEvent;
use crate::store::{SHARDS, Store, update_lru_clock};

/// Buckets moved per shard and database per lock while a table resizes.
const REHASH_CHUNK: usize = 100;
/// Time the cron spends moving buckets per tick.
const REHASH_BUDGET: Duration = Duration::from_millis(1);
/// Databases visited per slow cycle (Redis's `CRON_DBS_PER_CALL`).
const DBS_PER_CALL: usize = 16;
/// Keys with a TTL sampled per round at effort 1 (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const KEYS_PER_LOOP: usize = 20;
/// Time of a fast cycle at effort 1, in microseconds.
const FAST_DURATION_US: u64 = 1000;
/// Share of a tick the slow cycle may use at effort 1, in percent.
const SLOW_TIME_PERC: u64 = 25;
/// Percentage of expired keys in a sample above which a database is sampled again.
const ACCEPTABLE_STALE: usize = 10;

pub async fn run(server: Arc<Server>) {
    sync_tunables(&server);
    let mut cycle = ExpireCycle { aof: Some(server.aof.clone()), ..ExpireCycle::default() };
    loop {
        // The time-stamp counter's rate, for commands' durations (see `util::tsc`).
        crate::util::calibrate_tsc();
        let hz = server.config.read().hz.clamp(1, 500);
        let period = Duration::from_millis(1000 / hz as u64);
        let tick_at = Instant::now() + period;
        // Fast cycles fill the wait when the keyspace has a backlog of expired keys.
        loop {
            let now = Instant::now();
            if now >= tick_at {
                break;
            }
            let active = server.active_expire.load(Ordering::Relaxed);
            if active && cycle.wants_fast(&server.store) {
                let wait = (tick_at - now).min(Duration::from_micros(2 * fast_duration(&server)));
                tokio::time::sleep(wait).await;
                if Instant::now() < tick_at && server.active_expire.load(Ordering::Relaxed) {
                    cycle.run(&server.store, hz, Kind::Fast, &mut |ev| {
                        notify::publish(&server, ev)
                    });
                    invalidate_expired(&server, &mut cycle);
                }
            } else {
                tokio::time::sleep(tick_at - now).await;
            }
            if server.shutting_down.load(Ordering::Acquire) {
                return;
            }
        }
        if server.shutting_down.load(Ordering::Acquire) {
            return;
        }
        if crate::cmd::debug::cron_paused() {
            continue;
        }
        update_lru_clock();
        sync_tunables(&server);
        // The slow cycle may take a quarter of the tick: let the runtime move this worker's
        // other tasks elsewhere meanwhile.
        blocking(|| {
            // No key expires for real while CLIENT PAUSE holds writes, as in Redis.
            if server.active_expire.load(Ordering::Relaxed) && !server.pause.writes_paused() {
                cycle.run(&server.store, hz, Kind::Slow, &mut |ev| {
                    notify::publish(&server, ev)
                });
            }
            let rehash = server.config.read().activerehashing;
            housekeeping(&server.store, rehash);
        });
        invalidate_expired(&server, &mut cycle);
        if server.store.tracking.load(Ordering::Relaxed) {
            server.tracking.enforce_limit(&server, 0, &mut Vec::new());
        }
        super::info::cron_tick(&server);
        crate::persistence::aof::rewrite::check_auto(&server);
        close_idle_clients(&server);
        // Save points and scheduled BGSAVEs; a shutdown a signal asked for.
        crate::cmd::persist::cron(&server);
        if server.persist.shutdown_asap.load(Ordering::Acquire) {
            let srv = server.clone();
            let ok = tokio::task::spawn_blocking(move || {
                tracing::warn!("User requested shutdown...");
                crate::cmd::persist::prepare_shutdown(&srv, false, false)
            })
            .await
            .unwrap_or(false);
            // SHUTDOWN ABORT may have cleared the request while the save ran.
            if server.persist.shutdown_asap.swap(false, Ordering::AcqRel) {
                if ok {
                    server.request_shutdown();
                    return;
                }
                tracing::warn!(
                    "SIGTERM received but errors trying to shut down the server, check the logs \
                     for more information"
                );
            }
        }
    }
}

fn fast_duration(server: &Server) -> u64 {
    let effort = server.store.tunables.active_expire_effort.load(Ordering::Relaxed).clamp(1, 10);
    FAST_DURATION_US + FAST_DURATION_US / 4 * (effort as u64 - 1)
}

/// Copies the settings the keyspace reads on its hot paths from the config into the store's
/// [`crate::store::Tunables`]. Run at start-up and on every tick; CONFIG SET should call it
/// after a change so the change is seen by the next command.
pub fn sync_tunables(server: &Server) {
    let cfg = server.config.read();
    apply_tunables(&cfg, &server.store);
}

fn apply_tunables(cfg: &Config, store: &Store) {
    let t = &store.tunables;
    let policy = cfg.maxmemory_policy.to_ascii_lowercase();
    let lfu = policy.ends_with("-lfu");
    let lru_or_lfu = lfu || policy.ends_with("-lru");
    t.lfu.store(lfu, Ordering::Relaxed);
    t.shared_integers.store(cfg.maxmemory == 0 || !lru_or_lfu, Ordering::Relaxed);
    let clamp = |v: u64| v.min(u32::MAX as u64) as u32;
    t.lfu_log_factor.store(clamp(cfg.lfu_log_factor), Ordering::Relaxed);
    t.lfu_decay_time.store(clamp(cfg.lfu_decay_time), Ordering::Relaxed);
    t.lazy_user_del.store(cfg.lazyfree_lazy_user_del, Ordering::Relaxed);
    t.lazy_user_flush.store(cfg.lazyfree_lazy_user_flush, Ordering::Relaxed);
    t.lazy_expire.store(cfg.lazyfree_lazy_expire, Ordering::Relaxed);
    t.lazy_server_del.store(cfg.lazyfree_lazy_server_del, Ordering::Relaxed);
    t.active_expire_effort.store(cfg.active_expire_effort.clamp(1, 10), Ordering::Relaxed);
    t.list_max_listpack_size.store(cfg.list_max_listpack_size, Ordering::Relaxed);
    t.list_compress_depth.store(clamp(cfg.list_compress_depth), Ordering::Relaxed);
    t.hash_max_listpack_entries.store(cfg.hash_max_listpack_entries, Ordering::Relaxed);
    t.hash_max_listpack_value.store(cfg.hash_max_listpack_value, Ordering::Relaxed);
    t.set_max_intset_entries.store(cfg.set_max_intset_entries, Ordering::Relaxed);
    t.zset_max_listpack_entries.store(cfg.zset_max_listpack_entries, Ordering::Relaxed);
    t.zset_max_listpack_value.store(cfg.zset_max_listpack_value, Ordering::Relaxed);
    let max_keys = crate::command::table::config_text(cfg, "tracking-table-max-keys")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1_000_000);
    t.tracking_table_max_keys.store(max_keys, Ordering::Relaxed);
    t.maxmemory.store(cfg.maxmemory, Ordering::Relaxed);
    t.proto_max_bulk_len.store(cfg.proto_max_bulk_len, Ordering::Relaxed);
    t.client_query_buffer_limit.store(cfg.client_query_buffer_limit, Ordering::Relaxed);
    t.set_obuf_limits(&cfg.client_output_buffer_limit);
    t.notify_keyspace_events.store(cfg.notify_keyspace_events, Ordering::Relaxed);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Slow,
    Fast,
}

/// Client-side caching: sends the invalidations of the keys the active expiry just deleted
/// (after the rounds, with no shard lock held).
fn invalidate_expired(server: &Server, cycle: &mut ExpireCycle) {
    if cycle.tracked.is_empty() {
        return;
    }
    let mut keys: Vec<(Vec<u8>, bool)> = cycle.tracked.drain(..).map(|k| (k, false)).collect();
    let all = crate::server::tracking::Scope::All;
    server.tracking.invalidate(server, &mut keys, false, 0, &mut Vec::new(), all);
}

/// The state Redis keeps in `activeExpireCycle`'s statics.
#[derive(Default)]
struct ExpireCycle {
    /// Keys expired while client-side caching is on, to invalidate after the cycle.
    tracked: Vec<Vec<u8>>,
    /// Next database to visit.
    current_db: usize,
    /// The last cycle stopped at its time limit.
    timelimit_exit: bool,
    last_fast: Option<Instant>,
    /// Where the deletions go when propagation is on.
    aof: Option<Arc<crate::persistence::aof::Aof>>,
    /// The keys one round expired, while the AOF or client-side caching needs their names.
    expired_scratch: Vec<Vec<u8>>,
}

impl ExpireCycle {
    /// True when a fast cycle is due: the last cycle ran out of time, or the estimated share of
    /// expired keys is above what is acceptable.
    fn wants_fast(&self, store: &Store) -> bool {
        let effort = store.tunables.active_expire_effort.load(Ordering::Relaxed).clamp(1, 10);
        let acceptable = (ACCEPTABLE_STALE - (effort as usize - 1)) as f64 / 100.0;
        self.timelimit_exit || store.expire_stats.stale_fraction() >= acceptable
    }

    /// Runs one cycle. Returns (keys sampled, keys expired).
    /// `on_expired` publishes the `expired` events of each round, once its shard is released.
    fn run(
        &mut self,
        store: &Store,
        hz: u32,
        kind: Kind,
        on_expired: &mut dyn FnMut(&[KeyEvent]),
    ) -> (usize, usize) {
        let effort = store.tunables.active_expire_effort.load(Ordering::Relaxed).clamp(1, 10);
        let effort = effort as usize - 1;
        let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
        let fast_us = FAST_DURATION_US + FAST_DURATION_US / 4 * effort as u64;
        let slow_perc = SLOW_TIME_PERC + 2 * effort as u64;
        let acceptable = ACCEPTABLE_STALE - effort;
        let lazy = store.tunables.lazy_expire.load(Ordering::Relaxed);
        let start = Instant::now();
        // With clients paused the dataset must stay as it is.
        if store.tunables.expiry_paused(crate::util::now_ms()) {
            return (0, 0);
        }
        if kind == Kind::Fast {
            if !self.wants_fast(store) {
                return (0, 0);
            }
            if self.last_fast.is_some_and(|t| start < t + Duration::from_micros(fast_us * 2)) {
                return (0, 0);
            }
            self.last_fast = Some(start);
        }
        let dbnum = store.databases();
        let dbs = if self.timelimit_exit { dbnum } else { DBS_PER_CALL.min(dbnum) };
        let limit = match kind {
            Kind::Slow => Duration::from_micros((slow_perc * 1_000_000 / hz as u64 / 100).max(1)),
            Kind::Fast => Duration::from_micros(fast_us),
        };
        self.timelimit_exit = false;
        let (mut total_sampled, mut total_expired) = (0, 0);
        let mut iteration = 0u64;
        let mut events = Vec::new();
        'dbs: for _ in 0..dbs {
            let db = self.current_db % dbnum;
            self.current_db = self.current_db.wrapping_add(1);
            // Each shard holds a slice of the database; each slice is walked like a Redis
            // database, one locked round at a time.
            for i in 0..SHARDS {
                loop {
                    iteration += 1;
                    let now = crate::util::now_ms();
                    let track = store.tracking.load(Ordering::Relaxed);
                    let want = store.tunables.notify_wants(notify_class::EXPIRED);
                    let out = want.then_some(&mut events);
                    // Propagation hook: the deletions reach the AOF under the shard lock.
                    let aof = match &self.aof {
                        Some(aof) if store.tunables.propagate.load(Ordering::Relaxed) => Some(aof),
                        _ => None,
                    };
                    let mut shard = store.shard(i);
                    let keys = &mut self.expired_scratch;
                    let sink = if track || aof.is_some() { Some(&mut *keys) } else { None };
                    let r = shard.expire_round_into(db, now, keys_per_loop, lazy, sink, out);
                    if let Some(aof) = aof {
                        if track {
                            // Client-side caching needs the names too.
                            self.tracked.extend(keys.iter().cloned());
                        }
                        aof.feed_expired(db, keys, lazy);
                    } else if track {
                        self.tracked.append(keys);
                    }
                    drop(shard);
                    if !events.is_empty() {
                        on_expired(&events);
                        events.clear();
                    }
                    if r.idle {
                        break;
                    }
                    total_sampled += r.sampled;
                    total_expired += r.expired;
                    if iteration.is_multiple_of(16) && start.elapsed() > limit {
                        self.timelimit_exit = true;
                        store.expire_stats.time_cap_reached.fetch_add(1, Ordering::Relaxed);
                        break 'dbs;
                    }
                    if r.sampled != 0 && r.expired * 100 / r.sampled <= acceptable {
                        break;
                    }
                }
            }
        }
        let used = start.elapsed().as_micros() as u64;
        store.expire_stats.time_used_us.fetch_add(used, Ordering::Relaxed);
        store.expire_stats.record_stale(total_sampled, total_expired);
        (total_sampled, total_expired)
    }
}

/// Runs `f` on this thread, telling a multi-threaded tokio runtime first that it may block.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Starts shrinking sparse tables and, with `activerehashing`, moves resizes forward for at
/// most about a millisecond a tick (Redis's `databasesCron` budget), a chunk of buckets per
/// lock.
fn housekeeping(store: &Store, rehash: bool) {
    if !rehash {
        for i in 0..SHARDS {
            store.shard(i).housekeeping(0);
        }
        return;
    }
    let start = Instant::now();
    for i in 0..SHARDS {
        loop {
            let more = store.shard(i).housekeeping(REHASH_CHUNK);
            if !more || start.elapsed() >= REHASH_BUDGET {
                break;
            }
        }
        if start.elapsed() >= REHASH_BUDGET {
            // Starting shrinks is cheap; the moves continue next tick.
            for j in i + 1..SHARDS {
                store.shard(j).housekeeping(0);
            }
            return;
        }
    }
}

/// Closes clients idle for longer than `timeout` seconds (whole seconds, as Redis counts);
/// replicas, blocked and pub/sub clients are exempt.
fn close_idle_clients(server: &Server) {
    let timeout = server.config.read().timeout;
    if timeout == 0 {
        return;
    }
    let now = crate::util::now_ms();
    for c in server.clients.all() {
        if !c.timeout_exempt() && c.idle_secs(now) > timeout as i64 {
            tracing::debug!("Closing idle client");
            server.clients.kill(&c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::value::Value;

    #[test]
    fn slow_cycle_expires_due_keys_across_dbs_and_counts() {
        let store = Store::new(4);
        let now = crate::util::now_ms();
        for db in 0..4 {
            let mut ks = store.lock_all(db, now);
            for i in 0..200 {
                let k = format!("k{db}:{i}");
                ks.set_with_expire(k.as_bytes(), Value::Int(i), Some(now - 10));
                ks.set(format!("p{db}:{i}").as_bytes(), Value::Int(i), false);
            }
            ks.set_with_expire(b"later", Value::Int(1), Some(now + 100_000));
        }
        let mut cycle = ExpireCycle::default();
        let (sampled, expired) = cycle.run(&store, 10, Kind::Slow, &mut |_| {});
        // Every sample was expired, so every slice was walked until its keys were gone.
        assert_eq!(expired, 800);
        assert!(sampled >= 800);
        for db in 0..4 {
            let (keys, volatile, avg_ttl) = store.db_info(db);
            assert_eq!((keys, volatile), (201, 1));
            assert!(avg_ttl > 90_000 && avg_ttl <= 100_000, "{avg_ttl}");
        }
        assert_eq!(store.stats().expired_keys, 800);
        assert!(store.expire_stats.stale_fraction() > 0.04);
    }

    #[test]
    fn fast_cycle_runs_only_when_there_is_a_backlog() {
        let store = Store::new(1);
        let now = crate::util::now_ms();
        {
            let mut ks = store.lock_all(0, now);
            ks.set_with_expire(b"a", Value::Int(1), Some(now - 1));
        }
        let mut cycle = ExpireCycle::default();
        assert!(!cycle.wants_fast(&store));
        assert_eq!(cycle.run(&store, 10, Kind::Fast, &mut |_| {}), (0, 0));
        assert_eq!(store.db_sizes(0), (1, 1));
        store.expire_stats.record_stale(1, 1);
        store.expire_stats.record_stale(1, 1);
        store.expire_stats.record_stale(1, 1);
        assert!(cycle.wants_fast(&store));
        assert_eq!(cycle.run(&store, 10, Kind::Fast, &mut |_| {}), (1, 1));
        assert_eq!(store.db_sizes(0), (0, 0));
    }

    #[test]
    fn tunables_follow_the_config() {
        let store = Store::new(1);
        let mut cfg = Config::default();
        apply_tunables(&cfg, &store);
        assert!(!store.tunables.lfu.load(Ordering::Relaxed));
        assert!(store.tunables.shared_integers.load(Ordering::Relaxed));
        cfg.maxmemory_policy = "allkeys-lfu".into();
        cfg.maxmemory = 1 << 20;
        cfg.lazyfree_lazy_user_del = true;
        cfg.lfu_decay_time = 0;
        apply_tunables(&cfg, &store);
        assert!(store.tunables.lfu.load(Ordering::Relaxed));
        assert!(!store.tunables.shared_integers.load(Ordering::Relaxed));
        assert!(store.tunables.lazy_user_del.load(Ordering::Relaxed));
        assert_eq!(store.tunables.lfu_decay_time.load(Ordering::Relaxed), 0);
    }
}
