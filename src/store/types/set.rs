//! The set type, in Redis 7.0's two encodings.
//!
//! - `intset`: while every member is the canonical decimal form of an `i64` and there are at
//!   most `set-max-intset-entries` of them, the members are kept as a sorted array of integers
//!   at the smallest width (16, 32 or 64 bits) that holds them all. Lookups are binary
//!   searches; a member that does not fit the width upgrades the whole array, and the width
//!   never goes back down (as Redis's `intset`).
//! - `hashtable`: past that, the members live in the store's generic [`Dict`] (chained buckets,
//!   incremental rehash, reverse-binary SCAN cursor), so a big set grows without a stall and
//!   SSCAN keeps SCAN's guarantee. Each member is one allocation holding the chain link, a
//!   length prefix and the bytes ([`Member`]): about 32 bytes for a 10-byte member plus 8 to 16
//!   bytes of bucket array, where Redis spends a dict entry and an sds string (about 66 bytes).
//!   The conversion is one-way, as in Redis 7.0 (which has no listpack sets).
//!
//! Why hand-written: the intset is Redis's own compact layout (the point of the encoding is its
//! memory and its OBJECT ENCODING name), and a general-purpose hash set would cost 16 more bytes
//! a member (a boxed slice) and give neither the SCAN guarantee nor stall-free growth.
//!
//! The only unsafe code of the type is [`Member`]'s allocation, with a safe interface.

use std::alloc::{Layout, alloc, dealloc};
use std::ptr::NonNull;

use crate::store::dict::{Dict, Node};
use crate::store::hash_key;
use crate::util::parse_i64_strict;

/// Members kept in an intset at most, whatever the configuration says (Redis's cap, for the
/// intset's 32-bit length).
const INTSET_HARD_MAX: u64 = 1 << 30;

/// Members sampled from consecutive buckets to pick one at random (Redis's
/// `GETFAIR_NUM_ENTRIES`): picking a random bucket, then a random member of its chain, would
/// favour members of short chains.
const FAIR_SAMPLE: usize = 20;

// ---- the hashtable member node ----

/// One member of a hashtable-encoded set: a single allocation of
/// `[ next: Option<Member> 8 ][ len: 1 byte, or 0xFF + 8 bytes ][ bytes ]`. Transparent over
/// its pointer, so `None::<Member>` is null (the dict's bucket arrays rely on it).
#[repr(transparent)]
pub struct Member(NonNull<u8>);

// SAFETY: a Member uniquely owns its allocation, like a Box<[u8]>.
unsafe impl Send for Member {}
unsafe impl Sync for Member {}

const LINK: usize = std::mem::size_of::<Option<Member>>();
/// Lengths from this one on take a 9-byte prefix.
const LONG_LEN: usize = 0xFF;

fn member_layout(len: usize) -> Layout {
    let prefix = if len < LONG_LEN { 1 } else { 9 };
    // Cannot fail: a member's length is bounded by the protocol's bulk limit.
    Layout::from_size_align(LINK + prefix + len, 8).expect("member layout")
}

impl Member {
    /// Allocates a member holding a copy of `b`.
    pub fn new(b: &[u8]) -> Member {
        let lay = member_layout(b.len());
        // SAFETY: the layout is non-zero in size; the link, the prefix and the bytes are all
        // written before the pointer is wrapped.
        unsafe {
            let p = alloc(lay);
            let Some(nn) = NonNull::new(p) else { std::alloc::handle_alloc_error(lay) };
            (p as *mut Option<Member>).write(None);
            let mut off = LINK;
            if b.len() < LONG_LEN {
                p.add(off).write(b.len() as u8);
                off += 1;
            } else {
                p.add(off).write(LONG_LEN as u8);
                std::ptr::copy_nonoverlapping(b.len().to_le_bytes().as_ptr(), p.add(off + 1), 8);
                off += 9;
            }
            std::ptr::copy_nonoverlapping(b.as_ptr(), p.add(off), b.len());
            Member(nn)
        }
    }

