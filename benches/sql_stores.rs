//! What the SQL token stores cost, beside their floors measured in the same run.
//!
//! Per backend: a login (`insert_family`), a rotation, a family revocation, and the floor
//! they are judged against: a one-row durable INSERT transaction into a scratch table (and,
//! for PostgreSQL, a `SELECT 1` round trip). Then rotations per second with 64 concurrent
//! tasks, each rotating its own chain of tokens (criterion's "thrpt" line is rotations/s).
//!
//! The summary at the end gives each operation's time per call, and its ratio to the
//! INSERT floor from a separate run that interleaves one call of every kind, 500 times, and
//! compares medians: on a shared machine a separate run per operation would compare
//! different moments of the disk's and CPU's load. The target is a rotation at most 1.3x.
//!
//! SQLite runs on a file in a temporary folder (WAL, `synchronous=FULL`), PostgreSQL in a
//! fresh schema at `AUTH_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). A backend that cannot be reached is
//! reported as such in the output, never skipped silently.
//!
//! `cargo bench --bench sql_stores --features sqlite,postgres`

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::time::OffsetDateTime;
use auth_core::{DynTokenStore, Family, FamilyId, NewToken, RevokeReason, Rotation, TokenId};
use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;

/// Tasks rotating at once in the throughput run.
const TASKS: usize = 64;
/// The most a rotation may cost, as a multiple of the one-row durable INSERT.
const TARGET_RATIO: f64 = 1.3;
const SUBJECT: &str = "bench";

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// One floor operation, ready to run any number of times.
type Floor = Arc<dyn Fn() -> BoxFuture + Send + Sync>;

/// A backend under test: its store and its floors (the first one is the INSERT floor).
struct Backend {
    name: &'static str,
    store: DynTokenStore,
    floors: Vec<(&'static str, Floor)>,
}

/// Time per operation of every batch criterion ran (warm-up and samples), for the summary.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<(String, String), Vec<f64>>>);

impl Tally {
    fn add(&self, backend: &str, op: &str, elapsed: Duration, iters: u64) {
        if iters == 0 {
            return;
        }
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((backend.to_owned(), op.to_owned()))
            .or_default()
            .push(elapsed.as_secs_f64() / iters as f64);
    }

    /// The median batch's time per operation: robust against the cold first batches
    /// (statements being prepared, connections opened) and against a neighbour's burst on
    /// a shared machine.
    fn typical(&self, backend: &str, op: &str) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut per_op = map.get(&(backend.to_owned(), op.to_owned()))?.clone();
        per_op.sort_by(f64::total_cmp);
        per_op
            .get(per_op.len() / 2)
            .map(|secs| Duration::from_secs_f64(*secs))
    }
}

fn now() -> OffsetDateTime {
    auth_core::to_micros(OffsetDateTime::now_utc())
}

fn new_token(at: OffsetDateTime) -> NewToken {
    NewToken {
        id: TokenId::random(),
        issued_at: at,
        expires_at: at + auth_core::time::Duration::days(14),
    }
}

fn new_login(at: OffsetDateTime) -> (Family, NewToken) {
    let family = Family {
        id: FamilyId::random(),
        subject: SUBJECT.to_owned(),
        long_term: true,
        created_at: at,
        revoked: None,
    };
    (family, new_token(at))
}

async fn login(store: &DynTokenStore) -> (FamilyId, TokenId) {
    let (family, first) = new_login(now());
    if let Err(e) = store.insert_family(&family, &first).await {
        panic!("login failed: {e:?}");
    }
    (family.id, first.id)
}

