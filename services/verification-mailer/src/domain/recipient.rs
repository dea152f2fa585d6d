//! Where a code goes: the recipient's name and address as the request carries them, sealed
//! under the customer's key, opened only when a mail is composed.
//!
//! The mail worker fetches the key for each mail (`rpc.keys.get`) and opens them here. Pure:
//! the keys are fetched by the caller.

use gadai_privacy::{Keys, OpenError, StaleKey, SubjectId, fields, open};

/// The reason of `verification.failed` when the customer's data was erased.
pub const ERASED: &str = "data pelanggan telah dihapus";
/// The reason when the sealed name or address does not open with the customer's key (altered,
/// or sealed for another customer): it never will.
pub const UNREADABLE: &str = "data pelanggan tidak dapat dibuka";
/// The reason when the request carries no recipient (recorded by an earlier release): the
/// operator sends again, and the new request carries it.
pub const MISSING: &str = "permintaan tanpa alamat penerima; kirim ulang kode";

/// What a mail can be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Mail {
        email: String,
        name: String,
    },
    /// The customer's data is erased (the erasure applied, or the key gone): nothing to send,
    /// ever.
    Erased,
    /// Sealed fields that do not open with the customer's key.
    Unreadable,
    /// The request names no recipient.
    Missing,
}

/// The address and name sealed for `subject`, with `keys` (which must hold its key).
pub fn open_sealed(
    keys: &Keys,
    subject: &SubjectId,
    email: &str,
    name: &str,
) -> Result<Address, StaleKey> {
    let Some(sealed) = gadai_privacy::sealed_generation(email) else {
        return Ok(Address::Unreadable);
    };
    let Some(key) = keys.sealed_under(subject, sealed)? else {
        return Ok(Address::Erased);
    };
    let opened =
        |field, text: &str| -> Result<String, OpenError> { open(key, subject, field, text) };
    Ok(
        match (opened(fields::EMAIL, email), opened(fields::NAME, name)) {
            (Ok(email), Ok(name)) => Address::Mail { email, name },
            _ => Address::Unreadable,
        },
    )
}

#[cfg(test)]
mod tests {
    use gadai_privacy::{DataKey, KeyState, SubjectKey, seal};

    use super::*;

    fn siti() -> SubjectId {
        SubjectKey::new(b"subject-key-of-the-mailer-tests-0123456789")
            .unwrap()
            .subject_of("siti@example.co.id")
    }

    fn sealed(key: &DataKey, subject: &SubjectId) -> (String, String) {
        (
            seal(key, subject, fields::EMAIL, "siti@example.co.id"),
            seal(key, subject, fields::NAME, "Siti Rahma"),
        )
    }

    fn keys(subject: &SubjectId, state: KeyState) -> Keys {
        let mut keys = Keys::default();
        keys.insert(subject.clone(), state);
        keys
    }

    #[test]
    fn a_sealed_address_opens_with_its_key() {
        let (subject, key) = (siti(), DataKey::generate(1));
        let (email, name) = sealed(&key, &subject);
        let live = keys(&subject, KeyState::Live(key));
        assert_eq!(
            open_sealed(&live, &subject, &email, &name),
            Ok(Address::Mail {
                email: "siti@example.co.id".into(),
                name: "Siti Rahma".into()
            })
        );
    }

    #[test]
    fn an_erased_key_or_a_later_one_means_erased_and_an_older_one_a_refetch() {
        let (subject, key) = (siti(), DataKey::generate(2));
        let (email, name) = sealed(&key, &subject);
        let open = |state| open_sealed(&keys(&subject, state), &subject, &email, &name);
        assert_eq!(
            open(KeyState::Erased { generation: 2 }),
            Ok(Address::Erased)
        );
        assert_eq!(open(KeyState::Unknown), Ok(Address::Erased));
        // The customer came back: their new key does not open what the erased one sealed.
        assert_eq!(
            open(KeyState::Live(DataKey::generate(3))),
            Ok(Address::Erased)
        );
        assert_eq!(open(KeyState::Live(DataKey::generate(1))), Err(StaleKey));
        assert_eq!(open(KeyState::Erased { generation: 1 }), Err(StaleKey));
    }

    #[test]
    fn fields_that_do_not_open_are_unreadable() {
        let (subject, key) = (siti(), DataKey::generate(1));
        let (email, name) = sealed(&key, &subject);
        // Another key of the same generation.
        let other = keys(&subject, KeyState::Live(DataKey::generate(1)));
        assert_eq!(
            open_sealed(&other, &subject, &email, &name),
            Ok(Address::Unreadable)
        );
        // The name sealed in the address's place.
        let live = keys(&subject, KeyState::Live(key));
        assert_eq!(
            open_sealed(&live, &subject, &name, &name),
            Ok(Address::Unreadable)
        );
    }
}
