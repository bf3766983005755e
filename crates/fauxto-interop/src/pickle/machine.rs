//! The pickle virtual machine (Python's `pickletools` documents the opcodes), run without
//! ever calling anything.
//!
//! Protocols 2 to 5 are read in full, plus the protocol 0/1 opcodes that binary pickles
//! still use. Globals are checked against an allow list the moment the stream names them,
//! so a pickle that mentions `os.system` fails there, with that name in the error.
//!
//! Memory stays proportional to the input: every opcode adds at most one value, declared
//! lengths are checked against the bytes that are actually left before anything is
//! allocated, and the memo is a map (a `LONG_BINPUT` at index 2³²−1 costs one entry).

use std::collections::HashMap;

use super::value::{Arena, Id, Value};
use crate::error::ImportError;

/// Highest protocol this reader knows.
pub const HIGHEST_PROTOCOL: u8 = 5;

/// Longest line a text opcode (`GLOBAL`, `INT`, `GET`, …) may have.
const MAX_LINE: usize = 512;

/// Classes whose instances are plain dicts for our purposes: `OrderedDict()` and the
/// official `dnnlib.util.EasyDict()` (a dict with attribute access).
const DICT_CLASSES: &[(&str, &str)] =
    &[("collections", "OrderedDict"), ("dnnlib.util", "EasyDict")];

/// Result of one pickle: its values and the root object.
#[derive(Debug)]
pub struct Pickle {
    pub arena: Arena,
    pub root: Id,
}

