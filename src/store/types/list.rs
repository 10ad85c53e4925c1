//! The list type: a chain of packed nodes, Redis 7.0's quicklist in a layout of our own.
//!
//! Redis reports every list as `quicklist` and stores it as a linked list of listpacks. We keep
//! the same shape because it is what makes lists cheap: a [`VecDeque`] of nodes, each node one
//! allocation holding many elements back to back with small length headers, so an element
//! costs its bytes plus two to ten bytes and no allocation of its own. This compact encoding is
//! the reason the type is hand-written rather than a `VecDeque<Vec<u8>>` (24 bytes plus an
//! allocation per element): one million ten-byte elements take about 12 MB, as in Redis.
//!
//! - An entry is `[header][bytes][trailer]`: the header gives the length reading forward, the
//!   trailer the same length reading backward, so both ends can be walked and popped. Lengths
//!   below 128 take one byte each way, below 16384 two, otherwise five.
//! - A packed node keeps its entries in `buf[start..end]` with free room on both sides, so a
//!   push or pop at either end is O(1) amortized: nothing is moved on LPOP, and LPUSH fills the
//!   room before the first entry (Redis moves the whole listpack on both).
//! - Nodes are bounded by `list-max-listpack-size` (a positive count of entries per node, or
//!   -1..-5 for 4..64 KiB), with Redis's rules for when an element still fits a node.
//! - An element at or above the packed threshold (DEBUG QUICKLIST-PACKED-THRESHOLD, 1 GiB by
//!   default) is stored alone in a plain node, as Redis does.
//! - With `list-compress-depth` N > 0, every node but the N at each end is LZF-compressed when
//!   that saves space; reads decompress into a scratch buffer, writes decompress the node they
//!   change. Only the nodes next to the end zones change state on a push or pop.
//!
//! A list takes its node limit and compress depth when it is created, as Redis's quicklist
//! does; CONFIG SET affects lists created afterwards.
//!
//! No keyspace, no RESP: commands live in `cmd/list.rs`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default packed threshold: 1 GiB, as Redis's `packed_threshold`.
pub const DEFAULT_PACKED_THRESHOLD: u64 = 1 << 30;

static PACKED_THRESHOLD: AtomicU64 = AtomicU64::new(DEFAULT_PACKED_THRESHOLD);

// Unit tests run in parallel threads: there the threshold is per thread, so a test that sets
// it (directly or through DEBUG QUICKLIST-PACKED-THRESHOLD) does not disturb the others.
#[cfg(test)]
thread_local! {
    static TEST_THRESHOLD: std::cell::Cell<u64> =
        const { std::cell::Cell::new(DEFAULT_PACKED_THRESHOLD) };
}

/// Returns the size at or above which an element is stored in a plain node of its own.
#[cfg(not(test))]
#[inline]
pub fn packed_threshold() -> u64 {
    PACKED_THRESHOLD.load(Ordering::Relaxed)
}

/// Returns the size at or above which an element is stored in a plain node of its own.
#[cfg(test)]
pub fn packed_threshold() -> u64 {
    TEST_THRESHOLD.with(|t| t.get())
}

/// Sets the packed threshold (DEBUG QUICKLIST-PACKED-THRESHOLD); 0 restores the default.
pub fn set_packed_threshold(bytes: u64) {
    let v = if bytes == 0 { DEFAULT_PACKED_THRESHOLD } else { bytes };
    #[cfg(test)]
    TEST_THRESHOLD.with(|t| t.set(v));
    PACKED_THRESHOLD.store(v, Ordering::Relaxed);
}

/// Node byte limits of the negative `list-max-listpack-size` values -1..-5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node when the limit is a count of entries (Redis's `SIZE_SAFETY_LIMIT`).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// What Redis adds to an element's length when estimating whether it fits a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Bytes of a listpack's header and end marker, counted in a node's size so that node
/// boundaries fall where Redis's do.
const LISTPACK_OVERHEAD: usize = 7;
/// Largest `list-max-listpack-size` Redis honours (`FILL_MAX`).
const FILL_MAX: i64 = 1 << 15;
/// Nodes smaller than this are not worth compressing (`MIN_COMPRESS_BYTES`).
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save at least this much to be kept (`MIN_COMPRESS_IMPROVE`).
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Packed entries keep their lengths in 32 bits: anything longer goes to a plain node.
const MAX_PACKED_ELEMENT: usize = u32::MAX as usize - 64;
/// Smallest buffer a packed node starts with.
const MIN_NODE_CAP: usize = 32;

// ---- entry encoding ----

/// Bytes of an entry's header (and of its trailer) for an element of `n` bytes.
#[inline]
fn hdr_size(n: usize) -> usize {
    if n < 0x80 {
        1
    } else if n < 0x4000 {
        2
    } else {
        5
    }
}

/// Bytes an element of `n` bytes takes in a packed node.
#[inline]
fn entry_size(n: usize) -> usize {
    n + 2 * hdr_size(n)
}

/// Writes the entry of `elem` into `dst`, which is exactly `entry_size(elem.len())` long.
#[inline]
fn write_entry(dst: &mut [u8], elem: &[u8]) {
    let n = elem.len();
    match hdr_size(n) {
        1 => {
            dst[0] = n as u8;
            dst[1..=n].copy_from_slice(elem);
            dst[n + 1] = n as u8;
        }
        2 => {
            let (hi, lo) = (0x80 | (n >> 8) as u8, n as u8);
            dst[0] = hi;
            dst[1] = lo;
            dst[2..n + 2].copy_from_slice(elem);
            dst[n + 2] = lo;
            dst[n + 3] = hi;
        }
        _ => {
            let len = (n as u32).to_le_bytes();
            dst[0] = 0xC0;
            dst[1..5].copy_from_slice(&len);
            dst[5..n + 5].copy_from_slice(elem);
            dst[n + 5..n + 9].copy_from_slice(&len);
            dst[n + 9] = 0xC0;
        }
    }
}

