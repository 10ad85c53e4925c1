//! One key and its value in a single heap allocation.
//!
//! Layout, 8-byte aligned:
//!
//! ```text
//! [ next: Option<Entry> 8 ][ value: Value 16 ][ meta: u32 ][ key_len: u32 ]? [ expire: i64 ]? [ key ]
//! ```
//!
//! `meta` holds the access clock (for OBJECT IDLETIME / FREQ and eviction) in its low 24 bits,
//! the key's length when under 63 bytes in the next 6, and two flags. A longer key's length
//! follows in a `u32`. The expire field is present only when the key has a TTL (unaligned
//! after a short key's header), so a key without one pays nothing for it, and one with a TTL
//! pays 8 bytes, which the allocator's 16-byte size classes round to 0 or 16: a key of up to
//! 12 bytes with a TTL still fits 48 bytes. A 16-byte key with a short string value takes one
//! 48-byte allocation; Redis spends a dict entry, an sds key and an object on the same.
//!
//! Hand-written for memory: the Rust alternatives (a struct holding a boxed key) cost a second
//! allocation and 16 more bytes per key. All unsafe code of the entries is in this file (the
//! dict's bucket arrays have their own, in `dict.rs`); the type is an owning pointer with a
//! safe interface.

use std::alloc::{Layout, alloc, dealloc};
use std::ptr::NonNull;

use super::value::Value;

/// The fixed part. Its last 4 bytes are padding as far as Rust is concerned: the variable part
/// starts there ([`FIXED`]), and the allocation always covers the whole struct ([`MIN_SIZE`]),
/// so references to it stay in bounds. Fields are only ever written one by one, never the
/// whole struct (which could write the padding) except once, before the variable part.
#[repr(C)]
struct Header {
    next: Option<Entry>,
    value: Value,
    meta: u32,
}

/// Where the variable part starts.
const FIXED: usize = std::mem::offset_of!(Header, meta) + 4;
const MIN_SIZE: usize = std::mem::size_of::<Header>();
const _: () = assert!(FIXED == 28 && MIN_SIZE == 32);
const HAS_EXPIRE: u32 = 1 << 31;
/// The snapshot mark (see `store::snapshot`): whether the entry is in the image of the
/// snapshot running (or last run) already; its meaning flips with each snapshot.
const SNAP_MARK: u32 = 1 << 30;
const CLOCK_MASK: u32 = (1 << 24) - 1;
/// The short key length: bits 24 to 29; all ones means the length is in a `u32` after `meta`.
const LEN_SHIFT: u32 = 24;
const LEN_MASK: u32 = 0x3f << LEN_SHIFT;
const LONG_KEY: u32 = 0x3f;

/// An owned entry: a key, its value, an optional expire time and an access clock.
/// Transparent over its pointer, so `None::<Entry>` is null (the dict relies on it).
#[repr(transparent)]
pub struct Entry(NonNull<Header>);

// SAFETY: an Entry uniquely owns its allocation, like a Box; Value is Send and Sync.
unsafe impl Send for Entry {}
unsafe impl Sync for Entry {}

/// Returns the offset of the expire field (or of the key, without one).
#[inline]
fn ext_offset(meta: u32) -> usize {
    FIXED + if (meta & LEN_MASK) >> LEN_SHIFT == LONG_KEY { 4 } else { 0 }
}

fn layout(key_len: usize, has_expire: bool) -> Layout {
    let long = key_len >= LONG_KEY as usize;
    let size = FIXED + if long { 4 } else { 0 } + if has_expire { 8 } else { 0 } + key_len;
    // The size cannot overflow: keys are bounded by proto-max-bulk-len (u32 at most here).
    Layout::from_size_align(size.max(MIN_SIZE), 8).expect("entry layout")
}

