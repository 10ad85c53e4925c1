//! The hash type: field-value pairs, in Redis 7.0's two encodings.
//!
//! - `listpack` ([`Packed`]): every field and value in one byte buffer, each written as a
//!   LEB128 length and its bytes, field then value, in insertion order. No allocation per
//!   field; lookups walk the buffer, which is cheap at the sizes it is used for
//!   (`hash-max-listpack-entries` pairs of at most `hash-max-listpack-value` bytes).
//! - `hashtable` ([`Table`]): the store's incremental-rehash [`Dict`], whose nodes are single
//!   allocations holding the chain link, both lengths and both strings
//!   (`[next 8][len][len][field][value]`): a 10-byte field with a 10-byte value takes one
//!   32-byte allocation plus its bucket slot, where Redis spends a dict entry and two sds
//!   strings. The dict grows without stalls and its reverse-binary cursor gives HSCAN Redis's
//!   guarantee.
//!
//! Hand-written rather than a crate's map for both reasons the keyspace's dict is (SCAN over a
//! resize, no stall on growth) and for memory: a general map of `Vec<u8>` pairs costs two
//! allocations and 48 bytes of headers per field.
//!
//! Conversion is one way, as in Redis 7.0: a packed hash becomes a table when it gets more
//! than `max_entries` pairs or a field or value longer than `max_value` bytes, and never goes
//! back. No keyspace, no RESP here.

use std::alloc::{Layout, alloc, dealloc};
use std::ptr::NonNull;

use rand::RngExt;

use crate::store::dict::{Dict, Node};
use crate::store::hash_key;

/// The encoding thresholds a write honours (`hash-max-listpack-entries` and `-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

// ---- LEB128 lengths ----

/// Appends `n` as LEB128.
#[inline]
fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Returns the bytes `n` takes as LEB128.
#[inline]
fn len_size(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Reads a LEB128 length at the start of `b`; returns it and the bytes it took. `b` was
/// written by [`put_len`], so it is well formed.
#[inline]
fn get_len(b: &[u8]) -> (usize, usize) {
    let first = b[0];
    if first < 0x80 {
        return (first as usize, 1);
    }
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let c = b[i];
        n |= ((c & 0x7f) as usize) << shift;
        i += 1;
        if c < 0x80 {
            return (n, i);
        }
        shift += 7;
    }
}

/// Writes `n` as LEB128 at `p`; returns the bytes written.
///
/// # Safety
///
/// `p` must be valid for `len_size(n)` bytes of writes.
#[inline]
unsafe fn write_len(p: *mut u8, mut n: usize) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        // SAFETY: i < len_size(n), within the caller's promise.
        unsafe { p.add(i).write((n as u8) | 0x80) };
        n >>= 7;
        i += 1;
    }
    // SAFETY: as above.
    unsafe { p.add(i).write(n as u8) };
    i + 1
}

// ---- listpack ----

/// The compact encoding: pairs packed in one buffer, in insertion order.
#[derive(Clone, Default)]
pub struct Packed {
    buf: Vec<u8>,
    count: usize,
}

/// Where a pair sits in a packed buffer: its start, the start of its value's length, its end.
#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    value_at: usize,
    end: usize,
}

impl Packed {
    /// Returns the string at `at` and the offset after it.
    #[inline]
    fn string_at(&self, at: usize) -> (&[u8], usize) {
        let (n, h) = get_len(&self.buf[at..]);
        let s = at + h;
        (&self.buf[s..s + n], s + n)
    }