/// Reads the entry starting at `pos`: returns (start of its bytes, their length).
#[inline]
fn read_at(buf: &[u8], pos: usize) -> (usize, usize) {
    let b = buf[pos];
    if b < 0x80 {
        (pos + 1, b as usize)
    } else if b < 0xC0 {
        (pos + 2, ((b & 0x3F) as usize) << 8 | buf[pos + 1] as usize)
    } else {
        let n = u32::from_le_bytes([buf[pos + 1], buf[pos + 2], buf[pos + 3], buf[pos + 4]]);
        (pos + 5, n as usize)
    }
}

/// Reads the entry ending at `end`: returns (start of the entry, start of its bytes, length).
#[inline]
fn read_before(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let b = buf[end - 1];
    if b < 0x80 {
        let n = b as usize;
        (end - 2 - n, end - 1 - n, n)
    } else if b < 0xC0 {
        let n = ((b & 0x3F) as usize) << 8 | buf[end - 2] as usize;
        (end - 4 - n, end - 2 - n, n)
    } else {
        let n = u32::from_le_bytes([buf[end - 5], buf[end - 4], buf[end - 3], buf[end - 2]]);
        let n = n as usize;
        (end - 10 - n, end - 5 - n, n)
    }
}

/// Returns where the entry after the one at `pos` starts.
#[inline]
fn next_pos(buf: &[u8], pos: usize) -> usize {
    let (d, n) = read_at(buf, pos);
    d + n + hdr_size(n)
}

/// Returns the byte offset where entry `j` of the `count` entries packed in `bytes` starts,
/// walking from whichever end is closer (`j == count` gives the end).
fn entry_offset(bytes: &[u8], j: usize, count: usize) -> usize {
    if j <= count / 2 {
        let mut pos = 0;
        for _ in 0..j {
            pos = next_pos(bytes, pos);
        }
        pos
    } else {
        let mut end = bytes.len();
        for _ in j..count {
            end = read_before(bytes, end).0;
        }
        end
    }
}

/// Returns entry `j` of the `count` entries packed in `bytes`.
fn nth_entry(bytes: &[u8], j: usize, count: usize) -> &[u8] {
    let (d, n) = read_at(bytes, entry_offset(bytes, j, count));
    &bytes[d..d + n]
}

/// Calls `f` with each entry of `bytes` (packed entries), in order.
fn for_each_entry(bytes: &[u8], mut f: impl FnMut(&[u8])) {
    let mut pos = 0;
    while pos < bytes.len() {
        let (d, n) = read_at(bytes, pos);
        f(&bytes[d..d + n]);
        pos = d + n + hdr_size(n);
    }
}

/// True when an element of `n` bytes goes to a plain node of its own.
#[inline]
fn is_large(n: usize) -> bool {
    n as u64 >= packed_threshold() || n > MAX_PACKED_ELEMENT
}

// ---- nodes ----

/// Entries packed in `buf[start..end]`, with room to grow on both sides.
struct Packed {
    buf: Box<[u8]>,
    start: u32,
    end: u32,
}

impl Packed {
    /// A node holding exactly the packed entries of `v` (no spare room).
    fn exact(v: Vec<u8>) -> Packed {
        let end = v.len() as u32;
        Packed { buf: v.into_boxed_slice(), start: 0, end }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.buf[self.start as usize..self.end as usize]
    }

    #[inline]
    fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// Makes `need` bytes of room before the first entry (`front`) or after the last. When
    /// both ends of the node receive pushes (`both`), the spare room is shared between them;
    /// otherwise it all goes to the growing side. Grows the buffer by doubling up to `hint`
    /// (the node's expected largest size), and moves the entries within it when the buffer is
    /// already that big.
    fn make_room(&mut self, front: bool, need: usize, both: bool, hint: usize) {
        let (start, end, cap) = (self.start as usize, self.end as usize, self.buf.len());
        if (front && start >= need) || (!front && cap - end >= need) {
            return;
        }
        let len = end - start;
        let want = len + need;
        let free = cap - len;
        let new_cap = if free >= need && (cap >= hint || free >= cap / 2) {
            cap
        } else {
            let doubled = (cap * 2).max(MIN_NODE_CAP);
            let c = if doubled > hint { hint } else { doubled };
            c.max(want)
        };
        let spare = new_cap - want;
        let new_start = match (front, both) {
            (true, false) => need + spare,
            (true, true) => need + spare / 2,
            (false, false) => 0,
            (false, true) => spare / 2,
        };
        if new_cap == cap {
            self.buf.copy_within(start..end, new_start);
        } else {
            let mut nb = vec![0u8; new_cap].into_boxed_slice();
            nb[new_start..new_start + len].copy_from_slice(&self.buf[start..end]);
            self.buf = nb;
        }
        self.start = new_start as u32;
        self.end = (new_start + len) as u32;
    }

    /// Adds `elem` before the first entry (`front`) or after the last.
    #[inline]
    fn push(&mut self, elem: &[u8], front: bool, both: bool, hint: usize) {
        let need = entry_size(elem.len());
        self.make_room(front, need, both, hint);
        if front {
            let s = self.start as usize - need;
            write_entry(&mut self.buf[s..s + need], elem);
            self.start = s as u32;
        } else {
            let e = self.end as usize;
            write_entry(&mut self.buf[e..e + need], elem);
            self.end = (e + need) as u32;
        }
    }

