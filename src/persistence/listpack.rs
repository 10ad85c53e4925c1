//! Redis's listpack, intset and ziplist blobs as they appear in RDB files and DUMP payloads:
//! a writer for listpacks and intsets (what Redis 7.0 writes) and strict readers for all three
//! (ziplists only come from files older Redis versions wrote).
//!
//! The in-memory structures of our types use layouts of their own, so these blobs are built
//! when saving and taken apart when loading. Every reader checks every length against the
//! blob's bounds before using it and reports a malformed blob as an error: this is what keeps a
//! corrupt DUMP payload from crashing the server (Redis's "deep sanitization" is therefore
//! always on here, which costs one pass that loading makes anyway).
//!
//! Format notes (listpack): a 6-byte header (total bytes u32 LE, element count u16 LE, 65535
//! meaning "count it"), entries of `[encoding+data][backlen]`, and a 0xFF terminator. An
//! element that is the canonical decimal form of an integer is stored as an integer in the
//! smallest of seven encodings, as Redis's `lpAppend` does, so our blobs match Redis's byte for
//! byte.

use crate::util::parse_i64_strict;

/// One element read from a listpack or ziplist.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Item<'a> {
    /// Returns the element's bytes, formatting an integer into `tmp`.
    pub fn bytes<'b>(&self, tmp: &'b mut itoa::Buffer) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Item::Int(n) => tmp.format(n).as_bytes(),
            Item::Str(s) => s,
        }
    }
}

/// A malformed blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

// ---- listpack writer ----

/// Size of a listpack's header.
const LP_HDR: usize = 6;
/// A listpack's terminator.
const LP_EOF: u8 = 0xFF;

/// Builds a listpack element by element.
pub struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpWriter {
    fn default() -> Self {
        LpWriter::new()
    }
}

impl LpWriter {
    pub fn new() -> LpWriter {
        LpWriter {
            buf: vec![0; LP_HDR],
            count: 0,
        }
    }

    /// Appends a string element, stored as an integer when it is the canonical form of one.
    pub fn push(&mut self, s: &[u8]) {
        if s.len() <= 20
            && let Some(n) = parse_i64_strict(s)
        {
            return self.push_int(n);
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.end_entry(start);
    }

    /// Appends an integer element in the smallest encoding that holds it.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1FFF;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.end_entry(start);
    }

    /// Appends a sorted-set score as Redis writes it: an integer when the double is integral
    /// and well inside the i64 range, otherwise its `%.17g` text.
    pub fn push_score(&mut self, d: f64) {
        match double_as_i64(d) {
            Some(n) => self.push_int(n),
            None => {
                let s = if d.is_infinite() {
                    if d > 0.0 {
                        "inf".to_string()
                    } else {
                        "-inf".to_string()
                    }
                } else {
                    crate::util::fmt_g17(d)
                };
                self.push(s.as_bytes())
            }
        }
    }

    /// Writes the back-length of the entry that started at `start`.
    fn end_entry(&mut self, start: usize) {
        let l = self.buf.len() - start;
        // The back-length is read right to left, 7 bits a byte, the high bit marking "more".
        if l <= 127 {
            self.buf.push(l as u8);
        } else if l < 16383 {
            self.buf.push((l >> 7) as u8);
            self.buf.push((l & 127) as u8 | 128);
        } else if l < 2_097_151 {
            self.buf.push((l >> 14) as u8);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        } else if l < 268_435_455 {
            self.buf.push((l >> 21) as u8);
            self.buf.push(((l >> 14) & 127) as u8 | 128);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        } else {
            self.buf.push((l >> 28) as u8);
            self.buf.push(((l >> 21) & 127) as u8 | 128);
            self.buf.push(((l >> 14) & 127) as u8 | 128);
            self.buf.push(((l >> 7) & 127) as u8 | 128);
            self.buf.push((l & 127) as u8 | 128);
        }
        self.count += 1;
    }

