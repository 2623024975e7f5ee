//! A headless Chromium driven over the Chrome DevTools Protocol (a websocket, with the
//! tungstenite the crate already uses): open a page, click, read the page, wait for the next
//! page load. `Browser::launch` answers `Ok(None)` when no Chromium is installed, so a test can
//! say why it skips.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// The Chromium binary: `$CHROMIUM`, else the first of `chromium`, `chromium-browser`,
/// `google-chrome` on the `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

pub struct Browser {
    child: Child,
    stderr: Option<JoinHandle<()>>,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    loads: u64,
    dir: PathBuf,
}

impl Browser {
    /// A headless Chromium with a fresh profile and one blank page; `Ok(None)` when there is
    /// no Chromium.
    pub fn launch(profile_dir: &Path) -> Result<Option<Browser>, String> {
        let Some(bin) = find_chromium() else {
            return Ok(None);
        };
        let mut child = Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        // Chromium prints "DevTools listening on ws://…" on stderr; the reader keeps draining
        // it so the browser never blocks on a full pipe.
        let (tx, rx) = crossbeam_channel::bounded::<String>(1);
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.try_send(url.trim().to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("chromium did not open its DevTools port within 30 s".into());
            }
        };
        let (host, _path) = url
            .strip_prefix("ws://")
            .and_then(|r| r.split_once('/'))
            .ok_or(format!("unexpected DevTools URL {url}"))?;
        let tcp = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let (ws, _) =
            tungstenite::client(url.as_str(), tcp).map_err(|e| format!("handshake: {e}"))?;
        let mut browser = Browser {
            child,
            stderr: Some(reader),
            ws,
            session: String::new(),
            next_id: 0,
            loads: 0,
            dir: profile_dir.to_path_buf(),
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}), false)?;
        let target_id = target["targetId"].as_str().ok_or("no targetId")?.to_owned();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            false,
        )?;
        browser.session = attached["sessionId"]
            .as_str()
            .ok_or("no sessionId")?
            .to_owned();
        browser.call("Page.enable", json!({}), true)?;
        browser.call("Runtime.enable", json!({}), true)?;
        Ok(Some(browser))
    }

    /// Sends a command and waits for its answer (events that arrive meanwhile are counted).
    fn call(&mut self, method: &str, params: Value, in_page: bool) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if in_page {
            msg["sessionId"] = Value::from(self.session.as_str());
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| format!("{method}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = self.next_message(deadline)?;
            if answer["id"] == id {
                if let Some(err) = answer.get("error") {
                    return Err(format!("{method}: {err}"));
                }
                return Ok(answer["result"].clone());
            }
        }
    }

    /// The next message, counting page loads.
    fn next_message(&mut self, deadline: Instant) -> Result<Value, String> {
        loop {
            if Instant::now() >= deadline {
                return Err("the browser did not answer in time".into());
            }
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    let v: Value =
                        serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
                    if v["method"] == "Page.loadEventFired" {
                        self.loads += 1;
                    }
                    return Ok(v);
                }
                Ok(_) => {}
                Err(e) => return Err(format!("devtools socket: {e}")),
            }
        }
    }

    /// Opens `url` in the page.
    pub fn navigate(&mut self, url: &str) -> Result<(), String> {
        self.call("Page.navigate", json!({"url": url}), true)
            .map(|_| ())
    }

    /// Evaluates a JavaScript expression in the page; its value.
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
            true,
        )?;
        Ok(r["result"]["value"].clone())
    }

    /// Waits until `expression` is true in the page, re-checking after each page load, for at
    /// most `timeout`.
    pub fn wait_for(&mut self, expression: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.loads;
            // An evaluation that fails while a navigation replaces the page ("execution
            // context was destroyed") counts as "not yet": the new page's load follows.
            if matches!(self.eval(expression), Ok(Value::Bool(true))) {
                return Ok(());
            }
            // The next load (unless one came while evaluating).
            while self.loads == seen {
                self.next_message(deadline)
                    .map_err(|e| format!("waiting for `{expression}`: {e}"))?;
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("Browser.close", json!({}), false);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        if let Some(reader) = self.stderr.take() {
            let _ = reader.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
