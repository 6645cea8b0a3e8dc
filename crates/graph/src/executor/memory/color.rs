//! Path decomposition for co-sharing: the nodes of one dependency path run one after another,
//! so their buffers can be shared without costing any parallelism. Repeatedly take the heaviest
//! path (by the bytes its uncovered nodes make) through the graph, give its uncovered nodes a
//! path number, and zero their weight; each round is one pass in topological order.

use super::{bytes, Step};
use rmx_operators::operator::TensorDesc;

/// Each step's path number, and how many numbers there are (at most `max` paths, plus one group
/// for the steps left over).
pub fn paths(steps: &[Step], descs: &[TensorDesc], external: &[bool], max: usize) -> (Vec<usize>, usize) {
    let mut producer = vec![usize::MAX; descs.len()];
    for (k, s) in steps.iter().enumerate() {
        for &e in s.outputs {
            if producer[e] == usize::MAX {
                producer[e] = k;
            }
        }
    }
    let mut weight: Vec<usize> = steps.iter().map(|s| s.outputs.iter().filter(|&&e| !external[e]).map(|&e| bytes(&descs[e])).sum()).collect();
    let mut path = vec![usize::MAX; steps.len()];
    let mut best = vec![0usize; steps.len()];
    let mut back = vec![usize::MAX; steps.len()];
    let mut used = 0;
    while used < max {
        for (k, s) in steps.iter().enumerate() {
            let (mut top, mut from) = (0, usize::MAX);
            for &e in s.inputs {
                let p = producer[e];
                if p < k && best[p] > top {
                    (top, from) = (best[p], p);
                }
            }
            best[k] = top + weight[k];
            back[k] = from;
        }
        let Some((end, &heaviest)) = best.iter().enumerate().max_by_key(|&(_, b)| *b) else { break };
        if heaviest == 0 {
            break;
        }
        let mut k = end;
        while k != usize::MAX {
            if path[k] == usize::MAX {
                path[k] = used;
                weight[k] = 0;
            }
            k = back[k];
        }
        used += 1;
    }
    for p in path.iter_mut().filter(|p| **p == usize::MAX) {
        *p = used;
    }
    (path, used + 1)
}