    /// Finds the pair of `field`.
    fn find(&self, field: &[u8]) -> Option<Slot> {
        let mut at = 0;
        while at < self.buf.len() {
            let (f, value_at) = self.string_at(at);
            let (n, h) = get_len(&self.buf[value_at..]);
            let end = value_at + h + n;
            if f == field {
                return Some(Slot {
                    start: at,
                    value_at,
                    end,
                });
            }
            at = end;
        }
        None
    }

    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|s| self.string_at(s.value_at).0)
    }

    /// Sets `field` to `value`; true when the field is new. New pairs go at the end.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(s) => {
                let old = s.end - s.value_at;
                let new = len_size(value.len()) + value.len();
                if old == new {
                    let h = len_size(value.len());
                    self.buf[s.value_at + h..s.end].copy_from_slice(value);
                } else {
                    // Replace the value's length and bytes in place: no temporary buffer.
                    let mut len = [0u8; 10];
                    // SAFETY: ten bytes hold any LEB128 usize.
                    let n = unsafe { write_len(len.as_mut_ptr(), value.len()) };
                    if new > old {
                        self.buf.reserve_exact(new - old);
                    }
                    let bytes = len[..n].iter().chain(value).copied();
                    self.buf.splice(s.value_at..s.end, bytes);
                }
                false
            }
            None => {
                // Exact growth: a listpack is sized to its content, as Redis reallocates it
                // per insert (in place while the allocator's size class has room).
                let add = len_size(field.len()) + field.len() + len_size(value.len()) + value.len();
                self.buf.reserve_exact(add);
                put_len(&mut self.buf, field.len());
                self.buf.extend_from_slice(field);
                put_len(&mut self.buf, value.len());
                self.buf.extend_from_slice(value);
                self.count += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(s) = self.find(field) else {
            return false;
        };
        self.buf.drain(s.start..s.end);
        self.count -= 1;
        if self.buf.capacity() > self.buf.len() * 2 {
            self.buf.shrink_to_fit();
        }
        true
    }

    fn iter(&self) -> PackedIter<'_> {
        PackedIter { p: self, at: 0 }
    }

    /// Returns the start of every pair, for random access.
    fn offsets(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.count);
        let mut at = 0;
        while at < self.buf.len() {
            v.push(at);
            let (_, value_at) = self.string_at(at);
            at = self.string_at(value_at).1;
        }
        v
    }

    /// Returns the pair starting at `at`.
    #[inline]
    fn pair_at(&self, at: usize) -> (&[u8], &[u8]) {
        let (f, value_at) = self.string_at(at);
        (f, self.string_at(value_at).0)
    }
}

/// The pairs of a packed hash, in order.
struct PackedIter<'a> {
    p: &'a Packed,
    at: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.p.buf.len() {
            return None;
        }
        let (f, value_at) = self.p.string_at(self.at);
        let (v, end) = self.p.string_at(value_at);
        self.at = end;
        Some((f, v))
    }
}

// ---- hashtable nodes ----

/// One field and its value in a single allocation, chained in a [`Dict`] bucket:
/// `[next: Option<FieldNode> 8][field len][value len][field][value]`, lengths in LEB128.
/// Transparent over its pointer, so `None::<FieldNode>` is null (the dict relies on it).
#[repr(transparent)]
pub struct FieldNode(NonNull<u8>);

// SAFETY: a FieldNode uniquely owns its allocation, like a Box<[u8]>.
unsafe impl Send for FieldNode {}
unsafe impl Sync for FieldNode {}

const LINK: usize = std::mem::size_of::<Option<FieldNode>>();

impl FieldNode {
    fn layout(size: usize) -> Layout {
        // Sizes are bounded by the protocol's bulk limit, far below isize::MAX.
        Layout::from_size_align(size, std::mem::align_of::<Option<FieldNode>>())
            .expect("hash node layout")
    }

    /// Bytes a node of these strings takes.
    #[inline]
    fn size_for(field: &[u8], value: &[u8]) -> usize {
        LINK + len_size(field.len()) + len_size(value.len()) + field.len() + value.len()
    }

    fn new(field: &[u8], value: &[u8]) -> FieldNode {
        let size = Self::size_for(field, value);
        let lay = Self::layout(size);
        // SAFETY: the layout has a non-zero size; the link is written first, then the lengths
        // and strings, all within `size` bytes as `size_for` counted them.
        unsafe {
            let p = alloc(lay);
            let Some(nn) = NonNull::new(p) else {
                std::alloc::handle_alloc_error(lay)
            };
            (p as *mut Option<FieldNode>).write(None);
            let mut off = LINK;
            off += write_len(p.add(off), field.len());
            off += write_len(p.add(off), value.len());
            std::ptr::copy_nonoverlapping(field.as_ptr(), p.add(off), field.len());
            off += field.len();
            std::ptr::copy_nonoverlapping(value.as_ptr(), p.add(off), value.len());
            FieldNode(nn)
        }
    }

