//! The sorted set type: members (byte strings) ordered by (score, member), with Redis 7.0's two
//! encodings.
//!
//! - `listpack` ([`pack::Pack`]): one buffer of entries in order, while the set has at most
//!   `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes.
//! - `skiplist` ([`Skip`]): each member in one allocation (score, length, bytes, and the link
//!   of its hash chain), filed in a [`Dict`] by member for O(1) lookups and SCAN's guarantee,
//!   and referenced from an order-statistic B+ tree ([`tree::Tree`]) for O(log n) ranks and
//!   ranges. The name stays Redis's, as OBJECT ENCODING must report it.
//!
//! A set converts to `skiplist` when it outgrows the thresholds, and back only where Redis
//! converts back (the destinations of ZRANGESTORE and the ZUNIONSTORE family).
//!
//! Scores compare as IEEE doubles (`-0 == 0`; NaN never gets in), ties broken by the members'
//! bytes, as Redis orders them. Ranges are found by rank: a score or lex range becomes the rank
//! span `start..end` of the members inside it, so every read is "find two ranks, walk between
//! them", whichever the encoding.
//!
//! Unsafe code is limited to the member nodes ([`ZNode`]): the dict owns them, the tree holds
//! plain copies of their addresses, and a node leaves the tree before the dict frees it.

mod pack;
mod tree;

use std::alloc::{Layout, alloc, dealloc};
use std::cmp::Ordering;
use std::ptr::NonNull;

use crate::store::dict::{Dict, Node};
use crate::store::hash_key;

pub use pack::Pack;
use tree::Tree;

/// The encoding thresholds in force (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 128,
            value: 64,
        }
    }
}

/// A score interval, as ZRANGEBYSCORE takes it (`(` makes a bound exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    /// True when `s` is not below the lower bound.
    #[inline]
    pub fn above_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    /// True when `s` is not above the upper bound.
    #[inline]
    pub fn below_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    /// True when no score can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex interval: `-`, `+`, or a member with `[` (inclusive) or `(` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LexBound<'a> {
    NegInf,
    PosInf,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

/// A lex interval, as ZRANGEBYLEX takes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl LexRange<'_> {
    /// True when `m` is not below the lower bound.
    #[inline]
    pub fn above_min(&self, m: &[u8]) -> bool {
        match self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= b,
            LexBound::Excl(b) => m > b,
        }
    }

    /// True when `m` is not above the upper bound.
    #[inline]
    pub fn below_max(&self, m: &[u8]) -> bool {
        match self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= b,
            LexBound::Excl(b) => m < b,
        }
    }

    /// True when no member can be in the range (Redis compares the bounds, `-` and `+` being
    /// exclusive infinities).
    pub fn is_empty(&self) -> bool {
        fn key<'a>(b: LexBound<'a>) -> (u8, &'a [u8], bool) {
            match b {
                LexBound::NegInf => (0, b"", true),
                LexBound::PosInf => (2, b"", true),
                LexBound::Incl(s) => (1, s, false),
                LexBound::Excl(s) => (1, s, true),
            }
        }
        let (a, b) = (key(self.min), key(self.max));
        match (a.0, a.1).cmp(&(b.0, b.1)) {
            Ordering::Greater => true,
            Ordering::Equal => a.2 || b.2,
            Ordering::Less => false,
        }
    }
}

// ---- member nodes ----

/// Bytes before the member in a node: next link, score, length.
const NODE_HEADER: usize = 20;

/// A member of a `skiplist`-encoded set, in one allocation:
///
/// ```text
/// [ next: Option<ZNode> 8 ][ score: f64 8 ][ len: u32 4 ][ member ]
/// ```
///
/// A 10-byte member takes one 32-byte allocation. Owned by the dict's chains; transparent
/// over its pointer so `None::<ZNode>` is null, as the dict requires.
#[repr(transparent)]
pub struct ZNode(NonNull<u8>);

/// A non-owning copy of a node's address, as the tree holds it.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
struct ZRef(NonNull<u8>);

