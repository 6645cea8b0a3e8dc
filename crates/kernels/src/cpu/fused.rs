//! The host driver of fused elementwise chains: the output is split into rayon tasks of
//! `PARALLEL_GRAIN` elements, and each task runs every step of the chain over one block of
//! [`BLOCK`] elements before moving to the next block, with one scratch block per intermediate
//! step, so the chain's intermediates never leave cache.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use crate::fused::{BlockFn, Operand, Step};
use crate::Element;

/// Elements per block: every step's block stays in L1 together.
pub const BLOCK: usize = 1024;

/// `y = steps(ins)`: each step reads chain inputs (`ins`, each `y.len()` elements) or earlier
/// steps' blocks; the last step writes `y`. `pick` gives a step's arithmetic in `T`.
pub fn run<T: Element>(steps: &[Step], pick: fn(&Step) -> &BlockFn<T>, ins: &[&[T]], y: &mut [T]) {
    assert!(!steps.is_empty() && ins.iter().all(|x| x.len() == y.len()), "fused chain: no steps or unequal lengths");
    let last = steps.len() - 1;
    let chunk = |start: usize, yc: &mut [T]| {
        let mut regs: Vec<Vec<T>> = vec![vec![T::from_f64(0.0); BLOCK]; last];
        for (b, yb) in yc.chunks_mut(BLOCK).enumerate() {
            let (lo, n) = (start + b * BLOCK, yb.len());
            for (k, step) in steps.iter().enumerate() {
                let (done, rest) = regs.split_at_mut(k);
                let srcs: Vec<&[T]> = step
                    .args
                    .iter()
                    .map(|a| match *a {
                        Operand::Input(i) => &ins[i][lo..lo + n],
                        Operand::Step(s) => &done[s][..n],
                    })
                    .collect();
                if k == last {
                    pick(step)(&srcs, yb);
                } else {
                    pick(step)(&srcs, &mut rest[0][..n]);
                }
            }
        }
    };
    if y.len() <= PARALLEL_GRAIN {
        chunk(0, y);
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).enumerate().for_each(|(i, c)| chunk(i * PARALLEL_GRAIN, c));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::cuda::source::Expr;
    use crate::fused::BlockKernel;

    use super::*;

    #[test]
    fn a_chain_matches_its_unfused_steps_across_blocks_and_tasks() {
        // y = (a + b) * a, over more than one task and a ragged last block.
        let n = PARALLEL_GRAIN + BLOCK + 3;
        let a: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
        let b: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
        let add: BlockFn<f64> = Arc::new(|x, y| y.iter_mut().zip(x[0].iter().zip(x[1])).for_each(|(y, (a, b))| *y = a + b));
        let mul: BlockFn<f64> = Arc::new(|x, y| y.iter_mut().zip(x[0].iter().zip(x[1])).for_each(|(y, (a, b))| *y = a * b));
        let unused: BlockFn<f32> = Arc::new(|_, _| unreachable!());
        let steps = [
            Step { kernel: BlockKernel { f32: unused.clone(), f64: add, cuda: Expr::binary("a + b") }, args: vec![Operand::Input(0), Operand::Input(1)] },
            Step { kernel: BlockKernel { f32: unused, f64: mul, cuda: Expr::binary("a * b") }, args: vec![Operand::Step(0), Operand::Input(0)] },
        ];
        let mut y = vec![0f64; n];
        run::<f64>(&steps, |s| &s.kernel.f64, &[&a, &b], &mut y);
        let want: Vec<f64> = a.iter().zip(&b).map(|(a, b)| (a + b) * a).collect();
        assert_eq!(y, want);
    }
}
