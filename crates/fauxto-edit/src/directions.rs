//! A model's attribute directions in W and the file they are kept in, beside the model:
//! `M.safetensors` → `M.directions.safetensors` (one float32 tensor `direction.<attribute>`
//! per attribute, everything else as JSON in the metadata key `fauxto.directions`).
//!
//! Conditional directions follow InterFaceGAN (Shen et al. 2020, §2.3): to move one
//! attribute while keeping others, project its normal onto the orthogonal complement of
//! the kept attributes' normals (Gram–Schmidt for several).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fauxto_nn::model_file::{parse_safetensors, serialize_state, write_atomic};
use fauxto_nn::state::{HostTensor, StateDict};
use serde::{Deserialize, Serialize};

use crate::attribute::Attribute;

/// The metadata key holding everything but the normals.
const METADATA_KEY: &str = "fauxto.directions";
const FORMAT_VERSION: u32 = 1;
/// A conditional direction must keep at least this cosine with the original normal.
const MIN_CONDITIONAL_COSINE: f64 = 0.1;

/// One attribute's direction and what was measured about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Direction {
    pub attribute: Attribute,
    /// Unit normal of the classifier's hyperplane in W, toward the attribute's high end.
    #[serde(skip)]
    pub normal: Vec<f32>,
    /// Accuracy of the classifier on held-out extremes.
    pub validation_accuracy: f64,
    pub train_samples: usize,
    pub validation_samples: usize,
    /// Standard deviation of the sampled latents' position along the normal: the slider
    /// step called 1σ.
    pub sigma: f64,
    /// Change of the judged attribute (its own unit) per σ moved along the normal,
    /// measured by moving sampled faces and re-scoring them.
    pub per_sigma: f64,
}

/// Every direction of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Directions {
    pub format: u32,
    /// SHA-256 of the model file the directions were computed for.
    pub model_sha256: String,
    pub w_dim: usize,
    /// Sampled latents (seeds `first_seed..first_seed + samples`, ψ = 1).
    pub samples: usize,
    pub first_seed: u32,
    /// Fraction of the scored samples taken from each end of an attribute's range.
    pub extremes: f64,
    /// L2 penalty of the classifiers.
    pub lambda: f64,
    pub directions: Vec<Direction>,
}

/// Why directions could not be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum DirectionsError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("the directions have no {0} direction")]
    Missing(Attribute),
    #[error("{0} cannot be both moved and kept")]
    MovedAndKept(Attribute),
    #[error(
        "keeping {kept:?} leaves almost nothing of the {moved} direction (they are nearly \
         parallel): keep fewer attributes"
    )]
    Degenerate {
        moved: Attribute,
        kept: Vec<Attribute>,
    },
}

/// Where the directions of `model` are kept.
pub fn sidecar_path(model: &Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    model.with_file_name(format!("{stem}.directions.safetensors"))
}

impl Directions {
    pub fn get(&self, attribute: Attribute) -> Result<&Direction, DirectionsError> {
        self.directions
            .iter()
            .find(|d| d.attribute == attribute)
            .ok_or(DirectionsError::Missing(attribute))
    }

    /// The direction that moves `moved` while the attributes in `keep` stay put: its
    /// normal with the kept normals projected out, renormalised.
    pub fn conditional(
        &self,
        moved: Attribute,
        keep: &[Attribute],
    ) -> Result<Vec<f32>, DirectionsError> {
        if keep.contains(&moved) {
            return Err(DirectionsError::MovedAndKept(moved));
        }
        let primary: Vec<f64> = self.get(moved)?.normal.iter().map(|&v| v as f64).collect();
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for &k in keep {
            let mut v: Vec<f64> = self.get(k)?.normal.iter().map(|&v| v as f64).collect();
            for b in &basis {
                subtract_projection(&mut v, b);
            }
            let norm = norm(&v);
            if norm > 1e-6 {
                v.iter_mut().for_each(|x| *x /= norm);
                basis.push(v);
            }
        }
        let mut out = primary;
        for b in &basis {
            subtract_projection(&mut out, b);
        }
        // The part left is cos(angle to the original normal): below 0.1 a step would
        // have to be ten times longer to move the attribute as much.
        let n = norm(&out);
        if n < MIN_CONDITIONAL_COSINE {
            return Err(DirectionsError::Degenerate {
                moved,
                kept: keep.to_vec(),
            });
        }
        Ok(out.iter().map(|&v| (v / n) as f32).collect())
    }