fn node_layout(len: usize) -> Layout {
    // Members are bounded by proto-max-bulk-len, far below isize::MAX.
    Layout::from_size_align(NODE_HEADER + len, 8).expect("zset node layout")
}

impl ZNode {
    fn new(member: &[u8], score: f64) -> ZNode {
        let len = u32::try_from(member.len()).expect("member longer than 4 GiB");
        let lay = node_layout(member.len());
        // SAFETY: the layout has a non-zero size; every field is written before use; the
        // pointer is 8-aligned, so the link and score are aligned and the length is 4-aligned.
        unsafe {
            let p = alloc(lay);
            let Some(nn) = NonNull::new(p) else {
                std::alloc::handle_alloc_error(lay)
            };
            (p as *mut Option<ZNode>).write(None);
            (p.add(8) as *mut f64).write(score);
            (p.add(16) as *mut u32).write(len);
            std::ptr::copy_nonoverlapping(member.as_ptr(), p.add(NODE_HEADER), member.len());
            ZNode(nn)
        }
    }

    #[inline]
    fn r(&self) -> ZRef {
        ZRef(self.0)
    }

    #[inline]
    pub fn member(&self) -> &[u8] {
        // SAFETY: the node is live while owned.
        unsafe { self.r().member() }
    }

    #[inline]
    pub fn score(&self) -> f64 {
        // SAFETY: as above.
        unsafe { self.r().score() }
    }
}

impl ZRef {
    /// # Safety
    /// The node must be live (owned by the dict of the set this reference came from).
    #[inline]
    unsafe fn score(&self) -> f64 {
        unsafe { (self.0.as_ptr().add(8) as *const f64).read() }
    }

    /// # Safety
    /// As [`ZRef::score`]; the slice must not outlive the node.
    #[inline]
    unsafe fn member<'a>(&self) -> &'a [u8] {
        unsafe {
            let len = (self.0.as_ptr().add(16) as *const u32).read() as usize;
            std::slice::from_raw_parts(self.0.as_ptr().add(NODE_HEADER), len)
        }
    }

}

/// An entry of the ordered index: the node and a copy of its score. Searches compare the
/// scores in the tree's own contiguous memory and dereference a node only on a tie of scores
/// (a cache miss per comparison otherwise: about 17 per search in a 100,000-member set). The
/// copy costs 8 bytes per member; the node keeps its score too, for ZSCORE and ZADD's lookups
/// through the dict.
#[derive(Clone, Copy)]
struct Elem {
    score: f64,
    node: ZRef,
}

impl Elem {
    /// True when this entry sorts before (score, member).
    ///
    /// # Safety
    /// The node must be live, as for [`ZRef::score`].
    #[inline]
    unsafe fn before(&self, score: f64, member: &[u8]) -> bool {
        self.score < score || (self.score == score && unsafe { self.node.member() } < member)
    }

    /// True when this entry sorts before the present member `node` of score `score`, or is it
    /// (the predicate that finds a present member's entry, comparing its address first).
    ///
    /// # Safety
    /// As [`Elem::before`].
    #[inline]
    unsafe fn upto(&self, score: f64, node: ZRef, member: &[u8]) -> bool {
        self.score < score
            || (self.score == score
                && (self.node == node || unsafe { self.node.member() } < member))
    }
}

impl Drop for ZNode {
    fn drop(&mut self) {
        // Free the chain behind this node iteratively, so a long chain cannot overflow the
        // stack through recursive drops.
        let mut next = self.next_link().take();
        while let Some(mut n) = next {
            next = n.next_link().take();
            drop(n);
        }
        let len = self.member().len();
        // SAFETY: allocated in `new` with this layout; the link was taken above.
        unsafe { dealloc(self.0.as_ptr(), node_layout(len)) }
    }
}

// SAFETY: `ZNode` is `#[repr(transparent)]` over `NonNull`, so `None::<ZNode>` is null.
unsafe impl Node for ZNode {
    #[inline]
    fn node_hash(&self) -> u64 {
        hash_key(self.member())
    }

