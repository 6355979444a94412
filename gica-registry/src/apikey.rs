//! API keys: each caller (the portal, the USSD gateway, an operator) has a key with one
//! scope. Only the key's SHA-256 is stored: keys are 256-bit random strings, so a fast hash
//! is enough, and a leaked database does not leak a usable key.

use std::str::FromStr;

use gica_store::StoreError;
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::store::{Store, on_pool};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Add devices; read requests, receipts and devices.
    Portal,
    /// The USSD endpoint only.
    Ussd,
    /// The export lists only.
    Export,
    /// Everything.
    Admin,
}

impl Scope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Portal => "portal",
            Self::Ussd => "ussd",
            Self::Export => "export",
            Self::Admin => "admin",
        }
    }

    /// Whether a key of this scope may use what `needed` guards.
    pub fn allows(self, needed: Scope) -> bool {
        self == needed || self == Scope::Admin
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "portal" => Ok(Self::Portal),
            "ussd" => Ok(Self::Ussd),
            "export" => Ok(Self::Export),
            "admin" => Ok(Self::Admin),
            _ => Err(format!(
                "unknown scope {s:?}: portal, ussd, export or admin"
            )),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored key (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Its public id (the key's prefix).
    pub id: String,
    /// Its scope.
    pub scope: Scope,
    /// A name for people.
    pub name: String,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// Key prefix, so a key found in a log or a repository is recognisable.
const PREFIX: &str = "greg";

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn random_hex(n: usize) -> Result<String, StoreError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::corrupt("random", e))?;
    Ok(hex::encode(bytes))
}

impl Store {
    /// Makes a key; returns it (shown once, never stored) and its record.
    pub async fn add_api_key(
        &self,
        scope: Scope,
        name: &str,
        now: i64,
    ) -> Result<(String, ApiKey), StoreError> {
        const INSERT: &str = "INSERT INTO reg_api_keys (id, hash, scope, name, created_at) \
             VALUES ($1, $2, $3, $4, $5)";
        let id = random_hex(6)?;
        let key = format!("{PREFIX}_{id}_{}", random_hex(32)?);
        let digest = hash(&key);
        on_pool!(self.db(), |pool, begin| {
            sqlx::query(INSERT)
                .bind(&id)
                .bind(&digest[..])
                .bind(scope.as_str())
                .bind(name)
                .bind(now)
                .execute(pool)
                .await?;
            Ok::<_, StoreError>(())
        })?;
        Ok((
            key,
            ApiKey {
                id,
                scope,
                name: name.to_owned(),
                created_at: now,
                revoked_at: None,
            },
        ))
    }

    /// Every key, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        const SELECT: &str = "SELECT id, scope, name, created_at, revoked_at FROM reg_api_keys ORDER BY created_at, id";
        on_pool!(self.db(), |pool, begin| {
            sqlx::query(SELECT)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    let scope: String = r.try_get("scope")?;
                    Ok(ApiKey {
                        id: r.try_get("id")?,
                        scope: scope
                            .parse()
                            .map_err(|_| StoreError::corrupt("reg_api_keys.scope", scope))?,
                        name: r.try_get("name")?,
                        created_at: r.try_get("created_at")?,
                        revoked_at: r.try_get("revoked_at")?,
                    })
                })
                .collect()
        })
    }

    /// Revokes the key with this id; returns whether a live key was revoked.
    pub async fn revoke_api_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        const UPDATE: &str =
            "UPDATE reg_api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";
        on_pool!(self.db(), |pool, begin| {
            Ok(sqlx::query(UPDATE)
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
                == 1)
        })
    }

    /// The scope of a presented key, or `None` when it is unknown or revoked.
    pub async fn authenticate(&self, key: &str) -> Result<Option<Scope>, StoreError> {
        const SELECT: &str =
            "SELECT scope FROM reg_api_keys WHERE hash = $1 AND revoked_at IS NULL";
        if key.len() > 128 {
            return Ok(None);
        }
        let digest = hash(key);
        on_pool!(self.db(), |pool, begin| {
            match sqlx::query(SELECT)
                .bind(&digest[..])
                .fetch_optional(pool)
                .await?
            {
                Some(row) => {
                    let scope: String = row.try_get("scope")?;
                    Ok(Some(scope.parse().map_err(|_| {
                        StoreError::corrupt("reg_api_keys.scope", scope)
                    })?))
                }
                None => Ok(None),
            }
        })
    }
}
