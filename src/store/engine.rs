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

use super::StoreResult;

/// An open connection pool of one of the two engines.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
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
        match $db {
            $crate::store::engine::Db::Sqlite($pool) => {
                #[allow(unused_imports)]
                use $crate::store::dialect::sqlite as $d;
                $body
            }
            $crate::store::engine::Db::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::store::dialect::postgres as $d;
                $body
            }
        }
    };
}
pub(crate) use on_engine;

impl Db {
    /// Opens `url` (`sqlite:` or `postgres://`) with the engine's connection settings.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> StoreResult<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Db::Postgres(
                super::dialect::postgres::connect(url, max_connections).await?,
            ))
        } else {
            Ok(Db::Sqlite(super::dialect::sqlite::connect(url, max_connections).await?))
        }
    }
}
