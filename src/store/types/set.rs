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
