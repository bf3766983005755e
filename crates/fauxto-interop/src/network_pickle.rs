//! Official StyleGAN2-ADA network pickles (`network-snapshot-*.pkl`, the published
//! `ffhq.pkl` and friends).
//!
//! The training loop pickles `dict(G=…, D=…, G_ema=…, augment_pipe=…,
//! training_set_kwargs=…)`. Every network class goes through the official persistence
//! mechanism: an instance pickles as `_reconstruct_persistent_obj(meta)` where `meta`
//! holds the source code of the class's module, the class name and the instance's
//! `__dict__`, which includes the constructor's keyword arguments (`_init_kwargs`) and
//! torch's module fields (`_parameters`, `_buffers`, `_modules`). Python would execute the
//! stored source code; here the arguments and tensors are read as data and the code is
//! never looked at.

use std::collections::BTreeMap;

use fauxto_nn::state::StateDict;
use serde_json::{json, Map, Number, Value as Json};

use crate::allow::ALLOWED_GLOBALS;
use crate::error::ImportError;
use crate::pickle::{read_pickle, Arena, Id, Pickle, Value};
use crate::torch::{DType, TensorInfo, TensorReader};

/// Deepest module nesting or keyword-argument nesting accepted (official networks: 4).
const MAX_DEPTH: usize = 32;

/// One network of a pickle.
#[derive(Debug, Clone)]
pub struct Network {
    /// Official class name, e.g. `Generator`.
    pub class_name: String,
    /// The constructor's keyword arguments, as JSON.
    pub init_kwargs: Json,
    /// Parameters and persistent buffers under their state-dict names, as float32.
    pub state: StateDict,
    /// How each tensor was stored (element type, contiguity).
    pub stored: BTreeMap<String, TensorInfo>,
}

impl Network {
    /// Names of the tensors stored with an element type other than float32.
    pub fn non_f32(&self) -> Vec<(&str, DType)> {
        self.stored
            .iter()
            .filter(|(_, t)| t.dtype != DType::F32)
            .map(|(k, t)| (k.as_str(), t.dtype))
            .collect()
    }
}

/// What a network pickle holds.
#[derive(Debug, Clone)]
pub struct NetworkPickle {
    /// `G`, `D`, `G_ema` (and any other persistent network) by key.
    pub networks: BTreeMap<String, Network>,
    /// `training_set_kwargs` when present (dataset path, resolution, labels…).
    pub training_set: Option<Json>,
    /// Top-level keys that were present but are not networks (e.g. `augment_pipe: None`).
    pub other_keys: Vec<String>,
}

/// Reads a network pickle. `only` limits which networks are rebuilt (all when empty),
/// so a generator can be imported from a file whose discriminator is exotic.
pub fn read_network_pickle(bytes: &[u8], only: &[&str]) -> Result<NetworkPickle, ImportError> {
    // Bytes after the STOP opcode are ignored, as Python's pickle ignores them.
    let (pickle, _end) = read_pickle(bytes, 0, ALLOWED_GLOBALS)?;
    let a = &pickle.arena;
    let Value::Dict(pairs) = a.get(pickle.root) else {
        return Err(ImportError::format(format!(
            "not a network pickle: the top-level object is {}, not a dict of networks",
            a.describe(pickle.root)
        )));
    };
    let files = Default::default();
    let reader = TensorReader::new(&pickle, &files);
    let mut out = NetworkPickle {
        networks: BTreeMap::new(),
        training_set: None,
        other_keys: Vec::new(),
    };
    for &(k, v) in pairs {
        let key = a
            .str(k)
            .ok_or_else(|| ImportError::format("top-level key is not a string"))?
            .to_string();
        if key == "training_set_kwargs" {
            out.training_set = Some(to_json(a, v, 0)?);
        } else if persistent_meta(a, v).is_some() && (only.is_empty() || only.contains(&&*key)) {
            let net = read_network(&pickle, &reader, v)
                .map_err(|e| ImportError::format(format!("network `{key}`: {e}")))?;
            out.networks.insert(key, net);
        } else {
            out.other_keys.push(key);
        }
    }
    if out.networks.is_empty() {
        return Err(ImportError::format(format!(
            "not a network pickle: no persistent networks among the keys {:?}",
            out.other_keys
        )));
    }
    Ok(out)
}

/// `meta` of `_reconstruct_persistent_obj(meta)`.
fn persistent_meta(a: &Arena, id: Id) -> Option<Id> {
    let Value::Call { func, args, .. } = a.get(id) else {
        return None;
    };
    if a.global(*func) != Some(("torch_utils.persistence", "_reconstruct_persistent_obj")) {
        return None;
    }
    a.items(*args)?.first().copied()
}

fn read_network(pickle: &Pickle, reader: &TensorReader, id: Id) -> Result<Network, ImportError> {
    let a = &pickle.arena;
    let meta = persistent_meta(a, id).expect("checked by the caller");
    let class_name = a
        .dict_get(meta, "class_name")
        .and_then(|c| a.str(c))
        .ok_or_else(|| ImportError::format("persistent object without a class name"))?
        .to_string();
    let state = a
        .dict_get(meta, "state")
        .ok_or_else(|| ImportError::format("persistent object without state"))?;
    if let Some(args) = a.dict_get(state, "_init_args") {
        if a.items(args).is_some_and(|v| !v.is_empty()) {
            return Err(ImportError::format(
                "constructed with positional arguments; only keyword arguments are understood",
            ));
        }
    }
    let init_kwargs = match a.dict_get(state, "_init_kwargs") {
        Some(k) => to_json(a, k, 0)?,
        None => {
            return Err(ImportError::format(
                "no constructor arguments (_init_kwargs)",
            ))
        }
    };
    let mut net = Network {
        class_name,
        init_kwargs,
        state: StateDict::default(),
        stored: BTreeMap::new(),
    };
    collect_tensors(a, reader, state, "", &mut net, 0)?;
    Ok(net)
}