    /// Returns (field offset, field len, value len), reading the lengths after the link.
    #[inline]
    fn header(&self) -> (usize, usize, usize) {
        // SAFETY: a node always holds its link and both lengths; two LEB128 numbers of at
        // most 10 bytes each sit within the allocation, and `get_len` stops at the first byte
        // without its top bit, which `write_len` wrote.
        let lens = unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(LINK), 2) };
        if lens[0] < 0x80 && lens[1] < 0x80 {
            return (LINK + 2, lens[0] as usize, lens[1] as usize);
        }
        // A length byte with its top bit set: one of the strings holds at least 128 bytes,
        // so the 20 bytes of two maximal LEB128 lengths are inside the allocation.
        // SAFETY: as just argued.
        let b = unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(LINK), 20) };
        let (fl, a) = get_len(b);
        let (vl, c) = get_len(&b[a..]);
        (LINK + a + c, fl, vl)
    }

    /// Returns the field and the value.
    #[inline]
    pub fn pair(&self) -> (&[u8], &[u8]) {
        let (off, fl, vl) = self.header();
        // SAFETY: `new` wrote fl + vl bytes at `off`.
        unsafe {
            let p = self.0.as_ptr().add(off);
            (
                std::slice::from_raw_parts(p, fl),
                std::slice::from_raw_parts(p.add(fl), vl),
            )
        }
    }

    #[inline]
    pub fn field(&self) -> &[u8] {
        self.pair().0
    }

    #[inline]
    pub fn value(&self) -> &[u8] {
        self.pair().1
    }

    /// Returns the bytes of the allocation.
    fn size(&self) -> usize {
        let (off, fl, vl) = self.header();
        off + fl + vl
    }

    /// Overwrites the value with one of the same length.
    fn overwrite_value(&mut self, value: &[u8]) {
        let (off, fl, vl) = self.header();
        debug_assert_eq!(vl, value.len());
        if vl == value.len() {
            // SAFETY: the value's vl bytes sit at off + fl, and we own the node exclusively.
            unsafe {
                std::ptr::copy_nonoverlapping(value.as_ptr(), self.0.as_ptr().add(off + fl), vl)
            };
        }
    }

    #[inline]
    fn link(&self) -> &Option<FieldNode> {
        // SAFETY: the first LINK bytes hold the (initialised) link, suitably aligned.
        unsafe { &*(self.0.as_ptr() as *const Option<FieldNode>) }
    }

    #[inline]
    fn link_mut(&mut self) -> &mut Option<FieldNode> {
        // SAFETY: as above, with exclusive access through &mut self.
        unsafe { &mut *(self.0.as_ptr() as *mut Option<FieldNode>) }
    }
}

impl Drop for FieldNode {
    fn drop(&mut self) {
        // Unlink the rest of the chain and free it node by node, so a long chain does not
        // recurse.
        let mut next = self.link_mut().take();
        while let Some(mut n) = next {
            next = n.link_mut().take();
            drop(n);
        }
        let lay = Self::layout(self.size());
        // SAFETY: allocated in `new` with this very layout (the size is recomputed from the
        // unchanged lengths); the link is None, so nothing else is owned.
        unsafe { dealloc(self.0.as_ptr(), lay) };
    }
}

// SAFETY: `FieldNode` is `#[repr(transparent)]` over `NonNull`, so `None::<FieldNode>` is null.
unsafe impl Node for FieldNode {
    #[inline]
    fn node_hash(&self) -> u64 {
        hash_key(self.field())
    }

    #[inline]
    fn next_node(&self) -> Option<&FieldNode> {
        self.link().as_ref()
    }

    #[inline]
    fn next_link(&mut self) -> &mut Option<FieldNode> {
        self.link_mut()
    }
}

/// The hashtable encoding: the dict and the bytes its nodes take (for MEMORY USAGE in O(1)).
#[derive(Default)]
pub struct Table {
    dict: Dict<FieldNode>,
    node_bytes: usize,
}

