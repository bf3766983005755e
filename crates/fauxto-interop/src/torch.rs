//! Torch tensors as a pickle describes them, rebuilt without torch.
//!
//! A tensor pickles as `_rebuild_tensor_v2(storage, offset, size, stride, …)` (wrapped in
//! `_rebuild_parameter` for parameters). The storage is either a persistent id
//! `('storage', torch.FloatStorage, key, location, numel)` naming a file of raw elements
//! (zip state dicts), or `_load_from_bytes(blob)`: a whole legacy-format `torch.save` of
//! the storage embedded in the pickle (what `pickle.dump` of a network writes).
//!
//! The legacy format is five pickles in a row (magic number, format version, system info,
//! the object, the list of storage keys) followed by each storage as an int64 element
//! count and the raw little-endian elements.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use fauxto_nn::state::HostTensor;
use half::{bf16, f16};

use crate::allow::ALLOWED_GLOBALS;
use crate::error::ImportError;
use crate::pickle::{read_pickle, Arena, Id, Pickle, Value};

/// Magic number that opens a legacy `torch.save` file.
const LEGACY_MAGIC: u128 = 0x1950a86a20f9469cfc6c;
/// Legacy format version written by every torch since 2017.
const LEGACY_VERSION: i64 = 1001;
/// Most elements one tensor may have (8 GiB of float32).
const MAX_ELEMENTS: u64 = 1 << 31;

/// Element type of a storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl DType {
    /// From a storage class name such as `FloatStorage`.
    pub fn from_storage_class(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    /// Element `i` of little-endian `bytes`, as float32.
    fn read(self, bytes: &[u8], i: usize) -> f32 {
        let at = i * self.size();
        let b = &bytes[at..at + self.size()];
        match self {
            Self::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")),
            Self::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
            Self::F16 => f16::from_le_bytes(b.try_into().expect("2 bytes")).to_f32(),
            Self::BF16 => bf16::from_le_bytes(b.try_into().expect("2 bytes")).to_f32(),
            Self::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
            Self::I32 => i32::from_le_bytes(b.try_into().expect("4 bytes")) as f32,
            Self::I16 => i16::from_le_bytes(b.try_into().expect("2 bytes")) as f32,
            Self::I8 => b[0] as i8 as f32,
            Self::U8 => b[0] as f32,
            Self::Bool => (b[0] != 0) as u8 as f32,
        }
    }
}

/// A flat run of elements that tensors view into.
#[derive(Debug)]
pub struct Storage {
    pub dtype: DType,
    pub bytes: Vec<u8>,
}

impl Storage {
    pub fn numel(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }
}

/// A tensor as the pickle stores it, before conversion to float32.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub contiguous: bool,
}

/// Rebuilds the tensors of one pickle. `files` holds the persistent storages by key
/// (empty for network pickles, whose storages are embedded).
pub struct TensorReader<'a> {
    pickle: &'a Pickle,
    files: &'a HashMap<String, Vec<u8>>,
    storages: RefCell<HashMap<Id, Rc<Storage>>>,
}

impl<'a> TensorReader<'a> {
    pub fn new(pickle: &'a Pickle, files: &'a HashMap<String, Vec<u8>>) -> Self {
        Self {
            pickle,
            files,
            storages: RefCell::default(),
        }
    }

