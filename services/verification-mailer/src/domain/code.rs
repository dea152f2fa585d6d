//! One-time verification codes.
//!
//! Six symbols from a 32-symbol alphabet without look-alikes (no 0/O, 1/I): 30 bits, drawn
//! from the operating system's CSPRNG. Only a keyed hash (HMAC-SHA256 with a key from config)
//! is ever stored; comparisons are constant-time.

use hmac::{Hmac, Mac};
use rand::{TryRngCore, rngs::OsRng};
use sha2::Sha256;

/// The symbols a code is made of: 8 digits and 24 letters, none easily confused.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
pub const LENGTH: usize = 6;

/// A code in plaintext. It lives only in memory and in the e-mail: no `Debug`, no `Display`,
/// no `Serialize`, so it cannot reach a log line, an event or a response by accident.
pub struct Code(String);

impl Code {
    /// A fresh code from the OS CSPRNG. 256 is a multiple of 32, so masking is unbiased.
    pub fn generate() -> Self {
        let mut bytes = [0u8; LENGTH];
        OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the operating system's random source is available");
        Code(
            bytes
                .iter()
                .map(|b| ALPHABET[(b & 31) as usize] as char)
                .collect(),
        )
    }

    /// What a customer typed, forgiving case and surrounding spaces; `None` when it cannot be a
    /// code at all.
    pub fn parse(input: &str) -> Option<Self> {
        let code = input.trim().to_ascii_uppercase();
        (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(Code(code))
    }

    /// The plaintext, for the e-mail only.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// Hashes codes with the configured key.
#[derive(Clone)]
pub struct CodeHasher {
    key: Vec<u8>,
}

impl CodeHasher {
    pub fn new(key: &[u8]) -> Self {
        CodeHasher { key: key.to_vec() }
    }

    pub fn hash(&self, code: &Code) -> Vec<u8> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(code.0.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `code` hashes to `stored`, in constant time.
    pub fn matches(&self, code: &Code, stored: &[u8]) -> bool {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(code.0.as_bytes());
        mac.verify_slice(stored).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_alphabet_has_32_distinct_unambiguous_symbols() {
        let set: HashSet<u8> = ALPHABET.iter().copied().collect();
        assert_eq!(set.len(), 32);
        for confusing in b"01OI" {
            assert!(!set.contains(confusing), "{}", *confusing as char);
        }
    }

    #[test]
    fn codes_are_six_symbols_of_the_alphabet_and_vary() {
        let codes: HashSet<String> = (0..1000)
            .map(|_| Code::generate().reveal().to_owned())
            .collect();
        assert!(codes.len() > 990, "a CSPRNG repeats 30-bit codes rarely");
        for c in &codes {
            assert!(Code::parse(c).is_some(), "{c}");
        }
    }

    #[test]
    fn typed_codes_forgive_case_and_spaces_only() {
        assert_eq!(Code::parse("  ab3d5f ").unwrap().reveal(), "AB3D5F");
        assert!(Code::parse("AB3D5").is_none());
        assert!(Code::parse("AB3D5F7").is_none());
        assert!(Code::parse("AB 3D5F").is_none());
        assert!(Code::parse("AB0D5F").is_none(), "0 is not in the alphabet");
    }

    #[test]
    fn hashes_depend_on_the_key_and_match_in_constant_time() {
        let code = Code::parse("ABCDEF").unwrap();
        let a = CodeHasher::new(b"key-a");
        let b = CodeHasher::new(b"key-b");
        assert_ne!(a.hash(&code), b.hash(&code));
        assert!(a.matches(&code, &a.hash(&code)));
        assert!(!a.matches(&Code::parse("ABCDEG").unwrap(), &a.hash(&code)));
        assert!(!b.matches(&code, &a.hash(&code)));
    }
}