    /// Returns the finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Returns `d` as an i64 when Redis's `double2ll` would: integral and within +-2^62.
pub fn double_as_i64(d: f64) -> Option<i64> {
    const LIM: f64 = (i64::MAX / 2) as f64;
    if !(-LIM..=LIM).contains(&d) {
        return None;
    }
    let n = d as i64;
    if n as f64 == d { Some(n) } else { None }
}

/// Returns the number of bytes the back-length of an entry of `l` bytes takes.
fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

// ---- listpack reader ----

/// Reads `n` bytes at `at`, or fails.
#[inline]
fn take(b: &[u8], at: usize, n: usize) -> Result<&[u8], Corrupt> {
    let end = at.checked_add(n).ok_or(Corrupt)?;
    b.get(at..end).ok_or(Corrupt)
}

/// Sign-extends the low `bits` bits of `u`.
#[inline]
fn sext(u: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// Walks a listpack, checking its header, every entry and its back-length, and the
/// terminator; calls `f` with each element. Returns the number of elements.
pub fn lp_for_each<'a>(
    lp: &'a [u8],
    mut f: impl FnMut(Item<'a>) -> Result<(), Corrupt>,
) -> Result<usize, Corrupt> {
    if lp.len() < LP_HDR + 1 {
        return Err(Corrupt);
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    if total != lp.len() || lp[total - 1] != LP_EOF {
        return Err(Corrupt);
    }
    let end = total - 1;
    let mut pos = LP_HDR;
    let mut count = 0usize;
    while pos < end {
        let b = lp[pos];
        let (item, len) = if b & 0x80 == 0 {
            (Item::Int(b as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3F) as usize;
            (Item::Str(take(lp, pos + 1, n)?), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let lo = *take(lp, pos + 1, 1)?.first().ok_or(Corrupt)?;
            let u = (((b & 0x1F) as u64) << 8) | lo as u64;
            (Item::Int(sext(u, 13)), 2)
        } else if b & 0xF0 == 0xE0 {
            let lo = *take(lp, pos + 1, 1)?.first().ok_or(Corrupt)?;
            let n = (((b & 0x0F) as usize) << 8) | lo as usize;
            (Item::Str(take(lp, pos + 2, n)?), 2 + n)
        } else {
            let int = |n: usize| -> Result<(Item<'a>, usize), Corrupt> {
                let d = take(lp, pos + 1, n)?;
                let mut u = 0u64;
                for (i, &x) in d.iter().enumerate() {
                    u |= (x as u64) << (8 * i);
                }
                Ok((Item::Int(sext(u, 8 * n as u32)), 1 + n))
            };
            match b {
                0xF0 => {
                    let l = take(lp, pos + 1, 4)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    (Item::Str(take(lp, pos + 5, n)?), 5 + n)
                }
                0xF1 => int(2)?,
                0xF2 => int(3)?,
                0xF3 => int(4)?,
                0xF4 => int(8)?,
                _ => return Err(Corrupt),
            }
        };
        // The back-length must be there and must say `len`.
        let bl = backlen_size(len);
        let back = take(lp, pos + len, bl)?;
        let mut v = 0usize;
        for (i, &x) in back.iter().rev().enumerate() {
            v |= ((x & 127) as usize) << (7 * i);
        }
        if v != len || pos + len + bl > end {
            return Err(Corrupt);
        }
        pos += len + bl;
        count += 1;
        f(item)?;
    }
    if declared != 65535 && declared != count {
        return Err(Corrupt);
    }
    Ok(count)
}

// ---- intset ----

/// Builds the blob of an intset of `width`-byte integers (2, 4 or 8) from sorted values.
pub fn intset_blob(width: usize, values: impl ExactSizeIterator<Item = i64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// Reads an intset blob: returns its width and its values, which must be strictly ascending.
pub fn intset_read(b: &[u8]) -> Result<(usize, Vec<i64>), Corrupt> {
    let hdr = take(b, 0, 8)?;
    let width = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
    let len = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || len.checked_mul(width) != Some(b.len() - 8) || len == 0 {
        return Err(Corrupt);
    }
    let mut out = Vec::with_capacity(len);
    for c in b[8..].chunks_exact(width) {
        let mut u = 0u64;
        for (i, &x) in c.iter().enumerate() {
            u |= (x as u64) << (8 * i);
        }
        let v = sext(u, 8 * width as u32);
        if out.last().is_some_and(|&p| p >= v) {
            return Err(Corrupt);
        }
        out.push(v);
    }
    Ok((width, out))
}

// ---- ziplist (read only) ----

/// Walks a ziplist (what Redis before 7.0 wrote for small lists, hashes and sorted sets),
/// checking every entry; calls `f` with each element. Returns the number of elements.
pub fn zl_for_each<'a>(
    zl: &'a [u8],
    mut f: impl FnMut(Item<'a>) -> Result<(), Corrupt>,
) -> Result<usize, Corrupt> {
    // Header: total bytes u32, offset of the last entry u32, count u16; then entries; 0xFF.
    if zl.len() < 11 {
        return Err(Corrupt);
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    if total != zl.len() || zl[total - 1] != 0xFF || tail >= total {
        return Err(Corrupt);
    }
    let end = total - 1;
    let mut pos = 10;
    let mut prev_len = 0usize;
    let mut last = 10;
    let mut count = 0usize;
    while pos < end {
        // prevlen: one byte below 254, else 0xFE and four bytes.
        let p0 = *zl.get(pos).ok_or(Corrupt)?;
        let (prevlen, ph) = if p0 < 254 {
            (p0 as usize, 1)
        } else if p0 == 254 {
            let d = take(zl, pos + 1, 4)?;
            (u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize, 5)
        } else {
            return Err(Corrupt);
        };
        if prevlen != prev_len {
            return Err(Corrupt);
        }
        let at = pos + ph;
        let e = *zl.get(at).ok_or(Corrupt)?;
        let (item, len) = match e >> 6 {
            0 => {
                let n = (e & 0x3F) as usize;
                (Item::Str(take(zl, at + 1, n)?), 1 + n)
            }
            1 => {
                let lo = *take(zl, at + 1, 1)?.first().ok_or(Corrupt)?;
                let n = (((e & 0x3F) as usize) << 8) | lo as usize;
                (Item::Str(take(zl, at + 2, n)?), 2 + n)
            }
            2 => {
                let d = take(zl, at + 1, 4)?;
                let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
                (Item::Str(take(zl, at + 5, n)?), 5 + n)
            }
            _ => {
                let int = |n: usize| -> Result<(Item<'a>, usize), Corrupt> {
                    let d = take(zl, at + 1, n)?;
                    let mut u = 0u64;
                    for (i, &x) in d.iter().enumerate() {
                        u |= (x as u64) << (8 * i);
                    }
                    Ok((Item::Int(sext(u, 8 * n as u32)), 1 + n))
                };
                match e {
                    0xC0 => int(2)?,
                    0xD0 => int(4)?,
                    0xE0 => int(8)?,
                    0xF0 => int(3)?,
                    0xFE => int(1)?,
                    0xF1..=0xFD => (Item::Int((e & 0x0F) as i64 - 1), 1),
                    _ => return Err(Corrupt),
                }
            }
        };
        let next = at + len;
        if next > end {
            return Err(Corrupt);
        }
        last = pos;
        prev_len = next - pos;
        pos = next;
        count += 1;
        f(item)?;
    }
    if (count > 0 && last != tail) || (count == 0 && tail != 10) {
        return Err(Corrupt);
    }
    if declared != 65535 && declared != count {
        return Err(Corrupt);
    }
    Ok(count)
}

/// Walks a zipmap (Redis 2.x small hashes): calls `f` with each field and value.
pub fn zipmap_for_each<'a>(
    zm: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]) -> Result<(), Corrupt>,
) -> Result<usize, Corrupt> {
    // One count byte, then [len]field[len][free]value[free bytes] pairs, then 0xFF.
    let mut pos = 1;
    let mut count = 0;
    let read_len = |pos: usize| -> Result<(usize, usize), Corrupt> {
        let b = *zm.get(pos).ok_or(Corrupt)?;
        match b {
            0..=253 => Ok((b as usize, 1)),
            254 => {
                let d = take(zm, pos + 1, 4)?;
                Ok((u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize, 5))
            }
            _ => Err(Corrupt),
        }
    };
    if zm.is_empty() {
        return Err(Corrupt);
    }
    loop {
        if *zm.get(pos).ok_or(Corrupt)? == 0xFF {
            if pos + 1 != zm.len() {
                return Err(Corrupt);
            }
            return Ok(count);
        }
        let (fl, h) = read_len(pos)?;
        let field = take(zm, pos + h, fl)?;
        pos += h + fl;
        let (vl, h) = read_len(pos)?;
        let free = *zm.get(pos + h).ok_or(Corrupt)? as usize;
        let value = take(zm, pos + h + 1, vl)?;
        pos += h + 1 + vl + free;
        count += 1;
        f(field, value)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(lp: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        lp_for_each(lp, |i| {
            out.push(i.bytes(&mut itoa::Buffer::new()).to_vec());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn listpack_matches_redis_bytes() {
        // Redis 7.0: HSET h a 1 -> DEBUG LISTPACK shows this exact listpack.
        let mut w = LpWriter::new();
        w.push(b"a");
        w.push(b"1");
        let lp = w.finish();
        assert_eq!(lp, [0x0c, 0, 0, 0, 2, 0, 0x81, b'a', 2, 0x01, 1, 0xff]);
    }

    #[test]
    fn listpack_round_trips_every_encoding() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let elems: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"-4096".to_vec(),
            b"4095".to_vec(),
            b"-32768".to_vec(),
            b"32767".to_vec(),
            b"8388607".to_vec(),
            b"-8388608".to_vec(),
            b"2147483647".to_vec(),
            b"-2147483648".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"".to_vec(),
            b"hello".to_vec(),
            b"007".to_vec(),
            mid,
            long,
        ];
        let mut w = LpWriter::new();
        for e in &elems {
            w.push(e);
        }
        let lp = w.finish();
        assert_eq!(items(&lp), elems);
    }

    #[test]
    fn listpack_truncations_and_flips_are_errors_not_panics() {
        let mut w = LpWriter::new();
        for e in [&b"abc"[..], b"12345", b"-70000", &[b'z'; 200][..]] {
            w.push(e);
        }
        let lp = w.finish();
        for n in 0..lp.len() {
            assert!(lp_for_each(&lp[..n], |_| Ok(())).is_err());
        }
        for i in 0..lp.len() {
            for bit in 0..8 {
                let mut c = lp.clone();
                c[i] ^= 1 << bit;
                let _ = lp_for_each(&c, |_| Ok(()));
            }
        }
    }

    #[test]
    fn scores_encode_as_redis() {
        assert_eq!(double_as_i64(3.0), Some(3));
        assert_eq!(double_as_i64(-0.0), Some(0));
        assert_eq!(double_as_i64(1.5), None);
        assert_eq!(double_as_i64(f64::INFINITY), None);
        let mut w = LpWriter::new();
        w.push_score(1.5);
        w.push_score(f64::NEG_INFINITY);
        w.push_score(10.0);
        assert_eq!(
            items(&w.finish()),
            vec![b"1.5".to_vec(), b"-inf".to_vec(), b"10".to_vec()]
        );
    }

    #[test]
    fn intset_round_trip_and_order_check() {
        let b = intset_blob(4, [-5i64, 7, 70000].into_iter());
        assert_eq!(intset_read(&b).unwrap(), (4, vec![-5, 7, 70000]));
        let bad = intset_blob(2, [3i64, 3].into_iter());
        assert!(intset_read(&bad).is_err());
        for n in 0..b.len() {
            assert!(intset_read(&b[..n]).is_err());
        }
    }

    #[test]
    fn ziplist_reads_strings_and_ints() {
        // A ziplist of "a", 5 (4-bit immediate), and 300 (int16), built by hand.
        let mut zl = vec![0u8; 10];
        let e1 = [0u8, 0x01, b'a'];
        let e2 = [3u8, 0xF6];
        let e3 = [2u8, 0xC0, 0x2C, 0x01];
        zl.extend_from_slice(&e1);
        zl.extend_from_slice(&e2);
        let tail = zl.len() as u32;
        zl.extend_from_slice(&e3);
        zl.push(0xFF);
        let total = zl.len() as u32;
        zl[0..4].copy_from_slice(&total.to_le_bytes());
        zl[4..8].copy_from_slice(&tail.to_le_bytes());
        zl[8..10].copy_from_slice(&3u16.to_le_bytes());
        let mut got = Vec::new();
        zl_for_each(&zl, |i| {
            got.push(i.bytes(&mut itoa::Buffer::new()).to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![b"a".to_vec(), b"5".to_vec(), b"300".to_vec()]);
        for n in 0..zl.len() {
            assert!(zl_for_each(&zl[..n], |_| Ok(())).is_err());
        }
    }
}
