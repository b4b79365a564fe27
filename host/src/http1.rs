//! A blocking HTTP/1.1 client for load generation: one keep-alive connection, requests sent as
//! bytes prepared once, answers parsed by `httparse` (hyper's parser).
//!
//! `mlprobe load --target http://…` must not be the bottleneck of the server it measures, and
//! it shares the machine's cores with it. Per request this client makes one `write` and,
//! usually, one `read`: no per-request formatting, resolution, socket options or runtime.
//! ureq 3 spent about five times the CPU per request (a resolver thread per request with a
//! global timeout; two sends, three `setsockopt` and four `ioctl` without one), and hyper's
//! client needs a runtime per worker and two `epoll_wait` per request (DESIGN.md, "Serving").
//!
//! What it does: `Content-Length` and `chunked` bodies (trailers skipped), bodies delimited by
//! the connection's end, 1xx interim answers skipped, `Connection: close` and HTTP/1.0 honoured
//! (the next request opens a new connection), and one retry on a new connection when a reused
//! one turns out closed before any byte of the answer arrived (a server's idle timeout).

use httparse::Status;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The largest answer read (head and body), bytes.
pub const MAX_ANSWER: usize = 64 << 20;

/// Where requests go: `http://HOST:PORT/PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `HOST:PORT`, as the `Host` header sends it.
    pub authority: String,
    /// The path and query, `/` at least.
    pub path: String,
}

