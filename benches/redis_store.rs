//! What the Redis store's operations cost, beside the round trips they cannot avoid.
//!
//! `cargo bench --features redis --bench redis_store`, against the standalone server
//! (`AUTH_TEST_REDIS_URL`, default redis://127.0.0.1:6379) and the cluster
//! (`AUTH_TEST_REDIS_CLUSTER_URL`, default 127.0.0.1:7101-7103); `source
//! scripts/services/redis.sh` starts both. Criterion times insert, rotate and revoke and two
//! floors on a separate raw connection of the same kind: a raw `PING` and a no-op `EVALSHA`
//! (`return 1`, one key). Then a ratio table from interleaved rounds (machine noise hits
//! operation and floor alike), and rotations per second with 64 concurrent tasks over
//! distinct tokens beside no-op `EVALSHA`s per second under the same load. An unreachable
//! backend is reported and skipped; the other still runs.

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::{Family, FamilyId, NewToken, RevokeReason, Rotation, TokenId, TokenStore};
use auth_store_redis::redis::aio::ConnectionManager;
use auth_store_redis::redis::cluster::ClusterClient;
use auth_store_redis::redis::cluster_async::ClusterConnection;
use auth_store_redis::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use auth_store_redis::redis::{self, Script};
use auth_store_redis::{ConnectOptions, RedisStore};
use criterion::{BatchSize, Criterion};
use tokio::runtime::Runtime;

const TASKS: usize = 64;

/// A raw connection of the same kind as the store's, for the floors.
#[derive(Clone)]
enum Raw {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Raw {
    async fn ping(&self) {
        let cmd = redis::cmd("PING");
        let reply: redis::RedisResult<redis::Value> = match self.clone() {
            Raw::Standalone(mut c) => cmd.query_async(&mut c).await,
            // A keyless PING would go to every primary; one node is the floor.
            Raw::Cluster(mut c) => {
                c.route_command(
                    cmd,
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
                )
                .await
            }
        };
        black_box(reply.expect("PING"));
    }

    /// `return 1` with one key, so a cluster routes it like the store's scripts.
    async fn noop(&self, script: &Script, key: &str) {
        let invocation = script.key(key);
        let reply: redis::RedisResult<i64> = match self.clone() {
            Raw::Standalone(mut c) => invocation.invoke_async(&mut c).await,
            Raw::Cluster(mut c) => invocation.invoke_async(&mut c).await,
        };
        black_box(reply.expect("EVALSHA"));
    }
}

struct Backend {
    name: &'static str,
    rt: Runtime,
    store: Arc<RedisStore>,
    raw: Raw,
    noop: Arc<Script>,
    /// The no-op script's key.
    key: String,
    /// The live token of the rotation chain.
    chain: RefCell<TokenId>,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn new_token(at: OffsetDateTime) -> NewToken {
    NewToken {
        id: TokenId::random(),
        issued_at: at,
        expires_at: at + Duration::minutes(15),
    }
}

async fn login(store: &RedisStore, subject: &str) -> (FamilyId, TokenId) {
    let at = now();
    let family = Family {
        id: FamilyId::random(),
        subject: subject.to_owned(),
        long_term: false,
        created_at: at,
        revoked: None,
    };
    let first = new_token(at);
    store
        .insert_family(&family, &first)
        .await
        .expect("insert_family");
    (family.id, first.id)
}

const SUBJECT: &str = "bench-user@example.com";

impl Backend {
    fn connect(name: &'static str, url: &str) -> Option<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let options = ConnectOptions::new().connect_timeout(StdDuration::from_secs(2));
        let prefix = format!("bench:{}:", TokenId::random());
        let connected = rt.block_on(async {
            let store = RedisStore::connect_with(url, options).await?;
            let raw = match url.strip_prefix("redis-cluster://") {
                Some(nodes) => {
                    let nodes: Vec<String> =
                        nodes.split(',').map(|n| format!("redis://{n}")).collect();
                    let client = ClusterClient::new(nodes).map_err(backend)?;
                    Raw::Cluster(client.get_async_connection().await.map_err(backend)?)
                }
                None => {
                    let client = redis::Client::open(url).map_err(backend)?;
                    Raw::Standalone(ConnectionManager::new(client).await.map_err(backend)?)
                }
            };
            Ok::<_, auth_core::Error>((store, raw))
        });
        let (store, raw) = match connected {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "redis_store bench: {name} Redis at {url} is unreachable ({e}): skipped. \
                     Start it with `source scripts/services/redis.sh`."
                );
                return None;
            }
        };
        let store = Arc::new(
            store
                .with_key_prefix(&prefix)
                .with_retention(Duration::seconds(30)),
        );
        let (_, first) = rt.block_on(login(&store, SUBJECT));
        let key = format!("{prefix}noop");
        Some(Backend {
            name,
            rt,
            store,
            raw,
            noop: Arc::new(Script::new("return 1")),
            key,
            chain: RefCell::new(first),
        })
    }

