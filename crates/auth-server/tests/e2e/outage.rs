//! The store goes away under a running authd and comes back: 503 with Retry-After while it
//! is down, no token lost or consumed, and recovery without restarting authd. Uses a
//! private redis-server (AOF, fsync always) so stopping it disturbs no other test.
#![cfg(feature = "redis")]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct RedisServer(Child);

impl RedisServer {
    fn start(dir: &Path, port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--maxmemory-policy", "noeviction"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}); run scripts/test.sh, which installs it")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer(child)
    }

    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_is_503_and_recovers_without_restart() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let redis = RedisServer::start(data.path(), port);
    let f = Fixture::new(&format!("redis://127.0.0.1:{port}"));
    let authd = f.start(&[]);
    let c = authd.client();
    let (access, refresh) = c.login(&f.user, &f.password, false).await.pair();

    redis.kill();
    let replies = [
        c.login(&f.user, &f.password, false).await,
        c.refresh(&refresh).await,
        c.revoke(&refresh).await,
        c.logout(&access, false).await,
    ];
    for r in &replies {
        r.assert_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
        assert!(r.headers.contains_key("retry-after"), "{}", r.body);
    }
    assert_eq!(
        c.get("/healthz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Same port, same data: the AOF brings every acknowledged write back.
    let _redis = RedisServer::start(data.path(), port);
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.get("/healthz").await.status != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "authd did not recover:\n{}",
            authd.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing was consumed or revoked by the failed calls.
    let (_, next) = c.refresh(&refresh).await.pair();
    c.refresh(&next).await.pair();
    c.login(&f.user, &f.password, false).await.pair();
    assert!(authd.stop().success());
}
