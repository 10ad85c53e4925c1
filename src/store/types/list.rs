//! The list type. (Placeholder representation; replaced by the packed quicklist.)

use std::collections::VecDeque;

/// A list of byte strings.
#[derive(Clone, Default)]
pub struct List {
    items: VecDeque<Vec<u8>>,
}

impl List {
    /// Returns an empty list.
    pub fn new() -> List {
        List::default()
    }

    /// Returns the number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the list has no elements (a list key never stays empty).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds an element at the head (`left`) or the tail.
    pub fn push(&mut self, elem: &[u8], left: bool) {
        if left {
            self.items.push_front(elem.to_vec());
        } else {
            self.items.push_back(elem.to_vec());
        }
    }

    /// Removes and returns the element at the head (`left`) or the tail.
    pub fn pop(&mut self, left: bool) -> Option<Vec<u8>> {
        if left { self.items.pop_front() } else { self.items.pop_back() }
    }

    /// Returns the name OBJECT ENCODING reports (Redis 7.0 reports every list as `quicklist`).
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Returns an estimate of the heap bytes the list uses.
    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|i| i.capacity() + 24).sum()
    }

    /// Returns the effort of freeing the list in Redis's lazy-free terms.
    pub fn free_effort(&self) -> usize {
        self.items.len()
    }
}