impl Entry {
    /// Allocates an entry. Keys longer than 4 GiB are refused by the protocol limits first.
    pub fn new(key: &[u8], value: Value, expire: Option<i64>, clock: u32) -> Entry {
        let key_len = u32::try_from(key.len()).expect("key longer than 4 GiB");
        let has_expire = expire.is_some();
        let lay = layout(key.len(), has_expire);
        let short = key_len.min(LONG_KEY);
        let meta =
            (clock & CLOCK_MASK) | (short << LEN_SHIFT) | if has_expire { HAS_EXPIRE } else { 0 };
        // SAFETY: the layout covers the header struct and the variable part; the struct is
        // written first (its padding may be overwritten by the variable part after it).
        unsafe {
            let p = alloc(lay) as *mut Header;
            let Some(nn) = NonNull::new(p) else { std::alloc::handle_alloc_error(lay) };
            p.write(Header { next: None, value, meta });
            let base = p as *mut u8;
            let mut off = FIXED;
            if short == LONG_KEY {
                (base.add(off) as *mut u32).write_unaligned(key_len);
                off += 4;
            }
            if let Some(t) = expire {
                (base.add(off) as *mut i64).write_unaligned(t);
                off += 8;
            }
            std::ptr::copy_nonoverlapping(key.as_ptr(), base.add(off), key.len());
            Entry(nn)
        }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the pointer is valid for the entry's lifetime and uniquely owned.
        unsafe { self.0.as_ref() }
    }

    #[inline]
    fn header_mut(&mut self) -> &mut Header {
        // SAFETY: as above, and &mut self gives exclusive access.
        unsafe { self.0.as_mut() }
    }

    #[inline]
    fn has_expire(&self) -> bool {
        self.header().meta & HAS_EXPIRE != 0
    }

    /// Returns the key's length.
    #[inline]
    fn key_len(&self) -> usize {
        let short = (self.header().meta & LEN_MASK) >> LEN_SHIFT;
        if short != LONG_KEY {
            return short as usize;
        }
        // SAFETY: a long key's length was written right after the fixed part in `new`.
        unsafe {
            ((self.0.as_ptr() as *const u8).add(FIXED) as *const u32).read_unaligned() as usize
        }
    }

