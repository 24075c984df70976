//! The command line of the `runtime` binary: which of its few commands to
//! run. Written by hand (five words and one flag need no parser crate); an
//! argument it does not know is an error naming it, never a start, since a
//! start creates a PostgreSQL cluster in the current directory.

use std::fmt;

/// What `runtime ARGS...` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// No arguments: serve (settings from the environment).
    Serve,
    /// `--help`, `-h`, `help`: print the usage and exit 0.
    Help,
    /// `--version`, `-V`: print the version and revision and exit 0.
    Version,
    /// `healthcheck`: probe a running instance's readiness (`/db-check`).
    Healthcheck,
    /// `migrate`: bring the database's schema up to date and exit.
    Migrate,
    /// `routes [--format text|json]`: print the registry's routes.
    Routes { json: bool },
}

/// A command line the binary refuses, naming what it did not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown argument `{0}`")]
    Unknown(String),
    #[error("`{argument}` takes no argument `{extra}`")]
    Extra { argument: String, extra: String },
    #[error("`routes --format` takes `text` or `json`, not `{0}`")]
    Format(String),
}

/// Reads the arguments after the program's name.
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    let Some(first) = args.first() else {
        return Ok(Command::Serve);
    };
    let command = match first.as_str() {
        "--help" | "-h" | "help" => Command::Help,
        "--version" | "-V" => Command::Version,
        "healthcheck" => Command::Healthcheck,
        "migrate" => Command::Migrate,
        "routes" => return routes(&args[1..]),
        other => return Err(CliError::Unknown(other.to_owned())),
    };
    match args.get(1) {
        None => Ok(command),
        Some(extra) => Err(CliError::Extra {
            argument: first.clone(),
            extra: extra.clone(),
        }),
    }
}

fn routes(args: &[String]) -> Result<Command, CliError> {
    match args {
        [] => Ok(Command::Routes { json: false }),
        [flag, format] if flag == "--format" => match format.as_str() {
            "json" => Ok(Command::Routes { json: true }),
            "text" => Ok(Command::Routes { json: false }),
            other => Err(CliError::Format(other.to_owned())),
        },
        [flag] if flag == "--format" => Err(CliError::Format(String::new())),
        [flag, ..] if flag != "--format" => Err(CliError::Unknown(flag.clone())),
        [_, _, extra, ..] => Err(CliError::Extra {
            argument: "routes".to_owned(),
            extra: extra.clone(),
        }),
        _ => Err(CliError::Unknown(args.join(" "))),
    }
}

/// The text of `runtime --help`.
pub struct Usage;

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "runtime: the shop API, every function served by one process\n\
             \n\
             usage:\n  \
               runtime                         serve (settings from the environment, see README.md)\n  \
               runtime migrate                 apply sql/ to the database and exit (MIGRATE=skip servers wait for it)\n  \
               runtime healthcheck             exit 0 when http://127.0.0.1:$PORT/db-check answers 200 (ready)\n  \
               runtime routes [--format json]  print the routes of every function\n  \
               runtime --version | -V          print the version and git revision\n  \
               runtime --help | -h             print this help\n\
             \n\
             With no DATABASE_URL, serving starts a local PostgreSQL with its data in\n\
             EMBEDDED_PG_DIR (default .data/postgres under the current directory).\n",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Command, CliError> {
        parse(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn commands() {
        assert_eq!(parsed(&[]), Ok(Command::Serve));
        for help in ["--help", "-h", "help"] {
            assert_eq!(parsed(&[help]), Ok(Command::Help));
        }
        assert_eq!(parsed(&["--version"]), Ok(Command::Version));
        assert_eq!(parsed(&["-V"]), Ok(Command::Version));
        assert_eq!(parsed(&["healthcheck"]), Ok(Command::Healthcheck));
        assert_eq!(parsed(&["migrate"]), Ok(Command::Migrate));
        assert_eq!(parsed(&["routes"]), Ok(Command::Routes { json: false }));
        assert_eq!(
            parsed(&["routes", "--format", "json"]),
            Ok(Command::Routes { json: true })
        );
    }

    #[test]
    fn refusals_name_the_argument() {
        assert_eq!(
            parsed(&["--port=1"]),
            Err(CliError::Unknown("--port=1".into()))
        );
        assert_eq!(
            parsed(&["--version", "x"]),
            Err(CliError::Extra {
                argument: "--version".into(),
                extra: "x".into()
            })
        );
        assert_eq!(
            parsed(&["routes", "--format", "yaml"]),
            Err(CliError::Format("yaml".into()))
        );
        assert_eq!(
            parsed(&["routes", "--json"]),
            Err(CliError::Unknown("--json".into()))
        );
        assert_eq!(
            parsed(&["routes", "--format", "json", "x"]),
            Err(CliError::Extra {
                argument: "routes".into(),
                extra: "x".into()
            })
        );
    }
}
