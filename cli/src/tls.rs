//! `serve --tls`: a certificate authority made at start, a server certificate for 127.0.0.1
//! signed by it, and the CA's PEM in a temporary file that clients trust (`--ca-file`,
//! `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`). Made with the OpenSSL that native-tls already links.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Name, X509};

/// What `serve --tls` needs: the server's certificate chain and key for the fake, and the CA
/// certificate that clients must trust.
pub struct Certs {
    /// The server certificate (for 127.0.0.1 and localhost), PEM.
    pub server_cert_pem: Vec<u8>,
    /// The server's private key, PKCS #8 PEM.
    pub server_key_pem: Vec<u8>,
    /// The CA certificate, PEM.
    pub ca_pem: Vec<u8>,
}

/// Makes a fresh CA (valid for a week, its key kept only in memory) and a server certificate
/// signed by it.
pub fn make_certs() -> Result<Certs, ErrorStack> {
    let ca_key = key()?;
    let ca_name = name("slack-rtm serve --tls CA")?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(7)?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    b.set_serial_number(serial()?.as_ref())?;
    b.set_subject_name(&ca_name)?;
    b.set_issuer_name(&ca_name)?;
    b.set_pubkey(&ca_key)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    b.sign(&ca_key, MessageDigest::sha256())?;
    let ca = b.build();

    let key = key()?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    b.set_serial_number(serial()?.as_ref())?;
    let leaf_name = name("127.0.0.1")?;
    b.set_subject_name(&leaf_name)?;
    b.set_issuer_name(ca.subject_name())?;
    b.set_pubkey(&key)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .dns("localhost")
        .build(&b.x509v3_context(Some(&ca), None))?;
    b.append_extension(san)?;
    b.append_extension(BasicConstraints::new().build()?)?;
    b.sign(&ca_key, MessageDigest::sha256())?;
    let leaf = b.build();
    Ok(Certs {
        server_cert_pem: leaf.to_pem()?,
        server_key_pem: key.private_key_to_pem_pkcs8()?,
        ca_pem: ca.to_pem()?,
    })
}

fn key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn name(cn: &str) -> Result<X509Name, ErrorStack> {
    let mut n = X509Name::builder()?;
    n.append_entry_by_text("CN", cn)?;
    Ok(n.build())
}

/// A random positive 64-bit serial: two runs never issue the same issuer + serial pair.
fn serial() -> Result<openssl::asn1::Asn1Integer, ErrorStack> {
    let mut bn = BigNum::new()?;
    bn.rand(63, MsbOption::MAYBE_ZERO, false)?;
    bn.to_asn1_integer()
}

/// A file in the temporary directory, removed when dropped.
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Creates a new file (never an existing one) named after `prefix`, this process and a
    /// counter, and writes `contents` to it.
    pub fn create(prefix: &str, contents: &[u8]) -> io::Result<TempFile> {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        let mut last = None;
        for n in 0..100u32 {
            let path = dir.join(format!("{prefix}-{pid}-{n}.pem"));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let file = TempFile { path };
                    f.write_all(contents)?;
                    f.flush()?;
                    return Ok(file);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
