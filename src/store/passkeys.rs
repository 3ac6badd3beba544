//! Passkeys (WebAuthn credentials) and the ceremonies between a start and its finish.

use super::engine::{on_engine, Db};
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct Passkeys<'a>(pub(super) &'a Db);

#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The credential id, base64url without padding, as the browser reports it.
    pub credential_id: String,
    /// webauthn-rs's record of the credential, as JSON.
    pub credential: String,
    pub name: String,
    pub sign_count: i64,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// JSON array of transport hints (`usb`, `internal`, `hybrid`, …).
    pub transports: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: String,
    pub credential: String,
    pub name: String,
    pub sign_count: i64,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub transports: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A passkey just stored, as it reads back: never used yet.
impl From<NewPasskey> for PasskeyRecord {
    fn from(p: NewPasskey) -> Self {
        Self {
            id: p.id,
            user_id: p.user_id,
            credential_id: p.credential_id,
            credential: p.credential,
            name: p.name,
            sign_count: p.sign_count,
            user_verified: p.user_verified,
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
            transports: p.transports,
            created_at: p.created_at,
            last_used_at: None,
        }
    }
}

/// What a successful assertion changes: the counter it reported and the current backup flags.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyUse {
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewCeremony {
    pub id_hash: String,
    pub purpose: &'static str,
    pub user_id: Option<Uuid>,
    /// webauthn-rs's challenge state, as JSON.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// At most this many unfinished ceremonies of this purpose are kept for `user_id`, this one
    /// included: starting another drops the oldest. `None`: no bound.
    pub keep_per_user: Option<u32>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CeremonyRecord {
    pub purpose: String,
    pub user_id: Option<Uuid>,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, credential_id, credential, name, sign_count, user_verified, \
    backup_eligible, backup_state, transports, created_at, last_used_at";

impl Passkeys<'_> {
    /// Stores a new passkey; `Duplicate("key")` if the credential is registered already (to
    /// this account or another: a credential id names one key pair).
    pub async fn insert(&self, p: &NewPasskey) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO passkeys (id, user_id, credential_id, credential, name, sign_count, user_verified, \
                 backup_eligible, backup_state, transports, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(p.id)
            .bind(p.user_id)
            .bind(&p.credential_id)
            .bind(&p.credential)
            .bind(&p.name)
            .bind(p.sign_count)
            .bind(p.user_verified)
            .bind(p.backup_eligible)
            .bind(p.backup_state)
            .bind(&p.transports)
            .bind(p.created_at)
            .execute(pool)
            .await
            .map_err(map_unique)?;
            Ok(())
        })
    }

    /// The user's passkeys, oldest first.
    pub async fn of_user(&self, user_id: Uuid) -> StoreResult<Vec<PasskeyRecord>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
            ))
            .bind(user_id)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn count_of_user(&self, user_id: Uuid) -> StoreResult<i64> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?)
        })
    }

    pub async fn by_credential_id(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        on_engine!(self.0, |pool| {
            Ok(
                sqlx::query_as(&format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"))
                    .bind(credential_id)
                    .fetch_optional(pool)
                    .await?,
            )
        })
    }

    /// Records a successful assertion, only if its counter moved forward (or the authenticator
    /// keeps no counter: 0 then, as before). `false`: another assertion with the same or a
    /// later counter was recorded first, which is what a cloned key looks like.
    pub async fn record_use(&self, id: Uuid, used: &PasskeyUse) -> StoreResult<bool> {
        on_engine!(self.0, |pool| {
            let done = sqlx::query(
                "UPDATE passkeys SET sign_count = $2, backup_eligible = $3, backup_state = $4, last_used_at = $5 \
                 WHERE id = $1 AND (sign_count < $2 OR ($2 = 0 AND sign_count = 0))",
            )
            .bind(id)
            .bind(used.sign_count)
            .bind(used.backup_eligible)
            .bind(used.backup_state)
            .bind(used.at)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Renames one of the user's passkeys; `false` if the user has no such passkey.
    pub async fn rename(&self, user_id: Uuid, id: Uuid, name: &str) -> StoreResult<bool> {
        on_engine!(self.0, |pool| {
            let done = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $2 AND user_id = $1")
                .bind(user_id)
                .bind(id)
                .bind(name)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Deletes one of the user's passkeys unless it is the user's last way to sign in (see
    /// [`remove_way_in`](super::shared::remove_way_in)). Returns whether it was deleted.
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
        super::shared::remove_way_in(self.0, super::shared::WayIn::Passkey, user_id, id).await
    }

    /// Stores a ceremony; with `keep_per_user`, first drops the user's oldest unfinished
    /// ceremonies of the same purpose beyond the bound (in the same transaction).
    pub async fn start_ceremony(&self, c: &NewCeremony) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            let mut tx = pool.begin().await?;
            if let (Some(user_id), Some(keep)) = (c.user_id, c.keep_per_user) {
                sqlx::query(
                    "DELETE FROM webauthn_ceremonies WHERE user_id = $1 AND purpose = $2 AND id_hash NOT IN ( \
                     SELECT id_hash FROM webauthn_ceremonies WHERE user_id = $1 AND purpose = $2 \
                     ORDER BY created_at DESC, id_hash LIMIT $3)",
                )
                .bind(user_id)
                .bind(c.purpose)
                .bind(i64::from(keep.saturating_sub(1)))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO webauthn_ceremonies (id_hash, purpose, user_id, state, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.id_hash)
            .bind(c.purpose)
            .bind(c.user_id)
            .bind(&c.state)
            .bind(c.created_at)
            .bind(c.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Takes a ceremony: deletes it and answers what it held, expired or not (the caller says
    /// which), so a challenge can be answered once at most, even by two requests at once.
    pub async fn take_ceremony(&self, id_hash: &str) -> StoreResult<Option<CeremonyRecord>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_as(
                "DELETE FROM webauthn_ceremonies WHERE id_hash = $1 RETURNING purpose, user_id, state, expires_at",
            )
            .bind(id_hash)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Deletes ceremonies that ended before `before` (never finished); returns how many.
    pub async fn prune_ceremonies(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_engine!(self.0, |pool| {
            let done = sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
                .bind(before)
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        })
    }
}