    fn ping(&self) {
        self.rt.block_on(self.raw.ping());
    }

    fn noop(&self) {
        self.rt.block_on(self.raw.noop(&self.noop, &self.key));
    }

    fn insert(&self) {
        black_box(self.rt.block_on(login(&self.store, SUBJECT)));
    }

    fn rotate(&self) {
        let old = *self.chain.borrow();
        let new = new_token(now());
        let r = self
            .rt
            .block_on(self.store.rotate(SUBJECT, old, &new, now()))
            .expect("rotate");
        assert!(matches!(r, Rotation::Rotated { .. }), "{r:?}");
        *self.chain.borrow_mut() = new.id;
    }

    fn fresh_family(&self) -> FamilyId {
        self.rt.block_on(login(&self.store, SUBJECT)).0
    }

    fn revoke(&self, family: FamilyId) {
        let n = self
            .rt
            .block_on(
                self.store
                    .revoke_family(SUBJECT, family, RevokeReason::Logout, now()),
            )
            .expect("revoke_family");
        assert_eq!(n, 1);
    }
}

fn backend(e: redis::RedisError) -> auth_core::Error {
    auth_core::Error::Backend {
        backend: "redis",
        source: Box::new(e),
    }
}

fn criterion_benches(c: &mut Criterion, backends: &[Backend]) {
    for b in backends {
        let mut g = c.benchmark_group(format!("redis {}", b.name));
        g.bench_function("floor: PING", |x| x.iter(|| b.ping()));
        g.bench_function("floor: no-op EVALSHA", |x| x.iter(|| b.noop()));
        g.bench_function("insert_family", |x| x.iter(|| b.insert()));
        g.bench_function("rotate", |x| x.iter(|| b.rotate()));
        g.bench_function("revoke_family", |x| {
            x.iter_batched(|| b.fresh_family(), |f| b.revoke(f), BatchSize::SmallInput)
        });
        g.finish();
    }
}

