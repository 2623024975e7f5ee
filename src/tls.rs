//! TLS options as data, applied to both the websocket (a native-tls connector) and the Web API
//! (ureq's TLS config with the native-tls provider).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

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

/// The websocket connectors of this process, one per distinct set of options. Loading the
/// system store takes tens of milliseconds and a few megabytes: it is done once per process,
/// not per client or reconnect, so a thousand clients share one trust store.
type Connectors = HashMap<TlsKey, native_tls::TlsConnector>;

/// What tells two sets of TLS options apart (for per-process sharing).
pub(crate) type TlsKey = (Vec<Vec<u8>>, Option<(Vec<u8>, Vec<u8>)>);

fn connectors() -> &'static Mutex<Connectors> {
    static CONNECTORS: OnceLock<Mutex<Connectors>> = OnceLock::new();
    CONNECTORS.get_or_init(Mutex::default)
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

    /// The websocket's TLS connector: built once per process for these options, then shared
    /// (a clone shares the underlying OpenSSL context).
    pub(crate) fn native_connector(&self) -> Result<native_tls::TlsConnector, Error> {
        let key = self.key();
        let mut all = connectors().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = all.get(&key) {
            return Ok(c.clone());
        }
        let connector = self.build_connector()?;
        all.insert(key, connector.clone());
        Ok(connector)
    }

    /// These options as a key: equal keys build identical TLS configurations.
    pub(crate) fn key(&self) -> TlsKey {
        (self.roots_der.clone(), self.identity.clone())
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
    fn one_connector_per_distinct_options_in_the_process() {
        let count = || connectors().lock().unwrap().len();
        TlsOptions::default().native_connector().unwrap();
        let after_default = count();
        // Other clients with the same options share it.
        TlsOptions::default().native_connector().unwrap();
        TlsOptions::default().clone().native_connector().unwrap();
        assert_eq!(count(), after_default);
        assert!(connectors()
            .lock()
            .unwrap()
            .contains_key(&(Vec::new(), None)));
        assert!(matches!(
            TlsOptions::default().add_roots(b"not pem"),
            Err(Error::Config(_))
        ));
    }
}
