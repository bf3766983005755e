//! Scored samples on disk, so that directions can be refitted (other extremes, another
//! penalty) or checked by another classifier without sampling again: a safetensors file
//! with `w` [N, w_dim] and `scores` [N, attributes] (NaN where the judges could not tell),
//! the model's SHA-256 and the first seed in its metadata (the seeds are consecutive).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use fauxto_nn::model_file::{parse_safetensors, serialize_state, write_atomic};
use fauxto_nn::state::{HostTensor, StateDict};

use crate::attribute::{Attribute, Scores};
use crate::fit::Sampled;
use crate::latent::consecutive_seeds;

const MODEL_KEY: &str = "fauxto.samples.model_sha256";
const FIRST_SEED_KEY: &str = "fauxto.samples.first_seed";
const ATTRIBUTES_KEY: &str = "fauxto.samples.attributes";

/// Writes `sampled` (consecutive seeds) for the model with SHA-256 `model_sha256`.
pub fn save(path: &Path, sampled: &Sampled, model_sha256: &str) -> Result<()> {
    let n = sampled.seeds.len();
    let w_dim = sampled.ws.first().map_or(0, Vec::len);
    if sampled
        .seeds
        .windows(2)
        .any(|p| p[1] != p[0].wrapping_add(1))
    {
        bail!("only samples of consecutive seeds can be saved");
    }
    let mut state = StateDict::default();
    state.tensors.insert(
        "w".into(),
        HostTensor {
            shape: vec![n, w_dim],
            data: sampled.ws.iter().flatten().copied().collect(),
        },
    );
    state.tensors.insert(
        "scores".into(),
        HostTensor {
            shape: vec![n, Attribute::ALL.len()],
            data: sampled
                .scores
                .iter()
                .flat_map(|s| s.map(|v| v.map_or(f32::NAN, |v| v as f32)))
                .collect(),
        },
    );
    let names: Vec<&str> = Attribute::ALL.iter().map(|a| a.name()).collect();
    let metadata = HashMap::from([
        (MODEL_KEY.to_string(), model_sha256.to_string()),
        (
            FIRST_SEED_KEY.to_string(),
            sampled.seeds.first().copied().unwrap_or(0).to_string(),
        ),
        (ATTRIBUTES_KEY.to_string(), names.join(",")),
    ]);
    write_atomic(path, &serialize_state(&state, metadata)?)?;
    Ok(())
}

/// Reads samples written by [`save`] for the model with SHA-256 `model_sha256`.
pub fn load(path: &Path, model_sha256: &str) -> Result<Sampled> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (state, metadata) = parse_safetensors(&bytes)?;
    let field = |key: &str| {
        metadata
            .get(key)
            .with_context(|| format!("{}: no `{key}`: not a samples file", path.display()))
    };
    if field(MODEL_KEY)? != model_sha256 {
        bail!("{} holds samples of another model file", path.display());
    }
    let names: Vec<&str> = Attribute::ALL.iter().map(|a| a.name()).collect();
    if field(ATTRIBUTES_KEY)? != &names.join(",") {
        bail!(
            "{} scores other attributes than this fauxto",
            path.display()
        );
    }
    let first: u32 = field(FIRST_SEED_KEY)?.parse().context("bad first seed")?;
    let (w, scores) = match (state.get("w"), state.get("scores")) {
        (Some(w), Some(s)) if w.shape.len() == 2 && s.shape == [w.shape[0], names.len()] => (w, s),
        _ => bail!(
            "{}: `w` and `scores` missing or of unequal length",
            path.display()
        ),
    };
    let (n, w_dim) = (w.shape[0], w.shape[1]);
    Ok(Sampled {
        seeds: consecutive_seeds(first, n),
        ws: w
            .data
            .chunks_exact(w_dim.max(1))
            .map(<[f32]>::to_vec)
            .collect(),
        scores: scores
            .data
            .chunks_exact(names.len())
            .map(|row| {
                let mut out: Scores = [None; Attribute::ALL.len()];
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = (!v.is_nan()).then_some(v as f64);
                }
                out
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_back_with_their_gaps() {
        let sampled = Sampled {
            seeds: vec![7, 8],
            ws: vec![vec![0.5, -1.0, 2.0], vec![3.0, 0.25, -0.125]],
            scores: vec![
                [Some(30.0), Some(0.25), Some(0.5), None, None],
                [Some(41.5), Some(1.0), Some(0.0), Some(-12.5), Some(3.0)],
            ],
        };
        let path = std::env::temp_dir().join(format!("fauxto-samples-{}.st", std::process::id()));
        save(&path, &sampled, "abc").unwrap();
        let back = load(&path, "abc").unwrap();
        assert_eq!(back.seeds, sampled.seeds);
        assert_eq!(back.ws, sampled.ws);
        assert_eq!(back.scores, sampled.scores);
        assert!(load(&path, "other")
            .unwrap_err()
            .to_string()
            .contains("another model"));
        std::fs::remove_file(&path).unwrap();
    }
}
