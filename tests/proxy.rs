//! An explicit HTTP proxy carries both the Web API and the websocket through `CONNECT`, with
//! `Proxy-Authorization: Basic` from the (percent-decoded) URL credentials; a 407 is a typed
//! error that never shows the credentials, on either path. Proxies from the environment (in
//! child processes) are chosen the same way for both paths, and `NO_PROXY` bypasses them. The
//! Socket Mode client tunnels both of its paths the same way.
//!
//! The two paths are told apart by their `CONNECT` heads: ureq (the Web API) sends a
//! `User-Agent`, the websocket's tunnel does not.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use slack_rtm::{Error, RtmClient};

/// A loopback CONNECT proxy that records each request head and tunnels (or answers `refuse`).
struct Proxy {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    /// Connections accepted, whatever they sent.
    accepted: Arc<AtomicUsize>,
}

fn proxy(refuse: Option<&'static str>) -> Proxy {
    proxy_refusing_from(refuse, 0)
}

/// A proxy that tunnels the first `tunnelled` connections and answers the later ones `refuse`.
fn proxy_refusing_from(refuse: Option<&'static str>, tunnelled: usize) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::new(AtomicUsize::new(0));
    let (h, a) = (heads.clone(), accepted.clone());
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { return };
            a.fetch_add(1, Ordering::SeqCst);
            let h = h.clone();
            let refuse = if n < tunnelled { None } else { refuse };
            std::thread::spawn(move || {
                common::proxy::tunnel(client, &h, |_| match refuse {
                    Some(answer) => common::proxy::Answer::Refuse(answer.to_string()),
                    None => common::proxy::Answer::Tunnel,
                })
            });
        }
    });
    Proxy {
        port,
        heads,
        accepted,
    }
}

impl Proxy {
    /// The `CONNECT`s to `port` that the Web API (ureq) and the websocket sent.
    fn connects_to(&self, port: u16) -> (usize, usize) {
        let heads = self.heads.lock().unwrap();
        let connects = heads
            .iter()
            .filter(|h| h.starts_with(&format!("CONNECT 127.0.0.1:{port} ")));
        let web = connects.clone().filter(|h| is_web_api(h)).count();
        (web, connects.count() - web)
    }
}

fn is_web_api(head: &str) -> bool {
    head.to_ascii_lowercase().contains("\r\nuser-agent:")
}

#[test]
fn web_api_and_websocket_both_tunnel_through_the_proxy_with_credentials() {
    let fake = fake();
    let p = proxy(None);
    let client = builder(&fake)
        .proxy(&format!("http://bot%40corp:p%3Ass@127.0.0.1:{}", p.port))
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();

    let heads = p.heads.lock().unwrap().clone();
    let fake_port = fake.addr().port();
    let connects: Vec<_> = heads
        .iter()
        .filter(|h| h.starts_with(&format!("CONNECT 127.0.0.1:{fake_port} ")))
        .collect();
    assert!(
        connects.len() >= 2,
        "rtm.connect and the websocket both use the proxy: {heads:?}"
    );
    assert_eq!(p.connects_to(fake_port), (1, 1), "one of each: {heads:?}");
    // base64("bot@corp:p:ss")
    for h in connects {
        assert!(
            h.contains("Proxy-Authorization: Basic Ym90QGNvcnA6cDpzcw=="),
            "{h}"
        );
    }
}

#[test]
fn socket_mode_tunnels_both_paths_through_the_proxy() {
    let fake = fake();
    let p = proxy(None);
    let client = slack_rtm::socket_mode::SocketModeClient::builder("xapp-1-A1-1-proxy")
        .base_url(&fake.api_url())
        .proxy(&format!("http://bot%40corp:p%3Ass@127.0.0.1:{}", p.port))
        .handle_signals(false)
        .build()
        .unwrap();
    let running = client.spawn().unwrap();
    assert!(fake.wait_for_socket_ready(1, SOON));
    let id = fake.send_event(serde_json::json!({"type": "message"}));
    assert!(fake.wait_for_socket_ack(&id, SOON).is_some());
    running.stop();
    within(SOON, move || running.join()).unwrap();
    let fake_port = fake.addr().port();
    let heads = p.heads.lock().unwrap().clone();
    assert_eq!(
        p.connects_to(fake_port),
        (1, 1),
        "apps.connections.open and the websocket: {heads:?}"
    );
    for h in heads.iter().filter(|h| h.starts_with("CONNECT")) {
        assert!(
            h.contains("Proxy-Authorization: Basic Ym90QGNvcnA6cDpzcw=="),
            "{h}"
        );
    }
}

