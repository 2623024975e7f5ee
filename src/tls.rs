//! TLS options as data, applied to both the websocket (a native-tls connector) and the Web API
//! (ureq's TLS config with the native-tls provider).

use std::sync::Arc;

use crate::error::Error;

/// The TLS options of a client: extra root certificates (which replace the system store) and
/// an optional client identity. Kept as validated PEM so both TLS stacks can be built from it.
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    /// DER of every root certificate given; empty means the system store.
    roots_der: Vec<Vec<u8>>,
    /// PEM certificate chain and PKCS#8 PEM key.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("root_certificates", &self.roots_der.len())
            .field("client_identity", &self.identity.is_some())
            .finish()
    }
}

impl TlsOptions {
    /// Adds every certificate of a PEM bundle to the trusted roots.
    pub(crate) fn add_roots(&mut self, pem: &[u8]) -> Result<(), Error> {
        let certs = native_tls::Certificate::stack_from_pem(pem)
            .map_err(|e| Error::Config(format!("root_certificate is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Config(
                "root_certificate holds no certificate".into(),
            ));
        }
        for cert in certs {
            let der = cert
                .to_der()
                .map_err(|e| Error::Config(format!("root_certificate: {e}")))?;
            self.roots_der.push(der);
        }
        Ok(())
    }

    /// Sets the client identity after checking that both TLS stacks accept it.
    pub(crate) fn set_identity(&mut self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), Error> {
        native_tls::Identity::from_pkcs8(cert_pem, key_pem).map_err(|e| {
            Error::Config(format!(
                "client_identity needs a PEM certificate chain and a PKCS#8 PEM key: {e}"
            ))
        })?;
        self.identity = Some((cert_pem.to_vec(), key_pem.to_vec()));
        Ok(())
    }

    /// The websocket's TLS connector.
    pub(crate) fn native_connector(&self) -> Result<native_tls::TlsConnector, Error> {
        let mut b = native_tls::TlsConnector::builder();
        if !self.roots_der.is_empty() {
            b.disable_built_in_roots(true);
            for der in &self.roots_der {
                let cert = native_tls::Certificate::from_der(der)
                    .map_err(|e| Error::Config(format!("root_certificate: {e}")))?;
                b.add_root_certificate(cert);
            }
        }
        if let Some((cert, key)) = &self.identity {
            let id = native_tls::Identity::from_pkcs8(cert, key)
                .map_err(|e| Error::Config(format!("client_identity: {e}")))?;
            b.identity(id);
        }
        b.build()
            .map_err(|e| Error::Config(format!("cannot build the TLS connector: {e}")))
    }

    /// ureq's TLS configuration: the native-tls provider, with the system roots unless root
    /// certificates were given.
    pub(crate) fn ureq_config(&self) -> Result<ureq::tls::TlsConfig, Error> {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};
        let roots = if self.roots_der.is_empty() {
            RootCerts::PlatformVerifier
        } else {
            RootCerts::Specific(Arc::new(
                self.roots_der
                    .iter()
                    .map(|d| Certificate::from_der(d).to_owned())
                    .collect(),
            ))
        };
        let mut b = TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(roots);
        if let Some((cert_pem, key_pem)) = &self.identity {
            let chain = ureq::tls::parse_pem(cert_pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Config(format!("client_identity certificate: {e}")))?;
            let key = PrivateKey::from_pem(key_pem)
                .map_err(|e| Error::Config(format!("client_identity key: {e}")))?;
            b = b.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        Ok(b.build())
    }
}
