//! The chip grid: luma averaged over `chip` x `chip` blocks from a given pixel phase, and the
//! chips' phasors (see `qim`) summed over all copies of the tile.

use super::layout::{TILE, TILE_CHIPS};
use super::luma::Plane;
use super::qim::phasor;

/// Chip means on a grid of `cols` x `rows` whole chips whose first chip starts at pixel
/// (px, py).
pub struct ChipGrid {
    pub cols: usize,
    pub rows: usize,
    pub means: Vec<f32>,
}

/// The tile chip of grid chip (`row`, `col`).
pub fn tile_index(row: usize, col: usize) -> usize {
    (row % TILE) * TILE + col % TILE
}

/// Means of the `chip` x `chip` blocks of `plane` on the grid starting at pixel (px, py).
pub fn chip_means(plane: &Plane, chip: usize, px: usize, py: usize) -> ChipGrid {
    let cols = plane.width.saturating_sub(px) / chip;
    let rows = plane.height.saturating_sub(py) / chip;
    let mut means = vec![0f32; rows * cols];
    let area = (chip * chip) as f32;
    for r in 0..rows {
        for c in 0..cols {
            let mut s = 0f32;
            for dy in 0..chip {
                let row = (py + r * chip + dy) * plane.width + px + c * chip;
                s += plane.data[row..row + chip].iter().sum::<f32>();
            }
            means[r * cols + c] = s / area;
        }
    }
    ChipGrid { cols, rows, means }
}

/// The folded tile: per tile chip, the sum of its copies' phasors and how many copies there
/// were (a tile chip no whole chip of the image fell on reads as an erasure).
pub struct Folded {
    pub re: [f32; TILE_CHIPS],
    pub im: [f32; TILE_CHIPS],
    pub count: [u32; TILE_CHIPS],
}

impl Folded {
    /// The summed phasor at tile chip `t`.
    pub fn at(&self, t: usize) -> (f32, f32) {
        (self.re[t], self.im[t])
    }
}

/// Sums the phasors of all copies of each tile chip; None when the image holds fewer chips
/// than half a tile, too few to synchronise on.
pub fn fold(plane: &Plane, chip: usize, px: usize, py: usize) -> Option<Folded> {
    let grid = chip_means(plane, chip, px, py);
    if grid.cols * grid.rows < TILE_CHIPS / 2 {
        return None;
    }
    let mut folded = Folded {
        re: [0.0; TILE_CHIPS],
        im: [0.0; TILE_CHIPS],
        count: [0; TILE_CHIPS],
    };
    for r in 0..grid.rows {
        for c in 0..grid.cols {
            let t = tile_index(r, c);
            let (re, im) = phasor(grid.means[r * grid.cols + c]);
            folded.re[t] += re;
            folded.im[t] += im;
            folded.count[t] += 1;
        }
    }
    Some(folded)
}

/// Where tile chip `index` lies in a folded grid whose origin is shifted by (sx, sy) chips.
pub fn shifted(index: usize, sx: usize, sy: usize) -> usize {
    let row = (index / TILE + TILE - sy) % TILE;
    let col = (index % TILE + TILE - sx) % TILE;
    row * TILE + col
}
