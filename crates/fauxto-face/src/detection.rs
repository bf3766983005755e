//! From the tiny face detector's raw grid to face boxes (face-api
//! `tinyYolov2/TinyYolov2Base.ts` `extractBoxes` and `ops/nonMaxSuppression.ts`): YOLOv2's
//! box parametrisation (Redmon & Farhadi 2017, §2 "Direct location prediction") and greedy
//! non-maximum suppression.

use crate::detector::ANCHORS;
use crate::geometry::Rect;

/// face-api's fixed IoU threshold for the tiny face detector.
pub const IOU_THRESHOLD: f64 = 0.4;

/// One face found by the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// σ(score logit).
    pub score: f64,
    /// Relative to the detector input before padding to a square: (0, 0)–(1, 1) is the
    /// image.
    pub relative: Rect,
}

impl Detection {
    /// The box in pixels of an image of `width × height`.
    pub fn in_pixels(&self, width: usize, height: usize) -> Rect {
        self.relative.scale(width as f64, height as f64)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Decodes one image's grid, `grid[channel][row][col]` flattened as `[25, n, n]`
/// (channel = anchor·5 + (tx, ty, tw, th, score)), for an image of `width × height`
/// that was padded at the bottom/right to a square. Keeps boxes scoring above
/// `score_threshold`, then suppresses overlaps.
pub fn decode(
    grid: &[f32],
    n: usize,
    width: usize,
    height: usize,
    score_threshold: f64,
) -> Vec<Detection> {
    assert_eq!(grid.len(), 25 * n * n, "grid of 25 × {n} × {n}");
    let side = width.max(height) as f64;
    let (fx, fy) = (side / width as f64, side / height as f64);
    let at = |channel: usize, row: usize, col: usize| grid[(channel * n + row) * n + col] as f64;
    let cells = n as f64;
    let mut found = Vec::new();
    for row in 0..n {
        for col in 0..n {
            for (anchor, &(ax, ay)) in ANCHORS.iter().enumerate() {
                let c = anchor * 5;
                let score = sigmoid(at(c + 4, row, col));
                if score <= score_threshold {
                    continue;
                }
                let cx = (col as f64 + sigmoid(at(c, row, col))) / cells * fx;
                let cy = (row as f64 + sigmoid(at(c + 1, row, col))) / cells * fy;
                let w = at(c + 2, row, col).exp() * ax as f64 / cells * fx;
                let h = at(c + 3, row, col).exp() * ay as f64 / cells * fy;
                found.push(Detection {
                    score,
                    relative: Rect {
                        x: cx - w / 2.0,
                        y: cy - h / 2.0,
                        width: w,
                        height: h,
                    },
                });
            }
        }
    }
    non_max_suppression(found, IOU_THRESHOLD)
}

/// Greedy NMS: repeatedly keeps the best-scoring box and drops those overlapping it by
/// more than `iou_threshold`. Returns the kept boxes best first.
pub fn non_max_suppression(mut boxes: Vec<Detection>, iou_threshold: f64) -> Vec<Detection> {
    // Stable sort, best last, as face-api pops from the end of an ascending sort.
    boxes.sort_by(|a, b| a.score.total_cmp(&b.score));
    let mut kept = Vec::new();
    while let Some(best) = boxes.pop() {
        boxes.retain(|b| best.relative.iou(&b.relative) <= iou_threshold);
        kept.push(best);
    }
    kept
}
