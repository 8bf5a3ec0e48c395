//! Target `sigv4`: the emulator's SigV4 verifier (`Auth::Iam`), fed whole requests.
//!
//! Input: a raw request ([`crate::request`]). The verifier runs with the key pair the seeds were
//! signed with and with "now" set to the request's own `x-amz-date` (so a valid signature is not
//! refused as expired and the fuzzer can reach every check behind it). Invariants:
//! - it never panics (the probe found a panic in the signer here; it is refused before now);
//! - it accepts only what carries an `Authorization` for our access key, with `host` among the
//!   signed headers and a credential scope dated the day of `x-amz-date`, and, when
//!   `x-amz-content-sha256` is sent, only if every value sent is the SHA-256 of the body that
//!   arrived (the signature covers the body, never a claimed hash);
//! - accepting is stable: the same request is accepted again, and changing one body byte makes
//!   it refused (the body is covered).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use lambda_stream_emulator::fuzzing::verify_sigv4;
use sha2::{Digest, Sha256};

use crate::Seed;
use crate::request::{RawRequest, parse, render};

const KEY: &str = "AKIDFUZZ";
const SECRET: &str = "fuzz/secret";
/// The instant the seeds are signed at: 2025-11-30T00:00:00Z.
const SIGNED_AT: u64 = 1_764_460_800;

fn header<'a>(request: &'a RawRequest, name: &str) -> Option<&'a [u8]> {
    request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v.as_slice())
}

/// `x-amz-date` as a time, when it is `YYYYMMDDTHHMMSSZ`; else the seeds' instant.
fn now_for(request: &RawRequest) -> SystemTime {
    let parsed = header(request, "x-amz-date").and_then(|v| std::str::from_utf8(v).ok()).and_then(|d| {
        let n = |r: std::ops::Range<usize>| d.get(r)?.parse::<u64>().ok();
        if d.len() != 16 {
            return None;
        }
        let (y, mo, day, h, mi, s) = (n(0..4)?, n(4..6)?, n(6..8)?, n(9..11)?, n(11..13)?, n(13..15)?);
        // Days from civil (proleptic Gregorian), enough for a plausible "now".
        let (y, mo) = if mo <= 2 { (y.checked_sub(1)?, mo + 9) } else { (y, mo - 3) };
        let era = y / 400;
        let yoe = y % 400;
        let doy = (153 * mo + 2) / 5 + day.checked_sub(1)?;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = (era * 146_097 + doe).checked_sub(719_468)?;
        Some(UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + mi * 60 + s))
    });
    parsed.unwrap_or(UNIX_EPOCH + Duration::from_secs(SIGNED_AT))
}

fn verify(request: &RawRequest) -> Option<Result<String, String>> {
    verify_sigv4(&request.method, &request.uri, &request.headers, &request.body, KEY, SECRET, now_for(request))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The oracle: see the module documentation.
pub fn check(data: &[u8]) {
    let Some(request) = parse(data) else { return };
    let Some(verdict) = verify(&request) else { return };
    let Ok(key) = verdict else { return };
    assert_eq!(key, KEY);
    let authorization = header(&request, "authorization").expect("accepted without Authorization");
    let authorization = String::from_utf8_lossy(authorization);
    let signed = authorization.split("SignedHeaders=").nth(1).expect("no SignedHeaders").split(',').next().unwrap();
    assert!(signed.split(';').any(|h| h.trim() == "host"), "accepted without host signed: {authorization}");
    let scope_day = authorization.split("Credential=").nth(1).and_then(|c| c.split('/').nth(1));
    let amz_day = header(&request, "x-amz-date").and_then(|d| d.get(..8));
    assert_eq!(
        scope_day.map(str::as_bytes),
        amz_day,
        "accepted with a credential scope of another day: {authorization}"
    );
    let body_hash = hex(&Sha256::digest(&request.body)).into_bytes();
    for (_, claimed) in request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(b"x-amz-content-sha256")) {
        assert_eq!(claimed.to_ascii_lowercase(), body_hash, "accepted with a claimed hash that is not the body's");
    }
    assert!(matches!(verify(&request), Some(Ok(_))), "acceptance is not stable");
    let mut tampered = request.clone();
    match tampered.body.first_mut() {
        Some(b) => *b ^= 0x01,
        None => tampered.body.push(b'x'),
    }
    assert!(!matches!(verify(&tampered), Some(Ok(_))), "a changed body was accepted");
}

