//! A scripted runtime: the function side of the Runtime API, for testing an emulator.
//!
//! It speaks raw HTTP/1.1 over a real TCP connection, written by hand, so a test controls every
//! byte: chunk boundaries, pauses between chunks, trailers, and also what a real HTTP client
//! would never send (invalid chunked framing, a hang-up mid-body, a wrong mode header). Each
//! request uses a connection of its own (`Connection: close`), as the simplest runtimes do.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> std::io::Result<()> {
//! use lambda_stream_test_support::scripted_runtime::{ScriptedRuntime, Step};
//! let runtime = ScriptedRuntime::new(addr);
//! let (invocation, answer) = runtime
//!     .serve_one(&[Step::streaming("text/plain"), Step::chunk("hello "), Step::chunk("world"), Step::End])
//!     .await?;
//! assert_eq!(answer.unwrap().status, 202);
//! # let _ = invocation; Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use lambda_stream_protocol::{ErrorDiagnostic, names, paths};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// How long the runtime waits for the emulator's answer to a `/response` or `/error`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// One thing the scripted runtime does while answering an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The head of a streamed `POST /response`: chunked, trailers declared, the mode header set to
    /// `mode` (`Some("streaming")` normally; another value or `None` to misbehave), plus `headers`.
    Head {
        /// Value of `Lambda-Runtime-Function-Response-Mode`, or `None` to leave it out.
        mode: Option<String>,
        /// Extra headers, e.g. `Content-Type`.
        headers: Vec<(String, String)>,
    },
    /// One chunk, framed as `{len:x}\r\n{bytes}\r\n` and flushed at once.
    Chunk(Bytes),
    /// Waits before the next step.
    Pause(Duration),
    /// Ends the chunked body with these trailers.
    Trailers(Vec<(String, String)>),
    /// Ends the chunked body without trailers.
    End,
    /// Writes these bytes as they are (e.g. broken chunked framing).
    Raw(Bytes),
    /// Closes the connection at once (mid-body, like a runtime that exits); no answer is read.
    HangUp,
    /// A complete buffered `POST /response` with `Content-Length`.
    Buffered {
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Bytes,
    },
    /// A complete `POST /error`.
    PostError {
        /// `Lambda-Runtime-Function-Error-Type`, if sent.
        error_type: Option<String>,
        /// The body (normally the error JSON).
        body: Bytes,
    },
}

impl Step {
    /// A well-formed streamed head with this content type.
    pub fn streaming(content_type: &str) -> Step {
        Step::Head {
            mode: Some(names::RESPONSE_MODE_STREAMING.into()),
            headers: vec![("Content-Type".into(), content_type.into())],
        }
    }

    /// A chunk.
    pub fn chunk(bytes: impl Into<Bytes>) -> Step {
        Step::Chunk(bytes.into())
    }

    /// The documented error trailers for `diagnostic` (type + standard base64 of the JSON).
    pub fn error_trailers(diagnostic: &ErrorDiagnostic) -> Step {
        let (error_type, body) = diagnostic.to_trailers();
        Step::Trailers(vec![
            ("Lambda-Runtime-Function-Error-Type".into(), error_type),
            ("Lambda-Runtime-Function-Error-Body".into(), body),
        ])
    }

    /// A `/error` with the documented body and header for `diagnostic`.
    pub fn post_error(diagnostic: &ErrorDiagnostic) -> Step {
        Step::PostError {
            error_type: Some(diagnostic.error_type.clone()),
            body: Bytes::from(diagnostic.to_error_body()),
        }
    }
}

/// What `GET /next` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextInvocation {
    /// The HTTP status.
    pub status: u16,
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The event.
    pub body: Bytes,
}

impl NextInvocation {
    /// A header's value (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The emulator's answer to a `/response` or `/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

/// One invocation served: what `/next` returned, and the emulator's answer (`None` after a hang-up).
pub type Served = (NextInvocation, Option<Answer>);

/// The scripted runtime; cheap to clone.
#[derive(Debug, Clone, Copy)]
pub struct ScriptedRuntime {
    addr: SocketAddr,
}

impl ScriptedRuntime {
    /// A runtime for the Runtime API at `addr` (`AWS_LAMBDA_RUNTIME_API`).
    pub fn new(addr: SocketAddr) -> Self {
        Self { addr }
    }

