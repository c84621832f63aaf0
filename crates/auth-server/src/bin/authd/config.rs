//! Settings of `authd serve`: flag > `AUTHD_*` variable > `--config` file > default.
//! (clap resolves the first two; this module folds in the file and the defaults.)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_tokens::Algorithm;
use serde::Deserialize;

use crate::cli::ServeArgs;

/// The resolved settings. No `Debug`: the store URL may hold a password.
pub(crate) struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) store: String,
    pub(crate) key: PathBuf,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) verify_keys: Vec<PathBuf>,
    pub(crate) users: PathBuf,
    pub(crate) access_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) long_refresh_ttl: Duration,
    pub(crate) reuse_grace: Duration,
    pub(crate) leeway: Duration,
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) store_retry: Duration,
    pub(crate) purge_interval: Duration,
    pub(crate) password_workers: usize,
}

/// The `--config` file: the same names as the flags, durations as humantime strings.
#[derive(Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    store: Option<String>,
    key: Option<PathBuf>,
    alg: Option<String>,
    verify_key: Option<Vec<PathBuf>>,
    users: Option<PathBuf>,
    access_ttl: Option<String>,
    refresh_ttl: Option<String>,
    long_refresh_ttl: Option<String>,
    reuse_grace: Option<String>,
    leeway: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    store_retry: Option<String>,
    purge_interval: Option<String>,
    password_workers: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {} is not valid", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("config file: {key} = {value:?} is not a duration (try \"15m\", \"900s\")")]
    Duration {
        key: &'static str,
        value: String,
        #[source]
        source: humantime::DurationError,
    },
    #[error("config file: alg = {0:?}: expected RS256, RS384, RS512, ES256 or EdDSA")]
    Alg(String),
    #[error("--tls-cert and --tls-key go together")]
    TlsHalf,
    #[error("{0} must be at least one second")]
    TooShort(&'static str),
}

impl Settings {
    pub(crate) fn resolve(args: ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => read(path)?,
            None => FileConfig::default(),
        };
        let dur = |flag: Option<humantime::Duration>,
                   key: &'static str,
                   value: Option<String>,
                   default: Duration|
         -> Result<Duration, ConfigError> {
            if let Some(d) = flag {
                return Ok(d.into());
            }
            match value {
                Some(value) => humantime::parse_duration(&value)
                    .map_err(|source| ConfigError::Duration { key, value, source }),
                None => Ok(default),
            }
        };
        let alg = match (args.alg, file.alg) {
            (Some(a), _) => Some(a),
            (None, Some(s)) => Some(s.parse().map_err(|_| ConfigError::Alg(s))?),
            (None, None) => None,
        };
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err(ConfigError::TlsHalf),
        };
        let verify_keys = if args.verify_key.is_empty() {
            file.verify_key.unwrap_or_default()
        } else {
            args.verify_key
        };
        let settings = Settings {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 13140))),
            store: args
                .store
                .or(file.store)
                .unwrap_or_else(|| "sqlite://authd.db".to_owned()),
            key: args
                .key
                .or(file.key)
                .unwrap_or_else(|| "authd-key.pem".into()),
            alg,
            verify_keys,
            users: args
                .users
                .or(file.users)
                .unwrap_or_else(|| "authd-users.toml".into()),
            access_ttl: dur(
                args.access_ttl,
                "access-ttl",
                file.access_ttl,
                Duration::from_secs(15 * 60),
            )?,
            refresh_ttl: dur(
                args.refresh_ttl,
                "refresh-ttl",
                file.refresh_ttl,
                Duration::from_secs(75 * 60),
            )?,
            long_refresh_ttl: dur(
                args.long_refresh_ttl,
                "long-refresh-ttl",
                file.long_refresh_ttl,
                Duration::from_secs(14 * 24 * 3600),
            )?,
            reuse_grace: dur(
                args.reuse_grace,
                "reuse-grace",
                file.reuse_grace,
                Duration::ZERO,
            )?,
            leeway: dur(args.leeway, "leeway", file.leeway, Duration::from_secs(5))?,
            tls,
            store_retry: dur(
                args.store_retry,
                "store-retry",
                file.store_retry,
                Duration::from_secs(30),
            )?,
            purge_interval: dur(
                args.purge_interval,
                "purge-interval",
                file.purge_interval,
                Duration::from_secs(3600),
            )?,
            password_workers: args
                .password_workers
                .or(file.password_workers)
                .unwrap_or_else(default_workers),
        };
        for (name, d) in [
            ("--access-ttl", settings.access_ttl),
            ("--refresh-ttl", settings.refresh_ttl),
            ("--long-refresh-ttl", settings.long_refresh_ttl),
        ] {
            if d < Duration::from_secs(1) {
                return Err(ConfigError::TooShort(name));
            }
        }
        Ok(settings)
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() / 2)
        .unwrap_or(1)
        .max(1)
}

fn read(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}
