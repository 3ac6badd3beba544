//! Linked provider identities (OAuth / OIDC sign-in).

use super::engine::{on_engine, Db};
use super::*;
use uuid::Uuid;

pub struct Identities<'a>(pub(super) &'a Db);

impl Identities<'_> {
    /// The user a provider identity (provider, subject) is linked to, if any.
    pub async fn user_of(&self, provider: &str, provider_user_id: &str) -> StoreResult<Option<Uuid>> {
        on_engine!(self.0, |pool| {
            Ok(
                sqlx::query_scalar("SELECT user_id FROM oauth_accounts WHERE provider = $1 AND provider_user_id = $2")
                    .bind(provider)
                    .bind(provider_user_id)
                    .fetch_optional(pool)
                    .await?,
            )
        })
    }

    /// Links a provider identity to a user; `Duplicate("identity")` if it is linked already.
    pub async fn link(&self, account: &NewOAuthAccount) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO oauth_accounts (id, user_id, provider, provider_user_id, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(account.id)
            .bind(account.user_id)
            .bind(&account.provider)
            .bind(&account.provider_user_id)
            .bind(&account.email)
            .bind(account.created_at)
            .execute(pool)
            .await
            .map_err(map_unique)?;
            Ok(())
        })
    }

    pub async fn of_user(&self, user_id: Uuid) -> StoreResult<Vec<OAuthAccountRecord>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_as(
                "SELECT id, provider, email, created_at FROM oauth_accounts WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Unlinks one identity unless it is the user's last way to sign in (see
    /// [`remove_way_in`](super::shared::remove_way_in)). Returns whether it was unlinked.
    pub async fn unlink(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
        super::shared::remove_way_in(self.0, super::shared::WayIn::Identity, user_id, id).await
    }
}
