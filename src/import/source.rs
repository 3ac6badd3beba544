//! Where imported rows come from: JSON Lines, CSV (a header row names the columns), or a
//! PostgreSQL database with seed 000's `users` table.
//!
//! Columns: `email` (required), `password_hash`, `first_name`, `last_name`, `date_of_birth`
//! (`YYYY-MM-DD`), `gender`, `mobile`, `username`, `is_email_verified` (`true/false`, `t/f`,
//! `1/0`), `totp_secret`, `role`, `created_at`. Unknown columns are ignored, so a full export
//! of the old table works as it is.

use super::{ImportRow, RowError};
use serde::{Deserialize, Deserializer};
use std::path::Path;

pub type Rows = Vec<Result<(usize, ImportRow), RowError>>;

fn bad(line: usize, reason: impl Into<String>) -> RowError {
    RowError {
        line,
        field: "row".into(),
        reason: reason.into(),
    }
}

/// Accepts JSON booleans and the text forms databases and spreadsheets write.
pub fn flexible_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Bool(b)) => Some(b),
        Some(Raw::Int(i)) => Some(i != 0),
        Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "true" | "t" | "1" | "yes" | "y" => Some(true),
            "false" | "f" | "0" | "no" | "n" => Some(false),
            other => return Err(serde::de::Error::custom(format!("`{other}` is not true or false"))),
        },
    })
}

pub fn read_jsonl(path: &Path) -> anyhow::Result<Rows> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<ImportRow>(l)
                .map(|row| (i + 1, row))
                .map_err(|e| bad(i + 1, format!("is not a JSON object with the documented columns: {e}")))
        })
        .collect())
}

pub fn read_csv(path: &Path) -> anyhow::Result<Rows> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let headers = reader.headers()?.clone();
    if !headers.iter().any(|h| h == "email") {
        anyhow::bail!("{} has no `email` column in its header row", path.display());
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // Line 1 is the header.
        let line = i + 2;
        rows.push(match record {
            Ok(record) => record
                .deserialize::<ImportRow>(Some(&headers))
                .map(|row| (line, row))
                .map_err(|e| bad(line, e.to_string())),
            Err(e) => Err(bad(line, e.to_string())),
        });
    }
    Ok(rows)
}

/// Reads seed 000's users table (columns missing from the table are read as empty).
pub async fn read_postgres(url: &str, table: &str) -> anyhow::Result<Rows> {
    use sqlx::Row;
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    if !valid(schema) || !valid(name) {
        anyhow::bail!("--table must be a table name such as users or public.users");
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&pool)
    .await?;
    if columns.is_empty() {
        anyhow::bail!("table {schema}.{name} not found (or has no columns)");
    }
    if !columns.iter().any(|c| c == "email") {
        anyhow::bail!("table {schema}.{name} has no email column");
    }
    let wanted = [
        "email",
        "password_hash",
        "first_name",
        "last_name",
        "date_of_birth",
        "gender",
        "mobile",
        "username",
        "is_email_verified",
        "totp_secret",
        "role",
        "created_at",
    ];
    let select: Vec<String> = wanted
        .iter()
        .map(|c| {
            if columns.iter().any(|have| have == c) {
                format!("\"{c}\"::text AS \"{c}\"")
            } else {
                format!("NULL::text AS \"{c}\"")
            }
        })
        .collect();
    let order = if columns.iter().any(|c| c == "created_at") {
        "ORDER BY created_at"
    } else {
        ""
    };
    let sql = format!("SELECT {} FROM \"{schema}\".\"{name}\" {order}", select.join(", "));
    let records = sqlx::query(&sql).fetch_all(&pool).await?;
    Ok(records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let get = |c: &str| r.try_get::<Option<String>, _>(c).ok().flatten();
            let verified = get("is_email_verified").map(|v| matches!(v.as_str(), "true" | "t" | "1"));
            Ok((
                i + 1,
                ImportRow {
                    email: get("email"),
                    password_hash: get("password_hash"),
                    first_name: get("first_name"),
                    last_name: get("last_name"),
                    date_of_birth: get("date_of_birth"),
                    gender: get("gender"),
                    mobile: get("mobile"),
                    username: get("username"),
                    is_email_verified: verified,
                    totp_secret: get("totp_secret"),
                    role: get("role"),
                    created_at: get("created_at"),
                },
            ))
        })
        .collect())
}
