//! Codec costs on the per-chunk hot path, without I/O.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambda_stream_protocol::{EventStreamDecoder, InvokeEvent, Prelude, PreludeDecoder, PreludeProgress};

fn prelude_decode(c: &mut Criterion) {
    let prelude = Prelude::with_status(200)
        .header("content-type", "text/plain")
        .header("x-my-custom-header", "streaming-example")
        .cookie("session=abc; Secure; HttpOnly");
    let body = prelude.encode();
    let mut group = c.benchmark_group("prelude_decode");
    group.throughput(Throughput::Bytes(body.len() as u64));
    for split in [body.len(), 16, 1] {
        group.bench_function(format!("{}B_prelude/split_every_{split}B", body.len()), |b| {
            let pieces: Vec<Bytes> = body.chunks(split).map(Bytes::copy_from_slice).collect();
            b.iter(|| {
                let mut decoder = PreludeDecoder::new();
                for piece in &pieces {
                    if let PreludeProgress::Complete { prelude, .. } = decoder.push(piece.clone()).unwrap() {
                        return black_box(prelude);
                    }
                }
                unreachable!("the prelude always completes")
            })
        });
    }
    group.finish();
}

fn payload_chunk_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("iwrs_payload_chunk");
    for size in [16usize, 1024, 64 * 1024] {
        let payload = Bytes::from(vec![b'x'; size]);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("encode/{size}B"), |b| {
            b.iter(|| black_box(InvokeEvent::PayloadChunk(payload.clone()).encode()))
        });
        let frame = InvokeEvent::PayloadChunk(payload.clone()).encode();
        group.bench_function(format!("decode/{size}B"), |b| {
            b.iter(|| {
                let mut decoder = EventStreamDecoder::new();
                decoder.push(&frame);
                black_box(decoder.next_event().unwrap().unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, prelude_decode, payload_chunk_frames);
criterion_main!(benches);
