//! The load simulator: buyers that join at a given rate, poll (heartbeat), abandon at a given ratio, get
//! admitted, hold seats (trying others when theirs are taken) and book, so that the monitor's figures move
//! the way a real on-sale moves. Used by `seatwise simulate`, the run command's demo, and the console.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::Error;
use crate::ids::{BuyerId, Scope, SeatId, Ticket};
use crate::queue::{Engine, TicketState};
use crate::shows::SeatMap;

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub scopes: Vec<Scope>,
    /// New buyers per second, over all scopes.
    pub join_rate: f64,
    /// The share of buyers who stop polling while they wait (0..1).
    pub abandon_ratio: f64,
    /// How often a waiting buyer polls.
    pub poll_interval: Duration,
    /// How long an admitted buyer takes to choose seats (uniform between the two).
    pub think: (Duration, Duration),
    /// The share of admitted buyers who book (the others leave).
    pub complete_ratio: f64,
    /// Stop creating buyers after this many (None = until stopped).
    pub max_buyers: Option<u64>,
    /// Concurrent simulated buyers at most.
    pub max_concurrent: usize,
}

impl SimConfig {
    /// Checks the settings a face was given, saying what is allowed.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.abandon_ratio) {
            return Err(Error::invalid("abandon share", &self.abandon_ratio.to_string(), "a number from 0 to 1"));
        }
        if !(0.0..=1.0).contains(&self.complete_ratio) {
            return Err(Error::invalid("booking share", &self.complete_ratio.to_string(), "a number from 0 to 1"));
        }
        if !(self.join_rate > 0.0 && self.join_rate <= 100_000.0) {
            return Err(Error::invalid(
                "join rate",
                &self.join_rate.to_string(),
                "more than 0 and at most 100000 buyers per second",
            ));
        }
        Ok(())
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            scopes: Vec::new(),
            join_rate: 20.0,
            abandon_ratio: 0.1,
            poll_interval: Duration::from_secs(2),
            think: (Duration::from_secs(2), Duration::from_secs(8)),
            complete_ratio: 0.85,
            max_buyers: None,
            max_concurrent: 20_000,
        }
    }
}

#[derive(Default, Debug)]
struct Counters {
    joined: AtomicU64,
    admitted: AtomicU64,
    completed: AtomicU64,
    abandoned: AtomicU64,
    left: AtomicU64,
    seat_conflicts: AtomicU64,
    turned_away: AtomicU64,
    errors: AtomicU64,
}

/// What the simulated buyers have done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SimSnapshot {
    pub joined: u64,
    pub admitted: u64,
    pub completed: u64,
    pub abandoned: u64,
    pub left: u64,
    pub seat_conflicts: u64,
    /// Buyers who found the queue closed or never opened.
    pub turned_away: u64,
    pub errors: u64,
    pub last_error: Option<String>,
}

pub struct Simulator {
    stop: watch::Sender<bool>,
    counters: Arc<Counters>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Up to `n` seats side by side in one random row of `map` (a hold names only seats of the map).
fn random_seats(map: &SeatMap, n: u32) -> Vec<SeatId> {
    let row = &map.rows[rand::random_range(0..map.rows.len())];
    let n = n.clamp(1, map.seats_per_row);
    let first = rand::random_range(1..=map.seats_per_row - n + 1);
    (0..n).map(|i| SeatId::new(&format!("{row}{}", first + i)).expect("seat ids are valid")).collect()
}

/// Each scope's seat map, read once when the simulation starts (the default map when its show is gone).
async fn seat_maps(engine: &Engine, scopes: &[Scope]) -> HashMap<Scope, SeatMap> {
    let mut maps = HashMap::new();
    for sc in scopes {
        let map = match engine.get_show(&sc.show).await {
            Ok(show) => show.schedules.iter().find(|s| s.id == sc.sched).map(|s| s.seats()).unwrap_or_default(),
            Err(_) => SeatMap::default(),
        };
        maps.insert(sc.clone(), map);
    }
    maps
}

async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.changed() => true,
    }
}

impl Simulator {
    /// Starts the buyers. Crate-only: faces go through [`crate::sandbox::simulate_live`], which checks
    /// that every queue is a demo show's.
    pub(crate) fn start(engine: Engine, cfg: SimConfig) -> Simulator {
        let (stop, stop_rx) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let last_error = Arc::new(std::sync::Mutex::new(None));
        let run_id: u32 = rand::random();
        let task = tokio::spawn(spawner(engine, cfg, stop_rx, counters.clone(), last_error.clone(), run_id));
        Simulator { stop, counters, last_error, task }
    }

    pub fn snapshot(&self) -> SimSnapshot {
        let c = &self.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SimSnapshot {
            joined: g(&c.joined),
            admitted: g(&c.admitted),
            completed: g(&c.completed),
            abandoned: g(&c.abandoned),
            left: g(&c.left),
            seat_conflicts: g(&c.seat_conflicts),
            turned_away: g(&c.turned_away),
            errors: g(&c.errors),
            last_error: self.last_error.lock().expect("not poisoned").clone(),
        }
    }

