//! PyTorch state dicts saved with `torch.save(module.state_dict(), path)` (the zip format
//! of torch ≥ 1.6): `<name>/data.pkl` pickles an `OrderedDict` of tensors whose storages
//! are persistent ids naming the raw files `<name>/data/<key>`.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use fauxto_nn::state::StateDict;

use crate::allow::ALLOWED_GLOBALS;
use crate::error::ImportError;
use crate::pickle::{read_pickle, Value};
use crate::torch::{TensorInfo, TensorReader};

/// Most bytes read out of one archive: torch stores its entries uncompressed, so a real
/// state dict unpacks to about its own size; this leaves room for compression without
/// letting a small archive declare (or inflate to) gigabytes.
fn unpack_budget(archive_len: usize) -> u64 {
    (archive_len as u64)
        .saturating_mul(32)
        .saturating_add(1 << 20)
        .min(4 << 30)
}

/// Whether `bytes` look like a zip archive (torch's current format) rather than a pickle.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads a zip-format state dict. When the pickled object is a dict of state dicts (a
/// training checkpoint), the one under `key` is taken.
pub fn read_state_dict(
    bytes: &[u8],
    key: &str,
) -> Result<(StateDict, BTreeMap<String, TensorInfo>), ImportError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))?;
    let all_names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()?;
    let data_pkl = all_names
        .iter()
        .find(|n| n.ends_with("/data.pkl") || *n == "data.pkl")
        .ok_or_else(|| ImportError::format("zip archive without data.pkl: not a torch file"))?
        .to_string();
    let prefix = data_pkl.trim_end_matches("data.pkl").to_string();
    let mut budget = unpack_budget(bytes.len());
    let mut read_entry =
        |zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str| -> Result<Vec<u8>, ImportError> {
            let entry = zip.by_name(name)?;
            let declared = entry.size();
            if declared > budget {
                return Err(ImportError::format(format!(
                "archive entry `{name}` declares {declared} bytes, more than this reader unpacks"
            )));
            }
            let mut out = Vec::with_capacity(declared as usize);
            entry.take(declared).read_to_end(&mut out)?;
            budget -= out.len() as u64;
            Ok(out)
        };
    if let Ok(order) = read_entry(&mut zip, &format!("{prefix}byteorder")) {
        if order != b"little" {
            return Err(ImportError::format(
                "big-endian torch files are not supported",
            ));
        }
    }
    let pkl = read_entry(&mut zip, &data_pkl)?;
    let data_dir = format!("{prefix}data/");
    let names: Vec<&String> = all_names
        .iter()
        .filter(|n| n.starts_with(&data_dir))
        .collect();
    let mut files = HashMap::new();
    for name in names {
        let bytes = read_entry(&mut zip, name)?;
        files.insert(name[data_dir.len()..].to_string(), bytes);
    }

    let (pickle, _) = read_pickle(&pkl, 0, ALLOWED_GLOBALS)?;
    let a = &pickle.arena;
    let reader = TensorReader::new(&pickle, &files);
    let mut root = pickle.root;
    if let Some(inner) = a.dict_get(root, key) {
        root = inner;
    }
    let Value::Dict(pairs) = a.get(root) else {
        return Err(ImportError::format(format!(
            "the file holds {}, not a state dict",
            a.describe(root)
        )));
    };
    let mut state = StateDict::default();
    let mut stored = BTreeMap::new();
    for &(k, v) in pairs {
        let name = a
            .str(k)
            .ok_or_else(|| ImportError::format("state-dict key is not a string"))?;
        if !reader.is_tensor(v) {
            return Err(ImportError::format(format!(
                "`{name}` is {}, not a tensor: not a state dict (or the checkpoint keeps \
                 its generator under a key other than `{key}`)",
                a.describe(v)
            )));
        }
        let (tensor, info) = reader.tensor(v, name)?;
        state.tensors.insert(name.to_string(), tensor);
        stored.insert(name.to_string(), info);
    }
    Ok((state, stored))
}
