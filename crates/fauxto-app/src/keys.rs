//! Where the signing identity lives, and making it on first use.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fauxto_trust::credentials::keys;

/// The key directory to use: the given one, `$FAUXTO_KEYS`, else
/// `$XDG_CONFIG_HOME/fauxto/keys`, else `~/.config/fauxto/keys`.
pub fn key_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("FAUXTO_KEYS") {
        return dir.into();
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("fauxto").join("keys")
}

/// Makes sure `dir` holds a signing identity, creating a local CA and signer there if it
/// has none (made in a temporary directory beside it and renamed into place, so that
/// concurrent first runs never see half of one). Returns whether one was created.
pub fn ensure_keys(dir: &Path) -> Result<bool> {
    if keys::KeyPaths::in_dir(dir).exist() {
        return Ok(false);
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("keys"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    keys::init(&tmp, "fauxto user", 5)
        .with_context(|| format!("creating a signing key in {}", tmp.display()))?;
    match std::fs::rename(&tmp, dir) {
        Ok(()) => Ok(true),
        // Another run made them first: use those.
        Err(_) if keys::KeyPaths::in_dir(dir).exist() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(false)
        }
        Err(e) => Err(e).with_context(|| format!("moving keys into {}", dir.display())),
    }
}
