//! The shipped benchmark: `cargo run --release --example bench [-- --postgres]` (see
//! bench/README.md). Never part of `cargo test`.
//!
//! Starts the release `gatehouse` binary as a child process on a fresh SQLite database (with
//! `--postgres`: a fresh PostgreSQL database and Redis), and a bare EdDSA-verify server as the
//! ceiling; then, with a fixed number of keep-alive connections and a warm-up that is not
//! counted, drives each scenario for a bounded time and number of requests. It reports req/s,
//! p50/p99 latency and the server's peak memory per scenario, and for sign-in the logins per
//! second per core beside the measured cost of one Argon2id hash at gatehouse's parameters on
//! this machine. Results go to stdout as a markdown table and to `--out` as JSON and markdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod ceiling;
mod load;

use hyper::{Method, StatusCode};
use load::{Conn, Load, Measured};
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn sibling(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/release/examples/bench -> target/release/<name>
    let bin = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        bin.exists(),
        "build the server first: cargo build --release (looked for {})",
        bin.display()
    );
    bin
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Resets the peak resident size (Linux: `clear_refs` 5), so each scenario reports its own.
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    fn peak_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn wait_for(addr: SocketAddr, path: &str) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let mut conn = Conn::open(addr).await;
            if conn.send(Method::GET, path, None, None).await.0 != StatusCode::SERVICE_UNAVAILABLE {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing answered on {addr}{path}");
}

/// The cost of one Argon2id hash at gatehouse's parameters on this machine, the way gatehouse
/// computes it (memory blocks allocated once per thread and reused), with `threads` threads
/// hashing at once: milliseconds per hash on each thread. With every core busy the cores share
/// caches and memory bandwidth, so this is the cost a server hashing on all of them pays.
fn argon2_ms(threads: usize) -> f64 {
    use gatehouse::auth::password::{ARGON2_ITERATIONS, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM};
    let n = 30;
    let run = move || {
        let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM, Some(32)).unwrap();
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut memory = vec![argon2::Block::default(); ARGON2_MEMORY_KIB as usize];
        let mut out = [0u8; 32];
        let mut hash = || {
            argon
                .hash_password_into_with_memory(PASSWORD.as_bytes(), b"0123456789abcdef", &mut out, &mut memory[..])
                .unwrap()
        };
        hash();
        let started = Instant::now();
        for _ in 0..n {
            hash();
        }
        started.elapsed().as_secs_f64() * 1e3 / f64::from(n)
    };
    let handles: Vec<_> = (0..threads).map(|_| std::thread::spawn(run)).collect();
    let times: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    times.iter().sum::<f64>() / times.len() as f64
}

fn phc_hash() -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use gatehouse::auth::password::{ARGON2_ITERATIONS, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM};
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut rand::rngs::OsRng))
        .unwrap()
        .to_string()
}

fn import(db: &str, rows: &std::path::Path) -> (Duration, String) {
    let started = Instant::now();
    let out = Command::new(sibling("gatehouse"))
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

fn write_rows(path: &std::path::Path, n: usize, hash: &str) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        writeln!(f, r#"{{"email":"user{i}@example.com","password_hash":"{hash}","first_name":"Rahim","last_name":"Uddin","is_email_verified":true}}"#).unwrap();
    }
}

/// Where the run's database lives: a file, or a PostgreSQL database made for it (dropped after).
struct Database {
    url: String,
    drop_with: Option<(String, String)>,
}

impl Database {
    async fn postgres(admin: &str) -> Database {
        let name = format!("gatehouse_bench_{}", std::process::id());
        let pool = sqlx::PgPool::connect(admin).await.expect("BENCH_POSTGRES_URL answers");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&format!("/{name}"));
        Database {
            url: url.to_string(),
            drop_with: Some((admin.to_string(), name)),
        }
    }

    async fn drop_now(&self) {
        if let Some((admin, name)) = &self.drop_with {
            if let Ok(pool) = sqlx::PgPool::connect(admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
            }
        }
    }
}

struct Row {
    scenario: &'static str,
    what: &'static str,
    measured: Measured,
    peak_mib: Option<f64>,
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn login_body(email: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "email": email, "password": PASSWORD })).unwrap()
}

fn register_body(worker: usize, i: u64, run: u32) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "first_name": "Rahim", "last_name": "Uddin", "date_of_birth": "1998-04-17", "gender": "male",
        "email": format!("bench-{run}-{worker}-{i}@example.com"), "mobile": "01712345678", "password": PASSWORD,
    }))
    .unwrap()
}

