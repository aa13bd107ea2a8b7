//! A test PKI made on the spot (rcgen): the venue's CA, an unrelated CA, server certificates for
//! `localhost` (one expired) and a client certificate; and redis-servers listening for TLS with them.
//! Shared by the engine's and the CLI's TLS tests.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use seatwise_engine::local::{RedisServer, ServerOptions, ServerTls};
use seatwise_engine::redis_conn::TlsOptions;

/// A test PKI in a temporary folder: the venue's CA, a second unrelated CA, server certificates (valid for
/// `localhost` only, and one expired), and a client certificate.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub other_ca_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

pub fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let venue = ca("Venue Test CA");
    let other = ca("Some Other CA");
    let leaf = |names: &[&str], usages: &[ExtendedKeyUsagePurpose], expired: bool| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        p.extended_key_usages = usages.to_vec();
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2020, 1, 2);
        }
        (p.signed_by(&key, &venue).unwrap().pem(), key.serialize_pem())
    };
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let (srv, srv_key) = leaf(&["localhost"], &[ExtendedKeyUsagePurpose::ServerAuth], false);
    let (old, old_key) = leaf(&["localhost"], &[ExtendedKeyUsagePurpose::ServerAuth], true);
    let (client, client_key) = leaf(&["box-office"], &[ExtendedKeyUsagePurpose::ClientAuth], false);
    // Cluster nodes announce 127.0.0.1 and authenticate each other on the TLS cluster bus.
    let (node, node_key) = leaf(
        &["localhost", "127.0.0.1"],
        &[ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        false,
    );
    write("node.crt", &node);
    write("node.key", &node_key);
    write("ca.crt", &venue.pem());
    write("server.crt", &srv);
    write("server.key", &srv_key);
    write("expired.crt", &old);
    write("expired.key", &old_key);
    Pki { dir, ca_pem: venue.pem(), other_ca_pem: other.pem(), client_cert_pem: client, client_key_pem: client_key }
}

impl Pki {
    pub fn server(&self, cert: &str, require_client_cert: bool) -> RedisServer {
        let d = self.dir.path();
        let tls = ServerTls {
            cert_file: d.join(format!("{cert}.crt")),
            key_file: d.join(format!("{cert}.key")),
            ca_file: d.join("ca.crt"),
            require_client_cert,
        };
        RedisServer::start(&ServerOptions { tls: Some(tls), ..Default::default() }).unwrap()
    }

    pub fn ca(&self) -> TlsOptions {
        TlsOptions { ca_pem: Some(self.ca_pem.clone().into_bytes()), ..Default::default() }
    }

    pub fn ca_and_client(&self) -> TlsOptions {
        TlsOptions {
            ca_pem: Some(self.ca_pem.clone().into_bytes()),
            client_cert_pem: Some(self.client_cert_pem.clone().into_bytes()),
            client_key_pem: Some(self.client_key_pem.clone().into_bytes()),
        }
    }
}
