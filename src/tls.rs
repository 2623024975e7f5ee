//! TLS options as data, and the one native-tls connector per process and set of options that
//! both the websocket and the Web API agent (through its connector chain) use.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

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
        #[cfg(test)]
        tests::BUILT.with(|n| n.set(n.get() + 1));
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

    /// The Web API agent's connector chain: ureq's CONNECT proxy and TCP connectors, then TLS
    /// through this process's shared connector for these options (the one the websocket uses),
    /// so both paths hold one OpenSSL context and one loaded trust store between them.
    /// The connector is looked up on the first `https` connection, so a client that only
    /// talks plain HTTP never loads OpenSSL's trust store.
    pub(crate) fn ureq_connector(&self) -> impl Connector {
        use ureq::unversioned::transport::{ConnectProxyConnector, TcpConnector};
        let tls = SharedTls {
            options: self.clone(),
            connector: OnceLock::new(),
        };
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(tls)
    }
}

/// ureq's last connector: wraps an `https` connection in TLS with the shared native-tls
/// connector (ureq's own native-tls connector builds a context, and loads the system trust
/// store, per agent). What it does is ureq's `NativeTlsConnector` with the connector given.
struct SharedTls {
    options: TlsOptions,
    connector: OnceLock<native_tls::TlsConnector>,
}

impl SharedTls {
    fn connector(&self) -> Result<&native_tls::TlsConnector, ureq::Error> {
        if let Some(c) = self.connector.get() {
            return Ok(c);
        }
        let c = self
            .options
            .native_connector()
            .map_err(|e| ureq::Error::Io(std::io::Error::other(e.to_string())))?;
        Ok(self.connector.get_or_init(|| c))
    }
}

impl std::fmt::Debug for SharedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTls").finish()
    }
}

impl<In: Transport> Connector<In> for SharedTls {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            // Nothing before it made a connection: nothing to wrap.
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .authority()
            .map(|a| a.host().trim_start_matches('[').trim_end_matches(']'))
            .unwrap_or_default()
            .to_string();
        let mut adapter = ErrorCapture::wrap(TransportAdapter::new(
            transport.boxed(),
            details.current_time.clone(),
        ));
        adapter.stream.set_timeout(details.timeout);
        let captured = adapter.captured.clone();
        let stream = match self.connector()?.connect(&host, adapter) {
            Ok(stream) => stream,
            Err(e) => {
                // A socket error (a timeout) says more than the TLS error it caused.
                if let Some(error) = lock(&captured).take() {
                    return Err(error);
                }
                return Err(match e {
                    native_tls::HandshakeError::Failure(e) => e.into(),
                    native_tls::HandshakeError::WouldBlock(_) => {
                        ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::WouldBlock))
                    }
                });
            }
        };
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport { buffers, stream })))
    }
}

/// An HTTPS connection of the Web API agent.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: native_tls::TlsStream<ErrorCapture<TransportAdapter>>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().stream.set_timeout(timeout);
        let output = self
            .buffers
            .output()
            .get(..amount)
            .ok_or_else(|| ureq::Error::Io(std::io::ErrorKind::InvalidInput.into()))?;
        let result = self.stream.write_all(output);
        self.stream.get_mut().take_captured()?;
        result?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().stream.set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = match self.stream.read(input) {
            Ok(n) => {
                if n == 0 {
                    // native-tls reports some failures as the end of the stream.
                    self.stream.get_mut().take_captured()?;
                }
                n
            }
            Err(e) => {
                self.stream.get_mut().take_captured()?;
                return Err(e.into());
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().stream.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// Keeps the socket's own error (a timeout) that native-tls would turn into a vaguer one.
pub(crate) struct ErrorCapture<S> {
    stream: S,
    captured: Arc<Mutex<Option<ureq::Error>>>,
}

impl<S> ErrorCapture<S> {
    fn wrap(stream: S) -> ErrorCapture<S> {
        ErrorCapture {
            stream,
            captured: Arc::default(),
        }
    }

    fn take_captured(&self) -> Result<(), ureq::Error> {
        match lock(&self.captured).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn capture(&self, e: std::io::Error) -> std::io::Error {
        *lock(&self.captured) = Some(e.into());
        std::io::Error::other("the connection failed under TLS")
    }
}

impl<S: Read> Read for ErrorCapture<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stream.read(buf).map_err(|e| self.capture(e))
    }
}

impl<S: Write> Write for ErrorCapture<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.stream.write(buf).map_err(|e| self.capture(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush().map_err(|e| self.capture(e))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

    thread_local! {
        /// Connectors (OpenSSL contexts, each with a trust store) built on this thread.
        pub(super) static BUILT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Options no other test uses: a root certificate made here.
    fn unique_options() -> TlsOptions {
        use openssl::{asn1::Asn1Time, ec, nid::Nid, pkey::PKey, x509};
        let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "one store test").unwrap();
        let name = name.build();
        let mut b = x509::X509Builder::new().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let mut options = TlsOptions::default();
        options.add_roots(&b.build().to_pem().unwrap()).unwrap();
        options
    }

    #[test]
    fn the_web_api_and_the_websocket_share_one_tls_context() {
        let options = unique_options();
        let before = BUILT.with(|n| n.get());
        // The Web API's TLS connector looks up the websocket's, once, on first use.
        let web = SharedTls {
            options: options.clone(),
            connector: OnceLock::new(),
        };
        web.connector().unwrap();
        web.connector().unwrap();
        options.clone().native_connector().unwrap();
        assert_eq!(
            BUILT.with(|n| n.get()) - before,
            1,
            "one context for both paths"
        );
        // Nothing is built before an https connection needs it.
        let other = unique_options();
        let _chain = other.ureq_connector();
        assert_eq!(BUILT.with(|n| n.get()) - before, 1);
        assert!(!connectors().lock().unwrap().contains_key(&other.key()));
    }

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
        let built = || BUILT.with(|n| n.get());
        let before = built();
        TlsOptions::default().native_connector().unwrap();
        // Other clients with the same options share it (another test may have built it).
        TlsOptions::default().native_connector().unwrap();
        TlsOptions::default().clone().native_connector().unwrap();
        assert!(built() - before <= 1);
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
