//! `slack-rtm api`: one Web API call, its answer printed as one JSON line (one per page with
//! `--paginate`).

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Map, Value};
use slack_rtm::{Error, WebClient};

use crate::args::{self, Usage};

/// The answers that mean the token itself is refused: exit 3.
const AUTH_CODES: &[&str] = &[
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "ekm_access_denied",
];

/// `api --help`.
pub fn usage() -> String {
    format!(
        "\
Usage: slack-rtm api METHOD [key=value ...] [--json BODY] [--paginate] [flags]

Calls one Slack Web API method with the bot token and prints the answer as one JSON line on
stdout. Parameters are key=value pairs (values are strings, as in a form), or a JSON object
given with --json (key=value pairs are added to it). Read methods (conversations.history,
users.info, ...) are sent as GET, the others as POST. Rate-limited calls wait Retry-After and
are retried (up to 3 times); so are calls that never reached Slack.

Flags:
  --json BODY        the parameters as a JSON object, e.g. '{{\"channel\":\"C1\",\"limit\":5}}'
  --paginate         follow response_metadata.next_cursor; print one line per page
  --api-url URL      Web API base URL (else SLACK_API_URL, else https://slack.com/api/)
  --ca-file PEM      trust the CA certificates in this PEM file instead of the system store
  --proxy URL        http:// proxy (else ALL_PROXY, HTTPS_PROXY or HTTP_PROXY, with NO_PROXY)
  -h, --help         show this help
  -V, --version      print the version

Examples:
  slack-rtm api auth.test
  slack-rtm api chat.postMessage channel=C0123456789 text='hello there'
  slack-rtm api conversations.list --paginate --json '{{\"limit\":200}}'

Environment:
  SLACK_BOT_TOKEN    the token (else SLACK_API_TOKEN); never printed
  SLACK_API_URL      Web API base URL when --api-url is not given
  ALL_PROXY, HTTPS_PROXY, HTTP_PROXY (or lower case), NO_PROXY, SSL_CERT_FILE, SSL_CERT_DIR,
  RUST_LOG           as for `slack-rtm tail` (retries are logged at warn)

Exit codes: 0 ok:true, 1 any other failure (Slack's error code on stderr), 2 usage error,
3 Slack refused the token ({}).",
        AUTH_CODES.join(", ")
    )
}

/// The parsed command line.
struct ApiArgs {
    method: String,
    params: Map<String, Value>,
    paginate: bool,
    api_url: Option<String>,
    ca_file: Option<String>,
    proxy: Option<String>,
}

fn parse(args: &[String]) -> Result<Result<ApiArgs, args::Asked>, Usage> {
    let mut method = None;
    let mut json: Option<Map<String, Value>> = None;
    let mut pairs = Vec::new();
    let mut a = ApiArgs {
        method: String::new(),
        params: Map::new(),
        paginate: false,
        api_url: None,
        ca_file: None,
        proxy: None,
    };
    let mut flags = args::Flags::new(args);
    while let Some((flag, inline)) = flags.next_flag() {
        if let Some(asked) = args::common_flag(flag) {
            return Ok(Err(asked));
        }
        match flag {
            "--json" => {
                let body = flags.value(flag, inline)?;
                match serde_json::from_str::<Value>(body) {
                    Ok(Value::Object(map)) => json = Some(map),
                    _ => return Err(Usage("--json needs a JSON object".into())),
                }
            }
            "--paginate" => {
                args::no_value(flag, inline)?;
                a.paginate = true;
            }
            "--api-url" => a.api_url = Some(flags.value(flag, inline)?.to_string()),
            "--ca-file" => a.ca_file = Some(flags.value(flag, inline)?.to_string()),
            "--proxy" => a.proxy = Some(flags.value(flag, inline)?.to_string()),
            other if other.starts_with('-') => {
                return Err(Usage(format!("unknown flag {other:?} for api")))
            }
            word if method.is_none() => method = Some(word.to_string()),
            pair => match pair.split_once('=') {
                Some((key, value)) if !key.is_empty() => {
                    pairs.push((key.to_string(), Value::String(value.to_string())))
                }
                _ => {
                    return Err(Usage(format!(
                        "parameters are key=value pairs, got {pair:?}"
                    )))
                }
            },
        }
    }
    a.method = method.ok_or_else(|| Usage("missing METHOD (e.g. auth.test)".into()))?;
    a.params = json.unwrap_or_default();
    a.params.extend(pairs);
    Ok(Ok(a))
}

pub fn run(args: &[String]) -> Result<ExitCode, Usage> {
    let a = match parse(args)? {
        Ok(a) => a,
        Err(args::Asked::Help) => {
            println!("{}", usage());
            return Ok(ExitCode::SUCCESS);
        }
        Err(args::Asked::Version) => {
            println!("{}", args::VERSION);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let token = args::env_nonempty("SLACK_BOT_TOKEN")
        .or_else(|| args::env_nonempty("SLACK_API_TOKEN"))
        .ok_or_else(|| Usage("no token: set SLACK_BOT_TOKEN or SLACK_API_TOKEN".into()))?;
    let mut builder = WebClient::builder(&token);
    if let Some(url) = a
        .api_url
        .clone()
        .or_else(|| args::env_nonempty("SLACK_API_URL"))
    {
        builder = builder.base_url(&url);
    }
    if let Some(path) = &a.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Usage(format!("cannot read --ca-file {path:?}: {e}")))?;
        builder = builder.root_certificate(&pem);
    }
    if let Some(p) = &a.proxy {
        builder = builder.proxy(p);
    }
    let client = builder.build().map_err(|e| Usage(usage_message(e)))?;
    let params = Value::Object(a.params);
    let mut out = std::io::stdout().lock();
    let result = if a.paginate {
        client
            .paginate(&a.method, &params)
            .try_for_each(|page| print_line(&mut out, page?.data()))
    } else {
        client
            .api_call(&a.method, &params)
            .and_then(|resp| print_line(&mut out, resp.data()))
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A bad method name or params shape is the caller's mistake.
        Err(Error::Config(msg)) => Err(Usage(msg)),
        Err(e) => {
            eprintln!("slack-rtm: {}", failure_line(&e));
            Ok(ExitCode::from(exit_code(&e)))
        }
    }
}

fn usage_message(e: Error) -> String {
    match e {
        Error::Config(msg) => msg,
        other => other.to_string(),
    }
}

fn print_line(out: &mut impl Write, data: &Value) -> Result<(), Error> {
    writeln!(out, "{data}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::Http {
            reason: format!("cannot write the answer to stdout: {e}"),
            source: Some(Box::new(e)),
        })
}

/// One line: the error (its code for a Slack answer), and Slack's explanations if any.
fn failure_line(e: &Error) -> String {
    let messages = e.response_messages();
    if messages.is_empty() {
        e.to_string()
    } else {
        format!("{e}: {}", messages.join("; "))
    }
}

/// 3 when Slack refused the token, 1 otherwise.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Api { code, status, .. }
            if AUTH_CODES.contains(&code.as_str()) || *status == 401 =>
        {
            3
        }
        _ => 1,
    }
}
