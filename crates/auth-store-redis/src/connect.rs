//! Opening connections from a URL, with explicit timeouts, and the eviction-policy check.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
use redis::{Client, Value};

use crate::error::StoreError;
use crate::store::Conn;

/// How [`RedisStore::connect_with`](crate::RedisStore::connect_with) connects.
///
/// ```
/// use std::time::Duration;
/// use auth_store_redis::{ConnectOptions, EvictionPolicyCheck};
///
/// let options = ConnectOptions::new()
///     .connect_timeout(Duration::from_secs(2))
///     .response_timeout(Duration::from_millis(500))
///     .eviction_policy(EvictionPolicyCheck::Refuse);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    connect_timeout: Duration,
    response_timeout: Duration,
    eviction_policy: EvictionPolicyCheck,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(2),
            eviction_policy: EvictionPolicyCheck::Warn,
        }
    }
}

impl ConnectOptions {
    /// Defaults: 5 s to connect, 2 s for each response, warn on an evicting policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long one attempt to open a connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a request may wait for its reply before it fails as
    /// [`Error::Unavailable`](auth_core::Error::Unavailable). The request may still have
    /// been applied: see the crate docs.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// What to do when the server may evict keys that have a TTL.
    pub fn eviction_policy(mut self, check: EvictionPolicyCheck) -> Self {
        self.eviction_policy = check;
        self
    }

    pub(crate) fn eviction_policy_check(&self) -> EvictionPolicyCheck {
        self.eviction_policy
    }
}

/// What to do at connect time when `maxmemory-policy` lets Redis evict keys with a TTL
/// (`allkeys-*`, `volatile-*`). Every record of this store has a TTL, and evicting a
/// family record would make its tokens unknown rather than revoked; evicting a subject's
/// records logs the subject out. `noeviction` makes a full Redis refuse writes instead
/// ([`Error::Unavailable`](auth_core::Error::Unavailable)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EvictionPolicyCheck {
    /// Log a warning (`tracing::warn!`) and connect.
    #[default]
    Warn,
    /// Refuse to connect.
    Refuse,
}

/// A parsed store URL: the connection targets, without printing credentials.
pub(crate) enum Target {
    Standalone(String),
    Cluster(Vec<String>),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Standalone(_) => f.write_str("Standalone(<redacted>)"),
            Target::Cluster(nodes) => write!(f, "Cluster({} nodes, <redacted>)", nodes.len()),
        }
    }
}

impl Target {
    /// `redis://[user:pass@]HOST:PORT[/DB]` (also `rediss://`, `redis+unix://`, passed to
    /// the driver as is) or `redis-cluster://[user:pass@]HOST:PORT[,HOST:PORT...]`.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(rest) = url.strip_prefix("redis-cluster://") {
            let (userinfo, hosts) = match rest.rsplit_once('@') {
                Some((userinfo, hosts)) => (Some(userinfo), hosts),
                None => (None, rest),
            };
            let hosts = hosts.trim_end_matches('/');
            if hosts.contains(['/', '?', '#']) {
                return Err(StoreError::Url(
                    "a redis-cluster URL names nodes only (no database, path or query)",
                ));
            }
            let nodes: Vec<String> = hosts
                .split(',')
                .map(|node| match userinfo {
                    Some(userinfo) => format!("redis://{userinfo}@{node}"),
                    None => format!("redis://{node}"),
                })
                .collect();
            if hosts.split(',').any(str::is_empty) {
                return Err(StoreError::Url("empty node in redis-cluster URL"));
            }
            return Ok(Target::Cluster(nodes));
        }
        if ["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Ok(Target::Standalone(url.to_owned()));
        }
        Err(StoreError::Url(
            "expected redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT[,HOST:PORT...]",
        ))
    }
}

pub(crate) async fn standalone(
    url: &str,
    options: &ConnectOptions,
) -> Result<ConnectionManager, StoreError> {
    let client = Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.response_timeout))
        // A request waits for a reconnection in progress, including all its retries, and
        // the response timeout does not cover that wait: with the default six retries a
        // request during an outage took over 5 s. One retry bounds the wait to about two
        // connect timeouts; the next request starts a new reconnection anyway.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    Ok(ConnectionManager::new_with_config(client, config).await?)
}

pub(crate) async fn cluster(
    nodes: &[String],
    options: &ConnectOptions,
) -> Result<ClusterConnection, StoreError> {
    let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .connection_timeout(options.connect_timeout)
        .response_timeout(options.response_timeout)
        .build()?;
    Ok(client.get_async_connection().await?)
}

