//! Argument types shared by the generation commands, in the official tools' syntax.

use std::str::FromStr;

use anyhow::{bail, Result};

/// A seed list such as `0-9,42`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedList(pub Vec<u32>);

impl FromStr for SeedList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        fauxto_nn::seed::parse_seed_list(s)
            .map(SeedList)
            .map_err(|e| e.to_string())
    }
}

/// A list of w-layer indices such as `0-6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexList(pub Vec<usize>);

impl FromStr for IndexList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        fauxto_nn::seed::parse_index_list(s)
            .map(IndexList)
            .map_err(|e| e.to_string())
    }
}

/// A finite truncation ψ.
pub fn parse_psi(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a number (e.g. 0.7)")),
    }
}

/// Checks the class label against the model, as the official tool does.
pub fn check_class(class: Option<usize>, c_dim: usize) -> Result<()> {
    match (class, c_dim) {
        (Some(_), 0) => bail!("--class given, but the model is unconditional"),
        (None, c) if c > 0 => {
            bail!(
                "the model is conditional: choose a class with --class 0..{}",
                c - 1
            )
        }
        (Some(k), c) if k >= c => {
            bail!(
                "--class {k} is out of range: the model has classes 0..{}",
                c - 1
            )
        }
        _ => Ok(()),
    }
}
