//! Redis's RDB serialization (format version 10, as Redis 7.0 writes it): values, DUMP
//! payloads, and whole files.
//!
//! Writing produces what Redis 7.0.15 produces for the same encodings: strings (integer-encoded
//! when they are short canonical integers, LZF-compressed past 20 bytes with `rdbcompression`),
//! lists as quicklist 2 (listpack nodes, plain nodes for big elements), sets as intset or
//! hashtable, hashes as listpack or hashtable, sorted sets as listpack or skiplist (binary
//! doubles, highest score first), and the checksum (CRC-64/Jones, Redis's variant, from the
//! `crc` crate's `CRC_64_REDIS`).
//!
//! Reading takes everything 7.0 writes plus what older versions wrote (ziplists, zipmaps,
//! quicklist 1, string-scored sorted sets). Every length is checked against the input before
//! it is used and no allocation is sized by a length the input declares beyond what the input
//! can hold, so a corrupt payload is an error, never a crash or a huge allocation. Loaded values
//! take the encodings the current thresholds give them, as Redis converts on load.

use std::borrow::Cow;

use crate::store::types::hash::{Hash, Limits as HashLimits};
use crate::store::types::list::List;
use crate::store::types::set::{Elem, IntSet, Set};
use crate::store::types::zset::{Limits as ZLimits, ZSet};
use crate::store::value::Value;

use super::listpack::{self, Corrupt, Item, LpWriter};

/// The RDB format version we write (Redis 7.0's).
pub const RDB_VERSION: u16 = 10;

/// Object types.
pub mod ty {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;

    /// True for the types a key's value can have in a file we can read.
    pub fn is_object(t: u8) -> bool {
        t <= 7 || (9..=19).contains(&t)
    }
}