#[test]
fn a_407_is_a_proxy_error_without_credentials() {
    let fake = fake();
    let p = proxy(Some(
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    ));
    let client = builder(&fake)
        .proxy(&format!("http://user:hunter2@127.0.0.1:{}", p.port))
        .auto_reconnect(false)
        .build()
        .unwrap();
    let err = client.start().unwrap_err();
    assert!(
        matches!(&err, Error::Proxy { reason } if reason.contains("407")),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(fake.calls_to("rtm.connect"), 0);
}

#[test]
fn a_407_on_the_websocket_is_a_proxy_error_without_credentials() {
    // rtm.connect tunnels; the websocket's CONNECT is refused.
    let fake = fake();
    let p = proxy_refusing_from(
        Some("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
        1,
    );
    let client = builder(&fake)
        .proxy(&format!("http://user:hunter2@127.0.0.1:{}", p.port))
        .auto_reconnect(false)
        .build()
        .unwrap();
    let err = client.start().unwrap_err();
    assert!(
        matches!(&err, Error::Proxy { reason } if reason.contains("407")),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(fake.calls_to("rtm.connect"), 1);
    assert_eq!(p.connects_to(fake.addr().port()), (1, 1));
    assert_eq!(fake.connections_total(), 0);
}

// ----- proxies from the environment, in child processes -----

const PROXY_VARS: [&str; 8] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Runs `child_connects_through_the_environment` in a child process against `fake`, with the
/// proxy variables of `env` only (and an explicit proxy when given); it must reach `hello`.
fn run_child(
    fake: &slack_rtm::testing::FakeSlack,
    env: &[(&str, String)],
    explicit: Option<&Proxy>,
) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_connects_through_the_environment",
        "--exact",
        "--ignored",
        "--test-threads=1",
        "--nocapture",
    ]);
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd.env("SLACK_RTM_TEST_API_URL", fake.api_url());
    if let Some(p) = explicit {
        cmd.env(
            "SLACK_RTM_TEST_PROXY",
            format!("http://127.0.0.1:{}", p.port),
        );
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_within(cmd, CHILD_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child with {env:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run by the tests below in a child process: connects to `SLACK_RTM_TEST_API_URL` (through
/// `SLACK_RTM_TEST_PROXY` when set, else as the environment says) and waits for `hello`.
#[test]
#[ignore = "run as a child process by the environment proxy tests"]
fn child_connects_through_the_environment() {
    let Ok(url) = std::env::var("SLACK_RTM_TEST_API_URL") else {
        return;
    };
    let mut b = RtmClient::builder("xoxb-test")
        .base_url(&url)
        .handle_signals(false)
        .auto_reconnect(false)
        .timeout(Duration::from_secs(5));
    if let Ok(p) = std::env::var("SLACK_RTM_TEST_PROXY") {
        b = b.proxy(&p);
    }
    let client = b.build().unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

fn url(p: &Proxy) -> String {
    format!("http://127.0.0.1:{}", p.port)
}

#[test]
fn an_environment_proxy_carries_both_paths_in_the_same_order_of_precedence() {
    // ureq's order, for every target whatever its scheme: ALL_PROXY, all_proxy, HTTPS_PROXY,
    // https_proxy, HTTP_PROXY, http_proxy. The websocket must pick the same one.
    let cases: [&[&str]; 4] = [
        &["ALL_PROXY", "HTTPS_PROXY", "http_proxy"],
        &["HTTPS_PROXY", "HTTP_PROXY", "http_proxy"],
        &["https_proxy", "http_proxy"],
        &["http_proxy"],
    ];
    for vars in cases {
        let fake = fake();
        let proxies: Vec<Proxy> = vars.iter().map(|_| proxy(None)).collect();
        let env: Vec<_> = vars
            .iter()
            .zip(&proxies)
            .map(|(v, p)| (*v, url(p)))
            .collect();
        run_child(&fake, &env, None);
        let port = fake.addr().port();
        assert_eq!(
            proxies[0].connects_to(port),
            (1, 1),
            "{vars:?}: the first one wins"
        );
        for p in &proxies[1..] {
            assert_eq!(p.connects_to(port), (0, 0), "{vars:?}");
        }
    }
}

#[test]
fn no_proxy_bypasses_an_environment_proxy_for_both_paths() {
    for no_proxy in [
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "example.com,127.0.0.1"),
        ("NO_PROXY", "*"),
    ] {
        let fake = fake();
        let p = proxy(None);
        run_child(
            &fake,
            &[
                ("HTTPS_PROXY", url(&p)),
                (no_proxy.0, no_proxy.1.to_string()),
            ],
            None,
        );
        assert_eq!(p.accepted.load(Ordering::SeqCst), 0, "{no_proxy:?}");
        assert_eq!(fake.calls_to("rtm.connect"), 1);
    }
    // A NO_PROXY that does not match leaves the proxy in place.
    let fake = fake();
    let p = proxy(None);
    run_child(
        &fake,
        &[
            ("HTTPS_PROXY", url(&p)),
            ("NO_PROXY", "example.com".to_string()),
        ],
        None,
    );
    assert_eq!(p.connects_to(fake.addr().port()), (1, 1));
}

#[test]
fn an_environment_proxy_that_is_not_http_is_ignored_by_both_paths() {
    // ALL_PROXY comes first, so HTTPS_PROXY is not used either (as ureq reads them).
    for scheme in ["socks5", "https"] {
        let fake = fake();
        let (other, http) = (proxy(None), proxy(None));
        run_child(
            &fake,
            &[
                ("ALL_PROXY", format!("{scheme}://127.0.0.1:{}", other.port)),
                ("HTTPS_PROXY", url(&http)),
            ],
            None,
        );
        assert_eq!(other.accepted.load(Ordering::SeqCst), 0, "{scheme}");
        assert_eq!(http.accepted.load(Ordering::SeqCst), 0, "{scheme}");
        assert_eq!(fake.calls_to("rtm.connect"), 1);
    }
}

#[test]
fn an_explicit_proxy_ignores_no_proxy_and_the_environment() {
    let fake = fake();
    let (explicit, from_env) = (proxy(None), proxy(None));
    run_child(
        &fake,
        &[
            ("HTTPS_PROXY", url(&from_env)),
            ("NO_PROXY", "*".to_string()),
        ],
        Some(&explicit),
    );
    assert_eq!(explicit.connects_to(fake.addr().port()), (1, 1));
    assert_eq!(from_env.accepted.load(Ordering::SeqCst), 0);
}

/// Every log record of this process at every level, dependencies' included.
fn captured_logs() -> &'static Mutex<String> {
    struct Capture(Mutex<String>);
    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!(
                "{} {}: {}\n",
                record.level(),
                record.target(),
                record.args()
            );
            self.0.lock().unwrap().push_str(&line);
        }
        fn flush(&self) {}
    }
    static CAPTURE: std::sync::OnceLock<&'static Capture> = std::sync::OnceLock::new();
    let capture = CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(String::new()))));
        log::set_logger(capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        capture
    });
    &capture.0
}

