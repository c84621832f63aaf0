//! Runs the real `authd` binary on a free loopback port and talks to it over TCP.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_server::API_VERSION;
use reqwest::StatusCode;
use serde_json::Value;

/// An `authd serve` child process.
pub struct Authd {
    child: Option<Child>,
    pub base: String,
    log: Arc<Mutex<String>>,
}

/// What every test server gets: its own folder, key and users file.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: String,
    /// A user name unique to this test, so tests sharing a Redis database never meet.
    pub user: String,
    pub password: String,
}

impl Fixture {
    pub fn new(store: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let user = format!(
            "user-{}",
            auth_tokens::TokenId::random().to_string().replace('-', "")
        );
        let password = "pass word".to_owned();
        let hash = auth_server::hash_password_with(
            &password,
            argon2::Params::new(64, 1, 1, None).unwrap(),
        )
        .unwrap();
        let other =
            auth_server::hash_password_with("other", argon2::Params::new(64, 1, 1, None).unwrap())
                .unwrap();
        std::fs::write(
            dir.path().join("users.toml"),
            format!("[users]\n\"{user}\" = \"{hash}\"\n\"{user}-2\" = \"{other}\"\n"),
        )
        .unwrap();
        let key = auth_tokens::SigningKey::generate_rsa(auth_tokens::Algorithm::RS512).unwrap();
        write_private(&dir.path().join("key.pem"), &key.to_pkcs8_pem());
        Fixture {
            dir,
            store: store.to_owned(),
            user,
            password,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `authd serve` on this fixture with extra flags.
    pub fn start(&self, extra: &[&str]) -> Authd {
        let key = self.path("key.pem");
        let users = self.path("users.toml");
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            &self.store,
            "--store-retry",
            "3s",
            "--purge-interval",
            "0s",
        ];
        if !extra.contains(&"--key") {
            args.extend(["--key", key.to_str().unwrap()]);
        }
        if !extra.contains(&"--users") {
            args.extend(["--users", users.to_str().unwrap()]);
        }
        args.extend(extra);
        Authd::start(self.dir.path(), &args)
    }
}

impl Authd {
    /// Spawns `authd ARGS` in `dir` and waits until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Authd {
        Self::spawn(authd(dir, args))
    }

    /// Spawns `cmd` (an [`authd`] command) and waits until it listens.
    pub fn spawn(mut cmd: Command) -> Authd {
        let mut child = cmd.stderr(Stdio::piped()).spawn().expect("spawn authd");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, url)) = line.split_once("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Authd {
                child: Some(child),
                base,
                log,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "authd did not start listening; its stderr:\n{}",
                    log.lock().unwrap()
                );
            }
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap()
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base, reqwest::Client::new())
    }
}

impl Drop for Authd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `authd` command, run in `dir` with no inherited `AUTHD_*` settings.
pub fn authd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authd"));
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .env("RUST_LOG", "info");
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHD_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A reqwest client speaking the contract.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn pair(&self) -> (String, String) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        (
            self.body["access_token"].as_str().unwrap().to_owned(),
            self.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], code, "{}", self.body);
    }
}

impl Client {
    pub fn new(base: &str, http: reqwest::Client) -> Client {
        Client {
            base: base.to_owned(),
            http,
        }
    }

    async fn reply(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-api-version", API_VERSION)
            .form(form)
            .send()
            .await
            .unwrap();
        Self::reply(res).await
    }

    pub async fn login(&self, user: &str, password: &str, short: bool) -> Reply {
        let short = if short { "true" } else { "false" };
        self.post(
            "/api/v1/token",
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
                ("use_short_term_refresh", short),
            ],
        )
        .await
    }

    pub async fn refresh(&self, token: &str) -> Reply {
        self.post(
            "/api/v1/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    pub async fn revoke(&self, token: &str) -> Reply {
        self.post("/api/v1/token/revoke", &[("token", token)]).await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let r = self
            .post("/api/v1/token/introspect", &[("token", token)])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    pub async fn logout(&self, access: &str, global: bool) -> Reply {
        let query = if global { "?scope=global" } else { "" };
        let res = self
            .http
            .delete(format!("{}/api/v1/token{query}", self.base))
            .header("x-api-version", API_VERSION)
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        Self::reply(res).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        Self::reply(res).await
    }
}

/// Verifies `token` against the server's published JWKS with an independent JWT library.
pub fn verify_with_jwks(jwks: &Value, token: &str, aud: &str) -> Value {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let header = decode_header(token).unwrap();
    let kid = header.kid.expect("kid");
    let jwk = set.find(&kid).expect("kid published in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[aud]);
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{aud} token does not verify with the JWKS: {e}"))
        .claims
}

/// The claims of a JWT, unverified.
pub fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Writes a key file the way authd wants it: readable by its owner only.
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}