impl Table {
    #[inline]
    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let h = hash_key(field);
        self.dict.find(h, |n| n.field() == field).map(|n| n.value())
    }

    /// Sets `field` to `value`; true when the field is new.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let h = hash_key(field);
        if let Some(n) = self.dict.find_mut(h, |n| n.field() == field) {
            let old_len = n.value().len();
            if old_len == value.len() {
                n.overwrite_value(value);
            } else {
                // A value of another length needs a node of another size: the new node takes
                // the old one's place and chain link.
                let mut fresh = FieldNode::new(field, value);
                *fresh.link_mut() = n.link_mut().take();
                let old_size = n.size();
                self.node_bytes = self.node_bytes - old_size + fresh.size();
                *n = fresh;
            }
            return false;
        }
        let node = FieldNode::new(field, value);
        self.node_bytes += node.size();
        self.dict.insert(h, node);
        true
    }

    /// Adds a field known to be absent (conversion and copies, whose fields are distinct).
    fn insert_new(&mut self, field: &[u8], value: &[u8]) {
        let node = FieldNode::new(field, value);
        self.node_bytes += node.size();
        self.dict.insert(hash_key(field), node);
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let h = hash_key(field);
        match self.dict.remove_where(h, |n| n.field() == field) {
            Some(n) => {
                self.node_bytes -= n.size();
                // As Redis's hashTypeDelete: shrink a table left mostly empty.
                self.dict.shrink_if_needed();
                true
            }
            None => false,
        }
    }

    fn random(&self) -> Option<&FieldNode> {
        let mut rng = rand::rng();
        self.dict.random_fair(FAIR_WIDTH, || rng.random::<u64>())
    }
}

/// Chains up to this long give each of their nodes the same chance in [`Dict::random_fair`]
/// (longer chains are rare at a load factor of at most 1).
const FAIR_WIDTH: usize = 4;

// ---- the hash ----

/// A hash: field-value pairs, packed while small.
pub enum Hash {
    Packed(Packed),
    Table(Box<Table>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Packed(Packed::default())
    }
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Packed(p) => Hash::Packed(p.clone()),
            Hash::Table(t) => {
                let mut c = Table::default();
                t.dict.for_each(|n| {
                    let (f, v) = n.pair();
                    c.insert_new(f, v);
                });
                Hash::Table(Box::new(c))
            }
        }
    }
}

