"""Long-run fuzzing of rmx's file readers (``mx.nd.load``/``load_frombuffer`` and
``mx.sym.load_json``): the kinds of ``tests/test_reader_fuzz.py`` with many more cases.

    python benches/fuzz_readers.py --cases 200000            # per kind, all kinds
    python benches/fuzz_readers.py --cases 50000 --kinds params-mutate json-struct --seed 7

Cases run in child processes of ``--chunk`` cases each; a child that crashes or hangs is reported
with its case (the input is saved under ``benches/out/fuzz_readers/``) and fuzzing resumes after
it. Exhaustive cases (truncation at every offset, every length field at every huge value, JSON
truncation at every offset) always run first. Exits 1 if anything was found.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
if os.path.isdir(os.path.join(ROOT, "python", "rmx")):
    sys.path.insert(0, os.path.join(ROOT, "python"))

import test_reader_fuzz as fz  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20000, help="cases per kind (at least the exhaustive ones run)")
    ap.add_argument("--kinds", nargs="*", default=fz.KINDS, choices=fz.KINDS)
    ap.add_argument("--seed", type=int, default=fz.SEED)
    ap.add_argument("--chunk", type=int, default=20000, help="cases per child process")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per child process")
    ap.add_argument("--out", default=os.path.join(ROOT, "benches", "out", "fuzz_readers"))
    args = ap.parse_args(argv)

    corpus = fz.Corpus(args.seed)
    found = 0
    os.makedirs(args.out, exist_ok=True)
    for kind in args.kinds:
        # Directed kinds are a fixed list; the others run at least their exhaustive cases.
        n = corpus.n_exhaustive(kind) if kind.endswith("-directed") else max(args.cases, corpus.n_exhaustive(kind))
        t0 = time.perf_counter()
        start, problems, crashes = 0, [], []
        while start < n:
            stop = min(n, start + args.chunk)
            got, crash = fz.run_in_child(kind, start, stop, args.seed, timeout=args.timeout)
            problems += got
            if crash is None:
                start = stop
                continue
            i, how = crash
            desc, payload = corpus.case(kind, i)
            ext = "params" if kind.startswith("params") else "json"
            path = os.path.join(args.out, f"{kind}-{args.seed}-{i}.{ext}")
            with open(path, "wb") as f:
                f.write(payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass"))
            first, *rest = [x for x in how.splitlines() if x.strip() and not x.startswith("note:")]
            crashes.append((i, desc, " | ".join([first.split(";")[0]] + rest[-2:])[:300], path))
            start = i + 1
        dt = time.perf_counter() - t0
        print(f"{kind:16s} {n:8d} cases in {dt:7.1f} s: {len(problems)} problems, {len(crashes)} crashes", flush=True)
        for i, desc, how, path in crashes[:10]:
            print(f"    crash at case {i} ({desc[:100]}): {how}; input saved to {path}")
        by_what = {}
        for q in problems:
            by_what.setdefault(q["what"], []).append(q)
        for what, qs in sorted(by_what.items()):
            q = qs[0]
            print(f"    [{what}] x{len(qs)}, e.g. case {q['case']} ({q['desc'][:100]}): {q['detail'][:160]}")
        found += len(problems) + len(crashes)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
