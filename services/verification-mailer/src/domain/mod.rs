//! One-time codes and the e-mail that carries them. Pure: no I/O.

pub mod code;
pub mod mail;

pub use code::{Code, CodeHasher};
