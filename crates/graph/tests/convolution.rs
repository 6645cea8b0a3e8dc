//! Convolution and Deconvolution: forward against naive float64 loops, gradients against
//! finite differences, float32 against float64, shape inference and errors.

use rmx_graph::testing::{array, check_gradient, uniform, values};
use rmx_graph::{invoke, lookup, Attrs, NDArray};
use rmx_kernels::{Context, DType, Shape};

fn run(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> Vec<NDArray> {
    invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)).unwrap_or_else(|e| panic!("{op} {params:?}: {e}"))
}

fn rand(shape: &[usize], seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), -1.0, 1.0, seed))
}

fn close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 1e-9 + 1e-9 * b.abs(), "{what}: [{i}] got {a} want {b}");
    }
}

/// Spatial parameters as three axes (leading 1s), the way both references loop.
struct Win {
    k: [usize; 3],
    s: [usize; 3],
    p: [usize; 3],
    d: [usize; 3],
}

fn three(v: &[usize], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

/// Every index of a 3-axis box, row-major.
fn each(ext: [usize; 3]) -> impl Iterator<Item = [usize; 3]> {
    (0..ext[0]).flat_map(move |a| (0..ext[1]).flat_map(move |b| (0..ext[2]).map(move |c| [a, b, c])))
}

fn flat(i: [usize; 3], ext: [usize; 3]) -> usize {
    (i[0] * ext[1] + i[1]) * ext[2] + i[2]
}

/// Convolution by its definition: (x, x_shape, w, F, groups, window) -> (y, y_shape).
fn naive_conv(x: &[f64], xs: &[usize], w: &[f64], f: usize, groups: usize, win: &Win, bias: Option<&[f64]>) -> (Vec<f64>, Vec<usize>) {
    let (n, c) = (xs[0], xs[1]);
    let inp = three(&xs[2..], 1);
    let out: [usize; 3] = std::array::from_fn(|i| (inp[i] + 2 * win.p[i] - (win.d[i] * (win.k[i] - 1) + 1)) / win.s[i] + 1);
    let (cg, fg) = (c / groups, f / groups);
    let (isz, osz, ksz) = (inp.iter().product::<usize>(), out.iter().product::<usize>(), win.k.iter().product::<usize>());
    let mut y = vec![0.0; n * f * osz];
    for b in 0..n {
        for of in 0..f {
            let g = of / fg;
            for o in each(out) {
                let mut acc = bias.map_or(0.0, |bs| bs[of]);
                for ci in 0..cg {
                    for k in each(win.k) {
                        let pos: Vec<isize> = (0..3).map(|i| (o[i] * win.s[i] + k[i] * win.d[i]) as isize - win.p[i] as isize).collect();
                        if (0..3).all(|i| pos[i] >= 0 && (pos[i] as usize) < inp[i]) {
                            let at = [pos[0] as usize, pos[1] as usize, pos[2] as usize];
                            acc += x[(b * c + g * cg + ci) * isz + flat(at, inp)] * w[(of * cg + ci) * ksz + flat(k, win.k)];
                        }
                    }
                }
                y[(b * f + of) * osz + flat(o, out)] = acc;
            }
        }
    }
    let mut shape = vec![n, f];
    shape.extend_from_slice(&out[3 - (xs.len() - 2)..]);
    (y, shape)
}

/// Deconvolution by its definition: each input scatters `x * w` to `i * stride + k * dilate - pad`.
fn naive_deconv(x: &[f64], xs: &[usize], w: &[f64], f: usize, groups: usize, win: &Win, out: [usize; 3]) -> Vec<f64> {
    let (n, c) = (xs[0], xs[1]);
    let inp = three(&xs[2..], 1);
    let (cg, fg) = (c / groups, f / groups);
    let (isz, osz, ksz) = (inp.iter().product::<usize>(), out.iter().product::<usize>(), win.k.iter().product::<usize>());
    let mut y = vec![0.0; n * f * osz];
    for b in 0..n {
        for ci in 0..c {
            let g = ci / cg;
            for i in each(inp) {
                for fo in 0..fg {
                    for k in each(win.k) {
                        let pos: Vec<isize> = (0..3).map(|a| (i[a] * win.s[a] + k[a] * win.d[a]) as isize - win.p[a] as isize).collect();
                        if (0..3).all(|a| pos[a] >= 0 && (pos[a] as usize) < out[a]) {
                            let at = [pos[0] as usize, pos[1] as usize, pos[2] as usize];
                            y[(b * f + g * fg + fo) * osz + flat(at, out)] += x[(b * c + ci) * isz + flat(i, inp)] * w[(ci * fg + fo) * ksz + flat(k, win.k)];
                        }
                    }
                }
            }
        }
    }
    y
}

fn tuple(v: &[usize]) -> String {
    format!("({})", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","))
}

