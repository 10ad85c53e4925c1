//! The compact (`listpack`) form of a small sorted set: one byte buffer holding the entries in
//! order of (score, member), each as
//!
//! ```text
//! [ score: 1, 5 or 9 bytes ][ member length: varint ][ member bytes ]
//! ```
//!
//! A score is one tag byte: 0..=252 stands for the integer `tag - 126` itself, 253 is followed
//! by an `i32`, 254 by an `f64` (little-endian). Integer scores are the common case and Redis's
//! listpack stores them as integers too.
//!
//! Hand-written for memory, as Redis's listpack is: a sorted set of a few dozen short members
//! with small integer scores costs its bytes plus 2 a member and one allocation (the buffer
//! keeps its length and capacity in that allocation), where a map would cost two allocations
//! and dozens of bytes a member. Operations are linear scans, fine below the
//! `zset-max-listpack-entries` threshold (128 by default) as they are for Redis.

use smallvec::SmallVec;
use thin_vec::ThinVec;

/// Tag of a score stored as an `i32`.
const TAG_I32: u8 = 253;
/// Tag of a score stored as an `f64`.
const TAG_F64: u8 = 254;
/// The integer a tag byte below [`TAG_I32`] stands for is `tag - SMALL_BIAS`.
const SMALL_BIAS: i64 = 126;

/// Appends the encoding of `score` (never -0: see [`listpack_score`]).
fn put_score(out: &mut impl Extend<u8>, score: f64) {
    if score.fract() == 0.0 && score >= i32::MIN as f64 && score <= i32::MAX as f64 {
        let n = score as i64;
        if (-SMALL_BIAS..=SMALL_BIAS).contains(&n) {
            out.extend([(n + SMALL_BIAS) as u8]);
        } else {
            out.extend([TAG_I32]);
            out.extend((n as i32).to_le_bytes());
        }
    } else {
        out.extend([TAG_F64]);
        out.extend(score.to_le_bytes());
    }
}

/// Bytes `put_score` spends on `score`.
fn score_len(score: f64) -> usize {
    if score.fract() == 0.0 && score >= i32::MIN as f64 && score <= i32::MAX as f64 {
        if (-SMALL_BIAS..=SMALL_BIAS).contains(&(score as i64)) {
            1
        } else {
            5
        }
    } else {
        9
    }
}

/// A small sorted set in one buffer.
#[derive(Clone, Default)]
pub struct Pack {
    buf: ThinVec<u8>,
    len: u32,
}

/// Writes `v` as a little-endian base-128 varint.
fn put_varint(out: &mut impl Extend<u8>, mut v: usize) {
    while v >= 0x80 {
        out.extend([(v as u8) | 0x80]);
        v >>= 7;
    }
    out.extend([v as u8]);
}

/// Bytes `put_varint` spends on `v`.
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Returns the score as Redis's listpack keeps it: it stores a score as text, and `-0` reads
/// back as the integer 0, so a compact set never holds a negative zero.
#[inline]
fn listpack_score(s: f64) -> f64 {
    if s == 0.0 { 0.0 } else { s }
}

/// One entry: its offset, score, member, and the offset of the next entry.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub off: usize,
    pub score: f64,
    pub member: &'a [u8],
    pub next: usize,
}

