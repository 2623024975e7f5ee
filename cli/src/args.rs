//! The flag machinery every command shares, the top-level usage text and `--version`.

use std::ffi::OsString;

/// The version line every command prints for `--version`.
pub const VERSION: &str = concat!("slack-rtm ", env!("CARGO_PKG_VERSION"));

/// The environment variables every command may read, for the ENVIRONMENT sections.
pub const ENVIRONMENT: &str = "\
Environment:
  SLACK_BOT_TOKEN       the token for `tail` and `api` (else SLACK_API_TOKEN); never printed
  SLACK_API_TOKEN       the token when SLACK_BOT_TOKEN is unset or empty
  SLACK_APP_TOKEN       the app-level token (xapp-...) for `socket`; never printed
  SLACK_SIGNING_SECRET  the signing secret for `serve --deliver`; never printed
  SLACK_API_URL         Web API base URL for `tail`, `socket` and `api`
                        (default https://slack.com/api/)
  ALL_PROXY, HTTPS_PROXY, HTTP_PROXY (or lower case), NO_PROXY
                        the http:// proxy for the Web API and the websocket when --proxy
                        is not given (the first one set wins; NO_PROXY lists hosts to reach
                        directly)
  SSL_CERT_FILE, SSL_CERT_DIR
                        the system trust store's location (OpenSSL), unless --ca-file
  RUST_LOG              what goes to stderr (default info; e.g. RUST_LOG=slack_rtm=debug);
                        other crates' records are capped at info";

/// Top-level usage.
pub fn usage() -> String {
    format!(
        "\
slack-rtm: a command-line client for Slack: Socket Mode, RTM and the Web API, and a fake Slack

Usage: slack-rtm <command> [flags]

Commands:
  tail    connect and print every frame Slack sends, one per line; send stdin lines
  socket  the same in Socket Mode (SLACK_APP_TOKEN): print every frame, ack every envelope
  serve   run the embedded fake Slack on loopback
  demo    run the hello bot against the embedded fake Slack and print the conversation
  api     call one Web API method and print the answer as a JSON line

Run `slack-rtm <command> --help` for the flags of a command.

Flags:
  -h, --help      show this help
  -V, --version   print the version

{ENVIRONMENT}

Exit codes: 0 stopped, 1 failure, 2 usage error, 3 Slack refused the token,
128 + N a second stop signal N (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP)."
    )
}

/// A usage error: exit code 2.
pub struct Usage(pub String);

/// The process arguments after the program name, each checked to be UTF-8.
pub fn from_os(args: impl Iterator<Item = OsString>) -> Result<Vec<String>, Usage> {
    args.enumerate()
        .map(|(i, a)| {
            a.into_string().map_err(|bad| {
                Usage(format!(
                    "argument {} is not valid UTF-8: {:?}",
                    i + 1,
                    bad.to_string_lossy()
                ))
            })
        })
        .collect()
}

/// What a command was asked to do besides its work.
pub enum Asked {
    Help,
    Version,
}

/// Pulls flags off an argument list.
pub struct Flags<'a> {
    args: std::slice::Iter<'a, String>,
}

impl<'a> Flags<'a> {
    pub fn new(args: &'a [String]) -> Flags<'a> {
        Flags { args: args.iter() }
    }

    /// The next flag, with its value split off `--flag=value` if given that way.
    pub fn next_flag(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        let arg = self.args.next()?;
        Some(match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg.as_str(), None),
        })
    }

    pub fn value(&mut self, flag: &str, inline: Option<&'a str>) -> Result<&'a str, Usage> {
        match inline {
            Some(v) => Ok(v),
            None => self
                .args
                .next()
                .map(String::as_str)
                .ok_or_else(|| Usage(format!("{flag} needs a value"))),
        }
    }
}

/// `-h`/`--help` and `-V`/`--version`, the flags every command takes.
pub fn common_flag(flag: &str) -> Option<Asked> {
    match flag {
        "-h" | "--help" => Some(Asked::Help),
        "-V" | "--version" => Some(Asked::Version),
        _ => None,
    }
}

pub fn no_value(flag: &str, inline: Option<&str>) -> Result<(), Usage> {
    match inline {
        Some(_) => Err(Usage(format!("{flag} takes no value"))),
        None => Ok(()),
    }
}

/// An environment variable that is set and not blank.
pub fn env_nonempty(name: &str) -> Option<String> {
    if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(name) {
        // Set, but unusable: say so rather than "not set" (a usage error, exit 2).
        eprintln!("slack-rtm: {name} is not valid UTF-8 (Slack tokens and URLs are ASCII)");
        std::process::exit(2);
    }
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
