//! MFA: factors, recovery codes, TOTP step claims and failure counts.

use super::cache::Change;
use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct Mfa<'a>(pub(super) &'a Db);

impl Mfa<'_> {
    /// Stores a pending factor, replacing an earlier pending one of the same method.
    /// `Duplicate("key")` when that method is already active. The user's row lock makes two
    /// enrolments take turns (the second replaces the first's pending factor) instead of both
    /// deleting nothing and the second's insert hitting the first's row.
    pub async fn save_pending_factor(&self, f: &NewMfaFactor) -> StoreResult<()> {
        on_engine!(self.0, |pool, d| {
            let mut tx = pool.begin().await?;
            d::lock_user_row(&mut tx, f.user_id).await?;
            sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1 AND method = $2 AND status = 'pending'")
                .bind(f.user_id)
                .bind(&f.method)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO mfa_factors (id, user_id, method, secret, status, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)",
            )
            .bind(f.id)
            .bind(f.user_id)
            .bind(&f.method)
            .bind(&f.secret)
            .bind(f.created_at)
            .execute(&mut *tx)
            .await
            .map_err(map_unique)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every factor of the user, pending and active.
    pub async fn factors(&self, user_id: Uuid) -> StoreResult<Vec<MfaFactorRecord>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_as(
                "SELECT id, user_id, method, secret, status, created_at, activated_at FROM mfa_factors \
             WHERE user_id = $1 ORDER BY created_at, method",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// In one transaction: marks the pending factor active, sets `users.mfa_enabled` and, when
    /// `recovery_hashes` is not empty, replaces the user's recovery codes with them. `false` if the
    /// factor was not pending any more (a concurrent verify won).
    pub async fn activate_factor(
        &self,
        factor_id: Uuid,
        user_id: Uuid,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool| {
                    let mut tx = pool.begin().await?;
                    let r = sqlx::query(
                        "UPDATE mfa_factors SET status = 'active', activated_at = $3 \
             WHERE id = $1 AND user_id = $2 AND status = 'pending'",
                    )
                    .bind(factor_id)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() != 1 {
                        return Ok(false);
                    }
                    sqlx::query("UPDATE users SET mfa_enabled = TRUE, updated_at = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    if !recovery_hashes.is_empty() {
                        insert_recovery_codes!(tx, user_id, recovery_hashes, now);
                    }
                    tx.commit().await?;
                    Ok(true)
                })
            })
            .await
    }

    /// Replaces every recovery code of the user (used or not) with new ones.
    pub async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            let mut tx = pool.begin().await?;
            insert_recovery_codes!(tx, user_id, hashes, now);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Spends one unused recovery code; `false` if no unused code has this hash.
    pub async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        on_engine!(self.0, |pool| {
            let r = sqlx::query(
                "UPDATE mfa_recovery_codes SET used_at = $3 WHERE id = \
             (SELECT id FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL LIMIT 1) \
             AND used_at IS NULL",
            )
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    pub async fn unused_recovery_codes(&self, user_id: Uuid) -> StoreResult<i64> {
        on_engine!(self.0, |pool| {
            Ok(
                sqlx::query_scalar("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user_id)
                    .fetch_one(pool)
                    .await?,
            )
        })
    }

    /// Removes every factor and recovery code and clears `users.mfa_enabled`.
    pub async fn disable(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool| {
                    let mut tx = pool.begin().await?;
                    sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE users SET mfa_enabled = FALSE, updated_at = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                })
            })
            .await
    }

    /// Records `step` as the last accepted TOTP time step if it is later than the stored one;
    /// `false` means the step (or a later one) was already used: a replay.
    pub async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> StoreResult<bool> {
        on_engine!(self.0, |pool| {
            // One conditional upsert: two requests with the same code cannot both win.
            let r = sqlx::query(
                "INSERT INTO mfa_user_state (user_id, last_totp_step) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET last_totp_step = excluded.last_totp_step \
             WHERE mfa_user_state.last_totp_step IS NULL OR mfa_user_state.last_totp_step < excluded.last_totp_step",
            )
            .bind(user_id)
            .bind(step)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Counts a wrong MFA code for the user; on reaching `max` the counter restarts and MFA is
    /// locked until `lock_until`. Returns the lock end if one is (now) in force.
    pub async fn record_failure(
        &self,
        user_id: Uuid,
        max: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        on_engine!(self.0, |pool| {
            let max = i32::try_from(max).unwrap_or(i32::MAX);
            let locked: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
            "INSERT INTO mfa_user_state (user_id, failed_count, locked_until) \
             VALUES ($1, CASE WHEN 1 >= $2 THEN 0 ELSE 1 END, CASE WHEN 1 >= $2 THEN $3 END) \
             ON CONFLICT (user_id) DO UPDATE SET \
             locked_until = CASE WHEN mfa_user_state.failed_count + 1 >= $2 THEN $3 ELSE mfa_user_state.locked_until END, \
             failed_count = CASE WHEN mfa_user_state.failed_count + 1 >= $2 THEN 0 ELSE mfa_user_state.failed_count + 1 END \
             RETURNING locked_until",
        )
        .bind(user_id)
        .bind(max)
        .bind(lock_until)
        .fetch_optional(pool)
        .await?;
            Ok(locked.flatten())
        })
    }

    pub async fn clear_failures(&self, user_id: Uuid) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query("UPDATE mfa_user_state SET failed_count = 0, locked_until = NULL WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn locked_until(&self, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
        on_engine!(self.0, |pool| {
            let locked: Option<Option<DateTime<Utc>>> =
                sqlx::query_scalar("SELECT locked_until FROM mfa_user_state WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_optional(pool)
                    .await?;
            Ok(locked.flatten())
        })
    }
}
