//! One-time codes, the e-mail that carries them and the checks' budgets. Pure: no I/O.

pub mod budget;
pub mod code;
pub mod mail;

pub use code::{Code, CodeHasher};
