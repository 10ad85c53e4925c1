//! The keyspace's hash table: chained buckets in power-of-two tables, grown and shrunk by
//! incremental rehashing, scanned with a reverse-binary cursor.
//!
//! Why not `hashbrown`: SCAN must return every key present for the whole iteration at least
//! once, even while the table grows or shrinks in between calls, and growth must not stall the
//! server. Both need stable bucket positions and two live tables during a resize, which is how
//! Redis's dict works; no general-purpose map exposes either.
//!
//! During a resize both tables hold nodes; bucket `rehash_idx` and those below it in the old
//! table are empty. Each write moves one bucket, and the server cron moves more in the
//! background, so a resize of millions of keys costs a little per operation, never one long
//! pause.
//!
//! The caller hashes the key (with the store's seeded hasher) and passes the hash in, so one
//! hash computation serves shard choice and bucket choice.
//!
//! The table is generic over its [`Node`] so the same machinery (incremental resize, cursor
//! walk) serves the keyspace's entries and the per-database index of keys with a TTL
//! (`store::expires`).
//!
//! Each table can also keep one bit per bucket, set when a *marked* node is filed there (for
//! the keyspace: an entry with a TTL, see [`Node::node_marked`]). The active expiry walks the
//! set bits ([`Dict::marked_step`]) to find keys with a TTL without visiting the others, 64
//! buckets per word, and clears a bit when it finds no marked node left under it. That replaces
//! a second table of keys with a TTL (Redis's `expires` dict: a node and a bucket slot per key)
//! with an eighth of a byte per bucket, allocated only once a table holds a marked node.
//!
//! Unsafe code here is limited to bucket arrays: they are allocated zeroed (an empty bucket is
//! a null pointer) and freed without a walk once known empty, so resizes of huge tables do no
//! O(n) work up front or at the end.

use super::entry::Entry;

const INITIAL_SIZE: usize = 4;

/// What the table needs of the nodes it chains: the hash a node is filed under, and its link
/// to the next node of the same bucket.
///
/// # Safety
///
/// `None::<Self>` must be all zero bits (a node is an owning non-null pointer, and
/// `#[repr(transparent)]` over it), so that bucket arrays can come zeroed from the allocator.
pub unsafe trait Node: Sized {
    /// Returns the hash the node is filed under. Entries do not store it (8 bytes a key) and
    /// recompute it from the key; this is only called while a resize moves a node.
    fn node_hash(&self) -> u64;
    fn next_node(&self) -> Option<&Self>;
    fn next_link(&mut self) -> &mut Option<Self>;
    /// Returns whether the node's bucket must be marked (see the module doc); the active
    /// expiry's walk visits only marked buckets. False unless a node type says otherwise.
    #[inline]
    fn node_marked(&self) -> bool {
        false
    }
}

// SAFETY: `Entry` is `#[repr(transparent)]` over `NonNull`, so `None::<Entry>` is null.
unsafe impl Node for Entry {
    #[inline]
    fn node_hash(&self) -> u64 {
        super::hash_key(self.key())
    }

    #[inline]
    fn next_node(&self) -> Option<&Entry> {
        self.next()
    }

    #[inline]
    fn next_link(&mut self) -> &mut Option<Entry> {
        self.next_mut()
    }

    /// An entry with a TTL marks its bucket, for the active expiry.
    #[inline]
    fn node_marked(&self) -> bool {
        self.expire().is_some()
    }
}

struct Table<N> {
    buckets: Vec<Option<N>>,
    used: usize,
    /// One bit per bucket: set when a marked node was filed there since the bit was last
    /// cleared (it may outlive the node: the walk clears it). Empty until the first mark.
    marks: Vec<u64>,
}

/// The link `depth` nodes down bucket `b`'s chain: where [`Dict`]'s `locate` found a node
/// (the link holding it).
#[inline]
fn link_at<N: Node>(buckets: &mut [Option<N>], b: usize, depth: usize) -> &mut Option<N> {
    let mut link = &mut buckets[b];
    for _ in 0..depth {
        // The depth came from `locate` on the same unchanged table, so the chain is long
        // enough.
        link = match link {
            Some(n) => n.next_link(),
            None => unreachable!("dict chain shorter than located depth"),
        };
    }
    link
}

impl<N> Default for Table<N> {
    fn default() -> Self {
        Table { buckets: Vec::new(), used: 0, marks: Vec::new() }
    }
}

