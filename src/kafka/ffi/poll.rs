//! `poll(2)` on sockets: which have bytes to read, waiting for the first. The source fetcher
//! waits on every leader's connection at once with it (`kafka/fetch/readiness.rs`); std has
//! no such call.

use std::os::fd::BorrowedFd;
use std::time::Duration;

/// Which of `sockets` are readable (bytes, the end of the stream, or an error to read),
/// waiting up to `wait` for the first; with `wait` zero, looks without waiting. An interrupted
/// wait reports none readable: callers wait again until their own deadline.
pub fn readable(sockets: &[BorrowedFd<'_>], wait: Duration) -> std::io::Result<Vec<bool>> {
    use std::os::fd::AsRawFd;
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    if fds.is_empty() {
        return Ok(Vec::new());
    }
    // Rounded up, so that a wait shorter than a millisecond still waits.
    let timeout_ms = i32::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    let n = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
    // SAFETY: `fds` is a valid, exclusively borrowed array of `n` initialised pollfd structures
    // for the whole call, and each descriptor in it is kept open by the `BorrowedFd` it came
    // from, which outlives the call.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), n, timeout_ms) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    let arrived = libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
    Ok(fds.iter().map(|fd| fd.revents & arrived != 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn a_socket_is_readable_once_bytes_arrive_and_not_before() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let quiet = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_quiet_peer, _) = listener.accept().unwrap();
        let talking = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut talking_peer, _) = listener.accept().unwrap();

        let none = readable(&[quiet.as_fd(), talking.as_fd()], Duration::from_millis(20)).unwrap();
        assert_eq!(none, vec![false, false]);

        talking_peer.write_all(b"x").unwrap();
        let one = readable(&[quiet.as_fd(), talking.as_fd()], Duration::from_secs(5)).unwrap();
        assert_eq!(one, vec![false, true]);
    }
}
