//! SASL authentication on a writer connection: PLAIN, and SCRAM-SHA-256/512 (RFC 5802,
//! as Kafka's `ScramSaslClient` speaks it, without channel binding).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use openssl::hash::{MessageDigest, hash};
use openssl::memcmp;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use crate::config::{Sasl, SaslMechanism};

use super::connection::Connection;
use super::error::WriterError;

/// Authenticates `conn` with `sasl`.
pub fn authenticate(conn: &mut Connection, sasl: &Sasl) -> Result<(), WriterError> {
    let mechanism = sasl.mechanism.as_str();
    let broker = conn.broker().to_owned();
    let fail = |detail: String| WriterError::Sasl {
        broker: broker.clone(),
        mechanism,
        detail,
    };
    let handshake = conn.call(
        &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
    )?;
    if handshake.error_code != 0 {
        let enabled: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(fail(format!(
            "the broker does not enable it on this listener (enabled: {})",
            enabled.join(", ")
        )));
    }
    match sasl.mechanism {
        SaslMechanism::Plain => {
            let mut msg =
                Vec::with_capacity(sasl.username.len() + sasl.password.expose().len() + 2);
            msg.push(0);
            msg.extend_from_slice(sasl.username.as_bytes());
            msg.push(0);
            msg.extend_from_slice(sasl.password.expose().as_bytes());
            step(conn, mechanism, msg).map(|_| ())
        }
        SaslMechanism::ScramSha256 => scram(conn, sasl, MessageDigest::sha256(), mechanism),
        SaslMechanism::ScramSha512 => scram(conn, sasl, MessageDigest::sha512(), mechanism),
    }
}

/// One `SaslAuthenticate` round trip: the broker's answer, or its reason for refusing.
fn step(
    conn: &mut Connection,
    mechanism: &'static str,
    msg: Vec<u8>,
) -> Result<Bytes, WriterError> {
    let r = conn.call(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(msg)))?;
    if r.error_code != 0 {
        return Err(WriterError::Sasl {
            broker: conn.broker().to_owned(),
            mechanism,
            detail: r
                .error_message
                .map_or_else(|| format!("error code {}", r.error_code), |m| m.to_string()),
        });
    }
    Ok(r.auth_bytes)
}

fn scram(
    conn: &mut Connection,
    sasl: &Sasl,
    digest: MessageDigest,
    mechanism: &'static str,
) -> Result<(), WriterError> {
    let broker = conn.broker().to_owned();
    let fail = |detail: &str| WriterError::Sasl {
        broker: broker.clone(),
        mechanism,
        detail: detail.to_owned(),
    };
    let crypto = |e: openssl::error::ErrorStack| WriterError::Sasl {
        broker: broker.clone(),
        mechanism,
        detail: format!("computing the proof: {e}"),
    };
    let mut nonce_bytes = [0u8; 24];
    openssl::rand::rand_bytes(&mut nonce_bytes).map_err(crypto)?;
    let client_nonce = STANDARD.encode(nonce_bytes);
    let user = sasl.username.replace('=', "=3D").replace(',', "=2C");
    let client_first_bare = format!("n={user},r={client_nonce}");
    let server_first = step(
        conn,
        mechanism,
        format!("n,,{client_first_bare}").into_bytes(),
    )?;
    let server_first = std::str::from_utf8(&server_first)
        .map_err(|_| fail("the server's first message is not UTF-8"))?;
    let attr = |name: char| {
        server_first
            .split(',')
            .find_map(|a| a.strip_prefix(name).and_then(|a| a.strip_prefix('=')))
    };
    let (Some(nonce), Some(salt), Some(iterations)) = (attr('r'), attr('s'), attr('i')) else {
        return Err(fail(
            "the server's first message lacks its nonce, salt or iterations",
        ));
    };
    if !nonce.starts_with(&client_nonce) {
        return Err(fail("the server's nonce does not extend the client's"));
    }
    let salt = STANDARD
        .decode(salt)
        .map_err(|_| fail("the server's salt is not base64"))?;
    // Kafka's own client refuses fewer than 4096 iterations; a huge count would hold the
    // writer in PBKDF2.
    let iterations: usize = iterations
        .parse()
        .ok()
        .filter(|i| (4096..=1_000_000).contains(i))
        .ok_or_else(|| fail("the server's iteration count is outside 4096..=1000000"))?;

    let mut salted = vec![0u8; digest.size()];
    openssl::pkcs5::pbkdf2_hmac(
        sasl.password.expose().as_bytes(),
        &salt,
        iterations,
        digest,
        &mut salted,
    )
    .map_err(crypto)?;
    let client_key = hmac(digest, &salted, b"Client Key").map_err(crypto)?;
    let stored_key = hash(digest, &client_key).map_err(crypto)?;
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(digest, &stored_key, auth_message.as_bytes()).map_err(crypto)?;
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let client_final = format!("{without_proof},p={}", STANDARD.encode(proof));
    let server_final = step(conn, mechanism, client_final.into_bytes())?;

    let server_key = hmac(digest, &salted, b"Server Key").map_err(crypto)?;
    let expected = hmac(digest, &server_key, auth_message.as_bytes()).map_err(crypto)?;
    let verifier = std::str::from_utf8(&server_final)
        .ok()
        .and_then(|s| s.split(',').find_map(|a| a.strip_prefix("v=")))
        .and_then(|v| STANDARD.decode(v).ok());
    match verifier {
        Some(v) if v.len() == expected.len() && memcmp::eq(&v, &expected) => Ok(()),
        _ => Err(fail(
            "the server's final message does not prove it knows the password",
        )),
    }
}

fn hmac(
    digest: MessageDigest,
    key: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let key = PKey::hmac(key)?;
    let mut signer = Signer::new(digest, &key)?;
    signer.update(data)?;
    signer.sign_to_vec()
}