impl Hash {
    /// Returns an empty hash (packed, as Redis creates every hash).
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Returns the number of fields.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Hash::Packed(p) => p.count,
            Hash::Table(t) => t.dict.len(),
        }
    }

    /// True when there are no fields (a hash key never stays empty).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the value of `field`. SORT's `BY` / `GET key->field` patterns read hashes
    /// through this.
    #[inline]
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Packed(p) => p.get(field),
            Hash::Table(t) => t.get(field),
        }
    }

    /// True when `field` is in the hash.
    #[inline]
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Turns a packed hash into a table (one way).
    fn convert(&mut self) {
        if let Hash::Packed(p) = self {
            let mut t = Table::default();
            for (f, v) in p.iter() {
                t.insert_new(f, v);
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Sets `field` to `value`; returns true when the field is new. A packed hash becomes a
    /// table first when either string is longer than `max_value`, and after the write when it
    /// holds more than `max_entries` pairs (Redis's `hashTypeSet`).
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        match self {
            Hash::Packed(p) => {
                if field.len() > lim.max_value || value.len() > lim.max_value {
                    self.convert();
                    return self.set(field, value, lim);
                }
                let new = p.set(field, value);
                if p.count > lim.max_entries {
                    self.convert();
                }
                new
            }
            Hash::Table(t) => t.set(field, value),
        }
    }

    /// Removes `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(p) => p.remove(field),
            Hash::Table(t) => t.remove(field),
        }
    }

    /// Calls `f` with every pair, in the hash's order (insertion order while packed).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        match self {
            Hash::Packed(p) => p.iter().for_each(|(k, v)| f(k, v)),
            Hash::Table(t) => t.dict.for_each(|n| {
                let (k, v) = n.pair();
                f(k, v)
            }),
        }
    }

    /// One step of HSCAN from `cursor`: calls `f` with the pairs of the next bucket(s) until
    /// `enough` says so or `max_steps` buckets were looked at; returns the next cursor (0 when
    /// done). A packed hash is returned whole at once with cursor 0, as Redis does.
    pub fn scan(
        &self,
        mut cursor: u64,
        max_steps: usize,
        mut f: impl FnMut(&[u8], &[u8]),
        mut enough: impl FnMut() -> bool,
    ) -> u64 {
        match self {
            Hash::Packed(p) => {
                p.iter().for_each(|(k, v)| f(k, v));
                0
            }
            Hash::Table(t) => {
                let mut steps = max_steps;
                loop {
                    cursor = t.dict.scan(cursor, |n| {
                        let (k, v) = n.pair();
                        f(k, v)
                    });
                    if cursor == 0 || steps == 0 || enough() {
                        return cursor;
                    }
                    steps -= 1;
                }
            }
        }
    }

    /// Returns a pair picked at random, every pair with the same chance.
    pub fn random_pair(&self) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Packed(p) => {
                if p.count == 0 {
                    return None;
                }
                let i = rand::rng().random_range(0..p.count);
                p.iter().nth(i)
            }
            Hash::Table(t) => t.random().map(|n| n.pair()),
        }
    }

    /// Calls `f` with `n` pairs picked at random, independently (repeats possible), until
    /// `f` returns false. For HRANDFIELD with a negative count.
    pub fn random_pairs(&self, n: usize, mut f: impl FnMut(&[u8], &[u8]) -> bool) {
        if self.is_empty() {
            return;
        }
        let mut rng = rand::rng();
        match self {
            Hash::Packed(p) => {
                let offsets = p.offsets();
                for _ in 0..n {
                    let (k, v) = p.pair_at(offsets[rng.random_range(0..offsets.len())]);
                    if !f(k, v) {
                        return;
                    }
                }
            }
            Hash::Table(t) => {
                for _ in 0..n {
                    let Some(node) = t.dict.random_fair(FAIR_WIDTH, || rng.random::<u64>()) else {
                        return;
                    };
                    let (k, v) = node.pair();
                    if !f(k, v) {
                        return;
                    }
                }
            }
        }
    }

    /// Calls `f` with `n` distinct pairs picked at random (every subset of `n` equally
    /// likely for a packed hash; nearly so for a table); all of them when `n >= len`. For
    /// HRANDFIELD with a positive count.
    pub fn random_distinct(&self, n: usize, mut f: impl FnMut(&[u8], &[u8])) {
        let len = self.len();
        if n >= len {
            return self.for_each(f);
        }
        let mut rng = rand::rng();
        if let Hash::Table(t) = self
            && n.saturating_mul(3) <= len
        {
            // Few of a big table: draw until n different nodes came up.
            let mut seen = std::collections::HashSet::with_capacity(n);
            while seen.len() < n {
                let Some(node) = t.dict.random_fair(FAIR_WIDTH, || rng.random::<u64>()) else {
                    return;
                };
                if seen.insert(node as *const FieldNode) {
                    let (k, v) = node.pair();
                    f(k, v);
                }
            }
            return;
        }
        // Selection sampling (Knuth's algorithm S): one pass in the hash's order, each pair
        // kept with the chance (still needed / still left), so every subset is equally likely.
        let (mut need, mut left) = (n, len);
        self.for_each(|k, v| {
            if need > 0 && rng.random_range(0..left) < need {
                f(k, v);
                need -= 1;
            }
            left -= 1;
        });
    }

    /// Returns the table's size in buckets and its number of fields, for a hashtable-encoded
    /// hash (DEBUG HTSTATS-KEY); `None` while packed.
    pub fn table_size(&self) -> Option<(usize, usize)> {
        match self {
            Hash::Packed(_) => None,
            Hash::Table(t) => Some((t.dict.slots(), t.dict.len())),
        }
    }

    /// Returns the name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Packed(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Returns an estimate of the heap bytes used (the boxed hash included).
    pub fn heap_size(&self) -> usize {
        let own = std::mem::size_of::<Hash>();
        match self {
            Hash::Packed(p) => own + p.buf.capacity(),
            Hash::Table(t) => {
                own + std::mem::size_of::<Table>()
                    + t.dict.buckets() * std::mem::size_of::<usize>()
                    + t.node_bytes
            }
        }
    }

    /// Returns the effort of freeing it in Redis's lazy-free terms: one allocation for a
    /// packed hash, one per field for a table.
    pub fn free_effort(&self) -> usize {
        match self {
            Hash::Packed(_) => 1,
            Hash::Table(t) => t.dict.len(),
        }
    }

    /// True while a table is between two sizes (for tests of the incremental resize).
    #[cfg(test)]
    fn is_rehashing(&self) -> bool {
        matches!(self, Hash::Table(t) if t.dict.is_rehashing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::{HashMap, HashSet};

    const LIM: Limits = Limits {
        max_entries: 128,
        max_value: 64,
    };

    fn contents(h: &Hash) -> HashMap<Vec<u8>, Vec<u8>> {
        let mut m = HashMap::new();
        h.for_each(|k, v| {
            assert!(
                m.insert(k.to_vec(), v.to_vec()).is_none(),
                "field listed twice"
            );
        });
        m
    }

    #[test]
    fn lengths_round_trip() {
        for n in [
            0usize,
            1,
            127,
            128,
            255,
            16383,
            16384,
            1 << 21,
            1 << 40,
            usize::MAX,
        ] {
            let mut b = Vec::new();
            put_len(&mut b, n);
            assert_eq!(b.len(), len_size(n), "{n}");
            assert_eq!(get_len(&b), (n, b.len()), "{n}");
            let mut w = [0u8; 10];
            // SAFETY: 10 bytes hold any usize.
            assert_eq!(unsafe { write_len(w.as_mut_ptr(), n) }, b.len());
            assert_eq!(&w[..b.len()], &b[..]);
        }
    }

    #[test]
    fn packed_set_get_remove_keeps_order() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", LIM));
        assert!(h.set(b"b", b"2", LIM));
        assert!(h.set(b"c", b"3", LIM));
        assert!(!h.set(b"b", b"twenty", LIM), "update");
        assert_eq!(h.get(b"b"), Some(&b"twenty"[..]));
        assert!(!h.set(b"b", b"x", LIM));
        assert_eq!(h.len(), 3);
        assert_eq!(h.encoding_name(), "listpack");
        let mut order = Vec::new();
        h.for_each(|k, v| order.push((k.to_vec(), v.to_vec())));
        assert_eq!(
            order,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.get(b"a"), None);
        assert_eq!(h.len(), 2);
        assert!(h.set(b"", b"", LIM), "empty field and value");
        assert_eq!(h.get(b""), Some(&b""[..]));
    }

    #[test]
    fn converts_on_long_strings_and_many_entries() {
        let mut h = Hash::new();
        h.set(b"f", &[b'x'; 64], LIM);
        assert_eq!(
            h.encoding_name(),
            "listpack",
            "64 bytes is within the limit"
        );
        h.set(b"g", &[b'x'; 65], LIM);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&[b'x'; 64][..]));
        assert_eq!(h.len(), 2);

        let mut h = Hash::new();
        h.set(&[b'k'; 65], b"v", LIM);
        assert_eq!(h.encoding_name(), "hashtable", "a long field converts too");

        let mut h = Hash::new();
        for i in 0..128 {
            h.set(format!("f{i}").as_bytes(), b"v", LIM);
        }
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"f0", b"w", LIM);
        assert_eq!(h.encoding_name(), "listpack", "an update adds no entry");
        h.set(b"one-more", b"v", LIM);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 129);
        // One way: deleting back below the threshold keeps the table.
        for i in 0..120 {
            h.remove(format!("f{i}").as_bytes());
        }
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 9);
        assert_eq!(h.get(b"f127"), Some(&b"v"[..]));
    }

    #[test]
    fn table_nodes_with_long_strings() {
        let mut h = Hash::new();
        let big = vec![b'z'; 70_000];
        h.set(&big, &big[..300], LIM);
        h.set(b"short", &big, LIM);
        assert_eq!(h.get(&big), Some(&big[..300]));
        assert_eq!(h.get(b"short"), Some(&big[..]));
        h.set(&big, b"now short", LIM);
        assert_eq!(h.get(&big), Some(&b"now short"[..]));
        assert_eq!(h.len(), 2);
        let c = h.clone();
        assert_eq!(contents(&c), contents(&h));
    }

    /// Random operations against a HashMap model, across the conversion and the table's
    /// growth and shrinking.
    #[test]
    fn random_ops_match_a_model() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..4 {
            let lim = Limits {
                max_entries: [4, 16, 128, 0][round],
                max_value: 16,
            };
            let mut h = Hash::new();
            let mut m: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            for step in 0..6000 {
                let k = format!("k{}", rng.random_range(0..600u32)).into_bytes();
                match rng.random_range(0..10u32) {
                    0..=5 => {
                        let vlen = if rng.random_range(0..50u32) == 0 {
                            40
                        } else {
                            5
                        };
                        let v: Vec<u8> = (0..vlen).map(|_| rng.random_range(b'a'..=b'z')).collect();
                        let new = h.set(&k, &v, lim);
                        assert_eq!(new, m.insert(k, v).is_none(), "step {step}");
                    }
                    6..=8 => assert_eq!(h.remove(&k), m.remove(&k).is_some(), "step {step}"),
                    _ => assert_eq!(h.get(&k), m.get(&k).map(|v| v.as_slice())),
                }
                assert_eq!(h.len(), m.len());
                // Phase two of each round: mostly deletes, to shrink the table.
                if step == 4000 {
                    let keys: Vec<_> = m.keys().cloned().collect();
                    for k in keys.iter().take(keys.len().saturating_sub(5)) {
                        assert!(h.remove(k));
                        m.remove(k);
                    }
                }
            }
            assert_eq!(contents(&h), m);
            assert_eq!(contents(&h.clone()), m);
        }
    }

    #[test]
    fn table_heap_size_tracks_nodes() {
        let mut h = Hash::new();
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        h.set(b"a", b"1", lim);
        let one = h.heap_size();
        h.set(b"a", b"1234567890", lim);
        assert_eq!(h.heap_size(), one + 9);
        h.remove(b"a");
        h.set(b"b", b"2", lim);
        assert_eq!(h.heap_size(), one);
        assert_eq!(h.free_effort(), 1);
        h.set(b"c", b"3", lim);
        assert_eq!(h.free_effort(), 2);
        assert_eq!(Hash::new().free_effort(), 1);
    }

    /// HSCAN's guarantee over a growing table: every field present throughout is returned.
    #[test]
    fn scan_sees_stable_fields_while_growing() {
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut h = Hash::new();
        for i in 0..500 {
            h.set(format!("stable{i}").as_bytes(), b"v", lim);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        let mut rehashing_seen = false;
        loop {
            cursor = h.scan(
                cursor,
                10,
                |k, _| {
                    seen.insert(k.to_vec());
                },
                || false,
            );
            round += 1;
            // Grow for a while (a table that kept growing faster than the walk would never
            // let it finish), then let the walk end.
            if round <= 20 {
                for j in 0..200 {
                    h.set(format!("extra{round}_{j}").as_bytes(), b"v", lim);
                }
            }
            rehashing_seen |= h.is_rehashing();
            if cursor == 0 {
                break;
            }
        }
        assert!(rehashing_seen, "the test should scan across a resize");
        for i in 0..500 {
            assert!(
                seen.contains(format!("stable{i}").as_bytes()),
                "stable{i} missed"
            );
        }
    }

    #[test]
    fn packed_scan_returns_all_with_cursor_zero() {
        let mut h = Hash::new();
        for i in 0..20 {
            h.set(format!("f{i}").as_bytes(), b"v", LIM);
        }
        let mut n = 0;
        assert_eq!(h.scan(12345, 1, |_, _| n += 1, || true), 0);
        assert_eq!(n, 20);
    }

    #[test]
    fn random_picks_cover_and_stay_in_range() {
        for lim in [
            LIM,
            Limits {
                max_entries: 0,
                max_value: 64,
            },
        ] {
            let mut h = Hash::new();
            for i in 0..10 {
                h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), lim);
            }
            let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
            h.random_pairs(10_000, |k, v| {
                assert_eq!(&k[1..], &v[1..]);
                *counts.entry(k.to_vec()).or_default() += 1;
                true
            });
            assert_eq!(counts.len(), 10);
            // Roughly uniform: each of 10 fields near 1000 of 10000 draws.
            for (k, c) in &counts {
                assert!(
                    (700..1300).contains(c),
                    "{} drawn {c} times",
                    String::from_utf8_lossy(k)
                );
            }
            let mut stop = 0;
            h.random_pairs(100, |_, _| {
                stop += 1;
                stop < 3
            });
            assert_eq!(stop, 3, "stops when told");
            for n in [0, 1, 3, 8, 10, 20] {
                let mut got = HashSet::new();
                h.random_distinct(n, |k, _| assert!(got.insert(k.to_vec()), "repeat"));
                assert_eq!(got.len(), n.min(10));
            }
            let (k, v) = h.random_pair().unwrap();
            assert_eq!(h.get(k), Some(v));
        }
        assert!(Hash::new().random_pair().is_none());
    }
}
