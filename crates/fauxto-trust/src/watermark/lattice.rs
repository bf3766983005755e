//! The chip lattice as the image now holds it: pitch, angle and offset about a reference
//! point, and the chip means read along it.
//!
//! Chip (i, j) of the lattice has its centre at `origin + R(angle) (pitch (i + ½) + ox,
//! pitch (j + ½) + oy)` and is tile chip `(j mod 16, i mod 16)`. An untouched image has
//! pitch 4 (or 8), angle 0 and an integer offset; a resize by `f` kept at the new size makes
//! the pitch `4 f`, a rotation the angle, a crop the offset (and the tile shift, which the
//! synchronisation finds). Chips are read as axis-aligned boxes of side `pitch · shrink`
//! about their centres (a slightly rotated chip is nearly a box; a shrunk box skips the
//! border that resampling filters blur into the neighbours).

use super::layout::TILE;
use super::sample::Sampler;
use super::sync::Tile;
use super::tone::PhasorTables;

/// Where the chips lie.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    /// Pixels between chip centres.
    pub pitch: f64,
    /// Radians, counter-clockwise in image coordinates (y down).
    pub angle: f64,
    /// Offset of the lattice from the origin, in pixels along its own axes.
    pub ox: f64,
    pub oy: f64,
}

/// The chips read: their tile index and mean luma (clipped or outside chips left out).
#[derive(Default)]
pub struct Reads {
    /// Chips of full weight.
    pub chips: Vec<(u16, f32)>,
    /// Chips of less weight (see [`read_weighing_clipped`]): tile index, mean, weight.
    pub weighted: Vec<(u16, f32, f32)>,
    /// How many chips the lattice window held, read or not.
    pub window: usize,
}

impl Reads {
    /// Sums the chips' phasors (read through tone curve `tone`), each times its weight, per
    /// tile chip.
    pub fn fold(&self, tables: &PhasorTables, tone: usize) -> Tile {
        let mut tile = Tile::new();
        for &(t, mean) in &self.chips {
            tile.add(t as usize, tables.phasor(tone, mean));
        }
        for &(t, mean, w) in &self.weighted {
            tile.add_weighted(t as usize, tables.phasor(tone, mean), w);
        }
        tile
    }

    /// Empties it for a read of a window of `window` chips.
    fn restart(&mut self, window: usize) {
        self.chips.clear();
        self.weighted.clear();
        self.window = window;
    }

    /// How many chips were read, whatever their weight.
    pub fn len(&self) -> usize {
        self.chips.len() + self.weighted.len()
    }

    /// Whether every chip of the window was read.
    pub fn complete(&self) -> bool {
        self.len() == self.window
    }
}

/// The tile chip of lattice chip (i, j).
pub fn tile_of(i: i64, j: i64) -> u16 {
    let t = TILE as i64;
    (j.rem_euclid(t) * t + i.rem_euclid(t)) as u16
}

/// Reads the chips `i, j ∈ [-half_chips, half_chips)` of `g` about `origin`, each as a box of
/// side `pitch · shrink`, into `out` (cleared first).
pub fn read(
    sampler: &Sampler,
    origin: (f64, f64),
    g: &Geometry,
    half_chips: i64,
    shrink: f64,
    out: &mut Reads,
) {
    if g.angle == 0.0 && shrink == 1.0 {
        return read_shared_corners(sampler, origin, g, half_chips, out);
    }
    read_boxes(sampler, origin, g, half_chips, shrink, |_, _, _| 1.0, out);
}

/// Like [`read`], each chip weighted by how far its phase can be trusted after a tone
/// change clipped some of its pixels ([`clipped_weight`]); chips it gives no weight are left
/// out.
pub fn read_weighing_clipped(
    sampler: &Sampler,
    origin: (f64, f64),
    g: &Geometry,
    half_chips: i64,
    shrink: f64,
    out: &mut Reads,
) {
    let weight = |cx, cy, half| clipped_weight(sampler.box_clipped_share(cx, cy, half));
    read_boxes(sampler, origin, g, half_chips, shrink, weight, out);
}

