//! The failed-login lockout (`login_failures`). Each counter update is one upsert, so two
//! instances counting the same account at once cannot lose a failure, and only one of them
//! sees the row lock.

use super::engine::{on_engine, Db};
use super::StoreResult;
use chrono::{DateTime, Utc};

/// One failed sign-in to count.
#[derive(Debug, Clone)]
pub struct LoginFailure<'a> {
    pub subject: &'a str,
    pub ip: &'a str,
    pub now: DateTime<Utc>,
    /// A row whose last failure is older than this starts again at one.
    pub stale_before: DateTime<Utc>,
    /// Failures from this IP that lock it out of the account.
    pub ip_threshold: u32,
    /// Failures from all IPs that lock the account for everyone.
    pub all_threshold: u32,
    pub lock_until: DateTime<Utc>,
}

/// What the failure changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockoutChange {
    /// This failure locked the subject for this IP.
    pub ip_locked: bool,
    /// This failure locked the subject for every IP.
    pub all_locked: bool,
}

/// The row key of the count over all IPs.
pub const ALL_IPS: &str = "*";

const COUNT: &str = "INSERT INTO login_failures (subject, ip, failures, locked_until, updated_at) \
    VALUES ($1, $2, 1, NULL, $3) \
    ON CONFLICT (subject, ip) DO UPDATE SET \
    failures = CASE WHEN login_failures.updated_at < $4 OR login_failures.locked_until <= $3 \
        THEN 1 ELSE login_failures.failures + 1 END, \
    locked_until = CASE WHEN login_failures.locked_until > $3 THEN login_failures.locked_until ELSE NULL END, \
    updated_at = $3";
const LOCK: &str = "UPDATE login_failures SET locked_until = $3, failures = 0 \
    WHERE subject = $1 AND ip = $2 AND failures >= $4 AND locked_until IS NULL";

pub struct Lockout<'a>(pub(super) &'a Db);

impl Lockout<'_> {
    /// Counts one failed sign-in in the subject's per-IP and all-IP rows; says which it locked.
    pub async fn record_failure(&self, f: &LoginFailure<'_>) -> StoreResult<LockoutChange> {
        Ok(LockoutChange {
            ip_locked: self.count_row(f, f.ip, f.ip_threshold).await?,
            all_locked: self.count_row(f, ALL_IPS, f.all_threshold).await?,
        })
    }

    /// Counts the failure in one row; `true` if that locked it.
    async fn count_row(&self, f: &LoginFailure<'_>, ip: &str, threshold: u32) -> StoreResult<bool> {
        on_engine!(self.0, |pool| {
            sqlx::query(COUNT)
                .bind(f.subject)
                .bind(ip)
                .bind(f.now)
                .bind(f.stale_before)
                .execute(pool)
                .await?;
            let locked = sqlx::query(LOCK)
                .bind(f.subject)
                .bind(ip)
                .bind(f.lock_until)
                .bind(i64::from(threshold))
                .execute(pool)
                .await?;
            Ok(locked.rows_affected() == 1)
        })
    }

    /// The end of the lock on `subject` for `ip` (its own or the all-IP one), if still running.
    pub async fn locked_until(
        &self,
        subject: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let until: Vec<DateTime<Utc>> = on_engine!(self.0, |pool| {
            sqlx::query_scalar(
                "SELECT locked_until FROM login_failures WHERE subject = $1 AND ip IN ($2, '*') \
                 AND locked_until IS NOT NULL AND locked_until > $3",
            )
            .bind(subject)
            .bind(ip)
            .bind(now)
            .fetch_all(pool)
            .await?
        });
        Ok(until.into_iter().max())
    }

    /// Forgets the failures and locks of `subject`: from `ip` and over all IPs (a successful
    /// sign-in), or all of them (`None`: the unlock link).
    pub async fn clear(&self, subject: &str, ip: Option<&str>) -> StoreResult<u64> {
        on_engine!(self.0, |pool| {
            let done = match ip {
                None => {
                    sqlx::query("DELETE FROM login_failures WHERE subject = $1")
                        .bind(subject)
                        .execute(pool)
                        .await?
                }
                Some(ip) => {
                    sqlx::query("DELETE FROM login_failures WHERE subject = $1 AND ip IN ($2, '*')")
                        .bind(subject)
                        .bind(ip)
                        .execute(pool)
                        .await?
                }
            };
            Ok(done.rows_affected())
        })
    }

    /// Drops rows that neither count recent failures nor hold a lock.
    pub async fn prune(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_engine!(self.0, |pool| {
            let done = sqlx::query(
                "DELETE FROM login_failures WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $1)",
            )
            .bind(before)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
        })
    }
}