    /// Returns the member's bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `new` wrote the prefix at LINK and the bytes right after it.
        unsafe {
            let p = self.0.as_ptr() as *const u8;
            let short = *p.add(LINK) as usize;
            if short < LONG_LEN {
                std::slice::from_raw_parts(p.add(LINK + 1), short)
            } else {
                let mut n = [0u8; 8];
                std::ptr::copy_nonoverlapping(p.add(LINK + 1), n.as_mut_ptr(), 8);
                std::slice::from_raw_parts(p.add(LINK + 9), usize::from_le_bytes(n))
            }
        }
    }

    /// Returns the size of the allocation.
    fn alloc_size(len: usize) -> usize {
        member_layout(len).size()
    }

    #[inline]
    fn link(&self) -> &Option<Member> {
        // SAFETY: the link is initialised at offset 0 and lives as long as the member.
        unsafe { &*(self.0.as_ptr() as *const Option<Member>) }
    }

    #[inline]
    fn link_mut(&mut self) -> &mut Option<Member> {
        // SAFETY: as above; `&mut self` gives exclusive access.
        unsafe { &mut *(self.0.as_ptr() as *mut Option<Member>) }
    }

    /// The address of the allocation, to find this very node again in the table.
    #[inline]
    fn addr(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // Unlink the chain iteratively: a recursive drop of a long chain could overflow the
        // stack.
        let mut next = self.link_mut().take();
        while let Some(mut m) = next {
            next = m.link_mut().take();
            drop(m);
        }
        let lay = member_layout(self.bytes().len());
        // SAFETY: allocated in `new` with this very layout; the link is None (nothing to drop).
        unsafe { dealloc(self.0.as_ptr(), lay) };
    }
}

// SAFETY: `Member` is `#[repr(transparent)]` over `NonNull`, so `None::<Member>` is null.
unsafe impl Node for Member {
    #[inline]
    fn node_hash(&self) -> u64 {
        hash_key(self.bytes())
    }

    #[inline]
    fn next_node(&self) -> Option<&Member> {
        self.link().as_ref()
    }

    #[inline]
    fn next_link(&mut self) -> &mut Option<Member> {
        self.link_mut()
    }
}

// ---- the intset ----

/// Sorted distinct integers at the smallest width that holds them all.
#[derive(Clone, Debug)]
pub enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

impl IntSet {
    /// Returns the number of integers.
    pub fn len(&self) -> usize {
        match self {
            IntSet::W16(v) => v.len(),
            IntSet::W32(v) => v.len(),
            IntSet::W64(v) => v.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the width of each integer in bytes (2, 4 or 8).
    pub fn width(&self) -> usize {
        match self {
            IntSet::W16(_) => 2,
            IntSet::W32(_) => 4,
            IntSet::W64(_) => 8,
        }
    }

    /// Returns the integer at position `i` (ascending order).
    #[inline]
    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            IntSet::W16(v) => v.get(i).map(|&x| x as i64),
            IntSet::W32(v) => v.get(i).map(|&x| x as i64),
            IntSet::W64(v) => v.get(i).copied(),
        }
    }

