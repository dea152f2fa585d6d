//! One-time codes, the e-mail that carries them and who it goes to, why a send failed, a
//! verification's lifecycle and the checks' budgets. Pure: no I/O.

pub mod budget;
pub mod code;
pub mod lifecycle;
pub mod mail;
pub mod reason;
pub mod recipient;

pub use code::{Code, CodeHasher};
