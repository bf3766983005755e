//! The objects a pickle describes, as inert data.
//!
//! Unpickling in Python calls whatever the stream names; here nothing is called. A call
//! the stream asks for (`REDUCE`, `NEWOBJ`) is recorded as a [`Value::Call`] of the named
//! global with its arguments, and the layers above read the few calls they understand
//! (torch's tensor rebuilders, the official persistence wrapper) as data.
//!
//! Values live in an arena and refer to each other by [`Id`], so shared references (the
//! pickle memo) stay shared and self-referencing containers are representable without
//! reference-counted cycles.

/// Index of a value in its [`Arena`].
pub type Id = u32;

/// One object of the pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer outside i64, little-endian two's complement as `LONG1`/`LONG4` store it.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    /// Key-value pairs in insertion order (`dict`, `collections.OrderedDict`, `EasyDict`).
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    /// A module-level name the stream refers to (only names on the allow list get here).
    Global {
        module: String,
        name: String,
    },
    /// `func(*args)` as the stream asks for it (never performed), with the state a later
    /// `BUILD` gave the result.
    Call {
        func: Id,
        args: Id,
        state: Option<Id>,
    },
    /// An object the pickler stored out of band (`persistent_id`); torch uses it for storages.
    PersistentId(Id),
}

/// All values of one pickle.
#[derive(Debug, Default, Clone)]
pub struct Arena {
    values: Vec<Value>,
}

impl Arena {
    pub fn push(&mut self, value: Value) -> Id {
        self.values.push(value);
        (self.values.len() - 1) as Id
    }

    pub fn get(&self, id: Id) -> &Value {
        &self.values[id as usize]
    }

    pub fn get_mut(&mut self, id: Id) -> &mut Value {
        &mut self.values[id as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The string value of `id`, if it is one.
    pub fn str(&self, id: Id) -> Option<&str> {
        match self.get(id) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    pub fn items(&self, id: Id) -> Option<&[Id]> {
        match self.get(id) {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The value under string key `key` of a dict.
    pub fn dict_get(&self, id: Id, key: &str) -> Option<Id> {
        match self.get(id) {
            Value::Dict(pairs) => pairs
                .iter()
                .rev()
                .find(|(k, _)| self.str(*k) == Some(key))
                .map(|(_, v)| *v),
            _ => None,
        }
    }

    /// `(module, name)` when `id` is a global.
    pub fn global(&self, id: Id) -> Option<(&str, &str)> {
        match self.get(id) {
            Value::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }

    /// A short description of a value for error messages.
    pub fn describe(&self, id: Id) -> String {
        match self.get(id) {
            Value::None => "None".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(_) => "a big integer".into(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) if s.len() <= 40 => format!("{s:?}"),
            Value::Str(s) => format!("a string of {} bytes", s.len()),
            Value::Bytes(b) => format!("{} bytes", b.len()),
            Value::Tuple(v) => format!("a tuple of {}", v.len()),
            Value::List(v) => format!("a list of {}", v.len()),
            Value::Dict(v) => format!("a dict of {}", v.len()),
            Value::Set(v) => format!("a set of {}", v.len()),
            Value::Global { module, name } => format!("{module}.{name}"),
            Value::Call { func, .. } => format!("a call of {}", self.describe(*func)),
            Value::PersistentId(_) => "a persistent id".into(),
        }
    }
}