    /// Removes the first (`front`) or last entry, handing its bytes to `f` first.
    #[inline]
    fn pop_with<R>(&mut self, front: bool, f: impl FnOnce(&[u8]) -> R) -> R {
        if front {
            let (d, n) = read_at(&self.buf, self.start as usize);
            let r = f(&self.buf[d..d + n]);
            self.start = (d + n + hdr_size(n)) as u32;
            r
        } else {
            let (s, d, n) = read_before(&self.buf, self.end as usize);
            let r = f(&self.buf[d..d + n]);
            self.end = s as u32;
            r
        }
    }

    /// Inserts the entry of `elem` at byte offset `at` (relative to `start`), moving whichever
    /// side has room.
    fn insert_at(&mut self, at: usize, elem: &[u8], hint: usize) {
        let need = entry_size(elem.len());
        let (start, end, cap) = (self.start as usize, self.end as usize, self.buf.len());
        if cap - end >= need {
            let pos = start + at;
            self.buf.copy_within(pos..end, pos + need);
            write_entry(&mut self.buf[pos..pos + need], elem);
            self.end = (end + need) as u32;
        } else if start >= need {
            let pos = start + at;
            self.buf.copy_within(start..pos, start - need);
            write_entry(&mut self.buf[pos - need..pos], elem);
            self.start = (start - need) as u32;
        } else {
            let len = end - start;
            let new_cap = (cap * 2).max(MIN_NODE_CAP).min(hint.max(len + need)).max(len + need);
            let mut nb = vec![0u8; new_cap].into_boxed_slice();
            nb[..at].copy_from_slice(&self.buf[start..start + at]);
            write_entry(&mut nb[at..at + need], elem);
            nb[at + need..len + need].copy_from_slice(&self.buf[start + at..end]);
            self.buf = nb;
            self.start = 0;
            self.end = (len + need) as u32;
        }
    }

    /// Removes the bytes `a..b` (relative to `start`): entries `[a, b)` as whole entries.
    fn remove_bytes(&mut self, a: usize, b: usize) {
        let start = self.start as usize;
        if a == 0 {
            self.start = (start + b) as u32;
        } else if start + b == self.end as usize {
            self.end = (start + a) as u32;
        } else {
            let end = self.end as usize;
            self.buf.copy_within(start + b..end, start + a);
            self.end = (end - (b - a)) as u32;
        }
        self.shrink_if_sparse();
    }

    /// Gives back memory when at most a quarter of the buffer is in use.
    #[inline]
    fn shrink_if_sparse(&mut self) {
        let (len, cap) = (self.len(), self.buf.len());
        if cap > 4 * MIN_NODE_CAP && len < cap / 4 {
            *self = Packed::exact(self.bytes().to_vec());
        }
    }

    /// Gives back the spare room of a node that no longer grows, if it is worth a copy.
    fn seal(&mut self) {
        let (len, cap) = (self.len(), self.buf.len());
        if cap - len > len / 8 + 16 {
            *self = Packed::exact(self.bytes().to_vec());
        }
    }
}

/// What a node holds.
enum Body {
    /// Packed entries.
    Packed(Packed),
    /// One element stored alone (at or above the packed threshold).
    Plain(Box<[u8]>),
    /// LZF-compressed packed entries, `raw_len` bytes once expanded.
    Lzf { data: Box<[u8]>, raw_len: u32 },
}

/// One node of the chain.
struct Node {
    body: Body,
    /// Entries in the node.
    count: u32,
    /// A compression attempt did not pay; not retried until the node changes.
    incompressible: bool,
}

impl Node {
    /// A packed node holding one element, with room to grow towards `front` or the back.
    fn packed_one(elem: &[u8], front: bool) -> Node {
        let need = entry_size(elem.len());
        let cap = need.max(MIN_NODE_CAP);
        let mut buf = vec![0u8; cap].into_boxed_slice();
        let s = if front { cap - need } else { 0 };
        write_entry(&mut buf[s..s + need], elem);
        let p = Packed { buf, start: s as u32, end: (s + need) as u32 };
        Node { body: Body::Packed(p), count: 1, incompressible: false }
    }

    /// A packed node holding exactly the `count` entries packed in `v`.
    fn packed_exact(v: Vec<u8>, count: u32) -> Node {
        Node { body: Body::Packed(Packed::exact(v)), count, incompressible: false }
    }

    /// A plain node holding `elem`.
    fn plain(elem: &[u8]) -> Node {
        Node { body: Body::Plain(elem.into()), count: 1, incompressible: false }
    }

    /// Returns the node's size as Redis counts a listpack's (`node->sz`); for a compressed
    /// node, its size once expanded.
    fn size(&self) -> usize {
        match &self.body {
            Body::Packed(p) => p.len() + LISTPACK_OVERHEAD,
            Body::Plain(b) => b.len(),
            Body::Lzf { raw_len, .. } => *raw_len as usize + LISTPACK_OVERHEAD,
        }
    }

    /// Returns the heap bytes the node's buffer takes.
    fn heap_size(&self) -> usize {
        match &self.body {
            Body::Packed(p) => p.buf.len(),
            Body::Plain(b) => b.len(),
            Body::Lzf { data, .. } => data.len(),
        }
    }