/// The weight of a chip whose area is `share` clipped pixels: one without, falling
/// smoothly to none at 80%. It follows how well such chips keep their phase after a 1.2
/// gain and JPEG 75 (100 UTKFace faces at 128², mean cosine of the phase error against the
/// marked image: 0.97 with no pixel at 250 or more, 0.93 with 2 of 16, 0.79 with 4, 0.38
/// with 8, 0.06 with 12, 0 with 14 and more).
pub fn clipped_weight(share: f32) -> f32 {
    let x = (share / 0.8).clamp(0.0, 1.0);
    1.0 - x * x * (3.0 - 2.0 * x)
}

/// The chips of [`read`], each read as its own box and given the weight
/// `weight(cx, cy, half)` (a chip of weight 0 is left out).
fn read_boxes(
    sampler: &Sampler,
    origin: (f64, f64),
    g: &Geometry,
    half_chips: i64,
    shrink: f64,
    weight: impl Fn(f64, f64, f64) -> f32,
    out: &mut Reads,
) {
    let n = (2 * half_chips) as usize;
    out.restart(n * n);
    let (sin, cos) = g.angle.sin_cos();
    let half = g.pitch * shrink / 2.0;
    for j in -half_chips..half_chips {
        let v = g.pitch * (j as f64 + 0.5) + g.oy;
        for i in -half_chips..half_chips {
            let u = g.pitch * (i as f64 + 0.5) + g.ox;
            let (cx, cy) = (origin.0 + cos * u - sin * v, origin.1 + sin * u + cos * v);
            let Some(m) = sampler.box_mean(cx, cy, half) else {
                continue;
            };
            match weight(cx, cy, half) {
                1.0 => out.chips.push((tile_of(i, j), m)),
                w if w > 0.0 => out.weighted.push((tile_of(i, j), m, w)),
                _ => {}
            }
        }
    }
}