impl Endpoint {
    /// Parses an `http://` URL (no `https`: the targets are model servers on a local network).
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("`{}`: {e}", crate::limits::excerpt(url)))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "`{}`: only http:// URLs are supported",
                crate::limits::excerpt(url)
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{}`: no host", crate::limits::excerpt(url)))?;
        let authority = match authority.port_u16() {
            Some(_) => authority.as_str().to_string(),
            None => format!("{}:80", authority.as_str()),
        };
        let path = uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str)
            .to_string();
        Ok(Self { authority, path })
    }

    /// The bytes of `POST PATH` with `body` of type `content_type`, head and body together (one
    /// write, one TCP segment for small requests).
    pub fn post(&self, content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            self.path,
            self.authority,
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }
}

/// A failed exchange.
#[derive(Debug)]
pub struct HttpError {
    /// What went wrong.
    pub message: String,
    /// The connection was closed before any byte of the answer arrived: the request may be
    /// sent again on a new connection.
    stale: bool,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn fail(message: impl Into<String>) -> HttpError {
    HttpError {
        message: message.into(),
        stale: false,
    }
}

/// An answer: its status and body (valid until the next exchange).
#[derive(Debug)]
pub struct Answer<'a> {
    /// The status code.
    pub status: u16,
    /// The body, de-chunked.
    pub body: &'a [u8],
}

/// How an answer's body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// One keep-alive connection to an endpoint, opened on first use and again after the server
/// closes it.
pub struct Client {
    endpoint: Endpoint,
    addrs: Vec<SocketAddr>,
    timeout: Duration,
    stream: Option<TcpStream>,
    /// Bytes read and not yet consumed: `buf[..filled]`.
    buf: Vec<u8>,
    filled: usize,
    /// The last answer's status and body.
    status: u16,
    body: Vec<u8>,
}

impl Client {
    /// A client of `endpoint`; `timeout` bounds connecting and each read or write.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        Self {
            endpoint,
            addrs: Vec::new(),
            timeout,
            stream: None,
            buf: vec![0; 16 << 10],
            filled: 0,
            status: 0,
            body: Vec::new(),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends `request` (from [`Endpoint::post`]) and reads the answer.
    pub fn exchange(&mut self, request: &[u8]) -> Result<Answer<'_>, HttpError> {
        let reused = self.stream.is_some();
        match self.try_exchange(request) {
            Err(e) if reused && e.stale => {
                self.stream = None;
                self.try_exchange(request)?;
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        Ok(Answer {
            status: self.status,
            body: &self.body,
        })
    }

    fn connect(&mut self) -> Result<TcpStream, HttpError> {
        if self.addrs.is_empty() {
            self.addrs = self
                .endpoint
                .authority
                .to_socket_addrs()
                .map_err(|e| fail(format!("resolving {}: {e}", self.endpoint.authority)))?
                .collect();
        }
        let mut last = None;
        for addr in &self.addrs {
            match TcpStream::connect_timeout(addr, self.timeout) {
                Ok(s) => {
                    let setup = s
                        .set_nodelay(true)
                        .and_then(|()| s.set_read_timeout(Some(self.timeout)))
                        .and_then(|()| s.set_write_timeout(Some(self.timeout)));
                    setup.map_err(|e| fail(format!("connection to {addr}: {e}")))?;
                    return Ok(s);
                }
                Err(e) => last = Some(format!("connecting to {addr}: {e}")),
            }
        }
        Err(fail(last.unwrap_or_else(|| {
            format!("{} resolves to no address", self.endpoint.authority)
        })))
    }

    /// Reads more bytes into `buf`; 0 at the connection's end.
    fn fill(&mut self) -> Result<usize, HttpError> {
        if self.filled == self.buf.len() {
            if self.buf.len() >= MAX_ANSWER {
                return Err(fail(format!("the answer is over {MAX_ANSWER} bytes")));
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let stream = self.stream.as_mut().ok_or_else(|| fail("not connected"))?;
        loop {
            match stream.read(&mut self.buf[self.filled..]) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(HttpError {
                        stale: self.filled == 0 && is_reset(&e),
                        message: format!("reading the answer: {e}"),
                    });
                }
            }
        }
    }

    /// Reads until `buf[..need]` is there.
    fn fill_to(&mut self, need: usize) -> Result<(), HttpError> {
        if need > MAX_ANSWER {
            return Err(fail(format!("the answer is over {MAX_ANSWER} bytes")));
        }
        if self.buf.len() < need {
            self.buf.resize(need.next_power_of_two(), 0);
        }
        while self.filled < need {
            if self.fill()? == 0 {
                return Err(fail(format!(
                    "the connection closed before the answer's end ({} of {need} bytes)",
                    self.filled
                )));
            }
        }
        Ok(())
    }

    fn try_exchange(&mut self, request: &[u8]) -> Result<(), HttpError> {
        if self.stream.is_none() {
            self.stream = Some(self.connect()?);
            self.filled = 0;
        }
        let written = self.stream.as_mut().expect("connected").write_all(request);
        if let Err(e) = written {
            self.stream = None;
            return Err(HttpError {
                stale: is_reset(&e),
                message: format!("sending the request: {e}"),
            });
        }
        let result = self.read_answer();
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn read_answer(&mut self) -> Result<(), HttpError> {
        let (head, framing, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut headers);
            match r.parse(&self.buf[..self.filled]) {
                Ok(Status::Complete(head)) => {
                    let status = r.code.unwrap_or(0);
                    if (100..200).contains(&status) && status != 101 {
                        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
                        self.consume(head);
                        continue;
                    }
                    let (framing, close) = framing(&r, status)?;
                    self.status = status;
                    break (head, framing, close);
                }
                Ok(Status::Partial) => {
                    if self.fill()? == 0 {
                        return Err(HttpError {
                            stale: self.filled == 0,
                            message: if self.filled == 0 {
                                "the server closed the connection without answering".into()
                            } else {
                                "the connection closed inside the answer's head".into()
                            },
                        });
                    }
                }
                Err(e) => {
                    return Err(fail(format!(
                        "the answer is not HTTP/1.x ({e}): {}",
                        crate::limits::excerpt_bytes(&self.buf[..self.filled.min(200)])
                    )));
                }
            }
        };
        self.body.clear();
        let end = match framing {
            Framing::Length(n) => {
                let end = head.checked_add(n).ok_or_else(|| fail("content-length"))?;
                self.fill_to(end)?;
                self.body.extend_from_slice(&self.buf[head..end]);
                end
            }
            Framing::Chunked => self.chunks(head)?,
            Framing::UntilClose => {
                while self.fill()? > 0 {}
                self.body.extend_from_slice(&self.buf[head..self.filled]);
                self.filled
            }
        };
        self.consume(end);
        if close || matches!(framing, Framing::UntilClose) {
            self.stream = None;
        }
        Ok(())
    }

    /// Decodes a chunked body starting at `buf[at..]`; returns where the message ends.
    fn chunks(&mut self, mut at: usize) -> Result<usize, HttpError> {
        loop {
            let (len, size) = loop {
                match httparse::parse_chunk_size(&self.buf[at..self.filled]) {
                    Ok(Status::Complete((len, size))) => break (len, size),
                    Ok(Status::Partial) => self.fill_to(self.filled + 1)?,
                    Err(_) => return Err(fail("a chunk's size line is not valid")),
                }
            };
            at += len;
            if size == 0 {
                // Trailers, if any, end with an empty line.
                loop {
                    let rest = &self.buf[at..self.filled];
                    if rest.starts_with(b"\r\n") {
                        return Ok(at + 2);
                    }
                    if let Some(p) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
                        return Ok(at + p + 4);
                    }
                    self.fill_to(self.filled + 1)?;
                }
            }
            let size = usize::try_from(size)
                .ok()
                .filter(|&s| s <= MAX_ANSWER)
                .ok_or_else(|| fail(format!("the answer is over {MAX_ANSWER} bytes")))?;
            self.fill_to(at + size + 2)?;
            if &self.buf[at + size..at + size + 2] != b"\r\n" {
                return Err(fail("a chunk does not end with CRLF"));
            }
            self.body.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
        }
    }

    /// Drops `buf[..n]`, keeping what follows.
    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }
}

/// The framing of an answer and whether the server closes the connection after it.
fn framing(r: &httparse::Response<'_, '_>, status: u16) -> Result<(Framing, bool), HttpError> {
    let mut length = None;
    let mut chunked = false;
    let mut close = r.version == Some(0);
    for h in r.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    fail(format!(
                        "content-length `{}` is not a number",
                        crate::limits::excerpt_bytes(h.value)
                    ))
                })?;
            if length.is_some_and(|l| l != n) {
                return Err(fail("two different content-length headers"));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && r.version == Some(0) {
                    close = false;
                }
            }
        }
    }
    let framing = if status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok((framing, close))
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server answering each connection's requests with `answers[k]` in turn (one list per
    /// connection), then closing it; returns its address and the requests it read.
    fn server(connections: Vec<Vec<&'static [u8]>>) -> (String, std::thread::JoinHandle<usize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let h = std::thread::spawn(move || {
            let mut requests = 0;
            for answers in connections {
                let (mut s, _) = l.accept().unwrap();
                for a in answers {
                    let mut got = Vec::new();
                    let mut b = [0u8; 4096];
                    // Read one request: head, then content-length bytes.
                    loop {
                        let n = s.read(&mut b).unwrap();
                        assert!(n > 0, "the client closed early");
                        got.extend_from_slice(&b[..n]);
                        if let Some(h) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&got[..h]).to_ascii_lowercase();
                            let cl: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse().unwrap());
                            if got.len() >= h + 4 + cl {
                                break;
                            }
                        }
                    }
                    requests += 1;
                    s.write_all(a).unwrap();
                }
            }
            requests
        });
        (addr, h)
    }

    fn client(addr: &str) -> (Client, Vec<u8>) {
        let e = Endpoint::parse(&format!("http://{addr}/v2/models/m/infer")).unwrap();
        let req = e.post("application/json", b"{}");
        (Client::new(e, Duration::from_secs(5)), req)
    }

    #[test]
    fn endpoints_parse_and_requests_carry_head_and_body() {
        let e = Endpoint::parse("http://127.0.0.1:8080/v2/models/wine/infer").unwrap();
        assert_eq!(e.authority, "127.0.0.1:8080");
        assert_eq!(e.path, "/v2/models/wine/infer");
        assert_eq!(Endpoint::parse("http://h/x?q=1").unwrap().authority, "h:80");
        assert_eq!(Endpoint::parse("http://h/x?q=1").unwrap().path, "/x?q=1");
        assert!(Endpoint::parse("https://h/x").is_err());
        assert!(Endpoint::parse("not a url").is_err());
        let r = e.post("application/json", b"{\"a\":1}");
        assert_eq!(
            r,
            b"POST /v2/models/wine/infer HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\
              content-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}"
        );
    }

    #[test]
    fn keep_alive_lengths_chunks_and_interim_answers() {
        let (addr, h) = server(vec![vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nX-T: 1\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad",
        ]]);
        let (mut c, req) = client(&addr);
        let a = c.exchange(&req).unwrap();
        assert_eq!((a.status, a.body), (200, &b"hello"[..]));
        let a = c.exchange(&req).unwrap();
        assert_eq!((a.status, a.body), (201, &b"ok"[..]));
        let a = c.exchange(&req).unwrap();
        assert_eq!((a.status, a.body), (200, &b"abcdefg"[..]));
        let a = c.exchange(&req).unwrap();
        assert_eq!((a.status, a.body), (204, &b""[..]));
        let a = c.exchange(&req).unwrap();
        assert_eq!((a.status, a.body), (400, &b"bad"[..]));
        // `connection: close` was honoured: the client dropped its end.
        assert!(c.stream.is_none());
        assert_eq!(h.join().unwrap(), 5, "five requests on one connection");
    }

    #[test]
    fn a_closed_idle_connection_is_replaced_and_the_request_sent_again() {
        // The first connection answers once and closes (an idle timeout); the second answers
        // the retried request, then one until the connection's end (no length: HTTP/1.0).
        let (addr, h) = server(vec![
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na"],
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nb"],
            vec![b"HTTP/1.0 200 OK\r\n\r\nuntil the end"],
        ]);
        let (mut c, req) = client(&addr);
        assert_eq!(c.exchange(&req).unwrap().body, b"a");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.exchange(&req).unwrap().body, b"b");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.exchange(&req).unwrap().body, b"until the end");
        assert_eq!(h.join().unwrap(), 3);
    }

    #[test]
    fn truncated_and_malformed_answers_fail_with_a_message() {
        let (addr, h) = server(vec![
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"],
            vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n"],
            vec![b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"],
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"],
        ]);
        let (mut c, req) = client(&addr);
        let e = c.exchange(&req).unwrap_err();
        assert!(
            e.message.contains("before the answer's end (44 of 49"),
            "{e}"
        );
        let e = c.exchange(&req).unwrap_err();
        assert!(e.message.contains("not HTTP/1.x"), "{e}");
        let e = c.exchange(&req).unwrap_err();
        assert!(e.message.contains("chunk"), "{e}");
        let e = c.exchange(&req).unwrap_err();
        assert!(e.message.contains("content-length `x`"), "{e}");
        assert_eq!(h.join().unwrap(), 4);
        // Nobody listens any more.
        let e = c.exchange(&req).unwrap_err();
        assert!(e.message.contains("connecting to"), "{e}");
    }
}
