//! The value of a key. Strings are stored compactly: integers as `i64`, short strings inline in
//! the value itself, longer ones behind one thin pointer. The whole enum is 16 bytes, so an
//! entry of a 16-byte key and a 10-byte value fits a 48-byte allocation.
//!
//! The aggregate types (lists, hashes, sets, sorted sets) are boxed variants, so the enum stays
//! 16 bytes; their structures live in `types/`.

use thin_vec::ThinVec;

use super::types::{hash::Hash, list::List, set::Set, zset::ZSet};

use crate::util::parse_i64_strict;

/// Longest string kept inline in the value.
pub const SMALL_MAX: usize = 14;
/// Longest string Redis creates as `embstr` (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
pub const EMBSTR_MAX: usize = 44;

/// A string of at most [`SMALL_MAX`] bytes stored inline. The top bit of `meta` marks a string
/// that Redis would report as `raw` (one that was modified in place) rather than `embstr`.
#[derive(Clone, Copy)]
pub struct SmallStr {
    meta: u8,
    data: [u8; SMALL_MAX],
}

impl SmallStr {
    fn new(b: &[u8], raw: bool) -> Self {
        let mut data = [0u8; SMALL_MAX];
        data[..b.len()].copy_from_slice(b);
        SmallStr { meta: b.len() as u8 | if raw { 0x80 } else { 0 }, data }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..(self.meta & 0x7f) as usize]
    }

    fn raw(&self) -> bool {
        self.meta & 0x80 != 0
    }
}

/// A value in the keyspace.
#[derive(Clone)]
pub enum Value {
    /// A string that is the canonical decimal form of an integer (`OBJECT ENCODING int`).
    Int(i64),
    /// A short string stored inline.
    Small(SmallStr),
    /// A longer string, as Redis would create it whole (`embstr` up to 44 bytes).
    Str(ThinVec<u8>),
    /// A longer string reported as `raw` (longer than 44 bytes, or modified in place).
    Raw(ThinVec<u8>),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

/// The type of a value as TYPE and SCAN TYPE name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    String,
    List,
    Set,
    ZSet,
    Hash,
    Stream,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::Hash => "hash",
            ValueType::Stream => "stream",
        }
    }

    /// Parses a type name as SCAN TYPE takes it (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<ValueType> {
        let n = name.to_ascii_lowercase();
        Some(match n.as_slice() {
            b"string" => ValueType::String,
            b"list" => ValueType::List,
            b"set" => ValueType::Set,
            b"zset" => ValueType::ZSet,
            b"hash" => ValueType::Hash,
            b"stream" => ValueType::Stream,
            _ => return None,
        })
    }
}

impl Value {
    /// Builds a string value the way SET stores it: an integer when the bytes are the canonical
    /// form of one (`tryObjectEncoding`), otherwise the bytes.
    pub fn string(b: &[u8]) -> Value {
        if b.len() <= 20
            && let Some(n) = parse_i64_strict(b)
        {
            return Value::Int(n);
        }
        Value::bytes(b, false)
    }

    /// Builds a string value holding exactly `b`, never integer-encoded. `raw` marks a string
    /// that Redis would report as `raw` whatever its length (one built by APPEND, SETRANGE...).
    pub fn bytes(b: &[u8], raw: bool) -> Value {
        if b.len() <= SMALL_MAX {
            Value::Small(SmallStr::new(b, raw))
        } else {
            let mut data = ThinVec::with_capacity(b.len());
            data.extend_from_slice(b);
            if raw || b.len() > EMBSTR_MAX { Value::Raw(data) } else { Value::Str(data) }
        }
    }

    /// Builds a raw string value that owns `v` (no copy when it does not fit inline).
    pub fn from_vec(v: Vec<u8>) -> Value {
        if v.len() <= SMALL_MAX {
            Value::Small(SmallStr::new(&v, true))
        } else {
            let mut data = ThinVec::with_capacity(v.len());
            data.extend_from_slice(&v);
            Value::Raw(data)
        }
    }

