//! `rmx._rmx` data path: RecordIO files (`RecordWriter`, `RecordReader`, local or `s3://`,
//! `http(s)://`), image codecs and
//! resizing on bytes (`imdecode`, `imencode`, `imresize`), `read_file` (local or remote), and
//! `ImageRecordCore`, the Rust side
//! of `mx.io.ImageRecordIter`. Images cross as (bytes, height, width, channels) in RGB order;
//! the Python wrappers make NumPy arrays and NDArrays of them.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::BufWriter;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use rmx_io::image::augment::AugParams;
use rmx_io::image::codec::{self, Format};
use rmx_io::image::resize::{self, Interp};
use rmx_io::image::Image;
use rmx_io::pipeline::{Config, Pipeline};
use rmx_io::record_iter::{ImageRecordProcess, Normalize};
use rmx_io::recordio::{RecordReader, RecordWriter};
use rmx_io::remote;
use rmx_io::source::Source;
use rmx_io::{config, IoError};
use rmx_kernels::DType;

use crate::errors::{guard, invalid_argument, io_error};
use crate::ndarray::PyNDArray;

#[pyclass(name = "RecordWriter", module = "rmx._rmx")]
struct PyRecordWriter {
    path: String,
    inner: Option<RecordWriter<BufWriter<File>>>,
}

#[pymethods]
impl PyRecordWriter {
    /// Creates (truncates) `path`, or appends to it when `append`.
    #[new]
    fn new(py: Python<'_>, path: String, append: bool) -> PyResult<Self> {
        let file = OpenOptions::new().write(true).create(true).append(append).truncate(!append).open(&path).map_err(|e| io_error(py, IoError::os(&path, e)))?;
        let start = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut w = RecordWriter::new(BufWriter::with_capacity(1 << 20, file));
        w.skip(start);
        Ok(PyRecordWriter { path, inner: Some(w) })
    }

    /// Appends a record; returns its offset.
    fn write(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<u64> {
        let w = self.inner.as_mut().ok_or_else(|| invalid_argument(py, format!("{}: the record file is closed", self.path)))?;
        w.write_record(data).map_err(|e| io_error(py, IoError::os(&self.path, e)))
    }

    fn tell(&self, py: Python<'_>) -> PyResult<u64> {
        self.inner.as_ref().map(|w| w.tell()).ok_or_else(|| invalid_argument(py, format!("{}: the record file is closed", self.path)))
    }

    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(mut w) = self.inner.take() {
            w.flush().map_err(|e| io_error(py, IoError::os(&self.path, e)))?;
        }
        Ok(())
    }
}

#[pyclass(name = "RecordReader", module = "rmx._rmx", frozen)]
struct PyRecordReader(RecordReader<Box<dyn Source>>);

#[pymethods]
impl PyRecordReader {
    #[new]
    fn new(py: Python<'_>, path: &str) -> PyResult<Self> {
        let src = py.detach(|| remote::open(path)).map_err(|e| io_error(py, e))?;
        Ok(PyRecordReader(RecordReader::new(src)))
    }

    /// The record at `offset` and the offset after it, or `None` at the end of the file.
    fn read_at<'py>(&self, py: Python<'py>, offset: u64, record: usize) -> PyResult<Option<(Bound<'py, PyBytes>, u64)>> {
        let got = py.detach(|| self.0.read_at(offset, record)).map_err(|e| io_error(py, e))?;
        Ok(got.map(|(bytes, next)| (PyBytes::new(py, &bytes), next)))
    }

    /// Every record's offset.
    fn scan(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        py.detach(|| self.0.scan()).map_err(|e| io_error(py, e))
    }
}

fn image(py: Python<'_>, data: &[u8], shape: (usize, usize, usize)) -> PyResult<Image> {
    let (h, w, c) = shape;
    if h.checked_mul(w).and_then(|n| n.checked_mul(c)) != Some(data.len()) {
        return Err(invalid_argument(py, format!("an image of {h}x{w}x{c} needs {} bytes, got {}", h.saturating_mul(w).saturating_mul(c), data.len())));
    }
    Ok(Image::new(h, w, c, data.to_vec()))
}

type ImageBytes<'py> = (Bound<'py, PyBytes>, usize, usize, usize);

fn out<'py>(py: Python<'py>, img: Image) -> ImageBytes<'py> {
    (PyBytes::new(py, &img.data), img.height, img.width, img.channels)
}

