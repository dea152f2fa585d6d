//! Operators: who may use the dashboard, and what they may do.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including deleting orders and managing operators.
    Admin,
    /// Sees orders, sends and resends verification; cannot delete.
    Operator,
}

impl Role {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
        }
    }
}

/// A login name: 3 to 32 of `a-z 0-9 . _ -`, stored lower-case.
pub fn parse_username(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim().to_lowercase();
    let ok = (3..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err("3 to 32 characters: letters, digits, . _ -")
    }
}

/// The longest password accepted anywhere (checked before any hashing).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A new password: at least 10 characters, at most [`MAX_PASSWORD_CHARS`].
pub fn check_password(password: &str) -> Result<(), &'static str> {
    match password.chars().count() {
        0..10 => Err("at least 10 characters"),
        129.. => Err("at most 128 characters"),
        _ => Ok(()),
    }
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes), as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Argon2id computations that may run at once in this process. Each takes 19 MiB, so two keep
/// a replica near 60 MB at the worst moment of a login flood, well inside its 128 MiB limit.
pub const HASHING_SLOTS: usize = 2;
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_SLOTS);

/// All hashing slots were busy for longer than the caller would wait.
#[derive(Debug, thiserror::Error)]
#[error("every password hashing slot stayed busy")]
pub struct Busy;

/// [`hash_password`] in one of the [`HASHING_SLOTS`], off the async threads; waits for a slot.
pub async fn hash_password_capped(password: &str) -> anyhow::Result<String> {
    let _slot = SLOTS.acquire().await?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// [`verify_password`] in one of the [`HASHING_SLOTS`], waiting at most `wait` for a slot.
pub async fn verify_password_capped(
    password: String,
    phc: String,
    wait: std::time::Duration,
) -> Result<bool, Busy> {
    let _slot = tokio::time::timeout(wait, SLOTS.acquire())
        .await
        .map_err(|_| Busy)?
        .map_err(|_| Busy)?;
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(|_| Busy)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random token for a cookie or a CSRF header (256 bits, URL-safe).
pub fn new_token() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Sessions are stored by the hash of their token, so a leaked table opens no session.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let phc = hash_password("kata-sandi-rahasia").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("kata-sandi-rahasia", &phc));
        assert!(!verify_password("kata-sandi-salah!", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert_eq!(parse_username(" Admin.Satu ").unwrap(), "admin.satu");
        assert!(parse_username("ab").is_err());
        assert!(parse_username("budi santoso").is_err());
        assert!(check_password("pendek").is_err());
        assert!(check_password("cukup-panjang").is_ok());
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
