//! Throwaway servers: a `redis-server` (or a 3-node cluster) of a test's own, on free
//! ports, that it can flush, stop, freeze and count the commands of without touching
//! anyone else's data.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use auth_core::TokenId;
use auth_store_redis::redis;

/// A `redis-server` child process without persistence, killed on drop.
pub struct Throwaway {
    port: u16,
    child: Option<Child>,
}

impl Throwaway {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let mut server = Throwaway { port, child: None };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run redis-server: {e}; {}", super::HOW_TO_START));
        self.child = Some(child);
        let deadline = Instant::now() + StdDuration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on {} did not start",
                self.port
            );
            std::thread::sleep(StdDuration::from_millis(20));
        }
    }

    /// Sends a signal to the server (`STOP` freezes it: connections stay open, no answers).
    pub fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .map(Child::id)
            .unwrap_or_else(|| panic!("not running"));
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(status.success(), "kill -{signal} {pid}");
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn raw(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).unwrap_or_else(|e| panic!("{e}"));
        client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("raw connection to {}: {e}", self.url()))
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three cluster-enabled `redis-server`s on free ports, joined into one cluster, killed on
/// drop. Their cluster config survives a restart, so they come back as the same cluster
/// (empty: no persistence).
pub struct ThrowawayCluster {
    dir: std::path::PathBuf,
    ports: Vec<u16>,
    children: Vec<Child>,
}

impl ThrowawayCluster {
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("auth-store-redis-test-{}", TokenId::random()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        // Bind all three first so the ports differ.
        let listeners: Vec<TcpListener> = (0..3)
            .map(|_| {
                TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"))
            })
            .collect();
        let ports = listeners
            .iter()
            .map(|l| {
                l.local_addr()
                    .map(|a| a.port())
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        drop(listeners);
        let mut cluster = ThrowawayCluster {
            dir,
            ports,
            children: Vec::new(),
        };
        cluster.launch();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for port in &cluster.ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}; {}", super::HOW_TO_START));
        assert!(
            out.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        cluster.wait_ok();
        cluster
    }

    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis-cluster://{}", nodes.join(","))
    }

    /// Each node on its own, as `redis://` URLs (for commands about one node).
    pub fn node_urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    pub fn launch(&mut self) {
        for port in self.ports.clone() {
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(self.dir.join(format!("nodes-{port}.conf")))
                .arg("--dir")
                .arg(&self.dir)
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run redis-server: {e}; {}", super::HOW_TO_START)
                });
            self.children.push(child);
        }
        let deadline = Instant::now() + StdDuration::from_secs(10);
        for port in &self.ports {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "cluster node {port} did not start"
                );
                std::thread::sleep(StdDuration::from_millis(20));
            }
        }
    }

    pub fn wait_ok(&self) {
        let deadline = Instant::now() + StdDuration::from_secs(20);
        for port in &self.ports {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "cluster", "info"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {port} never reached cluster_state:ok"
                );
                std::thread::sleep(StdDuration::from_millis(100));
            }
        }
    }

    pub fn stop(&mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
