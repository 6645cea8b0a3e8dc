//! The per-record work of `ImageRecordIter`: parse the header, decode, augment, mirror and
//! normalize into the batch. Labels come from the header (one, or `flag` of them) or from an
//! image list keyed by the header's id, as in MXNet.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::Rng;
use rmx_kernels::DType;

use crate::header;
use crate::image::augment::{augment, AugParams};
use crate::image::codec::decode;
use crate::pipeline::Process;

/// What becomes of the pixels after augmentation.
#[derive(Clone, Debug)]
pub struct Normalize {
    /// Per-channel mean and std, RGB order.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub scale: f32,
    /// A (channels, height, width) mean image that replaces `mean`.
    pub mean_img: Option<Vec<f32>>,
    pub mirror: bool,
    pub rand_mirror: bool,
    pub max_random_contrast: f32,
    pub max_random_illumination: f32,
}

impl Default for Normalize {
    fn default() -> Self {
        Normalize { mean: [0.0; 3], std: [1.0; 3], scale: 1.0, mean_img: None, mirror: false, rand_mirror: false, max_random_contrast: 0.0, max_random_illumination: 0.0 }
    }
}

pub struct ImageRecordProcess {
    pub aug: AugParams,
    pub norm: Normalize,
    pub label_width: usize,
    /// `uint8` output: raw pixels, no normalization (MXNet's `ImageRecordUInt8Iter`).
    pub dtype: DType,
    /// Labels by record id, from `path_imglist`.
    pub label_map: Option<HashMap<u64, Vec<f32>>>,
}

impl ImageRecordProcess {
    fn labels(&self, head: &header::Header, from_header: Vec<f32>, out: &mut [f32]) -> Result<(), String> {
        let labels = match &self.label_map {
            Some(map) => map.get(&head.id).cloned().ok_or_else(|| format!("record id {} is not in the image list", head.id))?,
            None => {
                if head.flag > 0 && head.flag as usize != self.label_width {
                    return Err(format!("the record holds {} labels but label_width is {}", head.flag, self.label_width));
                }
                if head.flag == 0 && self.label_width > 1 {
                    return Err(format!("label_width is {} but the record holds one label (pack records with several labels, or give path_imglist)", self.label_width));
                }
                from_header
            }
        };
        if labels.len() < self.label_width {
            return Err(format!("{} labels found, label_width is {}", labels.len(), self.label_width));
        }
        out.copy_from_slice(&labels[..self.label_width]);
        Ok(())
    }
}

impl Process for ImageRecordProcess {
    fn sample_shape(&self) -> (Vec<usize>, DType) {
        (self.aug.data_shape.to_vec(), self.dtype)
    }

    fn label_width(&self) -> usize {
        self.label_width
    }

    fn process(&self, record: &[u8], rng: &mut StdRng, data: &mut [u8], label: &mut [f32]) -> Result<(), String> {
        let (head, labels, payload) = header::split(record)?;
        self.labels(&head, labels, label)?;
        let [c, h, w] = self.aug.data_shape;
        let img = augment(decode(payload, c)?, &self.aug, rng);
        debug_assert_eq!((img.height, img.width, img.channels), (h, w, c));
        let n = &self.norm;
        let mirrored = (n.rand_mirror && rng.random_bool(0.5)) || n.mirror;
        let src = |k: usize, y: usize, x: usize| img.data[(y * w + if mirrored { w - 1 - x } else { x }) * c + k];
        if self.dtype == DType::U8 {
            for (i, v) in data.iter_mut().enumerate() {
                let (k, y, x) = (i / (h * w), i / w % h, i % w);
                *v = src(k, y, x);
            }
            return Ok(());
        }
        let (contrast, illumination) = if n.max_random_contrast > 0.0 || n.max_random_illumination > 0.0 {
            let cr = rng.random::<f32>() * 2.0 * n.max_random_contrast - n.max_random_contrast + 1.0;
            let il = rng.random::<f32>() * 2.0 * n.max_random_illumination - n.max_random_illumination;
            (cr * n.scale, il * n.scale)
        } else {
            (n.scale, 0.0)
        };
        let out: &mut [f32] = bytes_as_f32(data);
        for k in 0..c {
            let mul = contrast / n.std[k.min(2)];
            let add = illumination / n.std[k.min(2)];
            for y in 0..h {
                let row = &img.data[y * w * c..(y + 1) * w * c];
                let dst = &mut out[(k * h + y) * w..(k * h + y + 1) * w];
                match &n.mean_img {
                    // The mean image is indexed at the pixel's position before mirroring.
                    Some(m) => {
                        let means = &m[(k * h + y) * w..(k * h + y + 1) * w];
                        for (x, d) in dst.iter_mut().enumerate() {
                            let sx = if mirrored { w - 1 - x } else { x };
                            *d = (row[sx * c + k] as f32 - means[sx]) * mul + add;
                        }
                    }
                    // The hot path: one channel of one row, the branch hoisted out of the loop.
                    None => {
                        let mean = n.mean[k.min(2)];
                        if mirrored {
                            for (d, px) in dst.iter_mut().zip(row.chunks_exact(c).rev()) {
                                *d = (px[k] as f32 - mean) * mul + add;
                            }
                        } else {
                            for (d, px) in dst.iter_mut().zip(row.chunks_exact(c)) {
                                *d = (px[k] as f32 - mean) * mul + add;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The f32 view of a sample's bytes (batch storage is 64-byte aligned and samples are whole
/// f32 arrays, so the view always exists).
fn bytes_as_f32(bytes: &mut [u8]) -> &mut [f32] {
    // SAFETY: f32 has no invalid bit patterns; align_to_mut puts misaligned bytes in prefix/suffix.
    let (prefix, floats, suffix) = unsafe { bytes.align_to_mut::<f32>() };
    assert!(prefix.is_empty() && suffix.is_empty(), "batch storage is f32-aligned");
    floats
}
