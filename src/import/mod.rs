//! `gatehouse import`: moves users over from an existing auth system without a password reset.
//!
//! Rows come from a JSON Lines or CSV file ([`source`]) or straight from a PostgreSQL database
//! with seed 000's `users` table. Each row is validated with the same domain rules as
//! registration (names, date of birth, gender, email, Bangladeshi mobile, username); a password
//! hash must be in a format gatehouse can verify at login (so an unknown format is refused here,
//! never discovered at login). Hashes are copied, not computed, which is what makes 100,000 users
//! import in seconds.
//!
//! Re-running an import is a no-op: a row whose email already has an account is left as it is
//! and counted as "already present". Rows are written in batches, each in a transaction; with
//! `--strict` any bad row aborts before anything is written, and the whole import is one
//! transaction. `--dry-run` validates and counts without writing.

pub mod source;

use crate::auth::mfa::totp::{seal_with, TotpSecret};
use crate::auth::password::classify_hash;
use crate::config::Config;
use crate::domain::{BdMobile, DateOfBirth, Email, Gender, PersonName, Username};
use crate::store::{ImportOutcome, NewImportedUser, NewMfaFactor, NewUser, Store};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use std::io::IsTerminal;
use uuid::Uuid;

/// One row as the source has it; every field is text (or absent) until validated.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ImportRow {
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<String>,
    pub mobile: Option<String>,
    pub username: Option<String>,
    #[serde(default, deserialize_with = "source::flexible_bool")]
    pub is_email_verified: Option<bool>,
    pub totp_secret: Option<String>,
    pub role: Option<String>,
    pub created_at: Option<String>,
}

/// Why one row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line (file) or row number (database).
    pub line: usize,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub strict: bool,
    pub dry_run: bool,
    pub batch_size: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub imported: usize,
    /// Already present (an account with that email exists): left unchanged.
    pub skipped: usize,
    pub failed: usize,
    pub errors: Vec<RowError>,
    /// `--strict` stopped the import; nothing was written.
    pub aborted: bool,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%#z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A validated row: the user, and the TOTP key to enrol if the old system had one.
pub struct ImportUser {
    pub user: NewUser,
    pub totp: Option<TotpSecret>,
}

/// Validates one row into the user to insert, or every problem of the row.
pub fn validate(
    row: &ImportRow,
    line: usize,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<ImportUser, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, reason: String| {
        errors.push(RowError {
            line,
            field: field.into(),
            reason,
        })
    };
    let email = match present(&row.email).map(Email::parse) {
        None => {
            fail("email", "is required".into());
            None
        }
        Some(Err(e)) => {
            fail("email", e.message);
            None
        }
        Some(Ok(e)) => Some(e),
    };
    let first_name =
        present(&row.first_name).and_then(|v| PersonName::parse(v).map_err(|e| fail("first_name", e.message)).ok());
    let last_name =
        present(&row.last_name).and_then(|v| PersonName::parse(v).map_err(|e| fail("last_name", e.message)).ok());
    let date_of_birth = present(&row.date_of_birth).and_then(|v| {
        DateOfBirth::parse(v, now.date_naive(), config.min_age)
            .map_err(|e| fail("date_of_birth", e.message))
            .ok()
    });
    let gender = present(&row.gender).and_then(|v| Gender::parse(v).map_err(|e| fail("gender", e.message)).ok());
    let mobile = present(&row.mobile).and_then(|v| BdMobile::parse(v).map_err(|e| fail("mobile", e.message)).ok());
    let username =
        present(&row.username).and_then(|v| Username::parse(v).map_err(|e| fail("username", e.message)).ok());
    let password_hash = present(&row.password_hash).map(str::to_string);
    if let Some(h) = &password_hash {
        if classify_hash(h).is_none() {
            fail("password_hash", "is not a hash format gatehouse can verify (bcrypt $2a$/$2b$/$2y$, Argon2 PHC, passlib $pbkdf2-sha256$/$pbkdf2-sha512$, Django pbkdf2_sha256$) or its cost is out of range".into());
        }
    }
    let roles = &config.roles;
    let role = present(&row.role).unwrap_or(roles.default_role().as_str()).to_string();
    if !roles.contains(&role) {
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        fail(
            "role",
            format!("must be one of the configured roles (ROLES): {}", names.join(", ")),
        );
    }
    let totp = present(&row.totp_secret).and_then(|v| {
        TotpSecret::from_base32(v)
            .ok_or_else(|| {
                fail(
                    "totp_secret",
                    "must be the base32 TOTP key (at least 16 characters, as in an otpauth:// URI)".into(),
                )
            })
            .ok()
    });
    let created_at = match present(&row.created_at) {
        None => now,
        Some(v) => parse_timestamp(v).unwrap_or_else(|| {
            fail(
                "created_at",
                "must be a timestamp such as 2024-05-01T10:00:00Z or 2024-05-01 10:00:00".into(),
            );
            now
        }),
    };
    match email {
        Some(email) if errors.is_empty() => Ok(ImportUser {
            totp,
            user: NewUser {
                id: Uuid::new_v4(),
                email: email.as_str().to_string(),
                email_canonical: email.canonical(),
                username_canonical: username.as_ref().map(|u| u.canonical()),
                username: username.map(|u| u.as_str().to_string()),
                first_name: first_name.map(|n| n.as_str().to_string()),
                last_name: last_name.map(|n| n.as_str().to_string()),
                date_of_birth: date_of_birth.map(|d| d.date()),
                gender: gender.map(|g| g.as_str().to_string()),
                mobile: mobile.map(|m| m.as_str().to_string()),
                password_hash,
                role,
                is_email_verified: row.is_email_verified.unwrap_or(false),
                created_at,
            },
        }),
        _ => Err(errors),
    }
}

