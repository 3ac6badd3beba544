//! Linked provider identities (social login).

use super::*;

pub(super) async fn oauth_account_user(
    pool: &SqlitePool,
    provider: &str,
    provider_user_id: &str,
) -> StoreResult<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM oauth_accounts WHERE provider = ?1 AND provider_user_id = ?2")
            .bind(provider)
            .bind(provider_user_id)
            .fetch_optional(pool)
            .await?,
    )
}

pub(super) async fn insert_oauth_account(pool: &SqlitePool, account: &NewOAuthAccount) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO oauth_accounts (id, user_id, provider, provider_user_id, email, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
}

pub(super) async fn oauth_accounts_for_user(pool: &SqlitePool, user_id: Uuid) -> StoreResult<Vec<OAuthAccountRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, provider, email, created_at FROM oauth_accounts WHERE user_id = ?1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn unlink_oauth_account(pool: &SqlitePool, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query(
        "DELETE FROM oauth_accounts WHERE id = ?2 AND user_id = ?1 AND ( \
           EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash IS NOT NULL) \
           OR (SELECT COUNT(*) FROM oauth_accounts WHERE user_id = ?1) > 1)",
    )
    .bind(user_id)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