/// (data shape, kernel, stride, pad, dilate, num_filter, num_group)
type Case = (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>, usize, usize);

/// A data shape and parameters.
type ParamCase = (Vec<usize>, Vec<(&'static str, &'static str)>);

/// (data shape, kernel, stride, pad, dilate, adj, target, num_filter, num_group, expected spatial output)
type DeconvCase = (Vec<usize>, [usize; 2], [usize; 2], [usize; 2], [usize; 2], [usize; 2], [usize; 2], usize, usize, [usize; 2]);

fn conv_cases() -> Vec<Case> {
    vec![
        (vec![2, 3, 7, 6], vec![3, 3], vec![1, 1], vec![0, 0], vec![1, 1], 4, 1),
        (vec![2, 4, 9, 8], vec![3, 2], vec![2, 3], vec![1, 2], vec![2, 1], 6, 2),
        (vec![3, 2, 5, 5], vec![1, 1], vec![1, 1], vec![0, 0], vec![1, 1], 3, 1),
        (vec![2, 4, 6, 6], vec![1, 1], vec![2, 2], vec![1, 0], vec![1, 1], 4, 4),
        (vec![2, 3, 11], vec![3], vec![2], vec![1], vec![2], 5, 1),
        (vec![1, 4, 10], vec![4], vec![1], vec![2], vec![1], 2, 2),
        (vec![2, 2, 4, 5, 4], vec![2, 3, 2], vec![1, 2, 1], vec![1, 1, 0], vec![1, 1, 2], 2, 1),
        (vec![1, 3, 4, 4], vec![4, 4], vec![1, 1], vec![0, 0], vec![1, 1], 2, 1),
        // Stride 1 in 2-D and 1-D: the padded-grid path, with dilation, uneven pads and groups.
        (vec![2, 4, 7, 6], vec![3, 2], vec![1, 1], vec![2, 1], vec![2, 1], 4, 2),
        (vec![3, 2, 5, 9], vec![3, 3], vec![1, 1], vec![1, 1], vec![3, 1], 3, 1),
        (vec![2, 2, 1, 8], vec![1, 3], vec![1, 1], vec![0, 2], vec![1, 1], 2, 1),
        // 3x3 with 64 channels and more: Winograd's F(4x4, 3x3).
        (vec![2, 64, 6, 5], vec![3, 3], vec![1, 1], vec![1, 1], vec![1, 1], 65, 1),
        (vec![1, 128, 5, 4], vec![3, 3], vec![1, 1], vec![2, 0], vec![1, 1], 128, 2),
    ]
}

#[test]
fn convolution_matches_the_definition() {
    for (seed, (xs, k, s, p, d, f, g)) in conv_cases().into_iter().enumerate() {
        let win = Win { k: three(&k, 1), s: three(&s, 1), p: three(&p, 0), d: three(&d, 1) };
        let mut ws = vec![f, xs[1] / g];
        ws.extend_from_slice(&k);
        let (x, w, b) = (rand(&xs, seed as u64), rand(&ws, 100 + seed as u64), rand(&[f], 200 + seed as u64));
        let params = [("kernel", tuple(&k)), ("stride", tuple(&s)), ("pad", tuple(&p)), ("dilate", tuple(&d)), ("num_filter", f.to_string()), ("num_group", g.to_string())];
        let params: Vec<(&str, &str)> = params.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let y = &run("Convolution", &params, &[x.clone(), w.clone(), b.clone()])[0];
        let bv = values(&b);
        let (want, shape) = naive_conv(&values(&x), &xs, &values(&w), f, g, &win, Some(&bv));
        assert_eq!(y.shape(), shape.as_slice(), "{params:?}");
        close(&values(y), &want, &format!("Convolution {params:?}"));
        let mut nb = params.clone();
        nb.push(("no_bias", "True"));
        let y = &run("Convolution", &nb, &[x.clone(), w.clone()])[0];
        close(&values(y), &naive_conv(&values(&x), &xs, &values(&w), f, g, &win, None).0, "no_bias");
    }
}

