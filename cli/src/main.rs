//! `slack-rtm`: tail a Slack RTM stream, run the embedded fake Slack, or watch a demo bot.
//!
//! Output contract: stdout carries data only (frames for `tail`, the URL line for `serve`, the
//! transcript for `demo`); lifecycle and errors go to stderr through `log` (`RUST_LOG`, default
//! `info`). Exit codes: 0 graceful stop, 1 failure, 2 usage error, 3 Slack refused the token,
//! 128 + N a second stop signal N, or a stop that could not finish (130 SIGINT, 143 SIGTERM,
//! 129 SIGHUP).
//!
//! One file per command (`tail`, `socket`, `serve`, `demo`, `api`), plus `args` (flags and
//! usage texts), `logging`, `signals`, `bench` (the `serve --bench` driver protocol), `bench_sm`
//! (its Socket Mode commands), `serve_socket` (`serve`'s Socket Mode stdin commands and
//! `--frames`) and `serve_http` (`serve --deliver`: the same commands POSTed to an HTTP app).

/// `println!` for stdout data: a closed stdout (a pipe whose reader left, as in
/// `slack-rtm demo | head -1`) ends the program quietly with status 0 instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if writeln!(out, $($arg)*).and_then(|()| out.flush()).is_err() {
            std::process::exit(0);
        }
    }};
}

mod api;
mod args;
mod bench;
mod bench_sm;
mod demo;
mod logging;
mod serve;
mod serve_http;
mod serve_socket;
mod signals;
mod socket;
mod tail;
mod tls;

use std::process::ExitCode;

use args::Usage;

fn main() -> ExitCode {
    logging::init_logging();
    let args = match args::from_os(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(Usage(msg)) => {
            eprintln!("slack-rtm: {msg}; run `slack-rtm --help` for usage");
            return ExitCode::from(2);
        }
    };
    let Some((command, rest)) = args.split_first() else {
        eprintln!(
            "slack-rtm: missing command (tail, socket, serve, demo or api); run `slack-rtm --help` for usage"
        );
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "tail" => tail::run(rest),
        "serve" => serve::run(rest),
        "socket" => socket::run(rest),
        "demo" => demo::run(rest),
        "api" => api::run(rest),
        "-h" | "--help" | "help" => {
            outln!("{}", args::usage());
            return ExitCode::SUCCESS;
        }
        "-V" | "--version" => {
            outln!("{}", args::VERSION);
            return ExitCode::SUCCESS;
        }
        other => Err(Usage(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(code) => code,
        Err(Usage(msg)) => {
            // One line: the contract is "one clear line on stderr" for every failure.
            let help = match command.as_str() {
                "tail" | "serve" | "demo" | "socket" | "api" => {
                    format!("slack-rtm {command} --help")
                }
                _ => "slack-rtm --help".to_string(),
            };
            eprintln!("slack-rtm: {msg}; run `{help}` for usage");
            ExitCode::from(2)
        }
    }
}
