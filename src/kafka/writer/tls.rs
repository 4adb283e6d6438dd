//! TLS for the writer's connections, from the same settings librdkafka gets: the truststore
//! and client keystore in any of their formats (PEM, JKS, PKCS#12), read by the same loaders.

use openssl::pkey::PKey;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::X509;

use crate::config::Tls;
use crate::config::truststore::{TruststoreError, load_identity, load_pem};

use super::error::WriterError;

/// A TLS connector trusting `tls`'s CA certificates (the system's when none are given) and
/// presenting its client certificate, if any.
pub fn connector(tls: &Tls) -> Result<SslConnector, WriterError> {
    let settings = |e: openssl::error::ErrorStack, what: &str| WriterError::Tls {
        broker: "(settings)".to_owned(),
        detail: format!("{what}: {e}"),
    };
    let mut b =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| settings(e, "TLS setup"))?;
    b.set_verify(SslVerifyMode::PEER);
    match &tls.truststore {
        Some(store) => {
            let pem = load_pem(store)?;
            let certs = X509::stack_from_pem(pem.as_bytes())
                .map_err(|e| settings(e, "reading the truststore's certificates"))?;
            for cert in certs {
                b.cert_store_mut()
                    .add_cert(cert)
                    .map_err(|e| settings(e, "trusting a truststore certificate"))?;
            }
        }
        None => b
            .set_default_verify_paths()
            .map_err(|e| settings(e, "loading the system's CA certificates"))?,
    }
    if let Some(keystore) = &tls.keystore {
        let identity = load_identity(keystore).map_err(TruststoreError::from)?;
        let mut chain = X509::stack_from_pem(identity.certificate_pem.as_bytes())
            .map_err(|e| settings(e, "reading the client certificate chain"))?
            .into_iter();
        let Some(leaf) = chain.next() else {
            return Err(WriterError::Tls {
                broker: "(settings)".to_owned(),
                detail: format!("{} holds no client certificate", keystore.config_key),
            });
        };
        b.set_certificate(&leaf)
            .map_err(|e| settings(e, "using the client certificate"))?;
        for cert in chain {
            b.add_extra_chain_cert(cert)
                .map_err(|e| settings(e, "using the client certificate chain"))?;
        }
        // The key's text never reaches an error: OpenSSL's reason names no key material.
        let key = PKey::private_key_from_pem(identity.key_pem.expose().as_bytes())
            .map_err(|e| settings(e, "reading the client key"))?;
        b.set_private_key(&key)
            .map_err(|e| settings(e, "using the client key"))?;
        b.check_private_key()
            .map_err(|e| settings(e, "the client key does not match its certificate"))?;
    }
    Ok(b.build())
}
