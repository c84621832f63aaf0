//! The command line: first start, configuration precedence, `user add`, start-up errors,
//! TLS.

use std::io::Write as _;
use std::process::Stdio;

use reqwest::StatusCode;

use crate::support::*;

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = authd(dir, args);
    cmd.envs(env.iter().copied()).stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `authd` with no arguments serves with its defaults: generates the key (0600) and the
/// users file with `admin`, creates the SQLite file; a restart keeps all three.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_key_users_and_database() {
    let dir = tempfile::tempdir().unwrap();
    // Only the port (and the purge timer) differ from the defaults, so parallel tests do
    // not collide on 13140.
    let start = || {
        let mut cmd = authd(dir.path(), &[]);
        cmd.env("AUTHD_LISTEN", "127.0.0.1:0")
            .env("AUTHD_PURGE_INTERVAL", "0s");
        Authd::spawn(cmd)
    };
    let authd = start();
    let log = authd.log();
    let password = log
        .lines()
        .find_map(|l| l.split_once("password: ").map(|(_, p)| p.trim().to_owned()))
        .unwrap_or_else(|| panic!("no admin password printed:\n{log}"));
    for name in ["authd-key.pem", "authd-users.toml", "authd.db"] {
        assert!(dir.path().join(name).exists(), "{name} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("authd-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key_before = std::fs::read(dir.path().join("authd-key.pem")).unwrap();
    let c = authd.client();
    let (access, refresh) = c.login("admin", &password, false).await.pair();
    assert!(access.starts_with("eyJhbGciOiJSUzUxMiIs"), "RS512 header");
    assert!(authd.stop().success());

    let authd = start();
    assert!(
        !authd.log().contains("password: "),
        "the password is shown once"
    );
    let c = authd.client();
    c.refresh(&refresh).await.pair();
    c.login("admin", &password, false).await.pair();
    assert_eq!(
        std::fs::read(dir.path().join("authd-key.pem")).unwrap(),
        key_before
    );
    assert!(authd.stop().success());
}

/// flag > AUTHD_* variable > --config file > default, seen through `expires_in`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_beat_env_beat_config_file() {
    let f = Fixture::new("memory://");
    let config = f.path("authd.toml");
    std::fs::write(
        &config,
        "access-ttl = \"120s\"\nrefresh-ttl = \"10m\"\nleeway = \"1s\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let expires_in = |extra: Vec<String>, env: Vec<(&'static str, &'static str)>| {
        let f = &f;
        async move {
            let key = f.path("key.pem");
            let users = f.path("users.toml");
            let mut args: Vec<String> = [
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--store",
                "memory://",
                "--key",
                key.to_str().unwrap(),
                "--users",
                users.to_str().unwrap(),
            ]
            .map(String::from)
            .to_vec();
            args.extend(extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut cmd = authd(f.dir.path(), &args);
            cmd.envs(env);
            let authd = Authd::spawn(cmd);
            let r = authd.client().login(&f.user, &f.password, true).await;
            let refresh = r.pair().1;
            let rc = claims(&refresh);
            assert!(authd.stop().success());
            (
                r.body["expires_in"].as_i64().unwrap(),
                rc["exp"].as_i64().unwrap() - rc["iat"].as_i64().unwrap(),
            )
        }
    };
    // Defaults.
    assert_eq!(expires_in(vec![], vec![]).await, (900, 4500));
    // The file.
    let file = vec!["--config".to_owned(), config.clone()];
    assert_eq!(expires_in(file.clone(), vec![]).await, (120, 600));
    // The variable beats the file; the file still gives what the variable does not.
    assert_eq!(
        expires_in(file.clone(), vec![("AUTHD_ACCESS_TTL", "60s")]).await,
        (60, 600)
    );
    // The flag beats both.
    let mut flag = file.clone();
    flag.extend(["--access-ttl".to_owned(), "30s".to_owned()]);
    assert_eq!(
        expires_in(flag, vec![("AUTHD_ACCESS_TTL", "60s")]).await,
        (30, 600)
    );
    // The config file itself can come from the environment.
    let env_config: &'static str = Box::leak(config.into_boxed_str());
    assert_eq!(
        expires_in(vec![], vec![("AUTHD_CONFIG", env_config)]).await,
        (120, 600)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_reads_the_password_from_stdin() {
    let f = Fixture::new("memory://");
    let users = f.path("new-users.toml");
    let add = |name: &str, input: &[u8]| {
        let mut child = authd(
            f.dir.path(),
            &["user", "add", name, "--users", users.to_str().unwrap()],
        )
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = add("carol", b"s3cret pass\n");
    assert!(ok, "{err}");
    let (ok, err) = add("dave", b"other\r\n");
    assert!(ok, "{err}");
    let (ok, err) = add("erin", b"");
    assert!(!ok);
    assert!(err.contains("no password"), "{err}");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(text.contains("carol = \"$argon2id$"), "{text}");
    assert!(!text.contains("s3cret"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&users).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "users file is private");
    }
    let authd = f.start(&["--users", users.to_str().unwrap()]);
    let c = authd.client();
    c.login("carol", "s3cret pass", false).await.pair();
    c.login("dave", "other", false).await.pair();
    c.login("carol", "s3cret pass\n", false)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(authd.stop().success());
}

#[test]
fn bad_flags_urls_and_keys_fail_clearly() {
    let f = Fixture::new("memory://");
    let dir = f.dir.path();
    let key = f.path("key.pem");
    let key = key.to_str().unwrap();
    let users = f.path("users.toml");
    let users = users.to_str().unwrap();
    let garbage = f.path("garbage.pem");
    std::fs::write(&garbage, "not a key").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["serve", "--no-such-flag"], "--no-such-flag"),
        (vec!["serve", "--listen", "nowhere"], "--listen"),
        (vec!["serve", "--access-ttl", "soon"], "--access-ttl"),
        (vec!["serve", "--alg", "HS256"], "--alg"),
        (
            vec![
                "serve",
                "--store",
                "mysql://x",
                "--key",
                key,
                "--users",
                users,
            ],
            "unknown store scheme",
        ),
        (
            vec![
                "serve",
                "--store",
                "no-scheme",
                "--key",
                key,
                "--users",
                users,
            ],
            "store",
        ),
        (
            vec![
                "serve",
                "--store",
                "memory://",
                "--users",
                users,
                "--key",
                garbage.to_str().unwrap(),
            ],
            "garbage.pem",
        ),
        (
            vec![
                "serve",
                "--store",
                "memory://",
                "--users",
                users,
                "--key",
                dir.to_str().unwrap(),
            ],
            "cannot read key file",
        ),
        (
            vec![
                "serve",
                "--store",
                "memory://",
                "--key",
                key,
                "--users",
                users,
                "--verify-key",
                "/nonexistent/old.pem",
            ],
            "old.pem",
        ),
        (
            vec![
                "serve",
                "--store",
                "memory://",
                "--key",
                key,
                "--users",
                users,
                "--tls-cert",
                key,
            ],
            "--tls-key",
        ),
        (
            vec![
                "serve",
                "--store",
                "memory://",
                "--key",
                key,
                "--users",
                garbage.to_str().unwrap(),
            ],
            "garbage.pem",
        ),
    ];
    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let mut cases = cases;
    cases.push((
        vec![
            "serve",
            "--store",
            "memory://",
            "--key",
            key,
            "--users",
            users,
            "--listen",
            &taken,
        ],
        "cannot serve on",
    ));
    for (args, expect) in cases {
        let (ok, err) = run(dir, &args, &[]);
        assert!(!ok, "{args:?} should fail");
        assert!(
            err.contains(expect),
            "{args:?}: expected {expect:?} in:\n{err}"
        );
    }
}

/// A store that cannot be reached at start: retried with backoff, then a non-zero exit
/// that says why.
#[cfg(any(feature = "postgres", feature = "redis"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_store_at_start_exits_non_zero() {
    use std::time::{Duration, Instant};
    let f = Fixture::new("memory://");
    let key = f.path("key.pem");
    let users = f.path("users.toml");
    let mut stores = vec![];
    if cfg!(feature = "postgres") {
        stores.push("postgres://postgres@127.0.0.1:1/nothing");
    }
    if cfg!(feature = "redis") {
        stores.push("redis://127.0.0.1:1");
    }
    for store in stores {
        let started = Instant::now();
        let (ok, err) = run(
            f.dir.path(),
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--store",
                store,
                "--key",
                key.to_str().unwrap(),
                "--users",
                users.to_str().unwrap(),
                "--store-retry",
                "4s",
            ],
            &[],
        );
        let took = started.elapsed();
        assert!(!ok, "{store}: should exit non-zero");
        assert!(err.contains("unreachable"), "{store}:\n{err}");
        assert!(err.contains("retrying"), "{store}: no retry:\n{err}");
        assert!(
            took >= Duration::from_secs(3) && took < Duration::from_secs(20),
            "{store}: gave up after {took:?}"
        );
    }
}