impl Pack {
    pub fn new() -> Pack {
        Pack::default()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of heap used.
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes the entries take (for the "safe to add" size check).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Makes room for these (member, score) entries, so adding them allocates once.
    pub fn reserve_for<'a>(&mut self, entries: impl Iterator<Item = (&'a [u8], f64)>) {
        let need: usize = entries
            .map(|(m, s)| score_len(listpack_score(s)) + varint_len(m.len()) + m.len())
            .sum();
        self.buf.reserve_exact(need);
    }

    /// Decodes the entry at `off` (which must be an entry's start, below `bytes()`).
    #[inline]
    pub fn at(&self, off: usize) -> At<'_> {
        let b = &self.buf;
        let tag = b[off];
        let (score, mut p) = match tag {
            TAG_I32 => {
                let mut v = [0u8; 4];
                v.copy_from_slice(&b[off + 1..off + 5]);
                (i32::from_le_bytes(v) as f64, off + 5)
            }
            TAG_F64 => {
                let mut v = [0u8; 8];
                v.copy_from_slice(&b[off + 1..off + 9]);
                (f64::from_le_bytes(v), off + 9)
            }
            t => ((t as i64 - SMALL_BIAS) as f64, off + 1),
        };
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let c = b[p];
            p += 1;
            len |= ((c & 0x7f) as usize) << shift;
            if c & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        At {
            off,
            score,
            member: &b[p..p + len],
            next: p + len,
        }
    }

    /// Iterates the entries in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { pack: self, off: 0 }
    }

    /// Finds `member`: its rank and entry.
    pub fn find(&self, member: &[u8]) -> Option<(usize, At<'_>)> {
        self.iter().enumerate().find(|(_, a)| a.member == member)
    }

    /// Returns the score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|(_, a)| a.score)
    }

    /// Inserts a member known to be absent at its place in the order; returns its rank.
    pub fn insert(&mut self, member: &[u8], score: f64) -> usize {
        let score = listpack_score(score);
        let mut rank = 0;
        let mut off = self.buf.len();
        for a in self.iter() {
            if a.score > score || (a.score == score && a.member > member) {
                off = a.off;
                break;
            }
            rank += 1;
        }
        let mut entry: SmallVec<[u8; 64]> = SmallVec::new();
        put_score(&mut entry, score);
        put_varint(&mut entry, member.len());
        entry.extend_from_slice(member);
        // Grow to fit, no more: a listpack is reallocated to its exact size too, and many
        // small sets would otherwise carry up to half their buffer unused.
        self.buf.reserve_exact(entry.len());
        self.buf.extend_from_slice(&entry);
        self.buf[off..].rotate_right(entry.len());
        self.len += 1;
        rank
    }

    /// Appends an entry that sorts after every present one (building from ordered input).
    pub fn push(&mut self, member: &[u8], score: f64) {
        let score = listpack_score(score);
        self.buf
            .reserve_exact(score_len(score) + varint_len(member.len()) + member.len());
        put_score(&mut self.buf, score);
        put_varint(&mut self.buf, member.len());
        self.buf.extend_from_slice(member);
        self.len += 1;
    }

    /// Removes the entry starting at `off`.
    pub fn remove_at(&mut self, off: usize) {
        let next = self.at(off).next;
        self.buf.drain(off..next);
        self.len -= 1;
        self.shrink();
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, a) = self.find(member)?;
        let (off, score) = (a.off, a.score);
        self.remove_at(off);
        Some(score)
    }

    /// Removes the entries of ranks `start..end`.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        let (mut from, mut to) = (self.buf.len(), self.buf.len());
        for (i, a) in self.iter().enumerate() {
            if i == start {
                from = a.off;
            }
            if i == end {
                to = a.off;
                break;
            }
        }
        self.buf.drain(from..to);
        self.len -= (end - start) as u32;
        self.shrink();
        end - start
    }

    /// Gives memory back when the buffer is less than half used.
    fn shrink(&mut self) {
        if self.buf.capacity() > 64 && self.buf.len() < self.buf.capacity() / 2 {
            self.buf.shrink_to_fit();
        }
    }

    /// Calls `f` with the entries of ranks `start..end`, in order, or backwards with `rev`;
    /// `f` returns false to stop.
    pub fn walk(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64) -> bool) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        if !rev {
            for a in self.iter().skip(start).take(end - start) {
                if !f(a.member, a.score) {
                    return;
                }
            }
        } else {
            let offs: SmallVec<[u32; 128]> = self
                .iter()
                .skip(start)
                .take(end - start)
                .map(|a| a.off as u32)
                .collect();
            for &o in offs.iter().rev() {
                let a = self.at(o as usize);
                if !f(a.member, a.score) {
                    return;
                }
            }
        }
    }

    /// Returns how many entries satisfy `before`, which holds for a prefix of the entries.
    pub fn partition(&self, mut before: impl FnMut(&[u8], f64) -> bool) -> usize {
        self.iter()
            .take_while(|a| before(a.member, a.score))
            .count()
    }

    /// Returns the entry of rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.iter().nth(rank).map(|a| (a.member, a.score))
    }
}

/// Iterator over a pack's entries.
pub struct Iter<'a> {
    pack: &'a Pack,
    off: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = At<'a>;

    #[inline]
    fn next(&mut self) -> Option<At<'a>> {
        if self.off >= self.pack.buf.len() {
            return None;
        }
        let a = self.pack.at(self.off);
        self.off = a.next;
        Some(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_trip_in_their_encodings() {
        let mut p = Pack::new();
        let scores = [
            0.0,
            -0.0,
            1.0,
            -126.0,
            126.0,
            127.0,
            -127.0,
            1e9,
            -2147483648.0,
            2147483647.0,
            2147483648.0,
            0.5,
            -1.1,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            1e-300,
        ];
        for (i, s) in scores.iter().enumerate() {
            p.push(format!("m{i:02}").as_bytes(), *s);
        }
        let got: Vec<f64> = p.iter().map(|a| a.score).collect();
        let want: Vec<f64> = scores
            .iter()
            .map(|s| if *s == 0.0 { 0.0 } else { *s })
            .collect();
        assert_eq!(got, want);
        assert!(got.iter().all(|s| !(*s == 0.0 && s.is_sign_negative())));
        // Small integers take one byte: score, length, two member bytes.
        let mut q = Pack::new();
        q.push(b"ab", 5.0);
        assert_eq!(q.bytes(), 4);
    }

    #[test]
    fn keeps_order_and_finds_members() {
        let mut p = Pack::new();
        assert_eq!(p.insert(b"b", 2.0), 0);
        assert_eq!(p.insert(b"a", 2.0), 0);
        assert_eq!(p.insert(b"z", -1.5), 0);
        let long = vec![b'x'; 300];
        assert_eq!(p.insert(&long, 10.0), 3);
        let got: Vec<(Vec<u8>, f64)> = p.iter().map(|a| (a.member.to_vec(), a.score)).collect();
        assert_eq!(
            got,
            vec![
                (b"z".to_vec(), -1.5),
                (b"a".to_vec(), 2.0),
                (b"b".to_vec(), 2.0),
                (long.clone(), 10.0)
            ]
        );
        assert_eq!(p.score(&long), Some(10.0));
        assert_eq!(p.find(b"b").map(|(r, _)| r), Some(2));
        assert_eq!(p.remove(b"a"), Some(2.0));
        assert_eq!(p.remove(b"a"), None);
        assert_eq!(p.len(), 3);
        let mut rev = Vec::new();
        p.walk(0, 3, true, |m, _| {
            rev.push(m.len());
            true
        });
        assert_eq!(rev, vec![300, 1, 1]);
        assert_eq!(p.remove_ranks(1, 3), 2);
        assert_eq!(p.get(0), Some((&b"z"[..], -1.5)));
        assert_eq!(p.len(), 1);
    }
}
