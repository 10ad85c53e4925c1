//! The periodic task, run `hz` times a second like Redis's `serverCron`: refresh the access
//! clock, expire keys actively, advance table resizes, close idle clients.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Server;
use crate::store::{SHARDS, update_lru_clock};

/// Keys examined per shard and database per expiry pass before checking the time budget.
const EXPIRE_BUDGET: usize = 200;
/// Buckets moved per shard and database per cron tick while a table resizes.
const REHASH_BUCKETS: usize = 1000;

pub async fn run(server: Arc<Server>) {
    loop {
        let hz = server.config.read().hz.clamp(1, 500);
        tokio::time::sleep(Duration::from_millis(1000 / hz as u64)).await;
        if server.shutting_down.load(Ordering::Acquire) {
            return;
        }
        update_lru_clock();
        // No key expires for real while CLIENT PAUSE holds writes, as in Redis.
        if server.active_expire.load(Ordering::Relaxed) && !server.pause.writes_paused() {
            active_expire(&server, hz);
        }
        housekeeping(&server);
        close_idle_clients(&server);
    }
}

/// Expires keys whose time has come, using at most a quarter of a cron period, as Redis's slow
/// cycle does; a shard whose sample was more than 10% expired is visited again.
fn active_expire(server: &Server, hz: u32) {
    let deadline = Instant::now() + Duration::from_micros(250_000 / hz as u64);
    let dbs = server.store.databases();
    for i in 0..SHARDS {
        loop {
            let now = crate::util::now_ms();
            let mut shard = server.store.shard(i);
            let (mut examined, mut expired) = (0, 0);
            for db in 0..dbs {
                let (e, x) = shard.active_expire(db, now, EXPIRE_BUDGET);
                examined += e;
                expired += x;
            }
            drop(shard);
            if examined == 0 || expired * 10 <= examined || Instant::now() >= deadline {
                break;
            }
        }
        if Instant::now() >= deadline {
            break;
        }
    }
}

fn housekeeping(server: &Server) {
    for i in 0..SHARDS {
        server.store.shard(i).housekeeping(REHASH_BUCKETS);
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
