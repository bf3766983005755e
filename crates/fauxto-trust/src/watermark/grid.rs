//! The chip grid the embedding writes: luma averaged over `chip` x `chip` blocks from a given
//! pixel phase.

use super::layout::TILE;
use super::luma::Plane;

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
