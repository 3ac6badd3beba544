//! The two engines behind one [`Db`] value, and [`on_engine!`], which runs one written-once
//! block of SQL code against whichever engine is open.
//!
//! Why an enum and a macro rather than generics over `sqlx::Database`: a generic function that
//! binds a `Uuid`, a `DateTime<Utc>` and a `&str` and runs on a transaction needs a bound per
//! bound type and per executor (`for<'q> Uuid: Encode<'q, DB> + Type<DB>`, `for<'c> &'c mut
//! DB::Connection: Executor<'c, Database = DB>`, ...), which buries every query under a screen
//! of where-clauses. `on_engine!` instead pastes the block once per match arm, where `pool` is a
//! concrete `&SqlitePool` or `&PgPool`: each copy is type-checked against its own driver at
//! compile time (a bind of a type one engine cannot encode fails the build), and the compiled
//! code is what two hand-written backends would give. The statements are written once with
//! `$N` placeholders, which both drivers accept; where the engines really differ the block calls
//! the same-named item of its engine's [`dialect`](super::dialect) module, bound as `d`.

use super::cache::RowCache;
use super::StoreResult;
use std::sync::Arc;

/// An open connection pool of one of the two engines.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The pool, and the in-memory copies of rows that the write methods keep from going stale.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    pub(crate) pool: Pool,
    pub(crate) cache: Arc<RowCache>,
}

/// Runs `body` with `pool` bound to the engine's concrete pool (and `d` to its dialect module).
///
/// `on_engine!(db, |pool| body)` or `on_engine!(db, |pool, d| body)`; `body` is an expression,
/// usually a block that ends in the function's result, and may use `?` and `return`.
macro_rules! on_engine {
    ($db:expr, |$pool:ident| $body:expr) => {
        $crate::store::engine::on_engine!($db, |$pool, _dialect| $body)
    };
    ($db:expr, |$pool:ident, $d:ident| $body:expr) => {
        match &($db).pool {
            $crate::store::engine::Pool::Sqlite($pool) => {
                #[allow(unused_imports)]
                use $crate::store::dialect::sqlite as $d;
                $body
            }
            $crate::store::engine::Pool::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::store::dialect::postgres as $d;
                $body
            }
        }
    };
}
pub(crate) use on_engine;

impl Db {
    /// Runs `write`, then drops the copies `change` makes stale — after the write, so a read
    /// in between cannot copy the old row back (one that started before is caught by the
    /// cache's epoch). A failed write changed nothing; the extra miss costs one read.
    pub(crate) async fn changing<T>(
        &self,
        change: super::cache::Change,
        write: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let result = write.await;
        self.cache.changed(change);
        result
    }

    /// Opens `url` (`sqlite:` or `postgres://`) with the engine's connection settings.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> StoreResult<Db> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(super::dialect::postgres::connect(url, max_connections).await?)
        } else {
            Pool::Sqlite(super::dialect::sqlite::connect(url, max_connections).await?)
        };
        Ok(Db {
            pool,
            cache: Arc::new(RowCache::new()),
        })
    }
}
