//! Signing keys and server secrets (the HMAC and cookie keys every instance must share).

use super::engine::{on_engine, Db};
use super::*;
use chrono::{DateTime, Utc};

pub struct Keys<'a>(pub(super) &'a Db);

impl Keys<'_> {
    /// Every signing key, active and retired, oldest first.
    pub async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_as(
            "SELECT kid, algorithm, private_key, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at",
        )
        .fetch_all(pool)
        .await?)
        })
    }

    /// `Duplicate("key")` if the kid exists.
    pub async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at, retired_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&k.kid)
            .bind(&k.algorithm)
            .bind(&k.private_key)
            .bind(&k.public_key)
            .bind(k.created_at)
            .bind(k.retired_at)
            .execute(pool)
            .await
            .map_err(map_unique)?;
            Ok(())
        })
    }

    /// Inserts `value` under `name` unless one exists, then returns the stored value, so
    /// instances starting together agree on one secret.
    pub async fn get_or_create_secret(&self, name: &str, value: &[u8], now: DateTime<Utc>) -> StoreResult<Vec<u8>> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(value)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Rewrites a secret's stored form (sealing it under the key-encryption key); the value
    /// it holds does not change.
    pub async fn replace_secret(&self, name: &str, value: &[u8]) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query("UPDATE server_secrets SET value = $2 WHERE name = $1")
                .bind(name)
                .bind(value)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Rewrites a signing key's stored private half (sealing it); the key does not change.
    pub async fn replace_signing_private_key(&self, kid: &str, private_key: &str) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query("UPDATE signing_keys SET private_key = $2 WHERE kid = $1")
                .bind(kid)
                .bind(private_key)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Retires every active signing key but `keep` (they stay published for verification).
    pub async fn retire_signing_keys(&self, keep: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        on_engine!(self.0, |pool| {
            let r = sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE kid <> $1 AND retired_at IS NULL")
                .bind(keep)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(r.rows_affected())
        })
    }
}
