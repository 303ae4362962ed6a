//! A loopback TCP proxy in front of the kube-apiserver that makes a client's watches lag behind
//! its own writes, as they can on a busy cluster: what the server sends on its own (watch events,
//! bookmarks) reaches the client `lag` late, while answers to requests arrive at once.
//!
//! The proxy does not look into the TLS stream. It tells the two apart by time, per connection:
//! bytes from the server within [`ANSWER_WINDOW`] of the client's last bytes are an answer (the
//! TLS handshake, the response to a request), later ones were pushed (kube clients speak HTTP/1.1,
//! so a watch has a connection of its own, on which the client sends nothing after the request).
//! Order is kept on each connection.
//!
//! ```no_run
//! use std::time::Duration;
//! use seg_e2e::{ControlPlane, User, WatchLag};
//!
//! # fn main() -> seg_e2e::Result<()> {
//! let cp = ControlPlane::start()?;
//! let lag = WatchLag::start(cp.port(), Duration::from_secs(2))?;
//! let kubeconfig = cp.kubeconfig_via(User::Operator, lag.port())?;
//! // ... run a client with `kubeconfig`: it sees its own writes 2 s late ...
//! # Ok(())
//! # }
//! ```

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::Result;

/// Server bytes this soon after the client's last bytes on a connection are an answer.
pub const ANSWER_WINDOW: Duration = Duration::from_millis(300);

struct State {
    upstream: u16,
    lag: Duration,
    stop: AtomicBool,
    /// Both ends of every connection, shut down on drop so that the pumps end.
    sockets: Mutex<Vec<TcpStream>>,
}

/// A running proxy. Stopped on drop (its connections are closed).
pub struct WatchLag {
    port: u16,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WatchLag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchLag")
            .field("port", &self.port)
            .field("upstream", &self.state.upstream)
            .field("lag", &self.state.lag)
            .finish_non_exhaustive()
    }
}

impl WatchLag {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<upstream>`, delivering what
    /// the server pushes `lag` late.
    pub fn start(upstream: u16, lag: Duration) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let state = Arc::new(State {
            upstream,
            lag,
            stop: AtomicBool::new(false),
            sockets: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let accept = std::thread::Builder::new()
            .name(format!("watch-lag-{port}"))
            .spawn(move || accept_loop(&listener, &st))?;
        Ok(Self {
            port,
            state,
            accept: Some(accept),
        })
    }

    /// The loopback port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for WatchLag {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let sockets = std::mem::take(
            &mut *self
                .state
                .sockets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for s in sockets {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    while !state.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let st = state.clone();
                let _ = std::thread::Builder::new()
                    .name("watch-lag-conn".into())
                    .spawn(move || connect(client, &st));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn connect(client: TcpStream, state: &Arc<State>) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_nodelay(true);
    let Ok(server) = TcpStream::connect(("127.0.0.1", state.upstream)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = server.set_nodelay(true);
    let clones = (
        client.try_clone(),
        server.try_clone(),
        client.try_clone(),
        server.try_clone(),
    );
    let (Ok(client_w), Ok(server_w), Ok(c), Ok(s)) = clones else {
        return;
    };
    {
        let mut sockets = state
            .sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.stop.load(Ordering::SeqCst) {
            drop(sockets);
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            return;
        }
        sockets.push(c);
        sockets.push(s);
    }
    let last_client = Arc::new(Mutex::new(Instant::now()));
    // Client to server, at once; remembers when the client last sent.
    let lc = last_client.clone();
    let up = std::thread::Builder::new()
        .name("watch-lag-up".into())
        .spawn(move || pump_up(client, server_w, &lc));
    // Server to client: read and timestamp here, deliver in order from a writer thread.
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let down = std::thread::Builder::new()
        .name("watch-lag-down".into())
        .spawn(move || deliver(&rx, client_w));
    let lag = state.lag;
    let mut server = server;
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_due = Instant::now();
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        let since_client = now.saturating_duration_since(
            *last_client
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let due = if since_client > ANSWER_WINDOW {
            now + lag
        } else {
            now
        };
        // Never before what came earlier on this connection.
        last_due = last_due.max(due);
        if tx.send((last_due, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    if let Ok(t) = down {
        let _ = t.join();
    }
    if let Ok(t) = up {
        let _ = t.join();
    }
}

fn pump_up(mut client: TcpStream, mut server: TcpStream, last_client: &Mutex<Instant>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        *last_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

fn deliver(rx: &mpsc::Receiver<(Instant, Vec<u8>)>, mut client: TcpStream) {
    while let Ok((due, bytes)) = rx.recv() {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if client.write_all(&bytes).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An upstream that echoes each read at once (an answer), and then, 1 s later, pushes `push`.
    fn upstream() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let mut c = c.unwrap();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64];
                    let n = c.read(&mut buf).unwrap();
                    c.write_all(&buf[..n]).unwrap();
                    std::thread::sleep(Duration::from_secs(1));
                    c.write_all(b"push").unwrap();
                });
            }
        });
        port
    }

    #[test]
    fn answers_come_at_once_and_pushed_bytes_late() {
        let p = WatchLag::start(upstream(), Duration::from_secs(2)).unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", p.port())).unwrap();
        let start = Instant::now();
        c.write_all(b"ask").unwrap();
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ask");
        assert!(
            start.elapsed() < Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"push");
        // Pushed after 1 s, delivered 2 s later.
        assert!(start.elapsed() >= Duration::from_secs(3), "{:?}", start.elapsed());
    }
}
