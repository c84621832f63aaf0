//! The embedded migrations: idempotent, and never edited once they landed.

mod common;

use auth_store_postgres::{MIGRATOR, PostgresStoreOptions};
use sqlx::Executor;
use sqlx::postgres::PgPoolOptions;

/// SHA-384 of every migration that has landed. A migration that has been applied
/// somewhere must never change (sqlx refuses to start on a database where it did): add a
/// new numbered file instead, and its checksum here.
const LANDED: &[(i64, &str)] = &[(
    1,
    "504dfb20a23b259c27aa2f27a495d6b33cba7f8f4fe605ac4e5a048b86695e0af1e82ff89703355d2e0715410ac01670",
)];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn landed_migrations_are_unchanged() {
    let embedded: Vec<(i64, String)> = MIGRATOR
        .iter()
        .map(|m| (m.version, hex(&m.checksum)))
        .collect();
    for (version, checksum) in LANDED {
        let Some((_, now)) = embedded.iter().find(|(v, _)| v == version) else {
            panic!("migration {version} was removed; landed migrations stay");
        };
        assert_eq!(
            now, checksum,
            "migration {version} was edited after it landed; add a new migration instead"
        );
    }
    assert_eq!(
        embedded.len(),
        LANDED.len(),
        "a new migration needs its checksum in LANDED: {embedded:?}"
    );
}

/// What the migrations left in `schema`: the migration log and every table and index.
async fn snapshot(pool: &sqlx::PgPool, schema: &str) -> Vec<String> {
    let mut out: Vec<String> = sqlx::query_scalar(
        "SELECT version::text || ' ' || encode(checksum, 'hex') || ' ' || installed_on::text \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("reading the migration log: {e}"));
    let defs: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("reading the indexes: {e}"));
    out.extend(defs);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn migrating_twice_is_a_no_op() {
    let schema = common::fresh_schema();
    let url = common::url();
    let options = match PostgresStoreOptions::new()
        .with_schema(&schema)
        .connect_options(&url)
    {
        Ok(options) => options,
        Err(e) => panic!("options for {url}: {e:?}"),
    };
    let pool = match PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
    {
        Ok(pool) => pool,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {url}: {e}; run scripts/test.sh, which starts it"
        ),
    };
    let create = format!("CREATE SCHEMA {schema}");
    if let Err(e) = pool.execute(sqlx::AssertSqlSafe(create)).await {
        panic!("creating schema {schema}: {e}");
    }

    if let Err(e) = MIGRATOR.run(&pool).await {
        panic!("first migration of an empty schema: {e}");
    }
    let first = snapshot(&pool, &schema).await;
    assert_eq!(
        first.iter().filter(|l| !l.starts_with("CREATE")).count(),
        MIGRATOR.iter().count(),
        "every embedded migration is logged once: {first:#?}"
    );
    assert!(
        first
            .iter()
            .any(|l| l.contains("auth_refresh_tokens_one_child_per_parent")),
        "the migrations created the tables: {first:#?}"
    );

    if let Err(e) = MIGRATOR.run(&pool).await {
        panic!("second migration: {e}");
    }
    assert_eq!(
        first,
        snapshot(&pool, &schema).await,
        "the second run changed something"
    );
}