    /// Returns the packed entries of a packed or compressed node: borrowed, or expanded into
    /// `scratch`. `None` for a plain node.
    fn packed_bytes<'a>(&'a self, scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
        match &self.body {
            Body::Packed(p) => Some(p.bytes()),
            Body::Plain(_) => None,
            Body::Lzf { data, raw_len } => {
                *scratch = expand(data, *raw_len as usize);
                Some(scratch)
            }
        }
    }

    /// Expands a compressed node in place.
    fn decompress(&mut self) {
        if let Body::Lzf { data, raw_len } = &self.body {
            let raw = expand(data, *raw_len as usize);
            self.body = Body::Packed(Packed::exact(raw));
        }
    }

    /// Compresses a packed node when that saves enough (Redis's rules), remembering a failed
    /// attempt.
    fn compress(&mut self) {
        let Body::Packed(p) = &self.body else { return };
        if self.incompressible || p.len() < MIN_COMPRESS_BYTES {
            return;
        }
        match lzf::compress(p.bytes()) {
            Ok(c) if c.len() + MIN_COMPRESS_IMPROVE < p.len() => {
                let raw_len = p.len() as u32;
                self.body = Body::Lzf { data: c.into_boxed_slice(), raw_len };
            }
            _ => self.incompressible = true,
        }
    }

    /// Returns a copy holding only the live bytes.
    fn compact_clone(&self) -> Node {
        let body = match &self.body {
            Body::Packed(p) => Body::Packed(Packed::exact(p.bytes().to_vec())),
            Body::Plain(b) => Body::Plain(b.clone()),
            Body::Lzf { data, raw_len } => Body::Lzf { data: data.clone(), raw_len: *raw_len },
        };
        Node { body, count: self.count, incompressible: self.incompressible }
    }
}

/// Expands LZF data we compressed ourselves.
fn expand(data: &[u8], raw_len: usize) -> Vec<u8> {
    // The data was produced by `lzf::compress` from exactly `raw_len` bytes, so this cannot
    // fail short of memory corruption.
    lzf::decompress(data, raw_len).expect("list node compressed by us expands")
}

/// A node limit: `list-max-listpack-size` as the list was created with.
#[derive(Clone, Copy)]
struct Fill(i32);

impl Fill {
    /// Returns Redis's verdict on adding an element of `n` bytes to a packed node of `size`
    /// bytes (listpack-counted) and `count` entries (`_quicklistNodeAllowInsert`).
    #[inline]
    fn allows(self, size: usize, count: u32, n: usize) -> bool {
        let new_size = size + n + SIZE_ESTIMATE_OVERHEAD;
        if self.0 < 0 {
            new_size <= SIZE_LEVELS[(-self.0 - 1) as usize]
        } else {
            new_size <= SIZE_SAFETY_LIMIT && (count as i64) < self.0 as i64
        }
    }

    /// Returns the largest buffer a packed node is expected to need.
    #[inline]
    fn cap_hint(self) -> usize {
        if self.0 < 0 { SIZE_LEVELS[(-self.0 - 1) as usize] } else { SIZE_SAFETY_LIMIT }
    }
}

/// Builds nodes from a sequence of elements, cutting them where the node limit says.
struct Builder {
    fill: Fill,
    out: Vec<Node>,
    cur: Vec<u8>,
    count: u32,
}

impl Builder {
    fn new(fill: Fill) -> Builder {
        Builder { fill, out: Vec::new(), cur: Vec::new(), count: 0 }
    }

    fn add(&mut self, elem: &[u8]) {
        if is_large(elem.len()) {
            self.flush();
            self.out.push(Node::plain(elem));
            return;
        }
        if self.count > 0
            && !self.fill.allows(self.cur.len() + LISTPACK_OVERHEAD, self.count, elem.len())
        {
            self.flush();
        }
        let at = self.cur.len();
        self.cur.resize(at + entry_size(elem.len()), 0);
        write_entry(&mut self.cur[at..], elem);
        self.count += 1;
    }

    fn flush(&mut self) {
        if self.count > 0 {
            let v = std::mem::take(&mut self.cur);
            self.out.push(Node::packed_exact(v, self.count));
            self.count = 0;
        }
    }

    fn finish(mut self) -> Vec<Node> {
        self.flush();
        self.out
    }
}

// ---- the list ----

/// A list of byte strings (Redis's quicklist).
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    fill: Fill,
    /// Nodes kept uncompressed at each end; 0 disables compression.
    depth: u16,
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl Clone for List {
    fn clone(&self) -> List {
        List {
            nodes: self.nodes.iter().map(Node::compact_clone).collect(),
            len: self.len,
            fill: self.fill,
            depth: self.depth,
        }
    }
}

/// DEBUG OBJECT's quicklist fields.
pub struct ListStats {
    pub nodes: usize,
    pub avg_node: f64,
    pub listpack_max: i64,
    pub compressed: bool,
    pub uncompressed_size: usize,
}

impl List {
    /// Returns an empty list with Redis's default settings (8 KiB nodes, no compression).
    pub fn new() -> List {
        List::with_config(-2, 0)
    }

    /// Returns an empty list whose nodes follow `list-max-listpack-size` = `fill` and
    /// `list-compress-depth` = `depth` (clamped as Redis clamps them).
    pub fn with_config(fill: i64, depth: u64) -> List {
        let fill = fill.clamp(-5, FILL_MAX) as i32;
        let depth = depth.min(u16::MAX as u64) as u16;
        List { nodes: VecDeque::new(), len: 0, fill: Fill(fill), depth }
    }

