//! One-time codes, the e-mail that carries them, a verification's lifecycle and the checks'
//! budgets. Pure: no I/O.

pub mod budget;
pub mod code;
pub mod lifecycle;
pub mod mail;

pub use code::{Code, CodeHasher};
