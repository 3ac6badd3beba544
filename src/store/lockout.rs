//! SQL of the failed-login lockout (`login_failures`), for both backends. The statements are the
//! same apart from placeholders; each counter update is one upsert, so two instances counting
//! the same account at once cannot lose a failure, and only one of them sees the row lock.

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

macro_rules! lockout_sql {
    ($pool:ty, $p:literal) => {
        use super::*;

        const COUNT: &str = concat!(
            "INSERT INTO login_failures (subject, ip, failures, locked_until, updated_at) VALUES (",
            $p,
            "1, ",
            $p,
            "2, 1, NULL, ",
            $p,
            "3) ",
            "ON CONFLICT (subject, ip) DO UPDATE SET ",
            "failures = CASE WHEN login_failures.updated_at < ",
            $p,
            "4 OR login_failures.locked_until <= ",
            $p,
            "3 THEN 1 ELSE login_failures.failures + 1 END, ",
            "locked_until = CASE WHEN login_failures.locked_until > ",
            $p,
            "3 THEN login_failures.locked_until ELSE NULL END, ",
            "updated_at = ",
            $p,
            "3"
        );
        const LOCK: &str = concat!(
            "UPDATE login_failures SET locked_until = ",
            $p,
            "3, failures = 0 ",
            "WHERE subject = ",
            $p,
            "1 AND ip = ",
            $p,
            "2 AND failures >= ",
            $p,
            "4 AND locked_until IS NULL"
        );

        async fn count_row(pool: &$pool, f: &LoginFailure<'_>, ip: &str, threshold: u32) -> StoreResult<bool> {
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
        }

        pub async fn record_failure(pool: &$pool, f: &LoginFailure<'_>) -> StoreResult<LockoutChange> {
            Ok(LockoutChange {
                ip_locked: count_row(pool, f, f.ip, f.ip_threshold).await?,
                all_locked: count_row(pool, f, ALL_IPS, f.all_threshold).await?,
            })
        }

        pub async fn locked_until(
            pool: &$pool,
            subject: &str,
            ip: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<Option<DateTime<Utc>>> {
            let until: Vec<DateTime<Utc>> = sqlx::query_scalar(concat!(
                "SELECT locked_until FROM login_failures WHERE subject = ",
                $p,
                "1 AND ip IN (",
                $p,
                "2, '*') ",
                "AND locked_until IS NOT NULL AND locked_until > ",
                $p,
                "3"
            ))
            .bind(subject)
            .bind(ip)
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(until.into_iter().max())
        }

        pub async fn clear(pool: &$pool, subject: &str, ip: Option<&str>) -> StoreResult<u64> {
            let done = match ip {
                None => {
                    sqlx::query(concat!("DELETE FROM login_failures WHERE subject = ", $p, "1"))
                        .bind(subject)
                        .execute(pool)
                        .await?
                }
                Some(ip) => {
                    sqlx::query(concat!(
                        "DELETE FROM login_failures WHERE subject = ",
                        $p,
                        "1 AND ip IN (",
                        $p,
                        "2, '*')"
                    ))
                    .bind(subject)
                    .bind(ip)
                    .execute(pool)
                    .await?
                }
            };
            Ok(done.rows_affected())
        }

        /// Rows with no failure since `before` and no lock left: nothing to remember.
        pub async fn prune(pool: &$pool, before: DateTime<Utc>) -> StoreResult<u64> {
            let done = sqlx::query(concat!(
                "DELETE FROM login_failures WHERE updated_at < ",
                $p,
                "1 ",
                "AND (locked_until IS NULL OR locked_until < ",
                $p,
                "1)"
            ))
            .bind(before)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
        }
    };
}

pub(crate) mod sqlite {
    lockout_sql!(sqlx::SqlitePool, "?");
}

pub(crate) mod postgres {
    lockout_sql!(sqlx::PgPool, "$");
}
