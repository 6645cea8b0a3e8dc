//! The threaded pipeline against a serial reading: every record once per epoch, in an order fixed
//! by the seed, the same batches whatever the thread count, errors naming the record.

use rand::rngs::StdRng;
use rmx_io::pipeline::{part_range, Config, Pipeline, Process};
use rmx_io::recordio::{RecordReader, RecordWriter};
use rmx_io::source::Memory;
use rmx_kernels::DType;

/// Records are 4-byte little-endian numbers; a sample is that number (and a random draw).
struct Numbers;

impl Process for Numbers {
    fn sample_shape(&self) -> (Vec<usize>, DType) {
        (vec![2], DType::F32)
    }
    fn label_width(&self) -> usize {
        1
    }
    fn process(&self, record: &[u8], rng: &mut StdRng, data: &mut [u8], label: &mut [f32]) -> Result<(), String> {
        let v = u32::from_le_bytes(record.try_into().map_err(|_| format!("bad record of {} bytes", record.len()))?);
        if v == 999 {
            return Err("record 999 is corrupt".into());
        }
        let r: f32 = rand::Rng::random(rng);
        data[..4].copy_from_slice(&(v as f32).to_le_bytes());
        data[4..].copy_from_slice(&r.to_le_bytes());
        label[0] = v as f32;
        Ok(())
    }
}

fn file(n: u32) -> (RecordReader<Memory>, Vec<u64>) {
    let mut w = RecordWriter::new(Vec::new());
    let offsets = (0..n).map(|i| w.write_record(&i.to_le_bytes()).unwrap()).collect();
    (RecordReader::new(Memory { name: "numbers.rec".into(), bytes: w.into_inner() }), offsets)
}

fn config(threads: usize, shuffle: bool, parts: usize, part: usize) -> Config {
    Config { batch_size: 4, threads, prefetch: 2, shuffle, seed: 5, num_parts: parts, part_index: part, skip_corrupt: false }
}

fn epoch(p: &Pipeline<Memory>) -> Vec<(Vec<f32>, usize)> {
    let mut out = Vec::new();
    while let Some(b) = p.next_batch() {
        let b = b.unwrap();
        let mut bytes = vec![0u8; b.data.nbytes()];
        b.data.read_into(&mut bytes).unwrap();
        out.push((bytes.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(), b.pad));
    }
    out
}

#[test]
fn every_record_once_and_the_last_batch_wraps() {
    let (r, off) = file(10);
    let p = Pipeline::new(r, off, Box::new(Numbers), config(2, false, 1, 0)).unwrap();
    let batches = epoch(&p);
    assert_eq!(batches.len(), 3);
    let values: Vec<f32> = batches.iter().flat_map(|(d, _)| d.chunks(2).map(|s| s[0])).collect();
    assert_eq!(values, [0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 0., 1.]);
    assert_eq!(batches.iter().map(|b| b.1).collect::<Vec<_>>(), [0, 0, 2]);
    p.reset();
    assert_eq!(epoch(&p).len(), 3);
}

#[test]
fn same_batches_with_one_thread_or_several() {
    let run = |threads| {
        let (r, off) = file(37);
        let p = Pipeline::new(r, off, Box::new(Numbers), config(threads, true, 1, 0)).unwrap();
        let first = epoch(&p);
        p.reset();
        (first, epoch(&p))
    };
    let (a1, a2) = run(1);
    let (b1, b2) = run(3);
    assert_eq!(a1, b1);
    assert_eq!(a2, b2);
    assert_ne!(a1, a2, "a new order each epoch when shuffling");
    let mut seen: Vec<f32> = a1.iter().flat_map(|(d, _)| d.chunks(2).map(|s| s[0])).take(37).collect();
    seen.sort_by(f32::total_cmp);
    assert_eq!(seen, (0..37).map(|i| i as f32).collect::<Vec<_>>());
}

#[test]
fn parts_cover_every_record_exactly_once() {
    for parts in 1..=5 {
        let mut all = Vec::new();
        for part in 0..parts {
            let (r, off) = file(23);
            let p = Pipeline::new(r, off, Box::new(Numbers), config(2, true, parts, part)).unwrap();
            let n = p.num_samples();
            let (s, e) = part_range(23, parts, part);
            assert_eq!(n, e - s);
            all.extend(epoch(&p).iter().flat_map(|(d, _)| d.chunks(2).map(|s| s[0] as u32).collect::<Vec<_>>()).take(n));
        }
        all.sort();
        assert_eq!(all, (0..23).collect::<Vec<_>>(), "{parts} parts");
    }
}

#[test]
fn a_bad_record_is_an_error_naming_it_and_the_pipeline_goes_on() {
    let mut w = RecordWriter::new(Vec::new());
    let offsets: Vec<u64> = [1u32, 2, 999, 4, 5, 6, 7, 8].iter().map(|v| w.write_record(&v.to_le_bytes()).unwrap()).collect();
    let r = RecordReader::new(Memory { name: "numbers.rec".into(), bytes: w.into_inner() });
    let p = Pipeline::new(r, offsets, Box::new(Numbers), config(2, false, 1, 0)).unwrap();
    let err = p.next_batch().unwrap().err().expect("the first batch holds record 2").to_string();
    assert!(err.contains("numbers.rec: record 2") && err.contains("corrupt"), "{err}");
    assert!(p.next_batch().unwrap().is_ok());
    assert!(p.next_batch().is_none());
}

#[test]
fn skip_corrupt_replaces_and_counts_bad_records() {
    let mut w = RecordWriter::new(Vec::new());
    let offsets: Vec<u64> = [1u32, 2, 999, 4, 5, 6, 7, 8].iter().map(|v| w.write_record(&v.to_le_bytes()).unwrap()).collect();
    let r = RecordReader::new(Memory { name: "numbers.rec".into(), bytes: w.into_inner() });
    let p = Pipeline::new(r, offsets, Box::new(Numbers), Config { skip_corrupt: true, ..config(2, false, 1, 0) }).unwrap();
    let first = p.next_batch().unwrap().unwrap();
    assert_eq!(first.records, vec![0, 1, 3, 3], "record 2 replaced by the next one");
    assert!(p.next_batch().unwrap().is_ok());
    assert_eq!(p.num_skipped(), 1);
}

#[test]
fn bad_configurations_and_drop_mid_epoch() {
    let (r, off) = file(3);
    assert!(Pipeline::new(r, off, Box::new(Numbers), config(2, false, 5, 4)).err().unwrap().to_string().contains("holds no records"));
    let (r, off) = file(3);
    assert!(Pipeline::new(r, off, Box::new(Numbers), config(2, false, 2, 2)).err().unwrap().to_string().contains("part_index 2"));
    let (r, off) = file(100);
    let p = Pipeline::new(r, off, Box::new(Numbers), config(3, true, 1, 0)).unwrap();
    assert!(p.next_batch().unwrap().is_ok());
    drop(p); // joins the workers; a hang here fails the test by timeout
}
