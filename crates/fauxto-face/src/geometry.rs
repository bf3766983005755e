//! Boxes and points with face-api's conventions (`classes/Box.ts`, `ops/iou.ts`), in
//! `f64` as JavaScript computes them.

use serde::{Deserialize, Serialize};

/// A point in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn distance(self, other: Point) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    /// The centroid of `points`.
    pub fn centre(points: &[Point]) -> Point {
        let n = points.len() as f64;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), p| (sx + p.x, sy + p.y));
        Point {
            x: sx / n,
            y: sy / n,
        }
    }
}

/// An axis-aligned box, top-left corner and size, in pixels (or relative units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A box of whole pixels inside an image, as sliced for a network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelRect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Rect {
    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    pub fn area(&self) -> f64 {
        self.width * self.height
    }

    /// The smallest box holding all `points` (`minBbox`).
    pub fn bounding(points: &[Point]) -> Rect {
        let (mut x0, mut y0) = (f64::INFINITY, f64::INFINITY);
        let (mut x1, mut y1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for p in points {
            x0 = x0.min(p.x);
            y0 = y0.min(p.y);
            x1 = x1.max(p.x);
            y1 = y1.max(p.y);
        }
        Rect {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        }
    }

    /// `Box.pad(px, py)`: grows by `px` in width and `py` in height, split evenly.
    pub fn pad(&self, px: f64, py: f64) -> Rect {
        Rect {
            x: self.x - px / 2.0,
            y: self.y - py / 2.0,
            width: self.width + px,
            height: self.height + py,
        }
    }

    pub fn scale(&self, sx: f64, sy: f64) -> Rect {
        Rect {
            x: self.x * sx,
            y: self.y * sy,
            width: self.width * sx,
            height: self.height * sy,
        }
    }

    pub fn shift(&self, dx: f64, dy: f64) -> Rect {
        Rect {
            x: self.x + dx,
            y: self.y + dy,
            ..*self
        }
    }

    /// Intersection over union (0 for disjoint boxes).
    pub fn iou(&self, other: &Rect) -> f64 {
        let w = (self.right().min(other.right()) - self.x.max(other.x)).max(0.0);
        let h = (self.bottom().min(other.bottom()) - self.y.max(other.y)).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    /// `Box.clipAtImageBorders(w, h)`: the part inside the image, every coordinate
    /// floored; `None` if nothing of it is inside.
    pub fn clip_to_image(&self, width: usize, height: usize) -> Option<PixelRect> {
        let x = self.x.max(0.0);
        let y = self.y.max(0.0);
        let w = (self.right() - x).min(width as f64 - x).floor();
        let h = (self.bottom() - y).min(height as f64 - y).floor();
        let (x, y) = (x.floor(), y.floor());
        // NaN compares false: a box with non-finite coordinates is refused too.
        if !(w >= 1.0 && h >= 1.0 && x < width as f64 && y < height as f64) {
            return None;
        }
        Some(PixelRect {
            x: x as usize,
            y: y as usize,
            width: (w as usize).min(width - x as usize),
            height: (h as usize).min(height - y as usize),
        })
    }
}
