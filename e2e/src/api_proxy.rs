//! A loopback HTTP proxy in front of the AWS API simulator that makes one AWS service fail on
//! demand, so that a test can take part of the API away at an exact point of a run.
//!
//! The service of a request is the one its SigV4 signature names (`Credential=<key>/<date>/
//! <region>/<service>/aws4_request`), so rules use signing names: `ec2`, `s3`, `iam`, `sts`,
//! `elasticfilesystem`, ... Each request is forwarded on its own upstream connection with
//! `Connection: close`, and the client connection is closed after the answer.
//!
//! It can also answer a call itself ([`ApiProxy::answer`]), for the few calls the simulator does
//! not implement: the test gives the answer in the shape the service's API reference documents.
//!
//! ```no_run
//! use seg_e2e::{ApiProxy, Fault, Moto};
//!
//! # fn main() -> seg_e2e::Result<()> {
//! let moto = Moto::start()?;
//! let proxy = ApiProxy::start(moto.port())?;
//! proxy.fail("ec2", Fault::Refuse); // EC2 calls now see a server that closes the connection
//! // ... point the client at proxy.endpoint() ...
//! proxy.clear();
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// What the proxy does with the requests of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without an answer, as a server that went away does.
    Refuse,
    /// Keep the request, unanswered, until [`ApiProxy::release`]; then forward it to the
    /// upstream of that moment.
    Hold,
}

/// An answer the proxy gives itself: to requests of `service` (in `region`, when set) whose
/// request line or body contains `matches`.
#[derive(Debug, Clone)]
struct Answer {
    service: String,
    region: Option<String>,
    matches: String,
    content_type: String,
    body: String,
}

#[derive(Default)]
struct Shared {
    rules: BTreeMap<String, Fault>,
    /// A fault for every service not in the list.
    others: Option<(Fault, Vec<String>)>,
    answers: Vec<Answer>,
    /// Requests per service seen so far.
    seen: BTreeMap<String, u64>,
    /// Requests per service waiting in a [`Fault::Hold`].
    held: BTreeMap<String, u64>,
    /// Requests being forwarded (not held).
    in_flight: u64,
    last_activity: Option<Instant>,
}