#[test]
fn convolution_gradients() {
    let cases: Vec<(ParamCase, bool)> = vec![
        ((vec![2, 2, 5, 4], vec![("kernel", "(3,2)"), ("num_filter", "3"), ("pad", "(1,1)")]), true),
        ((vec![2, 4, 6, 5], vec![("kernel", "(2,3)"), ("num_filter", "4"), ("stride", "(2,1)"), ("dilate", "(1,2)"), ("num_group", "2")]), true),
        ((vec![2, 3, 3, 3], vec![("kernel", "(1,1)"), ("num_filter", "2"), ("no_bias", "True")]), false),
        ((vec![3, 2, 7], vec![("kernel", "(3,)"), ("num_filter", "2"), ("stride", "(2,)"), ("pad", "(2,)")]), true),
        ((vec![1, 2, 3, 3, 3], vec![("kernel", "(2,2,2)"), ("num_filter", "2"), ("pad", "(1,0,1)")]), true),
        // The padded-grid path (stride 1): dilation, uneven pads and groups.
        ((vec![2, 4, 6, 8], vec![("kernel", "(3,3)"), ("num_filter", "4"), ("pad", "(1,1)"), ("dilate", "(2,1)"), ("num_group", "2")]), true),
        ((vec![2, 3, 8], vec![("kernel", "(3,)"), ("num_filter", "2"), ("pad", "(1,)"), ("no_bias", "True")]), false),
    ];
    for (i, ((xs, params), bias)) in cases.into_iter().enumerate() {
        let instance = lookup("Convolution").unwrap().instantiate(&Attrs::from_pairs(params.iter().copied())).unwrap();
        let want = instance.complete_inputs(&[Some(Shape::from_slice(&xs)), None, None]);
        let w_shape = want[1].clone().unwrap();
        let mut inputs = vec![rand(&xs, i as u64), rand(&w_shape, 50 + i as u64)];
        if bias {
            inputs.push(rand(want[2].as_ref().unwrap(), 70 + i as u64));
        }
        check_gradient("Convolution", &params, &inputs, &[], false);
    }
}

#[test]
fn deconvolution_matches_the_definition_and_mxnet_shapes() {
    let cases: Vec<DeconvCase> = vec![
        (vec![2, 4, 5, 6], [3, 3], [1, 1], [0, 0], [1, 1], [0, 0], [0, 0], 6, 1, [7, 8]),
        (vec![2, 4, 5, 6], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1], [0, 0], 6, 1, [10, 12]),
        (vec![2, 4, 5, 6], [3, 3], [2, 2], [0, 0], [1, 1], [0, 0], [10, 12], 6, 1, [10, 12]),
        (vec![2, 4, 5, 6], [3, 3], [2, 2], [0, 0], [1, 1], [0, 0], [9, 11], 6, 1, [9, 11]),
        (vec![2, 4, 5, 6], [3, 3], [1, 1], [0, 0], [2, 2], [0, 0], [0, 0], 6, 2, [9, 10]),
        (vec![1, 2, 3, 4], [2, 3], [3, 2], [1, 0], [1, 2], [2, 1], [0, 0], 4, 2, [8, 12]),
    ];
    for (seed, (xs, k, s, p, d, adj, target, f, g, out)) in cases.into_iter().enumerate() {
        let ws = [xs[1], f / g, k[0], k[1]];
        let (x, w, b) = (rand(&xs, seed as u64), rand(&ws, 10 + seed as u64), rand(&[f], 20 + seed as u64));
        let params = [
            ("kernel", tuple(&k)), ("stride", tuple(&s)), ("pad", tuple(&p)), ("dilate", tuple(&d)), ("adj", tuple(&adj)),
            ("target_shape", tuple(&target)), ("num_filter", f.to_string()), ("num_group", g.to_string()), ("no_bias", "False".into()),
        ];
        let params: Vec<(&str, &str)> = params.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let y = &run("Deconvolution", &params, &[x.clone(), w.clone(), b.clone()])[0];
        assert_eq!(y.shape(), &[xs[0], f, out[0], out[1]], "{params:?}");
        // The pad a target shape implies: t = full - target, pad = ceil(t / 2).
        let pad: [usize; 2] = std::array::from_fn(|i| {
            if target == [0, 0] { p[i] } else { (s[i] * (xs[2 + i] - 1) + d[i] * (k[i] - 1) + 1 - target[i]).div_ceil(2) }
        });
        let win = Win { k: three(&k, 1), s: three(&s, 1), p: three(&pad, 0), d: three(&d, 1) };
        let mut want = naive_deconv(&values(&x), &xs, &values(&w), f, g, &win, [1, out[0], out[1]]);
        let bv = values(&b);
        let plane = out[0] * out[1];
        want.iter_mut().enumerate().for_each(|(i, v)| *v += bv[(i / plane) % f]);
        close(&values(y), &want, &format!("Deconvolution {params:?}"));
    }
}

