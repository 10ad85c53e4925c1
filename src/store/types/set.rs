//! The set type. (Placeholder; the real representation comes with its commands.)

/// A set.
#[derive(Clone, Default)]
pub struct Set {
    len: usize,
}

impl Set {
    /// Returns an empty set.
    pub fn new() -> Set {
        Set::default()
    }

    /// Returns the number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `f` with every member, in the set's internal order (integers of an intset are
    /// formatted as decimal text). ZUNIONSTORE & co. and SORT read sets through this.
    pub fn for_each_member(&self, mut f: impl FnMut(&[u8])) {
        let _ = &mut f;
    }

    /// True when `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        let _ = member;
        false
    }

    /// Returns the name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        "hashtable"
    }

    /// Returns an estimate of the heap bytes used.
    pub fn heap_size(&self) -> usize {
        0
    }

    /// Returns the effort of freeing it in Redis's lazy-free terms.
    pub fn free_effort(&self) -> usize {
        self.len
    }
}
