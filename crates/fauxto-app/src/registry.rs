//! The registry of face indexes: which directory holds the complete face index of which
//! training data (by its manifest's Merkle root), so that generation finds the index of a
//! model's training data by itself.
//!
//! The registry is `$FAUXTO_INDEXES`, else `$XDG_DATA_HOME/fauxto/face-indexes.json`, else
//! `~/.local/share/fauxto/face-indexes.json`. A registered index that cannot be used is an
//! error, never a silent "no index": the memorisation guard fails closed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fauxto_face::FaceIndex;
use fauxto_nn::model_file::{write_atomic, ModelFile};

/// Where the registry file is (None when there is no home directory to keep it in).
pub fn registry_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FAUXTO_INDEXES") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("fauxto").join("face-indexes.json"))
}

/// The registry at `path`: empty when the file does not exist, an error when it cannot be
/// read or parsed.
fn read_registry(path: &Path) -> Result<BTreeMap<String, PathBuf>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the face-index registry {} is damaged; delete it and run `fauxto index DATA` \
                 again for each indexed dataset",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Records that the dataset with `merkle_root` has a complete index in `dir`.
pub fn register_index(merkle_root: &str, dir: &Path) -> Result<()> {
    let Some(path) = registry_path() else {
        return Ok(());
    };
    let mut map = read_registry(&path)?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    map.insert(merkle_root.to_string(), dir);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_atomic(&path, &serde_json::to_vec_pretty(&map)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The complete face index in `dir`, with a hint when it is missing.
pub fn open_index(dir: &Path) -> Result<FaceIndex> {
    FaceIndex::open(dir).with_context(|| {
        format!(
            "no usable face index for {}; build it with `fauxto index {}`",
            dir.display(),
            dir.display()
        )
    })
}

/// The registered index of `model`'s training data and its dataset directory: `Ok(None)`
/// when none is registered (or the model names no training data); an error when one is
/// registered but is missing, moved, incomplete or damaged.
pub fn training_index(model: &ModelFile) -> Result<Option<(PathBuf, FaceIndex)>> {
    let Some(training) = model.info.training_data.as_ref() else {
        return Ok(None);
    };
    let Some(path) = registry_path() else {
        return Ok(None);
    };
    let Some(dir) = read_registry(&path)?.remove(&training.manifest_root) else {
        return Ok(None);
    };
    match FaceIndex::open(&dir) {
        Ok(index) if index.header.merkle_root == training.manifest_root => Ok(Some((dir, index))),
        Ok(index) => bail!(
            "the face index registered for this model's training data ({}) now indexes other \
             data (Merkle root {}); index the training data again with `fauxto index DATA`, \
             or pass --no-guard to go without the memorisation guard",
            dir.display(),
            index.header.merkle_root
        ),
        Err(e) => bail!(
            "the face index registered for this model's training data ({}) cannot be used: \
             {e}. Rebuild it with `fauxto index {}` (or index the dataset where it is now), \
             or pass --no-guard to go without the memorisation guard",
            dir.display(),
            dir.display()
        ),
    }
}
