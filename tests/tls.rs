//! TLS: the fake Slack in HTTPS/WSS mode with a CA made at test time is reached through
//! `root_certificate` (for both rtm.connect and the websocket) and, in child processes, through
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`; it is rejected without them or with another CA, with a
//! typed error that names the host. A client identity reaches a server that asks for one (an
//! OpenSSL server in this file: the fake's native-tls acceptor cannot ask) on both paths.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509Name, X509};
use slack_rtm::testing::FakeSlack;
use slack_rtm::{Error, Phase, RtmClient};

struct Ca {
    cert: X509,
    key: PKey<Private>,
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn name(cn: &str) -> X509Name {
    let mut n = X509Name::builder().unwrap();
    n.append_entry_by_text("CN", cn).unwrap();
    n.build()
}

fn ca(cn: &str) -> Ca {
    let key = key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name(cn)).unwrap();
    b.set_issuer_name(&name(cn)).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    Ca {
        cert: b.build(),
        key,
    }
}

/// A server certificate for 127.0.0.1 signed by `ca`: (cert PEM, PKCS#8 key PEM).
fn server_cert(ca: &Ca) -> (Vec<u8>, Vec<u8>) {
    leaf(ca, "127.0.0.1", 2, true)
}

/// A certificate signed by `ca` (for 127.0.0.1 and localhost when `server`): (cert PEM, PKCS#8
/// key PEM).
fn leaf(ca: &Ca, cn: &str, serial: u32, server: bool) -> (Vec<u8>, Vec<u8>) {
    let key = key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name(cn)).unwrap();
    b.set_issuer_name(ca.cert.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    if server {
        let san = SubjectAlternativeName::new()
            .ip("127.0.0.1")
            .dns("localhost")
            .build(&b.x509v3_context(Some(&ca.cert), None))
            .unwrap();
        b.append_extension(san).unwrap();
    }
    b.sign(&ca.key, MessageDigest::sha256()).unwrap();
    (
        b.build().to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

fn tls_fake(ca: &Ca) -> FakeSlack {
    let (cert, key) = server_cert(ca);
    FakeSlack::builder()
        .tls(&cert, &key)
        .echo_messages(false)
        .start()
        .unwrap()
}

#[test]
fn root_certificate_trusts_the_server_for_web_api_and_websocket() {
    let ca = ca("slack-rtm test CA");
    let fake = tls_fake(&ca);
    assert!(fake.api_url().starts_with("https://127.0.0.1:"));
    let client = builder(&fake)
        .root_certificate(&ca.cert.to_pem().unwrap())
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    let open = next_named(&rx, "open");
    assert!(open["url"].as_str().unwrap().starts_with("wss://"));
    next_named(&rx, "hello");
    client.handle().typing("C1").unwrap();
    assert!(fake.wait_for_frames(1, SOON), "a send over wss arrives");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

#[test]
fn socket_mode_trusts_the_root_certificate_on_both_paths() {
    let ca = ca("slack-rtm test CA");
    let fake = tls_fake(&ca);
    let client = slack_rtm::socket_mode::SocketModeClient::builder("xapp-1-A1-1-tls")
        .base_url(&fake.api_url())
        .root_certificate(&ca.cert.to_pem().unwrap())
        .handle_signals(false)
        .build()
        .unwrap();
    let (tx, opened) = crossbeam_channel::unbounded();
    client.on("open", move |r: &slack_rtm::socket_mode::Request| {
        let _ = tx.send(r.payload["url"].as_str().unwrap_or_default().to_string());
    });
    let running = client.spawn().unwrap();
    assert!(opened.recv_timeout(SOON).unwrap().starts_with("wss://"));
    assert!(fake.wait_for_socket_ready(1, SOON));
    let id = fake.send_event(serde_json::json!({"type": "message"}));
    assert!(
        fake.wait_for_socket_ack(&id, SOON).is_some(),
        "acked over wss"
    );
    running.stop();
    within(SOON, move || running.join()).unwrap();
}

#[test]
fn an_untrusted_server_is_rejected_with_a_tls_error() {
    let ca = ca("slack-rtm test CA");
    let fake = tls_fake(&ca);
    for other in [None, Some(self::ca("another CA"))] {
        let mut b = RtmClient::builder("xoxb-test")
            .base_url(&fake.api_url())
            .handle_signals(false)
            .auto_reconnect(false)
            .timeout(Duration::from_secs(5));
        if let Some(other) = &other {
            b = b.root_certificate(&other.cert.to_pem().unwrap());
        }
        let err = b.build().unwrap().start().unwrap_err();
        match &err {
            Error::Tls { host, .. } => assert!(host.contains("127.0.0.1"), "{err}"),
            other => panic!("expected a TLS error, got {other:?}"),
        }
        let cause = std::error::Error::source(&err).expect("the TLS library's error is kept");
        assert!(!cause.to_string().is_empty());
        assert_eq!(fake.calls_to("rtm.connect"), 0, "nothing got through");
    }
}

#[test]
fn a_websocket_on_the_tls_port_uses_tls_by_scheme() {
    // The plain fake hands out ws:// URLs: a client with custom roots still speaks plain
    // websocket to them (TLS is chosen by scheme, never by port or by options).
    let ca = ca("slack-rtm test CA");
    let fake = fake();
    let client = builder(&fake)
        .root_certificate(&ca.cert.to_pem().unwrap())
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();
}

// ----- SSL_CERT_FILE, in child processes (the environment is read once per process) -----

/// Runs the ignored test `name` of this binary in a child process with `env` (the OpenSSL
/// variables removed first) and says whether it passed.
fn run_child(name: &str, env: &[(&str, String)]) -> bool {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--test-threads=1",
        "--nocapture",
    ])
    .env_remove("SSL_CERT_FILE")
    .env_remove("SSL_CERT_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_within(cmd, CHILD_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed") || stdout.contains("1 failed"),
        "the child test did not run: {stdout}"
    );
    if !out.status.success() {
        eprintln!(
            "child {name}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

/// A temporary file or directory that is removed when dropped.
struct TempPath(std::path::PathBuf);

impl TempPath {
    fn unique(what: &str) -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!(
            "slack-rtm-test-{what}-{}-{nanos}",
            std::process::id()
        ))
    }

    /// A PEM file, for `SSL_CERT_FILE`.
    fn file(contents: &[u8]) -> TempPath {
        let path = TempPath::unique("ca.pem");
        std::fs::write(&path, contents).unwrap();
        TempPath(path)
    }

    /// A directory holding `cert` under its subject hash, as `c_rehash` lays out
    /// `SSL_CERT_DIR`.
    fn cert_dir(cert: &X509) -> TempPath {
        let dir = TempPath::unique("certs");
        std::fs::create_dir(&dir).unwrap();
        let name = format!("{:08x}.0", cert.subject_name_hash());
        std::fs::write(dir.join(name), cert.to_pem().unwrap()).unwrap();
        TempPath(dir)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn ssl_cert_file_is_the_default_store_for_web_api_and_websocket() {
    let ca = ca("slack-rtm test CA");
    let fake = tls_fake(&ca);
    let ca_file = TempPath::file(&ca.cert.to_pem().unwrap());
    let ca_dir = TempPath::cert_dir(&ca.cert);
    let url = ("SLACK_RTM_TEST_API_URL", fake.api_url());
    let expect = |what: &str| ("SLACK_RTM_TEST_EXPECT", what.to_string());

    for (var, path) in [("SSL_CERT_FILE", &ca_file), ("SSL_CERT_DIR", &ca_dir)] {
        let before = fake.connections_total();
        assert!(
            run_child(
                "child_with_the_default_store",
                &[
                    url.clone(),
                    expect("hello"),
                    (var, path.0.display().to_string())
                ]
            ),
            "{var} trusts the server"
        );
        assert!(
            fake.wait_for_connections(before + 1, SOON),
            "{var}: the websocket trusted it too"
        );
    }
    assert_eq!(fake.calls_to("rtm.connect"), 2);

    // Control: the same child without them is refused.
    assert!(
        run_child("child_with_the_default_store", &[url, expect("tls-error")]),
        "without SSL_CERT_FILE the server is not trusted"
    );
    assert_eq!(fake.calls_to("rtm.connect"), 2, "nothing got through");
}

/// Run by `ssl_cert_file_is_the_default_store_for_web_api_and_websocket` in a child process:
/// connects to `SLACK_RTM_TEST_API_URL` with the default trust store and expects
/// `SLACK_RTM_TEST_EXPECT` (`hello` or `tls-error`).
#[test]
#[ignore = "run as a child process by ssl_cert_file_is_the_default_store_for_web_api_and_websocket"]
fn child_with_the_default_store() {
    let (Ok(url), Ok(expect)) = (
        std::env::var("SLACK_RTM_TEST_API_URL"),
        std::env::var("SLACK_RTM_TEST_EXPECT"),
    ) else {
        return;
    };
    let client = RtmClient::builder("xoxb-test")
        .base_url(&url)
        .handle_signals(false)
        .auto_reconnect(false)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    match expect.as_str() {
        "hello" => {
            let rx = record_all(&client);
            let running = client.spawn().unwrap();
            next_named(&rx, "hello");
            running.stop();
            join_within(running, SOON).0.unwrap();
        }
        _ => match client.start().unwrap_err() {
            Error::Tls { host, .. } => assert!(host.starts_with("127.0.0.1"), "{host}"),
            other => panic!("expected a TLS error, got {other:?}"),
        },
    }
}

// ----- client identities, against an OpenSSL server that asks for one -----

/// What the test server saw on one connection.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// `"api"` or `"websocket"`.
    path: &'static str,
    /// The client certificate's CN, or why the handshake failed.
    client: Result<Option<String>, String>,
}

/// A Web API (answering every request with a `wss://` url) and a websocket server, each on its
/// own port, with TLS by OpenSSL. Each asks for a client certificate signed by `client_ca` and,
/// when told to, refuses clients without one.
struct MtlsServer {
    api_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone, Copy)]
