//! Changing the sign-in address: the pending change and its confirmation.

use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An account that moved to a new address by an email-change link.
#[derive(Debug, Clone)]
pub struct ChangedEmail {
    pub user_id: Uuid,
    pub old_email: String,
    pub new_email: String,
}

pub struct EmailChanges<'a>(pub(super) &'a Db);

impl EmailChanges<'_> {
    /// Stores an email-change link together with the address it is for.
    pub async fn insert(&self, t: &NewOneTimeToken, new_email: &str, new_email_canonical: &str) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            let mut tx = pool.begin().await?;
            insert_one_time_token!(&mut *tx, t)?;
            sqlx::query(
                "INSERT INTO email_changes (token_id, user_id, new_email, new_email_canonical) VALUES ($1, $2, $3, $4)",
            )
            .bind(t.id)
            .bind(t.user_id)
            .bind(new_email)
            .bind(new_email_canonical)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Spends a live email-change link and moves its account to the address, in one
    /// transaction: `None` if the link is no longer live, `Duplicate("email")` (link left
    /// unspent) if another account has the address by now.
    pub async fn confirm(&self, token_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<ChangedEmail>> {
        let changed: StoreResult<Option<ChangedEmail>> = async {
            on_engine!(self.0, |pool| {
                let mut tx = pool.begin().await?;
                let spent = sqlx::query(
                    "UPDATE verification_tokens SET used_at = $2 \
             WHERE id = $1 AND purpose = 'email_change' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
                )
                .bind(token_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if spent.rows_affected() != 1 {
                    return Ok(None);
                }
                let Some((user_id, new_email, canonical)): Option<(Uuid, String, String)> = sqlx::query_as(
                    "SELECT user_id, new_email, new_email_canonical FROM email_changes WHERE token_id = $1",
                )
                .bind(token_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                let (old_email,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(
                "UPDATE users SET email = $2, email_canonical = $3, is_email_verified = TRUE, email_verified_at = $4, \
             updated_at = $4 WHERE id = $1",
            )
            .bind(user_id)
            .bind(&new_email)
            .bind(&canonical)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_unique)?;
                tx.commit().await?;
                Ok(Some(ChangedEmail {
                    user_id,
                    old_email,
                    new_email,
                }))
            })
        }
        .await;
        if let Ok(Some(c)) = &changed {
            self.0.cache.changed(super::cache::Change::User(c.user_id));
        }
        changed
    }
}
