//! The pure data structures behind the aggregate types: lists, hashes, sets and sorted sets.
//! Each file holds one type's representation (compact below Redis's thresholds, a general
//! structure above them) and its operations; no keyspace, no RESP, no locks.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;
