//! `broken-runtime [--handler conditional-streaming|send-numbers] [--break DEFECT,...]`: a
//! deliberately broken Lambda runtime, written on raw HTTP/1.1 over `std::net` so every byte on
//! the wire is under its control. Without `--break` it answers the example handlers' requests
//! correctly (the tests check that first, so a failure under a defect comes from the defect);
//! each defect breaks one documented rule the way real runtimes do:
//!
//! - `error-in-body`: a mid-stream error written into the body as text, no trailers (what the
//!   official Rust runtime does, spec section 1, RUST `lambda-runtime/src/types.rs`);
//! - `trailer-not-base64`: the error body trailer as raw JSON instead of base64;
//! - `one-chunk`: every write collected and sent as one chunk at the end (buffering);
//! - `no-trailer-declared`: no `Trailer` header in the head.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread::sleep;

use example_conditional_streaming::scenario::{
    self, CHUNK_PAUSE, Decision, FAIL_BEFORE_MESSAGE, FAIL_MID_MESSAGE, FAILURE_TYPE, HEARTBEAT_EVERY_STEPS, MB,
    MID_STREAM_CHUNKS, OK_CHUNKS, SLOW_FIRST_CHUNK, SLOW_STEP, SLOW_TOTAL, Scenario,
};
use example_send_numbers::Options;
use lambda_stream_protocol::{ErrorDiagnostic, names};

#[derive(Debug, Default, Clone, Copy)]
struct Defects {
    error_in_body: bool,
    trailer_not_base64: bool,
    one_chunk: bool,
    no_trailer_declared: bool,
}

#[derive(Debug, Clone)]
struct Api {
    authority: String,
    prefix: String,
}

impl Api {
    /// `AWS_LAMBDA_RUNTIME_API` in any form the runtime crate accepts (`host:port`, or
    /// `http://host:port/prefix` as cargo-lambda hands out), parsed by that crate.
    fn from_env() -> Self {
        let raw = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
        let endpoint = lambda_stream::Endpoint::parse(&raw).unwrap_or_else(|e| panic!("{e}"));
        Self { authority: endpoint.authority().to_owned(), prefix: endpoint.prefix().to_owned() }
    }

    fn connect(&self, head: &str) -> io::Result<TcpStream> {
        let mut sock = TcpStream::connect(&self.authority)?;
        sock.set_nodelay(true)?;
        sock.write_all(head.replace("{host}", &self.authority).replace("{prefix}", &self.prefix).as_bytes())?;
        Ok(sock)
    }
}

/// Header names (lower case) and values.
type Headers = Vec<(String, String)>;

/// Reads an HTTP/1.1 answer (Connection: close): the headers and the body.
fn read_answer(sock: TcpStream) -> io::Result<(Headers, Vec<u8>)> {
    let mut reader = BufReader::new(sock);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((n, v)) = trimmed.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((headers, body))
}

fn next(api: &Api) -> io::Result<(String, Vec<u8>)> {
    let sock = api.connect(
        "GET {prefix}/2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n",
    )?;
    let (headers, body) = read_answer(sock)?;
    let id = headers
        .iter()
        .find(|(n, _)| n == names::REQUEST_ID)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| io::Error::other("/next without a request id"))?;
    Ok((id, body))
}

/// A whole answer with a content length (what a runtime sends when nothing streams).
fn buffered(api: &Api, id: &str, content_type: &str, body: &[u8]) -> io::Result<()> {
    let mut sock = api.connect(&format!(
        "POST {{prefix}}/2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nhost: {{host}}\r\n\
         content-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ))?;
    sock.write_all(body)?;
    read_answer(sock).map(drop)
}

fn error(api: &Api, id: &str, error_type: &str, message: &str) -> io::Result<()> {
    let body = ErrorDiagnostic::new(error_type, message).to_error_body();
    let mut sock = api.connect(&format!(
        "POST {{prefix}}/2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nhost: {{host}}\r\n\
         content-type: application/json\r\n{}: {error_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        names::FUNCTION_ERROR_TYPE,
        body.len()
    ))?;
    sock.write_all(&body)?;
    read_answer(sock).map(drop)
}

/// A streamed answer in progress.
struct Stream {
    sock: TcpStream,
    defects: Defects,
    held: Vec<u8>,
}

impl Stream {
    fn start(api: &Api, id: &str, defects: Defects) -> io::Result<Self> {
        let trailer = if defects.no_trailer_declared {
            String::new()
        } else {
            format!("trailer: {}\r\n", names::DECLARED_TRAILERS)
        };
        let sock = api.connect(&format!(
            "POST {{prefix}}/2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nhost: {{host}}\r\n\
             {}: {}\r\ncontent-type: {}\r\ntransfer-encoding: chunked\r\n{trailer}connection: close\r\n\r\n",
            names::RESPONSE_MODE,
            names::RESPONSE_MODE_STREAMING,
            names::HTTP_INTEGRATION_CONTENT_TYPE,
        ))?;
        Ok(Self { sock, defects, held: Vec::new() })
    }

    fn chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.sock.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
        self.sock.write_all(bytes)?;
        self.sock.write_all(b"\r\n")?;
        self.sock.flush()
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.defects.one_chunk {
            self.held.extend_from_slice(bytes);
            Ok(())
        } else {
            self.chunk(bytes)
        }
    }

    fn finish(mut self, failure: Option<(&str, &str)>) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        self.chunk(&held)?;
        let mut end = b"0\r\n".to_vec();
        if let Some((error_type, message)) = failure {
            let diagnostic = ErrorDiagnostic::new(error_type, message);
            let (t, b64) = diagnostic.to_trailers();
            if self.defects.error_in_body {
                let text = format!("{}: {t}\r\n{}: {b64}\r\n", names::FUNCTION_ERROR_TYPE, names::FUNCTION_ERROR_BODY);
                self.chunk(text.as_bytes())?;
            } else {
                let body = if self.defects.trailer_not_base64 {
                    String::from_utf8_lossy(&diagnostic.to_trailer_json()).into_owned()
                } else {
                    b64
                };
                end.extend_from_slice(
                    format!("{}: {t}\r\n{}: {body}\r\n", names::FUNCTION_ERROR_TYPE, names::FUNCTION_ERROR_BODY)
                        .as_bytes(),
                );
            }
        }
        end.extend_from_slice(b"\r\n");
        self.sock.write_all(&end)?;
        self.sock.flush()?;
        read_answer(self.sock).map(drop)
    }
}