/// Opcodes between key records.
pub mod op {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Quicklist 2 node containers.
const QL_PLAIN: u64 = 1;
const QL_PACKED: u64 = 2;

/// Redis's CRC-64 (Jones polynomial, reflected, no final xor), computed 16 bytes per step
/// (32 KiB of tables): the checksum of a whole file is on the path of every load and save,
/// and byte-at-a-time tables make it several times slower.
pub static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// A running [`CRC64`].
pub type Crc64Digest = crc::Digest<'static, u64, crc::Table<16>>;

// ---- writing ----

/// Appends a length in RDB's variable encoding.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Appends `n` in an integer string encoding when it fits 32 bits; returns false otherwise.
fn write_int_enc(out: &mut Vec<u8>, n: i64) -> bool {
    if (-128..=127).contains(&n) {
        out.push(0xC0);
        out.push(n as i8 as u8);
    } else if (-32768..=32767).contains(&n) {
        out.push(0xC1);
        out.extend_from_slice(&(n as i16).to_le_bytes());
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
        out.push(0xC2);
        out.extend_from_slice(&(n as i32).to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Appends a string as Redis's `rdbSaveRawString` does: as an integer when it is a short
/// canonical one, LZF-compressed when `compress` is on, it is longer than 20 bytes and
/// compression saves at least 4 bytes, verbatim otherwise.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11
        && let Some(n) = crate::util::parse_i64_strict(s)
        && write_int_enc(out, n)
    {
        return;
    }
    if compress
        && s.len() > 20
        && let Ok(c) = lzf::compress(s)
        && c.len() <= s.len() - 4
    {
        out.push(0xC3);
        write_len(out, c.len() as u64);
        write_len(out, s.len() as u64);
        out.extend_from_slice(&c);
        return;
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends an integer string value (`OBJ_ENCODING_INT`).
fn write_int_string(out: &mut Vec<u8>, n: i64) {
    if !write_int_enc(out, n) {
        let mut tmp = itoa::Buffer::new();
        let s = tmp.format(n).as_bytes();
        write_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// Returns the RDB type a value is saved as.
pub fn object_type(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Small(_) | Value::Str(_) | Value::Raw(_) => ty::STRING,
        Value::List(_) => ty::LIST_QUICKLIST_2,
        Value::Set(s) => {
            if s.is_intset() {
                ty::SET_INTSET
            } else {
                ty::SET
            }
        }
        Value::ZSet(z) => {
            if z.is_pack() {
                ty::ZSET_LISTPACK
            } else {
                ty::ZSET_2
            }
        }
        Value::Hash(h) => match **h {
            Hash::Packed(_) => ty::HASH_LISTPACK,
            Hash::Table(_) => ty::HASH,
        },
    }
}

/// Appends the type byte and the serialization of `v`.
pub fn write_object(out: &mut Vec<u8>, v: &Value, compress: bool) {
    out.push(object_type(v));
    write_body(out, v, compress);
}

/// Appends the serialization of `v` without its type byte.
pub fn write_body(out: &mut Vec<u8>, v: &Value, compress: bool) {
    match v {
        Value::Int(n) => write_int_string(out, *n),
        Value::Small(_) | Value::Str(_) | Value::Raw(_) => {
            let mut tmp = itoa::Buffer::new();
            write_string(out, v.str_bytes(&mut tmp).unwrap_or_default(), compress);
        }
        Value::List(l) => write_list(out, l, compress),
        Value::Set(s) => {
            if let Some(is) = s.intset() {
                let mut vals = Vec::with_capacity(is.len());
                is.for_each(|x| vals.push(x));
                let blob = listpack::intset_blob(is.width(), vals.into_iter());
                write_string(out, &blob, compress);
            } else {
                write_len(out, s.len() as u64);
                s.for_each_member(|m| write_string(out, m, compress));
            }
        }
        Value::ZSet(z) => {
            if z.is_pack() {
                let mut lp = LpWriter::new();
                z.for_each(|m, s| {
                    lp.push(m);
                    lp.push_score(s);
                });
                write_string(out, &lp.finish(), compress);
            } else {
                // Highest first, so that loading inserts each member at the head.
                write_len(out, z.len() as u64);
                z.walk(0, z.len(), true, |m, s| {
                    write_string(out, m, compress);
                    out.extend_from_slice(&s.to_le_bytes());
                    true
                });
            }
        }
        Value::Hash(h) => match &**h {
            Hash::Packed(_) => {
                let mut lp = LpWriter::new();
                h.for_each(|f, v| {
                    lp.push(f);
                    lp.push(v);
                });
                write_string(out, &lp.finish(), compress);
            }
            Hash::Table(_) => {
                write_len(out, h.len() as u64);
                h.for_each(|f, v| {
                    write_string(out, f, compress);
                    write_string(out, v, compress);
                });
            }
        },
    }
}

/// Appends a list as quicklist 2: one record per node.
fn write_list(out: &mut Vec<u8>, l: &List, compress: bool) {
    let mut nodes = Vec::new();
    l.for_each_node(|n| nodes.push(n));
    write_len(out, nodes.len() as u64);
    for n in nodes {
        match n {
            Node::Plain(e) => {
                write_len(out, QL_PLAIN);
                write_string(out, e, compress);
            }
            Node::Packed(elems) => {
                write_len(out, QL_PACKED);
                let mut lp = LpWriter::new();
                for e in elems {
                    lp.push(&e);
                }
                write_string(out, &lp.finish(), compress);
            }
        }
    }
}

/// One quicklist node as the list hands it to the writer.
pub enum Node<'a> {
    Plain(&'a [u8]),
    Packed(Vec<Cow<'a, [u8]>>),
}

/// Returns the DUMP payload of a value: its serialization, the RDB version and the checksum.
pub fn dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_object(&mut out, v, compress);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a DUMP payload's footer: an RDB version we read and, unless `skip_crc`, the checksum.
/// Returns the serialized object without the footer.
pub fn verify_payload(p: &[u8], skip_crc: bool) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let body = p.len() - 10;
    let ver = u16::from_le_bytes([p[body], p[body + 1]]);
    if ver > RDB_VERSION {
        return None;
    }
    if !skip_crc {
        let want = u64::from_le_bytes(p[body + 2..].try_into().ok()?);
        if CRC64.checksum(&p[..body + 2]) != want {
            return None;
        }
    }
    Some(&p[..body])
}

// ---- reading ----

/// Why reading failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The input ended early or holds something impossible.
    Corrupt(&'static str),
    /// A well-formed aggregate with no elements (Redis never saves one; skipped on load).
    Empty,
}

impl From<Corrupt> for LoadError {
    fn from(_: Corrupt) -> Self {
        LoadError::Corrupt("malformed encoded blob")
    }
}

type Res<T> = Result<T, LoadError>;

/// The encoding thresholds loaded values are built with.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub list_fill: i64,
    pub list_depth: u64,
    pub hash: HashLimits,
    pub set_max_intset: u64,
    pub zset: ZLimits,
}

impl Limits {
    /// Returns the thresholds in force in `store`.
    pub fn of(store: &crate::store::Store) -> Limits {
        use std::sync::atomic::Ordering::Relaxed;
        let t = &store.tunables;
        Limits {
            list_fill: t.list_max_listpack_size.load(Relaxed),
            list_depth: t.list_compress_depth.load(Relaxed) as u64,
            hash: HashLimits {
                max_entries: t.hash_max_listpack_entries.load(Relaxed) as usize,
                max_value: t.hash_max_listpack_value.load(Relaxed) as usize,
            },
            set_max_intset: t.set_max_intset_entries.load(Relaxed),
            zset: ZLimits {
                entries: t.zset_max_listpack_entries.load(Relaxed) as usize,
                value: t.zset_max_listpack_value.load(Relaxed) as usize,
            },
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            list_fill: -2,
            list_depth: 0,
            hash: HashLimits {
                max_entries: 512,
                max_value: 64,
            },
            set_max_intset: 512,
            zset: ZLimits::default(),
        }
    }
}

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    /// After a read ran past the end of `b` (a [`SHORT`] error): how long `b` would have had
    /// to be for it (`usize::MAX` when no input can be that long). A loader that reads a file
    /// through a window fills the window that far before it parses the record again.
    pub want: usize,
}

/// The error of a read past the end of the input: the only one that more input can cure.
pub const SHORT: LoadError = LoadError::Corrupt("unexpected end of data");

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, pos: 0, want: 0 }
    }

    #[cold]
    fn short(&mut self, end: usize) -> LoadError {
        self.want = end;
        SHORT
    }

    /// True when every byte has been read.
    pub fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub fn u8(&mut self) -> Res<u8> {
        match self.b.get(self.pos) {
            Some(&v) => {
                self.pos += 1;
                Ok(v)
            }
            None => Err(self.short(self.pos + 1)),
        }
    }

    pub fn bytes(&mut self, n: u64) -> Res<&'a [u8]> {
        // A length past the address space saturates: no input holds it.
        let end = self
            .pos
            .saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        match self.b.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(self.short(end)),
        }
    }

    /// Reads a length; `Err` for a string encoding marker where a length must be.
    pub fn length(&mut self) -> Res<u64> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => Err(LoadError::Corrupt("unexpected string encoding")),
        }
    }

    /// Reads a length or, for `11xxxxxx`, a string encoding marker (the `true` case).
    fn len_or_enc(&mut self) -> Res<(u64, bool)> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => ((b & 0x3F) as u64, false),
            1 => ((((b & 0x3F) as u64) << 8) | self.u8()? as u64, false),
            2 => match b {
                0x80 => {
                    let d = self.bytes(4)?;
                    (u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as u64, false)
                }
                0x81 => (
                    u64::from_be_bytes(self.bytes(8)?.try_into().map_err(|_| SHORT)?),
                    false,
                ),
                _ => return Err(LoadError::Corrupt("unknown length encoding")),
            },
            _ => ((b & 0x3F) as u64, true),
        })
    }

    /// Reads a string in any of its encodings.
    pub fn string(&mut self) -> Res<Cow<'a, [u8]>> {
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return Ok(Cow::Borrowed(self.bytes(n)?));
        }
        let int = |d: &[u8]| {
            let mut u = 0u64;
            for (i, &x) in d.iter().enumerate() {
                u |= (x as u64) << (8 * i);
            }
            let shift = 64 - 8 * d.len() as u32;
            ((u << shift) as i64) >> shift
        };
        let v = match n {
            0 => int(self.bytes(1)?),
            1 => int(self.bytes(2)?),
            2 => int(self.bytes(4)?),
            3 => {
                let clen = self.length()?;
                let len = self.length()?;
                let data = self.bytes(clen)?;
                // LZF expands at most about 90-fold; a larger claim is a lie, refused before
                // anything is allocated for it.
                if len == 0 || len > clen.saturating_mul(100) + 64 {
                    return Err(LoadError::Corrupt("bad LZF length"));
                }
                let out = lzf_expand(data, len as usize)
                    .ok_or(LoadError::Corrupt("Invalid LZF compressed string"))?;
                return Ok(Cow::Owned(out));
            }
            _ => return Err(LoadError::Corrupt("unknown string encoding")),
        };
        Ok(Cow::Owned(
            itoa::Buffer::new().format(v).as_bytes().to_vec(),
        ))
    }

    /// Reads a binary double (ZSET_2).
    fn binary_double(&mut self) -> Res<f64> {
        let d = self.bytes(8)?;
        Ok(f64::from_le_bytes(d.try_into().map_err(|_| SHORT)?))
    }

    /// Reads a string-encoded double (the old ZSET type): a length byte (253 nan, 254 inf,
    /// 255 -inf) and the text.
    fn text_double(&mut self) -> Res<f64> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let s = self.bytes(n as u64)?;
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .ok_or(LoadError::Corrupt("bad double value"))
            }
        }
    }

    /// Reads the object of type `t` (the type byte already read).
    pub fn object(&mut self, t: u8, lim: &Limits) -> Res<Value> {
        match t {
            ty::STRING => Ok(Value::string(&self.string()?)),
            ty::LIST => {
                let n = self.length()?;
                let mut l = List::with_config(lim.list_fill, lim.list_depth);
                for _ in 0..n {
                    l.push(&self.string()?, false);
                }
                non_empty(Value::List(Box::new(l)), n)
            }
            ty::SET => {
                let n = self.length()?;
                let mut s = if n <= lim.set_max_intset {
                    Set::new()
                } else {
                    Set::new_table()
                };
                for _ in 0..n {
                    if !s.add(&self.string()?, lim.set_max_intset) {
                        return Err(LoadError::Corrupt("duplicate set member"));
                    }
                }
                non_empty(Value::Set(Box::new(s)), n)
            }
            ty::ZSET | ty::ZSET_2 => {
                let n = self.length()?;
                let mut z = ZSet::with_hint(n.min(u32::MAX as u64) as usize, 0, lim.zset);
                for _ in 0..n {
                    let m = self.string()?;
                    let s = if t == ty::ZSET_2 {
                        self.binary_double()?
                    } else {
                        self.text_double()?
                    };
                    if s.is_nan() {
                        return Err(LoadError::Corrupt("zset score is NaN"));
                    }
                    if z.score(&m).is_some() {
                        return Err(LoadError::Corrupt("duplicate zset member"));
                    }
                    z.insert(&m, s, lim.zset);
                }
                non_empty(Value::ZSet(Box::new(z)), n)
            }
            ty::HASH => {
                let n = self.length()?;
                let mut h = Hash::new();
                for _ in 0..n {
                    let f = self.string()?;
                    let v = self.string()?;
                    if h.contains(&f) {
                        return Err(LoadError::Corrupt("duplicate hash field"));
                    }
                    h.set(&f, &v, lim.hash);
                }
                non_empty(Value::Hash(Box::new(h)), n)
            }
            ty::SET_INTSET => {
                let blob = self.string()?;
                let (width, vals) = listpack::intset_read(&blob).map_err(|_| bad(INTSET))?;
                if vals.len() as u64 > lim.set_max_intset {
                    let mut s = Set::new_table();
                    for v in vals {
                        s.add_elem(Elem::Int(v), 0);
                    }
                    return Ok(Value::Set(Box::new(s)));
                }
                let is = match width {
                    2 => IntSet::W16(vals.iter().map(|&v| v as i16).collect()),
                    4 => IntSet::W32(vals.iter().map(|&v| v as i32).collect()),
                    _ => IntSet::W64(vals),
                };
                Ok(Value::Set(Box::new(Set::from_intset(is))))
            }
            ty::HASH_LISTPACK | ty::HASH_ZIPLIST => {
                let blob = self.string()?;
                let what = if t == ty::HASH_ZIPLIST {
                    HASH_ZL
                } else {
                    HASH_LP
                };
                let mut items = Vec::new();
                collect(&blob, t == ty::HASH_ZIPLIST, &mut items).map_err(|_| bad(what))?;
                if items.len() % 2 != 0 {
                    return Err(bad(what));
                }
                let mut h = Hash::new();
                for p in items.chunks_exact(2) {
                    if h.contains(&p[0]) {
                        return Err(bad(if t == ty::HASH_ZIPLIST {
                            HASH_ZL_DUP
                        } else {
                            HASH_LP_DUP
                        }));
                    }
                    h.set(&p[0], &p[1], lim.hash);
                }
                non_empty(Value::Hash(Box::new(h)), items.len() as u64)
            }
            ty::HASH_ZIPMAP => {
                let blob = self.string()?;
                let mut h = Hash::new();
                let mut dup = false;
                let n = listpack::zipmap_for_each(&blob, |f, v| {
                    dup |= h.contains(f);
                    h.set(f, v, lim.hash);
                    Ok(())
                })
                .map_err(|_| bad(ZIPMAP))?;
                if dup || n == 0 {
                    return Err(bad(ZIPMAP));
                }
                non_empty(Value::Hash(Box::new(h)), n as u64)
            }
            ty::ZSET_LISTPACK | ty::ZSET_ZIPLIST => {
                let blob = self.string()?;
                let what = if t == ty::ZSET_ZIPLIST {
                    ZSET_ZL
                } else {
                    ZSET_LP
                };
                let mut items = Vec::new();
                collect(&blob, t == ty::ZSET_ZIPLIST, &mut items).map_err(|_| bad(what))?;
                if items.len() % 2 != 0 {
                    return Err(bad(what));
                }
                let n = items.len() / 2;
                let mut z = ZSet::with_hint(n, 0, lim.zset);
                for p in items.chunks_exact(2) {
                    let s = crate::util::parse_f64_strict(&p[1])
                        .filter(|s| !s.is_nan())
                        .ok_or(bad(what))?;
                    if z.score(&p[0]).is_some() {
                        return Err(bad(if t == ty::ZSET_ZIPLIST {
                            ZSET_ZL_DUP
                        } else {
                            ZSET_LP_DUP
                        }));
                    }
                    z.insert(&p[0], s, lim.zset);
                }
                non_empty(Value::ZSet(Box::new(z)), n as u64)
            }
            ty::LIST_ZIPLIST => {
                let blob = self.string()?;
                let mut l = List::with_config(lim.list_fill, lim.list_depth);
                let mut tmp = itoa::Buffer::new();
                let n = listpack::zl_for_each(&blob, |i| {
                    l.push(i.bytes(&mut tmp), false);
                    Ok(())
                })
                .map_err(|_| bad(LIST_ZL))?;
                non_empty(Value::List(Box::new(l)), n as u64)
            }
            ty::LIST_QUICKLIST | ty::LIST_QUICKLIST_2 => {
                let nodes = self.length()?;
                let mut l = List::with_config(lim.list_fill, lim.list_depth);
                let mut tmp = itoa::Buffer::new();
                for _ in 0..nodes {
                    let container = if t == ty::LIST_QUICKLIST_2 {
                        self.length()?
                    } else {
                        QL_PACKED
                    };
                    if container != QL_PLAIN && container != QL_PACKED {
                        return Err(bad(QUICKLIST));
                    }
                    let blob = self.string()?;
                    if blob.is_empty() {
                        return Err(LoadError::Corrupt("empty quicklist node"));
                    }
                    // An empty packed node is skipped (an empty list is refused below).
                    match container {
                        QL_PLAIN => l.push(&blob, false),
                        _ if t == ty::LIST_QUICKLIST_2 => {
                            listpack::lp_for_each(&blob, |i| {
                                l.push(i.bytes(&mut tmp), false);
                                Ok(())
                            })
                            .map_err(|_| bad(LISTPACK))?;
                        }
                        _ => {
                            listpack::zl_for_each(&blob, |i| {
                                l.push(i.bytes(&mut tmp), false);
                                Ok(())
                            })
                            .map_err(|_| bad(ZIPLIST))?;
                        }
                    }
                }
                let n = l.len() as u64;
                non_empty(Value::List(Box::new(l)), n)
            }
            _ => Err(LoadError::Corrupt("unsupported object type")),
        }
    }
}

