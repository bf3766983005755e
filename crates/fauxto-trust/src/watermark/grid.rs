//! The detector's statistic: luma averaged over chips, high-pass filtered on the chip grid,
//! and all tiles folded onto one. Embedding uses the same statistic to cancel the image's own
//! contribution (improved spread spectrum).

use super::layout::{TILE, TILE_CHIPS};
use super::luma::Plane;

/// The folded tile: per tile chip, the mean high-passed chip value over all whole tiles'
/// chips at that position.
pub struct Folded {
    pub chips: [f32; TILE_CHIPS],
}

/// Where tile chip `index` lies in a folded grid whose origin is shifted by (sx, sy) chips.
pub fn shifted(index: usize, sx: usize, sy: usize) -> usize {
    let row = (index / TILE + TILE - sy) % TILE;
    let col = (index % TILE + TILE - sx) % TILE;
    row * TILE + col
}

/// Means of `chip` x `chip` blocks on the grid starting at pixel (px, py), high-passed,
/// folded onto one tile; None when the plane is too small to hold a chip and its neighbours
/// in either direction.
pub fn fold(plane: &Plane, chip: usize, px: usize, py: usize) -> Option<Folded> {
    if plane.width < 3 * chip || plane.height < 3 * chip {
        return None;
    }
    let cols = (plane.width - px) / chip;
    let rows = (plane.height - py) / chip;
    let mut grid = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let mut s = 0f32;
            for dy in 0..chip {
                let row = (py + r * chip + dy) * plane.width + px + c * chip;
                s += plane.data[row..row + chip].iter().sum::<f32>();
            }
            grid[r * cols + c] = s / (chip * chip) as f32;
        }
    }
    let smooth = box_mean(&grid, cols, rows, 1);
    let mut sum = [0f32; TILE_CHIPS];
    let mut count = [0u32; TILE_CHIPS];
    for r in 0..rows {
        for c in 0..cols {
            let t = (r % TILE) * TILE + c % TILE;
            sum[t] += grid[r * cols + c] - smooth[r * cols + c];
            count[t] += 1;
        }
    }
    let mut chips = [0f32; TILE_CHIPS];
    for t in 0..TILE_CHIPS {
        if count[t] > 0 {
            chips[t] = sum[t] / count[t] as f32;
        }
    }
    Some(Folded { chips })
}

/// Mean over the (2r+1)² window, clipped to the image.
pub fn box_mean(v: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    // Summed-area table with a zero row and column in front.
    let mut sat = vec![0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0f64;
        for x in 0..w {
            row += v[y * w + x] as f64;
            sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let s = sat[y1 * (w + 1) + x1] - sat[y0 * (w + 1) + x1] - sat[y1 * (w + 1) + x0]
                + sat[y0 * (w + 1) + x0];
            out[y * w + x] = (s / ((y1 - y0) * (x1 - x0)) as f64) as f32;
        }
    }
    out
}
