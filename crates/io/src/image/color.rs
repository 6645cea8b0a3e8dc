//! The colour steps of MXNet's default augmenter on 8-bit RGB: brightness, contrast and
//! saturation jitter in a random order, hue/saturation/lightness shifts in OpenCV's 8-bit HLS
//! space (hue 0-180), and AlexNet's PCA lighting noise with MXNet's eigen-decomposition.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::augment::AugParams;
use super::Image;

/// ImageNet's RGB eigenvalues and eigenvectors (rows) as MXNet's augmenter holds them.
const EIGVAL: [f32; 3] = [55.46, 4.794, 1.148];
const EIGVEC: [[f32; 3]; 3] = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]];

fn sat(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn luma(px: &[u8]) -> f32 {
    0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32
}

fn draw(rng: &mut StdRng, r: f32) -> f32 {
    1.0 + if r > 0.0 { rng.random_range(-r..r) } else { 0.0 }
}

pub fn jitter(img: &mut Image, p: &AugParams, rng: &mut StdRng) {
    if p.brightness > 0.0 || p.contrast > 0.0 || p.saturation > 0.0 {
        let (b, c, s) = (draw(rng, p.brightness), draw(rng, p.contrast), draw(rng, p.saturation));
        let mut order = [0, 1, 2];
        order.shuffle(rng);
        for step in order {
            match step {
                0 if p.brightness > 0.0 => img.data.iter_mut().for_each(|v| *v = sat(*v as f32 * b)),
                1 if p.contrast > 0.0 => contrast(img, c),
                2 if p.saturation > 0.0 => saturation(img, s),
                _ => {}
            }
        }
    }
    if p.random_h != 0 || p.random_s != 0 || p.random_l != 0 {
        let mut shift = |r: i64| if r == 0 { 0.0 } else { rng.random_range(-(r as f32)..=r as f32).trunc() };
        let (dh, ds, dl) = (shift(p.random_h), shift(p.random_s), shift(p.random_l));
        for px in img.data.chunks_exact_mut(3) {
            let (h, l, s) = rgb_to_hls(px);
            let rgb = hls_to_rgb((h + dh).clamp(0.0, 180.0), (l + dl).clamp(0.0, 255.0), (s + ds).clamp(0.0, 255.0));
            px.copy_from_slice(&rgb);
        }
    }
    if p.pca_noise > 0.0 {
        let normal = Normal::new(0.0f32, p.pca_noise).expect("positive deviation");
        let alpha = [normal.sample(rng), normal.sample(rng), normal.sample(rng)];
        let add: Vec<f32> = (0..3).map(|i| (0..3).map(|j| EIGVEC[i][j] * EIGVAL[j] * alpha[j]).sum()).collect();
        for px in img.data.chunks_exact_mut(3) {
            for k in 0..3 {
                px[k] = (px[k] as f32 + add[k]).trunc().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Scales the distance from the image's mean luminance.
fn contrast(img: &mut Image, alpha: f32) {
    let n = (img.data.len() / 3).max(1) as f32;
    let mean = img.data.chunks_exact(3).map(luma).sum::<f32>() / n;
    img.data.iter_mut().for_each(|v| *v = sat(*v as f32 * alpha + (1.0 - alpha) * mean));
}

/// Blends each pixel with its own gray.
fn saturation(img: &mut Image, alpha: f32) {
    for px in img.data.chunks_exact_mut(3) {
        let g = luma(px).round().clamp(0.0, 255.0);
        px.iter_mut().for_each(|v| *v = sat(*v as f32 * alpha + (1.0 - alpha) * g));
    }
}

/// OpenCV's 8-bit RGB to HLS: hue in degrees halved (0-180), lightness and saturation 0-255.
fn rgb_to_hls(px: &[u8]) -> (f32, f32, f32) {
    let (r, g, b) = (px[0] as f32 / 255.0, px[1] as f32 / 255.0, px[2] as f32 / 255.0);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let l = (max + min) / 2.0;
    let d = max - min;
    if d <= f32::EPSILON {
        return (0.0, l * 255.0, 0.0);
    }
    let s = if l < 0.5 { d / (max + min) } else { d / (2.0 - max - min) };
    let mut h = if max == r { 60.0 * (g - b) / d } else if max == g { 120.0 + 60.0 * (b - r) / d } else { 240.0 + 60.0 * (r - g) / d };
    if h < 0.0 {
        h += 360.0;
    }
    (h / 2.0, l * 255.0, s * 255.0)
}

fn hls_to_rgb(h: f32, l: f32, s: f32) -> [u8; 3] {
    let (h, l, s) = (h * 2.0, l / 255.0, s / 255.0);
    if s <= 0.0 {
        return [sat(l * 255.0); 3];
    }
    let q = if l < 0.5 { l * (1.0 + s) } else { l + s - l * s };
    let p = 2.0 * l - q;
    let channel = |t: f32| {
        let t = t.rem_euclid(360.0);
        let v = if t < 60.0 { p + (q - p) * t / 60.0 } else if t < 180.0 { q } else if t < 240.0 { p + (q - p) * (240.0 - t) / 60.0 } else { p };
        sat(v * 255.0)
    };
    [channel(h + 120.0), channel(h), channel(h - 120.0)]
}