/// Rotates `n` times along one chain starting at `token`; returns the chain's last token.
async fn rotate_chain(store: &DynTokenStore, mut token: TokenId, n: u64) -> TokenId {
    for _ in 0..n {
        let at = now();
        let next = new_token(at);
        match store.rotate(SUBJECT, token, &next, at).await {
            Ok(Rotation::Rotated { .. }) => token = next.id,
            other => panic!("rotation of a live token gave {other:?}"),
        }
    }
    token
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &Backend, tally: &Arc<Tally>) {
    let mut group = c.benchmark_group(backend.name);
    group.throughput(Throughput::Elements(1));

    for (op, floor) in &backend.floors {
        let (floor, tally, name) = (floor.clone(), tally.clone(), backend.name);
        group.bench_function(*op, |b| {
            b.to_async(rt).iter_custom(|iters| {
                let (floor, tally) = (floor.clone(), tally.clone());
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        floor().await;
                    }
                    let elapsed = start.elapsed();
                    tally.add(name, op, elapsed, iters);
                    elapsed
                }
            })
        });
    }

    let (store, tally_, name) = (backend.store.clone(), tally.clone(), backend.name);
    group.bench_function("login", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (store, tally) = (store.clone(), tally_.clone());
            async move {
                let logins: Vec<_> = (0..iters).map(|_| new_login(now())).collect();
                let start = Instant::now();
                for (family, first) in &logins {
                    if let Err(e) = store.insert_family(family, first).await {
                        panic!("login failed: {e:?}");
                    }
                }
                let elapsed = start.elapsed();
                tally.add(name, "login", elapsed, iters);
                elapsed
            }
        })
    });

    let (store, tally_) = (backend.store.clone(), tally.clone());
    group.bench_function("rotate", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (store, tally) = (store.clone(), tally_.clone());
            async move {
                let (_, first) = login(&store).await;
                let start = Instant::now();
                rotate_chain(&store, first, iters).await;
                let elapsed = start.elapsed();
                tally.add(name, "rotate", elapsed, iters);
                elapsed
            }
        })
    });

    let (store, tally_) = (backend.store.clone(), tally.clone());
    group.bench_function("revoke_family", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (store, tally) = (store.clone(), tally_.clone());
            async move {
                let mut families = Vec::new();
                for _ in 0..iters {
                    families.push(login(&store).await.0);
                }
                let start = Instant::now();
                for family in families {
                    match store
                        .revoke_family(SUBJECT, family, RevokeReason::Logout, now())
                        .await
                    {
                        Ok(1) => {}
                        other => panic!("revoking a live family gave {other:?}"),
                    }
                }
                let elapsed = start.elapsed();
                tally.add(name, "revoke_family", elapsed, iters);
                elapsed
            }
        })
    });

    let (store, tally_) = (backend.store.clone(), tally.clone());
    group.bench_function(format!("rotate_{TASKS}_tasks"), |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (store, tally) = (store.clone(), tally_.clone());
            async move {
                let mut chains = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    chains.push(login(&store).await.1);
                }
                let start = Instant::now();
                let mut tasks = tokio::task::JoinSet::new();
                for (i, first) in chains.into_iter().enumerate() {
                    // Spread `iters` rotations over the tasks.
                    let n = iters / TASKS as u64 + u64::from((i as u64) < iters % TASKS as u64);
                    let store = store.clone();
                    tasks.spawn(async move { rotate_chain(&store, first, n).await });
                }
                while let Some(done) = tasks.join_next().await {
                    if let Err(e) = done {
                        panic!("a rotating task failed: {e}");
                    }
                }
                let elapsed = start.elapsed();
                tally.add(name, "rotate_concurrent", elapsed, iters);
                elapsed
            }
        })
    });

    group.finish();
}

