//! Scaling 8-bit images with the arithmetic of OpenCV 3.4's `cv::resize`, which MXNet 1.9.1's
//! iterators and image operators call, so pixels match: pixel centres aligned
//! (`src = (dst + 0.5) * scale - 0.5` in float32), edges clamped, bilinear weights in 11-bit fixed
//! point, the vertical pass rounded as OpenCV's SIMD loop rounds it, and an exact 2x shrink taken
//! as OpenCV's fast area average. (`python/rmx/gluon/data/vision/_imresize.py` holds the same
//! arithmetic in NumPy.)

use super::Image;

/// How to sample (MXNet's `inter_method` numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interp {
    Nearest,
    Bilinear,
}

impl Interp {
    /// MXNet's codes: 0 nearest, 1 bilinear; cubic (2), area (3), Lanczos (4), auto (9) and
    /// random (10) sample bilinearly here.
    pub fn from_code(code: i32) -> Interp {
        if code == 0 {
            Interp::Nearest
        } else {
            Interp::Bilinear
        }
    }
}

const BITS: u32 = 11;
const ONE: i32 = 1 << BITS;

/// OpenCV's scale: the inverse of the size ratio, in double.
fn scale(src: usize, dst: usize) -> f64 {
    1.0 / (dst as f64 / src as f64)
}

/// For each output index: the two source indices and their weights (each rounded to 11 bits).
/// Columns past an edge get the edge pixel with weight one; rows only have their indices clamped
/// (OpenCV keeps the fraction, which matters to the rounding of the vertical pass).
fn taps(src: usize, dst: usize, rows: bool) -> Vec<(usize, usize, i32, i32)> {
    let scale = scale(src, dst);
    let last = src as isize - 1;
    (0..dst)
        .map(|d| {
            let pos = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let s = pos.floor() as isize;
            let mut frac = pos - s as f32;
            let (s0, s1) = if rows {
                (s.clamp(0, last), (s + 1).clamp(0, last))
            } else {
                if s < 0 || s >= last {
                    frac = 0.0;
                }
                let s0 = s.clamp(0, last);
                (s0, (s0 + 1).min(last))
            };
            let w0 = ((1.0 - frac) * ONE as f32).round_ties_even() as i32;
            let w1 = (frac * ONE as f32).round_ties_even() as i32;
            (s0 as usize, s1 as usize, w0, w1)
        })
        .collect()
}

/// `img` scaled to `height`×`width`.
pub fn resize(img: &Image, height: usize, width: usize, interp: Interp) -> Image {
    assert!(height > 0 && width > 0 && img.height > 0 && img.width > 0, "resize of an empty image");
    if height == img.height && width == img.width {
        return img.clone();
    }
    match interp {
        Interp::Nearest => nearest(img, height, width),
        Interp::Bilinear if img.height == 2 * height && img.width == 2 * width => half(img),
        Interp::Bilinear => bilinear(img, height, width),
    }
}

fn nearest(img: &Image, height: usize, width: usize) -> Image {
    let c = img.channels;
    let (fx, fy) = (scale(img.width, width), scale(img.height, height));
    let sx: Vec<usize> = (0..width).map(|x| ((x as f64 * fx).floor() as usize).min(img.width - 1)).collect();
    let mut data = Vec::with_capacity(height * width * c);
    for y in 0..height {
        let sy = ((y as f64 * fy).floor() as usize).min(img.height - 1);
        let row = &img.data[sy * img.width * c..(sy + 1) * img.width * c];
        for &x in &sx {
            data.extend_from_slice(&row[x * c..x * c + c]);
        }
    }
    Image::new(height, width, c, data)
}

fn bilinear(img: &Image, height: usize, width: usize) -> Image {
    let c = img.channels;
    let xs = taps(img.width, width, false);
    let ys = taps(img.height, height, true);
    // Horizontal pass of one source row into `out` (width * c sums, 8 + 11 bits each).
    let horizontal = |row: usize, out: &mut [i32]| {
        let src = &img.data[row * img.width * c..(row + 1) * img.width * c];
        for (x, &(s0, s1, w0, w1)) in xs.iter().enumerate() {
            for k in 0..c {
                out[x * c + k] = src[s0 * c + k] as i32 * w0 + src[s1 * c + k] as i32 * w1;
            }
        }
    };
    let n = width * c;
    let (mut top, mut bottom) = (vec![0i32; n], vec![0i32; n]);
    let (mut top_row, mut bottom_row) = (usize::MAX, usize::MAX);
    let mut data = vec![0u8; height * n];
    for (y, &(r0, r1, w0, w1)) in ys.iter().enumerate() {
        if top_row != r0 {
            if bottom_row == r0 {
                std::mem::swap(&mut top, &mut bottom);
                std::mem::swap(&mut top_row, &mut bottom_row);
            } else {
                horizontal(r0, &mut top);
                top_row = r0;
            }
        }
        if bottom_row != r1 {
            horizontal(r1, &mut bottom);
            bottom_row = r1;
        }
        let out = &mut data[y * n..(y + 1) * n];
        for ((o, &a), &b) in out.iter_mut().zip(&top).zip(&bottom) {
            *o = vertical(a, b, w0, w1);
        }
    }
    Image::new(height, width, c, data)
}

/// OpenCV's SIMD vertical step: 16-bit products keeping their high halves, saturating adds,
/// then `(v + 2) >> 2` (its scalar code rounds `(a*w0 + b*w1 + 2^21) >> 22` instead; MXNet's
/// build takes the SIMD rounding for every pixel).
fn vertical(a: i32, b: i32, w0: i32, w1: i32) -> u8 {
    let sat16 = |v: i32| v.clamp(-32768, 32767);
    let acc = sat16(((sat16(a >> 4) * w0) >> 16) + ((sat16(b >> 4) * w1) >> 16));
    (sat16(acc + 2) >> 2).clamp(0, 255) as u8
}

/// An exact 2x shrink: the rounded mean of each 2x2 block (OpenCV's fast area path).
fn half(img: &Image) -> Image {
    let (h, w, c) = (img.height / 2, img.width / 2, img.channels);
    let at = |y: usize, x: usize, k: usize| img.data[(y * img.width + x) * c + k] as u32;
    let mut data = Vec::with_capacity(h * w * c);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                let sum = at(2 * y, 2 * x, k) + at(2 * y, 2 * x + 1, k) + at(2 * y + 1, 2 * x, k) + at(2 * y + 1, 2 * x + 1, k);
                data.push(((sum + 2) >> 2) as u8);
            }
        }
    }
    Image::new(h, w, c, data)
}
