//! The subcommands every service binary takes (DESIGN.md section 10).

/// What the binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Create the schema and run migrations, then exit.
    Migrate,
    /// Replay the stream into fresh tables; `swap` puts them in place of the live ones.
    Rebuild { swap: bool },
    /// A service-specific command with its arguments.
    Other(String, Vec<String>),
}

impl Command {
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Self {
        match args.next().as_deref() {
            None | Some("serve") => Command::Serve,
            Some("migrate") => Command::Migrate,
            Some("rebuild") => Command::Rebuild {
                swap: !args.any(|a| a == "--dry-run"),
            },
            Some(other) => Command::Other(other.to_owned(), args.collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Command;

    fn parse(args: &[&str]) -> Command {
        Command::from_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn serve_is_the_default() {
        assert_eq!(parse(&[]), Command::Serve);
        assert_eq!(parse(&["migrate"]), Command::Migrate);
        assert_eq!(parse(&["rebuild"]), Command::Rebuild { swap: true });
        assert_eq!(
            parse(&["rebuild", "--dry-run"]),
            Command::Rebuild { swap: false }
        );
    }
}