impl<N: Node> Table<N> {
    /// Returns a table of `size` empty buckets. The array comes zeroed from the allocator: for
    /// a big table those are fresh pages, touched only as entries arrive, so starting a resize
    /// of millions of buckets does not stop to write them all (Redis's `zcalloc`).
    fn with_size(size: usize) -> Table<N> {
        const { assert!(std::mem::size_of::<Option<N>>() == std::mem::size_of::<usize>()) };
        if size == 0 {
            return Table::default();
        }
        let Ok(layout) = std::alloc::Layout::array::<Option<N>>(size) else {
            panic!("hash table of {size} buckets is too large");
        };
        // SAFETY: the layout is non-zero; zero bits are `None` for every `Node` (its safety
        // contract), so all `size` elements are initialised; the allocation comes from the
        // global allocator with the layout `Vec` will free it with.
        let buckets = unsafe {
            let p = std::alloc::alloc_zeroed(layout) as *mut Option<N>;
            if p.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            Vec::from_raw_parts(p, size, size)
        };
        Table { buckets, used: 0, marks: Vec::new() }
    }

    /// Frees a table known to hold nothing without visiting its buckets one by one (dropping
    /// a `Vec` of millions of `None`s would).
    fn discard_empty(mut self) {
        debug_assert_eq!(self.used, 0);
        if self.used == 0 {
            // SAFETY: shrinking the length is sound; every bucket is `None`, so nothing that
            // needs dropping is forgotten.
            unsafe { self.buckets.set_len(0) };
        }
    }
}

impl<N> Table<N> {
    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    #[inline]
    fn is_empty_table(&self) -> bool {
        self.buckets.is_empty()
    }

    #[inline]
    fn is_marked(&self, b: usize) -> bool {
        self.marks.get(b / 64).is_some_and(|w| (w >> (b % 64)) & 1 != 0)
    }

    /// Marks bucket `b`; the bit array is allocated (zeroed, so lazily paged in) on first use.
    #[inline]
    fn set_mark(&mut self, b: usize) {
        if self.marks.is_empty() {
            self.marks = vec![0; self.buckets.len().div_ceil(64)];
        }
        if let Some(w) = self.marks.get_mut(b / 64) {
            *w |= 1 << (b % 64);
        }
    }

    #[inline]
    fn clear_mark(&mut self, b: usize) {
        if let Some(w) = self.marks.get_mut(b / 64) {
            *w &= !(1 << (b % 64));
        }
    }
}

/// What [`Dict::marked_step`] charges its budget for a visited bucket (a skipped word of 64
/// unmarked buckets costs 1).
pub(crate) const MARKED_VISIT_COST: usize = 16;

/// A hash table of nodes (by default the keyspace's entries).
pub struct Dict<N = Entry> {
    t0: Table<N>,
    t1: Table<N>,
    /// Next bucket of `t0` to move to `t1`, while a resize is under way.
    rehash_idx: Option<usize>,
}

impl<N> Default for Dict<N> {
    fn default() -> Self {
        Dict { t0: Table::default(), t1: Table::default(), rehash_idx: None }
    }
}

/// What [`Dict::find_or_evict`] found.
pub enum Found<'a, N> {
    Live(&'a mut N),
    /// The node was there but had to go; it is no longer in the table.
    Evicted(N),
    Absent,
}

fn rev(v: u64) -> u64 {
    v.reverse_bits()
}

/// Visits the chain starting at `head`.
#[inline]
fn walk<N: Node>(head: Option<&N>, f: &mut impl FnMut(&N)) {
    let mut cur = head;
    while let Some(n) = cur {
        f(n);
        cur = n.next_node();
    }
}

/// Visits the chain starting at `head`, for writing.
#[inline]
fn walk_mut<N: Node>(head: Option<&mut N>, f: &mut impl FnMut(&mut N)) {
    let mut cur = head;
    while let Some(n) = cur {
        f(n);
        cur = n.next_link().as_mut();
    }
}

/// Appends the hashes of the marked nodes of bucket `b` of `t` to `out`; unmarks the bucket and
/// returns true when there are none.
fn collect_marked<N: Node>(
    t: &mut Table<N>,
    b: usize,
    out: &mut smallvec::SmallVec<[u64; 16]>,
) -> bool {
    let before = out.len();
    walk(t.buckets[b].as_ref(), &mut |n: &N| {
        if n.node_marked() {
            out.push(n.node_hash());
        }
    });
    let none = out.len() == before;
    if none {
        t.clear_mark(b);
    }
    none
}