    /// True when `x` is in the set.
    pub fn contains(&self, x: i64) -> bool {
        match self {
            IntSet::W16(v) => i16::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::W32(v) => i32::try_from(x).is_ok_and(|x| v.binary_search(&x).is_ok()),
            IntSet::W64(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// Widens the array so it can hold `x`.
    fn upgrade_for(&mut self, x: i64) {
        let need = if i16::try_from(x).is_ok() {
            2
        } else if i32::try_from(x).is_ok() {
            4
        } else {
            8
        };
        if need <= self.width() {
            return;
        }
        let old = std::mem::take(self);
        *self = match (old, need) {
            (IntSet::W16(v), 4) => IntSet::W32(v.into_iter().map(i32::from).collect()),
            (IntSet::W16(v), _) => IntSet::W64(v.into_iter().map(i64::from).collect()),
            (IntSet::W32(v), _) => IntSet::W64(v.into_iter().map(i64::from).collect()),
            (w64, _) => w64,
        };
    }

    /// Adds `x`; false when it was already there.
    pub fn insert(&mut self, x: i64) -> bool {
        self.upgrade_for(x);
        fn ins<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
            match v.binary_search(&x) {
                Ok(_) => false,
                Err(at) => {
                    v.insert(at, x);
                    true
                }
            }
        }
        match self {
            // After the upgrade the value fits the width.
            IntSet::W16(v) => ins(v, x as i16),
            IntSet::W32(v) => ins(v, x as i32),
            IntSet::W64(v) => ins(v, x),
        }
    }

    /// Removes `x`; false when it was not there. The width stays.
    pub fn remove(&mut self, x: i64) -> bool {
        fn rem<T: Ord + Copy>(v: &mut Vec<T>, x: Option<T>) -> bool {
            match x.map(|x| v.binary_search(&x)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            }
        }
        match self {
            IntSet::W16(v) => rem(v, i16::try_from(x).ok()),
            IntSet::W32(v) => rem(v, i32::try_from(x).ok()),
            IntSet::W64(v) => rem(v, Some(x)),
        }
    }

    /// Removes and returns the integer at position `i`.
    fn remove_at(&mut self, i: usize) -> i64 {
        match self {
            IntSet::W16(v) => v.remove(i) as i64,
            IntSet::W32(v) => v.remove(i) as i64,
            IntSet::W64(v) => v.remove(i),
        }
    }

    /// Calls `f` with every integer in ascending order.
    pub fn for_each(&self, mut f: impl FnMut(i64)) {
        match self {
            IntSet::W16(v) => v.iter().for_each(|&x| f(x as i64)),
            IntSet::W32(v) => v.iter().for_each(|&x| f(x as i64)),
            IntSet::W64(v) => v.iter().for_each(|&x| f(x)),
        }
    }

    fn heap_size(&self) -> usize {
        match self {
            IntSet::W16(v) => v.capacity() * 2,
            IntSet::W32(v) => v.capacity() * 4,
            IntSet::W64(v) => v.capacity() * 8,
        }
    }
}

// ---- the set ----

/// One member as the set holds it: an integer of an intset, or the bytes of a hashtable
/// member. Commands reply it (or format it) without copying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Elem<'a> {
    /// Returns the member's bytes, formatting an integer into `tmp`.
    #[inline]
    pub fn bytes<'b>(&self, tmp: &'b mut itoa::Buffer) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Elem::Int(n) => tmp.format(n).as_bytes(),
            Elem::Str(s) => s,
        }
    }

    /// Returns the member's bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut tmp = itoa::Buffer::new();
        self.bytes(&mut tmp).to_vec()
    }
}

/// A member taken out of a set (SPOP).
pub enum Popped {
    Int(i64),
    Str(Member),
}

impl Popped {
    /// Returns the member as an [`Elem`].
    pub fn elem(&self) -> Elem<'_> {
        match self {
            Popped::Int(n) => Elem::Int(*n),
            Popped::Str(m) => Elem::Str(m.bytes()),
        }
    }
}

enum Enc {
    Ints(IntSet),
    Table {
        dict: Dict<Member>,
        /// Bytes allocated for the members (the bucket arrays are counted from the dict).
        bytes: usize,
    },
}

/// A set of byte strings, `intset`- or `hashtable`-encoded.
pub struct Set {
    enc: Enc,
}

impl Default for Set {
    fn default() -> Self {
        Set { enc: Enc::Ints(IntSet::default()) }
    }
}

impl Clone for Set {
    fn clone(&self) -> Set {
        match &self.enc {
            Enc::Ints(i) => Set { enc: Enc::Ints(i.clone()) },
            Enc::Table { dict, bytes } => {
                let mut copy = Dict::new();
                dict.for_each(|m| copy.insert(m.node_hash(), Member::new(m.bytes())));
                Set { enc: Enc::Table { dict: copy, bytes: *bytes } }
            }
        }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Set({}, {} members)", self.encoding_name(), self.len())
    }
}

impl Set {
    /// Returns an empty intset-encoded set.
    pub fn new() -> Set {
        Set::default()
    }