fn conditional_streaming(api: &Api, id: &str, event: &[u8], defects: Defects) -> io::Result<()> {
    let decision = scenario::decide(event);
    if let Some(answer) = decision.json_answer() {
        let mut body = answer.head.prelude().encode().to_vec();
        body.extend_from_slice(answer.body.as_bytes());
        return buffered(api, id, names::HTTP_INTEGRATION_CONTENT_TYPE, &body);
    }
    let Decision::Run(scenario) = decision else { return error(api, id, "Function.InternalError", "no answer") };
    let Some(head) = scenario.head() else { return error(api, id, FAILURE_TYPE, FAIL_BEFORE_MESSAGE) };
    let prelude = head.prelude().encode();
    if scenario == Scenario::Empty {
        return buffered(api, id, names::HTTP_INTEGRATION_CONTENT_TYPE, &prelude);
    }
    let mut stream = Stream::start(api, id, defects)?;
    stream.write(&prelude)?;
    match scenario {
        Scenario::Ok => {
            for (i, chunk) in OK_CHUNKS.iter().enumerate() {
                if i > 0 {
                    sleep(CHUNK_PAUSE);
                }
                stream.write(chunk.as_bytes())?;
            }
            stream.finish(None)
        }
        Scenario::FailMidStream => {
            for chunk in MID_STREAM_CHUNKS {
                stream.write(chunk.as_bytes())?;
                sleep(CHUNK_PAUSE);
            }
            stream.finish(Some((FAILURE_TYPE, FAIL_MID_MESSAGE)))
        }
        Scenario::Slow => {
            stream.write(SLOW_FIRST_CHUNK.as_bytes())?;
            let steps = (SLOW_TOTAL.as_millis() / SLOW_STEP.as_millis()) as u32;
            for step in 1..=steps {
                sleep(SLOW_STEP);
                if step % HEARTBEAT_EVERY_STEPS == 0 {
                    stream.write(scenario::heartbeat(step / HEARTBEAT_EVERY_STEPS).as_bytes())?;
                }
            }
            stream.finish(None)
        }
        Scenario::Large { size_mb } => {
            let buffer = scenario::large_buffer();
            for len in scenario::large_writes(u64::from(size_mb) * MB) {
                stream.write(&buffer[..len])?;
            }
            stream.finish(None)
        }
        _ => stream.finish(None),
    }
}

fn send_numbers(api: &Api, id: &str, event: &[u8], defects: Defects) -> io::Result<()> {
    let options = Options::from_event(event);
    let mut stream = Stream::start(api, id, defects)?;
    stream.write(&example_send_numbers::prelude().encode())?;
    for n in 1..=options.count {
        if n > 1 {
            sleep(options.pause);
        }
        stream.write(example_send_numbers::line(n).as_bytes())?;
    }
    stream.finish(None)
}

fn main() {
    let mut handler = "conditional-streaming".to_owned();
    let mut defects = Defects::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--handler" => handler = args.next().unwrap_or_default(),
            "--break" => {
                for defect in args.next().unwrap_or_default().split(',').filter(|d| !d.is_empty()) {
                    match defect {
                        "error-in-body" => defects.error_in_body = true,
                        "trailer-not-base64" => defects.trailer_not_base64 = true,
                        "one-chunk" => defects.one_chunk = true,
                        "no-trailer-declared" => defects.no_trailer_declared = true,
                        other => {
                            eprintln!("broken-runtime: unknown defect {other:?}");
                            std::process::exit(2);
                        }
                    }
                }
            }
            other => {
                eprintln!("broken-runtime: unknown argument {other:?}");
                std::process::exit(2);
            }
        }
    }
    let api = Api::from_env();
    loop {
        let (id, event) = match next(&api) {
            Ok(next) => next,
            Err(e) => {
                // The emulator went away (or is restarting us): exit, as a Lambda runtime does.
                eprintln!("broken-runtime: /next failed: {e}");
                std::process::exit(1);
            }
        };
        let result = match handler.as_str() {
            "send-numbers" => send_numbers(&api, &id, &event, defects),
            _ => conditional_streaming(&api, &id, &event, defects),
        };
        if let Err(e) = result {
            // A cut stream (deadline, size cap): the platform ended this invocation; serve the next.
            eprintln!("broken-runtime: invocation {id}: {e}");
        }
    }
}
