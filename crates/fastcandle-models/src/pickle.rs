//! A small unpickler: just what PyTorch checkpoints use, with no Python to call.
//!
//! It reads one pickle (protocols 2 to 5, and the few protocol-0 opcodes that old files hold)
//! into [`Value`]s and runs nothing: a class is a [`Value::Global`] naming it, a call a
//! [`Value::Call`] holding the callable and its arguments, and [`crate::pth`] interprets the
//! few calls torch pickles (`_rebuild_tensor_v2`, `OrderedDict`). candle's own pickle reader
//! lacks the opcodes of protocol 4 and Python 2's strings, and overflows on the 10-byte magic
//! number of legacy checkpoints, hence this one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A list or dict, shared between the stack and the memo so that an object memoised when
/// empty and filled afterwards is the same object wherever it is referenced.
pub type Shared<T> = Rc<RefCell<T>>;

/// A value of the pickle.
#[derive(Debug, Clone)]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// A larger integer: its little-endian two's complement bytes.
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A text string (Python 2's byte strings are read as text too).
    Str(String),
    /// `bytes` or `bytearray`.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list (or a set).
    List(Shared<Vec<Value>>),
    /// A dict (or an `OrderedDict`), in insertion order.
    Dict(Shared<Vec<(Value, Value)>>),
    /// A class or function, by its module and name (`torch._utils`, `_rebuild_tensor_v2`).
    Global {
        /// The module.
        module: String,
        /// The name in the module.
        name: String,
    },
    /// A call not run: `REDUCE` and `NEWOBJ`.
    Call {
        /// What is called (usually a [`Value::Global`]).
        func: Box<Value>,
        /// Its arguments (usually a [`Value::Tuple`]).
        args: Box<Value>,
    },
    /// `BUILD`: an object and the state set on it.
    Build {
        /// The object.
        obj: Box<Value>,
        /// Its state.
        state: Box<Value>,
    },
    /// A persistent id (torch's reference to a storage).
    PersistentId(Box<Value>),
}

impl Value {
    /// What the value is, for error messages (`a dict`, `a torch.nn.modules.linear.Linear
    /// object`).
    pub fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) | Value::BigInt(_) => "an int".into(),
            Value::Float(_) => "a float".into(),
            Value::Str(_) => "a string".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Tuple(_) => "a tuple".into(),
            Value::List(_) => "a list".into(),
            Value::Dict(_) => "a dict".into(),
            Value::Global { module, name } => format!("the class {module}.{name}"),
            Value::Call { func, .. } | Value::Build { obj: func, .. } => match func.as_ref() {
                Value::Global { module, name } => format!("a {module}.{name} object"),
                other => other.describe(),
            },
            Value::PersistentId(_) => "a persistent id".into(),
        }
    }

    /// The integer, if the value is one that fits 64 bits.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The text, if the value is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Why a pickle could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pickle byte {offset}: {reason}")]
pub struct PickleError {
    /// The byte offset in the data where reading failed.
    pub offset: usize,
    /// What was wrong.
    pub reason: String,
}