    /// Stops every simulated buyer (they simply stop calling, as closed browser tabs do).
    pub async fn stop(mut self) -> SimSnapshot {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        self.snapshot()
    }
}

async fn spawner(
    engine: Engine,
    cfg: SimConfig,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
    run_id: u32,
) {
    let mut set = JoinSet::new();
    let cfg = Arc::new(cfg);
    if cfg.scopes.is_empty() || cfg.join_rate <= 0.0 {
        return;
    }
    let gap = Duration::from_secs_f64(1.0 / cfg.join_rate);
    let maps = Arc::new(seat_maps(&engine, &cfg.scopes).await);
    let mut n: u64 = 0;
    let mut next = tokio::time::Instant::now();
    loop {
        while set.try_join_next().is_some() {}
        if cfg.max_buyers.is_some_and(|m| n >= m) {
            break;
        }
        if set.len() < cfg.max_concurrent {
            let scope = cfg.scopes[(n as usize) % cfg.scopes.len()].clone();
            let buyer = BuyerId::new(&format!("sim-{run_id:08x}-{n}")).expect("valid buyer id");
            let map = maps.get(&scope).cloned().unwrap_or_default();
            set.spawn(buyer_life(
                engine.clone(),
                cfg.clone(),
                scope,
                map,
                buyer,
                stop.clone(),
                counters.clone(),
                last_error.clone(),
            ));
            n += 1;
        }
        next += gap;
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stop.changed() => break,
        }
    }
    if !*stop.borrow() {
        // max_buyers reached: let the buyers finish their lives unless stopped.
        tokio::select! {
            _ = async { while set.join_next().await.is_some() {} } => {}
            _ = stop.changed() => {}
        }
    }
    set.shutdown().await;
}

#[allow(clippy::too_many_arguments)] // one buyer's whole life; a struct would only rename them
async fn buyer_life(
    engine: Engine,
    cfg: Arc<SimConfig>,
    scope: Scope,
    map: SeatMap,
    buyer: BuyerId,
    mut stop: watch::Receiver<bool>,
    c: Arc<Counters>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
) {
    let fail = |e: Error| {
        match e {
            Error::QueueClosed(_) | Error::NoQueue(_) => c.turned_away.fetch_add(1, Ordering::Relaxed),
            e => {
                *last_error.lock().expect("not poisoned") = Some(e.to_string());
                c.errors.fetch_add(1, Ordering::Relaxed)
            }
        };
    };
    let t = match engine.join(&scope, &buyer).await {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    c.joined.fetch_add(1, Ordering::Relaxed);
    let Ok(ticket) = Ticket::parse(&t.ticket) else {
        return;
    };
    let abandons = rand::random::<f64>() < cfg.abandon_ratio;
    let give_up_after = rand::random_range(1..6u32);
    let mut state = t.state;
    let mut polls = 0;
    while state == TicketState::Waiting {
        let jitter = cfg.poll_interval.mul_f64(rand::random_range(0.8..1.2));
        if sleep_or_stop(jitter, &mut stop).await {
            return;
        }
        polls += 1;
        if abandons && polls >= give_up_after {
            c.abandoned.fetch_add(1, Ordering::Relaxed);
            return; // stops polling, like a closed tab: the queue drops it after its window
        }
        match engine.status(&scope, &ticket).await {
            Ok(s) => state = s.state,
            Err(e) => return fail(e),
        }
    }
    if state != TicketState::Admitted {
        return;
    }
    c.admitted.fetch_add(1, Ordering::Relaxed);
    let think = rand::random_range(
        cfg.think.0.as_millis() as u64..=cfg.think.1.as_millis().max(cfg.think.0.as_millis()) as u64,
    );
    if sleep_or_stop(Duration::from_millis(think), &mut stop).await {
        return;
    }
    let mut held = false;
    for _ in 0..4 {
        match engine.hold(&scope, &ticket, &random_seats(&map, rand::random_range(1..=4))).await {
            Ok(_) => {
                held = true;
                break;
            }
            Err(Error::SeatsTaken(_)) => {
                c.seat_conflicts.fetch_add(1, Ordering::Relaxed);
            }
            Err(Error::NoSession(_)) | Err(Error::QueueClosed(_)) => return,
            Err(e) => return fail(e),
        }
    }
    let result = if held && rand::random::<f64>() < cfg.complete_ratio {
        engine.complete(&scope, &ticket).await.map(|_| c.completed.fetch_add(1, Ordering::Relaxed))
    } else {
        engine.leave(&scope, &ticket).await.map(|_| c.left.fetch_add(1, Ordering::Relaxed))
    };
    match result {
        Ok(_) | Err(Error::NoSession(_)) | Err(Error::QueueClosed(_)) => {}
        Err(e) => fail(e),
    }
}
