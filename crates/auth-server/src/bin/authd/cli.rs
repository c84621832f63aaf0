//! The command line: `authd [serve] [FLAGS]`, `authd user add NAME`. No `Debug` on these
//! types: the store URL may carry a password.

use std::net::SocketAddr;
use std::path::PathBuf;

use auth_tokens::Algorithm;
use clap::{Args, Parser, Subcommand};

/// authd: issues, rotates and revokes JWT access/refresh token pairs over HTTP.
#[derive(Parser)]
#[command(name = "authd", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Used when no subcommand is given, so `authd` alone serves with its defaults and the
/// `AUTHD_*` variables.
#[derive(Parser)]
#[command(name = "authd")]
pub(crate) struct ServeOnly {
    #[command(flatten)]
    pub(crate) args: ServeArgs,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the token endpoints (the default).
    Serve(Box<ServeArgs>),
    /// Manage the users file.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user, or change its password: reads one password line from stdin.
    Add(UserAddArgs),
}

#[derive(Args)]
pub(crate) struct UserAddArgs {
    /// The user name.
    pub(crate) name: String,
    /// The users file (created if missing).
    #[arg(long, env = "AUTHD_USERS", default_value = "authd-users.toml")]
    pub(crate) users: PathBuf,
}

/// Every flag is optional here: a value comes from the flag, else its `AUTHD_*` variable,
/// else the `--config` file, else the default (see `config.rs`).
#[derive(Clone, Default, Args)]
pub(crate) struct ServeArgs {
    /// TOML file whose keys mirror these flags (`listen = "..."`, `access-ttl = "15m"`).
    #[arg(long, env = "AUTHD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:13140].
    #[arg(long, env = "AUTHD_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
    /// Token store: sqlite://PATH, postgres://USER@HOST:PORT/DB, redis://HOST:PORT[/DB],
    /// redis-cluster://HOST:PORT[,HOST:PORT...] or memory:// [default: sqlite://authd.db].
    #[arg(long, env = "AUTHD_STORE", value_name = "URL")]
    pub(crate) store: Option<String>,
    /// PEM private key that signs; generated (RSA-2048, mode 0600) if the file does not
    /// exist [default: authd-key.pem].
    #[arg(long, env = "AUTHD_KEY", value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// Signing algorithm of an RSA key: RS256, RS384 or RS512 [default: RS512]. P-256 keys
    /// sign with ES256 and Ed25519 keys with EdDSA.
    #[arg(long, env = "AUTHD_ALG", value_name = "ALG", value_parser = parse_alg)]
    pub(crate) alg: Option<Algorithm>,
    /// Older key still accepted and published in the JWKS (repeatable; comma-separated in
    /// AUTHD_VERIFY_KEY).
    #[arg(
        long,
        env = "AUTHD_VERIFY_KEY",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub(crate) verify_key: Vec<PathBuf>,
    /// TOML users file with argon2id hashes; created with `admin` if it does not exist
    /// [default: authd-users.toml].
    #[arg(long, env = "AUTHD_USERS", value_name = "FILE")]
    pub(crate) users: Option<PathBuf>,
    /// Access token lifetime [default: 15m].
    #[arg(long, env = "AUTHD_ACCESS_TTL", value_name = "DUR")]
    pub(crate) access_ttl: Option<humantime::Duration>,
    /// Short-term refresh token lifetime [default: 75m].
    #[arg(long, env = "AUTHD_REFRESH_TTL", value_name = "DUR")]
    pub(crate) refresh_ttl: Option<humantime::Duration>,
    /// Long-term refresh token lifetime [default: 14d].
    #[arg(long, env = "AUTHD_LONG_REFRESH_TTL", value_name = "DUR")]
    pub(crate) long_refresh_ttl: Option<humantime::Duration>,
    /// How long a rotated refresh token may be retried and get the same answer [default:
    /// 0s].
    #[arg(long, env = "AUTHD_REUSE_GRACE", value_name = "DUR")]
    pub(crate) reuse_grace: Option<humantime::Duration>,
    /// Clock-skew allowance on exp and nbf [default: 5s].
    #[arg(long, env = "AUTHD_LEEWAY", value_name = "DUR")]
    pub(crate) leeway: Option<humantime::Duration>,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, env = "AUTHD_TLS_CERT", value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "AUTHD_TLS_KEY", value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// How long to keep retrying an unreachable store at start before giving up [default:
    /// 30s].
    #[arg(long, env = "AUTHD_STORE_RETRY", value_name = "DUR")]
    pub(crate) store_retry: Option<humantime::Duration>,
    /// How often to delete expired records; 0s disables [default: 1h].
    #[arg(long, env = "AUTHD_PURGE_INTERVAL", value_name = "DUR")]
    pub(crate) purge_interval: Option<humantime::Duration>,
    /// Password checks (argon2) run at once [default: half the CPUs, at least 1].
    #[arg(long, env = "AUTHD_PASSWORD_WORKERS", value_name = "N")]
    pub(crate) password_workers: Option<usize>,
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    match s.parse::<Algorithm>() {
        Ok(a) => Ok(a),
        Err(_) => Err("expected RS256, RS384, RS512, ES256 or EdDSA".to_owned()),
    }
}