/// JPEG or PNG bytes to 8-bit pixels with `channels` (1 or 3, RGB).
#[pyfunction]
fn imdecode<'py>(py: Python<'py>, data: &[u8], channels: usize) -> PyResult<ImageBytes<'py>> {
    let img = py.detach(|| codec::decode(data, channels)).map_err(|m| raise_data(py, format!("imdecode: {m}")))?;
    Ok(out(py, img))
}

fn raise_data(py: Python<'_>, message: String) -> PyErr {
    crate::errors::raise(py, "DataError", message)
}

/// Pixels (RGB or gray) to JPEG (`quality` 1-100) or PNG (`quality` = compression 0-9).
#[pyfunction]
fn imencode<'py>(py: Python<'py>, data: &[u8], shape: (usize, usize, usize), ext: &str, quality: u32) -> PyResult<Bound<'py, PyBytes>> {
    let format = Format::from_extension(ext).ok_or_else(|| invalid_argument(py, format!("imencode: unsupported format {ext:?} (use .jpg or .png)")))?;
    let img = image(py, data, shape)?;
    let bytes = py.detach(|| codec::encode(&img, format, quality)).map_err(|m| raise_data(py, format!("imencode: {m}")))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Resizes pixels to `(height, width)` with MXNet's `interp` code.
#[pyfunction]
fn imresize<'py>(py: Python<'py>, data: &[u8], shape: (usize, usize, usize), height: usize, width: usize, interp: i32) -> PyResult<ImageBytes<'py>> {
    if height == 0 || width == 0 || shape.0 == 0 || shape.1 == 0 {
        return Err(invalid_argument(py, format!("imresize: cannot resize {}x{} to {height}x{width}", shape.0, shape.1)));
    }
    let img = image(py, data, shape)?;
    Ok(out(py, py.detach(|| resize::resize(&img, height, width, Interp::from_code(interp)))))
}

#[pyclass(name = "ImageRecordCore", module = "rmx._rmx")]
struct PyImageRecordCore(Pipeline<Box<dyn Source>>);

fn num(p: &HashMap<String, f64>, key: &str, default: f64) -> f64 {
    p.get(key).copied().unwrap_or(default)
}

fn aug_params(data_shape: [usize; 3], p: &HashMap<String, f64>, rotate_list: Vec<i64>) -> AugParams {
    let mut a = AugParams::new(data_shape);
    a.resize = num(p, "resize", -1.0) as i64;
    a.rand_crop = num(p, "rand_crop", 0.0) != 0.0;
    a.random_resized_crop = num(p, "random_resized_crop", 0.0) != 0.0;
    a.max_rotate_angle = num(p, "max_rotate_angle", 0.0) as i64;
    a.rotate = num(p, "rotate", -1.0) as i64;
    a.rotate_list = rotate_list;
    a.max_shear_ratio = num(p, "max_shear_ratio", 0.0) as f32;
    a.max_aspect_ratio = num(p, "max_aspect_ratio", 0.0) as f32;
    a.min_aspect_ratio = p.get("min_aspect_ratio").map(|&v| v as f32);
    a.max_random_scale = num(p, "max_random_scale", 1.0) as f32;
    a.min_random_scale = num(p, "min_random_scale", 1.0) as f32;
    a.max_random_area = num(p, "max_random_area", 1.0) as f32;
    a.min_random_area = num(p, "min_random_area", 1.0) as f32;
    a.max_img_size = num(p, "max_img_size", 1e10) as f32;
    a.min_img_size = num(p, "min_img_size", 0.0) as f32;
    a.max_crop_size = num(p, "max_crop_size", -1.0) as i64;
    a.min_crop_size = num(p, "min_crop_size", -1.0) as i64;
    a.pad = num(p, "pad", 0.0).max(0.0) as usize;
    a.fill_value = num(p, "fill_value", 255.0).clamp(0.0, 255.0) as u8;
    a.brightness = num(p, "brightness", 0.0) as f32;
    a.contrast = num(p, "contrast", 0.0) as f32;
    a.saturation = num(p, "saturation", 0.0) as f32;
    a.random_h = num(p, "random_h", 0.0) as i64;
    a.random_s = num(p, "random_s", 0.0) as i64;
    a.random_l = num(p, "random_l", 0.0) as i64;
    a.pca_noise = num(p, "pca_noise", 0.0) as f32;
    a.inter_method = num(p, "inter_method", 1.0) as i32;
    a
}