// What Redis reports when a blob fails its check.
const INTSET: &str = "Intset integrity check failed.";
const HASH_ZL: &str = "Hash ziplist integrity check failed.";
const HASH_LP: &str = "Hash listpack integrity check failed.";
const ZIPMAP: &str = "Zipmap integrity check failed.";
const HASH_ZL_DUP: &str = "Hash ziplist integrity check failed: listpack with dup elements.";
const HASH_LP_DUP: &str = "Hash listpack integrity check failed: listpack with dup elements.";
const ZSET_ZL_DUP: &str = "Zset ziplist integrity check failed: listpack with dup elements.";
const ZSET_LP_DUP: &str = "Zset listpack integrity check failed: listpack with dup elements.";
const ZSET_ZL: &str = "Zset ziplist integrity check failed.";
const ZSET_LP: &str = "Zset listpack integrity check failed.";
const LIST_ZL: &str = "List ziplist integrity check failed.";
const QUICKLIST: &str = "Quicklist integrity check failed.";
const LISTPACK: &str = "Listpack integrity check failed.";
const ZIPLIST: &str = "Ziplist integrity check failed.";

fn bad(what: &'static str) -> LoadError {
    LoadError::Corrupt(what)
}

/// Expands LZF data that must give exactly `want` bytes. Written here rather than taken from
/// the `lzf` crate (which compresses for us) because its decompressor allocates the declared
/// size up front, and in a payload that size is whatever the sender claims: this one grows the
/// output only as the data really expands, so a lie costs no more than the data it came with.
fn lzf_expand(data: &[u8], want: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(want.min(data.len().saturating_mul(4) + 64));
    let mut i = 0;
    while i < data.len() {
        let ctrl = data[i] as usize;
        i += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = data.get(i..i + ctrl + 1)?;
            if out.len() + run.len() > want {
                return None;
            }
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            // A back reference: length (3 bits, or 7 + one more byte) and a 13-bit offset.
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *data.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *data.get(i)? as usize + 1;
            i += 1;
            len += 2;
            if back > out.len() || out.len() + len > want {
                return None;
            }
            let from = out.len() - back;
            // Byte by byte: the source may overlap what is being written (a repeating run).
            for k in 0..len {
                let b = out[from + k];
                out.push(b);
            }
        }
    }
    (out.len() == want).then_some(out)
}