/// Reads one pickle from `bytes[start..]`, stopping at its `STOP` opcode. Returns the
/// pickle and the offset just past it (several pickles can follow each other, as in
/// torch's legacy format).
pub fn read_pickle(
    bytes: &[u8],
    start: usize,
    allowed: &[(&str, &str)],
) -> Result<(Pickle, usize), ImportError> {
    let mut machine = Machine {
        input: bytes,
        pos: start,
        op_pos: start,
        allowed,
        arena: Arena::default(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let root = machine.run()?;
    Ok((
        Pickle {
            arena: machine.arena,
            root,
        },
        machine.pos,
    ))
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    /// Offset of the opcode being executed, for errors.
    op_pos: usize,
    allowed: &'a [(&'a str, &'a str)],
    arena: Arena,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u32, Id>,
}

impl<'a> Machine<'a> {
    fn malformed(&self, message: impl Into<String>) -> ImportError {
        ImportError::Malformed {
            offset: self.op_pos,
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ImportError> {
        let left = self.input.len() - self.pos;
        if n > left {
            return Err(self.malformed(format!(
                "needs {n} more bytes but only {left} are left (truncated file or a bogus length)"
            )));
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, ImportError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], ImportError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    /// A length field followed by that many bytes.
    fn counted(&mut self, len: u64) -> Result<&'a [u8], ImportError> {
        let len = usize::try_from(len).map_err(|_| self.malformed("length beyond memory"))?;
        self.take(len)
    }

    fn line(&mut self) -> Result<&'a str, ImportError> {
        let rest = &self.input[self.pos..];
        let end = rest
            .iter()
            .take(MAX_LINE)
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.malformed("unterminated or overlong text argument"))?;
        let line = std::str::from_utf8(&rest[..end])
            .map_err(|_| self.malformed("text argument is not UTF-8"))?;
        self.pos += end + 1;
        Ok(line)
    }

    fn push(&mut self, value: Value) {
        let id = self.arena.push(value);
        self.stack.push(id);
    }

    fn pop(&mut self) -> Result<Id, ImportError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.malformed("stack underflow"));
        }
        Ok(self.stack.pop().expect("checked"))
    }

    fn top(&self) -> Result<Id, ImportError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.malformed("stack underflow"));
        }
        Ok(*self.stack.last().expect("checked"))
    }

    /// Pops everything above the topmost mark, and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Id>, ImportError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.malformed("no MARK to pop to"))?;
        Ok(self.stack.split_off(mark))
    }

    fn memo_get(&self, index: u32) -> Result<Id, ImportError> {
        self.memo
            .get(&index)
            .copied()
            .ok_or_else(|| self.malformed(format!("memo entry {index} was never stored")))
    }

    fn memo_put(&mut self, index: u32) -> Result<(), ImportError> {
        let top = self.top()?;
        self.memo.insert(index, top);
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str) -> Result<(), ImportError> {
        // Protocol 2 pickles use Python 2 module names.
        let module = match module {
            "__builtin__" => "builtins",
            "copy_reg" => "copyreg",
            m => m,
        };
        if !self.allowed.iter().any(|(m, n)| *m == module && *n == name) {
            return Err(ImportError::RefusedGlobal {
                module: module.into(),
                name: name.into(),
                offset: self.op_pos,
            });
        }
        self.push(Value::Global {
            module: module.into(),
            name: name.into(),
        });
        Ok(())
    }

    /// `REDUCE` / `NEWOBJ`: records the call. Calls of Python's own container types and of
    /// `_codecs.encode` (how protocol 2 stores `bytes`) become the data they would produce.
    fn call(&mut self, func: Id, args: Id) -> Result<(), ImportError> {
        let arg_items = self.arena.items(args).map(<[Id]>::to_vec);
        if let (Some((module, name)), Some(items)) = (self.arena.global(func), &arg_items) {
            let is_dict = DICT_CLASSES.contains(&(module, name));
            match (module, name, items.as_slice()) {
                _ if is_dict && items.is_empty() => {
                    self.push(Value::Dict(Vec::new()));
                    return Ok(());
                }
                ("builtins", "set" | "frozenset", []) => {
                    self.push(Value::Set(Vec::new()));
                    return Ok(());
                }
                ("builtins", "set" | "frozenset", [list]) => {
                    let items = self
                        .arena
                        .items(*list)
                        .ok_or_else(|| self.malformed("set() of something not a list"))?
                        .to_vec();
                    self.push(Value::Set(items));
                    return Ok(());
                }
                ("_codecs", "encode", [text, encoding]) => {
                    let bytes = self.latin1(*text, *encoding)?;
                    self.push(Value::Bytes(bytes));
                    return Ok(());
                }
                _ => {}
            }
        }
        if arg_items.is_none() {
            return Err(self.malformed(format!(
                "call arguments must be a tuple, got {}",
                self.arena.describe(args)
            )));
        }
        self.push(Value::Call {
            func,
            args,
            state: None,
        });
        Ok(())
    }

    fn latin1(&self, text: Id, encoding: Id) -> Result<Vec<u8>, ImportError> {
        match (self.arena.get(text), self.arena.str(encoding)) {
            (Value::Str(s), Some("latin1" | "latin-1")) => s
                .chars()
                .map(|c| u8::try_from(u32::from(c)))
                .collect::<Result<_, _>>()
                .map_err(|_| self.malformed("latin1 text with a character above U+00FF")),
            _ => Err(self.malformed("_codecs.encode other than (str, 'latin1')")),
        }
    }

    fn run(&mut self) -> Result<Id, ImportError> {
        loop {
            self.op_pos = self.pos;
            if self.pos >= self.input.len() {
                return Err(self.malformed("ends before the STOP opcode (truncated file?)"));
            }
            let op = self.u8()?;
            match op {
                b'.' => {
                    let root = self.pop()?;
                    if !self.marks.is_empty() {
                        return Err(self.malformed("STOP with an open MARK"));
                    }
                    return Ok(root);
                }
                0x80 => {
                    let proto = self.u8()?;
                    if proto > HIGHEST_PROTOCOL {
                        return Err(self.malformed(format!(
                            "pickle protocol {proto} (this reader knows 0 to {HIGHEST_PROTOCOL})"
                        )));
                    }
                }
                0x95 => {
                    // FRAME: a length hint only.
                    self.le::<8>()?;
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.top()?;
                    self.stack.push(top);
                }
                // Constants.
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.push(Value::Int(v.into()))
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v.into()))
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.push(Value::Int(v.into()))
                }
                b'I' => {
                    let value = match self.line()? {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        text => Value::Int(
                            text.parse()
                                .map_err(|_| self.malformed(format!("bad INT {text:?}")))?,
                        ),
                    };
                    self.push(value)
                }
                0x8a => {
                    let n = self.u8()?;
                    let bytes = self.counted(n.into())?;
                    self.push(long(bytes))
                }
                0x8b => {
                    let n = u32::from_le_bytes(self.le()?);
                    let bytes = self.counted(n.into())?;
                    self.push(long(bytes))
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.le()?);
                    self.push(Value::Float(v))
                }
                b'F' => {
                    let text = self.line()?;
                    let v = text
                        .parse()
                        .map_err(|_| self.malformed(format!("bad FLOAT {text:?}")))?;
                    self.push(Value::Float(v))
                }
                // Strings and bytes.
                b'X' | 0x8c | 0x8d => {
                    let len = match op {
                        b'X' => u32::from_le_bytes(self.le()?).into(),
                        0x8c => self.u8()?.into(),
                        _ => u64::from_le_bytes(self.le()?),
                    };
                    let raw = self.counted(len)?;
                    let s = std::str::from_utf8(raw)
                        .map_err(|_| self.malformed("string is not UTF-8"))?;
                    self.push(Value::Str(s.to_string()))
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let len = match op {
                        b'B' => u32::from_le_bytes(self.le()?).into(),
                        b'C' => self.u8()?.into(),
                        _ => u64::from_le_bytes(self.le()?),
                    };
                    let raw = self.counted(len)?;
                    self.push(Value::Bytes(raw.to_vec()))
                }
                b'T' | b'U' => {
                    // Python 2 byte strings, as protocol 2 writes them for `str` in Python 2.
                    let len = if op == b'T' {
                        u32::from_le_bytes(self.le()?).into()
                    } else {
                        self.u8()?.into()
                    };
                    let raw = self.counted(len)?;
                    let s: String = raw.iter().map(|&b| char::from(b)).collect();
                    self.push(Value::Str(s))
                }
                // Containers.
                b')' => self.push(Value::Tuple(Vec::new())),
                b']' => self.push(Value::List(Vec::new())),
                b'}' => self.push(Value::Dict(Vec::new())),
                0x8f => self.push(Value::Set(Vec::new())),
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Value::Tuple(items))
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items))
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(items))
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Value::Set(items))
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.push(Value::Dict(pairs))
                }
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.extend_list(list, vec![item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.extend_list(list, items)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let dict = self.top()?;
                    self.extend_dict(dict, vec![(key, value)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    let dict = self.top()?;
                    self.extend_dict(dict, pairs)?;
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    let set = self.top()?;
                    match self.arena.get_mut(set) {
                        Value::Set(v) => v.extend(items),
                        _ => return Err(self.malformed("ADDITEMS on something not a set")),
                    }
                }
                // Memo.
                b'q' => {
                    let i = self.u8()?;
                    self.memo_put(i.into())?
                }
                b'r' => {
                    let i = u32::from_le_bytes(self.le()?);
                    self.memo_put(i)?
                }
                b'p' => {
                    let text = self.line()?;
                    let i = text
                        .parse()
                        .map_err(|_| self.malformed(format!("bad PUT {text:?}")))?;
                    self.memo_put(i)?
                }
                0x94 => {
                    let i =
                        u32::try_from(self.memo.len()).map_err(|_| self.malformed("memo full"))?;
                    self.memo_put(i)?
                }
                b'h' | b'j' | b'g' => {
                    let i = match op {
                        b'h' => self.u8()?.into(),
                        b'j' => u32::from_le_bytes(self.le()?),
                        _ => {
                            let text = self.line()?;
                            text.parse()
                                .map_err(|_| self.malformed(format!("bad GET {text:?}")))?
                        }
                    };
                    let id = self.memo_get(i)?;
                    self.stack.push(id);
                }
                // Globals and calls.
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (self.arena.str(module), self.arena.str(name)) {
                        (Some(m), Some(n)) => {
                            let (m, n) = (m.to_string(), n.to_string());
                            self.global(&m, &n)?
                        }
                        _ => return Err(self.malformed("STACK_GLOBAL of non-strings")),
                    }
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.call(func, args)?
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let class = self.pop()?;
                    if !matches!(self.arena.get(kwargs), Value::Dict(d) if d.is_empty()) {
                        return Err(self.malformed("NEWOBJ_EX with keyword arguments"));
                    }
                    self.call(class, args)?
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    match self.arena.get_mut(target) {
                        Value::Call { state: slot, .. } => *slot = Some(state),
                        // A dict subclass with attributes (e.g. a state dict's `_metadata`).
                        Value::Dict(_) => {}
                        _ => return Err(self.malformed("BUILD on something not an object")),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.push(Value::PersistentId(pid))
                }
                b'P' => {
                    let text = self.line()?.to_string();
                    let pid = self.arena.push(Value::Str(text));
                    self.push(Value::PersistentId(pid))
                }
                other => {
                    return Err(self.malformed(format!(
                        "opcode {} is not supported ({})",
                        describe_opcode(other),
                        "network pickles do not use it"
                    )))
                }
            }
        }
    }

    fn pairs(&self, items: Vec<Id>) -> Result<Vec<(Id, Id)>, ImportError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.malformed("odd number of items for a dict"));
        }
        Ok(items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect())
    }

    fn extend_list(&mut self, list: Id, items: Vec<Id>) -> Result<(), ImportError> {
        match self.arena.get_mut(list) {
            Value::List(v) => {
                v.extend(items);
                Ok(())
            }
            _ => Err(self.malformed("APPEND to something not a list")),
        }
    }

    fn extend_dict(&mut self, dict: Id, pairs: Vec<(Id, Id)>) -> Result<(), ImportError> {
        match self.arena.get_mut(dict) {
            Value::Dict(v) => {
                v.extend(pairs);
                Ok(())
            }
            _ => Err(self.malformed("SETITEM on something not a dict")),
        }
    }
}

