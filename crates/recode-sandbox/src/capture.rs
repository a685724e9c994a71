//! Capped capture of an output stream.
use std::borrow::Cow;
use std::collections::VecDeque;

/// What was kept of one output stream.
///
/// At most the cap's worth of bytes is kept: everything when the stream fits; otherwise its
/// first `cap − cap/8` bytes and its last `cap/8` bytes (where a Python traceback ends up),
/// joined by a line `…[N bytes omitted]…`. The rest is read and dropped, so a chatty program
/// never blocks on a full pipe.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Captured {
    /// The kept bytes (with the omission marker when truncated).
    pub bytes: Vec<u8>,
    /// How many bytes the program wrote in all.
    pub total_bytes: u64,
    /// Whether bytes were dropped.
    pub truncated: bool,
}

impl Captured {
    /// The kept bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// Accumulates a stream under a cap (see [`Captured`]).
#[derive(Debug)]
pub(crate) struct Capture {
    head: Vec<u8>,
    head_cap: usize,
    tail: VecDeque<u8>,
    tail_cap: usize,
    total: u64,
}

impl Capture {
    pub(crate) fn new(cap: usize) -> Self {
        let tail_cap = cap / 8;
        Capture { head: Vec::new(), head_cap: cap - tail_cap, tail: VecDeque::new(), tail_cap, total: 0 }
    }

    pub(crate) fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let room = self.head_cap - self.head.len();
        if room > 0 {
            let take = room.min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.is_empty() || self.tail_cap == 0 {
            return;
        }
        if data.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_cap..]);
        } else {
            let excess = (self.tail.len() + data.len()).saturating_sub(self.tail_cap);
            self.tail.drain(..excess);
            self.tail.extend(data);
        }
    }

    pub(crate) fn finish(self) -> Captured {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let truncated = kept < self.total;
        let mut bytes = self.head;
        if truncated {
            let omitted = self.total - kept;
            bytes.extend_from_slice(format!("\n…[{omitted} bytes omitted]…\n").as_bytes());
        }
        bytes.extend(self.tail);
        Captured { bytes, total_bytes: self.total, truncated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits() {
        let mut c = Capture::new(16);
        c.push(b"hello ");
        c.push(b"world");
        let out = c.finish();
        assert_eq!(out.bytes, b"hello world");
        assert!(!out.truncated);
        assert_eq!(out.total_bytes, 11);
    }

    #[test]
    fn head_and_tail_kept() {
        let mut c = Capture::new(16); // head 14, tail 2
        for chunk in [&b"0123456789"[..], b"abcdefghij", b"XYZ"] {
            c.push(chunk);
        }
        let out = c.finish();
        assert!(out.truncated);
        assert_eq!(out.total_bytes, 23);
        assert_eq!(out.text(), "0123456789abcd\n…[7 bytes omitted]…\nYZ");
    }

    #[test]
    fn big_chunk_replaces_tail() {
        let mut c = Capture::new(8); // head 7, tail 1
        c.push(b"abcdefg");
        c.push(b"hij");
        c.push(b"klmnopq");
        let out = c.finish();
        assert_eq!(out.text(), "abcdefg\n…[9 bytes omitted]…\nq");
    }
}
