//! The 68 facial landmarks (the iBUG 300-W layout: jaw 0–16, brows 17–26, nose 27–35,
//! eyes 36–47, mouth 48–67) and the face crops face-api derives from them
//! (`faceLandmarkNet/FaceLandmark68NetBase.ts` `postProcess`, `classes/FaceLandmarks.ts`
//! `alignMinBbox` and `alignDlib`).

use serde::{Deserialize, Serialize};

use crate::geometry::{PixelRect, Point, Rect};

/// Side of the landmark network's input.
pub const INPUT_SIZE: f64 = 112.0;

/// 68 points in image pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Landmarks68 {
    pub points: Vec<Point>,
}

impl Landmarks68 {
    /// `postProcess`: the network's 136 outputs (x0, y0, x1, …, relative to its padded
    /// 112×112 input) → pixels of the image. `crop` is the slice the network saw;
    /// `origin` the detection box corner it is shifted by, which face-api takes from the
    /// unclipped, unfloored box.
    pub fn from_network(raw: &[f32], crop: PixelRect, origin: Point) -> Self {
        assert_eq!(raw.len(), 136, "68 (x, y) pairs");
        let (w, h) = (crop.width as f64, crop.height as f64);
        let s = INPUT_SIZE / w.max(h);
        let (sw, sh) = (w * s, h * s);
        let pad_x = if sw < sh { (sw - sh).abs() / 2.0 } else { 0.0 };
        let pad_y = if sh < sw { (sw - sh).abs() / 2.0 } else { 0.0 };
        let points = raw
            .chunks_exact(2)
            .map(|xy| Point {
                x: (xy[0] as f64 * INPUT_SIZE - pad_x) / sw * w + origin.x,
                y: (xy[1] as f64 * INPUT_SIZE - pad_y) / sh * h + origin.y,
            })
            .collect();
        Self { points }
    }

    pub fn jaw(&self) -> &[Point] {
        &self.points[0..17]
    }

    pub fn left_eye(&self) -> &[Point] {
        &self.points[36..42]
    }

    pub fn right_eye(&self) -> &[Point] {
        &self.points[42..48]
    }

    pub fn mouth(&self) -> &[Point] {
        &self.points[48..68]
    }

    pub fn nose_tip(&self) -> Point {
        self.points[30]
    }

    /// `alignMinBbox(0.2)`: the points' bounding box grown by 20 % of its width and
    /// height — the crop of the age/gender and expression networks.
    pub fn aligned_rect(&self) -> Rect {
        let b = Rect::bounding(&self.points);
        b.pad(b.width * 0.2, b.height * 0.2)
    }

    /// `alignDlib`: a square around the eyes and mouth as dlib aligns faces for its
    /// descriptor — side `floor(mean eye-to-mouth distance / 0.45)`, the eye/mouth centroid
    /// at 50 % across and 43 % down. `crop_width`/`crop_height` are the landmark crop's
    /// size, which bounds the side as in face-api.
    pub fn dlib_rect(&self, crop_width: usize, crop_height: usize) -> Rect {
        let eyes_mouth = [
            Point::centre(self.left_eye()),
            Point::centre(self.right_eye()),
            Point::centre(self.mouth()),
        ];
        let [left, right, mouth] = eyes_mouth;
        let eye_to_mouth = (mouth.distance(left) + mouth.distance(right)) / 2.0;
        let size = (eye_to_mouth / 0.45).floor();
        let c = Point::centre(&eyes_mouth);
        let x = (c.x - 0.5 * size).max(0.0).floor();
        let y = (c.y - 0.43 * size).max(0.0).floor();
        Rect {
            x,
            y,
            width: size.min(crop_width as f64 + x),
            height: size.min(crop_height as f64 + y),
        }
    }
}