/// An unrotated lattice of whole chips: neighbouring chips share corners, so each corner's
/// integral is looked up once.
fn read_shared_corners(
    sampler: &Sampler,
    origin: (f64, f64),
    g: &Geometry,
    half_chips: i64,
    out: &mut Reads,
) {
    let n = (2 * half_chips) as usize;
    out.restart(n * n);
    let xs: Vec<f64> = (0..=n)
        .map(|k| origin.0 + g.ox + g.pitch * (k as f64 - half_chips as f64))
        .collect();
    let ys: Vec<f64> = (0..=n)
        .map(|k| origin.1 + g.oy + g.pitch * (k as f64 - half_chips as f64))
        .collect();
    let (w, h) = (sampler.width() as f64, sampler.height() as f64);
    // Only the columns and rows whose chips lie inside the image.
    let inside = |lo: f64, hi: f64, size: f64| lo >= -0.01 && hi <= size + 0.01;
    let cols: Vec<usize> = (0..n).filter(|&k| inside(xs[k], xs[k + 1], w)).collect();
    let rows: Vec<usize> = (0..n).filter(|&k| inside(ys[k], ys[k + 1], h)).collect();
    let (Some(&c0), Some(&r0)) = (cols.first(), rows.first()) else {
        return;
    };
    let (nc, nr) = (cols.len(), rows.len());
    let mut corners = vec![0f64; (nc + 1) * (nr + 1)];
    for r in 0..=nr {
        for c in 0..=nc {
            corners[r * (nc + 1) + c] = sampler.integral(xs[c0 + c], ys[r0 + r]);
        }
    }
    let inv_area = 1.0 / (g.pitch * g.pitch);
    for r in 0..nr {
        let j = (r0 + r) as i64 - half_chips;
        for c in 0..nc {
            let i = (c0 + c) as i64 - half_chips;
            let k = r * (nc + 1) + c;
            let (a, b) = (corners[k], corners[k + 1]);
            let (cc, d) = (corners[k + nc + 1], corners[k + nc + 2]);
            if let Some(m) = Sampler::mean_of(d - b - cc + a, inv_area) {
                out.chips.push((tile_of(i, j), m));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::luma::{luma, Plane};

    #[test]
    fn clipped_chips_weigh_less_the_more_of_them_is_clipped() {
        assert_eq!(clipped_weight(0.0), 1.0);
        assert_eq!(clipped_weight(0.8), 0.0);
        assert_eq!(clipped_weight(1.0), 0.0);
        let weights: Vec<f32> = (0..=16).map(|k| clipped_weight(k as f32 / 16.0)).collect();
        assert!(weights.windows(2).all(|w| w[1] <= w[0]), "{weights:?}");
        // One clipped pixel of 16 barely counts; half a chip keeps about a third.
        assert!(
            weights[1] > 0.95 && (0.25..0.45).contains(&weights[8]),
            "{weights:?}"
        );
    }

    #[test]
    fn weighing_clipped_chips_reads_whole_chips_as_they_are_and_weighs_the_rest() {
        // Left half mid-grey, right half with a clipped red channel in every other column.
        let img = image::RgbImage::from_fn(64, 64, |x, y| {
            let v = 60 + ((x * 7 + y * 13) % 90) as u8;
            if x >= 32 && x % 2 == 0 {
                image::Rgb([255, v, v])
            } else {
                image::Rgb([v, v, v])
            }
        });
        let s = Sampler::with_clipped(&luma(&img), &img);
        let g = Geometry {
            pitch: 4.0,
            angle: 0.0,
            ox: 0.0,
            oy: 0.0,
        };
        let (mut plain, mut weighed) = (Reads::default(), Reads::default());
        read(&s, (32.0, 32.0), &g, 8, 1.0, &mut plain);
        read_weighing_clipped(&s, (32.0, 32.0), &g, 8, 1.0, &mut weighed);
        assert_eq!((plain.len(), weighed.len()), (256, 256));
        // The left half's chips at full weight with the same means, the right half's at the
        // weight of a half-clipped chip.
        assert_eq!((weighed.chips.len(), weighed.weighted.len()), (128, 128));
        // The window is one tile, so each tile chip is read once; the left half's chips
        // (i < 0) are tile columns 8 to 15.
        let mut means = [f32::NAN; 256];
        for &(t, m) in &plain.chips {
            means[t as usize] = m;
        }
        for &(t, m) in &weighed.chips {
            assert!(t % 16 >= 8, "left half: {t}");
            assert!((means[t as usize] - m).abs() < 1e-3, "{t}");
        }
        for &(_, _, w) in &weighed.weighted {
            assert!((w - clipped_weight(0.5)).abs() < 1e-6, "{w}");
        }
        let tile = weighed.fold(crate::watermark::tone::phasor_tables(), 0);
        let copies: f32 = tile.count.iter().sum();
        assert!((copies - (128.0 + 128.0 * clipped_weight(0.5).powi(2))).abs() < 1e-3);
    }

    #[test]
    fn shared_corners_read_what_separate_boxes_read() {
        let (w, h) = (70, 53);
        let data = (0..w * h).map(|i| ((i * 29) % 180) as f32 + 30.0).collect();
        let s = Sampler::new(&Plane {
            width: w,
            height: h,
            data,
        });
        let g = Geometry {
            pitch: 4.3,
            angle: 0.0,
            ox: 1.7,
            oy: -0.6,
        };
        let (mut a, mut b) = (Reads::default(), Reads::default());
        read(&s, (35.0, 26.0), &g, 12, 1.0, &mut a);
        // The same boxes through the general path (a rotation too small to move them).
        let tilted = Geometry { angle: 1e-12, ..g };
        read(&s, (35.0, 26.0), &tilted, 12, 1.0, &mut b);
        assert!(!a.chips.is_empty() && !a.complete());
        assert_eq!(a.chips.len(), b.chips.len());
        for (x, y) in a.chips.iter().zip(&b.chips) {
            assert_eq!(x.0, y.0);
            assert!((x.1 - y.1).abs() < 1e-3);
        }
    }
}