/// Sends `cmd` to the server, or to every primary of a cluster.
async fn ask_every_primary(conn: &mut Conn, cmd: redis::Cmd) -> redis::RedisResult<Value> {
    match conn {
        Conn::Standalone(c) => cmd.query_async::<Value>(c).await,
        Conn::Cluster(c) => {
            c.route_command(
                cmd,
                RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
            )
            .await
        }
    }
}

/// The scripts use `PEXPIRE ... GT` (Redis 7.0): refuse an older server at once
/// rather than fail every rotation later. A server that hides `INFO` is given the benefit
/// of the doubt, with a warning.
pub(crate) async fn check_version(conn: &mut Conn) -> Result<(), StoreError> {
    let mut cmd = redis::cmd("INFO");
    cmd.arg("server");
    let reply = match ask_every_primary(conn, cmd).await {
        Ok(reply) => reply,
        Err(e) if e.is_io_error() || e.is_timeout() => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the Redis version; 7.0 or later is required");
            return Ok(());
        }
    };
    let mut texts = Vec::new();
    strings(&reply, &mut texts);
    match too_old(&texts) {
        Some(version) => Err(StoreError::ServerTooOld(version)),
        None => Ok(()),
    }
}

/// The first `redis_version` older than 7 in `INFO server` texts.
fn too_old(texts: &[String]) -> Option<String> {
    texts
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|line| line.trim().strip_prefix("redis_version:"))
        .find(|version| {
            let major = version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok());
            major.is_some_and(|m| m < 7)
        })
        .map(str::to_owned)
}

/// Reads `maxmemory-policy` (from every primary of a cluster) and warns or refuses if keys
/// with a TTL may be evicted. A server that forbids `CONFIG` (managed services often do)
/// gets a warning that the policy could not be checked.
pub(crate) async fn check_eviction_policy(
    conn: &mut Conn,
    check: EvictionPolicyCheck,
) -> Result<(), StoreError> {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET").arg("maxmemory-policy");
    let reply = match ask_every_primary(conn, cmd).await {
        Ok(reply) => reply,
        Err(e) if e.is_io_error() || e.is_timeout() => return Err(e.into()),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "could not read Redis maxmemory-policy; make sure it is noeviction, or evicted \
                 family records may resurrect revoked tokens"
            );
            return Ok(());
        }
    };
    let mut words = Vec::new();
    strings(&reply, &mut words);
    if let Some(policy) = words
        .into_iter()
        .find(|w| w.starts_with("allkeys-") || w.starts_with("volatile-"))
    {
        match check {
            EvictionPolicyCheck::Refuse => return Err(StoreError::EvictingPolicy(policy)),
            EvictionPolicyCheck::Warn => tracing::warn!(
                maxmemory_policy = %policy,
                "Redis may evict token store records: an evicted family record makes its \
                 tokens unknown and a revocation may be lost; set maxmemory-policy noeviction"
            ),
        }
    }
    Ok(())
}

/// Every string in a reply of any shape (a cluster answers with one entry per node).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => out.push(s.clone()),
        Value::Array(items) | Value::Set(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes() {
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/3"),
            Ok(Target::Standalone(u)) if u == "redis://127.0.0.1:6379/3"
        ));
        let Ok(Target::Cluster(nodes)) = Target::parse("redis-cluster://a:1,b:2") else {
            panic!("cluster URL not parsed");
        };
        assert_eq!(nodes, ["redis://a:1", "redis://b:2"]);
        let Ok(Target::Cluster(nodes)) = Target::parse("redis-cluster://u:p@a:1,b:2/") else {
            panic!("cluster URL with credentials not parsed");
        };
        assert_eq!(nodes, ["redis://u:p@a:1", "redis://u:p@b:2"]);
    }

    #[test]
    fn finds_a_server_older_than_7() {
        let info = |v: &str| format!("# Server\r\nredis_version:{v}\r\nredis_mode:cluster\r\n");
        assert_eq!(too_old(&[info("7.0.15"), info("8.2.1")]), None);
        assert_eq!(
            too_old(&[info("7.0.15"), info("6.2.14")]),
            Some("6.2.14".into())
        );
        assert_eq!(too_old(&["no version here".into()]), None);
    }

    #[test]
    fn rejects_other_urls_without_echoing_them() {
        for url in [
            "postgres://x",
            "redis-cluster://a:1,,b:2",
            "redis-cluster://a:1/0",
            "x",
        ] {
            assert!(
                matches!(Target::parse(url), Err(StoreError::Url(_))),
                "{url}"
            );
        }
        let debug = format!("{:?}", Target::parse("redis://:secret@h:1"));
        assert!(!debug.contains("secret"), "{debug}");
    }
}
