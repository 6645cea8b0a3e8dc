//! Scaling 8-bit images as OpenCV's `cv::resize` does, since MXNet's iterators resize with it:
//! pixel centres aligned (`src = (dst + 0.5) * scale - 0.5`), edges clamped, and bilinear weights
//! in 11-bit fixed point, so results match OpenCV's to within one level.

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

/// For each output index: the two source indices and their weights (summing to `ONE`).
fn taps(src: usize, dst: usize) -> Vec<(usize, usize, i32, i32)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let pos = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = pos.floor() as isize;
            let mut frac = pos - s as f32;
            if s < 0 {
                s = 0;
                frac = 0.0;
            }
            if s as usize >= src - 1 {
                s = src as isize - 1;
                frac = 0.0;
            }
            let s = s as usize;
            let w0 = ((1.0 - frac) * ONE as f32).round_ties_even() as i32;
            (s, (s + 1).min(src - 1), w0, ONE - w0)
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
        Interp::Bilinear => bilinear(img, height, width),
    }
}

fn nearest(img: &Image, height: usize, width: usize) -> Image {
    let c = img.channels;
    let sx: Vec<usize> = (0..width).map(|x| ((x as f64 * img.width as f64 / width as f64) as usize).min(img.width - 1)).collect();
    let mut data = Vec::with_capacity(height * width * c);
    for y in 0..height {
        let sy = ((y as f64 * img.height as f64 / height as f64) as usize).min(img.height - 1);
        let row = &img.data[sy * img.width * c..(sy + 1) * img.width * c];
        for &x in &sx {
            data.extend_from_slice(&row[x * c..x * c + c]);
        }
    }
    Image::new(height, width, c, data)
}

fn bilinear(img: &Image, height: usize, width: usize) -> Image {
    let c = img.channels;
    let xs = taps(img.width, width);
    let ys = taps(img.height, height);
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
            *o = ((a as i64 * w0 as i64 + b as i64 * w1 as i64 + (1 << (2 * BITS - 1))) >> (2 * BITS)).clamp(0, 255) as u8;
        }
    }
    Image::new(height, width, c, data)
}