/// The imported user with the TOTP factor they had, sealed and to be inserted active (they
/// enrolled it in the old system), so moving over never removes a second factor.
fn with_factor(
    imported: &ImportUser,
    server_key: Option<&[u8]>,
    now: DateTime<Utc>,
) -> anyhow::Result<NewImportedUser> {
    let active_totp = match (&imported.totp, server_key) {
        (Some(secret), Some(key)) => {
            let user_id = imported.user.id;
            let sealed =
                seal_with(key, user_id, secret).map_err(|e| anyhow::anyhow!("could not seal a TOTP secret: {e}"))?;
            Some(NewMfaFactor {
                id: Uuid::new_v4(),
                user_id,
                method: "totp".into(),
                secret: Some(sealed),
                created_at: now,
            })
        }
        _ => None,
    };
    Ok(NewImportedUser {
        user: imported.user.clone(),
        active_totp,
    })
}

/// Validates and writes `rows` (already read from the source, numbered), reporting progress on
/// a terminal.
pub async fn run(
    store: &Store,
    config: &Config,
    rows: Vec<Result<(usize, ImportRow), RowError>>,
    options: &ImportOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut valid = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashMap::new();
    for row in &rows {
        let (line, row) = match row {
            Ok((line, row)) => (line, row),
            Err(e) => {
                summary.errors.push(e.clone());
                continue;
            }
        };
        match validate(row, *line, config, now) {
            Ok(user) => {
                if let Some(first) = seen.insert(user.user.email_canonical.clone(), *line) {
                    summary.errors.push(RowError {
                        line: *line,
                        field: "email".into(),
                        reason: format!("repeats the address of line {first}"),
                    });
                    continue;
                }
                valid.push((*line, user));
            }
            Err(errors) => summary.errors.extend(errors),
        }
    }
    summary.failed = summary
        .errors
        .iter()
        .map(|e| e.line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if options.strict && summary.failed > 0 {
        summary.aborted = true;
        return Ok(summary);
    }
    if options.dry_run {
        for (_, user) in &valid {
            match store.users().by_email(&user.user.email_canonical).await? {
                Some(_) => summary.skipped += 1,
                None => summary.imported += 1,
            }
        }
        return Ok(summary);
    }
    let progress = std::io::stderr().is_terminal();
    let total = valid.len();
    let batch_size = if options.strict {
        total.max(1)
    } else {
        options.batch_size.max(1)
    };
    // The key that seals TOTP secrets, shared with the server (see auth::mfa::totp).
    let server_key = if valid.iter().any(|(_, u)| u.totp.is_some()) {
        let kek = crate::auth::key_encryption::KeyEncryption::from_config(config)?;
        Some(crate::auth::secrets::server_secret(store, &kek, "code_hash_key", now).await?)
    } else {
        None
    };
    let mut done = 0;
    for batch in valid.chunks(batch_size) {
        let users = batch
            .iter()
            .map(|(_, u)| with_factor(u, server_key.as_deref(), now))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outcomes = store.users().import(&users, options.strict).await?;
        for ((line, _), outcome) in batch.iter().zip(&outcomes) {
            match outcome {
                ImportOutcome::Inserted => summary.imported += 1,
                ImportOutcome::AlreadyPresent => summary.skipped += 1,
                ImportOutcome::Conflict(field) => {
                    summary.failed += 1;
                    summary.errors.push(RowError {
                        line: *line,
                        field: field.to_string(),
                        reason: "is already taken by another account".into(),
                    });
                }
            }
        }
        if options.strict && outcomes.iter().any(|o| matches!(o, ImportOutcome::Conflict(_))) {
            summary.aborted = true;
            summary.imported = 0;
            summary.skipped = 0;
            return Ok(summary);
        }
        done += batch.len();
        if progress {
            eprint!("\rimported {done}/{total} rows");
        }
    }
    if progress {
        eprintln!();
    }
    summary.errors.sort_by_key(|e| e.line);
    Ok(summary)
}