    #[inline]
    fn next_node(&self) -> Option<&ZNode> {
        // SAFETY: the link is the node's first field, initialised in `new`.
        unsafe {
            (self.0.as_ptr() as *const Option<ZNode>)
                .as_ref()
                .and_then(|l| l.as_ref())
        }
    }

    #[inline]
    fn next_link(&mut self) -> &mut Option<ZNode> {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { &mut *(self.0.as_ptr() as *mut Option<ZNode>) }
    }
}

/// The `skiplist` encoding: the nodes by member, and their order.
pub struct Skip {
    dict: Dict<ZNode>,
    tree: Tree<Elem>,
    /// Total bytes of the members, for memory estimates.
    bytes: usize,
}

// SAFETY: a `Skip` owns its nodes (through the dict) like a collection of boxes; the tree's
// addresses point only into them and are never shared outside `&self`/`&mut self` borrows.
unsafe impl Send for Skip {}
unsafe impl Sync for Skip {}

impl Skip {
    fn new() -> Skip {
        Skip {
            dict: Dict::new(),
            tree: Tree::new(),
            bytes: 0,
        }
    }

    #[inline]
    fn find(&self, member: &[u8]) -> Option<&ZNode> {
        self.find_hashed(hash_key(member), member)
    }

    #[inline]
    fn find_hashed(&self, h: u64, member: &[u8]) -> Option<&ZNode> {
        self.dict.find(h, |n| n.member() == member)
    }

    /// Returns the rank (score, member) has or would have.
    #[inline]
    fn rank_of(&self, score: f64, member: &[u8]) -> usize {
        // SAFETY: every reference in the tree is to a live node of this set.
        self.tree.partition(|e| unsafe { e.before(score, member) })
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        self.insert_hashed(hash_key(member), member, score);
    }

    fn insert_hashed(&mut self, h: u64, member: &[u8], score: f64) {
        let node = ZNode::new(member, score);
        let e = Elem {
            score,
            node: node.r(),
        };
        // SAFETY: tree references are to live nodes of this set.
        self.tree
            .insert_by(|x| unsafe { x.before(score, member) }, e);
        self.dict.insert(h, node);
        self.bytes += member.len();
    }

    /// Appends a member that sorts after every present one.
    fn push(&mut self, member: &[u8], score: f64) {
        let node = ZNode::new(member, score);
        self.tree.push(Elem {
            score,
            node: node.r(),
        });
        self.dict.insert(hash_key(member), node);
        self.bytes += member.len();
    }

    fn update(&mut self, member: &[u8], score: f64) {
        let Some(node) = self.find(member) else {
            return;
        };
        let (old, r) = (node.score(), node.r());
        self.set_score(r, member, old, score);
    }

    /// Gives the present member `member` (node `r`, score `old`) the score `score`, moving its
    /// entry in the tree: found from (old score, address) without comparing member bytes
    /// except against ties, and moved inside its leaf when its neighbours there bracket the new
    /// score.
    fn set_score(&mut self, r: ZRef, member: &[u8], old: f64, score: f64) {
        let e = Elem { score, node: r };
        // SAFETY: tree references are to live nodes of this set.
        let found = self.tree.move_by(
            |x| unsafe { x.upto(old, r, member) },
            |x| unsafe { x.before(score, member) },
            e,
        );
        debug_assert!(found, "zset member missing from its tree");
        // SAFETY: `r` is a live node owned by this set's dict, and `&mut self` excludes every
        // other access to it; the score field is 8-aligned (see `ZNode::new`).
        unsafe { (r.0.as_ptr().add(8) as *mut f64).write(score) }
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        // One probe of the dict: the node leaves it first, and stays alive (held here) until
        // its tree entry is gone.
        let node = self.dict.remove_where(hash_key(member), |n| n.member() == member)?;
        let (score, r) = (node.score(), node.r());
        // SAFETY: tree references are to live nodes of this set (`node` included, until the
        // drop below).
        self.tree
            .remove_by(|x| unsafe { x.upto(score, r, member) });
        self.bytes -= member.len();
        drop(node);
        self.dict.shrink_if_needed();
        Some(score)
    }

    fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.tree.len());
        if start >= end {
            return 0;
        }
        for _ in start..end {
            let Some(e) = self.tree.remove_at(start) else {
                break;
            };
            // SAFETY: the node is live until the dict drops it just below.
            let member = unsafe { e.node.member() };
            self.bytes -= member.len();
            let node = self.dict.remove_where(hash_key(member), |n| n.0 == e.node.0);
            drop(node);
        }
        self.dict.shrink_if_needed();
        end - start
    }

    fn walk(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64) -> bool) {
        // SAFETY: tree references are to live nodes of this set, borrowed with `self`.
        self.tree
            .walk(start, end, rev, |e| unsafe { f(e.node.member(), e.score) });
    }
}

impl Clone for Skip {
    fn clone(&self) -> Skip {
        let mut s = Skip::new();
        self.walk(0, self.tree.len(), false, |m, sc| {
            s.push(m, sc);
            true
        });
        s
    }
}

/// A sorted set.
#[derive(Clone)]
pub enum ZSet {
    Pack(Pack),
    Skip(Box<Skip>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(Pack::new())
    }
}

impl ZSet {
    /// Returns an empty sorted set (`listpack`).
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// Returns an empty sorted set in the encoding Redis's `zsetTypeCreate` picks for about
    /// `size` members of at most `max_len` bytes.
    pub fn with_hint(size: usize, max_len: usize, lim: Limits) -> ZSet {
        if size <= lim.entries && max_len <= lim.value {
            ZSet::new()
        } else {
            ZSet::Skip(Box::new(Skip::new()))
        }
    }

