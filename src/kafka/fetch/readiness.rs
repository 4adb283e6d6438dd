//! Waiting for the first of several connections' answers: the fetcher's requests to every
//! leader are out at once, and a leader that does not answer (frozen, partitioned away) must
//! not hold the others' answers until its request times out.

use std::time::Duration;

use crate::kafka::ffi;
use crate::kafka::writer::connection::Connection;

/// Which of `connections` have an answer arriving (bytes at the socket, bytes already
/// decrypted, or the connection closed or failed, which reading reports), waiting up to `wait`
/// for the first.
pub(super) fn ready(connections: &[&Connection], wait: Duration) -> std::io::Result<Vec<bool>> {
    let (sockets, buffered): (Vec<_>, Vec<bool>) =
        connections.iter().map(|c| c.readiness()).unzip();
    // Bytes already decrypted are not at the socket: look without waiting.
    let wait = if buffered.contains(&true) {
        Duration::ZERO
    } else {
        wait
    };
    let readable = ffi::readable(&sockets, wait)?;
    Ok(readable
        .into_iter()
        .zip(buffered)
        .map(|(r, b)| r || b)
        .collect())
}