/// HTTPS with rustls when --tls-cert/--tls-key are given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_tls_flags() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let f = Fixture::new("memory://");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    std::fs::write(f.path("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(f.path("tls-key.pem"), leaf_key.serialize_pem()).unwrap();
    let cert = f.path("cert.pem");
    let tls_key = f.path("tls-key.pem");
    let authd = f.start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        tls_key.to_str().unwrap(),
    ]);
    assert!(authd.base.starts_with("https://"), "{}", authd.base);
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let c = Client::new(&authd.base, http);
    let (_, refresh) = c.login(&f.user, &f.password, false).await.pair();
    c.refresh(&refresh).await.pair();
    // Plain HTTP on the TLS port gets no token answer.
    let plain = authd.base.replacen("https://", "http://", 1);
    let r = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(r.map(|r| !r.status().is_success()).unwrap_or(true));
    assert!(authd.stop().success());
}

/// SIGTERM lets a request in flight finish: a slow login started before the signal still
/// gets its 200, then the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight() {
    let f = Fixture::new("memory://");
    // A deliberately slow hash: about a second even with argon2 optimised (the dev profile
    // builds it at opt-level 3), so the login is surely in flight when SIGTERM arrives.
    let slow = argon2::Params::new(64 * 1024, 24, 1, None).unwrap();
    let users = f.path("slow-users.toml");
    let hash = auth_server::hash_password_with("slow", slow).unwrap();
    std::fs::write(&users, format!("[users]\nslowpoke = \"{hash}\"\n")).unwrap();
    let authd = f.start(&["--users", users.to_str().unwrap()]);
    let c = authd.client();
    let login = tokio::spawn(async move { c.login("slowpoke", "slow", false).await });
    // Long enough for the request to be accepted and inside argon2.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || authd.stop())
        .await
        .unwrap();
    let reply = login.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() > std::time::Duration::from_millis(100),
        "the process should have waited for the login"
    );
}