/// Walks a module's `_parameters`, persistent `_buffers` and `_modules`, as
/// `Module.state_dict()` does.
fn collect_tensors(
    a: &Arena,
    reader: &TensorReader,
    state: Id,
    prefix: &str,
    net: &mut Network,
    depth: usize,
) -> Result<(), ImportError> {
    if depth > MAX_DEPTH {
        return Err(ImportError::format("modules nested too deeply (a cycle?)"));
    }
    let non_persistent: Vec<&str> = a
        .dict_get(state, "_non_persistent_buffers_set")
        .map(|s| match a.get(s) {
            Value::Set(v) | Value::List(v) => v.iter().filter_map(|i| a.str(*i)).collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    for field in ["_parameters", "_buffers"] {
        let Some(dict) = a.dict_get(state, field) else {
            continue;
        };
        for (k, v) in dict_pairs(a, dict, field)? {
            if matches!(a.get(v), Value::None) || non_persistent.contains(&k) {
                continue;
            }
            let name = format!("{prefix}{k}");
            let (tensor, info) = reader.tensor(v, &name)?;
            net.state.tensors.insert(name.clone(), tensor);
            net.stored.insert(name, info);
        }
    }
    if let Some(modules) = a.dict_get(state, "_modules") {
        for (k, v) in dict_pairs(a, modules, "_modules")? {
            if matches!(a.get(v), Value::None) {
                continue;
            }
            let sub = persistent_meta(a, v)
                .and_then(|m| a.dict_get(m, "state"))
                .ok_or_else(|| {
                    ImportError::format(format!(
                        "sub-module `{prefix}{k}` is {}, not a persistent module",
                        a.describe(v)
                    ))
                })?;
            collect_tensors(a, reader, sub, &format!("{prefix}{k}."), net, depth + 1)?;
        }
    }
    Ok(())
}

fn dict_pairs<'a>(a: &'a Arena, id: Id, what: &str) -> Result<Vec<(&'a str, Id)>, ImportError> {
    match a.get(id) {
        Value::Dict(pairs) => pairs
            .iter()
            .map(|&(k, v)| {
                a.str(k)
                    .map(|k| (k, v))
                    .ok_or_else(|| ImportError::format(format!("{what}: key is not a string")))
            })
            .collect(),
        _ => Err(ImportError::format(format!("{what} is not a dict"))),
    }
}

/// Keyword arguments as JSON. Dict subclasses, tuples, sets and numpy scalars are read as
/// the plain values they stand for; anything else is an error.
pub fn to_json(a: &Arena, id: Id, depth: usize) -> Result<Json, ImportError> {
    if depth > MAX_DEPTH {
        return Err(ImportError::format(
            "keyword arguments nested too deeply (a cycle?)",
        ));
    }
    Ok(match a.get(id) {
        Value::None => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => json!(s),
        Value::Tuple(v) | Value::List(v) | Value::Set(v) => Json::Array(
            v.iter()
                .map(|i| to_json(a, *i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Dict(pairs) => {
            let mut map = Map::new();
            for &(k, v) in pairs {
                let key = a
                    .str(k)
                    .ok_or_else(|| ImportError::format("keyword argument name is not a string"))?;
                map.insert(key.to_string(), to_json(a, v, depth + 1)?);
            }
            Json::Object(map)
        }
        _ => match numpy_scalar(a, id) {
            Some(number) => number,
            None => {
                return Err(ImportError::format(format!(
                    "unsupported value in keyword arguments: {}",
                    a.describe(id)
                )))
            }
        },
    })
}

/// `numpy.core.multiarray.scalar(numpy.dtype('f8'), b'…')` as a number.
fn numpy_scalar(a: &Arena, id: Id) -> Option<Json> {
    let Value::Call { func, args, .. } = a.get(id) else {
        return None;
    };
    if !matches!(a.global(*func), Some((_, "scalar"))) {
        return None;
    }
    let &[dtype, data] = a.items(*args)? else {
        return None;
    };
    let Value::Call {
        func: dfunc,
        args: dargs,
        state: dstate,
    } = a.get(dtype)
    else {
        return None;
    };
    if a.global(*dfunc) != Some(("numpy", "dtype")) {
        return None;
    }
    let code = a.str(*a.items(*dargs)?.first()?)?;
    // State tuple: (version, byte order, …); '>' is big-endian.
    let big = dstate
        .and_then(|s| a.items(s).and_then(|v| v.get(1).copied()))
        .and_then(|o| a.str(o))
        == Some(">");
    let Value::Bytes(b) = a.get(data) else {
        return None;
    };
    let mut b = b.clone();
    if big {
        b.reverse();
    }
    let arr = |n: usize| -> Option<[u8; 8]> {
        let mut buf = [0u8; 8];
        (b.len() == n).then(|| buf[..n].copy_from_slice(&b))?;
        Some(buf)
    };
    Some(match code {
        "f8" => json!(f64::from_le_bytes(arr(8)?)),
        "f4" => json!(f32::from_le_bytes(arr(4)?[..4].try_into().ok()?) as f64),
        "i8" => json!(i64::from_le_bytes(arr(8)?)),
        "i4" => json!(i32::from_le_bytes(arr(4)?[..4].try_into().ok()?)),
        "u1" => json!(b.first()?),
        "b1" => json!(*b.first()? != 0),
        _ => return None,
    })
}