    /// Returns the number of members.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.len(),
            ZSet::Skip(s) => s.tree.len(),
        }
    }

    /// True when there are no members.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns (slots, members) of the member table of a skiplist-encoded set; `None` for a
    /// listpack (DEBUG HTSTATS-KEY).
    pub fn table_size(&self) -> Option<(usize, usize)> {
        match self {
            ZSet::Skip(s) => Some((s.dict.slots(), s.dict.len())),
            _ => None,
        }
    }

    /// Returns the name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Skip(_) => "skiplist",
        }
    }

    /// True for the compact encoding.
    pub fn is_pack(&self) -> bool {
        matches!(self, ZSet::Pack(_))
    }

    /// Returns an estimate of the heap bytes used.
    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Pack(p) => p.heap_size() + std::mem::size_of::<ZSet>(),
            ZSet::Skip(s) => {
                // Node allocations round up to the allocator's 16-byte classes.
                let nodes = s.tree.len() * (NODE_HEADER + 8) + s.bytes;
                nodes + s.dict.buckets() * 8 + s.tree.heap_size() + std::mem::size_of::<Skip>()
            }
        }
    }

    /// Returns the effort of freeing it in Redis's lazy-free terms (a listpack is one block).
    pub fn free_effort(&self) -> usize {
        match self {
            ZSet::Pack(_) => 1,
            ZSet::Skip(s) => s.tree.len(),
        }
    }

    /// Returns the score of `member`.
    #[inline]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(p) => p.score(member),
            ZSet::Skip(s) => s.find(member).map(|n| n.score()),
        }
    }

    /// Makes room in a `listpack` set for these (member, score) entries (a no-op for
    /// `skiplist`).
    pub fn reserve_for<'a>(&mut self, entries: impl Iterator<Item = (&'a [u8], f64)>) {
        if let ZSet::Pack(p) = self {
            p.reserve_for(entries);
        }
    }

    /// Converts a `listpack` set to `skiplist`.
    pub fn convert_to_skip(&mut self) {
        if let ZSet::Pack(p) = self {
            let mut s = Skip::new();
            for a in p.iter() {
                s.push(a.member, a.score);
            }
            *self = ZSet::Skip(Box::new(s));
        }
    }

    /// Converts a `skiplist` set back to `listpack` when it fits the thresholds (Redis's
    /// `zsetConvertToListpackIfNeeded`, for the destinations of the store commands).
    pub fn shrink_encoding_if_fits(&mut self, lim: Limits) {
        if let ZSet::Skip(s) = self {
            if s.tree.len() > lim.entries {
                return;
            }
            let mut fits = true;
            s.walk(0, s.tree.len(), false, |m, _| {
                fits = m.len() <= lim.value;
                fits
            });
            if !fits {
                return;
            }
            let mut p = Pack::new();
            s.walk(0, s.tree.len(), false, |m, sc| {
                p.push(m, sc);
                true
            });
            *self = ZSet::Pack(p);
        }
    }

    /// Adds a member known to be absent, converting to `skiplist` first when the set would
    /// outgrow `lim`.
    pub fn insert(&mut self, member: &[u8], score: f64, lim: Limits) {
        if let ZSet::Pack(p) = self
            && (p.len() + 1 > lim.entries || member.len() > lim.value)
        {
            self.convert_to_skip();
        }
        match self {
            ZSet::Pack(p) => {
                p.insert(member, score);
            }
            ZSet::Skip(s) => s.insert(member, score),
        }
    }

    /// Appends a member that sorts after every present one (for building a set from ordered
    /// input), converting as [`ZSet::insert`] does.
    pub fn push(&mut self, member: &[u8], score: f64, lim: Limits) {
        if let ZSet::Pack(p) = self
            && (p.len() + 1 > lim.entries || member.len() > lim.value)
        {
            self.convert_to_skip();
        }
        match self {
            ZSet::Pack(p) => p.push(member, score),
            ZSet::Skip(s) => s.push(member, score),
        }
    }

    /// Changes the score of a present member.
    pub fn update(&mut self, member: &[u8], score: f64) {
        match self {
            ZSet::Pack(p) => {
                if p.remove(member).is_some() {
                    p.insert(member, score);
                }
            }
            ZSet::Skip(s) => s.update(member, score),
        }
    }

    /// Looks `member` up once and lets `decide` pick its score from the current one (`None`:
    /// absent); `decide` returns the score to store, or `None` to leave the set unchanged.
    /// Inserts an absent member (converting as [`ZSet::insert`] does) or moves a present one.
    /// ZADD's path: one hash and one probe of the member table per member, where a lookup
    /// followed by [`ZSet::update`] would take three.
    pub fn add_with(
        &mut self,
        member: &[u8],
        lim: Limits,
        decide: impl FnOnce(Option<f64>) -> Option<f64>,
    ) {
        match self {
            ZSet::Pack(p) => match p.score(member) {
                Some(cur) => {
                    if let Some(new) = decide(Some(cur)) {
                        self.update(member, new);
                    }
                }
                None => {
                    if let Some(new) = decide(None) {
                        self.insert(member, new, lim);
                    }
                }
            },
            ZSet::Skip(s) => {
                let h = hash_key(member);
                match s.find_hashed(h, member) {
                    Some(node) => {
                        let (old, r) = (node.score(), node.r());
                        if let Some(new) = decide(Some(old)) {
                            s.set_score(r, member, old, new);
                        }
                    }
                    None => {
                        if let Some(new) = decide(None) {
                            s.insert_hashed(h, member, new);
                        }
                    }
                }
            }
        }
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(p) => p.remove(member),
            ZSet::Skip(s) => s.remove(member),
        }
    }

    /// Returns the 0-based rank of `member` in ascending order, and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Pack(p) => p.find(member).map(|(r, a)| (r, a.score)),
            ZSet::Skip(s) => {
                let score = s.find(member)?.score();
                Some((s.rank_of(score, member), score))
            }
        }
    }

    /// Returns the number of members before the first one for which `before` is false; it
    /// must hold for a prefix of the members in order.
    fn partition(&self, before: impl Fn(&[u8], f64) -> bool) -> usize {
        match self {
            ZSet::Pack(p) => p.partition(before),
            // SAFETY: tree references are to live nodes of this set.
            ZSet::Skip(s) => s
                .tree
                .partition(|e| unsafe { before(e.node.member(), e.score) }),
        }
    }

    /// Returns the ranks `start..end` of the members whose score is in `r`.
    pub fn score_ranks(&self, r: &ScoreRange) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let start = self.partition(|_, s| !r.above_min(s));
        let end = self.partition(|_, s| r.below_max(s));
        (start, end.max(start))
    }

    /// Returns the ranks `start..end` of the members inside `r` (meaningful when the members
    /// share one score, as Redis documents).
    pub fn lex_ranks(&self, r: &LexRange) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let start = self.partition(|m, _| !r.above_min(m));
        let end = self.partition(|m, _| r.below_max(m));
        (start, end.max(start))
    }

    /// Calls `f` with the members (and scores) of ranks `start..end` in ascending order, or
    /// descending with `rev`; `f` returns false to stop.
    pub fn walk(&self, start: usize, end: usize, rev: bool, f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            ZSet::Pack(p) => p.walk(start, end, rev, f),
            ZSet::Skip(s) => s.walk(start, end, rev, f),
        }
    }

    /// Calls `f` with every member and score, in order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        self.walk(0, self.len(), false, |m, s| {
            f(m, s);
            true
        });
    }

    /// Returns the member and score of rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Pack(p) => p.get(rank),
            ZSet::Skip(s) => {
                let e = s.tree.get(rank)?;
                // SAFETY: a live node of this set, borrowed with `self`.
                Some(unsafe { (e.node.member(), e.score) })
            }
        }
    }

    /// Removes the members of ranks `start..end`; returns how many went.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        match self {
            ZSet::Pack(p) => p.remove_ranks(start, end),
            ZSet::Skip(s) => s.remove_ranks(start, end),
        }
    }

    /// One step of ZSCAN: visits members from `cursor` and returns the next cursor. A
    /// `listpack` set is returned whole (cursor 0), as Redis does.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Pack(_) => {
                self.for_each(f);
                0
            }
            ZSet::Skip(s) => s.dict.scan(cursor, |n| f(n.member(), n.score())),
        }
    }

    /// Returns the length of the longest member (for the encoding of store destinations).
    pub fn max_member_len(&self) -> usize {
        let mut m = 0;
        self.for_each(|x, _| m = m.max(x.len()));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A total order key for the model: (score, member), scores never NaN.
    #[derive(PartialEq, Clone, Debug)]
    struct K(f64, Vec<u8>);
    impl Eq for K {}
    impl Ord for K {
        fn cmp(&self, o: &Self) -> Ordering {
            self.0
                .partial_cmp(&o.0)
                .unwrap_or(Ordering::Equal)
                .then_with(|| self.1.cmp(&o.1))
        }
    }
    impl PartialOrd for K {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }

    fn contents(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::new();
        z.for_each(|m, s| v.push((m.to_vec(), s)));
        v
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_operations_against_a_model_across_the_conversion() {
        let lim = Limits {
            entries: 64,
            value: 16,
        };
        let mut z = ZSet::new();
        let mut by_member: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let mut converted = false;
        for step in 0..20_000 {
            let x = rng.next();
            let member = format!("m{}", x % 3000).into_bytes();
            let score = ((x >> 20) % 200) as f64 / 4.0 - 10.0;
            match x % 7 {
                0 | 1 => {
                    if let Some(s) = z.remove(&member) {
                        assert_eq!(by_member.remove(&member), Some(s));
                    } else {
                        assert!(!by_member.contains_key(&member));
                    }
                }
                2 => {
                    if z.score(&member).is_some() {
                        z.update(&member, score);
                        by_member.insert(member, score);
                    }
                }
                3 => {
                    // ZADD's path: one lookup, the old score seen by `decide`.
                    let want = by_member.get(&member).copied();
                    let mut seen = None;
                    z.add_with(&member, lim, |cur| {
                        seen = Some(cur);
                        Some(score)
                    });
                    assert_eq!(seen, Some(want));
                    by_member.insert(member, score);
                }
                _ => {
                    if z.score(&member).is_none() {
                        z.insert(&member, score, lim);
                        by_member.insert(member, score);
                    }
                }
            }
            converted |= !z.is_pack();
            assert_eq!(z.len(), by_member.len());
            if step % 500 == 0 || step == 19_999 {
                let model: Vec<K> = {
                    let mut v: Vec<K> = by_member.iter().map(|(m, s)| K(*s, m.clone())).collect();
                    v.sort();
                    v
                };
                let got = contents(&z);
                assert_eq!(got.len(), model.len());
                for (i, (g, k)) in got.iter().zip(&model).enumerate() {
                    assert_eq!((&g.0, g.1), (&k.1, k.0));
                    assert_eq!(z.rank(&g.0), Some((i, g.1)));
                    assert_eq!(z.get(i), Some((&g.0[..], g.1)));
                }
                let r = ScoreRange {
                    min: -2.0,
                    max: 5.0,
                    minex: true,
                    maxex: false,
                };
                let (a, b) = z.score_ranks(&r);
                let want: Vec<_> = model.iter().filter(|k| k.0 > -2.0 && k.0 <= 5.0).collect();
                assert_eq!(b - a, want.len());
                if !want.is_empty() {
                    assert_eq!(z.get(a).map(|x| x.0.to_vec()), Some(want[0].1.clone()));
                }
            }
        }
        assert!(converted);
    }

    #[test]
    fn a_small_set_is_small() {
        // The value boxes a ZSet: 16 bytes, the buffer's header lives in its allocation.
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
    }

    #[test]
    fn encoding_thresholds_and_conversion_back() {
        let lim = Limits {
            entries: 3,
            value: 5,
        };
        let mut z = ZSet::new();
        z.insert(b"a", 1.0, lim);
        z.insert(b"b", 2.0, lim);
        z.insert(b"c", 3.0, lim);
        assert_eq!(z.encoding_name(), "listpack");
        z.insert(b"d", 4.0, lim);
        assert_eq!(z.encoding_name(), "skiplist");
        z.remove(b"d");
        assert_eq!(z.encoding_name(), "skiplist");
        z.shrink_encoding_if_fits(lim);
        assert_eq!(z.encoding_name(), "listpack");
        assert_eq!(contents(&z).len(), 3);
        z.insert(b"longer", 0.0, lim);
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(z.rank(b"longer"), Some((0, 0.0)));
        let c = z.clone();
        assert_eq!(contents(&c), contents(&z));
        assert!(ZSet::with_hint(4, 1, lim).encoding_name() == "skiplist");
        assert!(ZSet::with_hint(3, 5, lim).encoding_name() == "listpack");
    }

    #[test]
    fn lex_ranges_and_negative_zero() {
        for lim in [
            Limits::default(),
            Limits {
                entries: 0,
                value: 0,
            },
        ] {
            let mut z = ZSet::new();
            for m in [&b"a"[..], b"b", b"c", b"d", b"e"] {
                z.insert(m, 0.0, lim);
            }
            let r = LexRange {
                min: LexBound::Excl(b"a"),
                max: LexBound::Incl(b"c"),
            };
            assert_eq!(z.lex_ranks(&r), (1, 3));
            let all = LexRange {
                min: LexBound::NegInf,
                max: LexBound::PosInf,
            };
            assert_eq!(z.lex_ranks(&all), (0, 5));
            let none = LexRange {
                min: LexBound::PosInf,
                max: LexBound::PosInf,
            };
            assert!(none.is_empty());
            // -0 and 0 are the same score: ties go by member. Only the skiplist keeps the sign
            // (Redis's listpack stores the score as text, and "-0" comes back as 0).
            z.update(b"e", -0.0);
            assert_eq!(z.rank(b"e").map(|x| x.0), Some(4));
            assert_eq!(z.score(b"e").unwrap().is_sign_negative(), !z.is_pack());
            assert_eq!(z.remove_ranks(1, 3), 2);
            assert_eq!(
                contents(&z).iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
                vec![b"a".to_vec(), b"d".to_vec(), b"e".to_vec()]
            );
        }
    }

    #[test]
    fn scan_visits_every_member_of_a_big_set() {
        let lim = Limits::default();
        let mut z = ZSet::new();
        for i in 0..1000 {
            z.insert(format!("m{i}").as_bytes(), i as f64, lim);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, |m, _| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
