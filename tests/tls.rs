//! TLS: the fake Slack in HTTPS/WSS mode with a CA made at test time is reached through
//! `root_certificate` (for both rtm.connect and the websocket) and rejected without it or with
//! another CA, with a typed error that names the host.

mod common;

use std::time::Duration;

use common::*;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};
use slack_rtm::testing::FakeSlack;
use slack_rtm::{Error, RtmClient};

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
    let key = key();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(2).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name("127.0.0.1")).unwrap();
    b.set_issuer_name(ca.cert.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .dns("localhost")
        .build(&b.x509v3_context(Some(&ca.cert), None))
        .unwrap();
    b.append_extension(san).unwrap();
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
    running.join().unwrap();
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
    running.join().unwrap();
}
