//! The function's log: lines the bootstrap prints, kept in a bounded ring for `LogResult` tails.
//!
//! Lambda returns the last 4 KB of an invocation's log, base64, when the caller asks for
//! `X-Amz-Log-Type: Tail` (Invoke and InvokeWithResponseStream API references). Each line gets a
//! sequence number; an invocation remembers the number current when it started and its tail is
//! every line after it. With several processes (concurrency N) their lines interleave, as they
//! would in one CloudWatch stream per process merged; the emulator does not try to attribute them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_what_came_after_the_start_and_at_most_max_bytes() {
        let log = FunctionLog::default();
        log.push_line("before");
        let start = log.position();
        log.push_line("one");
        log.push_line("two");
        assert_eq!(log.tail_since(start, 100), "one\ntwo\n");
        assert_eq!(log.tail_since(start, 5), "\ntwo\n");
        for i in 0..100_000 {
            log.push_line(format!("line {i}"));
        }
        assert!(log.lines().iter().map(|l| l.len() + 1).sum::<usize>() <= RING_BYTES);
        assert_eq!(log.tail_since(start, TAIL_BYTES).len(), TAIL_BYTES);
    }
}