    /// `GET /next`: waits for an invocation.
    pub async fn next(&self) -> io::Result<NextInvocation> {
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let head = format!("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", paths::NEXT, self.addr);
        stream.write_all(head.as_bytes()).await?;
        let (status, headers, body) = read_response(stream).await?;
        let request_id =
            headers.iter().find(|(n, _)| n == names::REQUEST_ID).map(|(_, v)| v.clone()).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, format!("/next answered {status} without a request id"))
            })?;
        Ok(NextInvocation { status, request_id, headers, body: Bytes::from(body) })
    }

    /// Answers invocation `request_id` by running `steps` on one connection, then reads the
    /// emulator's answer; `None` when the script hung up. A write that fails (the emulator
    /// already answered and closed) stops the script and the answer is read.
    pub async fn answer(&self, request_id: &str, steps: &[Step]) -> io::Result<Option<Answer>> {
        let mut stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        for step in steps {
            let bytes: Vec<u8> = match step {
                Step::Head { mode, headers } => {
                    let mut head = format!(
                        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTrailer: {}\r\n",
                        paths::response(request_id),
                        self.addr,
                        names::DECLARED_TRAILERS
                    );
                    if let Some(mode) = mode {
                        head.push_str(&format!("Lambda-Runtime-Function-Response-Mode: {mode}\r\n"));
                    }
                    push_headers(&mut head, headers);
                    head.push_str("\r\n");
                    head.into_bytes()
                }
                Step::Chunk(data) => {
                    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
                    out.extend_from_slice(data);
                    out.extend_from_slice(b"\r\n");
                    out
                }
                Step::Pause(duration) => {
                    tokio::time::sleep(*duration).await;
                    continue;
                }
                Step::Trailers(trailers) => {
                    let mut out = String::from("0\r\n");
                    push_headers(&mut out, trailers);
                    out.push_str("\r\n");
                    out.into_bytes()
                }
                Step::End => b"0\r\n\r\n".to_vec(),
                Step::Raw(bytes) => bytes.to_vec(),
                Step::HangUp => {
                    let _ = stream.shutdown().await;
                    return Ok(None);
                }
                Step::Buffered { headers, body } => {
                    let mut head = format!(
                        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
                        paths::response(request_id),
                        self.addr,
                        body.len()
                    );
                    push_headers(&mut head, headers);
                    head.push_str("\r\n");
                    let mut out = head.into_bytes();
                    out.extend_from_slice(body);
                    out
                }
                Step::PostError { error_type, body } => {
                    let mut head = format!(
                        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                        paths::error(request_id),
                        self.addr,
                        names::ERROR_CONTENT_TYPE,
                        body.len()
                    );
                    if let Some(t) = error_type {
                        head.push_str(&format!("Lambda-Runtime-Function-Error-Type: {t}\r\n"));
                    }
                    head.push_str("\r\n");
                    let mut out = head.into_bytes();
                    out.extend_from_slice(body);
                    out
                }
            };
            if stream.write_all(&bytes).await.is_err() || stream.flush().await.is_err() {
                break;
            }
        }
        let (status, headers, body) = tokio::time::timeout(ANSWER_TIMEOUT, read_response(stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer from the emulator"))??;
        Ok(Some(Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }))
    }

    /// `/next`, then [`answer`](Self::answer) it with `steps`.
    pub async fn serve_one(&self, steps: &[Step]) -> io::Result<Served> {
        let invocation = self.next().await?;
        let answer = self.answer(&invocation.request_id, steps).await?;
        Ok((invocation, answer))
    }

    /// Serves one script per invocation, in order, on a task of its own.
    pub fn spawn(&self, scripts: Vec<Vec<Step>>) -> JoinHandle<io::Result<Vec<Served>>> {
        let runtime = *self;
        tokio::spawn(async move {
            let mut served = Vec::with_capacity(scripts.len());
            for script in scripts {
                served.push(runtime.serve_one(&script).await?);
            }
            Ok(served)
        })
    }
}

fn push_headers(out: &mut String, headers: &[(String, String)]) {
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
}

/// Reads a response: status line, headers, then a `Content-Length` body, a chunked body, or
/// everything up to the end of the connection.
async fn read_response(stream: TcpStream) -> io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside the head"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut body = Vec::new();
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).await?;
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
            if size == 0 {
                break;
            }
            let start = body.len();
            body.resize(start + size + 2, 0);
            reader.read_exact(&mut body[start..]).await?;
            body.truncate(start + size);
        }
    } else {
        reader.read_to_end(&mut body).await?;
    }
    Ok((status, headers, body))
}
