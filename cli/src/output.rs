//! What `tail` and `socket` share on the way out: one frame per stdout line, and the exit code
//! of a client run.

use std::io::Write;
use std::process::ExitCode;

use slack_rtm::Error;

/// The exit code of a client run (`tail`, `socket`), with its one stderr line on failure.
pub fn exit_code(run: Result<(), Error>) -> ExitCode {
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slack-rtm: {e}");
            // 3 is for Slack's own refusal only; a fatal local problem (an unusable URL) is 1.
            let refused = matches!(e, Error::Api { .. }) && e.is_fatal();
            ExitCode::from(if refused { 3 } else { 1 })
        }
    }
}

/// Prints a frame on one line: raw line breaks (JSON allows them only as whitespace) removed.
pub fn print_frame(raw: &str) {
    let mut out = std::io::stdout().lock();
    let result = if raw.contains(['\n', '\r']) {
        let line: String = raw.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        writeln!(out, "{line}")
    } else {
        writeln!(out, "{raw}")
    };
    if result.and_then(|()| out.flush()).is_err() {
        // stdout is gone (a closed pipe): nothing left to do but stop quietly.
        std::process::exit(0);
    }
}
