//! The one error of every store operation, whichever backend.

/// Why a store operation failed. The same variants for SQLite and PostgreSQL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed or refused.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The URL is not `sqlite:PATH` or `postgres://...`; only its scheme is kept (the rest
    /// may hold a password).
    #[error("unsupported database URL \"{scheme}:...\": use sqlite:PATH or postgres://...")]
    Url {
        /// The URL's scheme, or empty.
        scheme: String,
    },
    /// A PostgreSQL schema name that is not a plain SQL name.
    #[error("schema name {name:?}: want [a-z_][a-z0-9_]*, at most 63 bytes")]
    SchemaName {
        /// The name given.
        name: String,
    },
    /// A value read back is not what the schema allows.
    #[error("corrupt row: {column} {value}")]
    Corrupt {
        /// Which column (or what was missing).
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// removeFromCRL as a revocation reason: RFC 5280 5.3.1 gives it to delta-CRL entries of
    /// released holds only.
    #[error(
        "refused: serial {}: removeFromCRL is for delta CRLs (a released hold), not a revocation",
        hex::encode(serial)
    )]
    RemoveFromCrl {
        /// The serial (magnitude).
        serial: Vec<u8>,
    },
    /// A CRL number the database cannot hold (above `i64::MAX`).
    #[error("refused: CRL number {number}")]
    CrlNumberRange {
        /// The number.
        number: u64,
    },
    /// The database recorded a different migration under a version this program knows:
    /// it was made by another program, or by a build of this one that has since changed.
    #[error(
        "migration {component} {version}: the database applied {found:?}, this program has {expected:?}"
    )]
    MigrationConflict {
        /// The component.
        component: String,
        /// The version.
        version: i64,
        /// The name this program gives it.
        expected: String,
        /// The name the database recorded.
        found: String,
    },
}

impl StoreError {
    /// A [`StoreError::Corrupt`]: `column` held `value`, which the schema does not allow.
    pub fn corrupt(column: &'static str, value: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            column,
            value: value.to_string(),
        }
    }
}
