//! Training options, with the defaults of the official StyleGAN2-ADA `auto` configuration
//! (Karras et al. 2020, `train.py --cfg=auto`): batch `min(4096 / res, 32)`, R1 weight
//! `γ = 0.0002 · res² / batch`, G EMA half-life `batch · 10 / 32` kimg with ramp-up 0.05,
//! learning rate 0.0025, path-length weight 2, style mixing 0.9, lazy regularisation
//! every 4 (G) and 16 (D) steps.

use serde::{Deserialize, Serialize};

use crate::augment::AugmentMode;
use crate::error::TrainError;
use crate::parallel::shard_rows;

/// Everything that decides what a training run computes. Stored in every checkpoint, so
/// a resumed run continues with the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Network preset (see `fauxto_nn::Preset`).
    pub preset: String,
    /// Override of the preset's channel base.
    #[serde(default)]
    pub channel_base: Option<usize>,
    /// Override of the preset's maximum channels.
    #[serde(default)]
    pub channel_max: Option<usize>,
    /// Total length of training in thousands of real images shown to D.
    pub kimg: f64,
    /// Images per step.
    pub batch: usize,
    /// R1 regularisation weight γ.
    pub gamma: f64,
    /// Half-life of the G EMA in thousands of images.
    pub ema_kimg: f64,
    /// EMA ramp-up: the half-life is at most `ema_rampup · images seen`.
    pub ema_rampup: Option<f64>,
    pub g_lr: f64,
    pub d_lr: f64,
    /// Path-length regularisation weight (0 disables it).
    pub pl_weight: f64,
    /// Path length runs on `batch / pl_batch_shrink` samples.
    pub pl_batch_shrink: usize,
    /// Decay of the running path-length mean.
    pub pl_decay: f64,
    /// Probability of mixing two latents' styles in a generated batch.
    pub style_mixing_prob: f64,
    /// G regularisation (path length) every this many steps.
    pub g_reg_interval: usize,
    /// D regularisation (R1) every this many steps.
    pub d_reg_interval: usize,
    /// Double the dataset with horizontally mirrored copies.
    pub mirror: bool,
    /// Augmentation of everything D sees.
    pub augment: AugmentMode,
    /// Label columns of the dataset used as conditioning (one-hot each); empty for an
    /// unconditional model.
    #[serde(default)]
    pub cond: Vec<String>,
    /// Seed of the initialisation and of every random draw of the run.
    pub seed: u64,
    /// Progress report (metrics line, checkpoint) every this many kimg.
    pub tick_kimg: f64,
    /// Sample grid and model snapshot every this many ticks.
    pub snapshot_ticks: usize,
}

impl TrainOptions {
    /// The official `auto` defaults for `resolution` with the `small` preset.
    pub fn auto(resolution: usize) -> Self {
        let batch = (4096 / resolution).clamp(1, 32).max(4);
        Self::with_batch(resolution, batch)
    }

    /// The `auto` defaults with an explicit batch size (γ and EMA follow the batch).
    pub fn with_batch(resolution: usize, batch: usize) -> Self {
        Self {
            preset: "small".into(),
            channel_base: None,
            channel_max: None,
            kimg: 25_000.0,
            batch,
            gamma: auto_gamma(resolution, batch),
            ema_kimg: batch as f64 * 10.0 / 32.0,
            ema_rampup: Some(0.05),
            g_lr: 0.0025,
            d_lr: 0.0025,
            pl_weight: 2.0,
            pl_batch_shrink: 2,
            pl_decay: 0.01,
            style_mixing_prob: 0.9,
            g_reg_interval: 4,
            d_reg_interval: 16,
            mirror: false,
            augment: AugmentMode::default(),
            cond: Vec::new(),
            seed: 0,
            tick_kimg: 1.0,
            snapshot_ticks: 5,
        }
    }

    /// Checks what cannot be trained, with a message saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch < 2 {
            return Err(format!("batch {} is too small: use at least 2", self.batch));
        }
        if self.pl_batch_shrink == 0 {
            return Err("the path-length batch shrink must be at least 1".into());
        }
        if self.pl_weight > 0.0 && self.batch / self.pl_batch_shrink < 1 {
            return Err("the path-length batch is empty: raise --batch".into());
        }
        for (name, v) in [
            ("kimg", self.kimg),
            ("gamma", self.gamma),
            ("lr", self.g_lr),
            ("D lr", self.d_lr),
            ("ema", self.ema_kimg),
            ("ema rampup", self.ema_rampup.unwrap_or(0.0)),
            ("pl-weight", self.pl_weight),
            ("tick", self.tick_kimg),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!(
                    "{name} must be a finite non-negative number, got {v}"
                ));
            }
        }
        if self.tick_kimg <= 0.0 {
            return Err("tick must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.style_mixing_prob) {
            return Err("style mixing probability must be in [0, 1]".into());
        }
        if !(0.0..1.0).contains(&self.pl_decay) {
            return Err("the path-length decay must be in [0, 1)".into());
        }
        if self.snapshot_ticks == 0 {
            return Err("snapshots must come every 1 or more ticks".into());
        }
        self.augment.supported()?;
        if self.g_reg_interval == 0 || self.d_reg_interval == 0 {
            return Err("regularisation intervals must be at least 1".into());
        }
        Ok(())
    }

    /// Members of each of D's minibatch standard-deviation groups: the official 4, or the
    /// whole batch when it is smaller.
    pub fn mbstd_group(&self) -> usize {
        self.batch.min(4)
    }

    /// Whether every batch of this run splits over `world` data-parallel peers: the main
    /// batch into whole minibatch-std groups per peer, and the path-length batch into
    /// equal shares (see [`crate::parallel::shard`]).
    pub fn check_split(&self, world: usize) -> Result<(), TrainError> {
        shard_rows(self.batch, self.mbstd_group(), 0, world)?;
        let pl = (self.batch / self.pl_batch_shrink.max(1)).max(1);
        if self.pl_weight > 0.0 {
            shard_rows(pl, 1, 0, world).map_err(|_| {
                TrainError::Options(format!(
                    "the path-length batch of {pl} (batch / {}) does not split over {world} \
                     devices",
                    self.pl_batch_shrink
                ))
            })?;
        }
        Ok(())
    }
}

/// The official heuristic for the R1 weight: `0.0002 · res² / batch`.
pub fn auto_gamma(resolution: usize, batch: usize) -> f64 {
    0.0002 * (resolution * resolution) as f64 / batch as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_matches_the_official_heuristics() {
        let o = TrainOptions::auto(64);
        assert_eq!(o.batch, 32);
        assert!((o.gamma - 0.0256).abs() < 1e-12);
        assert!((o.ema_kimg - 10.0).abs() < 1e-12);
        let o = TrainOptions::auto(256);
        assert_eq!(o.batch, 16);
        assert!((o.gamma - 0.8192).abs() < 1e-12);
        assert!(o.validate().is_ok());
        assert!(TrainOptions::with_batch(64, 1).validate().is_err());
    }
}
