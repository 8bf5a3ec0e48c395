//! The function's log: lines the bootstrap prints, kept in a bounded ring for `LogResult` tails.
//!
//! Lambda returns the last 4 KB of an invocation's log, base64, when the caller asks for
//! `X-Amz-Log-Type: Tail` (Invoke and InvokeWithResponseStream API references). Each line gets a
//! sequence number; an invocation remembers the number current when it started and its tail is
//! every line after it. With several processes (concurrency N) their lines interleave, as they
//! would in one CloudWatch stream per process merged; the emulator does not try to attribute them.
//!
//! ## Capturing a process's output, and knowing it is all in
//! [`PipeCapture`] reads a supervised process's stdout and stderr, each on a thread of its own,
//! line by line into the log. A tail must hold what the function printed before it asked for its
//! next invocation, and a pause cannot promise that on a busy machine. So the emulator keeps its
//! own copy of each pipe's write end and, to settle, writes a sync mark line into both pipes: a
//! pipe keeps order, so once each reader has read its mark, every line the process wrote before
//! the mark was written is in the log. The mark is never logged.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, PipeReader, PipeWriter, Read as _, Write as _};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// Bytes of log kept in all; older lines are dropped first.
const RING_BYTES: usize = 256 * 1024;
/// Bytes of tail returned, as Lambda's `LogResult`.
pub(crate) const TAIL_BYTES: usize = 4 * 1024;

/// A bounded, shared log. Cheap to clone; in-process runtimes may push their own lines.
#[derive(Debug, Clone, Default)]
pub struct FunctionLog {
    inner: Arc<Mutex<Ring>>,
}

#[derive(Debug, Default)]
struct Ring {
    lines: VecDeque<(u64, String)>,
    bytes: usize,
    next_seq: u64,
}

impl FunctionLog {
    /// Appends one line (without its newline).
    pub fn push_line(&self, line: impl Into<String>) {
        let line = line.into();
        let mut ring = self.inner.lock().unwrap();
        let seq = ring.next_seq;
        ring.next_seq += 1;
        ring.bytes += line.len() + 1;
        ring.lines.push_back((seq, line));
        while ring.bytes > RING_BYTES {
            match ring.lines.pop_front() {
                Some((_, old)) => ring.bytes -= old.len() + 1,
                None => break,
            }
        }
    }

    /// The sequence number the next line will get.
    pub(crate) fn position(&self) -> u64 {
        self.inner.lock().unwrap().next_seq
    }

    /// Every line from `position` on, newline-terminated, cut to its last `max` bytes (at a char
    /// boundary).
    pub(crate) fn tail_since(&self, position: u64, max: usize) -> String {
        let ring = self.inner.lock().unwrap();
        let mut text = String::new();
        for (_, line) in ring.lines.iter().filter(|(seq, _)| *seq >= position) {
            text.push_str(line);
            text.push('\n');
        }
        drop(ring);
        if text.len() <= max {
            return text;
        }
        let mut cut = text.len() - max;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text.split_off(cut)
    }

    /// All lines kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.inner.lock().unwrap().lines.iter().map(|(_, l)| l.clone()).collect()
    }
}

/// Starts a sync mark line; the number after it names the sync. The unit separator keeps it from
/// looking like anything a function prints.
const SYNC_MARK: &str = "\u{1f}lambda-stream-emulator log sync ";

/// A supervised process's stdout and stderr, read into the [`FunctionLog`] by two threads, with
/// [`sync`](Self::sync) to wait until everything it printed so far is in.
#[derive(Debug)]
pub(crate) struct PipeCapture {
    /// The emulator's copies of the pipes' write ends, for sync marks; dropped by [`close`](Self::close)
    /// so the readers see the end of the pipes once the process is gone too.
    writers: Mutex<Vec<PipeWriter>>,
    /// The last sync mark each reader read.
    seen: Vec<watch::Sender<u64>>,
    /// The number the next sync mark gets.
    next: AtomicU64,
}

impl PipeCapture {
    /// Two pipes whose lines go into `log` (and to tracing, with `slot`), and the process's ends
    /// of them: `[stdout, stderr]`.
    pub(crate) fn start(log: &FunctionLog, slot: u32) -> std::io::Result<(Arc<Self>, [Stdio; 2])> {
        let mut writers = Vec::new();
        let mut seen = Vec::new();
        let mut child_ends = Vec::new();
        for stream in ["stdout", "stderr"] {
            let (reader, writer) = std::io::pipe()?;
            child_ends.push(Stdio::from(writer.try_clone()?));
            writers.push(writer);
            let (tx, _) = watch::channel(0);
            let (log, marks) = (log.clone(), tx.clone());
            std::thread::Builder::new()
                .name(format!("bootstrap-{stream}"))
                .spawn(move || read_lines(reader, stream, slot, &log, &marks))?;
            seen.push(tx);
        }
        let [out, err]: [Stdio; 2] = child_ends.try_into().map_err(|_| std::io::Error::other("two pipes"))?;
        Ok((Arc::new(Self { writers: Mutex::new(writers), seen, next: AtomicU64::new(1) }), [out, err]))
    }

