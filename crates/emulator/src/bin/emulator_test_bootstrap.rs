//! A minimal runtime (std only, blocking) that the supervisor tests start as a real process.
//!
//! It is a test fixture, not a tool. It polls `/next` on `AWS_LAMBDA_RUNTIME_API` and reacts to
//! a keyword anywhere in the event:
//! - `hang`: never answers (the deadline test);
//! - `crash`: sends the head and one chunk of a streamed answer, then exits with status 1;
//! - `exit`: answers, then exits with status 3;
//! - `slow`: waits one second, then answers;
//! - anything else: answers at once.
//!
//! The answer is a streamed JSON object with the process id and the Lambda variables it was
//! started with. Before answering it prints `bootstrap pid PID handling REQUEST_ID` to stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API is set by the emulator");
    loop {
        let (request_id, event) = next(&api);
        let event = String::from_utf8_lossy(&event).into_owned();
        println!("bootstrap pid {} handling {request_id}", std::process::id());
        eprintln!("event: {event}");
        // Keywords are searched anywhere in the event, so they also work inside a function URL event.
        if event.contains("hang") {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if event.contains("crash") {
            let mut stream = start_response(&api, &request_id);
            chunk(&mut stream, b"partial");
            std::process::exit(1);
        }
        if event.contains("slow") {
            std::thread::sleep(Duration::from_secs(1));
        }
        respond(&api, &request_id);
        if event.contains("exit") {
            std::process::exit(3);
        }
    }
}

fn env_report() -> String {
    let vars = [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "EXTRA_FROM_TEST",
    ];
    let mut out = format!("{{\"pid\":{}", std::process::id());
    for var in vars {
        let value = std::env::var(var).unwrap_or_else(|_| "<unset>".into());
        out.push_str(&format!(",\"{var}\":\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    out.push('}');
    out
}

fn next(api: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(api).expect("connect to the Runtime API");
    write!(stream, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n")
        .expect("write /next");
    let mut reader = BufReader::new(stream);
    let mut request_id = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read /next head");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "lambda-runtime-aws-request-id" => request_id = value.trim().to_owned(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("read /next body");
    (request_id, body)
}

fn start_response(api: &str, request_id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(api).expect("connect to the Runtime API");
    write!(
        stream,
        "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: application/json\r\nConnection: close\r\n\r\n"
    )
    .expect("write /response head");
    stream
}

fn chunk(stream: &mut TcpStream, data: &[u8]) {
    write!(stream, "{:x}\r\n", data.len()).expect("write chunk size");
    stream.write_all(data).expect("write chunk");
    stream.write_all(b"\r\n").expect("write chunk end");
    stream.flush().expect("flush");
}

fn respond(api: &str, request_id: &str) {
    let mut stream = start_response(api, request_id);
    chunk(&mut stream, env_report().as_bytes());
    stream.write_all(b"0\r\n\r\n").expect("write last chunk");
    // Read the answer so the emulator has finished with the request before the next /next.
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
}