struct ServerOpts {
    require_on_api: bool,
    require_on_ws: bool,
    /// The websocket port completes TLS and then says nothing.
    silent_ws: bool,
    /// The Web API speaks plain HTTP (only the websocket uses TLS).
    plain_api: bool,
}

fn acceptor(server_ca: &Ca, client_ca: &Ca, require: bool) -> SslAcceptor {
    let (cert, key) = server_cert(server_ca);
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    b.set_certificate(&X509::from_pem(&cert).unwrap()).unwrap();
    b.set_private_key(&PKey::private_key_from_pem(&key).unwrap())
        .unwrap();
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(client_ca.cert.clone()).unwrap();
    b.set_verify_cert_store(store.build()).unwrap();
    b.add_client_ca(&client_ca.cert).unwrap();
    b.set_verify(if require {
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT
    } else {
        SslVerifyMode::PEER
    });
    b.build()
}

/// Accepts TLS on `listener` forever, recording each handshake, and hands good ones to `serve`.
fn serve_tls(
    listener: TcpListener,
    acceptor: SslAcceptor,
    path: &'static str,
    seen: Arc<Mutex<Vec<Seen>>>,
    serve: fn(SslStream<TcpStream>, &str),
    arg: String,
) {
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            tcp.set_read_timeout(Some(SOON)).unwrap();
            match acceptor.accept(tcp) {
                Ok(tls) => {
                    let cn = tls.ssl().peer_certificate().map(|c| {
                        c.subject_name()
                            .entries_by_nid(Nid::COMMONNAME)
                            .next()
                            .map(|e| e.data().to_string().unwrap())
                            .unwrap_or_default()
                    });
                    seen.lock().unwrap().push(Seen {
                        path,
                        client: Ok(cn),
                    });
                    let arg = arg.clone();
                    thread::spawn(move || serve(tls, &arg));
                }
                Err(e) => {
                    seen.lock().unwrap().push(Seen {
                        path,
                        client: Err(e.to_string()),
                    });
                    // Read what the client sent until it closes, so it gets the alert rather
                    // than a reset for unread data.
                    if let openssl::ssl::HandshakeError::Failure(mid) = e {
                        thread::spawn(move || {
                            let mut tcp = mid.get_ref();
                            while tcp.read(&mut [0u8; 1024]).is_ok_and(|n| n > 0) {}
                        });
                    }
                }
            }
        }
    });
}