/// One operation of each kind in turn (floors, login, rotation, revocation), many times,
/// so a neighbour's burst on the shared disk or CPU hits the floor and the store alike.
/// Returns, per operation, its median latency and that over the INSERT floor's.
/// (Medians, because a WAL checkpoint or a neighbour's fsync storm lands on one call.)
async fn paired_ratios(backend: &Backend) -> Vec<(String, Duration, f64)> {
    const PAIRS: usize = 500;
    let store = &backend.store;
    let (_, mut chain) = login(store).await;
    let (mut previous, _) = login(store).await;
    let mut names: Vec<String> = backend
        .floors
        .iter()
        .map(|(op, _)| op.to_string())
        .collect();
    names.extend(["login", "rotate", "revoke_family"].map(str::to_owned));
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(PAIRS); names.len()];
    for i in 0..PAIRS {
        let (family, first) = new_login(now());
        // Start each round at a different operation, so none always follows the same one.
        for step in 0..names.len() {
            let k = (i + step) % names.len();
            let start = Instant::now();
            if let Some((_, floor)) = backend.floors.get(k) {
                floor().await;
            } else {
                match k - backend.floors.len() {
                    0 => {
                        if let Err(e) = store.insert_family(&family, &first).await {
                            panic!("login failed: {e:?}");
                        }
                    }
                    1 => chain = rotate_chain(store, chain, 1).await,
                    _ => match store
                        .revoke_family(SUBJECT, previous, RevokeReason::Logout, now())
                        .await
                    {
                        // The previous round's login: stored, and live until now.
                        Ok(1) => {}
                        other => panic!("revoking a live family gave {other:?}"),
                    },
                }
            }
            samples[k].push(start.elapsed().as_secs_f64());
        }
        previous = family.id;
    }
    let medians: Vec<f64> = samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect();
    names
        .into_iter()
        .zip(&medians)
        .map(|(name, m)| (name, Duration::from_secs_f64(*m), m / medians[0]))
        .collect()
}

fn summary(
    backends: &[Backend],
    unreachable: &[String],
    tally: &Tally,
    paired: &BTreeMap<&str, Vec<(String, Duration, f64)>>,
) {
    println!(
        "\n== sql_stores summary: time per operation (criterion runs, median batch) and its \
         ratio to the one-row durable INSERT (medians of interleaved calls) =="
    );
    for line in unreachable {
        println!("{line}");
    }
    for backend in backends {
        let name = backend.name;
        let ratios = paired.get(name).map(Vec::as_slice).unwrap_or_default();
        for (op, median, ratio) in ratios {
            let time = tally.typical(name, op).map_or("not run".to_owned(), |d| {
                format!("{:.1} µs", d.as_secs_f64() * 1e6)
            });
            println!(
                "{name:<9} {op:<14} criterion {time:>11}   interleaved {:>8.1} µs {ratio:>6.2}x",
                median.as_secs_f64() * 1e6
            );
        }
        if let Some((_, _, ratio)) = ratios.iter().find(|(op, _, _)| op == "rotate") {
            let verdict = if *ratio <= TARGET_RATIO {
                "met"
            } else {
                "MISSED"
            };
            println!(
                "{name:<9} rotation / INSERT floor = {ratio:.2}x (target <= {TARGET_RATIO}x: {verdict})"
            );
        }
        if let Some(per_rotation) = tally.typical(name, "rotate_concurrent") {
            println!(
                "{name:<9} {:.0} rotations/s with {TASKS} concurrent tasks over distinct tokens",
                1.0 / per_rotation.as_secs_f64()
            );
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use auth_store_sqlite::SqliteStore;
    use auth_store_sqlite::sqlx;

    /// The folder holding the benchmark's database, removed when dropped.
    pub(crate) struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The store on a fresh file, and the folder that holds it (kept for the whole run).
    pub(crate) async fn backend() -> Result<(Backend, TempDir), String> {
        let random = TokenId::random().as_uuid().simple().to_string();
        let dir = TempDir(std::env::temp_dir().join(format!("authd-bench-{random}")));
        std::fs::create_dir_all(&dir.0)
            .map_err(|e| format!("sqlite: cannot create {}: {e}", dir.0.display()))?;
        let url = format!("sqlite://{}", dir.0.join("bench.db").display());
        let store = SqliteStore::connect(&url)
            .await
            .map_err(|e| format!("sqlite: cannot open {url}: {e:?}"))?;
        let pool = store.pool().clone();
        sqlx::query("CREATE TABLE bench_floor (id BLOB PRIMARY KEY, v INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .map_err(|e| format!("sqlite: scratch table: {e}"))?;
        let insert: Floor = Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move {
                // Autocommit: one statement, one transaction, synced like the store's.
                let id = *TokenId::random().as_uuid().as_bytes();
                if let Err(e) = sqlx::query("INSERT INTO bench_floor (id, v) VALUES (?1, 1)")
                    .bind(id)
                    .execute(&pool)
                    .await
                {
                    panic!("sqlite floor insert: {e}");
                }
            })
        });
        let backend = Backend {
            name: "sqlite",
            store: Arc::new(store),
            floors: vec![("insert_floor", insert)],
        };
        Ok((backend, dir))
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use auth_store_postgres::sqlx;
    use auth_store_postgres::{PostgresStore, PostgresStoreOptions};

    pub(crate) fn url() -> String {
        std::env::var("AUTH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// The store in a fresh schema, and that schema's name (dropped at the end).
    pub(crate) async fn backend() -> Result<(Backend, String), String> {
        let url = url();
        let random = TokenId::random().as_uuid().simple().to_string();
        let schema = format!("authbench_{}", &random[..12]);
        let store: PostgresStore = PostgresStoreOptions::new()
            .with_schema(&schema)
            .with_application_name("auth-bench")
            .connect(&url)
            .await
            .map_err(|e| {
                format!(
                    "postgres: NOT MEASURED, cannot reach {url}: {e:?}; run scripts/test.sh \
                     (it starts PostgreSQL) or set AUTH_TEST_POSTGRES_URL"
                )
            })?;
        let pool = store.pool().clone();
        sqlx::query("CREATE TABLE bench_floor (id uuid PRIMARY KEY, v bigint NOT NULL)")
            .execute(&pool)
            .await
            .map_err(|e| format!("postgres: scratch table: {e}"))?;
        let insert_pool = pool.clone();
        let insert: Floor = Arc::new(move || {
            let pool = insert_pool.clone();
            Box::pin(async move {
                // Autocommit: one statement, one durable transaction.
                let id = *TokenId::random().as_uuid();
                if let Err(e) = sqlx::query("INSERT INTO bench_floor (id, v) VALUES ($1, 1)")
                    .bind(id)
                    .execute(&pool)
                    .await
                {
                    panic!("postgres floor insert: {e}");
                }
            })
        });
        let select: Floor = Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move {
                if let Err(e) = sqlx::query("SELECT 1").execute(&pool).await {
                    panic!("postgres SELECT 1: {e}");
                }
            })
        });
        let backend = Backend {
            name: "postgres",
            store: Arc::new(store),
            floors: vec![("insert_floor", insert), ("select_1", select)],
        };
        Ok((backend, schema))
    }

    pub(crate) async fn drop_schema(schema: &str) {
        if let Ok(pool) = sqlx::PgPool::connect(&url()).await {
            let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
        }
    }
}