    /// Returns the type of the value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Int(_) | Value::Small(_) | Value::Str(_) | Value::Raw(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    /// True for string values.
    #[inline]
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Small(_) | Value::Str(_) | Value::Raw(_))
    }

    /// Returns the bytes of a string value, formatting an integer into `tmp`; `None` for other
    /// types.
    #[inline]
    pub fn str_bytes<'a>(&'a self, tmp: &'a mut itoa::Buffer) -> Option<&'a [u8]> {
        match self {
            Value::Int(n) => Some(tmp.format(*n).as_bytes()),
            Value::Small(s) => Some(s.as_bytes()),
            Value::Str(s) | Value::Raw(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the bytes of a string value as an owned vector; `None` for other types.
    pub fn to_vec(&self) -> Option<Vec<u8>> {
        let mut tmp = itoa::Buffer::new();
        self.str_bytes(&mut tmp).map(|b| b.to_vec())
    }

    /// Returns the length of a string value; `None` for other types.
    pub fn str_len(&self) -> Option<usize> {
        match self {
            Value::Int(n) => Some(itoa::Buffer::new().format(*n).len()),
            Value::Small(s) => Some(s.as_bytes().len()),
            Value::Str(s) | Value::Raw(s) => Some(s.len()),
            _ => None,
        }
    }

    /// Returns the string as a mutable byte vector, converting the value to a raw string first.
    /// For APPEND and SETRANGE, which grow strings in place.
    pub fn make_raw_mut(&mut self) -> Option<&mut ThinVec<u8>> {
        match self {
            Value::Raw(_) => {}
            Value::Str(s) => *self = Value::Raw(std::mem::take(s)),
            Value::List(_) | Value::Hash(_) | Value::Set(_) | Value::ZSet(_) => return None,
            Value::Int(_) | Value::Small(_) => {
                let bytes = self.to_vec()?;
                let mut data = ThinVec::with_capacity(bytes.len().max(SMALL_MAX + 1));
                data.extend_from_slice(&bytes);
                *self = Value::Raw(data);
            }
        }
        match self {
            Value::Raw(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the encoding name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Small(s) => {
                if s.raw() {
                    "raw"
                } else {
                    "embstr"
                }
            }
            Value::Str(_) => "embstr",
            Value::Raw(_) => "raw",
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
        }
    }

    /// Returns an estimate of the heap bytes the value uses beyond the entry (MEMORY USAGE,
    /// lazy-free decisions).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) | Value::Small(_) => 0,
            Value::Str(s) | Value::Raw(s) => s.capacity() + 16,
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
        }
    }

    /// Returns the number of elements freeing this value takes, in Redis's terms for lazy
    /// freeing (`lazyfreeGetFreeEffort`).
    pub fn free_effort(&self) -> usize {
        match self {
            Value::List(l) => l.free_effort(),
            Value::Hash(h) => h.free_effort(),
            Value::Set(s) => s.free_effort(),
            Value::ZSet(z) => z.free_effort(),
            _ => 1,
        }
    }

    /// Returns the list held, if the value is one.
    #[inline]
    pub fn as_list(&self) -> Option<&List> {
        if let Value::List(l) = self { Some(l) } else { None }
    }

    /// Returns the list held for modification, if the value is one.
    #[inline]
    pub fn as_list_mut(&mut self) -> Option<&mut List> {
        if let Value::List(l) = self { Some(l) } else { None }
    }

    /// Returns the hash held, if the value is one.
    #[inline]
    pub fn as_hash(&self) -> Option<&Hash> {
        if let Value::Hash(h) = self { Some(h) } else { None }
    }

    /// Returns the hash held for modification, if the value is one.
    #[inline]
    pub fn as_hash_mut(&mut self) -> Option<&mut Hash> {
        if let Value::Hash(h) = self { Some(h) } else { None }
    }

    /// Returns the set held, if the value is one.
    #[inline]
    pub fn as_set(&self) -> Option<&Set> {
        if let Value::Set(s) = self { Some(s) } else { None }
    }

    /// Returns the set held for modification, if the value is one.
    #[inline]
    pub fn as_set_mut(&mut self) -> Option<&mut Set> {
        if let Value::Set(s) = self { Some(s) } else { None }
    }

    /// Returns the sorted set held, if the value is one.
    #[inline]
    pub fn as_zset(&self) -> Option<&ZSet> {
        if let Value::ZSet(z) = self { Some(z) } else { None }
    }

    /// Returns the sorted set held for modification, if the value is one.
    #[inline]
    pub fn as_zset_mut(&mut self) -> Option<&mut ZSet> {
        if let Value::ZSet(z) = self { Some(z) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(Value::string(b"12345").encoding_name(), "int");
        assert_eq!(Value::string(b"012").encoding_name(), "embstr");
        assert_eq!(Value::string(b"hello").encoding_name(), "embstr");
        assert_eq!(Value::string(&[b'a'; 44]).encoding_name(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding_name(), "raw");
        assert_eq!(Value::bytes(b"hi", true).encoding_name(), "raw");
    }

    #[test]
    fn round_trip_bytes() {
        for s in [&b""[..], b"a", b"12", b"-5", &[b'x'; 14], &[b'y'; 15], &[b'z'; 100]] {
            let v = Value::string(s);
            let mut t = itoa::Buffer::new();
            assert_eq!(v.str_bytes(&mut t).unwrap(), s);
            assert_eq!(v.str_len(), Some(s.len()));
        }
    }

    #[test]
    fn raw_mut_converts() {
        let mut v = Value::string(b"10");
        v.make_raw_mut().unwrap().extend_from_slice(b"abc");
        let mut t = itoa::Buffer::new();
        assert_eq!(v.str_bytes(&mut t).unwrap(), b"10abc");
        assert_eq!(v.encoding_name(), "raw");
    }
}