/// Median per-call time of each operation, measured in alternating rounds.
fn interleaved(b: &Backend, budget: StdDuration) -> [(&'static str, StdDuration); 5] {
    const PER_ROUND: u32 = 50;
    let mut samples: [Vec<StdDuration>; 5] = Default::default();
    let start = Instant::now();
    while start.elapsed() < budget || samples[0].len() < 15 {
        let families: Vec<FamilyId> = (0..PER_ROUND).map(|_| b.fresh_family()).collect();
        let time = |f: &dyn Fn()| {
            let t = Instant::now();
            for _ in 0..PER_ROUND {
                f();
            }
            t.elapsed() / PER_ROUND
        };
        samples[0].push(time(&|| b.ping()));
        samples[1].push(time(&|| b.noop()));
        samples[2].push(time(&|| b.insert()));
        samples[3].push(time(&|| b.rotate()));
        let t = Instant::now();
        for f in families {
            b.revoke(f);
        }
        samples[4].push(t.elapsed() / PER_ROUND);
    }
    let names = [
        "PING",
        "no-op EVALSHA",
        "insert_family",
        "rotate",
        "revoke_family",
    ];
    let mut out = [("", StdDuration::ZERO); 5];
    for (i, s) in samples.iter_mut().enumerate() {
        s.sort();
        out[i] = (names[i], s[s.len() / 2]);
    }
    out
}

fn ratio_table(backends: &[Backend], budget: StdDuration) {
    println!(
        "\n{:<10} {:<14} {:>10} {:>10} {:>14}",
        "backend", "operation", "time", "/ PING", "/ no-op EVAL"
    );
    for b in backends {
        let rows = interleaved(b, budget);
        let (ping, noop) = (rows[0].1.as_secs_f64(), rows[1].1.as_secs_f64());
        for (name, t) in rows {
            let t = t.as_secs_f64();
            println!(
                "{:<10} {:<14} {:>8.1}µs {:>9.2}x {:>13.2}x",
                b.name,
                name,
                t * 1e6,
                t / ping,
                t / noop
            );
        }
    }
}

/// Operations per second with `TASKS` tasks, each calling `op(task)` in a loop.
fn throughput<F, Fut>(b: &Backend, duration: StdDuration, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    b.rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..TASKS {
            let (op, stop, done) = (op.clone(), stop.clone(), done.clone());
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    op(task).await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let start = Instant::now();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let counted = done.load(Ordering::Relaxed);
        while let Some(r) = tasks.join_next().await {
            r.expect("bench task");
        }
        counted as f64 / start.elapsed().as_secs_f64()
    })
}

fn concurrency_table(backends: &[Backend], duration: StdDuration) {
    println!(
        "\n{:<10} {:>22} {:>22} {:>7}",
        "backend",
        format!("rotations/s ({TASKS} tasks)"),
        format!("no-op EVALSHA/s"),
        "ratio"
    );
    for b in backends {
        // One chain per task, each under its own subject: distinct tokens, spread over slots.
        let chains: Vec<_> = (0..TASKS)
            .map(|i| {
                let subject = format!("bench-user-{i}");
                let (_, first) = b.rt.block_on(login(&b.store, &subject));
                Arc::new(std::sync::Mutex::new((subject, first)))
            })
            .collect();
        let store = b.store.clone();
        let rotations = throughput(b, duration, move |task| {
            let (store, chain) = (store.clone(), chains[task].clone());
            async move {
                let (subject, old) = chain.lock().expect("chain").clone();
                let new = new_token(now());
                let r = store
                    .rotate(&subject, old, &new, now())
                    .await
                    .expect("rotate");
                assert!(matches!(r, Rotation::Rotated { .. }), "{r:?}");
                chain.lock().expect("chain").1 = new.id;
            }
        });
        // One key per task, so a cluster spreads the no-ops over its nodes as it does the
        // rotations.
        let (raw, noop) = (b.raw.clone(), b.noop.clone());
        let keys: Vec<String> = (0..TASKS).map(|i| format!("{}-{i}", b.key)).collect();
        let floor = throughput(b, duration, move |task| {
            let (raw, noop, key) = (raw.clone(), noop.clone(), keys[task].clone());
            async move { raw.noop(&noop, &key).await }
        });
        println!(
            "{:<10} {:>22.0} {:>22.0} {:>6.2}x",
            b.name,
            rotations,
            floor,
            floor / rotations
        );
    }
}

fn main() {
    let standalone =
        std::env::var("AUTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let cluster = std::env::var("AUTH_TEST_REDIS_CLUSTER_URL")
        .unwrap_or_else(|_| "redis-cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103".into());
    let backends: Vec<Backend> = [("standalone", standalone), ("cluster", cluster)]
        .into_iter()
        .filter_map(|(name, url)| Backend::connect(name, &url))
        .collect();
    let mut c = Criterion::default().configure_from_args();
    // `cargo test --benches` runs each bench once to prove it works; skip the tables then.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    criterion_benches(&mut c, &backends);
    c.final_summary();
    if !quick && !backends.is_empty() {
        ratio_table(&backends, StdDuration::from_secs(3));
        concurrency_table(&backends, StdDuration::from_secs(3));
    }
}