    fn arena(&self) -> &'a Arena {
        &self.pickle.arena
    }

    /// Whether `id` is a tensor or parameter this reader can rebuild.
    pub fn is_tensor(&self, id: Id) -> bool {
        self.rebuild_call(id).is_some()
    }

    /// `(storage, offset, size, stride)` of a tensor call, looking through parameter and
    /// subclass wrappers.
    fn rebuild_call(&self, id: Id) -> Option<(Id, &'a [Id])> {
        let a = self.arena();
        let mut id = id;
        for _ in 0..4 {
            let Value::Call { func, args, .. } = a.get(id) else {
                return None;
            };
            let args = a.items(*args)?;
            match a.global(*func)? {
                ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
                    id = *args.first()?;
                }
                ("torch._tensor", "_rebuild_from_type_v2") => {
                    // (func, type, args, state): the inner call, spelled out.
                    let inner = a.items(*args.get(2)?)?;
                    return Some((*args.first()?, inner));
                }
                ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
                    return Some((*func, args));
                }
                _ => return None,
            }
        }
        None
    }

    /// The tensor at `id` as float32, with what it was stored as.
    pub fn tensor(&self, id: Id, name: &str) -> Result<(HostTensor, TensorInfo), ImportError> {
        let a = self.arena();
        let bad = |what: &str| ImportError::format(format!("tensor `{name}`: {what}"));
        let (func, args) = self
            .rebuild_call(id)
            .ok_or_else(|| bad(&format!("not a tensor but {}", a.describe(id))))?;
        if a.global(func) != Some(("torch._utils", "_rebuild_tensor_v2"))
            && a.global(func) != Some(("torch._utils", "_rebuild_tensor"))
        {
            return Err(bad("rebuilt by an unknown function"));
        }
        if args.len() < 4 {
            return Err(bad("too few rebuild arguments"));
        }
        let storage = self.storage(args[0]).map_err(|e| bad(&e.to_string()))?;
        let offset = int(a, args[1]).ok_or_else(|| bad("storage offset is not an integer"))?;
        let shape = ints(a, args[2]).ok_or_else(|| bad("size is not a tuple of integers"))?;
        let stride = ints(a, args[3]).ok_or_else(|| bad("stride is not a tuple of integers"))?;
        let view = View::new(offset, &shape, &stride, storage.numel()).map_err(|e| bad(&e))?;
        let data = view.gather(&storage);
        let info = TensorInfo {
            dtype: storage.dtype,
            shape: view.shape.clone(),
            contiguous: view.is_contiguous(),
        };
        Ok((
            HostTensor {
                shape: view.shape,
                data,
            },
            info,
        ))
    }

    /// The storage at `id`, parsed once however many tensors share it.
    fn storage(&self, id: Id) -> Result<Rc<Storage>, ImportError> {
        if let Some(s) = self.storages.borrow().get(&id) {
            return Ok(s.clone());
        }
        let a = self.arena();
        let storage = match a.get(id) {
            Value::PersistentId(pid) => {
                let (dtype, key, numel) = storage_pid(a, *pid)?;
                let bytes = self.files.get(&key).ok_or_else(|| {
                    ImportError::format(format!("storage `{key}` is missing from the archive"))
                })?;
                storage_from(dtype, numel, bytes, &key)?
            }
            Value::Call { func, args, .. }
                if a.global(*func) == Some(("torch.storage", "_load_from_bytes")) =>
            {
                match a.items(*args).map(|v| a.get(v[0])) {
                    Some(Value::Bytes(blob)) => load_legacy_storage(blob)?,
                    _ => return Err(ImportError::format("_load_from_bytes without bytes")),
                }
            }
            other => {
                return Err(ImportError::format(format!(
                    "expected a storage, found {}",
                    match other {
                        Value::Call { func, .. } => a.describe(*func),
                        _ => a.describe(id),
                    }
                )))
            }
        };
        let storage = Rc::new(storage);
        self.storages.borrow_mut().insert(id, storage.clone());
        Ok(storage)
    }
}

/// `('storage', torch.XStorage, key, location, numel, …)` → (dtype, key, numel).
fn storage_pid(a: &Arena, pid: Id) -> Result<(DType, String, u64), ImportError> {
    let bad = || ImportError::format(format!("unknown persistent id {}", a.describe(pid)));
    let items = a.items(pid).ok_or_else(bad)?;
    if items.len() < 5 || a.str(items[0]) != Some("storage") {
        return Err(bad());
    }
    let dtype = match a.global(items[1]) {
        Some(("torch", class)) => DType::from_storage_class(class),
        _ => None,
    }
    .ok_or_else(|| ImportError::format("storage of an unknown element type"))?;
    let key = a.str(items[2]).ok_or_else(bad)?.to_string();
    let numel = int(a, items[4])
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(bad)?;
    Ok((dtype, key, numel))
}

