//! `slack-rtm serve` speaks Socket Mode: `apps.connections.open` for app tokens, the stdin
//! commands `!event`, `!command`, `!interactive` and `!disconnect` (each to one Socket Mode
//! connection, bad ones skipped with one stderr line), and `--frames` printing every client
//! frame and Web API call as one JSON line, and the Socket Mode benchmark commands of
//! `--bench` (`!sm-flood`, `!sm-report`) — checked with a plain tungstenite client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const SOON: Duration = Duration::from_secs(10);
const APP_TOKEN: &str = "xapp-1-A0CLI-1-SeKrEt";

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

/// A running `slack-rtm serve`, killed on drop.
struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<String>,
    err: Receiver<String>,
    api_url: String,
}

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slack-rtm"))
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slack-rtm serve");
        let stdin = child.stdin.take();
        let out = lines(child.stdout.take().expect("stdout"));
        let err = lines(child.stderr.take().expect("stderr"));
        let first = out.recv_timeout(SOON).expect("the URL line");
        let api_url = first
            .strip_prefix("SLACK_API_URL=")
            .unwrap_or_else(|| panic!("first line {first:?}"))
            .to_owned();
        Serve {
            child,
            stdin,
            out,
            err,
            api_url,
        }
    }

    fn addr(&self) -> String {
        self.api_url
            .trim_start_matches("http://")
            .trim_end_matches("/api/")
            .to_owned()
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write stdin");
    }

    /// The next stdout line as JSON.
    fn next_record(&self) -> Value {
        let line = self.out.recv_timeout(SOON).expect("a stdout line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Types a `--bench` command and returns its `BENCH` answer.
    fn bench(&mut self, command: &str) -> Value {
        self.type_line(command);
        loop {
            let line = self
                .out
                .recv_timeout(SOON)
                .unwrap_or_else(|_| panic!("no answer to {command:?}"));
            if let Some(answer) = line.strip_prefix("BENCH ") {
                return serde_json::from_str(answer).expect("JSON");
            }
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_err(&self, needle: &str) -> String {
        loop {
            let line = self
                .err
                .recv_timeout(SOON)
                .unwrap_or_else(|_| panic!("no stderr line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Opens a Socket Mode connection and reads its hello.
    fn connect(&self) -> Client {
        let mut http = TcpStream::connect(self.addr()).expect("connect");
        http.set_read_timeout(Some(SOON)).unwrap();
        write!(
            http,
            "POST /api/apps.connections.open HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {APP_TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        http.read_to_string(&mut answer).unwrap();
        let body: Value =
            serde_json::from_str(answer.split_once("\r\n\r\n").expect("body").1).expect("JSON");
        let url = body["url"].as_str().expect("a url");
        let (mut ws, _) = tungstenite::connect(url).expect("handshake");
        if let MaybeTlsStream::Plain(s) = ws.get_mut() {
            s.set_read_timeout(Some(SOON)).unwrap();
        }
        assert_eq!(next_json(&mut ws)["type"], "hello");
        ws
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn next_json(ws: &mut Client) -> Value {
    loop {
        match ws.read().expect("a frame") {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn stdin_commands_deliver_envelopes_to_a_socket_mode_connection() {
    let mut serve = Serve::start(&[]);
    let mut ws = serve.connect();

    serve.type_line(r#"!event {"type":"app_mention","text":"<@U0FAKEBOT1> hi","channel":"C1"}"#);
    let e = next_json(&mut ws);
    assert_eq!(e["type"], "events_api");
    assert_eq!(e["payload"]["event"]["type"], "app_mention");
    assert!(e["payload"]["event_id"].as_str().unwrap().starts_with("Ev"));
    serve.wait_err("stdin line 1: events_api envelope");

    serve.type_line("!command /deploy prod now");
    let e = next_json(&mut ws);
    assert_eq!(e["type"], "slash_commands");
    assert_eq!(e["payload"]["command"], "/deploy");
    assert_eq!(e["payload"]["text"], "prod now");
    assert_eq!(e["accepts_response_payload"], true);

    serve.type_line(r#"!interactive {"type":"block_actions","actions":[{"action_id":"go"}]}"#);
    let e = next_json(&mut ws);
    assert_eq!(e["type"], "interactive");
    assert_eq!(e["payload"]["actions"][0]["action_id"], "go");
    assert_eq!(e["accepts_response_payload"], true);
    serve.type_line(r#"!interactive {"type":"shortcut","callback_id":"s"}"#);
    assert_eq!(next_json(&mut ws)["accepts_response_payload"], false);

    // Bad lines get one stderr line each and nothing is sent.
    serve.type_line("!event not json");
    serve.wait_err("stdin line 5 skipped: !event needs an Events API event");
    serve.type_line("!command deploy");
    serve.wait_err("stdin line 6 skipped: !command needs a command name starting with /");
    serve.type_line(r#"!interactive {"no":"type"}"#);
    serve.wait_err("stdin line 7 skipped");
    serve.type_line("!disconnect");
    serve.wait_err("stdin line 8 skipped: !disconnect needs one reason");

    serve.type_line("!disconnect warning");
    let d = next_json(&mut ws);
    assert_eq!(
        (d["type"].as_str(), d["reason"].as_str()),
        (Some("disconnect"), Some("warning"))
    );
    serve.type_line("!disconnect refresh_requested");
    assert_eq!(next_json(&mut ws)["reason"], "refresh_requested");
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => break,
            Ok(Message::Text(t)) => panic!("nothing after the disconnect: {t}"),
            Ok(_) => {}
            Err(e) => panic!("a clean close: {e}"),
        }
    }
    // Plain JSON lines still go to RTM clients only; with no socket open, envelopes wait.
    serve.type_line(r#"!event {"type":"message","text":"later"}"#);
    serve.wait_err("queued until a Socket Mode connection says hello");
    let mut next = serve.connect();
    assert_eq!(next_json(&mut next)["payload"]["event"]["text"], "later");
    serve.type_line("!disconnect link_disabled");
    assert_eq!(next_json(&mut next)["reason"], "link_disabled");
    serve.type_line(r#"{"type":"message","text":"rtm only"}"#);
    serve.wait_err("sent to 0 client(s)");
}

#[test]
fn frames_prints_every_client_frame_and_api_call_as_json_lines() {
    let mut serve = Serve::start(&["--frames"]);
    let mut ws = serve.connect();
    assert_eq!(
        serve.next_record(),
        json!({"api": "apps.connections.open", "params": {}})
    );
    serve.type_line("!command /x go");
    let e = next_json(&mut ws);
    let id = e["envelope_id"].as_str().unwrap().to_owned();
    ws.send(Message::text(
        json!({"envelope_id": id, "payload": {"text": "ok"}}).to_string(),
    ))
    .unwrap();
    assert_eq!(
        serve.next_record(),
        json!({"conn": 1, "protocol": "socket_mode", "frame": {"envelope_id": id, "payload": {"text": "ok"}}})
    );
    ws.send(Message::text("not json")).unwrap();
    assert_eq!(
        serve.next_record(),
        json!({"conn": 1, "protocol": "socket_mode", "frame": "not json"})
    );
    drop(ws);
    // Nothing else (no token, no other output) reached stdout.
    std::thread::sleep(Duration::from_millis(200));
    let rest: Vec<String> = serve.out.try_iter().collect();
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn bench_floods_a_socket_mode_connection_and_reports_its_acks() {
    let mut serve = Serve::start(&["--bench"]);
    let answer = serve.bench("!sm-report");
    assert_eq!(answer["cmd"], "error", "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("no !sm-flood yet"));
    let answer = serve.bench("!sm-flood 0 10");
    assert_eq!(answer["cmd"], "error", "{answer}");

    let mut ws = serve.connect();
    // Unpaced: 6 envelopes, of which the client acks 4, the 4th twice.
    let flood = serve.bench("!sm-flood 6 0");
    assert_eq!(flood["cmd"], "sm-flood", "{flood}");
    assert_eq!(flood["n"], 6);
    let mut ids = Vec::new();
    while ids.len() < 6 {
        let e = next_json(&mut ws);
        assert_eq!(e["type"], "events_api", "{e}");
        assert_eq!(e["payload"]["event"]["type"], "message", "{e}");
        ids.push(e["envelope_id"].as_str().unwrap().to_owned());
    }
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 6, "{ids:?}");
    for id in ids.iter().take(4).chain([&ids[3]]) {
        ws.send(Message::text(json!({ "envelope_id": id }).to_string()))
            .unwrap();
    }
    // Waits (up to 2 s) for the 6 acks it expects; 5 come.
    let report = serve.bench("!sm-report 2000");
    assert_eq!(report["cmd"], "sm-report", "{report}");
    assert_eq!(
        (
            &report["n"],
            &report["written"],
            &report["acked"],
            &report["acked_within_3s"],
            &report["unacked"],
            &report["duplicate_acks"]
        ),
        (
            &json!(6),
            &json!(6),
            &json!(4),
            &json!(4),
            &json!(2),
            &json!(1)
        ),
        "{report}"
    );
    // Nearest rank over all 6: the 3rd is acked, the 6th is not.
    assert!(report["p50_us"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["p99_us"].is_null(), "{report}");
    assert!(report["max_us"].is_null(), "{report}");
    assert!(report["max_acked_us"].as_f64().unwrap() >= report["p50_us"].as_f64().unwrap());
    assert!(report["acked_per_sec"].as_f64().unwrap() > 0.0, "{report}");

    // Paced: 5 envelopes at 50/s take at least 4 intervals of 20 ms; all acked.
    let flood = serve.bench("!sm-flood 5 50");
    assert!(flood["send_secs"].as_f64().unwrap() >= 0.079, "{flood}");
    for _ in 0..5 {
        let e = next_json(&mut ws);
        let id = e["envelope_id"].as_str().unwrap().to_owned();
        ws.send(Message::text(json!({ "envelope_id": id }).to_string()))
            .unwrap();
    }
    let report = serve.bench("!sm-report 5000");
    assert_eq!(
        (&report["n"], &report["acked"], &report["unacked"]),
        (&json!(5), &json!(5), &json!(0)),
        "{report}"
    );
    assert!(report["max_us"].as_f64().unwrap() >= report["p99_us"].as_f64().unwrap());
    // The RTM commands still answer.
    assert_eq!(serve.bench("!clients")["cmd"], "clients");
}