/// The key type picks the algorithm; `--alg` picks among the RSA ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_type_and_alg_pick_the_jwt_algorithm() {
    let f = Fixture::new("memory://");
    let ed = auth_tokens::SigningKey::generate_ed25519().unwrap();
    write_private(&f.path("ed.pem"), &ed.to_pkcs8_pem());
    let p256 = auth_tokens::SigningKey::generate_p256().unwrap();
    write_private(&f.path("ec.pem"), &p256.to_pkcs8_pem());
    let ed = f.path("ed.pem");
    let ec = f.path("ec.pem");
    let fresh = f.path("fresh-rs384.pem");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "RS512"),
        (vec!["--alg", "RS256"], "RS256"),
        (vec!["--key", ed.to_str().unwrap()], "EdDSA"),
        (vec!["--key", ec.to_str().unwrap()], "ES256"),
        // A generated key honours --alg too.
        (
            vec!["--key", fresh.to_str().unwrap(), "--alg", "RS384"],
            "RS384",
        ),
    ];
    for (flags, alg) in cases {
        let authd = f.start(&flags);
        let c = authd.client();
        let (access, _) = c.login(&f.user, &f.password, false).await.pair();
        let header = jsonwebtoken::decode_header(&access).unwrap();
        assert_eq!(format!("{:?}", header.alg), alg, "{flags:?}");
        let jwks = c.get("/.well-known/jwks.json").await.body;
        assert_eq!(jwks["keys"][0]["alg"], alg);
        verify_with_jwks(&jwks, &access, "access");
        assert!(authd.stop().success());
    }
    // An EC key cannot sign RS512.
    let (ok, err) = run(
        f.dir.path(),
        &[
            "serve",
            "--store",
            "memory://",
            "--key",
            ec.to_str().unwrap(),
            "--alg",
            "RS512",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("ec.pem"), "{err}");
}