    /// Writes the directions to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), DirectionsError> {
        let file_error = |message: String| DirectionsError::File {
            path: path.display().to_string(),
            message,
        };
        let mut state = StateDict::default();
        for d in &self.directions {
            state.tensors.insert(
                tensor_name(d.attribute),
                HostTensor {
                    shape: vec![d.normal.len()],
                    data: d.normal.clone(),
                },
            );
        }
        let json = serde_json::to_string(self).map_err(|e| file_error(e.to_string()))?;
        let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
        let bytes = serialize_state(&state, metadata).map_err(|e| file_error(e.to_string()))?;
        write_atomic(path, &bytes).map_err(|e| file_error(e.to_string()))
    }

    /// Reads directions written by [`Directions::save`].
    pub fn load(path: &Path) -> Result<Self, DirectionsError> {
        let file_error = |message: String| DirectionsError::File {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
        let (state, metadata) = parse_safetensors(&bytes).map_err(|e| file_error(e.to_string()))?;
        let json = metadata.get(METADATA_KEY).ok_or_else(|| {
            file_error(format!(
                "no `{METADATA_KEY}` metadata: not a directions file"
            ))
        })?;
        let mut out: Directions =
            serde_json::from_str(json).map_err(|e| file_error(format!("bad metadata: {e}")))?;
        if out.format != FORMAT_VERSION {
            return Err(file_error(format!(
                "format {} (this fauxto reads {FORMAT_VERSION})",
                out.format
            )));
        }
        for d in &mut out.directions {
            let t = state
                .get(&tensor_name(d.attribute))
                .ok_or_else(|| file_error(format!("no tensor `{}`", tensor_name(d.attribute))))?;
            if t.data.len() != out.w_dim {
                return Err(file_error(format!(
                    "`{}` has {} values, w has {}",
                    tensor_name(d.attribute),
                    t.data.len(),
                    out.w_dim
                )));
            }
            d.normal = t.data.clone();
        }
        Ok(out)
    }

    /// A new set of directions for a model (format version filled in).
    pub fn new(
        model_sha256: &str,
        w_dim: usize,
        samples: usize,
        first_seed: u32,
        extremes: f64,
        lambda: f64,
        directions: Vec<Direction>,
    ) -> Self {
        Directions {
            format: FORMAT_VERSION,
            model_sha256: model_sha256.to_string(),
            w_dim,
            samples,
            first_seed,
            extremes,
            lambda,
            directions,
        }
    }
}

fn tensor_name(a: Attribute) -> String {
    format!("direction.{}", a.name())
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `v -= (v·b) b` for a unit `b`.
fn subtract_projection(v: &mut [f64], b: &[f64]) {
    let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
    v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direction(attribute: Attribute, normal: Vec<f32>) -> Direction {
        Direction {
            attribute,
            normal,
            validation_accuracy: 0.9,
            train_samples: 10,
            validation_samples: 4,
            sigma: 0.5,
            per_sigma: 3.0,
        }
    }

    fn three() -> Directions {
        let s = 0.5f32.sqrt();
        Directions::new(
            "ab",
            3,
            100,
            0,
            0.1,
            1.0,
            vec![
                direction(Attribute::Age, vec![s, s, 0.0]),
                direction(Attribute::Gender, vec![1.0, 0.0, 0.0]),
                direction(Attribute::Smile, vec![0.0, s, s]),
            ],
        )
    }

    #[test]
    fn a_conditional_direction_is_orthogonal_to_every_kept_one() {
        let d = three();
        let age = d
            .conditional(Attribute::Age, &[Attribute::Gender, Attribute::Smile])
            .unwrap();
        for k in [Attribute::Gender, Attribute::Smile] {
            let dot: f32 = age
                .iter()
                .zip(&d.get(k).unwrap().normal)
                .map(|(a, b)| a * b)
                .sum();
            assert!(dot.abs() < 1e-6, "{k}: {dot}");
        }
        let len: f32 = age.iter().map(|v| v * v).sum();
        assert!((len - 1.0).abs() < 1e-6);
        // Age keeps its positive part: it still points the way age grows.
        let along: f32 = age
            .iter()
            .zip(&d.get(Attribute::Age).unwrap().normal)
            .map(|(a, b)| a * b)
            .sum();
        assert!(along > 0.0);
        // Keeping nothing leaves the normal as it is.
        assert_eq!(
            d.conditional(Attribute::Age, &[]).unwrap(),
            d.get(Attribute::Age).unwrap().normal
        );
    }

    #[test]
    fn conditioning_refuses_what_it_cannot_do() {
        let d = three();
        assert!(matches!(
            d.conditional(Attribute::Age, &[Attribute::Age]),
            Err(DirectionsError::MovedAndKept(Attribute::Age))
        ));
        assert!(matches!(
            d.conditional(Attribute::Yaw, &[]),
            Err(DirectionsError::Missing(Attribute::Yaw))
        ));
        let mut parallel = three();
        parallel.directions[1].normal = parallel.directions[0].normal.clone();
        assert!(matches!(
            parallel.conditional(Attribute::Age, &[Attribute::Gender]),
            Err(DirectionsError::Degenerate { .. })
        ));
    }

    #[test]
    fn the_file_reads_back_what_was_written() {
        let dir = std::env::temp_dir().join(format!("fauxto-directions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let model = dir.join("faces.safetensors");
        let path = sidecar_path(&model);
        assert_eq!(path, dir.join("faces.directions.safetensors"));
        let d = three();
        d.save(&path).unwrap();
        assert_eq!(Directions::load(&path).unwrap(), d);
        // A model file is not a directions file.
        let mut state = StateDict::default();
        let weight = HostTensor {
            shape: vec![2],
            data: vec![1.0, 2.0],
        };
        state.tensors.insert("G_ema.w".into(), weight);
        let metadata = HashMap::from([("fauxto.model".to_string(), "{}".to_string())]);
        std::fs::write(&model, serialize_state(&state, metadata).unwrap()).unwrap();
        let err = Directions::load(&model).unwrap_err().to_string();
        assert!(err.contains("not a directions file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
