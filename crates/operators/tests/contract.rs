//! The operators crate's own checks, through its public surface. They live here rather than in
//! `#[cfg(test)]` modules because a unit-test build compiles the whole crate a second time
//! (ten minutes of CI on two cores); this binary only links it.

use rmx_kernels::{BinaryFn, DType};
use rmx_operators::ops::{binary_math, unary_math};
use rmx_operators::{cuda_sources, lookup, Attrs, TensorDesc};

#[test]
fn attrs_parse_mxnet_strings_and_name_bad_parameters() {
    let a = Attrs::from_pairs([("kernel", "(3, 3)"), ("no_bias", "False"), ("axis", "-1"), ("eps", "1e-3"), ("shape", "[2,3,]")]);
    assert_eq!(a.ints("op", "kernel").unwrap(), Some(vec![3, 3]));
    assert_eq!(a.ints("op", "shape").unwrap(), Some(vec![2, 3]));
    assert!(!a.bool("op", "no_bias", true).unwrap());
    assert_eq!(a.int("op", "axis", 0).unwrap(), -1);
    assert_eq!(a.f64("op", "eps", 0.0).unwrap(), 1e-3);
    let err = a.check_known("Convolution", &["kernel", "no_bias", "axis", "eps"]).unwrap_err();
    assert!(err.to_string().contains("'shape'"), "{err}");
    let bad = Attrs::from_pairs([("axis", "x")]);
    assert!(bad.int("sum", "axis", 0).unwrap_err().to_string().contains("sum: parameter 'axis'"));
}

#[test]
fn names_and_aliases_are_unique_and_found() {
    assert_eq!(lookup("_plus").unwrap().name, "elemwise_add");
    assert!(lookup("no_such_op").is_err());
    assert!(rmx_operators::all_ops().count() > 50);
}

#[test]
fn slice_ranges_follow_python() {
    use rmx_operators::ops::slice::slice_range;
    assert_eq!(slice_range(10, Some(2), Some(8), 3), (2, 2));
    assert_eq!(slice_range(10, None, None, -1), (9, 10));
    assert_eq!(slice_range(10, Some(-3), None, 1), (7, 3));
    assert_eq!(slice_range(5, Some(4), Some(1), -2), (4, 2));
    assert_eq!(slice_range(5, Some(7), Some(9), 1).1, 0);
}

#[test]
fn reshape_special_values_follow_mxnet_table() {
    use rmx_operators::ops::reshape::reshape_target;
    let r = |input: &[usize], spec: &[i64], reverse: bool| reshape_target("Reshape", input, spec, reverse).unwrap().to_vec();
    assert_eq!(r(&[2, 3, 4], &[4, 0, 2], false), [4, 3, 2]);
    assert_eq!(r(&[2, 3, 4], &[6, 1, -1], false), [6, 1, 4]);
    assert_eq!(r(&[2, 3, 4], &[2, -2], false), [2, 3, 4]);
    assert_eq!(r(&[2, 3, 4], &[-2, 1, 1], false), [2, 3, 4, 1, 1]);
    assert_eq!(r(&[2, 3, 4], &[-3, 4], false), [6, 4]);
    assert_eq!(r(&[2, 3, 4], &[-4, 1, 2, -2], false), [1, 2, 3, 4]);
    assert_eq!(r(&[10, 5, 4], &[-1, 0], false), [40, 5]);
    assert_eq!(r(&[10, 5, 4], &[-1, 0], true), [50, 4]);
    assert!(reshape_target("Reshape", &[2, 3], &[4, -1], false).is_err());
}

/// Every differentiable one-input math operator is known to `_backward_unary`, and its
/// gradient operator infers the input's shape.
#[test]
fn every_smooth_unary_function_has_a_backward_kernel() {
    let zero = ["sign", "round", "rint", "fix", "floor", "ceil", "trunc", "logical_not"];
    let backward = lookup("_backward_unary").unwrap();
    for def in unary_math::DEFS {
        let made = backward.instantiate(&Attrs::from_pairs([("fn", def.name)]));
        assert_eq!(made.is_ok(), !zero.contains(&def.name), "{}", def.name);
        if let Ok(op) = made {
            let x = TensorDesc::new(&[2, 3], DType::F32);
            assert_eq!(op.infer(&[x.clone(), x.clone(), x]).unwrap()[0].shape.as_slice(), &[2, 3], "{}", def.name);
        }
    }
}

#[test]
fn modulo_follows_python_and_integer_division_by_zero_is_zero() {
    use binary_math::{Div, Maximum, Mod, Power};
    assert_eq!(Mod::f64(-7.0, 3.0), 2.0);
    assert_eq!(Mod::f64(7.0, -3.0), -2.0);
    assert_eq!(Mod::int(-7, 3), 2);
    assert_eq!(Div::int(5, 0), 0);
    assert_eq!(Mod::f32(5.0, 0.0), 0.0);
    assert_eq!(Div::int(i64::MIN, -1), i64::MIN);
    assert_eq!(Power::int(3, 4), 81);
    assert!(Maximum::f32(f32::NAN, 1.0).is_nan());
}

#[test]
fn the_cuda_list_covers_each_family_once() {
    let all = cuda_sources::all();
    let names: std::collections::HashSet<&str> = all.iter().map(|k| k.source.name.as_str()).collect();
    assert_eq!(names.len(), all.len(), "two kernels share a name");
    for want in ["map_Exp_float16", "backward_Gamma_float64", "broadcast_Power_int64", "rscalar_Sub_bool", "backward_Hypot_float32", "reduce_norm2_int32", "map_SoftRelu_float32", "fused_mul_add_tanh_rsub_mul_relu_float32"] {
        assert!(names.contains(want), "{want} missing");
    }
}

#[test]
fn cuda_references_run_the_cpu_loops() {
    let all = cuda_sources::all();
    let find = |name: &str| all.iter().find(|k| k.source.name == name).and_then(|k| k.reference.clone()).unwrap();
    assert_eq!(find("map_Sqrt_float32")(&[vec![4.0, 9.0]], 0.0, [0; 3]), vec![vec![2.0, 3.0]]);
    assert_eq!(find("rscalar_Sub_int32")(&[vec![1.0, 5.0]], 2.7, [0; 3]), vec![vec![1.0, -3.0]]);
    assert_eq!(find("backward_Mul_float64")(&[vec![2.0], vec![3.0], vec![5.0]], 0.0, [0; 3]), vec![vec![10.0], vec![6.0]]);
    assert_eq!(find("reduce_sum_int64")(&[vec![1.0, 2.0, 3.0, 4.0]], 0.0, [1, 2, 2]), vec![vec![4.0, 6.0]]);
}
