//! Slack's own Python `WebClient` (`slack_sdk`) works against `slack-rtm serve` for the flows a
//! bot uses: post, update, history, replies, reactions, paginated lists, `files_upload_v2` and
//! views. Runs when `python3` is present: `slack_sdk` is installed into a temporary folder
//! (reused between runs); the test is skipped, with a line saying why, when python3 is missing
//! or the package registry cannot be reached.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bound on the pip install and on the Python script.
const DEADLINE: Duration = Duration::from_secs(180);

/// Kills the child (ours, by its handle) when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` to completion within `DEADLINE`; `None` when it could not start or timed out.
fn run(mut cmd: Command) -> Option<(bool, String)> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut child = Reaped(child);
    let mut out = child.0.stdout.take()?;
    let mut err = child.0.stderr.take()?;
    let readers = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        let mut e = String::new();
        let _ = err.read_to_string(&mut e);
        s + &e
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().ok()? {
            break status;
        }
        if start.elapsed() > DEADLINE {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Some((status.success(), readers.join().unwrap_or_default()))
}

/// `slack_sdk` in a temporary folder, installed once.
fn slack_sdk() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join("slack-rtm-interop").join("sdk");
    if dir.join("slack_sdk").join("web").is_dir() {
        return Ok(dir);
    }
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(["--no-input", "--target"])
    .arg(&dir)
    .arg("slack_sdk");
    match run(pip) {
        Some((true, _)) if dir.join("slack_sdk").is_dir() => Ok(dir),
        Some((_, output)) => Err(output.lines().last().unwrap_or("").to_string()),
        None => Err("pip did not finish in time".into()),
    }
}

fn python3_present() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn slack_sdk_web_client_against_serve() {
    if !python3_present() {
        println!("skipped: python3 is not installed");
        return;
    }
    let sdk = match slack_sdk() {
        Ok(dir) => dir,
        Err(why) => {
            println!("skipped: cannot install slack_sdk (registry unreachable?): {why}");
            return;
        }
    };
    let serve = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slack-rtm serve");
    let mut serve = Reaped(serve);
    let mut first = String::new();
    let stdout = serve.0.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let api_url = first
        .trim()
        .strip_prefix("SLACK_API_URL=")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();

    // The script lives with the library's tests (this crate is the workspace member `cli/`).
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/python_web.py");
    let mut python = Command::new("python3");
    python
        .arg(&script)
        .env("PYTHONPATH", &sdk)
        .env("SLACK_API_URL", &api_url)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (ok, output) = run(python).expect("the Python script finished in time");
    println!("{output}");
    assert!(ok, "slack_sdk flows failed:\n{output}");
    assert!(output.contains("all flows passed"), "{output}");
}
