//! The embedded migrations: idempotent, and never edited once they landed.

use auth_store_sqlite::{MIGRATOR, SqliteStoreOptions};
use sqlx::sqlite::SqlitePoolOptions;

/// SHA-384 of every migration that has landed. A migration that has been applied
/// somewhere must never change (sqlx refuses to start on a database where it did): add a
/// new numbered file instead, and its checksum here.
const LANDED: &[(i64, &str)] = &[(
    1,
    "53b961c0294f4762c4f986b96d39c53e64c9d5262029e996c9f49b3da0fddff8638e17e765060fe55b02fa98375bceab",
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

/// What the migrations left: the migration log and the whole schema.
async fn snapshot(pool: &sqlx::SqlitePool) -> Vec<String> {
    let mut out: Vec<String> = sqlx::query_scalar(
        "SELECT version || ' ' || hex(checksum) || ' ' || installed_on \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("reading the migration log: {e}"));
    let schema: Vec<String> = sqlx::query_scalar(
        "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("reading the schema: {e}"));
    out.extend(schema);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn migrating_twice_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"));
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let options = SqliteStoreOptions::new()
        .connect_options(&url)
        .unwrap_or_else(|e| panic!("options for {url}: {e:?}"));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"));

    if let Err(e) = MIGRATOR.run(&pool).await {
        panic!("first migration of an empty database: {e}");
    }
    let first = snapshot(&pool).await;
    assert_eq!(
        first
            .iter()
            .filter(|l| !l.starts_with("table") && !l.starts_with("index"))
            .count(),
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
        snapshot(&pool).await,
        "the second run changed something"
    );
}