    /// Returns an empty set in the encoding Redis's `setTypeCreate` picks for a set whose
    /// first member is `first`: an intset when it is an integer, a hashtable otherwise.
    pub fn for_member(first: &[u8]) -> Set {
        if parse_i64_strict(first).is_some() { Set::new() } else { Set::new_table() }
    }

    /// Returns an intset-encoded set holding `i` as it is (RDB loading keeps the width).
    pub fn from_intset(i: IntSet) -> Set {
        Set { enc: Enc::Ints(i) }
    }

    /// Returns the intset of an intset-encoded set (RDB saving writes it as a blob).
    pub fn intset(&self) -> Option<&IntSet> {
        match &self.enc {
            Enc::Ints(i) => Some(i),
            Enc::Table { .. } => None,
        }
    }

    /// Returns an empty hashtable-encoded set.
    pub fn new_table() -> Set {
        Set { enc: Enc::Table { dict: Dict::new(), bytes: 0 } }
    }

    /// Returns the number of elements.
    pub fn len(&self) -> usize {
        match &self.enc {
            Enc::Ints(i) => i.len(),
            Enc::Table { dict, .. } => dict.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while intset-encoded.
    pub fn is_intset(&self) -> bool {
        matches!(self.enc, Enc::Ints(_))
    }

    /// Calls `f` with every member, in the set's internal order (integers of an intset are
    /// formatted as decimal text). ZUNIONSTORE & co. and SORT read sets through this.
    pub fn for_each_member(&self, mut f: impl FnMut(&[u8])) {
        match &self.enc {
            Enc::Ints(i) => {
                let mut tmp = itoa::Buffer::new();
                i.for_each(|x| f(tmp.format(x).as_bytes()));
            }
            Enc::Table { dict, .. } => dict.for_each(|m| f(m.bytes())),
        }
    }

    /// Calls `f` with every member as an [`Elem`], in the set's internal order.
    pub fn for_each_elem<'s>(&'s self, mut f: impl FnMut(Elem<'s>)) {
        match &self.enc {
            Enc::Ints(i) => i.for_each(|x| f(Elem::Int(x))),
            Enc::Table { dict, .. } => dict.iter().for_each(|m| f(Elem::Str(m.bytes()))),
        }
    }

    /// True when `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.enc {
            Enc::Ints(i) => parse_i64_strict(member).is_some_and(|x| i.contains(x)),
            Enc::Table { dict, .. } => {
                dict.find(hash_key(member), |m| m.bytes() == member).is_some()
            }
        }
    }

    /// True when the member `e` is in the set (an integer is looked up without formatting it
    /// when this set is an intset).
    pub fn contains_elem(&self, e: Elem<'_>) -> bool {
        match (&self.enc, e) {
            (Enc::Ints(i), Elem::Int(x)) => i.contains(x),
            (_, Elem::Str(s)) => self.contains(s),
            (Enc::Table { .. }, Elem::Int(x)) => {
                self.contains(itoa::Buffer::new().format(x).as_bytes())
            }
        }
    }

