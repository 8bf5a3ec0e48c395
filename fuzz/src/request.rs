//! The input layout of the emulator's request targets: a raw HTTP/1.1 request (request line,
//! headers, blank line, body), as a client would send it. Parsed with `httparse` into the pieces
//! the emulator's entry points take; an input that is not a request head is skipped, as hyper
//! would refuse it before any handler saw it.

/// A request made of the input's bytes.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The method token.
    pub method: Vec<u8>,
    /// The request target.
    pub uri: String,
    /// Header names and values, as sent.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Everything after the blank line.
    pub body: Vec<u8>,
}

/// Parses `data` as a request head and body; `None` when it is not one.
pub fn parse(data: &[u8]) -> Option<RawRequest> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = request.parse(data).ok()? else { return None };
    Some(RawRequest {
        method: request.method?.as_bytes().to_vec(),
        uri: request.path?.to_owned(),
        headers: request.headers.iter().map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec())).collect(),
        body: data[head_len..].to_vec(),
    })
}

/// Writes a request in the layout [`parse`] reads.
pub fn render(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {uri} HTTP/1.1\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