#[test]
fn proxy_credentials_never_reach_the_logs_even_at_trace() {
    let logs = captured_logs();
    let fake = fake();
    let (user, password) = ("log-user", "s3cr3t-pw");
    let basic = "bG9nLXVzZXI6czNjcjN0LXB3"; // base64("log-user:s3cr3t-pw")
                                            // A tunnel that works, then a 407 on the websocket's CONNECT.
    for refuse_from in [usize::MAX, 1] {
        let p = proxy_refusing_from(
            Some("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
            refuse_from,
        );
        let client = builder(&fake)
            .proxy(&format!("http://{user}:{password}@127.0.0.1:{}", p.port))
            .auto_reconnect(false)
            .build()
            .unwrap();
        let rx = record_all(&client);
        let running = client.spawn().unwrap();
        if refuse_from == usize::MAX {
            next_named(&rx, "hello");
            running.stop();
            join_within(running, SOON).0.unwrap();
        } else {
            assert!(matches!(
                join_within(running, SOON).0,
                Err(Error::Proxy { .. })
            ));
        }
        assert!(p.heads.lock().unwrap().iter().all(|h| h.contains(basic)));
    }
    let logs = logs.lock().unwrap();
    assert!(logs.contains("TRACE"), "the logger saw trace records");
    assert!(logs.contains(&format!("127.0.0.1:{}", fake.addr().port())));
    assert!(!logs.contains(password), "{logs}");
    assert!(!logs.contains(basic), "{logs}");
}