    /// Adds `member`; false when it was already there. An intset turns into a hashtable when
    /// the member is not an integer or the set grows past `max_intset` members.
    pub fn add(&mut self, member: &[u8], max_intset: u64) -> bool {
        if let Enc::Ints(i) = &mut self.enc {
            match parse_i64_strict(member) {
                Some(x) => {
                    if !i.insert(x) {
                        return false;
                    }
                    if i.len() as u64 > max_intset.min(INTSET_HARD_MAX) {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        let Enc::Table { dict, bytes } = &mut self.enc else { unreachable!("converted above") };
        let h = hash_key(member);
        if dict.find(h, |m| crate::store::short_eq(m.bytes(), member)).is_some() {
            return false;
        }
        *bytes += Member::alloc_size(member.len());
        dict.insert(h, Member::new(member));
        true
    }

    /// Adds a member given as an [`Elem`] (an integer goes into an intset without being
    /// formatted).
    pub fn add_elem(&mut self, e: Elem<'_>, max_intset: u64) -> bool {
        match (&mut self.enc, e) {
            (Enc::Ints(i), Elem::Int(x)) => {
                if !i.insert(x) {
                    return false;
                }
                if i.len() as u64 > max_intset.min(INTSET_HARD_MAX) {
                    self.convert();
                }
                true
            }
            (_, Elem::Str(s)) => self.add(s, max_intset),
            (_, Elem::Int(x)) => self.add(itoa::Buffer::new().format(x).as_bytes(), max_intset),
        }
    }

    /// Turns an intset into a hashtable (one-way, as in Redis).
    fn convert(&mut self) {
        let Enc::Ints(i) = &self.enc else { return };
        let mut dict = Dict::new();
        let mut bytes = 0;
        let mut tmp = itoa::Buffer::new();
        i.for_each(|x| {
            let s = tmp.format(x).as_bytes();
            bytes += Member::alloc_size(s.len());
            dict.insert(hash_key(s), Member::new(s));
        });
        self.enc = Enc::Table { dict, bytes };
    }

    /// Removes `member`; false when it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.enc {
            Enc::Ints(i) => parse_i64_strict(member).is_some_and(|x| i.remove(x)),
            Enc::Table { dict, bytes } => {
                match dict.remove_where(hash_key(member), |m| m.bytes() == member) {
                    Some(m) => {
                        *bytes -= Member::alloc_size(member.len());
                        drop(m);
                        // Shrink a table that emptied out, as Redis does after each removal.
                        dict.shrink_if_needed();
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// Removes a member given as an [`Elem`]; false when it was not there.
    pub fn remove_elem(&mut self, e: Elem<'_>) -> bool {
        match (&mut self.enc, e) {
            (Enc::Ints(i), Elem::Int(x)) => i.remove(x),
            (_, Elem::Str(s)) => self.remove(s),
            (_, Elem::Int(x)) => self.remove(itoa::Buffer::new().format(x).as_bytes()),
        }
    }

    /// Picks a member at random (close to uniformly: see [`FAIR_SAMPLE`]); `None` when empty.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<Elem<'_>> {
        use rand::RngExt;
        match &self.enc {
            Enc::Ints(i) => {
                if i.is_empty() {
                    return None;
                }
                i.get(rng.random_range(0..i.len())).map(Elem::Int)
            }
            Enc::Table { dict, .. } => Self::random_node(dict, rng).map(|m| Elem::Str(m.bytes())),
        }
    }

    /// Picks a node of a table: collects up to [`FAIR_SAMPLE`] members from consecutive
    /// buckets starting at a random one and takes one of them uniformly, as Redis's
    /// `dictGetFairRandomKey` does, falling back to a random bucket's random member.
    fn random_node<'d>(dict: &'d Dict<Member>, rng: &mut impl rand::Rng) -> Option<&'d Member> {
        use rand::RngExt;
        if dict.is_empty() {
            return None;
        }
        let mut picked = [None; FAIR_SAMPLE];
        let n = dict.sample(rng.random(), &mut picked);
        if n == 0 {
            return dict.random(|| rng.random::<u64>());
        }
        picked[rng.random_range(0..n)]
    }

    /// Removes a member picked at random and returns it; `None` when empty.
    pub fn pop_random(&mut self, rng: &mut impl rand::Rng) -> Option<Popped> {
        use rand::RngExt;
        match &mut self.enc {
            Enc::Ints(i) => {
                if i.is_empty() {
                    return None;
                }
                Some(Popped::Int(i.remove_at(rng.random_range(0..i.len()))))
            }
            Enc::Table { dict, bytes } => {
                let (addr, h) = Self::random_node(dict, rng).map(|m| (m.addr(), m.node_hash()))?;
                let m = dict.remove_where(h, |m| m.addr() == addr)?;
                *bytes -= Member::alloc_size(m.bytes().len());
                dict.shrink_if_needed();
                Some(Popped::Str(m))
            }
        }
    }

    /// One step of SSCAN over a hashtable: visits the bucket(s) of `cursor` and returns the
    /// next cursor (0 when done). An intset is visited whole and returns 0.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(Elem<'_>)) -> u64 {
        match &self.enc {
            Enc::Ints(i) => {
                i.for_each(|x| f(Elem::Int(x)));
                0
            }
            Enc::Table { dict, .. } => dict.scan(cursor, |m| f(Elem::Str(m.bytes()))),
        }
    }

    /// Moves a resize under way on by up to `n` buckets; true while more remain. Writes move
    /// one bucket each; this lets a caller (a cron, DEBUG) finish a resize sooner.
    pub fn rehash(&mut self, n: usize) -> bool {
        match &mut self.enc {
            Enc::Ints(_) => false,
            Enc::Table { dict, .. } => dict.rehash(n),
        }
    }

    /// Returns (buckets, rehashing) of a hashtable, for DEBUG HTSTATS-KEY; `None` for an
    /// intset.
    pub fn table_stats(&self) -> Option<(usize, bool)> {
        match &self.enc {
            Enc::Ints(_) => None,
            Enc::Table { dict, .. } => Some((dict.slots(), dict.is_rehashing())),
        }
    }

    /// Returns (slots, members) of a hashtable-encoded set; `None` for an intset (DEBUG
    /// HTSTATS-KEY).
    pub fn table_size(&self) -> Option<(usize, usize)> {
        match &self.enc {
            Enc::Ints(_) => None,
            Enc::Table { dict, .. } => Some((dict.slots(), dict.len())),
        }
    }

    /// Returns the name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self.enc {
            Enc::Ints(_) => "intset",
            Enc::Table { .. } => "hashtable",
        }
    }

    /// Returns an estimate of the heap bytes used.
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<Set>()
            + match &self.enc {
                Enc::Ints(i) => i.heap_size(),
                Enc::Table { dict, bytes } => dict.buckets() * 8 + bytes,
            }
    }

