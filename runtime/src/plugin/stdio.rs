//! What a plugin writes, and how much: the call's one output budget
//! ([`OutputBudget`], `max_log_bytes`), drawn on by its stdout and stderr (one
//! shared buffer that keeps the first bytes and counts the rest, so a chatty
//! plugin is truncated rather than stopped, and what it printed before a crash,
//! such as a Rust panic message, is kept for the business) and by its log
//! lines alike; and [`escape_for_log`], the one way plugin text reaches the
//! operator's log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi_io::poll::Pollable;
use wasmtime_wasi_io::streams::{OutputStream, StreamResult};

/// What one write may promise to accept; anything past the budget is dropped.
const WRITE_PERMIT: usize = 64 << 10;

/// Bytes a call may still write, shared by everything it writes: stdout,
/// stderr and log lines (one budget, `max_log_bytes`, not one each).
#[derive(Debug, Clone)]
pub struct OutputBudget {
    left: Arc<AtomicU64>,
}

impl OutputBudget {
    pub fn new(bytes: u64) -> OutputBudget {
        OutputBudget { left: Arc::new(AtomicU64::new(bytes)) }
    }

    /// Gives the budget `bytes` again, for a new call on a reused instance.
    pub fn refill(&self, bytes: u64) {
        self.left.store(bytes, Ordering::Relaxed);
    }

    /// Takes as much of `wanted` as is left; returns how much was taken.
    pub fn take_up_to(&self, wanted: u64) -> u64 {
        let mut taken = 0;
        let _ = self.left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
            taken = left.min(wanted);
            Some(left - taken)
        });
        taken
    }

    /// Takes all of `wanted`, or nothing if less is left; true if taken.
    pub fn take_all(&self, wanted: u64) -> bool {
        self.left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(wanted)).is_ok()
    }
}

/// Plugin text (what it printed, a trap's message, ids it sent) made safe for
/// the operator's log: every control character (newlines first of all) and
/// backslash escaped as Rust's `escape_debug` does, so plugin text can never
/// start a line of the log or pass for the host's own words. It is written as
/// a field of a host message, never as the message.
pub fn escape_for_log(text: &str) -> String {
    text.chars().flat_map(char::escape_debug).collect()
}

#[derive(Debug, Clone)]
pub struct CappedOutput {
    inner: Arc<Mutex<Captured>>,
    budget: OutputBudget,
}

#[derive(Debug)]
struct Captured {
    kept: Vec<u8>,
    dropped: usize,
}

impl CappedOutput {
    /// An empty pipe whose bytes are drawn from `budget`.
    pub fn new(budget: OutputBudget) -> CappedOutput {
        CappedOutput { inner: Arc::new(Mutex::new(Captured { kept: Vec::new(), dropped: 0 })), budget }
    }

    /// What was printed (lossily decoded), with a note of what was dropped.
    pub fn contents(&self) -> String {
        let captured = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::from_utf8_lossy(&captured.kept).into_owned();
        if captured.dropped > 0 {
            text.push_str(&format!("\n[{} more bytes dropped: the call's log budget was spent]", captured.dropped));
        }
        text
    }

    fn append(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let granted = self.budget.take_up_to(bytes.len() as u64);
        let keep = usize::try_from(granted).unwrap_or(bytes.len()).min(bytes.len());
        captured.kept.extend_from_slice(&bytes[..keep]);
        captured.dropped += bytes.len() - keep;
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

#[async_trait::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_counts_the_rest() {
        let mut out = CappedOutput::new(OutputBudget::new(5));
        out.write(Bytes::from_static(b"hello world")).expect("write");
        assert_eq!(out.contents(), "hello\n[6 more bytes dropped: the call's log budget was spent]");
    }

    #[test]
    fn printing_and_logging_draw_on_one_budget() {
        let budget = OutputBudget::new(10);
        // A log line of 4 bytes fits, leaving 6 for printing.
        assert!(budget.take_all(4));
        let mut out = CappedOutput::new(budget.clone());
        out.write(Bytes::from_static(b"0123456789")).expect("write");
        assert_eq!(out.contents(), "012345\n[4 more bytes dropped: the call's log budget was spent]");
        // Nothing is left for another line, however small.
        assert!(!budget.take_all(1));
        assert!(budget.take_all(0));
        // A reused instance's next call starts with the whole budget again.
        budget.refill(10);
        assert!(budget.take_all(10));
    }

    #[test]
    fn plugin_text_cannot_start_a_log_line() {
        let check = |text: &str, expected: &str| assert_eq!(escape_for_log(text), expected, "{text:?}");
        check("plain words, kept as they are: é ü 🛒", "plain words, kept as they are: é ü 🛒");
        check("ok\n2026-12-01T00:00:00Z  INFO bottega: forged", "ok\\n2026-12-01T00:00:00Z  INFO bottega: forged");
        check("carriage\rreturn", "carriage\\rreturn");
        check("tab\there", "tab\\there");
        check("escape \u{1b}[31mred", "escape \\u{1b}[31mred");
        check("nul \0 and bell \u{7}", "nul \\0 and bell \\u{7}");
        check("a \\ backslash", "a \\\\ backslash");
        for text in ["a\nb", "\r\n", "x\u{85}y", "\u{b}\u{c}"] {
            assert!(!escape_for_log(text).chars().any(char::is_control), "{text:?}");
        }
    }
}
