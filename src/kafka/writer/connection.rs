//! One connection to one broker (the target writer's, and fetches from the source): TCP, TLS
//! and SASL as the cluster's settings say, API versions agreed, and framed requests with
//! their responses matched by correlation id.
//!
//! Requests may be pipelined: [`Connection::send`] several, then [`Connection::receive`]
//! each in the same order, as Kafka answers a connection's requests in order.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FetchRequest, FetchResponse,
    InitProducerIdRequest, InitProducerIdResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, StrBytes};
use openssl::ssl::{SslConnector, SslStream};

use crate::config::ClusterConnection;

use super::error::WriterError;

/// The largest response accepted (a produce or metadata response is far smaller; a fetch's
/// `fetch.max.bytes` must stay below it).
pub const MAX_RESPONSE: usize = 100 * 1024 * 1024;

/// A request the writer sends, with its response and the newest version Strait speaks.
///
/// (`kafka-protocol`'s own `Request` trait exists only with its broker side compiled in.)
pub trait Request: Message + Encodable + HeaderVersion {
    /// The API key.
    const KEY: ApiKey;
    /// The API's name, for errors.
    const NAME: &'static str;
    /// The newest version Strait speaks: where `kafka-protocol` knows newer ones that change
    /// what Strait relies on (Produce 13 and Metadata 13 name topics by id only).
    const MAX: i16 = Self::VERSIONS.max;
    /// The response.
    type Response: Decodable + HeaderVersion;
}

macro_rules! request {
    ($req:ty, $resp:ty, $key:ident $(, $max:literal)?) => {
        impl Request for $req {
            const KEY: ApiKey = ApiKey::$key;
            const NAME: &'static str = stringify!($key);
            $(const MAX: i16 = $max;)?
            type Response = $resp;
        }
    };
}

// Version 3 is what every broker since Kafka 2.4 answers in kind; version 4 (Kafka 3.9) is
// answered by older brokers with an error in version 0's layout.
request!(ApiVersionsRequest, ApiVersionsResponse, ApiVersions, 3);
request!(SaslHandshakeRequest, SaslHandshakeResponse, SaslHandshake);
request!(
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslAuthenticate
);
request!(MetadataRequest, MetadataResponse, Metadata, 12);
request!(
    InitProducerIdRequest,
    InitProducerIdResponse,
    InitProducerId
);
request!(ProduceRequest, ProduceResponse, Produce, 12);
// Fetch 13 names topics by id only.
request!(FetchRequest, FetchResponse, Fetch, 12);

enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

/// A ready connection to one broker.
pub struct Connection {
    stream: Stream,
    broker: String,
    client_id: StrBytes,
    next_correlation: i32,
    /// The broker's version range per API key.
    versions: HashMap<i16, (i16, i16)>,
    /// Where responses are read.
    incoming: BytesMut,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("broker", &self.broker)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `broker` (`host:port`) as `cluster` says, agrees API versions and
    /// authenticates. `tls` is the cluster's connector when it uses TLS.
    pub fn open(
        broker: &str,
        cluster: &ClusterConnection,
        tls: Option<&SslConnector>,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Self, WriterError> {
        let io = |detail: String| WriterError::Connection {
            broker: broker.to_owned(),
            detail,
        };
        let addrs: Vec<_> = broker
            .to_socket_addrs()
            .map_err(|e| io(format!("cannot resolve the address: {e}")))?
            .collect();
        let mut last = io("the address resolves to nothing".to_owned());
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = io(format!("cannot connect to {addr}: {e}")),
            }
        }
        let tcp = tcp.ok_or(last)?;
        let setup = |e: std::io::Error| io(format!("socket setup: {e}"));
        tcp.set_nodelay(true).map_err(setup)?;
        tcp.set_read_timeout(Some(timeout)).map_err(setup)?;
        tcp.set_write_timeout(Some(timeout)).map_err(setup)?;
        let stream = match tls.filter(|_| cluster.security_protocol.uses_tls()) {
            None => Stream::Plain(tcp),
            Some(connector) => {
                let host = broker.rsplit_once(':').map_or(broker, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let tls_err = |detail: String| WriterError::Tls {
                    broker: broker.to_owned(),
                    detail,
                };
                let config = connector
                    .configure()
                    .map_err(|e| tls_err(e.to_string()))?
                    .verify_hostname(cluster.tls.verify_hostname);
                let s = config.connect(host, tcp).map_err(|e| match &e {
                    // A reset, an end of stream or a read timeout during the handshake is the
                    // broker restarting or frozen, not a TLS mistake: worth trying again.
                    openssl::ssl::HandshakeError::WouldBlock(_) => {
                        io("the TLS handshake timed out".to_owned())
                    }
                    openssl::ssl::HandshakeError::Failure(mid)
                        if mid.error().io_error().is_some() =>
                    {
                        io(format!("the TLS handshake broke off: {e}"))
                    }
                    _ => tls_err(e.to_string()),
                })?;
                Stream::Tls(Box::new(s))
            }
        };
        let mut conn = Self {
            stream,
            broker: broker.to_owned(),
            client_id: StrBytes::from_string(client_id.to_owned()),
            next_correlation: 0,
            versions: HashMap::new(),
            incoming: BytesMut::new(),
        };
        conn.agree_versions()?;
        if let Some(sasl) = cluster
            .sasl
            .as_ref()
            .filter(|_| cluster.security_protocol.uses_sasl())
        {
            super::sasl::authenticate(&mut conn, sasl)?;
        }
        Ok(conn)
    }