/// The cursor arithmetic of a scan step (Redis's reverse-binary cursor): calls `f(in_large,
/// bucket)` for the bucket of cursor `v` in the small table (the only one outside a resize,
/// `m_large` `None`) and, during a resize, for every bucket of the large table that expands
/// it; returns the next cursor (0 when the scan is done).
fn cursor_buckets(
    mut v: u64,
    m_small: u64,
    m_large: Option<u64>,
    mut f: impl FnMut(bool, usize),
) -> u64 {
    f(false, (v & m_small) as usize);
    match m_large {
        None => {
            v |= !m_small;
            v = rev(rev(v).wrapping_add(1));
        }
        Some(m1) => loop {
            f(true, (v & m1) as usize);
            v |= !m1;
            v = rev(rev(v).wrapping_add(1));
            if v & (m_small ^ m1) == 0 {
                break;
            }
        },
    }
    v
}

impl<N: Node> Dict<N> {
    pub fn new() -> Dict<N> {
        Dict::default()
    }

    /// Returns the number of nodes.
    #[inline]
    pub fn len(&self) -> usize {
        self.t0.used + self.t1.used
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the number of buckets in both tables (for DEBUG HTSTATS and memory estimates).
    pub fn buckets(&self) -> usize {
        self.t0.buckets.len() + self.t1.buckets.len()
    }

    #[inline]
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Moves up to `n` buckets from the old table to the new one, visiting at most `10 * n`
    /// empty buckets on the way (as Redis does, so a sparse table cannot make one step long).
    /// Returns true while more remain.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else { return false };
        let mut empty_visits = n.max(1) * 10;
        let mut moved = 0;
        while moved < n && self.t0.used > 0 {
            // Buckets below `idx` are empty and `used > 0`, so a full bucket lies ahead.
            while idx < self.t0.buckets.len() && self.t0.buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            // Marks move with the marked nodes of a marked bucket.
            let carry = self.t0.is_marked(idx);
            let Some(slot) = self.t0.buckets.get_mut(idx) else { break };
            let mut chain = slot.take();
            let mask = self.t1.mask();
            while let Some(mut node) = chain {
                chain = node.next_link().take();
                let b = (node.node_hash() as usize) & mask;
                if carry && node.node_marked() {
                    self.t1.set_mark(b);
                }
                let slot = &mut self.t1.buckets[b];
                *node.next_link() = slot.take();
                *slot = Some(node);
                self.t0.used -= 1;
                self.t1.used += 1;
            }
            idx += 1;
            moved += 1;
        }
        if self.t0.used == 0 {
            let old = std::mem::replace(&mut self.t0, std::mem::take(&mut self.t1));
            old.discard_empty();
            self.rehash_idx = None;
            false
        } else {
            self.rehash_idx = Some(idx);
            true
        }
    }

