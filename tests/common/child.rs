//! Tests that must run in a process of their own (signals, thread counts, memory, environment
//! variables): the parent runs one `#[ignore]`d test of this binary in a child, with a deadline.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a child test may run before it is killed and the parent fails.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// A command that runs `test` (an `#[ignore]`d test of this binary) alone in a child process,
/// with `SLACK_RTM_CHILD` set to its name.
pub fn child_command(test: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("SLACK_RTM_CHILD", test);
    cmd
}

/// True in the child started for `test`; an `#[ignore]`d child test run by hand (`--ignored`)
/// without its parent does nothing.
pub fn is_child(test: &str) -> bool {
    std::env::var("SLACK_RTM_CHILD").as_deref() == Ok(test)
}

/// Runs `test` in a child process and returns its output (see [`output_within`]).
pub fn run_child(test: &str) -> Output {
    output_within(child_command(test), CHILD_LIMIT)
}

/// Runs `cmd` to the end, killing it (and failing the test) after `limit`.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child process");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child process did not finish within {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
