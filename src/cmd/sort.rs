//! SORT and SORT_RO: sort the elements of a list, set or sorted set numerically or
//! lexicographically, optionally by weights read from other keys (`BY pattern`), returning
//! them or values read through `GET pattern`s, or storing the result as a list (`STORE`).
//!
//! The keys a `BY` or `GET` pattern reads are known only from the data, so both commands lock
//! every shard (the `ALL_SHARDS` flag); their declared keys are the sorted key and, for SORT,
//! the STORE destination, as Redis's `sortGetKeys` finds them.

use crate::command::table::{BeginSearch, FindKeys, KeySpecDef, key_flags};
use crate::command::{Command, Ctx, KeySpec, flags::*};
use crate::config::notify;
use crate::protocol::errors;
use crate::store::Keyspace;
use crate::store::value::Value;
use crate::util::parse_i64_strict;

/// One element to sort, with what it sorts by.
struct Item {
    elem: Vec<u8>,
    /// Numeric weight (0 when its BY key is missing).
    score: f64,
    /// Alphabetic weight read through BY; `None` when missing (sorts first).
    by: Option<Vec<u8>>,
}

/// Returns what `pattern` points at for element `subst`, as Redis's `lookupKeyByPattern`:
/// `#` is the element itself; otherwise the first `*` is replaced by the element and the key
/// read, as a string, or with `->field` as a hash field. `None` when there is no `*`, the key
/// is missing, or it has the wrong type.
fn lookup_by_pattern(ks: &mut Keyspace, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(subst.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    // `->` after the star, followed by at least one character, names a hash field.
    let arrow = pattern[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|p| star + 1 + p)
        .filter(|&p| p + 2 < pattern.len());
    let (key_end, field) = match arrow {
        Some(p) => (p, Some(&pattern[p + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(key_end + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..key_end]);
    let v = ks.get(&key)?;
    match field {
        Some(f) => v.as_hash()?.get(f).map(|b| b.to_vec()),
        None => v.to_vec(),
    }
}

/// Weighs a value the way SORT does: C's `strtod` over the whole string (up to a NUL byte,
/// as in Redis's NUL-terminated strings); leftovers, overflow or NaN are a conversion error.
/// Called through libc so every form strtod takes (leading spaces, hex, `inf`) weighs alike.
fn sort_score(b: &[u8]) -> Option<f64> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let mut buf = Vec::with_capacity(end + 1);
    buf.extend_from_slice(&b[..end]);
    buf.push(0);
    let mut eptr: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; errno is thread-local.
    let (v, rest, erange) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(buf.as_ptr() as *const libc::c_char, &mut eptr);
        (v, *eptr, *libc::__errno_location() == libc::ERANGE)
    };
    if rest != 0 || erange || v.is_nan() { None } else { Some(v) }
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC]
/// [ALPHA] [STORE destination]
fn sort(ctx: &mut Ctx, argv: &[&[u8]]) {
    sort_generic(ctx, argv, false);
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC]
/// [ALPHA]
fn sort_ro(ctx: &mut Ctx, argv: &[&[u8]]) {
    sort_generic(ctx, argv, true);
}

fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) {
    let (mut desc, mut alpha) = (false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sortby: Option<&[u8]> = None;
    let mut dontsort = false;
    let mut gets: Vec<&[u8]> = Vec::new();
    let mut store: Option<&[u8]> = None;
    let mut j = 2;
    while j < argv.len() {
        let a = argv[j];
        let left = argv.len() - j - 1;
        if a.eq_ignore_ascii_case(b"asc") {
            desc = false;
        } else if a.eq_ignore_ascii_case(b"desc") {
            desc = true;
        } else if a.eq_ignore_ascii_case(b"alpha") {
            alpha = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let (Some(s), Some(c)) = (parse_i64_strict(argv[j + 1]), parse_i64_strict(argv[j + 2]))
            else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            limit_start = s;
            limit_count = c;
            j += 2;
        } else if a.eq_ignore_ascii_case(b"store") && left >= 1 && !readonly {
            store = Some(argv[j + 1]);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            let p = argv[j + 1];
            // A pattern without `*` names one key for every element: no sorting at all.
            if !p.contains(&b'*') {
                dontsort = true;
            }
            sortby = Some(p);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            gets.push(argv[j + 1]);
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }

    // The elements, in the order the type keeps them.
    // Looked up for reading once, as Redis does: one hit or miss, one `keymiss`.
    let Some(kind) = (match ctx.ks.get(argv[1]) {
        None => Some(None),
        Some(Value::List(_)) => Some(Some(0)),
        Some(Value::Set(_)) => Some(Some(1)),
        Some(Value::ZSet(_)) => Some(Some(2)),
        Some(_) => None,
    }) else {
        return ctx.out.error(errors::WRONGTYPE);
    };
    // A set read without sorting would come out in an order that depends on its layout; a
    // stored result must not, so it is sorted alphabetically after all, as Redis does.
    if dontsort && kind == Some(1) && store.is_some() {
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    let len = match ctx.ks.peek(argv[1]).map(|e| e.value()) {
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        _ => 0,
    };
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 { len as i64 - 1 } else { start.saturating_add(limit_count) - 1 };
    if start >= len as i64 {
        start = len as i64 - 1;
        end = len as i64 - 2;
    }
    if end >= len as i64 {
        end = len as i64 - 1;
    }

    let mut items: Vec<Item> = Vec::new();
    let mut push = |e: &[u8]| items.push(Item { elem: e.to_vec(), score: 0.0, by: None });
    match ctx.ks.peek(argv[1]).map(|e| e.value()) {
        // Without sorting, a list or sorted set gives just the LIMIT range, in its order (or
        // reversed for DESC).
        Some(Value::List(l)) if dontsort => {
            if end >= start {
                let n = (end - start + 1) as usize;
                let from = if desc { len - start as usize - 1 } else { start as usize };
                let mut taken = 0;
                l.walk(from, desc, |e| {
                    push(e);
                    taken += 1;
                    taken < n
                });
            }
            end -= start;
            start = 0;
        }
        Some(Value::ZSet(z)) if dontsort => {
            if end >= start {
                let (s, e) = if desc {
                    (len - end as usize - 1, len - start as usize)
                } else {
                    (start as usize, end as usize + 1)
                };
                z.walk(s, e, desc, |m, _| {
                    push(m);
                    true
                });
            }
            end -= start;
            start = 0;
        }
        Some(Value::List(l)) => l.walk(0, false, |e| {
            push(e);
            true
        }),
        Some(Value::Set(s)) => s.for_each_member(|m| push(m)),
        Some(Value::ZSet(z)) => z.for_each(|m, _| push(m)),
        _ => {}
    }

    // Weights, then the sort.
    let mut conversion_error = false;
    if !dontsort {
        for it in items.iter_mut() {
            let w = match sortby {
                Some(p) => match lookup_by_pattern(&mut ctx.ks, p, &it.elem) {
                    Some(w) => w,
                    None => continue,
                },
                None => {
                    if alpha {
                        continue;
                    }
                    it.elem.clone()
                }
            };
            if alpha {
                it.by = Some(w);
            } else {
                match sort_score(&w) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let by_pattern = sortby.is_some();
        items.sort_by(|a, b| {
            let cmp = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.elem.cmp(&b.elem))
            } else if by_pattern {
                // A missing weight sorts first.
                a.by.cmp(&b.by)
            } else {
                a.elem.cmp(&b.elem)
            };
            if desc { cmp.reverse() } else { cmp }
        });
    }
    if conversion_error {
        return ctx.out.error(errors::SORT_NOT_DOUBLE);
    }

    let range: &[Item] = if end >= start && start >= 0 {
        &items[start as usize..=(end as usize).min(items.len().saturating_sub(1))]
    } else {
        &[]
    };
    let per = gets.len().max(1);
    let outlen = range.len() * per;
    match store {
        None => {
            ctx.out.array(outlen);
            for it in range {
                if gets.is_empty() {
                    ctx.out.bulk(&it.elem);
                }
                for g in &gets {
                    match lookup_by_pattern(&mut ctx.ks, g, &it.elem) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut list = crate::cmd::list::new_list(&ctx.ks);
            for it in range {
                if gets.is_empty() {
                    list.push(&it.elem, false);
                }
                for g in &gets {
                    let v = lookup_by_pattern(&mut ctx.ks, g, &it.elem).unwrap_or_default();
                    list.push(&v, false);
                }
            }
            if outlen > 0 {
                ctx.ks.set(dst, Value::List(Box::new(list)), false);
                ctx.ks.dirty += outlen as u64 - 1;
                ctx.notify(notify::LIST, "sortstore", dst);
            } else if ctx.ks.delete(dst) {
                // `delete` counted the change.
                ctx.notify(notify::GENERIC, "del", dst);
            }
            ctx.out.int(outlen as i64);
        }
    }
}

/// SORT's keys, as Redis's `sortGetKeys`: the sorted key, and the argument after the last
/// STORE (skipping the arguments of LIMIT, GET and BY).
fn sort_keys(argv: &[&[u8]]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// SORT_RO's key: the sorted one (its BY/GET keys cannot be told from the arguments).
fn sort_ro_keys(_argv: &[&[u8]]) -> Vec<usize> {
    vec![1]
}

const PATTERN_NOTES: &str = "For the optional BY/GET keyword. It is marked 'unknown' because the \
     key names derive from the content of the key we sort";
const STORE_NOTES: &str = "For the optional STORE keyword. It is marked 'unknown' because the \
     keyword can appear anywhere in the argument array";

const SORT_SPECS: &[KeySpecDef] = &[
    KeySpecDef::index(1, key_flags::RO | key_flags::ACCESS),
    KeySpecDef {
        flags: key_flags::RO | key_flags::ACCESS,
        begin: BeginSearch::Unknown,
        find: FindKeys::Unknown,
        notes: PATTERN_NOTES,
    },
    KeySpecDef {
        flags: key_flags::OW | key_flags::UPDATE,
        begin: BeginSearch::Unknown,
        find: FindKeys::Unknown,
        notes: STORE_NOTES,
    },
];

const SORT_RO_SPECS: &[KeySpecDef] = &[
    KeySpecDef::index(1, key_flags::RO | key_flags::ACCESS),
    KeySpecDef {
        flags: key_flags::RO | key_flags::ACCESS,
        begin: BeginSearch::Unknown,
        find: FindKeys::Unknown,
        notes: PATTERN_NOTES,
    },
];

/// SORT's table rows.
pub const COMMANDS: &[Command] = &[
    Command {
        keys: KeySpec::Custom(sort_keys),
        key_specs: SORT_SPECS,
        summary: "Sort the elements in a list, set or sorted set",
        complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to \
                     sort, and M the number of returned elements. When the elements are not \
                     sorted, complexity is O(N).",
        acl: &["set", "sortedset", "list", "dangerous"],
        ..Command::new("sort", -2, WRITE | DENYOOM | ALL_SHARDS, sort)
    },
    Command {
        keys: KeySpec::Custom(sort_ro_keys),
        key_specs: SORT_RO_SPECS,
        since: "7.0.0",
        summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to \
                     sort, and M the number of returned elements. When the elements are not \
                     sorted, complexity is O(N).",
        acl: &["set", "sortedset", "list", "dangerous"],
        ..Command::new("sort_ro", -2, READONLY | ALL_SHARDS, sort_ro)
    },
];

#[cfg(test)]
mod tests {
    use crate::command::testing::{Harness, bulk, err};
    use crate::protocol::errors;
    use crate::protocol::reply::Value as R;

    fn bulks(v: &[&str]) -> R {
        R::Array(v.iter().map(|s| bulk(s)).collect())
    }

    #[test]
    fn numeric_alpha_limit_and_desc() {
        let mut h = Harness::new();
        h.run(&["RPUSH", "l", "3", "10", "1", "2.5"]);
        assert_eq!(h.run(&["SORT", "l"]), bulks(&["1", "2.5", "3", "10"]));
        assert_eq!(h.run(&["SORT", "l", "DESC", "LIMIT", "1", "2"]), bulks(&["3", "2.5"]));
        assert_eq!(h.run(&["SORT", "l", "ALPHA"]), bulks(&["1", "10", "2.5", "3"]));
        assert_eq!(h.run(&["SORT", "l", "LIMIT", "10", "5"]), bulks(&[]));
        h.run(&["RPUSH", "bad", "1", "x"]);
        assert_eq!(h.run(&["SORT", "bad"]), err(errors::SORT_NOT_DOUBLE));
        assert_eq!(h.run(&["SORT", "l", "LIMIT", "a", "1"]), err(errors::NOT_INTEGER));
        assert_eq!(h.run(&["SORT_RO", "l", "STORE", "d"]), err(errors::SYNTAX));
        h.run(&["SET", "s", "x"]);
        assert_eq!(h.run(&["SORT", "s"]), err(errors::WRONGTYPE));
        assert_eq!(h.run(&["SORT", "missing"]), bulks(&[]));
    }

    #[test]
    fn by_and_get_patterns_read_strings_and_hash_fields() {
        let mut h = Harness::new();
        h.run(&["SADD", "ids", "1", "2", "3"]);
        h.run(&["MSET", "w_1", "30", "w_2", "10", "w_3", "20"]);
        h.run(&["HSET", "o_1", "name", "one"]);
        h.run(&["HSET", "o_2", "name", "two"]);
        assert_eq!(h.run(&["SORT", "ids", "BY", "w_*"]), bulks(&["2", "3", "1"]));
        assert_eq!(
            h.run(&["SORT", "ids", "BY", "w_*", "GET", "#", "GET", "o_*->name"]),
            R::Array(vec![bulk("2"), bulk("two"), bulk("3"), R::Null, bulk("1"), bulk("one")])
        );
        // BY without a star: no sorting; the LIMIT range of a list in list order.
        h.run(&["RPUSH", "l", "c", "a", "b"]);
        assert_eq!(h.run(&["SORT", "l", "BY", "nosort", "LIMIT", "1", "2"]), bulks(&["a", "b"]));
        assert_eq!(h.run(&["SORT", "l", "BY", "nosort", "DESC"]), bulks(&["b", "a", "c"]));
    }

    #[test]
    fn store_writes_a_list_and_deletes_on_empty() {
        let mut h = Harness::new();
        h.run(&["RPUSH", "l", "b", "a"]);
        assert_eq!(h.run(&["SORT", "l", "ALPHA", "STORE", "dst"]), R::Int(2));
        assert_eq!(h.run(&["LRANGE", "dst", "0", "-1"]), bulks(&["a", "b"]));
        assert_eq!(h.run(&["SORT", "nothing", "STORE", "dst"]), R::Int(0));
        assert_eq!(h.run(&["EXISTS", "dst"]), R::Int(0));
        assert_eq!(
            h.run(&["COMMAND", "GETKEYS", "SORT", "abc", "STORE", "x", "STORE", "def"]),
            bulks(&["abc", "def"])
        );
        assert_eq!(h.run(&["COMMAND", "GETKEYS", "SORT_RO", "abc"]), bulks(&["abc"]));
    }
}