/// Checks that `bytes` hold `numel` elements of `dtype` and keeps exactly those.
fn storage_from(dtype: DType, numel: u64, bytes: &[u8], key: &str) -> Result<Storage, ImportError> {
    let need = numel
        .checked_mul(dtype.size() as u64)
        .filter(|n| *n <= bytes.len() as u64)
        .ok_or_else(|| {
            ImportError::format(format!(
                "storage `{key}` declares {numel} elements of {} bytes but holds {} bytes",
                dtype.size(),
                bytes.len()
            ))
        })?;
    Ok(Storage {
        dtype,
        bytes: bytes[..need as usize].to_vec(),
    })
}

/// One storage saved with the legacy `torch.save` format (see the module docs).
pub fn load_legacy_storage(blob: &[u8]) -> Result<Storage, ImportError> {
    let next = |at: usize| read_pickle(blob, at, ALLOWED_GLOBALS);
    let (magic, at) = next(0)?;
    if big_int(&magic.arena, magic.root) != Some(LEGACY_MAGIC) {
        return Err(ImportError::format(
            "embedded storage is not a legacy torch.save blob (bad magic number)",
        ));
    }
    let (version, at) = next(at)?;
    if int(&version.arena, version.root) != Some(LEGACY_VERSION) {
        return Err(ImportError::format(
            "embedded storage has an unknown format version",
        ));
    }
    let (sys_info, at) = next(at)?;
    if matches!(
        sys_info
            .arena
            .dict_get(sys_info.root, "little_endian")
            .map(|v| sys_info.arena.get(v)),
        Some(Value::Bool(false))
    ) {
        return Err(ImportError::format("big-endian storages are not supported"));
    }
    let (object, at) = next(at)?;
    let Value::PersistentId(pid) = object.arena.get(object.root) else {
        return Err(ImportError::format("embedded blob does not hold a storage"));
    };
    let (dtype, key, numel) = storage_pid(&object.arena, *pid)?;
    let (keys, mut at) = next(at)?;
    let keys: Vec<String> = keys
        .arena
        .items(keys.root)
        .ok_or_else(|| ImportError::format("embedded storage keys are not a list"))?
        .iter()
        .map(|k| keys.arena.str(*k).map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| ImportError::format("embedded storage keys are not strings"))?;
    for k in keys {
        let count = blob
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| ImportError::format("embedded storage is truncated"))?;
        at += 8;
        let bytes = &blob[at..];
        let stored = storage_from(dtype, count, bytes, &k)?;
        if k == key {
            if count < numel {
                return Err(ImportError::format(format!(
                    "storage `{k}` holds {count} elements, its tensor needs {numel}"
                )));
            }
            return Ok(stored);
        }
        at += stored.bytes.len();
    }
    Err(ImportError::format(format!(
        "embedded storage `{key}` has no data"
    )))
}

/// A strided view into a storage, checked to stay inside it.
struct View {
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

impl View {
    fn new(offset: i64, shape: &[i64], stride: &[i64], numel: usize) -> Result<Self, String> {
        if shape.len() != stride.len() {
            return Err("size and stride differ in length".into());
        }
        let offset = usize::try_from(offset).map_err(|_| "negative storage offset")?;
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<_, _>>()
            .map_err(|_| "negative size")?;
        let stride: Vec<usize> = stride
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<_, _>>()
            .map_err(|_| "negative stride")?;
        let elements = shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
            .filter(|n| *n <= MAX_ELEMENTS)
            .ok_or("more elements than any network needs")?;
        // Tensors of a network never overlap themselves; refusing views larger than their
        // storage (stride 0, overlapping windows) bounds memory by the input size.
        if elements > numel as u64 {
            return Err(format!(
                "view of {elements} elements into a storage of {numel} (overlapping views are not supported)"
            ));
        }
        if elements > 0 {
            let last = shape
                .iter()
                .zip(&stride)
                .try_fold(offset as u64, |at, (&d, &s)| {
                    (d as u64 - 1)
                        .checked_mul(s as u64)
                        .and_then(|x| at.checked_add(x))
                })
                .ok_or("view offset overflows")?;
            if last >= numel as u64 {
                return Err(format!(
                    "view reaches element {last} of a storage of {numel}"
                ));
            }
        }
        Ok(Self {
            offset,
            shape,
            stride,
        })
    }