    /// Returns the effort of freeing it in Redis's lazy-free terms: one allocation for an
    /// intset, one per member for a hashtable.
    pub fn free_effort(&self) -> usize {
        match &self.enc {
            Enc::Ints(_) => 1,
            Enc::Table { dict, .. } => dict.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use std::collections::HashSet;

    fn members(s: &Set) -> HashSet<Vec<u8>> {
        let mut out = HashSet::new();
        s.for_each_member(|m| {
            assert!(out.insert(m.to_vec()), "member seen twice");
        });
        out
    }

    #[test]
    fn member_node_round_trips_short_and_long() {
        for len in [0usize, 1, 13, 254, 255, 256, 70_000] {
            let b: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let m = Member::new(&b);
            assert_eq!(m.bytes(), &b[..]);
            assert!(m.next_node().is_none());
        }
    }

    #[test]
    fn intset_widths_upgrade_and_stay_sorted() {
        let mut i = IntSet::default();
        assert!(i.insert(5));
        assert!(i.insert(-3));
        assert!(!i.insert(5));
        assert_eq!(i.width(), 2);
        assert!(i.insert(40_000));
        assert_eq!(i.width(), 4);
        assert!(i.insert(i64::MIN));
        assert_eq!(i.width(), 8);
        assert!(i.insert(i64::MAX));
        let mut v = Vec::new();
        i.for_each(|x| v.push(x));
        assert_eq!(v, vec![i64::MIN, -3, 5, 40_000, i64::MAX]);
        assert!(i.contains(40_000) && i.contains(-3) && !i.contains(4));
        assert!(i.remove(i64::MIN) && !i.remove(i64::MIN));
        // The width never goes back down.
        assert_eq!(i.width(), 8);
        // A 16-bit set refuses values outside its width without upgrading.
        let mut small = IntSet::default();
        small.insert(1);
        assert!(!small.contains(1 << 40) && !small.remove(1 << 40));
        assert_eq!(small.width(), 2);
    }

    #[test]
    fn encodings_follow_redis() {
        let mut s = Set::for_member(b"17");
        assert_eq!(s.encoding_name(), "intset");
        assert!(s.add(b"17", 512));
        assert!(s.add(b"16", 512));
        assert!(!s.add(b"16", 512));
        // Not canonical integers: " 1", "01", "+1", "-0" are strings.
        for odd in [&b"01"[..], b"+1", b"-0", b" 1"] {
            let mut t = Set::for_member(b"1");
            t.add(b"1", 512);
            t.add(odd, 512);
            assert_eq!(t.encoding_name(), "hashtable", "{odd:?}");
            assert_eq!(t.len(), 2);
        }
        assert!(s.add(b"a", 512));
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"16") && s.contains(b"17") && s.contains(b"a"));
        let mut big = Set::new();
        for i in 0..512 {
            big.add(i.to_string().as_bytes(), 512);
        }
        assert_eq!(big.encoding_name(), "intset");
        big.add(b"512", 512);
        assert_eq!(big.encoding_name(), "hashtable");
        let mut zero = Set::new();
        zero.add(b"1", 0);
        assert_eq!(zero.encoding_name(), "hashtable");
        assert_eq!(Set::for_member(b"x").encoding_name(), "hashtable");
    }

