//! Test harness shared by the engine and cluster tests: a real redis-server per test on a free port (its
//! log is printed when the test fails), and builders for shows.
#![allow(dead_code)]

use seatwise_engine::local::{RedisCluster, RedisServer, ServerOptions};
use seatwise_engine::{Actor, ConnectOptions, Engine, QueueStats, Redis, SchedId, Scope, ShowId, Target};
use seatwise_engine::{Schedule, Show, ShowStatus};

/// Which transport a suite runs the engine over (each test binary sets `crate::TRANSPORT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The Redis protocol, straight to the redis-server.
    Native,
    /// Upstash's REST API, through the REST stand-in in front of the same kind of redis-server.
    Rest,
}

pub const REST_TOKEN: &str = "test-rest-token-not-real";

pub mod pki;

pub struct TestRedis {
    pub server: RedisServer,
    pub engine: Engine,
    /// How another client (a second console) reaches the same data.
    pub target: Target,
    pub rest: Option<seatwise_upstash_standin::UpstashStandIn>,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- redis-server log (port {}) ---\n{}", self.server.port(), self.server.log_tail(30));
        }
    }
}

fn no_server(e: impl std::fmt::Display) -> ! {
    panic!(
        "the tests need a real redis-server and could not start one: {e}\nInstall it with scripts/setup.sh (apt-get install redis-server)."
    )
}

pub async fn start() -> TestRedis {
    let server = RedisServer::start(&ServerOptions::default()).unwrap_or_else(|e| no_server(e));
    let (target, rest) = match crate::TRANSPORT {
        Transport::Native => (Target::Url(server.url()), None),
        Transport::Rest => {
            let standin = seatwise_upstash_standin::UpstashStandIn::start(&server.url(), REST_TOKEN).await;
            (Target::Rest { url: standin.url(), token: REST_TOKEN.into() }, Some(standin))
        }
    };
    let redis = Redis::connect(&ConnectOptions::new(target.clone())).await.expect("connect to the test server");
    TestRedis { server, engine: Engine::new(redis), target, rest }
}

pub struct TestCluster {
    pub cluster: RedisCluster,
    pub engine: Engine,
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for n in &self.cluster.nodes {
                eprintln!("--- cluster node {} log ---\n{}", n.port(), n.log_tail(15));
            }
        }
    }
}

pub async fn start_cluster() -> TestCluster {
    let cluster = RedisCluster::start(3).unwrap_or_else(|e| no_server(e));
    let redis = Redis::connect(&ConnectOptions::new(Target::Cluster(cluster.urls())))
        .await
        .expect("connect to the test cluster");
    TestCluster { cluster, engine: Engine::new(redis) }
}

pub fn actor() -> Actor {
    Actor::new("tester", "test-host")
}

/// A show with `n` schedules d1..dn, each with the given capacity and windows (seconds).
pub fn show(id: &str, n: usize, capacity: u32, session_s: f64, abandon_s: f64) -> Show {
    let schedules = (1..=n)
        .map(|i| {
            let start = format!("2026-03-{:02}T19:30", (i % 28) + 1);
            Schedule {
                session_seconds: Some(session_s),
                abandon_seconds: Some(abandon_s),
                max_seats: Some(4),
                ..Schedule::new(SchedId::new(&format!("d{i}")).unwrap(), &start, "Europe/London", capacity)
            }
        })
        .collect();
    Show { name: format!("Show {id}"), ..Show::draft(ShowId::new(id).unwrap(), "Globe", schedules) }
}

pub fn scope(show: &str, sched: &str) -> Scope {
    Scope::new(ShowId::new(show).unwrap(), SchedId::new(sched).unwrap())
}

/// Creates `show` and sets it OPEN. Windows shorter than a show may have (tests of expiry and abandonment
/// must not wait a minute) are set underneath, on the open queues' meta, after the show was created with
/// the shortest allowed ones.
pub async fn open_show(engine: &Engine, show: &Show) {
    use seatwise_engine::shows::{MIN_ABANDON_SECONDS, MIN_GRACE_SECONDS, MIN_SESSION_SECONDS};
    let mut allowed = show.clone();
    for s in &mut allowed.schedules {
        s.session_seconds = s.session_seconds.map(|v| v.max(MIN_SESSION_SECONDS));
        s.abandon_seconds = s.abandon_seconds.map(|v| v.max(MIN_ABANDON_SECONDS));
        s.grace_seconds = s.grace_seconds.map(|v| v.max(MIN_GRACE_SECONDS));
    }
    engine.create_show(&allowed, &actor()).await.expect("create show");
    let r = engine.update_show_status(&show.id, ShowStatus::Open, &actor(), None).await.expect("open show");
    assert!(r.success, "{r:?}");
    for s in &show.schedules {
        let meta = &seatwise_engine::keys::queue_keys(&scope(show.id.as_str(), s.id.as_str()))[0];
        let mut set = redis::cmd("HSET");
        set.arg(meta);
        if let Some(v) = s.session_seconds.filter(|v| *v < MIN_SESSION_SECONDS) {
            set.arg("session_ms").arg((v * 1000.0) as u64);
        }
        if let Some(v) = s.abandon_seconds.filter(|v| *v < MIN_ABANDON_SECONDS) {
            set.arg("abandon_ms").arg((v * 1000.0) as u64);
        }
        if let Some(v) = s.grace_seconds.filter(|v| *v < MIN_GRACE_SECONDS) {
            set.arg("grace_ms").arg((v * 1000.0) as u64);
        }
        if set.args_iter().count() > 2 {
            engine.redis().query::<i64>(&set).await.expect("short windows for the test");
        }
    }
}

/// One queue's figures (after its housekeeping).
pub async fn queue_stats(engine: &Engine, scope: &Scope) -> QueueStats {
    engine.queue_stats(std::slice::from_ref(scope)).await.expect("stats").remove(0).expect("stats of the queue")
}

/// `n` buyers (`buyer-0`…) join, 50 joins in flight at a time.
pub async fn fill_queue(e: &Engine, sc: &Scope, n: u32) {
    let mut set = tokio::task::JoinSet::new();
    for w in 0..50u32 {
        let (e, sc) = (e.clone(), sc.clone());
        set.spawn(async move {
            for i in (w..n).step_by(50) {
                e.join(&sc, &seatwise_engine::BuyerId::new(&format!("buyer-{i}")).unwrap()).await.unwrap();
            }
        });
    }
    while set.join_next().await.is_some() {}
}
