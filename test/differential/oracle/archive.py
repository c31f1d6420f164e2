#!/usr/bin/env python3
"""The real library's best references for the archive's recorded datasets.

    archive.py [--mappings DIR] [--contexts a.pmap,b.pmap] FILE.json... > archive.jsonl

Each FILE.json (crds-testdata/hst/*.json) maps "PRODUCT:EXPOSURE" ids to a dataset header
dump that also records the archive's best references (upper-case type keys such as
"FLATFILE": "X5V1944HL_FLAT.FITS" or "N/A"). For every dataset and context we emit:

    {"file": "test_cos.json", "dataset": "LCE31SW6Q:LCE31SW6Q", "context": "hst_0729.pmap",
     "header": {...}, "real": {type: value} | null, "error": null | "message"}

`real` is computed exactly as bestrefs.py does (the server's form,
crds_env.server_best_references, with the dataset dump as header and all types). The
recordings were made by the archive under various past contexts, so several contexts are tried; the test compares our engine
only where the real library reproduces the recorded value.
"""
import argparse
import json
import os
import sys

import crds_env
from crds.core import rmap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mappings")
    ap.add_argument("--contexts", default="hst_0729.pmap,hst_0500.pmap,hst_0300.pmap")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    n = 0
    for path in args.files:
        with open(path) as f:
            data = json.load(f)
        for dataset in sorted(data):
            header = data[dataset]
            if not isinstance(header, dict):
                continue
            for context in args.contexts.split(","):
                rec = {"file": os.path.basename(path), "dataset": dataset, "context": context,
                       "header": header, "real": None, "error": None}
                try:
                    result = crds_env.server_best_references(context, header, None)
                    rec["real"] = {k: (v if isinstance(v, str) else repr(v)) for k, v in result.items()}
                except Exception as exc:
                    rec["error"] = str(exc)
                sys.stdout.write(json.dumps(rec) + "\n")
                n += 1
    print("archive oracle: %d dataset x context answers" % n, file=sys.stderr)


if __name__ == "__main__":
    main()