    /// Random operations against a HashSet model, across the intset -> hashtable conversion
    /// and the table's growth and shrinking.
    #[test]
    fn random_operations_match_a_model() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..20 {
            let mut s = Set::new();
            let mut model: HashSet<Vec<u8>> = HashSet::new();
            let max = if round % 2 == 0 { 64 } else { 512 };
            for _ in 0..3000 {
                let v: Vec<u8> = match rng.random_range(0..10) {
                    0 => format!("s{}", rng.random_range(0..300)).into_bytes(),
                    1 => rng.random_range(i64::MIN..=i64::MAX).to_string().into_bytes(),
                    2 => rng.random_range(-100_000i64..100_000).to_string().into_bytes(),
                    _ => rng.random_range(0..300).to_string().into_bytes(),
                };
                match rng.random_range(0..4) {
                    0 => assert_eq!(s.remove(&v), model.remove(&v)),
                    1 => {
                        let p = s.pop_random(&mut rng);
                        match p {
                            None => assert!(model.is_empty()),
                            Some(p) => assert!(model.remove(&p.elem().to_vec())),
                        }
                    }
                    _ => assert_eq!(s.add(&v, max), model.insert(v.clone())),
                }
                assert_eq!(s.len(), model.len());
                assert_eq!(s.contains(&v), model.contains(&v));
            }
            assert_eq!(members(&s), model);
            let c = s.clone();
            assert_eq!(members(&c), model);
            assert_eq!(c.encoding_name(), s.encoding_name());
        }
    }

    #[test]
    fn random_is_close_to_uniform() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut s = Set::new_table();
        for i in 0..10 {
            s.add(format!("m{i}").as_bytes(), 0);
        }
        let mut counts = std::collections::HashMap::new();
        for _ in 0..10_000 {
            *counts.entry(s.random(&mut rng).unwrap().to_vec()).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 10);
        for (_, n) in counts {
            assert!((800..1200).contains(&n), "{n}");
        }
    }

    #[test]
    fn scan_visits_every_member_of_a_table() {
        let mut s = Set::new_table();
        for i in 0..1000 {
            s.add(format!("m{i}").as_bytes(), 0);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = s.scan(cursor, |e| {
                seen.insert(e.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        let mut ints = Set::new();
        ints.add(b"3", 512);
        ints.add(b"1", 512);
        let mut v = Vec::new();
        assert_eq!(ints.scan(0, |e| v.push(e.to_vec())), 0);
        assert_eq!(v, vec![b"1".to_vec(), b"3".to_vec()]);
    }

    #[test]
    fn sizes_and_effort() {
        let mut s = Set::new();
        s.add(b"1", 512);
        assert_eq!(s.free_effort(), 1);
        s.add(b"x", 512);
        assert_eq!(s.free_effort(), 2);
        assert!(s.heap_size() > 0);
        s.remove(b"x");
        s.remove(b"1");
        assert!(s.is_empty());
    }
}
