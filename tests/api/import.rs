//! `gatehouse import`: run as a user runs it (the real binary), against the test server's
//! database, then checked over HTTP.

use crate::both;
use crate::common::*;
use gatehouse::domain::Password;
use serde_json::json;
use std::process::{Command, Output};

async fn argon2_hash(app: &TestApp, password: &str) -> String {
    app.state
        .hasher
        .hash(&Password::for_verification(password))
        .await
        .unwrap()
}

fn run_import(app: &TestApp, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("import")
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("gatehouse runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn mixed_file(app: &TestApp) -> tempfile::NamedTempFile {
    let hash = argon2_hash(app, PASSWORD).await;
    let rows = [
        json!({"email": "Good.One@Example.com", "password_hash": hash, "first_name": "Karim", "last_name": "Ahmed", "date_of_birth": "1990-01-31", "gender": "male", "mobile": "01812345678", "is_email_verified": true, "created_at": "2023-05-01 10:00:00"}),
        json!({"email": "good.two@example.com", "password_hash": hash, "is_email_verified": "t", "username": "goodtwo"}),
        json!({"email": "not-an-email", "password_hash": hash}),
        json!({"email": "bad.mobile@example.com", "mobile": "12345"}),
        json!({"email": "bad.hash@example.com", "password_hash": "md5$abc$def"}),
    ];
    let mut f = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    use std::io::Write;
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
    f
}

async fn import_reports_bad_rows_and_imports_the_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = mixed_file(&app).await;
    let out = run_import(&app, &["--file", file.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("imported 2, skipped 0 (already present), failed 3"),
        "{stdout}"
    );
    assert!(stderr.contains("line 3: email:"), "{stderr}");
    assert!(stderr.contains("line 4: mobile:"), "{stderr}");
    assert!(stderr.contains("line 5: password_hash:"), "{stderr}");

    // Imported users sign in with their old password; their data came across normalised.
    let r = app.login("good.one@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<serde_json::Value>().await.unwrap());
    let me: serde_json::Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["mobile"], "+8801812345678");
    assert_eq!(me["email"], "Good.One@example.com");
    assert!(
        me["created_at"].as_str().unwrap().starts_with("2023-05-01T10:00:00"),
        "{me}"
    );
    assert_eq!(app.login("good.two@example.com", PASSWORD).await.status(), 200);
    expect_problem(
        app.login("bad.mobile@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

async fn reimport_is_a_no_op(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = mixed_file(&app).await;
    let path = file.path().to_str().unwrap();
    assert_eq!(run_import(&app, &["--file", path]).status.code(), Some(3));
    let again = run_import(&app, &["--file", path]);
    let (stdout, _) = text(&again);
    assert!(
        stdout.contains("imported 0, skipped 2 (already present), failed 3"),
        "{stdout}"
    );
    assert_eq!(app.login("good.one@example.com", PASSWORD).await.status(), 200);
}

async fn strict_import_writes_nothing_when_a_row_is_bad(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = mixed_file(&app).await;
    let out = run_import(&app, &["--strict", "--file", file.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("nothing was written"), "{stdout}");
    expect_problem(
        app.login("good.one@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

async fn dry_run_counts_without_writing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = mixed_file(&app).await;
    let out = run_import(&app, &["--dry-run", "--file", file.path().to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("would import 2, skipped 0 (already present), failed 3"),
        "{stdout}"
    );
    expect_problem(
        app.login("good.one@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

async fn csv_files_import_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let hash = argon2_hash(&app, PASSWORD).await;
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    use std::io::Write;
    writeln!(
        f,
        "email,password_hash,first_name,last_name,date_of_birth,gender,mobile,is_email_verified,extra_column"
    )
    .unwrap();
    writeln!(
        f,
        "csv.user@example.com,\"{hash}\",Nadia,Islam,1995-07-09,female,+8801912345678,true,ignored"
    )
    .unwrap();
    writeln!(
        f,
        "second@example.com,\"{hash}\",N4dia,Islam,1995-07-09,female,+8801912345678,true,ignored"
    )
    .unwrap();
    let out = run_import(&app, &["--file", f.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("imported 1, skipped 0 (already present), failed 1"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("line 3: first_name:"), "{stderr}");
    assert_eq!(app.login("csv.user@example.com", PASSWORD).await.status(), 200);
}

/// Seed 000's users table, as SQLAlchemy would have created it in the old system.
const SEED_000_USERS: &str = "
    CREATE TYPE gender AS ENUM ('male', 'female', 'other', 'prefer_not_to_say');
    CREATE TABLE users (
        id UUID PRIMARY KEY, first_name VARCHAR(50), last_name VARCHAR(50), date_of_birth DATE,
        gender gender, email VARCHAR(255) UNIQUE NOT NULL, mobile VARCHAR(20), password_hash VARCHAR(255),
        created_at TIMESTAMP, updated_at TIMESTAMP, last_login TIMESTAMP, is_active BOOLEAN DEFAULT TRUE,
        is_email_verified BOOLEAN DEFAULT FALSE, mfa_enabled BOOLEAN DEFAULT FALSE);";

async fn import_from_a_postgres_users_table(backend: Backend) {
    if !postgres_available() {
        return;
    }
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let source_url = fresh_database(Backend::Postgres, dir.path()).await;
    let pool = sqlx::PgPool::connect(&source_url).await.unwrap();
    sqlx::raw_sql(SEED_000_USERS).execute(&pool).await.unwrap();
    let hash = argon2_hash(&app, PASSWORD).await;
    for (email, mobile) in [
        ("legacy.one@example.com", "+8801712345678"),
        ("legacy.two@example.com", "01612345678"),
    ] {
        sqlx::query("INSERT INTO users (id, first_name, last_name, date_of_birth, gender, email, mobile, password_hash, created_at, is_email_verified) VALUES ($1, 'Sadia', 'Rahman', '1992-03-04', 'female', $2, $3, $4, '2022-01-02 03:04:05', TRUE)")
            .bind(uuid::Uuid::new_v4())
            .bind(email)
            .bind(mobile)
            .bind(&hash)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let out = run_import(&app, &["--from-postgres", &source_url, "--table", "users"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("imported 2, skipped 0 (already present), failed 0"),
        "{stdout}"
    );
    let r = app.login("legacy.two@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<serde_json::Value>().await.unwrap());
    let me: serde_json::Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["gender"], "female");
    assert_eq!(me["date_of_birth"], "1992-03-04");
}

async fn imported_totp_secrets_keep_the_second_factor(backend: Backend) {
    use crate::mfa_support::{challenge, totp_now};
    let app = TestApp::spawn(backend).await;
    let hash = argon2_hash(&app, PASSWORD).await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let mut f = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    use std::io::Write;
    writeln!(f, "{}", json!({"email": "mfa.user@example.com", "password_hash": hash, "is_email_verified": true, "totp_secret": secret})).unwrap();
    writeln!(
        f,
        "{}",
        json!({"email": "bad.secret@example.com", "password_hash": hash, "totp_secret": "not base32!"})
    )
    .unwrap();
    let out = run_import(&app, &["--file", f.path().to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(
        stdout.contains("imported 1, skipped 0 (already present), failed 1"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("line 2: totp_secret:"), "{stderr}");

    // The password alone is not enough any more: the imported authenticator app is needed.
    let r = app.login("mfa.user@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let step: serde_json::Value = r.json().await.unwrap();
    assert_eq!(step["mfa_required"], true, "{step}");
    assert!(step.get("access_token").is_none());
    let r = challenge(
        &app,
        step["mfa_token"].as_str().unwrap(),
        Some("totp"),
        &totp_now(&app, secret),
    )
    .await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<serde_json::Value>().await.unwrap());
    let me: serde_json::Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);
}

both!(
    imported_totp_secrets_keep_the_second_factor,
    import_reports_bad_rows_and_imports_the_rest,
    reimport_is_a_no_op,
    strict_import_writes_nothing_when_a_row_is_bad,
    dry_run_counts_without_writing,
    csv_files_import_too,
    import_from_a_postgres_users_table,
);
