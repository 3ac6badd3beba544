//! The shipped benchmark: `cargo run --release --example bench` (see bench/README.md).
//!
//! Starts the release `gatehouse` binary as a child process on a fresh SQLite database (or
//! PostgreSQL with `BENCH_DATABASE_URL`), imports a user, then drives GET /api/auth/me,
//! POST /api/auth/refresh and POST /api/auth/login with a fixed number of concurrent clients for
//! a fixed time each, and prints requests/second, p50 and p99 latency, and the server's peak
//! memory (VmHWM). Finally it times `gatehouse import` of 100,000 users.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/release/examples/bench -> target/release/gatehouse
    let bin = exe.parent().unwrap().parent().unwrap().join("gatehouse");
    assert!(
        bin.exists(),
        "build the server first: cargo build --release (looked for {})",
        bin.display()
    );
    bin
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn import(db: &str, rows: &std::path::Path) -> (Duration, String) {
    let started = Instant::now();
    let out = Command::new(binary())
        .args(["import", "--file", rows.to_str().unwrap()])
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

struct Stats {
    count: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn report(&mut self, name: &str) {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies
                .get(((self.latencies.len() as f64 * p) as usize).min(self.latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{name:<28} {:>9.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms   ({} requests, {} errors)",
            self.count as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            self.count,
            self.errors
        );
    }
}

async fn drive<F, Fut>(concurrency: usize, duration: Duration, make: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, 0usize);
            while started.elapsed() < duration {
                let t = Instant::now();
                if !make(worker * 1_000_000 + i).await {
                    errors += 1;
                }
                lat.push(t.elapsed());
                i += 1;
            }
            (lat, errors)
        }));
    }
    let mut stats = Stats {
        count: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        stats.count += lat.len();
        stats.errors += errors;
        stats.latencies.extend(lat);
    }
    stats.elapsed = started.elapsed();
    stats
}

fn write_rows(path: &std::path::Path, n: usize, hash: &str) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(f, r#"{{"email":"user{i}@example.com","password_hash":"{hash}","first_name":"Rahim","last_name":"Uddin","is_email_verified":true}}"#).unwrap();
    }
}

#[tokio::main]
async fn main() {
    let seconds = Duration::from_secs(env_num("BENCH_SECONDS", 10));
    let concurrency = env_num("BENCH_CONCURRENCY", 32) as usize;
    let import_rows = env_num("BENCH_IMPORT_ROWS", 100_000) as usize;
    let dir = tempfile::tempdir().unwrap();
    let db = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));

    // One user to sign in as, with a real Argon2id hash of PASSWORD.
    let hash = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(19 * 1024, 2, 1, None).unwrap();
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut rand::rngs::OsRng))
            .unwrap()
            .to_string()
    };
    let seed = dir.path().join("seed.jsonl");
    write_rows(&seed, 1, &hash);
    import(&db, &seed);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary())
        .env("DATABASE_URL", &db)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        // One load generator on loopback is one IP and one account: the limits would measure
        // themselves. What is measured is the work behind them.
        // BENCH_RATE_LIMIT_PER_IP (e.g. 10000/second) measures the cost of counting instead.
        .env(
            "RATE_LIMIT_PER_IP",
            std::env::var("BENCH_RATE_LIMIT_PER_IP").unwrap_or_else(|_| "off".into()),
        )
        .env("RATE_LIMIT_LOGIN", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    for _ in 0..100 {
        if client.get(format!("{}/health", server.base)).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = |client: reqwest::Client, base: String| async move {
        client
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"email": "user0@example.com", "password": PASSWORD}))
            .send()
            .await
            .ok()?
            .json::<serde_json::Value>()
            .await
            .ok()
    };
    let tokens = login(client.clone(), server.base.clone())
        .await
        .expect("the benchmark user can sign in");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    println!(
        "gatehouse benchmark: {concurrency} concurrent clients, {}s per endpoint, database {}",
        seconds.as_secs(),
        if db.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        }
    );

    let (c, b, a) = (client.clone(), server.base.clone(), access.clone());
    drive(concurrency, seconds, move |_| {
        let (c, b, a) = (c.clone(), b.clone(), a.clone());
        async move {
            c.get(format!("{b}/api/auth/me"))
                .bearer_auth(a)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        }
    })
    .await
    .report("GET /api/auth/me");

    // Each client refreshes its own chain of tokens (a rotated token works once).
    let mut chains = Vec::new();
    for _ in 0..concurrency {
        let t = login(client.clone(), server.base.clone()).await.unwrap();
        chains.push(std::sync::Arc::new(tokio::sync::Mutex::new(
            t["refresh_token"].as_str().unwrap().to_string(),
        )));
    }
    let (c, b) = (client.clone(), server.base.clone());
    let chains = std::sync::Arc::new(chains);
    drive(concurrency, seconds, move |i| {
        let (c, b, chains) = (c.clone(), b.clone(), chains.clone());
        async move {
            let chain = chains[i / 1_000_000].clone();
            let mut token = chain.lock().await;
            let Ok(r) = c
                .post(format!("{b}/api/auth/refresh"))
                .json(&serde_json::json!({"refresh_token": *token}))
                .send()
                .await
            else {
                return false;
            };
            match r.json::<serde_json::Value>().await {
                Ok(v) if v["refresh_token"].is_string() => {
                    *token = v["refresh_token"].as_str().unwrap().to_string();
                    true
                }
                _ => false,
            }
        }
    })
    .await
    .report("POST /api/auth/refresh");

    let (c, b) = (client.clone(), server.base.clone());
    drive(concurrency, seconds, move |_| {
        let (c, b) = (c.clone(), b.clone());
        async move { login(c, b).await.is_some_and(|v| v["access_token"].is_string()) }
    })
    .await
    .report("POST /api/auth/login (Argon2id)");

    match peak_rss_kib(server.child.id()) {
        Some(kib) => println!("server peak memory (VmHWM)    {:.1} MiB", kib as f64 / 1024.0),
        None => println!("server peak memory: /proc not available"),
    }
    drop(server);

    let rows = dir.path().join("import.jsonl");
    write_rows(&rows, import_rows, &hash);
    let targets: Vec<(String, String)> = [
        Some((
            "sqlite".to_string(),
            format!("sqlite://{}", dir.path().join("import.db").display()),
        )),
        std::env::var("BENCH_IMPORT_POSTGRES_URL")
            .ok()
            .map(|u| ("postgres".to_string(), u)),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (name, url) in targets {
        let (took, summary) = import(&url, &rows);
        println!(
            "import {import_rows} users into {name:<8} {:>8.1} s  ({:.0} rows/s)  [{summary}]",
            took.as_secs_f64(),
            import_rows as f64 / took.as_secs_f64()
        );
    }
}