#[test]
fn deconvolution_gradients_and_defaults() {
    let cases: Vec<ParamCase> = vec![
        (vec![2, 2, 3, 3], vec![("kernel", "(3,3)"), ("num_filter", "3"), ("stride", "(2,2)"), ("pad", "(1,1)"), ("adj", "(1,0)")]),
        (vec![1, 4, 3, 2], vec![("kernel", "(2,2)"), ("num_filter", "2"), ("num_group", "2"), ("dilate", "(2,1)"), ("no_bias", "False")]),
        (vec![2, 2, 4], vec![("kernel", "(3,)"), ("num_filter", "2"), ("stride", "(2,)"), ("target_shape", "(8,)"), ("no_bias", "False")]),
    ];
    for (i, (xs, params)) in cases.into_iter().enumerate() {
        let instance = lookup("Deconvolution").unwrap().instantiate(&Attrs::from_pairs(params.iter().copied())).unwrap();
        let names = instance.input_names().unwrap();
        let want = instance.complete_inputs(&[Some(Shape::from_slice(&xs)), None, None]);
        assert_eq!(want.len(), names.len(), "no_bias defaults to True for Deconvolution");
        let inputs: Vec<NDArray> = want.iter().enumerate().map(|(j, s)| rand(s.as_ref().unwrap(), (10 * i + j) as u64)).collect();
        check_gradient("Deconvolution", &params, &inputs, &[], false);
    }
    let conv = lookup("Convolution").unwrap().instantiate(&Attrs::from_pairs([("kernel", "(3,3)"), ("num_filter", "2")])).unwrap();
    assert_eq!(conv.input_names().unwrap(), ["data", "weight", "bias"]);
    let deconv = lookup("Deconvolution").unwrap().instantiate(&Attrs::from_pairs([("kernel", "(3,3)"), ("num_filter", "2")])).unwrap();
    assert_eq!(deconv.input_names().unwrap(), ["data", "weight"]);
}

#[test]
fn float32_agrees_with_float64() {
    let (xs, ws) = ([4, 3, 12, 10], [8, 3, 3, 3]);
    let (x, w, b) = (uniform(4 * 3 * 120, -1.0, 1.0, 1), uniform(8 * 27, -1.0, 1.0, 2), uniform(8, -1.0, 1.0, 3));
    let f32s = |v: &[f64], shape: &[usize]| {
        let bytes: Vec<u8> = v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();
        NDArray::from_bytes(shape, DType::F32, Context::cpu(0), &bytes).unwrap()
    };
    let params = [("kernel", "(3,3)"), ("num_filter", "8"), ("pad", "(1,1)"), ("stride", "(2,1)")];
    let want = values(&run("Convolution", &params, &[array(&xs, &x), array(&ws, &w), array(&[8], &b)])[0]);
    let y = &run("Convolution", &params, &[f32s(&x, &xs), f32s(&w, &ws), f32s(&b, &[8])])[0];
    let mut bytes = vec![0u8; y.nbytes()];
    y.read_into(&mut bytes).unwrap();
    let got: Vec<f64> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect();
    assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-4), "float32 result differs");
}

