//! The planner on synthetic graphs: every plan is checked for overlapping lifetimes (two
//! entries in one buffer alive at once, other than an in-place handover), and the strategies'
//! totals are compared on graphs whose best sharing is known.

use rmx_kernels::DType;

use super::*;

struct Graph {
    inputs: Vec<Vec<usize>>,
    outputs: Vec<Vec<usize>>,
    inplace: Vec<Vec<(usize, usize)>>,
    descs: Vec<TensorDesc>,
    external: Vec<bool>,
    keep: Vec<bool>,
}

impl Graph {
    fn new() -> Self {
        Graph { inputs: vec![], outputs: vec![], inplace: vec![], descs: vec![], external: vec![], keep: vec![] }
    }

    fn entry(&mut self, n: usize, external: bool) -> usize {
        self.descs.push(TensorDesc::new(&[n], DType::F32));
        self.external.push(external);
        self.keep.push(false);
        self.descs.len() - 1
    }

    /// A step reading `ins` and making one entry of `n` floats.
    fn step(&mut self, ins: &[usize], n: usize, inplace: bool) -> usize {
        let e = self.entry(n, false);
        self.inputs.push(ins.to_vec());
        self.outputs.push(vec![e]);
        self.inplace.push(if inplace { vec![(0, 0)] } else { vec![] });
        e
    }

    fn plan(&self, s: MemoryStrategy) -> MemoryPlan {
        let steps: Vec<Step> = (0..self.inputs.len()).map(|k| Step { inputs: &self.inputs[k], outputs: &self.outputs[k], inplace: self.inplace[k].clone() }).collect();
        let p = plan(&steps, &self.descs, &self.external, &self.keep, s);
        self.check(&p);
        p
    }

    /// No two entries of one buffer are alive at once, except an input handing its buffer to
    /// an output of its last reader that the operator declares in place; every buffer holds its
    /// entries.
    fn check(&self, p: &MemoryPlan) {
        let n = self.descs.len();
        let (mut born, mut dies) = (vec![usize::MAX; n], vec![0usize; n]);
        for (k, outs) in self.outputs.iter().enumerate() {
            for &e in outs {
                born[e] = born[e].min(k);
                dies[e] = dies[e].max(k);
            }
            for &e in &self.inputs[k] {
                dies[e] = dies[e].max(k);
            }
        }
        for (e, die) in dies.iter_mut().enumerate() {
            if self.keep[e] {
                *die = usize::MAX;
            }
            match p.block_of[e] {
                None => assert!(self.external[e], "entry {e} has no buffer"),
                Some(b) => assert!(p.block_bytes[b] >= self.descs[e].shape[0] * 4, "entry {e} does not fit its buffer"),
            }
        }
        for a in 0..n {
            for b in a + 1..n {
                if p.block_of[a].is_none() || p.block_of[a] != p.block_of[b] {
                    continue;
                }
                let (x, y) = if born[a] <= born[b] { (a, b) } else { (b, a) };
                if dies[x] < born[y] {
                    continue;
                }
                let k = born[y];
                let handover = dies[x] == k
                    && self.inplace[k].iter().any(|&(i, o)| self.inputs[k].get(i) == Some(&x) && self.outputs[k][o] == y);
                assert!(handover, "entries {x} and {y} share buffer {:?} while both alive ({:?})", p.block_of[a], p.strategy);
            }
        }
    }
}

const ALL: [MemoryStrategy; 4] = [MemoryStrategy::None, MemoryStrategy::Inplace, MemoryStrategy::Coshare, MemoryStrategy::Both];

/// A chain of equal in-place steps from one argument: in place it needs one buffer (the kept
/// head has its own since it lives on), sharing alone two, none one per step.
#[test]
fn chain() {
    let mut g = Graph::new();
    let mut x = g.entry(100, true);
    for _ in 0..10 {
        x = g.step(&[x], 100, true);
    }
    g.keep[x] = true;
    let total = |s| g.plan(s).total_bytes() / 400;
    assert_eq!(total(MemoryStrategy::None), 10);
    assert_eq!(total(MemoryStrategy::Inplace), 1);
    assert_eq!(total(MemoryStrategy::Coshare), 2);
    assert_eq!(total(MemoryStrategy::Both), 1);
}

/// A map larger than every free buffer: only a strategy whose buffers grow reuses one.
#[test]
fn growing() {
    let mut g = Graph::new();
    let mut x = g.entry(16, true);
    for n in [16, 16, 64] {
        x = g.step(&[x], n, false);
    }
    g.keep[x] = true;
    let inplace = g.plan(MemoryStrategy::Inplace).total_bytes();
    let both = g.plan(MemoryStrategy::Both).total_bytes();
    assert!(both < inplace, "both {both} >= inplace {inplace}");
}

/// An input read again later is never overwritten in place, and a kept entry never is.
#[test]
fn in_place_waits_for_every_reader() {
    let mut g = Graph::new();
    let a = g.entry(8, true);
    let x = g.step(&[a], 8, false);
    let y = g.step(&[x], 8, true);
    let z = g.step(&[x, y], 8, true);
    g.keep[z] = true;
    for s in ALL {
        let p = g.plan(s);
        assert_ne!(p.block_of[x], p.block_of[y], "{s:?}");
    }
}

/// Random graphs: every strategy's plan is valid, and sharing never costs memory.
#[test]
fn random_graphs() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    for _ in 0..200 {
        let mut g = Graph::new();
        let mut entries = vec![g.entry(1 + next(50), true), g.entry(1 + next(50), true)];
        for _ in 0..5 + next(30) {
            let k = 1 + next(3);
            let ins: Vec<usize> = (0..k).map(|_| entries[entries.len() - 1 - next(entries.len().min(6))]).collect();
            let n = if next(2) == 0 { g.descs[ins[0]].shape[0] } else { 1 + next(50) };
            let e = g.step(&ins, n, next(2) == 0);
            entries.push(e);
        }
        let last = *entries.last().unwrap();
        g.keep[last] = true;
        if next(3) == 0 {
            let mid = entries[entries.len() / 2];
            g.keep[mid] = true;
        }
        let none = g.plan(MemoryStrategy::None).total_bytes();
        for s in ALL {
            assert!(g.plan(s).total_bytes() <= none, "{s:?}");
        }
    }
}

/// Diamonds (two branches that could run in parallel): co-sharing keeps the branches apart.
#[test]
fn parallel_branches_keep_their_own_buffers() {
    let mut g = Graph::new();
    let a = g.entry(10, true);
    let x = g.step(&[a], 10, false);
    let l1 = g.step(&[x], 10, false);
    let r1 = g.step(&[x], 10, false);
    let l2 = g.step(&[l1], 10, false);
    let r2 = g.step(&[r1], 10, false);
    let out = g.step(&[l2, r2], 10, false);
    g.keep[out] = true;
    let p = g.plan(MemoryStrategy::Coshare);
    let left = [p.block_of[l1], p.block_of[l2]];
    let right = [p.block_of[r1], p.block_of[r2]];
    assert!(left.iter().all(|b| !right.contains(b)), "a branch took the other's buffer: {left:?} {right:?}");
}

#[test]
fn parse_strategies() {
    for s in ALL {
        assert_eq!(MemoryStrategy::parse(s.name()).unwrap(), s);
    }
    let err = MemoryStrategy::parse("greedy").unwrap_err().to_string();
    assert!(err.contains("'greedy'") && err.contains("coshare"), "{err}");
}
