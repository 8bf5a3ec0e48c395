//! Response bodies: a full body, or a channel-fed streaming body that can end with an error.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;

/// The error a streaming body ends with; hyper then aborts the chunked transfer without its
/// terminating zero-length chunk, which is how a client learns the stream was cut.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body the emulator sends.
pub(crate) type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BodyError>;

/// Frames pushed by a relay task; each is written as soon as hyper polls it.
pub(crate) type FrameSender = mpsc::Sender<Result<Bytes, BodyError>>;

/// Frames the relay may run ahead of the socket; small, so a slow client exerts backpressure.
pub(crate) const BODY_BUFFER: usize = 4;

pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, BodyError>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.rx.poll_recv(cx).map(|item| item.map(|r| r.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A streaming body and the sender that feeds it.
pub(crate) fn channel() -> (FrameSender, ResponseBody) {
    let (tx, rx) = mpsc::channel(BODY_BUFFER);
    (tx, ChannelBody { rx }.boxed_unsync())
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn empty() -> ResponseBody {
    full(Bytes::new())
}

/// A `std::error::Error` carrying a message, for aborting bodies.
#[derive(Debug)]
pub(crate) struct Cut(pub(crate) String);

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cut {}
