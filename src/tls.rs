//! TLS options as data, applied to both the websocket (a native-tls connector) and the Web API
//! (ureq's TLS config with the native-tls provider).

use std::sync::{Arc, Mutex};

use crate::error::Error;

/// The TLS options of a client: extra root certificates (which replace the system store) and
/// an optional client identity. Kept as validated PEM so both TLS stacks can be built from it.
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    /// DER of every root certificate given; empty means the system store.
    roots_der: Vec<Vec<u8>>,
    /// PEM certificate chain and PKCS#8 PEM key.
    identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The websocket's connector, built on first use: loading the system store takes tens of
    /// milliseconds, too much for every reconnect. Replaced whenever the options change.
    connector: Arc<Mutex<Option<native_tls::TlsConnector>>>,
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
        self.connector = Arc::default();
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
        self.connector = Arc::default();
        Ok(())
    }

    /// The websocket's TLS connector (built once, then shared).
    pub(crate) fn native_connector(&self) -> Result<native_tls::TlsConnector, Error> {
        let mut cached = self.connector.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cached.as_ref() {
            return Ok(c.clone());
        }
        let connector = self.build_connector()?;
        *cached = Some(connector.clone());
        Ok(connector)
    }

    fn build_connector(&self) -> Result<native_tls::TlsConnector, Error> {
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

/// The TLS layer's complaint inside an I/O error, if it is one: native-tls reports TLS failures
/// after the handshake (a TLS 1.3 server refusing the client certificate, a bad record) as an
/// `Other` error wrapping the TLS library's error, while socket errors carry an OS code.
pub(crate) fn tls_layer_error(e: &std::io::Error) -> Option<String> {
    if e.kind() != std::io::ErrorKind::Other {
        return None;
    }
    e.get_ref().map(|inner| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wrapped_errors_are_tls_layer_errors() {
        let os = std::io::Error::from_raw_os_error(104);
        assert_eq!(tls_layer_error(&os), None);
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(tls_layer_error(&timeout), None);
        let tls = std::io::Error::other("tlsv13 alert certificate required");
        assert_eq!(
            tls_layer_error(&tls).as_deref(),
            Some("tlsv13 alert certificate required")
        );
    }

    #[test]
    fn the_connector_is_built_once_and_shared_by_clones() {
        let o = TlsOptions::default();
        let copy = o.clone();
        o.native_connector().unwrap();
        assert!(copy.connector.lock().unwrap().is_some());
        assert!(matches!(
            TlsOptions::default().add_roots(b"not pem"),
            Err(Error::Config(_))
        ));
    }
}
