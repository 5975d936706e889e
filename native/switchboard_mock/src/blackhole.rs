//! A loopback port where `connect()` hangs, for connect-timeout tests.
//!
//! Linux drops a SYN when the listener's accept queue is full. A listener
//! with backlog 0 that is never accepted from holds one connection; once the
//! mock fills that slot itself, every later SYN is silently dropped and the
//! client keeps retransmitting until its own timeout fires.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How long a fill-up connect may take before the queue counts as full.
const FILL_PROBE_TIMEOUT: Duration = Duration::from_millis(200);
/// Upper bound on fill-up connections, in case a kernel rounds the backlog up.
const MAX_FILLERS: usize = 16;

/// Kept alive for the server's lifetime: dropping the listener or the filler
/// connections would reopen the port.
#[derive(Debug)]
pub struct Blackhole {
    addr: SocketAddr,
    _listener: TcpListener,
    _fillers: Vec<TcpStream>,
}

impl Blackhole {
    pub async fn open() -> io::Result<Blackhole> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        let mut fillers = Vec::new();
        let mut full = false;
        while fillers.len() < MAX_FILLERS {
            match tokio::time::timeout(FILL_PROBE_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => fillers.push(stream),
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    full = true;
                    break;
                }
            }
        }
        if !full {
            return Err(io::Error::other(
                "accept queue never filled; this kernel does not drop SYNs on a full backlog",
            ));
        }
        Ok(Blackhole {
            addr,
            _listener: listener,
            _fillers: fillers,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}