    /// Waits (at most `within`) until every line the process wrote before this call is in the
    /// log; false when that could not be shown (closed, or the readers did not get there in time).
    pub(crate) async fn sync(&self, within: Duration) -> bool {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let writers: Vec<PipeWriter> = self.writers.lock().unwrap().iter().filter_map(|w| w.try_clone().ok()).collect();
        if writers.len() != self.seen.len() {
            return false;
        }
        let mark = format!("{SYNC_MARK}{n}\n");
        // A pipe write can block while the pipe is full; the readers drain it.
        let written =
            tokio::task::spawn_blocking(move || writers.iter().all(|w| (&*w).write_all(mark.as_bytes()).is_ok()));
        let arrived = async {
            if !matches!(written.await, Ok(true)) {
                return false;
            }
            for seen in &self.seen {
                if seen.subscribe().wait_for(|last| *last >= n).await.is_err() {
                    return false;
                }
            }
            true
        };
        tokio::time::timeout(within, arrived).await.unwrap_or(false)
    }

    /// Drops the emulator's write ends: once the process (and anything it started) is gone too,
    /// the readers reach the end of the pipes and stop.
    pub(crate) fn close(&self) {
        self.writers.lock().unwrap().clear();
    }
}

/// Longest line taken from a process's output; a longer one is cut into lines of this size, so a
/// process that prints without newlines cannot grow the emulator's memory (tails are 4 KB).
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Copies one pipe, line by line (at most [`MAX_LINE_BYTES`] each), to tracing and the log; a sync
/// mark is noted, not logged (text before it on the same line is: a line the process had not ended).
fn read_lines(reader: PipeReader, stream: &'static str, slot: u32, log: &FunctionLog, marks: &watch::Sender<u64>) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE_BYTES).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let mut text = text.trim_end_matches(['\n', '\r']);
                let mut mark = None;
                if let Some(at) = text.find(SYNC_MARK) {
                    mark = text.get(at + SYNC_MARK.len()..).and_then(|n| n.parse::<u64>().ok());
                    text = text.get(..at).unwrap_or_default();
                }
                if mark.is_none() || !text.is_empty() {
                    tracing::info!(target: "lambda_stream_emulator::function", slot, stream, "{text}");
                    log.push_line(text);
                }
                if let Some(n) = mark {
                    marks.send_if_modified(|last| {
                        let newer = n > *last;
                        if newer {
                            *last = n;
                        }
                        newer
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sync_returns_once_everything_written_before_it_is_in_the_log() {
        let log = FunctionLog::default();
        let (capture, [out, err]) = PipeCapture::start(&log, 1).unwrap();
        // Play the process through the capture's own write ends: the same pipes, in the same
        // order as the process's writes.
        drop((out, err));
        let start = log.position();
        {
            let writers = capture.writers.lock().unwrap();
            (&writers[1]).write_all(b"first line\npartial").unwrap();
            (&writers[0]).write_all(b"on stdout\n").unwrap();
        }
        assert!(capture.sync(Duration::from_secs(10)).await, "the marks came back");
        let tail = log.tail_since(start, TAIL_BYTES);
        assert!(tail.contains("first line\n") && tail.contains("on stdout\n"), "{tail:?}");
        // The unfinished line is logged without the mark.
        assert!(tail.contains("partial\n") && !tail.contains("sync"), "{tail:?}");
        // Closed: nothing to sync with, and it says so.
        capture.close();
        assert!(!capture.sync(Duration::from_secs(1)).await);
    }

    #[test]
    fn the_ring_keeps_exactly_256_kib_and_the_tail_is_4_kb() {
        // Lambda's LogResult is the last 4 KB of the log (Invoke API reference, `LogResult`).
        assert_eq!((RING_BYTES, TAIL_BYTES), (262_144, 4_096));
        let log = FunctionLog::default();
        let line = |i: usize| format!("{i:04}{}", "x".repeat(1019)); // 1,023 bytes + newline = 1 KiB
        for i in 0..256 {
            log.push_line(line(i));
        }
        assert_eq!(log.lines().len(), 256, "exactly full: nothing dropped");
        log.push_line(line(256));
        let kept = log.lines();
        assert_eq!(kept.len(), 256, "one line over: the oldest one dropped, and only it");
        assert!(kept[0].starts_with("0001") && kept[255].starts_with("0256"));
        for i in 257..1000 {
            log.push_line(line(i));
        }
        assert_eq!(log.lines().len(), 256, "the byte count stays exact as lines come and go");
        assert_eq!(log.tail_since(0, TAIL_BYTES).len(), 4_096);
    }

    #[test]
    fn tail_is_what_came_after_the_start_and_at_most_max_bytes() {
        let log = FunctionLog::default();
        log.push_line("before");
        let start = log.position();
        log.push_line("one");
        log.push_line("two");
        assert_eq!(log.tail_since(start, 100), "one\ntwo\n");
        assert_eq!(log.tail_since(start, 5), "\ntwo\n");
        // A cut inside a character moves forward to the next boundary: shorter, never longer.
        log.push_line("é€");
        let tail = log.tail_since(start, 4);
        assert_eq!(tail, "€\n", "a cut that falls on a boundary stays there");
        assert_eq!(log.tail_since(start, 5), "€\n", "the cut falls inside é: it moves past it");
        for i in 0..100_000 {
            log.push_line(format!("line {i}"));
        }
        assert!(log.lines().iter().map(|l| l.len() + 1).sum::<usize>() <= RING_BYTES);
        assert_eq!(log.tail_since(start, TAIL_BYTES).len(), TAIL_BYTES);
    }
}