struct State {
    upstream: AtomicU16,
    stop: AtomicBool,
    shared: Mutex<Shared>,
    changed: Condvar,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A connection thread that panicked cannot leave the counters half-written.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running proxy. Stopped on drop (held requests are then closed unanswered).
pub struct ApiProxy {
    port: u16,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ApiProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiProxy")
            .field("port", &self.port)
            .field("upstream", &self.state.upstream.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl ApiProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:<upstream>`.
    pub fn start(upstream: u16) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let state = Arc::new(State {
            upstream: AtomicU16::new(upstream),
            stop: AtomicBool::new(false),
            shared: Mutex::new(Shared::default()),
            changed: Condvar::new(),
        });
        let st = state.clone();
        let accept = std::thread::Builder::new()
            .name(format!("api-proxy-{port}"))
            .spawn(move || accept_loop(&listener, &st))?;
        Ok(Self {
            port,
            state,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:<port>`: the endpoint to give clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Forward from now on to `127.0.0.1:<port>` (for example a simulator started again).
    pub fn set_upstream(&self, port: u16) {
        self.state.upstream.store(port, Ordering::SeqCst);
    }

    /// Apply `fault` to every later request of `service` (a SigV4 signing name).
    pub fn fail(&self, service: &str, fault: Fault) {
        self.state.lock().rules.insert(service.to_owned(), fault);
        self.state.changed.notify_all();
    }

    /// Apply `fault` to every later request of every service but those in `except` (for
    /// example everything but `sts`: the caller's identity is read, and then the API is gone).
    pub fn fail_all_except(&self, except: &[&str], fault: Fault) {
        self.state.lock().others = Some((fault, except.iter().map(|s| (*s).to_owned()).collect()));
        self.state.changed.notify_all();
    }

    /// Answer, with `200` and `body`, the requests of `service` (in `region`, when given) whose
    /// request line or body contains `matches`, instead of forwarding them; for example
    /// `answer("access-analyzer", Some("us-east-1"), "GET /analyzer", "application/json", ..)`.
    /// The first matching answer wins; a [`Fault`] of the service applies first.
    pub fn answer(&self, service: &str, region: Option<&str>, matches: &str, content_type: &str, body: &str) {
        self.state.lock().answers.push(Answer {
            service: service.to_owned(),
            region: region.map(str::to_owned),
            matches: matches.to_owned(),
            content_type: content_type.to_owned(),
            body: body.to_owned(),
        });
    }

    /// Remove every fault rule; held requests go on to the upstream. Answers stay.
    pub fn clear(&self) {
        let mut s = self.state.lock();
        s.rules.clear();
        s.others = None;
        drop(s);
        self.state.changed.notify_all();
    }

    /// Remove the [`Fault::Hold`] rules and let the held requests go on to the upstream of this
    /// moment.
    pub fn release(&self) {
        let mut s = self.state.lock();
        s.rules.retain(|_, f| *f != Fault::Hold);
        if s.others.as_ref().is_some_and(|(f, _)| *f == Fault::Hold) {
            s.others = None;
        }
        drop(s);
        self.state.changed.notify_all();
    }

    /// Requests of `service` seen so far (whatever happened to them).
    pub fn seen(&self, service: &str) -> u64 {
        self.state.lock().seen.get(service).copied().unwrap_or(0)
    }

    /// Requests of `service` now held.
    pub fn held(&self, service: &str) -> u64 {
        self.state.lock().held.get(service).copied().unwrap_or(0)
    }

    /// Waits until a request of `service` is held.
    pub fn wait_held(&self, service: &str, timeout: Duration) -> Result<()> {
        self.wait(timeout, |s| s.held.get(service).copied().unwrap_or(0) > 0)
            .map_err(|e| e.context(format!("waiting for a held {service} request")))
    }

    /// Waits until no request is being forwarded and none has started or ended for `quiet`:
    /// everything a client sends that is not held has been answered.
    pub fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> Result<()> {
        self.wait(timeout, |s| {
            s.in_flight == 0 && s.last_activity.is_none_or(|t| t.elapsed() >= quiet)
        })
        .map_err(|e| e.context(format!("waiting for {} ms without requests", quiet.as_millis())))
    }

    fn wait(&self, timeout: Duration, mut done: impl FnMut(&Shared) -> bool) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut s = self.state.lock();
        loop {
            if done(&s) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(format!(
                    "not reached in {} s (seen {:?}, held {:?}, in flight {})",
                    timeout.as_secs(),
                    s.seen,
                    s.held,
                    s.in_flight
                )));
            }
            // Wake at least every 50 ms: quiet periods end without a notification.
            let step = (deadline - now).min(Duration::from_millis(50));
            s = self
                .state
                .changed
                .wait_timeout(s, step)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

impl Drop for ApiProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.changed.notify_all();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

impl Shared {
    fn fault(&self, service: &str) -> Option<Fault> {
        self.rules.get(service).copied().or_else(|| {
            self.others
                .as_ref()
                .filter(|(_, except)| !except.iter().any(|e| e == service))
                .map(|(f, _)| *f)
        })
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    while !state.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let st = state.clone();
                let _ = std::thread::Builder::new()
                    .name("api-proxy-conn".into())
                    .spawn(move || serve(client, &st));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve(mut client: TcpStream, state: &State) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(req) = read_request(&mut client) else {
        return;
    };
    let (service, region) = credential_scope(&req).unwrap_or_default();
    {
        let mut s = state.lock();
        *s.seen.entry(service.clone()).or_default() += 1;
        s.last_activity = Some(Instant::now());
        let mut was_held = false;
        match s.fault(&service) {
            Some(Fault::Refuse) => {
                drop(s);
                state.changed.notify_all();
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Hold) => {
                *s.held.entry(service.clone()).or_default() += 1;
                state.changed.notify_all();
                was_held = true;
                while s.fault(&service) == Some(Fault::Hold) && !state.stop.load(Ordering::SeqCst) {
                    s = state
                        .changed
                        .wait_timeout(s, Duration::from_millis(100))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
                if let Some(n) = s.held.get_mut(&service) {
                    *n = n.saturating_sub(1);
                }
                if state.stop.load(Ordering::SeqCst) {
                    drop(s);
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
                if s.fault(&service) == Some(Fault::Refuse) {
                    drop(s);
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
            }
            None => {}
        }
        let text = String::from_utf8_lossy(&req);
        let first_line = text.lines().next().unwrap_or_default();
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        // A held request goes on to the upstream, as `Fault::Hold` says, never to an answer.
        let answer = s.answers.iter().filter(|_| !was_held).find(|a| {
            a.service == service
                && a.region.as_ref().is_none_or(|r| *r == region)
                && (first_line.contains(&a.matches) || body.contains(&a.matches))
        });
        if let Some(a) = answer.cloned() {
            drop(s);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
                 x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\nConnection: close\r\n\r\n",
                a.content_type,
                a.body.len()
            );
            let _ = client.write_all(head.as_bytes());
            let _ = client.write_all(a.body.as_bytes());
            let _ = client.shutdown(Shutdown::Both);
            state.lock().last_activity = Some(Instant::now());
            state.changed.notify_all();
            return;
        }
        s.in_flight += 1;
    }
    let upstream = state.upstream.load(Ordering::SeqCst);
    if let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) {
        let _ = up.set_read_timeout(Some(Duration::from_secs(60)));
        if up.write_all(&with_connection_close(&req)).is_ok() {
            let mut resp = Vec::new();
            let _ = up.read_to_end(&mut resp);
            let _ = client.write_all(&resp);
        }
    }
    // Upstream gone: the client sees its connection closed without an answer.
    let _ = client.shutdown(Shutdown::Both);
    let mut s = state.lock();
    s.in_flight = s.in_flight.saturating_sub(1);
    s.last_activity = Some(Instant::now());
    drop(s);
    state.changed.notify_all();
}

/// One HTTP/1.1 request with a `Content-Length` body (what the AWS SDKs send for these APIs).
fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The (service, region) of a SigV4 `Authorization` header:
/// `Credential=<key>/<date>/<region>/<service>/aws4_request`.
fn credential_scope(req: &[u8]) -> Option<(String, String)> {
    let end = req.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&req[..end]);
    let auth = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("authorization").then_some(value)
    })?;
    let scope = auth.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    Some(((*parts.get(3)?).to_owned(), (*parts.get(2)?).to_owned()))
}

/// The request with `Connection: close` instead of any `Connection` header it had.
fn with_connection_close(req: &[u8]) -> Vec<u8> {
    let Some(head_end) = req.windows(4).position(|w| w == b"\r\n\r\n") else {
        return req.to_vec();
    };
    let head = String::from_utf8_lossy(&req[..head_end]);
    let mut lines = head.split("\r\n");
    let mut out = String::new();
    out.push_str(lines.next().unwrap_or_default());
    out.push_str("\r\nConnection: close");
    for line in lines {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str("\r\n");
            out.push_str(line);
        }
    }
    let mut out = out.into_bytes();
    out.extend_from_slice(&req[head_end..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_service_is_the_signing_name_of_the_credential_scope() {
        let req = b"POST / HTTP/1.1\r\nhost: x\r\nauthorization: AWS4-HMAC-SHA256 \
Credential=testing/20261201/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=ab\r\n\r\n";
        assert_eq!(
            credential_scope(req),
            Some(("ec2".to_owned(), "us-east-1".to_owned()))
        );
        let req = b"GET /moto-api/ HTTP/1.1\r\nhost: x\r\n\r\n";
        assert_eq!(credential_scope(req), None);
    }

    fn get(port: u16, service: &str) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        write!(
            s,
            "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 \
Credential=k/20261201/us-east-1/{service}/aws4_request, Signature=0\r\n\r\n"
        )?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        Ok(out)
    }

    /// An upstream that answers every connection with `200 <n>` (n counts connections).
    fn upstream() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (n, c) in l.incoming().enumerate() {
                let mut c = c.unwrap();
                let _ = read_request(&mut c);
                let body = n.to_string();
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        port
    }

    #[test]
    fn refused_services_get_no_answer_and_the_others_do() {
        let p = ApiProxy::start(upstream()).unwrap();
        p.fail("ec2", Fault::Refuse);
        assert!(get(p.port(), "ec2").unwrap_or_default().is_empty());
        assert!(get(p.port(), "iam").unwrap().starts_with(b"HTTP/1.1 200"));
        p.clear();
        assert!(get(p.port(), "ec2").unwrap().starts_with(b"HTTP/1.1 200"));
        assert_eq!((p.seen("ec2"), p.seen("iam")), (2, 1));
    }

    #[test]
    fn answers_replace_the_upstream_for_matching_requests_only() {
        let p = ApiProxy::start(upstream()).unwrap();
        p.answer("ec2", Some("us-east-1"), "GET /", "text/xml", "<ok/>");
        let got = String::from_utf8(get(p.port(), "ec2").unwrap()).unwrap();
        assert!(got.ends_with("\r\n\r\n<ok/>"), "{got}");
        assert!(got.contains("Content-Length: 5\r\n"), "{got}");
        let other = String::from_utf8(get(p.port(), "iam").unwrap()).unwrap();
        assert!(!other.contains("<ok/>"), "{other}");
        p.fail("ec2", Fault::Refuse);
        assert!(
            get(p.port(), "ec2").unwrap_or_default().is_empty(),
            "faults first"
        );
    }

    #[test]
    fn forwarded_requests_ask_the_upstream_to_close() {
        let req = b"GET / HTTP/1.1\r\nHost: x\r\nconnection: keep-alive\r\nA: b\r\n\r\nbody";
        assert_eq!(
            String::from_utf8(with_connection_close(req)).unwrap(),
            "GET / HTTP/1.1\r\nConnection: close\r\nHost: x\r\nA: b\r\n\r\nbody"
        );
        let req = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(
            String::from_utf8(with_connection_close(req)).unwrap(),
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn every_service_but_the_excepted_ones_can_fail() {
        let p = ApiProxy::start(upstream()).unwrap();
        p.fail_all_except(&["sts"], Fault::Refuse);
        assert!(get(p.port(), "sts").unwrap().starts_with(b"HTTP/1.1 200"));
        assert!(get(p.port(), "ec2").unwrap_or_default().is_empty());
        p.clear();
        assert!(get(p.port(), "ec2").unwrap().starts_with(b"HTTP/1.1 200"));
    }

    #[test]
    fn held_requests_wait_for_release_and_go_to_the_upstream_of_that_moment() {
        let p = ApiProxy::start(1).unwrap(); // nothing listens on port 1
        p.fail("ec2", Fault::Hold);
        let port = p.port();
        let t = std::thread::spawn(move || get(port, "ec2"));
        p.wait_held("ec2", Duration::from_secs(5)).unwrap();
        assert!(get(port, "s3").unwrap_or_default().is_empty(), "no upstream yet");
        p.wait_quiet(Duration::from_millis(100), Duration::from_secs(5))
            .unwrap();
        assert_eq!(p.held("ec2"), 1);
        p.set_upstream(upstream());
        p.release();
        assert!(t.join().unwrap().unwrap().starts_with(b"HTTP/1.1 200"));
        assert_eq!(p.held("ec2"), 0);
    }
}