    /// Returns the key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        let meta = self.header().meta;
        let off = ext_offset(meta) + if meta & HAS_EXPIRE != 0 { 8 } else { 0 };
        // SAFETY: key_len bytes were written at this offset in `new`.
        unsafe {
            std::slice::from_raw_parts((self.0.as_ptr() as *const u8).add(off), self.key_len())
        }
    }

    #[inline]
    pub fn value(&self) -> &Value {
        &self.header().value
    }

    #[inline]
    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.header_mut().value
    }

    /// Replaces the value and returns the old one.
    pub fn replace_value(&mut self, v: Value) -> Value {
        std::mem::replace(&mut self.header_mut().value, v)
    }

    /// Returns the absolute expire time in milliseconds, if the key has one.
    #[inline]
    pub fn expire(&self) -> Option<i64> {
        let meta = self.header().meta;
        if meta & HAS_EXPIRE != 0 {
            let off = ext_offset(meta);
            // SAFETY: the expire field exists at this offset when the flag is set.
            Some(unsafe {
                ((self.0.as_ptr() as *const u8).add(off) as *const i64).read_unaligned()
            })
        } else {
            None
        }
    }

    /// Sets or clears the expire time. When the field must appear or disappear, the entry is
    /// moved to a new allocation; the caller relinks it (its `next` link moves with it).
    pub fn with_expire(mut self, expire: Option<i64>) -> Entry {
        match (self.has_expire(), expire) {
            (true, Some(t)) => {
                let off = ext_offset(self.header().meta);
                // SAFETY: the expire field exists at this offset when the flag is set; no
                // reference into the entry is alive here.
                unsafe { ((self.0.as_ptr() as *mut u8).add(off) as *mut i64).write_unaligned(t) };
                self
            }
            (false, None) => self,
            _ => {
                let clock = self.clock();
                let next = self.take_next();
                let value = self.replace_value(Value::Int(0));
                let mut e = Entry::new(self.key(), value, expire, clock);
                e.set_next(next);
                e.set_snap_mark(self.snap_mark());
                e
            }
        }
    }

    /// Returns the access clock (24 bits).
    #[inline]
    pub fn clock(&self) -> u32 {
        self.header().meta & CLOCK_MASK
    }

    #[inline]
    pub fn set_clock(&mut self, clock: u32) {
        let h = self.header_mut();
        h.meta = (h.meta & !CLOCK_MASK) | (clock & CLOCK_MASK);
    }

    /// Returns the snapshot mark (see `store::snapshot`).
    #[inline]
    pub fn snap_mark(&self) -> bool {
        self.header().meta & SNAP_MARK != 0
    }

    /// Sets the snapshot mark (see `store::snapshot`).
    #[inline]
    pub fn set_snap_mark(&mut self, mark: bool) {
        let h = self.header_mut();
        h.meta = (h.meta & !SNAP_MARK) | if mark { SNAP_MARK } else { 0 };
    }

    /// Returns the bytes the entry's allocation takes.
    pub fn alloc_size(&self) -> usize {
        layout(self.key_len(), self.has_expire()).pad_to_align().size()
    }

    #[inline]
    pub(super) fn next(&self) -> Option<&Entry> {
        self.header().next.as_ref()
    }

    #[inline]
    pub(super) fn next_mut(&mut self) -> &mut Option<Entry> {
        &mut self.header_mut().next
    }

    #[inline]
    pub(super) fn take_next(&mut self) -> Option<Entry> {
        self.header_mut().next.take()
    }

    #[inline]
    pub(super) fn set_next(&mut self, next: Option<Entry>) {
        self.header_mut().next = next;
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Unlink the chain iteratively: a recursive drop of a long chain could overflow the
        // stack.
        let mut next = self.take_next();
        while let Some(mut e) = next {
            next = e.take_next();
            drop(e);
        }
        let lay = layout(self.key_len(), self.has_expire());
        // SAFETY: the header was initialised in `new`; the value is dropped exactly once here,
        // then the allocation is freed with the layout it was made with.
        unsafe {
            std::ptr::drop_in_place(&mut self.0.as_mut().value);
            dealloc(self.0.as_ptr() as *mut u8, lay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_expire() {
        let e = Entry::new(b"key:000000000001", Value::string(b"hello"), None, 7);
        assert_eq!(e.key(), b"key:000000000001");
        assert_eq!(e.expire(), None);
        assert_eq!(e.clock(), 7);
        assert_eq!(e.alloc_size(), 48);
        let mut e = e.with_expire(Some(1234));
        assert_eq!(e.key(), b"key:000000000001");
        assert_eq!(e.expire(), Some(1234));
        e = e.with_expire(Some(99));
        assert_eq!(e.expire(), Some(99));
        e.set_snap_mark(true);
        e.set_clock(9);
        assert!(e.snap_mark());
        let mut e = e.with_expire(None);
        assert_eq!(e.expire(), None);
        // The mark and the clock survive the move to a new allocation, and do not mix.
        assert!(e.snap_mark());
        assert_eq!(e.clock(), 9);
        e.set_clock(7);
        assert!(e.snap_mark());
        e.set_snap_mark(false);
        assert!(!e.snap_mark());
        let mut t = itoa::Buffer::new();
        assert_eq!(e.value().str_bytes(&mut t).unwrap(), b"hello");
        assert_eq!(e.clock(), 7);
    }

    #[test]
    fn key_lengths_around_the_short_limit_and_ttls() {
        for len in [0usize, 1, 3, 4, 12, 13, 61, 62, 63, 64, 200, 70_000] {
            let key: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for expire in [None, Some(-5i64), Some(i64::MAX)] {
                let mut e = Entry::new(&key, Value::Int(len as i64), expire, 0xabcdef);
                assert_eq!(e.key(), &key[..], "len {len}");
                assert_eq!(e.expire(), expire, "len {len}");
                assert_eq!(e.clock(), 0xabcdef);
                e.set_clock(5);
                e.set_snap_mark(true);
                assert_eq!(e.key(), &key[..]);
                // Adding, changing and dropping the TTL keeps the key and the flags.
                let e = e.with_expire(Some(77));
                assert_eq!(
                    (e.key(), e.expire(), e.clock(), e.snap_mark()),
                    (&key[..], Some(77), 5, true)
                );
                let e = e.with_expire(None);
                assert_eq!((e.key(), e.expire()), (&key[..], None));
                assert!(matches!(e.value(), Value::Int(v) if *v == len as i64));
                assert!(e.alloc_size() >= MIN_SIZE && e.alloc_size() % 8 == 0);
            }
        }
    }

    #[test]
    fn a_ttl_fits_the_same_size_class_for_short_keys() {
        // `key:123456` with and without a TTL: 38 and 46 bytes, both in jemalloc's 48 class.
        let plain = Entry::new(b"key:123456", Value::Int(1), None, 0);
        let timed = Entry::new(b"key:123456", Value::Int(1), Some(1), 0);
        assert_eq!((plain.alloc_size(), timed.alloc_size()), (40, 48));
    }

    #[test]
    fn long_chain_drops_without_recursion() {
        let mut head = Entry::new(b"0", Value::Int(0), None, 0);
        for i in 1..200_000 {
            let mut e = Entry::new(i.to_string().as_bytes(), Value::Int(i), None, 0);
            e.set_next(Some(head));
            head = e;
        }
        drop(head);
    }
}
