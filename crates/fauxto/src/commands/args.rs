//! Argument types shared by the generation commands, in the official tools' syntax.

use std::str::FromStr;

use anyhow::Result;

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
