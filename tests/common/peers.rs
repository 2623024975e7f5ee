//! Slack's own SDKs as peers of the interop tests: pinned packages installed once into a
//! folder under the system's temporary directory (never into the repository), and child
//! processes that are killed when a test ends early. A missing `python3`/`node` or an
//! unreachable registry prints one `skipping: …` line and the test passes.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The versions proven here (pinned so that a new release cannot break CI unnoticed).
pub const PY_PACKAGES: [&str; 2] = ["slack_sdk==3.48.0", "slack_bolt==1.30.0"];
pub const NODE_PACKAGE: &str = "@slack/socket-mode@3.1.0";
/// How long installing may take.
pub const INSTALL_DEADLINE: Duration = Duration::from_secs(300);
/// How long an app may take to start, connect, or handle what it was sent.
pub const APP_DEADLINE: Duration = Duration::from_secs(60);

/// One install at a time in this process (the Python tests share one folder).
static INSTALL: Mutex<()> = Mutex::new(());

/// Prints a line on the real stderr, past the test harness's capture.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn tool_exists(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` to completion within `deadline`; returns (success, combined output).
pub fn run_bounded(mut cmd: Command, deadline: Duration) -> (bool, String) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => Running::new(child),
        Err(e) => return (false, format!("cannot start: {e}")),
    };
    let ok = child.wait(deadline);
    let (out, err) = child.output();
    (ok, format!("{out}{err}"))
}

/// Makes sure the packages are in `dir/name` (installing into a fresh folder and renaming it,
/// so a half-finished install is never used). `None` (after one `skipping` line) when they
/// cannot be installed.
pub fn installed(name: &str, marker: &str, install: impl Fn(&Path) -> Command) -> Option<PathBuf> {
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let root = std::env::temp_dir().join("slack-rtm-interop");
    let target = root.join(name);
    if target.join(marker).exists() {
        return Some(target);
    }
    let staging = root.join(format!("{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    if let Err(e) = std::fs::create_dir_all(&staging) {
        say(&format!(
            "skipping: cannot create {}: {e}",
            staging.display()
        ));
        return None;
    }
    let (ok, output) = run_bounded(install(&staging), INSTALL_DEADLINE);
    if !ok || !staging.join(marker).exists() {
        let last = output
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_owned();
        say(&format!(
            "skipping: could not install {name} packages (registry unreachable?): {last}"
        ));
        let _ = std::fs::remove_dir_all(&staging);
        return None;
    }
    if std::fs::rename(&staging, &target).is_err() {
        // Another process installed it meanwhile.
        let _ = std::fs::remove_dir_all(&staging);
    }
    target.join(marker).exists().then_some(target)
}

pub fn python_packages() -> Option<PathBuf> {
    if !tool_exists("python3") {
        say("skipping: python3 not found");
        return None;
    }
    let name = format!("py-{}", PY_PACKAGES.join("-").replace("==", ""));
    installed(&name, "slack_bolt", |dir| {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--target"])
        .arg(dir)
        .args(PY_PACKAGES);
        cmd
    })
}

pub fn node_packages() -> Option<PathBuf> {
    if !tool_exists("node") || !tool_exists("npm") {
        say("skipping: node or npm not found");
        return None;
    }
    let name = format!("node-{}", NODE_PACKAGE.replace(['@', '/'], "_"));
    installed(&name, "node_modules/@slack/socket-mode", |dir| {
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(dir)
            .arg(NODE_PACKAGE);
        cmd
    })
}

/// A child process that is killed if the test ends early, with its output collected on
/// background threads (so it never blocks on a full pipe).
pub struct Running {
    pub child: Child,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<String>> {
    let mut pipe = pipe?;
    Some(thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    }))
}

impl Running {
    pub fn new(mut child: Child) -> Running {
        let out = collect(child.stdout.take());
        let err = collect(child.stderr.take());
        Running { child, out, err }
    }

    /// Waits for the exit within `deadline` (killing it after); true for a zero exit status.
    pub fn wait(&mut self, deadline: Duration) -> bool {
        let end = Instant::now() + deadline;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return false;
                }
            }
        }
    }

    /// Its stdout and stderr (call after it exited).
    pub fn output(&mut self) -> (String, String) {
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        (join(self.out.take()), join(self.err.take()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