/// Reads one pickle of `data` from `*pos` to its `STOP` opcode, and moves `*pos` past it.
pub fn load(data: &[u8], pos: &mut usize) -> Result<Value, PickleError> {
    let mut m = Machine {
        data,
        pos: *pos,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let v = m.run()?;
    *pos = m.pos;
    Ok(v)
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
}

impl Machine<'_> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, PickleError> {
        Err(PickleError {
            offset: self.pos,
            reason: reason.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return self.err(format!(
                "truncated: {n} more bytes needed, {} left",
                self.data.len().saturating_sub(self.pos)
            ));
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_u32(&mut self) -> Result<usize, PickleError> {
        Ok(u32::from_le_bytes(self.le()?) as usize)
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        let n = u64::from_le_bytes(self.le()?);
        match usize::try_from(n) {
            Ok(n) => Ok(n),
            Err(_) => self.err(format!("a length of {n} bytes")),
        }
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("truncated: a line without its end");
        };
        let text = String::from_utf8_lossy(&rest[..n])
            .trim_end_matches('\r')
            .to_string();
        self.pos += n + 1;
        Ok(text)
    }

    fn text(&mut self, n: usize) -> Result<String, PickleError> {
        let bytes = self.take(n)?.to_vec();
        String::from_utf8(bytes).or_else(|_| self.err("a string that is not UTF-8"))
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => self.err("the stack is empty"),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let Some(at) = self.marks.pop() else {
            return self.err("no mark to pop to");
        };
        if at > self.stack.len() {
            return self.err("a mark above the stack");
        }
        Ok(self.stack.split_off(at))
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        if self.stack.is_empty() {
            return self.err("the stack is empty");
        }
        Ok(self.stack.last_mut().expect("checked above"))
    }

    fn memo_get(&mut self, id: u64) -> Result<(), PickleError> {
        match self.memo.get(&id) {
            Some(v) => {
                let v = v.clone();
                self.stack.push(v);
                Ok(())
            }
            None => self.err(format!("memo entry {id} is not set")),
        }
    }

    fn memo_put(&mut self, id: u64) -> Result<(), PickleError> {
        let v = self.top()?.clone();
        self.memo.insert(id, v);
        Ok(())
    }

    fn int_bytes(&mut self, n: usize) -> Result<Value, PickleError> {
        let b = self.take(n)?.to_vec();
        if n <= 8 {
            let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut a = [fill; 8];
            a[..n].copy_from_slice(&b);
            Ok(Value::Int(i64::from_le_bytes(a)))
        } else {
            Ok(Value::BigInt(b))
        }
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        match self.top()? {
            Value::List(l) => {
                l.borrow_mut().extend(items);
                Ok(())
            }
            other => {
                let what = other.describe();
                self.err(format!("cannot append to {what}"))
            }
        }
    }

    fn set_items(&mut self, mut items: Vec<Value>) -> Result<(), PickleError> {
        if items.len() % 2 != 0 {
            return self.err("an odd number of dict keys and values");
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        while let (Some(v), Some(k)) = (items.pop(), items.pop()) {
            pairs.push((k, v));
        }
        pairs.reverse();
        match self.top()? {
            Value::Dict(d) => {
                d.borrow_mut().extend(pairs);
                Ok(())
            }
            other => {
                let what = other.describe();
                self.err(format!("cannot set items on {what}"))
            }
        }
    }

    /// `REDUCE` and `NEWOBJ`: an `OrderedDict()` (or any `collections` mapping) is a dict,
    /// anything else a call left unrun.
    fn call(&mut self, func: Value, args: Value) {
        let v = match &func {
            Value::Global { module, name }
                if module == "collections" && (name == "OrderedDict" || name == "defaultdict") =>
            {
                Value::Dict(Rc::default())
            }
            _ => Value::Call {
                func: Box::new(func),
                args: Box::new(args),
            },
        };
        self.stack.push(v);
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return self.err(format!("pickle protocol {proto} is unknown"));
                    }
                }
                0x95 => {
                    self.le::<8>()?; // FRAME: a length hint
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.stack.push(Value::Int(i64::from(v)))
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(i64::from(v)))
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.stack.push(Value::Int(i64::from(v)))
                }
                b'I' => {
                    let line = self.line()?;
                    let v = match line.as_str() {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        t => match t.parse() {
                            Ok(i) => Value::Int(i),
                            Err(_) => return self.err(format!("INT of `{t}`")),
                        },
                    };
                    self.stack.push(v)
                }
                0x8a => {
                    let n = usize::from(self.u8()?);
                    let v = self.int_bytes(n)?;
                    self.stack.push(v)
                }
                0x8b => {
                    let n = self.len_u32()?;
                    let v = self.int_bytes(n)?;
                    self.stack.push(v)
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.le()?);
                    self.stack.push(Value::Float(v))
                }
                b'X' => {
                    let n = self.len_u32()?;
                    let s = self.text(n)?;
                    self.stack.push(Value::Str(s))
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    let s = self.text(n)?;
                    self.stack.push(Value::Str(s))
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let s = self.text(n)?;
                    self.stack.push(Value::Str(s))
                }
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        self.len_u32()?
                    } else {
                        usize::from(self.u8()?)
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => self.len_u32()?,
                        b'C' => usize::from(self.u8()?),
                        _ => self.len_u64()?,
                    };
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b))
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return self.err("the stack is too short for a tuple");
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items))
                }
                b']' | 0x8f => self.stack.push(Value::List(Rc::default())),
                b'l' | 0x91 => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(Rc::new(RefCell::new(items))))
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    self.append(items)?
                }
                b'}' => self.stack.push(Value::Dict(Rc::default())),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(Rc::default()));
                    self.set_items(items)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global { module, name })
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            self.stack.push(Value::Global { module, name })
                        }
                        _ => return self.err("STACK_GLOBAL of something other than strings"),
                    }
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.call(func, args)
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.call(func, args)
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    // A dict's state is its attributes (a state dict's `_metadata`): dropped.
                    let v = match obj {
                        Value::Dict(_) => obj,
                        obj => Value::Build {
                            obj: Box::new(obj),
                            state: Box::new(state),
                        },
                    };
                    self.stack.push(v)
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.stack.push(Value::PersistentId(Box::new(id)))
                }
                b'P' => {
                    let id = self.line()?;
                    self.stack
                        .push(Value::PersistentId(Box::new(Value::Str(id))))
                }
                b'h' => {
                    let id = self.u8()?;
                    self.memo_get(u64::from(id))?
                }
                b'j' => {
                    let id = self.len_u32()?;
                    self.memo_get(id as u64)?
                }
                b'g' => {
                    let line = self.line()?;
                    match line.parse() {
                        Ok(id) => self.memo_get(id)?,
                        Err(_) => return self.err(format!("GET of `{line}`")),
                    }
                }
                b'q' => {
                    let id = self.u8()?;
                    self.memo_put(u64::from(id))?
                }
                b'r' => {
                    let id = self.len_u32()?;
                    self.memo_put(id as u64)?
                }
                b'p' => {
                    let line = self.line()?;
                    match line.parse() {
                        Ok(id) => self.memo_put(id)?,
                        Err(_) => return self.err(format!("PUT of `{line}`")),
                    }
                }
                0x94 => {
                    let id = self.memo.len() as u64;
                    self.memo_put(id)?
                }
                other => {
                    self.pos = at;
                    return self.err(format!(
                        "unsupported opcode 0x{other:02x} (not one PyTorch checkpoints use)"
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(data: &[u8]) -> Value {
        let mut pos = 0;
        let v = load(data, &mut pos).unwrap();
        assert_eq!(pos, data.len());
        v
    }

    /// `pickle.dumps({'a': (1, -2, 70000), 'b': [1.5, None, True]}, protocol=2)`.
    const DICT_P2: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01J\xfe\xff\xff\xffJp\x11\x01\x00\x87q\x02X\x01\x00\x00\x00bq\x03]q\x04(G?\xf8\x00\x00\x00\x00\x00\x00N\x88eu.";

    #[test]
    fn a_protocol_2_dict_reads_back() {
        let Value::Dict(d) = one(DICT_P2) else {
            panic!("not a dict")
        };
        let d = d.borrow();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].0.as_str(), Some("a"));
        let Value::Tuple(t) = &d[0].1 else {
            panic!("not a tuple")
        };
        let ints: Vec<_> = t.iter().map(|v| v.as_int().unwrap()).collect();
        assert_eq!(ints, [1, -2, 70000]);
        let Value::List(l) = &d[1].1 else {
            panic!("not a list")
        };
        let l = l.borrow();
        assert!(matches!(l[0], Value::Float(f) if f == 1.5));
        assert!(matches!(l[1], Value::None));
        assert!(matches!(l[2], Value::Bool(true)));
    }

    /// `pickle.dumps([x, x, 2**80, -3], protocol=4)` with `x = {'k': 'v'}`: FRAME,
    /// SHORT_BINUNICODE, MEMOIZE, a memo reference to a dict filled after it was memoised, and
    /// LONG1 of 11 bytes and 1 byte.
    const LIST_P4: &[u8] = b"\x80\x04\x95\x24\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x01k\x94\x8c\x01v\x94sh\x01\x8a\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01J\xfd\xff\xff\xffe.";

    #[test]
    fn protocol_4_memo_and_long_integers() {
        let Value::List(l) = one(LIST_P4) else {
            panic!("not a list")
        };
        let l = l.borrow();
        assert_eq!(l.len(), 4);
        for d in &l[..2] {
            let Value::Dict(d) = d else {
                panic!("not a dict")
            };
            let d = d.borrow();
            assert_eq!((d[0].0.as_str(), d[0].1.as_str()), (Some("k"), Some("v")));
        }
        let Value::BigInt(b) = &l[2] else {
            panic!("not a big int")
        };
        assert_eq!(b.len(), 11);
        assert_eq!(b[10], 1);
        assert_eq!(l[3].as_int(), Some(-3));
    }

    #[test]
    fn globals_and_calls_are_kept_not_run() {
        // `c` GLOBAL then an empty tuple and REDUCE; OrderedDict becomes a dict.
        let v = one(b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.");
        assert_eq!(v.describe(), "a os.system object");
        let v = one(b"\x80\x02ccollections\nOrderedDict\n)R.");
        assert!(matches!(v, Value::Dict(_)));
    }

    #[test]
    fn truncated_and_unknown_data_are_errors_with_their_offset() {
        let cut = &DICT_P2[..20];
        let e = load(cut, &mut 0).unwrap_err();
        assert!(e.reason.contains("truncated"), "{e}");
        let e = load(b"\x80\x02\xff.", &mut 0).unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.to_string().contains("0xff"), "{e}");
        let e = load(b"\x80\x02.", &mut 0).unwrap_err();
        assert!(e.reason.contains("empty"), "{e}");
    }
}
