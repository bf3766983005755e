//! Dither modulation: the scalar quantizers a chip's mean luma is snapped to.
//!
//! Quantization index modulation with dither (Chen and Wornell, "Quantization index
//! modulation: a class of provably good methods for digital watermarking and information
//! embedding", IEEE Trans. Information Theory 47(4), 2001): a chip carries bit `b` by having
//! its mean luma on the lattice `STEP * (k + dither + b / 2)`. The decoder needs neither the
//! original image nor its statistics, so the image does not interfere with the message the
//! way it does in spread spectrum. The key-derived dither makes the lattice secret.
//!
//! The decoder reads a chip as the phasor `exp(2πi mean / STEP)`: against the chip's
//! reference `exp(2πi dither)` its real part is +1 on the bit-0 lattice and -1 on the bit-1
//! lattice, a soft value that copies of the chip simply add up in (a smooth stand-in for the
//! distance to each coset). On an unmarked image the phases are uniform, so the real part
//! averages 0 with variance 1/2.

use std::f32::consts::TAU;

/// The quantizer step in luma units (0..=255). A mean pushed all the way to its lattice costs
/// `STEP² / 12` of mean squared error; embedding scales the push down (distortion
/// compensation) to fit its PSNR budget, which at the default 38.5 dB is most of it.
pub const STEP: f32 = 12.0;

/// The lattice point of coset `bit` (0 or 1) under `dither` (a fraction of a step) nearest to
/// `mean`.
pub fn nearest(mean: f32, dither: f32, bit: u8) -> f32 {
    let offset = dither + 0.5 * bit as f32;
    STEP * ((mean / STEP - offset).round() + offset)
}

/// The phasor of a chip mean: `(cos, sin)` of `2π mean / STEP`.
pub fn phasor(mean: f32) -> (f32, f32) {
    let (s, c) = (TAU * mean / STEP).sin_cos();
    (c, s)
}

/// A chip's reference phasor: `(cos, sin)` of `2π dither`.
pub fn reference(dither: f32) -> (f32, f32) {
    let (s, c) = (TAU * dither).sin_cos();
    (c, s)
}

/// `p · conj(r)`: the phasor `p` turned back by the reference `r`.
pub fn unturn(p: (f32, f32), r: (f32, f32)) -> (f32, f32) {
    (p.0 * r.0 + p.1 * r.1, p.1 * r.0 - p.0 * r.1)
}

/// The soft value of a (summed) chip phasor `p` against its reference `r`: the real part of
/// `p · conj(r)`, positive for bit 0 and negative for bit 1.
pub fn soft(p: (f32, f32), r: (f32, f32)) -> f32 {
    unturn(p, r).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_points_read_as_their_bit() {
        for &dither in &[0.0, 0.3, 0.99] {
            for &mean in &[0.0, 17.3, 128.0, 254.9] {
                for bit in [0u8, 1] {
                    let q = nearest(mean, dither, bit);
                    assert!((q - mean).abs() <= STEP / 2.0 + 1e-3);
                    let v = soft(phasor(q), reference(dither));
                    let expected = if bit == 0 { 1.0 } else { -1.0 };
                    assert!((v - expected).abs() < 1e-3, "{mean} {dither} {bit}: {v}");
                }
            }
        }
    }
}