fn signed(method: &str, path: &str, body: &[u8], checksum: PayloadChecksumKind) -> Vec<u8> {
    let host = "127.0.0.1:9000";
    let identity = Credentials::new(KEY, SECRET, None, None, "fuzz").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = checksum;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("lambda")
        .time(UNIX_EPOCH + Duration::from_secs(SIGNED_AT))
        .settings(settings)
        .build()
        .expect("signing parameters")
        .into();
    let url = format!("http://{host}{path}");
    let headers = [("host", host), ("content-type", "application/json")];
    let request =
        SignableRequest::new(method, url, headers.into_iter(), SignableBody::Bytes(body)).expect("signable request");
    let (instructions, _) = sign(request, &params).expect("sign").into_parts();
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.extend(instructions.headers());
    render(method, path, &all, body)
}

/// Real signed requests (accepted), and a few refusals.
pub fn seeds() -> Vec<Seed> {
    vec![
        ("post-hashed", signed("POST", "/path?a=1&b=2", b"{\"x\":1}", PayloadChecksumKind::NoHeader)),
        ("post-content-sha", signed("POST", "/", b"{\"y\":2}", PayloadChecksumKind::XAmzSha256)),
        ("get-empty", signed("GET", "/some/where", b"", PayloadChecksumKind::NoHeader)),
        (
            "iwrs",
            signed(
                "POST",
                "/2021-11-15/functions/f/response-streaming-invocations",
                b"{}",
                PayloadChecksumKind::XAmzSha256,
            ),
        ),
        (
            "no-host-signed",
            render(
                "POST",
                "/",
                &[
                    ("host", "h"),
                    ("x-amz-date", "20251130T000000Z"),
                    (
                        "authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20251130/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, Signature=00",
                    ),
                ],
                b"",
            ),
        ),
        ("unsigned", render("POST", "/", &[("host", "h")], b"{}")),
        // Found by this target in CI: an unsigned `x-amz-content-sha256` that is not visible
        // ASCII (here UTF-8) was read as "absent", so a claim that is not the body's hash passed.
        (
            "content-sha-not-ascii",
            with_header(&signed("POST", "/", b"{}", PayloadChecksumKind::NoHeader), "x-amz-content-sha256: \u{e9}"),
        ),
        // The same claim sent twice, the second one not the body's hash.
        // Found by this target in CI: the credential scope's date was never compared with
        // x-amz-date (the signer takes its date from x-amz-date), so any text there, even one
        // that reads as a second `SignedHeaders=`, kept a valid signature.
        (
            "credential-date-is-not-a-date",
            with_credential_date(&signed("POST", "/", b"{}", PayloadChecksumKind::NoHeader), "SignedHeaders=x"),
        ),
        (
            "credential-date-is-another-day",
            with_credential_date(&signed("POST", "/", b"{}", PayloadChecksumKind::NoHeader), "20251129"),
        ),
        ("content-sha-twice", {
            let body = b"{\"z\":3}";
            let once = signed("POST", "/", body, PayloadChecksumKind::XAmzSha256);
            with_header(&once, "x-amz-content-sha256: 00")
        }),
    ]
}

/// `request` with the date of its credential scope replaced by `date`.
fn with_credential_date(request: &[u8], date: &str) -> Vec<u8> {
    let text = String::from_utf8(request.to_vec()).expect("a signed request is text");
    let signed_day = "/20251130/";
    assert!(text.contains(signed_day), "the seeds are signed on 2025-11-30");
    text.replacen(signed_day, &format!("/{date}/"), 1).into_bytes()
}

/// `request` with one more header line, added after the others.
fn with_header(request: &[u8], line: &str) -> Vec<u8> {
    let end = request.windows(4).position(|w| w == b"\r\n\r\n").expect("a request head") + 2;
    let mut out = request[..end].to_vec();
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&request[end..]);
    out
}
