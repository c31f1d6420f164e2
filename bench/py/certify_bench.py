#!/usr/bin/env python3
"""The real `crds` library's side of bench/certify: header-read and certify times.

    certify_bench.py --mappings DIR --specs DIR --context NAME [--repeat N] FILE... > result.json

For each FILE: `data_file.get_header(file)` (the union of every HDU's header, as certify reads
it) and `certify.certify_file(file, context)` (what `crds certify FILE` runs per file), each
--repeat times, median seconds. Same offline set-up as test/certify/oracle/certify.py: private
cache of symlinks, type specs and .tpn files from --specs.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "refactor", "oracle"))
import oracle_env  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--mappings", required=True)
ap.add_argument("--specs", required=True)
ap.add_argument("--context", required=True)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("files", nargs="+")
args = ap.parse_args()

oracle_env.setup(args.mappings, ("hst", "jwst"))
from crds.core import log, reftypes, utils  # noqa: E402

for obs in ("hst", "jwst"):
    pkg = utils.get_observatory_package(obs)
    pkg.TYPES.__dict__.update(reftypes.from_package_file(obs, os.path.join(args.specs, obs, "__init__.py")).__dict__)
    utils.get_locator_module(obs).tpn_path = (lambda o: lambda t: os.path.join(args.specs, o, "tpns", t))(obs)
log.remove_console_handler()
import logging  # noqa: E402
log.THE_LOGGER.logger.addHandler(logging.NullHandler())
from crds import data_file  # noqa: E402
from crds.certify import certify  # noqa: E402


def median_time(fn):
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


results = {}
certify.certify_file(args.files[0], args.context)  # warm-up: imports, context load
for path in args.files:
    def read_header():
        data_file.clear_header_cache()  # get_header memoizes; time the read itself
        data_file.get_header(path, observatory="hst")
    header = median_time(read_header)
    cert = median_time(lambda: certify.certify_file(path, args.context))
    results[path] = {"header": header, "certify": cert}
json.dump(results, sys.stdout)
