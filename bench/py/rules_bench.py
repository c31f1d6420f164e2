#!/usr/bin/env python3
"""The real `crds` library's side of bench/rules: load and lookup timings on the real rules.

    rules_bench.py --headers headers.jsonl --answers-out answers.jsonl [--mappings DIR]
                   [--contexts hst_0729.pmap,jwst_0541.pmap] [--repeat 5] > result.json

Measures, per context:
* memory: RSS growth of this process while the whole closure is loaded and kept (cached);
* load: `rmap.load_mapping(ctx)` + `mapping_names()` (the library loads sub-mappings lazily;
  mapping_names() forces every imap and rmap of the closure to be read, parsed and
  checksum-verified), uncached, --repeat times, median;
* lookup: `crds_env.server_best_references(ctx, header)` = hv_best_references with
  include=[] (all types of the header's instrument, exactly the server's path) for every header of that context
  in --headers (from test/differential/oracle/gen_headers.py) that does not fail as a whole;
  a first pass (first use: lazy rmap loads; its total time is reported on its own), then
  --passes timed passes: median, p99, mean of all timings in microseconds, and the p99 of
  each header's best time over the passes (what is left when scheduler preemption and GC
  pauses, which hit single timings at random on a shared machine, are filtered out).
The last pass's answers go to --answers-out so bench/rules can check ours are the same.
"""
import argparse
import gc
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "test", "differential", "oracle"))
import crds_env  # noqa: E402  (environment for the real library; must precede crds imports)
from crds.core import rmap  # noqa: E402


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mappings")
    ap.add_argument("--headers", required=True)
    ap.add_argument("--answers-out", required=True)
    ap.add_argument("--contexts", default="hst_0729.pmap,jwst_0541.pmap")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    contexts = args.contexts.split(",")
    out = {"library": "crds " + __import__("crds").__version__, "python": sys.version.split()[0],
           "memory": {}, "load": {}, "lookup": {}}

    # memory: the cached closures the lookups will use
    for ctx in contexts:
        gc.collect()
        before = rss_bytes()
        rmap.get_cached_mapping(ctx).mapping_names()
        gc.collect()
        out["memory"][ctx] = {"rss_delta_mb": (rss_bytes() - before) / 2**20}

    # cold load + checksum verification of the whole closure
    for ctx in contexts:
        runs = []
        for _ in range(args.repeat):
            gc.collect()
            t = time.perf_counter()
            m = rmap.load_mapping(ctx)
            names = m.mapping_names()
            runs.append((time.perf_counter() - t) * 1000.0)
            del m
        out["load"][ctx] = {"median_ms": statistics.median(runs), "runs_ms": runs, "mappings": len(names),
                            "names": sorted(names)}

    headers = {}
    with open(args.headers) as f:
        for line in f:
            rec = json.loads(line)
            if rec["context"] in contexts:
                headers.setdefault(rec["context"], []).append(rec)

    with open(args.answers_out, "w") as answers:
        for ctx in contexts:
            usable = []
            first_ms = 0.0
            for rec in headers.get(ctx, []):
                t = time.perf_counter_ns()
                try:   # first pass: loads the rmaps of each instrument on first use
                    crds_env.server_best_references(ctx, dict(rec["header"]))
                    usable.append(rec)
                except Exception:
                    pass
                first_ms += (time.perf_counter_ns() - t) / 1e6
            times = []
            best = [float("inf")] * len(usable)
            for p in range(args.passes):
                for i, rec in enumerate(usable):
                    h = dict(rec["header"])
                    t = time.perf_counter_ns()
                    result = crds_env.server_best_references(ctx, h)
                    us = (time.perf_counter_ns() - t) / 1000.0
                    times.append(us)
                    best[i] = min(best[i], us)
                    if p == args.passes - 1:
                        result = {k: (v if isinstance(v, str) else
                                      (list(v) if all(isinstance(x, str) for x in v) else {"unserializable": repr(v)}))
                                  for k, v in result.items()}
                        answers.write(json.dumps({"id": rec["id"], "result": result}) + "\n")
            times.sort()
            best.sort()
            out["lookup"][ctx] = {"headers": len(usable), "passes": args.passes, "first_pass_ms": first_ms,
                                  "median_us": percentile(times, 0.5), "p99_us": percentile(times, 0.99),
                                  "mean_us": statistics.mean(times), "best_p99_us": percentile(best, 0.99)}
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