#[test]
fn bad_shapes_and_parameters_are_named() {
    let x = rand(&[2, 4, 5, 6], 1);
    let err = |op: &str, params: &[(&str, &str)], inputs: &[NDArray]| {
        match invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)) {
            Ok(_) => panic!("{op} {params:?} should fail"),
            Err(e) => e.to_string(),
        }
    };
    let e = err("Convolution", &[("kernel", "(7,7)"), ("num_filter", "2"), ("no_bias", "True")], &[x.clone(), rand(&[2, 4, 7, 7], 2)]);
    assert!(e.contains("Convolution") && e.contains("exceeds"), "{e}");
    let e = err("Convolution", &[("kernel", "(3,3)"), ("num_filter", "5"), ("num_group", "2"), ("no_bias", "True")], &[x.clone(), rand(&[5, 2, 3, 3], 2)]);
    assert!(e.contains("num_group"), "{e}");
    let e = err("Convolution", &[("kernel", "(3,3)"), ("num_filter", "2"), ("no_bias", "True")], &[x.clone(), rand(&[2, 3, 3, 3], 2)]);
    assert!(e.contains("weight has shape [2, 3, 3, 3], expected [2, 4, 3, 3]"), "{e}");
    let e = err("Convolution", &[("kernel", "(3,3)"), ("num_filter", "2"), ("layout", "NHWC")], std::slice::from_ref(&x));
    assert!(e.contains("layout") && e.contains("NCHW"), "{e}");
    let e = err("Convolution", &[("num_filter", "2")], std::slice::from_ref(&x));
    assert!(e.contains("'kernel'") && e.contains("required"), "{e}");
    let e = err("Convolution", &[("kernel", "(3,)"), ("num_filter", "2")], &[x.clone(), rand(&[2, 4, 3], 2), rand(&[2], 3)]);
    assert!(e.contains("3-D"), "{e}");
    let e = err("Deconvolution", &[("kernel", "(3,3)"), ("num_filter", "6"), ("stride", "(2,2)"), ("target_shape", "(12,12)")], &[x.clone(), rand(&[4, 6, 3, 3], 2)]);
    assert!(e.contains("target_shape") && e.contains("too big"), "{e}");
    let e = err("Deconvolution", &[("kernel", "(3,3)"), ("num_filter", "6"), ("stride", "(2,2)"), ("adj", "(2,2)")], &[x.clone(), rand(&[4, 6, 3, 3], 2)]);
    assert!(e.contains("adj"), "{e}");
}

/// Forward + backward wall time of the benchmarked shapes, in float32 (a quick check, not a
/// benchmark): `cargo test --release -p rmx-graph --test convolution -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_of_benchmarked_shapes() {
    let f32s = |shape: &[usize], seed: u64| {
        let bytes: Vec<u8> = uniform(shape.iter().product(), -1.0, 1.0, seed).iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();
        NDArray::from_bytes(shape, DType::F32, Context::cpu(0), &bytes).unwrap()
    };
    for (name, xs, k, f, pad) in [
        ("LeNet conv1", [128, 1, 28, 28], 5, 20, 0),
        ("LeNet conv2", [128, 20, 12, 12], 5, 50, 0),
        ("CIFAR conv1", [32, 3, 32, 32], 3, 64, 1),
        ("CIFAR conv2", [32, 64, 32, 32], 3, 128, 1),
        ("CIFAR conv3", [32, 64, 16, 16], 3, 128, 1),
    ] {
        let (kt, ft, pt) = (format!("({k},{k})"), f.to_string(), format!("({pad},{pad})"));
        let params = [("kernel", kt.as_str()), ("num_filter", ft.as_str()), ("pad", pt.as_str())];
        let (x, w, b) = (f32s(&xs, 1), f32s(&[f, xs[1], k, k], 2), f32s(&[f], 3));
        let y = run("Convolution", &params, &[x.clone(), w.clone(), b.clone()]).remove(0);
        let dy = f32s(y.shape(), 4);
        let (mut fwd, mut bwd) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let t = std::time::Instant::now();
            run("Convolution", &params, &[x.clone(), w.clone(), b.clone()])[0].wait_to_read().unwrap();
            fwd = fwd.min(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            let grads = run("_backward_Convolution", &params, &[dy.clone(), x.clone(), w.clone()]);
            grads.iter().for_each(|g| g.wait_to_read().unwrap());
            bwd = bwd.min(t.elapsed().as_secs_f64());
        }
        println!("{name} {xs:?} k{k} F{f}: forward {:.2} ms, backward {:.2} ms", fwd * 1e3, bwd * 1e3);
    }
}