/// Collects the elements of a listpack (or ziplist) as owned strings.
fn collect(blob: &[u8], ziplist: bool, out: &mut Vec<Vec<u8>>) -> Result<(), Corrupt> {
    let mut tmp = itoa::Buffer::new();
    let mut f = |i: Item<'_>| {
        out.push(i.bytes(&mut tmp).to_vec());
        Ok(())
    };
    if ziplist {
        listpack::zl_for_each(blob, &mut f)?;
    } else {
        listpack::lp_for_each(blob, &mut f)?;
    }
    Ok(())
}

fn non_empty(v: Value, n: u64) -> Res<Value> {
    if n == 0 { Err(LoadError::Empty) } else { Ok(v) }
}

/// Reads the value of a DUMP payload body (footer already checked): the type byte and the
/// object, which must take every byte.
pub fn read_payload(body: &[u8], lim: &Limits) -> Res<Value> {
    let mut r = Reader::new(body);
    let t = r.u8()?;
    if !ty::is_object(t) {
        return Err(LoadError::Corrupt("bad object type"));
    }
    let v = r.object(t, lim)?;
    if !r.at_end() {
        return Err(LoadError::Corrupt("trailing bytes"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    fn round_trip(v: &Value, compress: bool) -> Value {
        let p = dump_payload(v, compress);
        let body = verify_payload(&p, false).expect("footer");
        read_payload(body, &lim()).expect("reads back")
    }

    fn string_of(v: &Value) -> Vec<u8> {
        v.to_vec().unwrap()
    }

    #[test]
    fn lengths_round_trip() {
        for n in [
            0u64,
            63,
            64,
            16383,
            16384,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            assert_eq!(Reader::new(&out).length().unwrap(), n);
        }
    }

    #[test]
    fn dump_payloads_match_redis() {
        // Bytes captured from Redis 7.0.15's DUMP of the same values.
        assert_eq!(
            dump_payload(&Value::string(b"1"), true),
            b"\x00\xc0\x01\n\x00&x\xe7\xb6\xd1\x01\x11\xfc".to_vec()
        );
        assert_eq!(
            dump_payload(&Value::string(b"hello"), true),
            b"\x00\x05hello\n\x00cr\xdfve4 \n".to_vec()
        );
        let mut h = Hash::new();
        h.set(b"a", b"1", lim().hash);
        assert_eq!(
            dump_payload(&Value::Hash(Box::new(h)), true),
            b"\x10\x0c\x0c\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff\n\x00\
              \x84\xa6\x93\xe8\xaa\x17\xe4\xdb"
                .to_vec()
        );
        let mut z = ZSet::new();
        z.insert(b"a", 1.5, lim().zset);
        z.insert(b"b", 2.0, lim().zset);
        z.insert(b"c", -3.0, lim().zset);
        assert_eq!(
            dump_payload(&Value::ZSet(Box::new(z)), true),
            b"\x11\x1a\x1a\x00\x00\x00\x06\x00\x81c\x02\xdf\xfd\x02\x81a\x02\x831.5\x04\
              \x81b\x02\x02\x01\xff\n\x00\x88\xc4\xc00\xf0\xae\x82v"
                .to_vec()
        );
        // LZF output as Redis's liblzf produces it.
        let mut long = vec![b'a'; 73];
        long.extend_from_slice(b"bcabcabcabcabc");
        assert_eq!(
            dump_payload(&Value::string(&long), true),
            b"\x00\xc3\x0f@W\x01aa\xe0>\x00\x01bc\xe0\x01\x02\x01bc\n\x00\xc2\xf6]\xf1]osf"
                .to_vec()
        );
    }

    #[test]
    fn strings_round_trip_in_every_encoding() {
        for s in [
            &b"0"[..],
            b"-129",
            b"70000",
            b"-2147483648",
            b"9223372036854775807",
            b"012",
            b"hello",
            &[b'a'; 100][..],
            b"abcdefghijklmnopqrstuvwxyz0123456789",
        ] {
            for c in [false, true] {
                assert_eq!(string_of(&round_trip(&Value::string(s), c)), s.to_vec());
            }
        }
        // A long compressible string really is compressed.
        let p = dump_payload(&Value::string(&[b'a'; 100]), true);
        assert_eq!(p[1], 0xC3);
    }

    #[test]
    fn aggregates_round_trip() {
        let mut l = List::new();
        for i in 0..1000 {
            l.push(format!("elem-{i}").as_bytes(), false);
        }
        l.push(b"7", false);
        let back = round_trip(&Value::List(Box::new(l.clone())), true);
        let Value::List(b) = back else { panic!() };
        assert_eq!(b.to_vec(), l.to_vec());

        let mut h = Hash::new();
        for i in 0..10 {
            h.set(
                format!("f{i}").as_bytes(),
                format!("{i}").as_bytes(),
                lim().hash,
            );
        }
        let Value::Hash(b) = round_trip(&Value::Hash(Box::new(h)), true) else {
            panic!()
        };
        assert_eq!(b.encoding_name(), "listpack");
        assert_eq!(b.get(b"f3"), Some(&b"3"[..]));
        let mut big = Hash::new();
        for i in 0..600 {
            big.set(format!("f{i}").as_bytes(), b"v", lim().hash);
        }
        let Value::Hash(b) = round_trip(&Value::Hash(Box::new(big)), false) else {
            panic!()
        };
        assert_eq!((b.encoding_name(), b.len()), ("hashtable", 600));

        let mut s = Set::new();
        for x in [5i64, -3, 100000] {
            s.add(x.to_string().as_bytes(), 512);
        }
        let Value::Set(b) = round_trip(&Value::Set(Box::new(s)), true) else {
            panic!()
        };
        assert!(b.is_intset() && b.contains(b"100000") && b.len() == 3);
        let mut s = Set::new_table();
        s.add(b"x", 512);
        s.add(b"y", 512);
        let Value::Set(b) = round_trip(&Value::Set(Box::new(s)), true) else {
            panic!()
        };
        assert!(b.contains(b"x") && b.contains(b"y") && b.len() == 2);

        for n in [3usize, 300] {
            let mut z = ZSet::new();
            for i in 0..n {
                z.insert(format!("m{i}").as_bytes(), i as f64 * 1.5 - 7.0, lim().zset);
            }
            z.insert(b"inf", f64::INFINITY, lim().zset);
            let Value::ZSet(b) = round_trip(&Value::ZSet(Box::new(z)), true) else {
                panic!()
            };
            assert_eq!(b.len(), n + 1);
            assert_eq!(b.score(b"m2"), Some(-4.0));
            assert_eq!(b.score(b"inf"), Some(f64::INFINITY));
            assert_eq!(b.is_pack(), n < 100);
        }
    }

    #[test]
    fn corrupt_payloads_are_errors() {
        let mut h = Hash::new();
        h.set(b"a", b"1", lim().hash);
        h.set(b"b", b"2", lim().hash);
        let mut l = List::new();
        l.push(b"x", true);
        let mut z = ZSet::new();
        z.insert(b"m", 1.5, lim().zset);
        let vals = [
            Value::Hash(Box::new(h)),
            Value::List(Box::new(l)),
            Value::ZSet(Box::new(z)),
            Value::string(&[b'q'; 64]),
        ];
        for v in &vals {
            let p = dump_payload(v, true);
            for n in 0..p.len() {
                assert!(verify_payload(&p[..n], false).is_none() || n == p.len());
                // With the checksum skipped, every truncation of the body is still an error.
                if n < p.len() - 10 {
                    assert!(read_payload(&p[..n], &lim()).is_err());
                }
            }
            let body_len = p.len() - 10;
            for i in 0..body_len {
                for bit in 0..8 {
                    let mut c = p[..body_len].to_vec();
                    c[i] ^= 1 << bit;
                    let _ = read_payload(&c, &lim());
                }
            }
            let mut bad = p.clone();
            bad[0] ^= 0;
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(verify_payload(&bad, false).is_none());
            assert!(verify_payload(&bad, true).is_some());
        }
    }

    #[test]
    fn lzf_expands_what_the_crate_compresses() {
        for input in [
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            (0..5000u32)
                .flat_map(|i| (i % 97).to_le_bytes())
                .collect::<Vec<u8>>(),
            b"abcabcabcabcabcabcabcabcxyzxyzxyzxyz0123456789abcabcabc".repeat(40),
        ] {
            let c = lzf::compress(&input).unwrap();
            assert_eq!(lzf_expand(&c, input.len()).unwrap(), input);
            // A wrong expected size, and every truncation, are refused.
            assert!(lzf_expand(&c, input.len() + 1).is_none());
            assert!(lzf_expand(&c, input.len() - 1).is_none());
            for n in 0..c.len() {
                assert!(lzf_expand(&c[..n], input.len()).is_none());
            }
        }
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        // A set claiming 2^32 members with none present.
        let mut p = vec![ty::SET];
        write_len(&mut p, u32::MAX as u64);
        assert!(read_payload(&p, &lim()).is_err());
        // An LZF string claiming 4 GB from 3 bytes.
        let mut p = vec![ty::STRING, 0xC3];
        write_len(&mut p, 3);
        write_len(&mut p, u32::MAX as u64);
        p.extend_from_slice(b"abc");
        assert!(read_payload(&p, &lim()).is_err());
    }
}