/// `LONG1`/`LONG4` payload: little-endian two's complement.
fn long(bytes: &[u8]) -> Value {
    if bytes.len() <= 8 {
        let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut buf = [fill; 8];
        buf[..bytes.len()].copy_from_slice(bytes);
        Value::Int(i64::from_le_bytes(buf))
    } else {
        Value::BigInt(bytes.to_vec())
    }
}

fn describe_opcode(op: u8) -> String {
    let name = match op {
        b'i' => "INST",
        b'o' => "OBJ",
        0x82..=0x84 => "EXT",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'L' => "LONG",
        _ => "",
    };
    if name.is_empty() {
        format!("0x{op:02x}")
    } else {
        format!("{name} (0x{op:02x})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: &[(&str, &str)] = &[];

    fn read(bytes: &[u8]) -> Result<Pickle, ImportError> {
        read_pickle(bytes, 0, NONE).map(|(p, _)| p)
    }

    #[test]
    fn reads_nested_containers_with_shared_references() {
        // pickle.dumps({'a': [1, -2, 3.5], 'b': (True, None), 'c': <same list>}, protocol=4)
        // written by hand: PROTO 4, EMPTY_DICT, MEMOIZE, MARK, 'a', EMPTY_LIST, MEMOIZE,
        // MARK, K 1, J -2, G 3.5, APPENDS, 'b', NEWTRUE, NONE, TUPLE2, 'c', GET 1, SETITEMS, STOP
        let mut p = vec![0x80, 4, b'}', 0x94, b'(', 0x8c, 1, b'a', b']', 0x94, b'('];
        p.extend([b'K', 1, b'J']);
        p.extend((-2i32).to_le_bytes());
        p.push(b'G');
        p.extend(3.5f64.to_be_bytes());
        p.extend([
            b'e', 0x8c, 1, b'b', 0x88, b'N', 0x86, 0x8c, 1, b'c', b'h', 1, b'u', b'.',
        ]);
        let pickle = read(&p).unwrap();
        let a = &pickle.arena;
        let list = a.dict_get(pickle.root, "a").unwrap();
        assert_eq!(
            a.dict_get(pickle.root, "c"),
            Some(list),
            "memo keeps sharing"
        );
        let items: Vec<_> = a.items(list).unwrap().iter().map(|i| a.get(*i)).collect();
        assert_eq!(items, [&Value::Int(1), &Value::Int(-2), &Value::Float(3.5)]);
        let t = a.dict_get(pickle.root, "b").unwrap();
        let t: Vec<_> = a.items(t).unwrap().iter().map(|i| a.get(*i)).collect();
        assert_eq!(t, [&Value::Bool(true), &Value::None]);
    }

    #[test]
    fn longs_are_twos_complement() {
        assert_eq!(long(&[0xff]), Value::Int(-1));
        assert_eq!(long(&[0x00, 0x80]), Value::Int(-32768));
        assert_eq!(long(&[0x6a, 0x46]), Value::Int(0x466a));
        assert!(matches!(long(&[1; 9]), Value::BigInt(_)));
    }

    #[test]
    fn refuses_globals_off_the_list_by_name() {
        let p = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00ls\x85R.";
        match read(p) {
            Err(ImportError::RefusedGlobal { module, name, .. }) => {
                assert_eq!((module.as_str(), name.as_str()), ("posix", "system"))
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let allowed = [("posix", "system")];
        let (pickle, end) = read_pickle(p, 0, &allowed).unwrap();
        assert_eq!(end, p.len());
        assert!(matches!(pickle.arena.get(pickle.root), Value::Call { .. }));
    }

    #[test]
    fn malformed_streams_are_errors() {
        for (what, bytes) in [
            ("empty", &b""[..]),
            ("no stop", b"\x80\x04K\x01"),
            ("underflow", b"\x80\x04R."),
            ("bad memo", b"\x80\x04h\x05."),
            (
                "huge length",
                b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x0fab.",
            ),
            ("protocol 9", b"\x80\x09N."),
            ("append to int", b"\x80\x04K\x01K\x02a."),
            ("unknown opcode", b"\x80\x04\xff."),
            ("mark left open", b"\x80\x04(N."),
        ] {
            match read(bytes) {
                Err(ImportError::Malformed { .. }) => {}
                other => panic!("{what}: expected a malformed-pickle error, got {other:?}"),
            }
        }
    }
}