    fn is_contiguous(&self) -> bool {
        let mut expect = 1;
        for (&d, &s) in self.shape.iter().zip(&self.stride).rev() {
            if d != 1 && s != expect {
                return false;
            }
            expect *= d;
        }
        true
    }

    fn gather(&self, storage: &Storage) -> Vec<f32> {
        let n: usize = self.shape.iter().product();
        if self.is_contiguous() {
            return (0..n)
                .map(|i| storage.dtype.read(&storage.bytes, self.offset + i))
                .collect();
        }
        let mut out = Vec::with_capacity(n);
        let mut index = vec![0usize; self.shape.len()];
        for _ in 0..n {
            let at = self.offset
                + index
                    .iter()
                    .zip(&self.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            out.push(storage.dtype.read(&storage.bytes, at));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < self.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        out
    }
}

pub(crate) fn int(a: &Arena, id: Id) -> Option<i64> {
    match a.get(id) {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn ints(a: &Arena, id: Id) -> Option<Vec<i64>> {
    a.items(id)?.iter().map(|i| int(a, *i)).collect()
}

fn big_int(a: &Arena, id: Id) -> Option<u128> {
    match a.get(id) {
        Value::Int(i) => u128::try_from(*i).ok(),
        Value::BigInt(b) if b.len() <= 16 && b.last().is_some_and(|x| x & 0x80 == 0) => {
            let mut buf = [0u8; 16];
            buf[..b.len()].copy_from_slice(b);
            Some(u128::from_le_bytes(buf))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_stay_inside_their_storage() {
        assert!(View::new(0, &[2, 3], &[3, 1], 6).is_ok());
        assert!(View::new(1, &[2, 3], &[3, 1], 6).is_err());
        assert!(View::new(0, &[2, 3], &[1, 2], 6).is_ok());
        assert!(
            View::new(0, &[0, 3], &[3, 1], 0).is_ok(),
            "empty views need no data"
        );
        assert!(View::new(-1, &[1], &[1], 6).is_err());
        assert!(View::new(0, &[1 << 40, 1 << 40], &[1, 1], 6).is_err());
        assert!(View::new(0, &[2, 2], &[1 << 62, 1 << 62], 6).is_err());
        assert!(
            View::new(0, &[1000], &[0], 6).is_err(),
            "stride-0 views would multiply memory"
        );
    }

    #[test]
    fn transposed_views_gather_in_logical_order() {
        let storage = Storage {
            dtype: DType::F32,
            bytes: (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect(),
        };
        // A 3x2 transpose of the 2x3 matrix [[0,1,2],[3,4,5]].
        let view = View::new(0, &[3, 2], &[1, 3], 6).unwrap();
        assert!(!view.is_contiguous());
        assert_eq!(view.gather(&storage), [0., 3., 1., 4., 2., 5.]);
        let tail = View::new(2, &[4], &[1], 6).unwrap();
        assert_eq!(tail.gather(&storage), [2., 3., 4., 5.]);
    }

    #[test]
    fn half_and_bfloat_elements_widen_exactly() {
        let h = f16::from_f32(0.333_25);
        let b = bf16::from_f32(-2.5);
        assert_eq!(DType::F16.read(&h.to_le_bytes(), 0), h.to_f32());
        assert_eq!(DType::BF16.read(&b.to_le_bytes(), 0), -2.5);
    }
}