fn normalize(p: &HashMap<String, f64>, mean_img: Option<Vec<f32>>) -> Normalize {
    let f = |k: &str, d: f64| num(p, k, d) as f32;
    Normalize {
        mean: [f("mean_r", 0.0), f("mean_g", 0.0), f("mean_b", 0.0)],
        std: [f("std_r", 1.0), f("std_g", 1.0), f("std_b", 1.0)],
        scale: f("scale", 1.0),
        mean_img,
        mirror: f("mirror", 0.0) != 0.0,
        rand_mirror: f("rand_mirror", 0.0) != 0.0,
        max_random_contrast: f("max_random_contrast", 0.0),
        max_random_illumination: f("max_random_illumination", 0.0),
    }
}

type Next = Option<(PyNDArray, PyNDArray, usize, Vec<usize>)>;

#[pymethods]
impl PyImageRecordCore {
    /// `offsets`: every record's start (from the `.idx` file), or `None` to scan the file.
    /// `params`: the numeric parameters by MXNet name (missing ones take MXNet's defaults).
    #[new]
    #[pyo3(signature = (path, offsets, data_shape, params, dtype, label_map=None, mean_img=None, rotate_list=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: &str,
        offsets: Option<Vec<u64>>,
        data_shape: (usize, usize, usize),
        params: HashMap<String, f64>,
        dtype: &str,
        label_map: Option<HashMap<u64, Vec<f32>>>,
        mean_img: Option<Vec<f32>>,
        rotate_list: Vec<i64>,
    ) -> PyResult<Self> {
        guard(py, "ImageRecordIter", || {
            let shape = [data_shape.0, data_shape.1, data_shape.2];
            let aug = aug_params(shape, &params, rotate_list);
            aug.check().map_err(|m| invalid_argument(py, format!("ImageRecordIter: {m}")))?;
            let dtype = match dtype {
                "float32" => DType::F32,
                "uint8" => DType::U8,
                other => return Err(invalid_argument(py, format!("ImageRecordIter: dtype must be float32 or uint8, not {other}"))),
            };
            let process = ImageRecordProcess { aug, norm: normalize(&params, mean_img), label_width: num(&params, "label_width", 1.0) as usize, dtype, label_map };
            let threads = config::default_threads(num(&params, "preprocess_threads", 4.0) as usize);
            let cfg = Config {
                batch_size: num(&params, "batch_size", 0.0) as usize,
                threads,
                prefetch: num(&params, "prefetch_buffer", config::PREFETCH as f64) as usize,
                shuffle: num(&params, "shuffle", 0.0) != 0.0,
                seed: num(&params, "seed", 0.0) as u64,
                num_parts: num(&params, "num_parts", 1.0) as usize,
                part_index: num(&params, "part_index", 0.0) as usize,
                skip_corrupt: num(&params, "skip_corrupt", 0.0) != 0.0,
            };
            let reader = RecordReader::new(py.detach(|| remote::open(path)).map_err(|e| io_error(py, e))?);
            let offsets = match offsets {
                Some(o) => o,
                None => py.detach(|| reader.scan()).map_err(|e| io_error(py, e))?,
            };
            let pipeline = Pipeline::new(reader, offsets, Box::new(process), cfg).map_err(|e| io_error(py, e))?;
            Ok(PyImageRecordCore(pipeline))
        })
    }

    /// The next batch as (data, label, pad, record numbers), or `None` at the end of the epoch.
    fn next(&self, py: Python<'_>) -> PyResult<Next> {
        match py.detach(|| self.0.next_batch()) {
            None => Ok(None),
            Some(Ok(b)) => Ok(Some((PyNDArray::from(b.data), PyNDArray::from(b.label), b.pad, b.records))),
            Some(Err(e)) => Err(io_error(py, e)),
        }
    }

    fn reset(&self, py: Python<'_>) {
        py.detach(|| self.0.reset())
    }

    #[getter]
    fn num_samples(&self) -> usize {
        self.0.num_samples()
    }

    #[getter]
    fn num_batches(&self) -> usize {
        self.0.num_batches()
    }

    #[getter]
    fn num_skipped(&self) -> usize {
        self.0.num_skipped()
    }
}

/// The bytes of a local or remote (`s3://`, `http(s)://`) file: `.idx` and `.lst` files.
#[pyfunction]
fn read_file<'py>(py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py.detach(|| remote::read_all(path)).map_err(|e| io_error(py, e))?;
    Ok(PyBytes::new(py, &bytes))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_file, m)?)?;
    m.add_class::<PyRecordWriter>()?;
    m.add_class::<PyRecordReader>()?;
    m.add_class::<PyImageRecordCore>()?;
    m.add_function(wrap_pyfunction!(imdecode, m)?)?;
    m.add_function(wrap_pyfunction!(imencode, m)?)?;
    m.add_function(wrap_pyfunction!(imresize, m)?)?;
    Ok(())
}