    /// `host:port` of the broker.
    pub fn broker(&self) -> &str {
        &self.broker
    }

    /// Sends `req` and waits for its response.
    pub fn call<R: Request>(&mut self, req: &R) -> Result<R::Response, WriterError> {
        let version = self.version::<R>()?;
        let correlation = self.send(req, version)?;
        self.receive::<R>(version, correlation)
    }

    /// The version of `R` to speak: the newest both sides know.
    pub fn version<R: Request>(&self) -> Result<i16, WriterError> {
        let ours = R::MAX.min(R::VERSIONS.max);
        let key = R::KEY as i16;
        // ApiVersions itself is spoken before the broker's ranges are known.
        let Some(&(min, max)) = self.versions.get(&key) else {
            if R::KEY == ApiKey::ApiVersions {
                return Ok(ours);
            }
            return Err(
                self.protocol::<R>(format!("the broker does not support the {} API", R::NAME))
            );
        };
        let version = ours.min(max);
        if version < min.max(R::VERSIONS.min) {
            return Err(self.protocol::<R>(format!(
                "the broker speaks versions {min}..={max}, Strait {}..={ours}",
                R::VERSIONS.min
            )));
        }
        Ok(version)
    }

    /// Writes `req` at `version`; returns its correlation id for [`Connection::receive`].
    pub fn send<R: Request>(&mut self, req: &R, version: i16) -> Result<i32, WriterError> {
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let correlation = self.next_correlation;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(self.client_id.clone()));
        // Sized up front: a produce request holds megabytes of batches, and a buffer grown on
        // the way copies them again at each doubling.
        let size = header
            .compute_size(R::header_version(version))
            .and_then(|h| Ok(h + req.compute_size(version)?))
            .unwrap_or(0);
        let mut frame = BytesMut::with_capacity(4 + size);
        frame.extend_from_slice(&[0; 4]);
        let encoded = header
            .encode(&mut frame, R::header_version(version))
            .and_then(|()| req.encode(&mut frame, version));
        encoded.map_err(|e| self.protocol::<R>(format!("encoding the request: {e:#}")))?;
        let len = u32::try_from(frame.len() - 4)
            .map_err(|_| self.protocol::<R>("the request is over 4 GiB".to_owned()))?;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        self.stream
            .write_all(&frame)
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.io(format!("writing a {} request: {e}", R::NAME)))?;
        Ok(correlation)
    }

    /// The socket answers arrive on, and whether bytes of one already read from it wait
    /// decrypted (a TLS record holds more than the reads so far took): what waiting for
    /// several connections' answers at once needs.
    pub fn readiness(&self) -> (std::os::fd::BorrowedFd<'_>, bool) {
        use std::os::fd::AsFd;
        match &self.stream {
            Stream::Plain(s) => (s.as_fd(), false),
            Stream::Tls(s) => (s.get_ref().as_fd(), s.ssl().pending() > 0),
        }
    }

    /// Reads the response to the request sent as `correlation`.
    pub fn receive<R: Request>(
        &mut self,
        version: i16,
        correlation: i32,
    ) -> Result<R::Response, WriterError> {
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .map_err(|e| self.io(format!("reading a {} response: {e}", R::NAME)))?;
        let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
        if len > MAX_RESPONSE {
            return Err(self.protocol::<R>(format!("a response of {len} bytes")));
        }
        // Read into the connection's own buffer, which takes back its memory once the last
        // response read into it is dropped: a fresh allocation of a megabytes-large fetch
        // answer costs more in page faults than reading it (a third of a passthrough copy's
        // CPU, measured).
        self.incoming.clear();
        self.incoming.resize(len, 0);
        self.stream
            .read_exact(&mut self.incoming)
            .map_err(|e| self.io(format!("reading a {} response: {e}", R::NAME)))?;
        let mut buf = self.incoming.split().freeze();
        let header = ResponseHeader::decode(&mut buf, R::Response::header_version(version))
            .map_err(|e| self.protocol::<R>(format!("decoding the response header: {e:#}")))?;
        if header.correlation_id != correlation {
            return Err(self.protocol::<R>(format!(
                "response to request {} where {correlation} was due",
                header.correlation_id
            )));
        }
        let response = R::Response::decode(&mut buf, version)
            .map_err(|e| self.protocol::<R>(format!("decoding the response: {e:#}")))?;
        if buf.has_remaining() {
            tracing::debug!(
                broker = %self.broker, api = R::NAME, left = buf.remaining(),
                "bytes after a response (a newer broker's fields)"
            );
        }
        Ok(response)
    }

    fn agree_versions(&mut self) -> Result<(), WriterError> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("strait"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let r = self.call(&req)?;
        if r.error_code != 0 {
            return Err(self.protocol::<ApiVersionsRequest>(format!(
                "error code {} (brokers before Kafka 2.4 are not supported by this writer)",
                r.error_code
            )));
        }
        self.versions = r
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        // Fail now, with the broker named, rather than at the first write.
        self.version::<ProduceRequest>()?;
        self.version::<MetadataRequest>()?;
        Ok(())
    }

    fn io(&self, detail: String) -> WriterError {
        WriterError::Connection {
            broker: self.broker.clone(),
            detail,
        }
    }

    fn protocol<R: Request>(&self, detail: String) -> WriterError {
        WriterError::Protocol {
            broker: self.broker.clone(),
            api: R::NAME,
            detail,
        }
    }
}
