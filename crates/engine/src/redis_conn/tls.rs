//! TLS beyond the defaults ([`TlsOptions`]) and TLS failures in words that say what to do.

use super::*;

/// TLS beyond the defaults. Without a CA, server certificates are verified against the operating system's
/// trust store (so a CA the venue's IT installed on the machine just works); with one, against the CA
/// bundle given (one or more PEM certificates). A client certificate and key are for servers that
/// require them (`tls-auth-clients yes`, Redis Enterprise, some managed services). The key is a secret:
/// never printed, never logged.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM: the CA certificate(s) to trust instead of the system store.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM: the client certificate (chain).
    pub client_cert_pem: Option<Vec<u8>>,
    /// PEM: the client certificate's private key.
    pub client_key_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .field("client_key", &self.client_key_pem.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl TlsOptions {
    pub fn is_default(&self) -> bool {
        self.ca_pem.is_none() && self.client_cert_pem.is_none() && self.client_key_pem.is_none()
    }

    /// Checks the PEM texts before any connection: each must hold what it is for.
    pub fn validate(&self) -> Result<()> {
        let has = |pem: &[u8], tag: &str| String::from_utf8_lossy(pem).contains(&format!("-----BEGIN {tag}"));
        if let Some(ca) = &self.ca_pem
            && !has(ca, "CERTIFICATE-----")
        {
            return Err(Error::invalid(
                "CA certificate",
                "(the given text)",
                "give a PEM file with one or more -----BEGIN CERTIFICATE----- blocks",
            ));
        }
        match (&self.client_cert_pem, &self.client_key_pem) {
            (None, None) => {}
            (Some(c), Some(k)) => {
                if !has(c, "CERTIFICATE-----") {
                    return Err(Error::invalid(
                        "client certificate",
                        "(the given text)",
                        "give a PEM file with a -----BEGIN CERTIFICATE----- block",
                    ));
                }
                if !has(k, "PRIVATE KEY-----") && !has(k, "RSA PRIVATE KEY-----") && !has(k, "EC PRIVATE KEY-----") {
                    return Err(Error::invalid(
                        "client key",
                        "(not shown)",
                        "give the private key (PEM, a BEGIN PRIVATE KEY block) that goes with the client certificate",
                    ));
                }
            }
            _ => {
                return Err(Error::invalid(
                    "client certificate",
                    "(incomplete)",
                    "a client certificate needs its private key, and a key its certificate: give both or neither",
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: match (&self.client_cert_pem, &self.client_key_pem) {
                (Some(c), Some(k)) => Some(redis::ClientTlsConfig { client_cert: c.clone(), client_key: k.clone() }),
                _ => None,
            },
            root_cert: self.ca_pem.clone(),
        }
    }
}

/// A TLS failure in words that say what to do. rustls names the cause (`UnknownIssuer`,
/// `NotValidForName`, `Expired…`, an alert from the server); the advice follows from it.
pub(crate) fn tls_advice(target: &str, detail: &str) -> String {
    let d = detail;
    let host = target.split("://").nth(1).unwrap_or(target).rsplit_once(':').map_or(target, |(h, _)| h);
    if d.contains("UnknownIssuer") || d.contains("unknown issuer") || d.contains("UnknownCA") {
        return format!(
            "the server's certificate is signed by a certificate authority this machine does not trust ({d}); give that CA's certificate (CLI: --tls-ca or SEATWISE_TLS_CA; console: the profile's CA certificate), or install it in the system's trust store"
        );
    }
    if d.contains("NotValidForName") || d.contains("not valid for name") {
        return format!(
            "the server's certificate does not name the host {host} that was used ({d}); connect with a host name the certificate lists"
        );
    }
    if d.contains("Expired") || d.contains("expired") || d.contains("NotValidYet") || d.contains("not valid yet") {
        return format!(
            "the server's certificate is outside its validity dates ({d}); the server needs a current certificate (or this machine's clock is wrong)"
        );
    }
    if d.contains("CertificateRequired") || d.contains("certificate required") || d.contains("HandshakeFailure") {
        return format!(
            "the server wants a client certificate ({d}); give one with its key (CLI: --tls-cert and --tls-key; console: the profile's client certificate and key)"
        );
    }
    if d.contains("BadCertificate") || d.contains("UnknownCA") || d.contains("DecryptError") {
        return format!(
            "the server refused this client certificate ({d}); check it was issued by a CA the server trusts"
        );
    }
    d.to_string()
}

pub(crate) fn tls_setup_error(label: &str, detail: &str) -> Error {
    Error::Tls { target: label.to_string(), detail: format!("the TLS settings cannot be used: {detail}") }
}