fn serve_api(mut tls: SslStream<TcpStream>, ws_url: &str) {
    answer_api(&mut tls, ws_url);
    let _ = tls.shutdown();
}

/// Reads one request and answers it with `{"ok":true,"url":ws_url}`.
fn answer_api(tls: &mut impl ReadWrite, ws_url: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tls.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    let mut body = vec![0u8; len];
    if tls.read_exact(&mut body).is_err() {
        return;
    }
    let body = serde_json::json!({"ok": true, "url": ws_url}).to_string();
    let _ = write!(
        tls,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

trait ReadWrite: Read + Write {}
impl<S: Read + Write> ReadWrite for S {}

fn serve_ws(tls: SslStream<TcpStream>, _: &str) {
    let Ok(mut ws) = tungstenite::accept(tls) else {
        return;
    };
    if ws
        .send(tungstenite::Message::text(r#"{"type":"hello"}"#))
        .is_err()
    {
        return;
    }
    // Until the client closes (tungstenite answers its close frame).
    while ws.read().is_ok() {}
}

fn serve_silence(mut tls: SslStream<TcpStream>, _: &str) {
    let _ = tls.get_ref().set_read_timeout(None);
    let _ = tls.read(&mut [0u8; 1024]);
    thread::sleep(SOON);
}

fn mtls_server(server_ca: &Ca, client_ca: &Ca, opts: ServerOpts) -> MtlsServer {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let ws = TcpListener::bind("127.0.0.1:0").unwrap();
    let ws_url = format!(
        "wss://127.0.0.1:{}/websocket/x",
        ws.local_addr().unwrap().port()
    );
    let serve = if opts.silent_ws {
        serve_silence
    } else {
        serve_ws
    };
    let ws_acceptor = acceptor(server_ca, client_ca, opts.require_on_ws);
    serve_tls(
        ws,
        ws_acceptor,
        "websocket",
        seen.clone(),
        serve,
        String::new(),
    );
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = api.local_addr().unwrap().port();
    if opts.plain_api {
        thread::spawn(move || {
            for tcp in api.incoming() {
                let Ok(mut tcp) = tcp else { return };
                let ws_url = ws_url.clone();
                thread::spawn(move || answer_api(&mut tcp, &ws_url));
            }
        });
        let api_url = format!("http://127.0.0.1:{port}/api/");
        return MtlsServer { api_url, seen };
    }
    let api_url = format!("https://127.0.0.1:{port}/api/");
    let api_acceptor = acceptor(server_ca, client_ca, opts.require_on_api);
    serve_tls(api, api_acceptor, "api", seen.clone(), serve_api, ws_url);
    MtlsServer { api_url, seen }
}

const CLIENT_CN: &str = "slack-rtm test client";

fn mtls_client(server: &MtlsServer, server_ca: &Ca) -> slack_rtm::RtmClientBuilder {
    RtmClient::builder("xoxb-test")
        .base_url(&server.api_url)
        .handle_signals(false)
        .auto_reconnect(false)
        .ping_interval(Duration::ZERO)
        .timeout(Duration::from_secs(5))
        .root_certificate(&server_ca.cert.to_pem().unwrap())
}

#[test]
fn a_client_identity_reaches_the_web_api_and_the_websocket() {
    let (server_ca, client_ca) = (ca("slack-rtm test CA"), ca("slack-rtm client CA"));
    let server = mtls_server(
        &server_ca,
        &client_ca,
        ServerOpts {
            require_on_api: true,
            require_on_ws: true,
            silent_ws: false,
            plain_api: false,
        },
    );
    let (cert, key) = leaf(&client_ca, CLIENT_CN, 3, false);
    let client = mtls_client(&server, &server_ca)
        .client_identity(&cert, &key)
        .build()
        .unwrap();
    let rx = record_all(&client);
    let running = client.spawn().unwrap();
    next_named(&rx, "hello");
    running.stop();
    join_within(running, SOON).0.unwrap();
    let seen = server.seen.lock().unwrap().clone();
    let presented = Ok(Some(CLIENT_CN.to_string()));
    assert_eq!(
        seen,
        [
            Seen {
                path: "api",
                client: presented.clone()
            },
            Seen {
                path: "websocket",
                client: presented
            },
        ],
        "both paths presented the client certificate"
    );
}

#[test]
fn without_a_client_identity_the_server_refuses_both_paths() {
    let (server_ca, client_ca) = (ca("slack-rtm test CA"), ca("slack-rtm client CA"));
    // The Web API refuses: rtm.connect fails.
    let server = mtls_server(
        &server_ca,
        &client_ca,
        ServerOpts {
            require_on_api: true,
            require_on_ws: true,
            silent_ws: false,
            plain_api: false,
        },
    );
    let err = mtls_client(&server, &server_ca)
        .build()
        .unwrap()
        .start()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { host, reason, .. } if host.starts_with("127.0.0.1:") && reason.contains("certificate required")),
        "{err:?}"
    );
    let seen = server.seen.lock().unwrap().clone();
    assert!(
        matches!(
            seen.as_slice(),
            [Seen {
                path: "api",
                client: Err(_)
            }]
        ),
        "{seen:?}"
    );

    // Only the websocket asks: rtm.connect works without a certificate, the websocket fails.
    let server = mtls_server(
        &server_ca,
        &client_ca,
        ServerOpts {
            require_on_api: false,
            require_on_ws: true,
            silent_ws: false,
            plain_api: false,
        },
    );
    let err = mtls_client(&server, &server_ca)
        .build()
        .unwrap()
        .start()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { host, reason, .. } if host.starts_with("127.0.0.1:") && reason.contains("certificate required")),
        "{err:?}"
    );
    let seen = server.seen.lock().unwrap().clone();
    assert!(
        matches!(
            seen.as_slice(),
            [
                Seen {
                    path: "api",
                    client: Ok(None)
                },
                Seen {
                    path: "websocket",
                    client: Err(_)
                }
            ]
        ),
        "{seen:?}"
    );
}

#[test]
fn silence_after_the_tls_handshake_is_a_websocket_handshake_timeout() {
    let (server_ca, client_ca) = (ca("slack-rtm test CA"), ca("slack-rtm client CA"));
    let server = mtls_server(
        &server_ca,
        &client_ca,
        ServerOpts {
            require_on_api: false,
            require_on_ws: false,
            silent_ws: true,
            // Plain: ureq building its TLS connector (loading the system store) can take
            // longer than this short timeout on a loaded machine.
            plain_api: true,
        },
    );
    let timeout = Duration::from_millis(300);
    let mut attempts = 0;
    let (err, took) = loop {
        let client = mtls_client(&server, &server_ca)
            .timeout(timeout)
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.start().unwrap_err();
        attempts += 1;
        // On a loaded machine rtm.connect itself may time out: the websocket was not reached.
        if !matches!(err, Error::Timeout { phase: Phase::Http }) || attempts == 5 {
            break (err, started.elapsed());
        }
    };
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: Phase::Handshake
            }
        ),
        "{err:?}"
    );
    assert!(took >= timeout && took < Duration::from_secs(3), "{took:?}");
}