    #[inline]
    fn step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(1);
        }
    }

    fn start_resize(&mut self, size: usize) {
        let size = size.max(INITIAL_SIZE).next_power_of_two();
        if self.rehash_idx.is_some() || size == self.t0.buckets.len() {
            return;
        }
        if self.t0.is_empty_table() {
            self.t0 = Table::with_size(size);
            return;
        }
        self.t1 = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    fn grow_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        if self.t0.is_empty_table() {
            self.start_resize(INITIAL_SIZE);
        } else if self.t0.used >= self.t0.buckets.len() {
            self.start_resize(self.t0.used + 1);
        }
    }

    /// Sizes a table that has no buckets yet for `n` nodes at once (a load's RESIZEDB hint, as
    /// Redis's `dictExpand`), sparing the rehashes its growth would cost: the size it would
    /// have grown to. Does nothing to a table in use.
    pub fn reserve(&mut self, n: usize) {
        if n > 0 && self.t0.is_empty_table() && self.rehash_idx.is_none() {
            self.start_resize(n);
        }
    }

    /// Starts shrinking the table when it is less than 10% full, as Redis's cron does. Returns
    /// true when a resize was started.
    pub fn shrink_if_needed(&mut self) -> bool {
        if self.rehash_idx.is_some() {
            return false;
        }
        let size = self.t0.buckets.len();
        if size > INITIAL_SIZE && self.t0.used * 100 / size < 10 {
            if self.t0.used == 0 {
                std::mem::take(&mut self.t0).discard_empty();
                return false;
            }
            self.start_resize(self.t0.used);
            return true;
        }
        false
    }

    /// Finds the first node filed under `hash` for which `is` holds.
    pub fn find(&self, hash: u64, mut is: impl FnMut(&N) -> bool) -> Option<&N> {
        for t in [&self.t0, &self.t1] {
            if t.is_empty_table() {
                continue;
            }
            let mut cur = t.buckets[(hash as usize) & t.mask()].as_ref();
            while let Some(n) = cur {
                if is(n) {
                    return Some(n);
                }
                cur = n.next_node();
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Visits every node of the bucket(s) where a node of this hash would be: the caller
    /// filters (nodes of other hashes share buckets).
    pub fn visit_bucket_of(&self, hash: u64, mut f: impl FnMut(&N)) {
        for t in [&self.t0, &self.t1] {
            if !t.is_empty_table() {
                walk(t.buckets[(hash as usize) & t.mask()].as_ref(), &mut f);
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
    }

    /// Locates a node: which table, which bucket, and how deep in the chain.
    fn locate(&self, hash: u64, mut is: impl FnMut(&N) -> bool) -> Option<(bool, usize, usize)> {
        for (second, t) in [(false, &self.t0), (true, &self.t1)] {
            if t.is_empty_table() {
                continue;
            }
            let b = (hash as usize) & t.mask();
            let mut cur = t.buckets[b].as_ref();
            let mut depth = 0;
            while let Some(n) = cur {
                if is(n) {
                    return Some((second, b, depth));
                }
                cur = n.next_node();
                depth += 1;
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Returns the link (bucket slot or previous node's `next`) that holds the located node.
    fn link_mut(&mut self, at: (bool, usize, usize)) -> &mut Option<N> {
        let (second, b, depth) = at;
        let t = if second { &mut self.t1 } else { &mut self.t0 };
        link_at(&mut t.buckets, b, depth)
    }

    /// Finds a node for writing, unless `evict` says it must go, in which case it is unlinked
    /// and handed back: one walk of the chain for the common lookup that may find an expired
    /// key. Advances a resize under way by one bucket.
    pub fn find_or_evict(
        &mut self,
        hash: u64,
        is: impl FnMut(&N) -> bool,
        evict: impl FnOnce(&N) -> bool,
    ) -> Found<'_, N> {
        self.step();
        let Some(at) = self.locate(hash, is) else { return Found::Absent };
        // One more walk down to the node's link serves both outcomes (a live node is borrowed
        // from it, an evicted one taken out of it). The table's fields are borrowed apart so
        // the count can change while the link is held.
        let (second, b, depth) = at;
        let Table { buckets, used, .. } = if second { &mut self.t1 } else { &mut self.t0 };
        let link = link_at(buckets, b, depth);
        if !link.as_ref().is_some_and(evict) {
            return match link.as_mut() {
                Some(n) => Found::Live(n),
                None => Found::Absent,
            };
        }
        let Some(mut node) = link.take() else { return Found::Absent };
        *link = node.next_link().take();
        *used -= 1;
        Found::Evicted(node)
    }

    /// Finds a node for writing. Advances a resize under way by one bucket.
    pub fn find_mut(&mut self, hash: u64, is: impl FnMut(&N) -> bool) -> Option<&mut N> {
        self.step();
        let at = self.locate(hash, is)?;
        self.link_mut(at).as_mut()
    }

    /// Files a node under `hash`, without checking for an equal one (the caller did).
    pub fn insert(&mut self, hash: u64, mut node: N) {
        self.step();
        self.grow_if_needed();
        let t = if self.rehash_idx.is_some() { &mut self.t1 } else { &mut self.t0 };
        let b = (hash as usize) & t.mask();
        if node.node_marked() {
            t.set_mark(b);
        }
        let slot = &mut t.buckets[b];
        *node.next_link() = slot.take();
        *slot = Some(node);
        t.used += 1;
    }

    /// Unlinks and returns the first node filed under `hash` for which `is` holds.
    pub fn remove_where(&mut self, hash: u64, is: impl FnMut(&N) -> bool) -> Option<N> {
        self.step();
        let at = self.locate(hash, is)?;
        let link = self.link_mut(at);
        let mut node = link.take()?;
        *link = node.next_link().take();
        if at.0 {
            self.t1.used -= 1;
        } else {
            self.t0.used -= 1;
        }
        Some(node)
    }

    /// Applies `f` to the first node under `hash` for which `is` holds; `f` may replace the
    /// node by another filed under the same hash (its `next` link must move with it). Returns
    /// false when there is no such node.
    pub fn update_where(
        &mut self,
        hash: u64,
        is: impl FnMut(&N) -> bool,
        f: impl FnOnce(N) -> N,
    ) -> bool {
        self.step();
        let Some(at) = self.locate(hash, is) else { return false };
        let link = self.link_mut(at);
        let mut marked = false;
        if let Some(n) = link.take() {
            let n = f(n);
            marked = n.node_marked();
            *link = Some(n);
        }
        if marked {
            let (second, b, _) = at;
            if second { &mut self.t1 } else { &mut self.t0 }.set_mark(b);
        }
        true
    }

    /// Returns whether every marked node filed under `hash` is in a marked bucket (the marks'
    /// invariant, for checks).
    pub fn is_marked_for(&self, hash: u64) -> bool {
        let mut ok = true;
        for t in [&self.t0, &self.t1] {
            if t.is_empty_table() {
                continue;
            }
            let b = (hash as usize) & t.mask();
            walk(t.buckets[b].as_ref(), &mut |n: &N| {
                if n.node_marked() && n.node_hash() == hash && !t.is_marked(b) {
                    ok = false;
                }
            });
        }
        ok
    }

    /// One step of a walk over the marked buckets, for the active expiry: from slot `*cursor`
    /// (a sequential index, masked to each table's size), skips
    /// unmarked buckets 64 at a time and stops after the first marked bucket that still holds
    /// marked nodes, appending their hashes to `out` (a bucket found without any is unmarked).
    /// Gives up when `budget` is spent: a skipped word of 64 buckets costs 1, a visited bucket
    /// [`MARKED_VISIT_COST`]. Returns what it spent. A full lap of the cursor visits every marked node at least
    /// once, however the table is resized in between (resizes carry the marks).
    pub fn marked_step(
        &mut self,
        cursor: &mut u64,
        budget: usize,
        out: &mut smallvec::SmallVec<[u64; 16]>,
    ) -> usize {
        let mut spent = 0;
        if self.t0.marks.is_empty() && self.t1.marks.is_empty() {
            return 1;
        }
        while spent < budget {
            let idx = *cursor;
            // How far the next marked bucket may be, in each table (during a resize both are
            // walked, each with the cursor masked to its size): 0 when this one is marked,
            // else the distance to the next set bit of its word or to the word's end.
            let mut step = u64::MAX;
            for t in [&self.t0, &self.t1] {
                if t.is_empty_table() || t.marks.is_empty() {
                    continue;
                }
                let b = (idx as usize) & t.mask();
                let w = t.marks[b / 64] >> (b % 64);
                let d = if w == 0 { 64 - (b % 64) as u64 } else { w.trailing_zeros() as u64 };
                step = step.min(d);
            }
            if step == u64::MAX {
                return spent.max(1);
            }
            if step > 0 {
                *cursor = idx.wrapping_add(step);
                spent += 1;
                continue;
            }
            *cursor = idx.wrapping_add(1);
            spent += MARKED_VISIT_COST;
            let mut found = false;
            for t in [&mut self.t0, &mut self.t1] {
                if t.is_empty_table() {
                    continue;
                }
                let b = (idx as usize) & t.mask();
                if t.is_marked(b) {
                    found |= !collect_marked(t, b, out);
                }
            }
            if found {
                return spent;
            }
        }
        spent
    }

    /// Visits the bucket(s) for cursor `v` and returns the next cursor (0 when done). Every node
    /// present from the first call to the last is visited at least once, however the table
    /// grows or shrinks in between; some may be visited more than once.
    pub fn scan(&self, v: u64, mut visit: impl FnMut(&N)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let (swap, m_small, m_large) = self.scan_masks();
        let (small, large) = if swap { (&self.t1, &self.t0) } else { (&self.t0, &self.t1) };
        cursor_buckets(v, m_small, m_large, |in_large, i| {
            let t = if in_large { large } else { small };
            walk(t.buckets[i].as_ref(), &mut visit);
        })
    }

    /// [`Dict::scan`] handing out the nodes for writing, for a walk that marks what it visited
    /// (the snapshot walker, `store::snapshot`): same cursor, same guarantee. `visit` must not
    /// change a node's hash or its link.
    pub fn scan_mut(&mut self, v: u64, mut visit: impl FnMut(&mut N)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let (swap, m_small, m_large) = self.scan_masks();
        let (small, large) =
            if swap { (&mut self.t1, &mut self.t0) } else { (&mut self.t0, &mut self.t1) };
        cursor_buckets(v, m_small, m_large, |in_large, i| {
            let t = if in_large { &mut *large } else { &mut *small };
            walk_mut(t.buckets[i].as_mut(), &mut visit);
        })
    }

    /// The shape of a scan step: whether it starts from `t1` (the smaller table during a
    /// resize; `t0` otherwise), that table's mask, and the other's mask during a resize (both
    /// tables are scanned then), `None` outside one.
    fn scan_masks(&self) -> (bool, u64, Option<u64>) {
        let Some(_) = self.rehash_idx else { return (false, self.t0.mask() as u64, None) };
        let swap = self.t0.buckets.len() > self.t1.buckets.len();
        let (small, large) = if swap { (&self.t1, &self.t0) } else { (&self.t0, &self.t1) };
        (swap, small.mask() as u64, Some(large.mask() as u64))
    }

    /// Returns the number of buckets of the main table (what Redis's `dictSlots` reports
    /// outside a resize).
    pub fn slots(&self) -> usize {
        self.t0.buckets.len().max(self.t1.buckets.len())
    }

    /// Visits every node.
    pub fn for_each(&self, mut f: impl FnMut(&N)) {
        for t in [&self.t0, &self.t1] {
            for b in &t.buckets {
                walk(b.as_ref(), &mut f);
            }
        }
    }

    /// Fills `out` with up to `out.len()` nodes from consecutive buckets, starting at bucket
    /// `start` (masked), and returns how many it stored. Each bucket of either table is visited
    /// at most once per pass, so picking one of the returned nodes uniformly gives every node
    /// about the same chance (Redis's `dictGetSomeKeys`, behind `dictGetFairRandomKey`),
    /// where a random bucket's random node would favour nodes of short chains.
    pub fn sample<'a>(&'a self, start: u64, out: &mut [Option<&'a N>]) -> usize {
        let want = out.len().min(self.len());
        let rehash_idx = self.rehash_idx;
        let tables: &[&Table<N>] =
            if rehash_idx.is_some() { &[&self.t0, &self.t1] } else { &[&self.t0] };
        let maxmask = tables.iter().map(|t| t.mask()).max().unwrap_or(0);
        let mut i = (start as usize) & maxmask;
        let mut stored = 0;
        let mut steps = want * 10;
        while stored < want && steps > 0 {
            steps -= 1;
            for (j, t) in tables.iter().enumerate() {
                // Buckets of the old table below the rehash index are empty.
                if let Some(r) = rehash_idx
                    && j == 0
                    && i < r
                {
                    // Past the end of the new table too: resume at the rehash index.
                    if i >= self.t1.buckets.len() {
                        i = r;
                    } else {
                        continue;
                    }
                }
                let Some(head) = t.buckets.get(i) else { continue };
                let mut cur = head.as_ref();
                while let Some(n) = cur {
                    out[stored] = Some(n);
                    stored += 1;
                    if stored == want {
                        return stored;
                    }
                    cur = n.next_node();
                }
            }
            i = (i + 1) & maxmask;
        }
        stored
    }

    /// Returns an iterator over every node, with references that live as long as the table
    /// is borrowed (so a caller can keep several at once).
    pub fn iter(&self) -> impl Iterator<Item = &N> + '_ {
        [&self.t0, &self.t1]
            .into_iter()
            .flat_map(|t| t.buckets.iter())
            .flat_map(|b| std::iter::successors(b.as_ref(), |n| n.next_node()))
    }

    /// Returns a node picked at random (uniform over buckets, then over the chain), using `rnd`
    /// as the source of randomness.
    pub fn random(&self, mut rnd: impl FnMut() -> u64) -> Option<&N> {
        if self.is_empty() {
            return None;
        }
        // Pick non-empty buckets across both tables; during a resize the old table's buckets
        // below rehash_idx are empty and are skipped like any empty bucket.
        let n0 = self.t0.buckets.len();
        let total = n0 + self.t1.buckets.len();
        loop {
            let i = (rnd() as usize) % total;
            let bucket = if i < n0 { &self.t0.buckets[i] } else { &self.t1.buckets[i - n0] };
            if let Some(head) = bucket.as_ref() {
                let mut len = 0;
                walk(Some(head), &mut |_| len += 1);
                let mut pick = (rnd() as usize) % len;
                let mut cur = head;
                while pick > 0 {
                    cur = cur.next_node()?;
                    pick -= 1;
                }
                return Some(cur);
            }
        }
    }

    /// Returns a node picked at random with (nearly) the same chance for every node, for
    /// HRANDFIELD and its kin, whose replies are tested for uniformity: a bucket of either
    /// table uniformly, then one of `max(width, chain length)` slots, retrying when the slot
    /// lies past the chain's end. Every node of a chain of at most `width` nodes has the same
    /// chance; a node in a longer chain (rare at a load factor of at most 1) a little less.
    /// [`Dict::random`] is cheaper but favours nodes alone in their bucket.
    pub fn random_fair(&self, width: usize, mut rnd: impl FnMut() -> u64) -> Option<&N> {
        if self.is_empty() {
            return None;
        }
        let n0 = self.t0.buckets.len();
        let total = n0 + self.t1.buckets.len();
        loop {
            let i = (rnd() as usize) % total;
            let bucket = if i < n0 { &self.t0.buckets[i] } else { &self.t1.buckets[i - n0] };
            let Some(head) = bucket.as_ref() else { continue };
            let mut len = 0;
            walk(Some(head), &mut |_| len += 1);
            let mut pick = (rnd() as usize) % width.max(len);
            if pick >= len {
                continue;
            }
            let mut cur = head;
            while pick > 0 {
                cur = cur.next_node()?;
                pick -= 1;
            }
            return Some(cur);
        }
    }

    /// Removes every node and returns them as a dict, so the caller may free it elsewhere.
    pub fn take(&mut self) -> Dict<N> {
        std::mem::take(self)
    }
}

/// The keyspace's lookups by key.
impl Dict<Entry> {
    /// Finds the entry for `key`.
    #[inline]
    pub fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        self.find(hash, |e| e.key() == key)
    }

    /// Finds the entry for `key`, for writing. Advances a resize under way by one bucket.
    #[inline]
    pub fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry> {
        self.find_mut(hash, |e| e.key() == key)
    }

    /// Inserts an entry whose key is not in the table (the caller checked).
    #[inline]
    pub fn insert_new(&mut self, hash: u64, e: Entry) {
        self.insert(hash, e)
    }

    /// Removes and returns the entry for `key`.
    #[inline]
    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        self.remove_where(hash, |e| e.key() == key)
    }

    /// Applies `f` to the entry for `key`, which may replace the entry by another with the same
    /// key (to add or drop its expire field). Returns false when the key is absent.
    #[inline]
    pub fn update(&mut self, hash: u64, key: &[u8], f: impl FnOnce(Entry) -> Entry) -> bool {
        self.update_where(hash, |e| e.key() == key, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash_key;
    use super::super::value::Value;
    use super::*;
    use std::collections::HashSet;

    fn put(d: &mut Dict, k: &str) {
        let h = hash_key(k.as_bytes());
        if d.get(h, k.as_bytes()).is_none() {
            d.insert_new(h, Entry::new(k.as_bytes(), Value::Int(1), None, 0));
        }
    }

    #[test]
    fn insert_get_remove_through_growth() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            put(&mut d, &format!("k{i}"));
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            let k = format!("k{i}");
            assert!(d.get(hash_key(k.as_bytes()), k.as_bytes()).is_some(), "{k}");
        }
        for i in (0..10_000).step_by(2) {
            let k = format!("k{i}");
            assert!(d.remove(hash_key(k.as_bytes()), k.as_bytes()).is_some());
        }
        assert_eq!(d.len(), 5_000);
        assert!(d.get(hash_key(b"k0"), b"k0").is_none());
        assert!(d.get(hash_key(b"k1"), b"k1").is_some());
        while d.rehash(100) {}
        for i in 0..10_000 {
            let k = format!("k{i}");
            d.remove(hash_key(k.as_bytes()), k.as_bytes());
        }
        assert!(d.shrink_if_needed() || d.is_empty());
    }

    #[test]
    fn a_reserved_table_takes_its_keys_without_growing() {
        let mut d = Dict::new();
        d.reserve(1000);
        assert_eq!(d.buckets(), 1024);
        for i in 0..1000 {
            put(&mut d, &format!("k{i}"));
            assert!(!d.is_rehashing(), "grew at {i}");
        }
        assert_eq!(d.buckets(), 1024);
        // The size growth would have reached too, and nothing for a table in use.
        let mut grown = Dict::new();
        for i in 0..1000 {
            put(&mut grown, &format!("k{i}"));
        }
        while grown.rehash(100) {}
        assert_eq!(grown.buckets(), 1024);
        d.reserve(100_000);
        assert_eq!(d.buckets(), 1024);
    }

    #[test]
    fn update_may_reallocate() {
        let mut d = Dict::new();
        for i in 0..100 {
            put(&mut d, &format!("k{i}"));
        }
        let h = hash_key(b"k7");
        assert!(d.update(h, b"k7", |e| e.with_expire(Some(5))));
        assert_eq!(d.get(h, b"k7").unwrap().expire(), Some(5));
        assert_eq!(d.len(), 100);
        for i in 0..100 {
            let k = format!("k{i}");
            assert!(d.get(hash_key(k.as_bytes()), k.as_bytes()).is_some());
        }
    }

    /// SCAN's guarantee: keys present throughout are all returned, while the table grows and
    /// shrinks between calls.
    #[test]
    fn scan_returns_every_stable_key_across_resizes() {
        let mut d = Dict::new();
        for i in 0..1000 {
            put(&mut d, &format!("stable{i}"));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = d.scan(cursor, |e| {
                seen.insert(e.key().to_vec());
            });
            round += 1;
            // Grow during the first rounds, then shrink, rehashing only partly each time.
            if round < 20 {
                for j in 0..500 {
                    put(&mut d, &format!("extra{round}_{j}"));
                }
            } else if round == 20 {
                for r in 1..20 {
                    for j in 0..500 {
                        let k = format!("extra{r}_{j}");
                        d.remove(hash_key(k.as_bytes()), k.as_bytes());
                    }
                }
                while d.rehash(100) {}
                d.shrink_if_needed();
            }
            d.rehash(3);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("stable{i}").as_bytes()), "stable{i} missed");
        }
    }

    /// `scan_mut` walks exactly as `scan` does (same buckets, same cursors) in every state of
    /// a resize, and its writes stick.
    #[test]
    fn scan_mut_follows_scan() {
        let mut d = Dict::new();
        for i in 0..3000 {
            put(&mut d, &format!("k{i}"));
            if i % 500 == 0 {
                // Half-way through a growth: both tables live.
                d.rehash(7);
            }
            if i % 700 != 0 {
                continue;
            }
            let mut cursor = 0;
            loop {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let next = d.scan(cursor, |e| a.push(e.key().to_vec()));
                let next_mut = d.scan_mut(cursor, |e| {
                    b.push(e.key().to_vec());
                    e.set_snap_mark(true);
                });
                assert_eq!(next, next_mut);
                assert_eq!(a, b);
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
            let mut marked = 0;
            d.for_each(|e| marked += e.snap_mark() as usize);
            assert_eq!(marked, d.len());
            let mut c = 0;
            loop {
                c = d.scan_mut(c, |e| e.set_snap_mark(false));
                if c == 0 {
                    break;
                }
            }
        }
    }

    #[test]
    fn random_finds_entries() {
        let mut d = Dict::new();
        assert!(d.random(|| 1).is_none());
        for i in 0..50 {
            put(&mut d, &format!("k{i}"));
        }
        let mut x = 12345u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            seen.insert(d.random(&mut rnd).unwrap().key().to_vec());
        }
        assert!(seen.len() > 40);
    }

    /// Collects the keys a full lap of `marked_step` finds (a lap: the cursor covers the
    /// largest table once; generous budget so one call may cover many words).
    fn marked_lap(d: &mut Dict) -> HashSet<Vec<u8>> {
        let mut hashes: smallvec::SmallVec<[u64; 16]> = smallvec::SmallVec::new();
        let mut found = HashSet::new();
        let mut cursor = 0u64;
        while (cursor as usize) < d.slots() {
            hashes.clear();
            d.marked_step(&mut cursor, 1 << 20, &mut hashes);
            for &h in &hashes {
                d.visit_bucket_of(h, |e| {
                    if e.expire().is_some() && hash_key(e.key()) == h {
                        found.insert(e.key().to_vec());
                    }
                });
            }
        }
        found
    }

    #[test]
    fn marks_survive_growth_and_shrinking() {
        let mut d = Dict::new();
        let mut want = HashSet::new();
        for i in 0..4000 {
            let k = format!("k{i}");
            let expire = if i % 7 == 0 { Some(1) } else { None };
            if expire.is_some() {
                want.insert(k.clone().into_bytes());
            }
            d.insert_new(
                hash_key(k.as_bytes()),
                Entry::new(k.as_bytes(), Value::Int(0), expire, 0),
            );
        }
        while d.rehash(100) {}
        assert_eq!(marked_lap(&mut d), want);
        // Remove most keys, shrink, and check halfway through the resize and after it.
        for i in 0..3900 {
            let k = format!("k{i}");
            d.remove(hash_key(k.as_bytes()), k.as_bytes());
            want.remove(k.as_bytes());
        }
        assert!(d.shrink_if_needed());
        d.rehash(3);
        assert!(d.is_rehashing());
        assert_eq!(marked_lap(&mut d), want);
        while d.rehash(100) {}
        assert_eq!(marked_lap(&mut d), want);
        // A key that loses its TTL leaves a stale mark, which the walk clears.
        let k = b"k3906";
        assert!(want.contains(&k[..]));
        d.update(hash_key(k), k, |e| e.with_expire(None));
        want.remove(&k[..]);
        assert_eq!(marked_lap(&mut d), want);
        // Nodes of a type that marks nothing allocate no marks.
        let plain: Dict = Dict::new();
        assert!(plain.t0.marks.is_empty());
    }
}