// Which backends are pushed depends on the features compiled in.
#[allow(unused_mut, clippy::vec_init_then_push)]
fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let tally = Arc::new(Tally::default());
    let mut backends = Vec::new();
    let mut unreachable = Vec::new();

    #[cfg(feature = "sqlite")]
    let _sqlite_dir = match rt.block_on(sqlite::backend()) {
        Ok((backend, dir)) => {
            backends.push(backend);
            Some(dir)
        }
        Err(why) => {
            unreachable.push(why);
            None
        }
    };
    #[cfg(not(feature = "sqlite"))]
    unreachable.push("sqlite: NOT MEASURED, built without the `sqlite` feature".to_owned());

    #[cfg(feature = "postgres")]
    let pg_schema = match rt.block_on(postgres::backend()) {
        Ok((backend, schema)) => {
            backends.push(backend);
            Some(schema)
        }
        Err(why) => {
            unreachable.push(why);
            None
        }
    };
    #[cfg(not(feature = "postgres"))]
    unreachable.push("postgres: NOT MEASURED, built without the `postgres` feature".to_owned());

    for line in &unreachable {
        eprintln!("{line}");
    }
    for backend in &backends {
        bench_backend(&mut criterion, &rt, backend, &tally);
    }
    criterion.final_summary();
    let paired: BTreeMap<&str, Vec<(String, Duration, f64)>> = backends
        .iter()
        .map(|backend| (backend.name, rt.block_on(paired_ratios(backend))))
        .collect();
    summary(&backends, &unreachable, &tally, &paired);

    #[cfg(feature = "postgres")]
    if let Some(schema) = pg_schema {
        rt.block_on(postgres::drop_schema(&schema));
    }
}
