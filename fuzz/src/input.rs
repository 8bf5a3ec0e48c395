//! The shared input layout: a body and where to cut it.
//!
//! Byte 0 gives the number of cuts `n` (taken modulo [`MAX_CUTS`] + 1); then come `n` cut offsets
//! as little-endian `u16`; the rest is the body. Each offset is taken modulo `body.len() + 1`, and
//! the offsets are sorted, so any bytes make a valid input. Equal offsets give empty pieces, which
//! a decoder must also accept. A seed is a real body with a few cuts written in front
//! ([`Chunked::encode`]), so the engine starts from inputs that reach deep into the decoders.

/// Most cuts one input asks for.
pub const MAX_CUTS: usize = 31;

/// A body and the offsets it is cut at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunked<'a> {
    /// The bytes the decoder reads.
    pub body: &'a [u8],
    /// Sorted cut offsets, each at most `body.len()`.
    pub cuts: Vec<usize>,
}

impl<'a> Chunked<'a> {
    /// Reads an input in the layout above. Short inputs take as many cuts as they hold.
    pub fn parse(data: &'a [u8]) -> Self {
        let Some((&count, rest)) = data.split_first() else {
            return Self { body: data, cuts: Vec::new() };
        };
        let count = (count as usize % (MAX_CUTS + 1)).min(rest.len() / 2);
        let (offsets, body) = rest.split_at(count * 2);
        let mut cuts: Vec<usize> = offsets
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]) as usize % (body.len() + 1))
            .collect();
        cuts.sort_unstable();
        Self { body, cuts }
    }

    /// The body in pieces, in order; their concatenation is the body.
    pub fn pieces(&self) -> Vec<&'a [u8]> {
        let mut pieces = Vec::with_capacity(self.cuts.len() + 1);
        let mut start = 0;
        for &cut in &self.cuts {
            pieces.push(&self.body[start..cut]);
            start = cut;
        }
        pieces.push(&self.body[start..]);
        pieces
    }

    /// Writes `body` with `cuts` in the layout above (for seeds).
    pub fn encode(body: &[u8], cuts: &[u16]) -> Vec<u8> {
        assert!(cuts.len() <= MAX_CUTS, "at most {MAX_CUTS} cuts");
        let mut out = vec![cuts.len() as u8];
        for cut in cuts {
            out.extend_from_slice(&cut.to_le_bytes());
        }
        out.extend_from_slice(body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_gives_the_body_and_its_pieces() {
        let data = Chunked::encode(b"abcdef", &[4, 1, 4]);
        let input = Chunked::parse(&data);
        assert_eq!(input.body, b"abcdef");
        assert_eq!(input.pieces(), [&b"a"[..], b"bcd", b"", b"ef"]);
    }

    #[test]
    fn any_bytes_parse_and_pieces_cover_the_body() {
        for data in [&b""[..], b"\x05", b"\x01\xff", b"\x02\xff\xff\x07\x00xyz", b"\x00body"] {
            let input = Chunked::parse(data);
            assert_eq!(input.pieces().concat(), input.body, "{data:?}");
        }
    }
}