    /// Returns the number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list has no elements (a list key never stays empty).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the name OBJECT ENCODING reports (Redis 7.0 reports every list as `quicklist`).
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Returns an estimate of the heap bytes the list uses.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(Node::heap_size).sum::<usize>()
    }

    /// Returns the effort of freeing the list in Redis's lazy-free terms: its nodes.
    pub fn free_effort(&self) -> usize {
        self.nodes.len()
    }

    /// Returns what DEBUG OBJECT shows of the list's nodes.
    pub fn stats(&self) -> ListStats {
        let nodes = self.nodes.len();
        ListStats {
            nodes,
            avg_node: if nodes == 0 { 0.0 } else { self.len as f64 / nodes as f64 },
            listpack_max: self.fill.0 as i64,
            compressed: self.depth != 0,
            uncompressed_size: self.nodes.iter().map(Node::size).sum(),
        }
    }

    /// Adds an element at the head (`left`) or the tail.
    pub fn push(&mut self, elem: &[u8], left: bool) {
        self.len += 1;
        if !is_large(elem.len()) {
            let (fill, both) = (self.fill, self.nodes.len() == 1);
            let end = if left { self.nodes.front_mut() } else { self.nodes.back_mut() };
            if let Some(node) = end {
                node.decompress();
                if let Body::Packed(p) = &mut node.body {
                    if fill.allows(p.len() + LISTPACK_OVERHEAD, node.count, elem.len()) {
                        p.push(elem, left, both, fill.cap_hint());
                        node.count += 1;
                        node.incompressible = false;
                        return;
                    }
                    // The node is full: it only shrinks from now on.
                    p.seal();
                }
            }
            self.add_end_node(Node::packed_one(elem, left), left);
        } else {
            self.add_end_node(Node::plain(elem), left);
        }
    }

    fn add_end_node(&mut self, node: Node, left: bool) {
        if left {
            self.nodes.push_front(node);
        } else {
            self.nodes.push_back(node);
        }
        self.settle_ends();
    }

    /// Removes the element at the head (`left`) or the tail, handing it to `f`.
    pub fn pop_with<R>(&mut self, left: bool, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let node = if left { self.nodes.front_mut()? } else { self.nodes.back_mut()? };
        node.decompress();
        let r = match &mut node.body {
            Body::Packed(p) => {
                let r = p.pop_with(left, f);
                node.count -= 1;
                // A list that grew and drained gives its memory back, as Redis's listpacks
                // shrink on delete.
                p.shrink_if_sparse();
                r
            }
            Body::Plain(b) => {
                node.count = 0;
                f(&b[..])
            }
            Body::Lzf { .. } => unreachable!("decompressed above"),
        };
        self.len -= 1;
        if node.count == 0 {
            if left {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
            self.settle_ends();
        }
        Some(r)
    }

    /// Removes and returns the element at the head (`left`) or the tail.
    pub fn pop(&mut self, left: bool) -> Option<Vec<u8>> {
        self.pop_with(left, |b| b.to_vec())
    }

    /// Returns (node, entry within the node) of element `index` (< len), counting from the
    /// closer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        if index < self.len / 2 {
            let mut i = index;
            for (k, n) in self.nodes.iter().enumerate() {
                if i < n.count as usize {
                    return (k, i);
                }
                i -= n.count as usize;
            }
        } else {
            let mut i = self.len - 1 - index;
            for (k, n) in self.nodes.iter().enumerate().rev() {
                if i < n.count as usize {
                    return (k, n.count as usize - 1 - i);
                }
                i -= n.count as usize;
            }
        }
        unreachable!("index {index} within a list of {}", self.len)
    }

    /// Calls `f` with element `index` (0-based from the head); `None` when out of range.
    pub fn get_with<R>(&self, index: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if index >= self.len {
            return None;
        }
        let (k, j) = self.locate(index);
        let node = &self.nodes[k];
        let mut scratch = Vec::new();
        Some(match node.packed_bytes(&mut scratch) {
            Some(bytes) => f(nth_entry(bytes, j, node.count as usize)),
            None => match &node.body {
                Body::Plain(b) => f(b),
                _ => unreachable!("packed_bytes covers packed nodes"),
            },
        })
    }

    /// Returns a copy of element `index`.
    pub fn get(&self, index: usize) -> Option<Vec<u8>> {
        self.get_with(index, |b| b.to_vec())
    }

    /// Walks the elements from `index` towards the tail (or towards the head when `reverse`),
    /// calling `f` with each until it returns false.
    pub fn walk(&self, index: usize, reverse: bool, mut f: impl FnMut(&[u8]) -> bool) {
        if index >= self.len {
            return;
        }
        let (k0, j0) = self.locate(index);
        let mut scratch = Vec::new();
        let mut k = k0;
        loop {
            let node = &self.nodes[k];
            let count = node.count as usize;
            let go_on = match node.packed_bytes(&mut scratch) {
                None => match &node.body {
                    Body::Plain(b) => f(b),
                    _ => unreachable!("packed_bytes covers packed nodes"),
                },
                Some(bytes) => {
                    let mut go_on = true;
                    if !reverse {
                        let j = if k == k0 { j0 } else { 0 };
                        let mut pos = entry_offset(bytes, j, count);
                        while go_on && pos < bytes.len() {
                            let (d, n) = read_at(bytes, pos);
                            go_on = f(&bytes[d..d + n]);
                            pos = d + n + hdr_size(n);
                        }
                    } else {
                        let j = if k == k0 { j0 + 1 } else { count };
                        let mut end = entry_offset(bytes, j, count);
                        while go_on && end > 0 {
                            let (s, d, n) = read_before(bytes, end);
                            go_on = f(&bytes[d..d + n]);
                            end = s;
                        }
                    }
                    go_on
                }
            };
            if !go_on {
                return;
            }
            if reverse {
                if k == 0 {
                    return;
                }
                k -= 1;
            } else {
                k += 1;
                if k == self.nodes.len() {
                    return;
                }
            }
        }
    }

    /// Calls `f` with each node, head first, as RDB saves it: a plain node's element, or the
    /// elements of a packed node (expanded from LZF when compressed). For persistence.
    pub fn for_each_node<'a>(&'a self, mut f: impl FnMut(crate::persistence::rdb::Node<'a>)) {
        use crate::persistence::rdb::Node as N;
        use std::borrow::Cow;
        for node in &self.nodes {
            match &node.body {
                Body::Plain(b) => f(N::Plain(b)),
                Body::Packed(p) => {
                    let (bytes, mut v) = (p.bytes(), Vec::with_capacity(node.count as usize));
                    let mut pos = 0;
                    while pos < bytes.len() {
                        let (d, n) = read_at(bytes, pos);
                        v.push(Cow::Borrowed(&bytes[d..d + n]));
                        pos = d + n + hdr_size(n);
                    }
                    f(N::Packed(v))
                }
                Body::Lzf { data, raw_len } => {
                    let raw = expand(data, *raw_len as usize);
                    let mut v = Vec::with_capacity(node.count as usize);
                    for_each_entry(&raw, |e| v.push(Cow::Owned(e.to_vec())));
                    f(N::Packed(v))
                }
            }
        }
    }

    /// Returns every element, head first (for tests and debugging).
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(self.len);
        self.walk(0, false, |e| {
            v.push(e.to_vec());
            true
        });
        v
    }

    /// Replaces node `k` with the nodes built by `f` (none: node `k` is removed), and puts
    /// every node back in the compression state its position asks for.
    fn rebuild(&mut self, k: usize, f: impl FnOnce(&Node, &mut Builder)) {
        let mut b = Builder::new(self.fill);
        f(&self.nodes[k], &mut b);
        let mut new = b.finish().into_iter();
        match new.next() {
            None => {
                self.nodes.remove(k);
            }
            Some(first) => {
                self.nodes[k] = first;
                for (i, n) in new.enumerate() {
                    self.nodes.insert(k + 1 + i, n);
                }
            }
        }
        self.settle_all();
    }

    /// Feeds the elements of `node` to `b`, with `edit` deciding what happens at entry `j`:
    /// the element is passed to it and it adds what should stand there.
    fn feed(node: &Node, b: &mut Builder, mut edit: impl FnMut(usize, &[u8], &mut Builder)) {
        let mut scratch = Vec::new();
        match node.packed_bytes(&mut scratch) {
            Some(bytes) => {
                let mut j = 0;
                for_each_entry(bytes, |e| {
                    edit(j, e, b);
                    j += 1;
                });
            }
            None => {
                if let Body::Plain(e) = &node.body {
                    edit(0, e, b);
                }
            }
        }
    }

    /// Replaces element `index` with `elem`; false when out of range.
    pub fn set(&mut self, index: usize, elem: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        let (k, j) = self.locate(index);
        let node = &mut self.nodes[k];
        if !is_large(elem.len())
            && let Body::Packed(p) = &mut node.body
        {
            let count = node.count as usize;
            let a = entry_offset(p.bytes(), j, count);
            let b = next_pos(p.bytes(), a);
            if b - a == entry_size(elem.len()) {
                let s = p.start as usize;
                write_entry(&mut p.buf[s + a..s + b], elem);
                node.incompressible = false;
                return true;
            }
        }
        self.rebuild(k, |node, b| {
            List::feed(node, b, |i, e, b| b.add(if i == j { elem } else { e }));
        });
        true
    }

    /// Inserts `elem` so that it becomes element `index` (`index == len` appends).
    pub fn insert(&mut self, index: usize, elem: &[u8]) {
        if index == 0 || index >= self.len {
            self.push(elem, index == 0);
            return;
        }
        let (k, j) = self.locate(index);
        self.len += 1;
        let fill = self.fill;
        let node = &mut self.nodes[k];
        if !is_large(elem.len())
            && let Body::Packed(p) = &mut node.body
            && fill.allows(p.len() + LISTPACK_OVERHEAD, node.count, elem.len())
        {
            let at = entry_offset(p.bytes(), j, node.count as usize);
            p.insert_at(at, elem, fill.cap_hint());
            node.count += 1;
            node.incompressible = false;
            return;
        }
        self.rebuild(k, |node, b| {
            List::feed(node, b, |i, e, b| {
                if i == j {
                    b.add(elem);
                }
                b.add(e);
            });
        });
    }

    /// Removes `count` elements starting at `index` (the range must be within the list).
    pub fn remove_range(&mut self, index: usize, count: usize) {
        if count == 0 || index >= self.len {
            return;
        }
        let count = count.min(self.len - index);
        let (mut k, mut j) = self.locate(index);
        let mut left = count;
        // Whole nodes in the range are dropped together afterwards: removing them one by one
        // would shift the deque once per node.
        let mut whole: Option<(usize, usize)> = None;
        while left > 0 {
            let node = &mut self.nodes[k];
            let n = node.count as usize;
            let take = left.min(n - j);
            if take == n {
                whole = Some(whole.map_or((k, 1), |(first, m)| (first, m + 1)));
                k += 1;
            } else {
                node.decompress();
                if let Body::Packed(p) = &mut node.body {
                    let a = entry_offset(p.bytes(), j, n);
                    let mut b = a;
                    for _ in 0..take {
                        b = next_pos(p.bytes(), b);
                    }
                    p.remove_bytes(a, b);
                }
                node.count -= take as u32;
                node.incompressible = false;
                k += 1;
            }
            left -= take;
            j = 0;
        }
        if let Some((first, m)) = whole {
            self.nodes.drain(first..first + m);
        }
        self.len -= count;
        self.settle_all();
    }

    /// Removes elements equal to `elem`: at most `limit` of them (0: all), scanning from the
    /// tail when `from_tail`. Returns how many were removed (LREM).
    pub fn remove_eq(&mut self, elem: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let mut emptied = false;
        let mut scratch = Vec::new();
        let mut k = if from_tail { self.nodes.len() } else { 0 };
        loop {
            if from_tail {
                if k == 0 {
                    break;
                }
                k -= 1;
            } else if k >= self.nodes.len() {
                break;
            }
            if limit != 0 && removed == limit {
                break;
            }
            let room = if limit == 0 { usize::MAX } else { limit - removed };
            let node = &self.nodes[k];
            let (hits, rebuilt) = match node.packed_bytes(&mut scratch) {
                None => match &node.body {
                    Body::Plain(b) if **b == *elem => (1, Some(None)),
                    _ => (0, None),
                },
                Some(bytes) => {
                    // Mark the matches this node gives up, from the scanning side.
                    let mut matches: Vec<(usize, usize)> = Vec::new();
                    let mut pos = 0;
                    while pos < bytes.len() {
                        let (d, n) = read_at(bytes, pos);
                        let next = d + n + hdr_size(n);
                        if &bytes[d..d + n] == elem {
                            matches.push((pos, next));
                        }
                        pos = next;
                    }
                    if matches.is_empty() {
                        (0, None)
                    } else {
                        let keep = matches.len().saturating_sub(room);
                        let gone = if from_tail {
                            &matches[keep..]
                        } else {
                            &matches[..matches.len().min(room)]
                        };
                        let mut v = Vec::with_capacity(bytes.len());
                        let mut at = 0;
                        for &(a, b) in gone {
                            v.extend_from_slice(&bytes[at..a]);
                            at = b;
                        }
                        v.extend_from_slice(&bytes[at..]);
                        let left = node.count as usize - gone.len();
                        (gone.len(), Some(if left == 0 { None } else { Some((v, left)) }))
                    }
                }
            };
            match rebuilt {
                None => {}
                // Emptied nodes are dropped in one pass at the end (see `remove_range`).
                Some(None) => {
                    self.nodes[k] = Node::packed_exact(Vec::new(), 0);
                    emptied = true;
                }
                Some(Some((v, left))) => self.nodes[k] = Node::packed_exact(v, left as u32),
            }
            if !from_tail {
                k += 1;
            }
            removed += hits;
        }
        if emptied {
            self.nodes.retain(|n| n.count > 0);
        }
        self.len -= removed;
        if removed > 0 {
            self.settle_all();
        }
        removed
    }

    /// True when node `i` of `n` must stay uncompressed (it is within `depth` of an end).
    #[inline]
    fn in_end_zone(&self, i: usize, n: usize) -> bool {
        let d = self.depth as usize;
        d == 0 || i < d || i + d >= n
    }

    /// Puts node `i` in the state its position asks for.
    fn settle(&mut self, i: usize) {
        let n = self.nodes.len();
        if i >= n {
            return;
        }
        if self.in_end_zone(i, n) {
            self.nodes[i].decompress();
        } else {
            self.nodes[i].compress();
        }
    }

    /// After a node was added or removed at an end: only the nodes at the edges of the end
    /// zones can have changed sides.
    fn settle_ends(&mut self) {
        let d = self.depth as usize;
        if d == 0 {
            return;
        }
        let n = self.nodes.len();
        for i in [d - 1, d, n.wrapping_sub(d + 1), n.wrapping_sub(d)] {
            self.settle(i);
        }
    }

    /// After a change in the middle: every node checked.
    fn settle_all(&mut self) {
        if self.depth == 0 {
            return;
        }
        for i in 0..self.nodes.len() {
            self.settle(i);
        }
    }

    /// Checks the structure's invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            assert!(node.count > 0, "empty node {i}");
            let mut scratch = Vec::new();
            match node.packed_bytes(&mut scratch) {
                Some(bytes) => {
                    let mut c = 0;
                    for_each_entry(bytes, |_| c += 1);
                    assert_eq!(c, node.count as usize, "node {i} count");
                }
                None => assert_eq!(node.count, 1),
            }
            if self.depth > 0 && self.in_end_zone(i, n) {
                assert!(!matches!(node.body, Body::Lzf { .. }), "node {i} compressed in end zone");
            }
            total += node.count as usize;
        }
        assert_eq!(total, self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A tiny deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn elem(r: &mut Rng) -> Vec<u8> {
        let len = match r.below(10) {
            0 => 200 + r.below(300),
            1 => 20_000 + r.below(100),
            2 => 0,
            _ => r.below(20),
        };
        // Repetitive content so compression has something to do.
        let c = b'a' + r.below(3) as u8;
        vec![c; len]
    }

    #[test]
    fn encoding_round_trips_every_header_size() {
        for n in [0usize, 1, 127, 128, 16383, 16384, 70000] {
            let e: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut buf = vec![0u8; entry_size(n)];
            write_entry(&mut buf, &e);
            let (d, len) = read_at(&buf, 0);
            assert_eq!(&buf[d..d + len], &e[..]);
            assert_eq!(d + len + hdr_size(n), buf.len());
            let (s, d2, len2) = read_before(&buf, buf.len());
            assert_eq!((s, d2, len2), (0, d, n));
        }
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = List::new();
        for i in 0..2000 {
            l.push(format!("{i}").as_bytes(), i % 2 == 0);
        }
        assert_eq!(l.len(), 2000);
        l.check();
        assert_eq!(l.pop(true).unwrap(), b"1998");
        assert_eq!(l.pop(false).unwrap(), b"1999");
        assert_eq!(l.get(0).unwrap(), b"1996");
        while l.len() > 3 {
            l.pop(true);
        }
        // Drained nodes give their memory back.
        assert!(l.heap_size() < 1024, "{}", l.heap_size());
        while l.pop(true).is_some() {}
        assert!(l.is_empty());
        assert_eq!(l.free_effort(), 0);
    }

    #[test]
    fn nodes_follow_the_size_limit() {
        let mut l = List::new();
        for _ in 0..1000 {
            l.push(b"m000000042", false);
        }
        // 8 KiB nodes of 12-byte entries hold 681 elements, as Redis's listpacks do.
        assert_eq!(l.nodes.len(), 2);
        assert_eq!(l.nodes[0].count, 681);
        let mut c = List::with_config(5, 0);
        for _ in 0..12 {
            c.push(b"x", true);
        }
        assert_eq!(c.nodes.len(), 3);
        assert_eq!(c.stats().listpack_max, 5);
    }

    #[test]
    fn ten_byte_elements_cost_about_twelve_bytes() {
        let mut l = List::new();
        for i in 0..100_000 {
            l.push(format!("m{i:09}").as_bytes(), false);
        }
        let per = l.heap_size() as f64 / 100_000.0;
        assert!(per < 12.2, "{per} bytes per element");
    }

    #[test]
    fn plain_nodes_for_large_elements() {
        assert!(is_large(MAX_PACKED_ELEMENT + 1));
        set_packed_threshold(5);
        let mut l = List::new();
        l.push(b"a", false);
        l.push(b"plain", false);
        l.push(b"b", false);
        assert_eq!(l.nodes.len(), 3);
        l.check();
        assert_eq!(l.to_vec(), vec![b"a".to_vec(), b"plain".to_vec(), b"b".to_vec()]);
        assert!(l.set(1, b"p2"));
        assert_eq!(l.get(1).unwrap(), b"p2");
        l.insert(1, b"q");
        assert_eq!(l.remove_eq(b"p2", 0, false), 1);
        assert_eq!(l.to_vec(), vec![b"a".to_vec(), b"q".to_vec(), b"b".to_vec()]);
        l.check();
    }

    #[test]
    fn compression_keeps_the_ends_raw() {
        let mut l = List::with_config(4, 1);
        for _ in 0..40 {
            l.push(&[b'x'; 100], false);
        }
        l.check();
        assert!(l.nodes.iter().any(|n| matches!(n.body, Body::Lzf { .. })));
        assert_eq!(l.get(20).unwrap(), vec![b'x'; 100]);
        assert!(l.stats().compressed);
        assert_eq!(l.stats().uncompressed_size, 10 * (4 * 102 + 7));
        while l.len() > 2 {
            l.pop(true);
            l.check();
        }
    }

    /// Random operations against a `VecDeque` model, with small nodes, compression and plain
    /// nodes (elements of `threshold` bytes and more).
    fn fuzz(fill: i64, depth: u64, threshold: u64, seed: u64) {
        set_packed_threshold(threshold);
        let mut r = Rng(seed);
        let mut l = List::with_config(fill, depth);
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        for step in 0..3000 {
            let op = r.below(11);
            match op {
                0 | 1 => {
                    let e = elem(&mut r);
                    l.push(&e, op == 0);
                    if op == 0 { m.push_front(e) } else { m.push_back(e) }
                }
                2 | 3 => {
                    assert_eq!(l.pop(op == 2), if op == 2 { m.pop_front() } else { m.pop_back() })
                }
                4 if !m.is_empty() => {
                    let i = r.below(m.len());
                    assert_eq!(l.get(i).as_ref(), m.get(i));
                }
                5 if !m.is_empty() => {
                    let i = r.below(m.len());
                    let e = elem(&mut r);
                    assert!(l.set(i, &e));
                    m[i] = e;
                }
                6 => {
                    let i = r.below(m.len() + 1);
                    let e = elem(&mut r);
                    l.insert(i, &e);
                    m.insert(i, e);
                }
                7 if !m.is_empty() => {
                    let i = r.below(m.len());
                    let c = r.below(5);
                    l.remove_range(i, c);
                    for _ in 0..c.min(m.len() - i) {
                        m.remove(i);
                    }
                }
                8 if !m.is_empty() => {
                    let e = m[r.below(m.len())].clone();
                    let limit = r.below(3);
                    let from_tail = r.below(2) == 0;
                    let got = l.remove_eq(&e, limit, from_tail);
                    let mut want = 0;
                    let idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] == e).collect();
                    let idx: Vec<usize> = if from_tail {
                        idx.into_iter()
                            .rev()
                            .take(if limit == 0 { usize::MAX } else { limit })
                            .collect()
                    } else {
                        idx.into_iter().take(if limit == 0 { usize::MAX } else { limit }).collect()
                    };
                    let mut sorted = idx.clone();
                    sorted.sort_unstable_by(|a, b| b.cmp(a));
                    for i in sorted {
                        m.remove(i);
                        want += 1;
                    }
                    assert_eq!(got, want);
                }
                9 if !m.is_empty() => {
                    let i = r.below(m.len());
                    let reverse = r.below(2) == 0;
                    let mut got = Vec::new();
                    l.walk(i, reverse, |e| {
                        got.push(e.to_vec());
                        got.len() < 50
                    });
                    let want: Vec<Vec<u8>> = if reverse {
                        m.iter().take(i + 1).rev().take(50).cloned().collect()
                    } else {
                        m.iter().skip(i).take(50).cloned().collect()
                    };
                    assert_eq!(got, want, "walk from {i} reverse {reverse} at step {step}");
                }
                10 => {
                    let c = l.clone();
                    assert_eq!(c.to_vec(), l.to_vec());
                }
                _ => {}
            }
            assert_eq!(l.len(), m.len(), "length at step {step}");
            if step % 50 == 0 {
                l.check();
                assert_eq!(l.to_vec(), m.iter().cloned().collect::<Vec<_>>(), "step {step}");
            }
        }
        l.check();
        assert_eq!(l.to_vec(), m.into_iter().collect::<Vec<_>>());
        set_packed_threshold(0);
    }

    #[test]
    fn removing_many_single_entry_nodes_is_linear() {
        let mut l = List::with_config(1, 0);
        for i in 0..200_000 {
            l.push(if i % 2 == 0 { b"x" } else { b"y" }, false);
        }
        let t = std::time::Instant::now();
        assert_eq!(l.remove_eq(b"x", 0, false), 100_000);
        l.remove_range(10, 99_980);
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(l.to_vec(), vec![b"y".to_vec(); 20]);
        l.check();
    }

    #[test]
    fn fuzz_against_a_model() {
        for (fill, depth) in [(-2, 0), (-1, 1), (1, 0), (3, 1), (8, 2), (-5, 0), (2, 3)] {
            for (seed, threshold) in [(1, 0), (7, 10_000), (12345, 300)] {
                fuzz(fill, depth, threshold, seed);
            }
        }
    }
}