async fn sign_in(addr: SocketAddr, email: &str) -> Value {
    let mut conn = Conn::open(addr).await;
    let (status, body) = conn
        .send(Method::POST, "/api/auth/login", None, Some(&login_body(email)))
        .await;
    assert_eq!(status, StatusCode::OK, "the benchmark user can sign in: {body:?}");
    json_of(&body)
}

async fn refresh(conn: Conn, chain: &Mutex<String>) -> (bool, Conn) {
    let mut conn = conn;
    let token = chain.lock().unwrap().clone();
    let body = serde_json::to_vec(&json!({ "refresh_token": token })).unwrap();
    let (status, answer) = conn.send(Method::POST, "/api/auth/refresh", None, Some(&body)).await;
    let next = json_of(&answer)["refresh_token"].as_str().map(str::to_string);
    match (status, next) {
        (StatusCode::OK, Some(next)) => {
            *chain.lock().unwrap() = next;
            (true, conn)
        }
        _ => (false, conn),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("ceiling-server") {
        return ceiling::serve();
    }
    tokio::runtime::Runtime::new().expect("a runtime").block_on(bench(args));
}

async fn bench(args: Vec<String>) {
    let postgres = args.iter().any(|a| a == "--postgres");
    let with_import = args.iter().any(|a| a == "--import");
    let out_dir = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "target/bench".into());
    let seconds = Duration::from_secs(env_num("BENCH_SECONDS", 10));
    let warmup = Duration::from_secs(env_num("BENCH_WARMUP", 2));
    let connections = env_num("BENCH_CONNECTIONS", 64) as usize;
    let max_requests = env_num("BENCH_MAX_REQUESTS", 2_000_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = std::process::id();

    let dir = tempfile::tempdir().unwrap();
    let db = if postgres {
        let admin = std::env::var("BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".into());
        Database::postgres(&admin).await
    } else {
        Database {
            url: format!("sqlite://{}", dir.path().join("bench.db").display()),
            drop_with: None,
        }
    };
    let redis = postgres.then(|| std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()));

    let hash = phc_hash();
    let seed = dir.path().join("seed.jsonl");
    write_rows(&seed, 1, &hash);
    import(&db.url, &seed);

    let addr = free_addr();
    let mut server = Command::new(sibling("gatehouse"));
    server
        .env("DATABASE_URL", &db.url)
        .env("BIND_ADDR", addr.to_string())
        .env("RUST_LOG", "warn")
        // One load generator on loopback is one IP and one account: the limits would measure
        // themselves. What is measured is the work behind them.
        .env(
            "RATE_LIMIT_PER_IP",
            std::env::var("BENCH_RATE_LIMIT_PER_IP").unwrap_or_else(|_| "off".into()),
        )
        .env("RATE_LIMIT_LOGIN", "off")
        .env("RATE_LIMIT_REGISTER", "off")
        .env("RATE_LIMIT_EMAIL", "off")
        .env("RATE_LIMIT_MAIL_PER_ADDRESS", "off")
        .env("EMAIL_DOMAIN_CHECK", "off")
        .env("NEW_DEVICE_ALERTS", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = &redis {
        server
            .env("REDIS_URL", url)
            .env("REDIS_KEY_PREFIX", format!("gatehouse-bench-{run}:"));
    }
    let server = Proc(server.spawn().unwrap());
    wait_for(addr, "/health").await;

    let tokens = sign_in(addr, "user0@example.com").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let jwks = {
        let mut conn = Conn::open(addr).await;
        String::from_utf8(
            conn.send(Method::GET, "/.well-known/jwks.json", None, None)
                .await
                .1
                .to_vec(),
        )
        .unwrap()
    };
    let claims: Value = {
        use base64::Engine;
        let payload = access.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };

    let ceiling_addr = free_addr();
    let ceiling = Proc(
        Command::new(std::env::current_exe().unwrap())
            .arg("ceiling-server")
            .env("CEILING_ADDR", ceiling_addr.to_string())
            .env("CEILING_JWKS", &jwks)
            .env("CEILING_ISSUER", claims["iss"].as_str().unwrap_or_default())
            .env("CEILING_AUDIENCE", claims["aud"].as_str().unwrap_or_default())
            .spawn()
            .unwrap(),
    );
    wait_for(ceiling_addr, "/verify").await;

    println!(
        "gatehouse benchmark: {connections} connections, {}s warm-up + {}s per scenario (at most {max_requests} requests), {cores} cores, {}",
        warmup.as_secs(),
        seconds.as_secs(),
        if postgres { "PostgreSQL + Redis" } else { "SQLite" }
    );
    let load = Load {
        connections,
        warmup,
        seconds,
        max_requests,
    };
    let mut rows: Vec<Row> = Vec::new();
    let selected =
        std::env::var("BENCH_SCENARIOS").unwrap_or_else(|_| "ceiling,me,refresh,login,register,mixed".into());
    let wants = |name: &str| selected.split(',').any(|s| s.trim() == name);

    if wants("ceiling") {
        ceiling.reset_peak();
        let token = Arc::new(access.clone());
        let measured = load
            .run(ceiling_addr, move |_, _, conn| {
                let token = token.clone();
                async move {
                    conn.expect(Method::GET, "/verify", Some(&token), None, StatusCode::OK)
                        .await
                }
            })
            .await;
        rows.push(Row {
            scenario: "ceiling",
            what: "bare axum + one EdDSA verification (GET /verify)",
            measured,
            peak_mib: ceiling.peak_mib(),
        });
    }
    drop(ceiling);

    if wants("me") {
        server.reset_peak();
        let token = Arc::new(access.clone());
        let measured = load
            .run(addr, move |_, _, conn| {
                let token = token.clone();
                async move {
                    conn.expect(Method::GET, "/api/auth/me", Some(&token), None, StatusCode::OK)
                        .await
                }
            })
            .await;
        rows.push(Row {
            scenario: "me",
            what: "GET /api/auth/me",
            measured,
            peak_mib: server.peak_mib(),
        });
    }

    // Each connection rotates its own chain (a rotated token works once).
    let mut chains = Vec::new();
    for _ in 0..connections {
        let t = sign_in(addr, "user0@example.com").await;
        chains.push(Mutex::new(t["refresh_token"].as_str().unwrap().to_string()));
    }
    let chains = Arc::new(chains);

    if wants("refresh") {
        server.reset_peak();
        let chains = chains.clone();
        let measured = load
            .run(addr, move |worker, _, conn| {
                let chains = chains.clone();
                async move { refresh(conn, &chains[worker]).await }
            })
            .await;
        rows.push(Row {
            scenario: "refresh",
            what: "POST /api/auth/refresh (rotation)",
            measured,
            peak_mib: server.peak_mib(),
        });
    }

    // Measured just before the sign-ins, in the same conditions: one thread alone, and one per
    // core at once (the cost the server pays when every core hashes).
    let argon_one = argon2_ms(1);
    let argon_ms = argon2_ms(cores);
    let login = Arc::new(login_body("user0@example.com"));
    if wants("login") {
        server.reset_peak();
        let login = login.clone();
        let measured = load
            .run(addr, move |_, _, conn| {
                let login = login.clone();
                async move {
                    conn.expect(Method::POST, "/api/auth/login", None, Some(&login), StatusCode::OK)
                        .await
                }
            })
            .await;
        rows.push(Row {
            scenario: "login",
            what: "POST /api/auth/login (Argon2id)",
            measured,
            peak_mib: server.peak_mib(),
        });
    }

    if wants("register") {
        server.reset_peak();
        let measured = load
            .run(addr, move |worker, i, conn| async move {
                let body = register_body(worker, i, run);
                conn.expect(
                    Method::POST,
                    "/api/auth/register",
                    None,
                    Some(&body),
                    StatusCode::CREATED,
                )
                .await
            })
            .await;
        rows.push(Row {
            scenario: "register",
            what: "POST /api/auth/register (Argon2id, mail queued)",
            measured,
            peak_mib: server.peak_mib(),
        });
    }

    if wants("mixed") {
        server.reset_peak();
        let (token, chains, login) = (Arc::new(access.clone()), chains.clone(), login.clone());
        let measured = load
            .run(addr, move |worker, i, conn| {
                let (token, chains, login) = (token.clone(), chains.clone(), login.clone());
                async move {
                    // Per 1000 requests: 900 /me, 90 refreshes, 9 sign-ins, 1 registration.
                    match i % 1000 {
                        0..900 => {
                            conn.expect(Method::GET, "/api/auth/me", Some(&token), None, StatusCode::OK)
                                .await
                        }
                        900..990 => refresh(conn, &chains[worker]).await,
                        990..999 => {
                            conn.expect(Method::POST, "/api/auth/login", None, Some(&login), StatusCode::OK)
                                .await
                        }
                        _ => {
                            let body = register_body(worker, 1_000_000 + i, run);
                            conn.expect(
                                Method::POST,
                                "/api/auth/register",
                                None,
                                Some(&body),
                                StatusCode::CREATED,
                            )
                            .await
                        }
                    }
                }
            })
            .await;
        rows.push(Row {
            scenario: "mixed",
            what: "900 /me : 90 refresh : 9 login : 1 register",
            measured,
            peak_mib: server.peak_mib(),
        });
    }
    drop(server);

    let mut import_result = None;
    if with_import {
        let n = env_num("BENCH_IMPORT_ROWS", 100_000) as usize;
        let file = dir.path().join("import.jsonl");
        write_rows(&file, n, &hash);
        let target = format!("sqlite://{}", dir.path().join("import.db").display());
        let (took, summary) = import(&target, &file);
        import_result = Some(json!({ "rows": n, "seconds": took.as_secs_f64(), "summary": summary }));
    }
    db.drop_now().await;
    report(
        &rows,
        (argon_one, argon_ms),
        cores,
        postgres,
        connections,
        &out_dir,
        import_result,
    );
}

fn report(
    rows: &[Row],
    argon: (f64, f64),
    cores: usize,
    postgres: bool,
    connections: usize,
    out_dir: &str,
    import: Option<Value>,
) {
    let (argon_one, argon_ms) = argon;
    let machine = machine();
    let argon_limit = cores as f64 * 1000.0 / argon_ms;
    let get = |name: &str| rows.iter().find(|r| r.scenario == name);
    let mut md = String::new();
    md.push_str(&format!(
        "{} · {} · {connections} connections · Argon2id (m={} KiB, t={}, p={}): {:.1} ms per hash on one core alone, {:.1} ms with all {cores} cores hashing\n\n",
        machine,
        if postgres { "PostgreSQL + Redis" } else { "SQLite" },
        gatehouse::auth::password::ARGON2_MEMORY_KIB,
        gatehouse::auth::password::ARGON2_ITERATIONS,
        gatehouse::auth::password::ARGON2_PARALLELISM,
        argon_one,
        argon_ms
    ));
    md.push_str("| scenario | req/s | p50 | p99 | errors | peak RSS | against |\n|---|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let m = &r.measured;
        let against = match r.scenario {
            "me" => get("ceiling").map(|c| format!("{:.2} × ceiling", m.per_second / c.measured.per_second)),
            "login" => Some(format!(
                "{:.1}/s per core; {:.2} × the Argon2 limit ({:.0}/s)",
                m.per_second / cores as f64,
                m.per_second / argon_limit,
                argon_limit
            )),
            _ => None,
        }
        .unwrap_or_default();
        md.push_str(&format!(
            "| {} ({}) | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {} |\n",
            r.scenario,
            r.what,
            m.per_second,
            m.p50_ms,
            m.p99_ms,
            m.errors,
            r.peak_mib.map_or("–".into(), |p| format!("{p:.0} MiB")),
            against
        ));
    }
    if let Some(i) = &import {
        md.push_str(&format!(
            "\nimport of {} users into SQLite: {:.1} s\n",
            i["rows"],
            i["seconds"].as_f64().unwrap_or(0.0)
        ));
    }
    println!("\n{md}");
    let json = json!({
        "machine": machine,
        "database": if postgres { "postgres+redis" } else { "sqlite" },
        "connections": connections,
        "cores": cores,
        "argon2_ms_per_hash_one_core": argon_one,
        "argon2_ms_per_hash_all_cores": argon_ms,
        "argon2_limit_per_second": argon_limit,
        "scenarios": rows.iter().map(|r| json!({
            "scenario": r.scenario, "what": r.what, "peak_rss_mib": r.peak_mib,
            "requests": r.measured.requests, "errors": r.measured.errors, "seconds": r.measured.seconds,
            "per_second": r.measured.per_second, "p50_ms": r.measured.p50_ms, "p99_ms": r.measured.p99_ms,
        })).collect::<Vec<_>>(),
        "import": import,
    });
    std::fs::create_dir_all(out_dir).unwrap();
    let stem = format!("{out_dir}/{}", if postgres { "postgres" } else { "sqlite" });
    std::fs::write(format!("{stem}.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    std::fs::write(format!("{stem}.md"), md).unwrap();
    println!("written: {stem}.json, {stem}.md");
}

/// "2 cores, Intel Xeon …, 24 GiB" from /proc.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(String::new(), |k| format!(", {:.0} GiB", k / 1024.0 / 1024.0));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cores} cores, {cpu}{mem}")
}
