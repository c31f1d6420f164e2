"""Oracle: logical differences and affected (instrument, type) pairs between contexts, with
the real library (crds.diff.mapping_diffs / get_affected).

stdin:  {"mappings": DIR, "pairs": [[old, new]], "include_header_diffs": bool, "recurse_added_deleted": bool}
stdout: {"results": {"old new": {"diffs": [{"diff", "parameter_names", "instrument", "filekind"}],
         "affected": {instrument: [types]}}}, "seconds": float}
Full cache paths in the top-level names are reduced to basenames.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
oracle_env.setup(request["mappings"])
from crds import diff  # noqa: E402


def plain(value):
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, str) and "/" in value and value.endswith((".pmap", ".imap", ".rmap")):
        return os.path.basename(value)
    return value


options = dict(include_header_diffs=request.get("include_header_diffs", False),
               recurse_added_deleted=request.get("recurse_added_deleted", False))
results = {}
start = time.perf_counter()
for old, new in request["pairs"]:
    diffs = diff.mapping_diffs(old, new, **options)
    affected = diff.get_affected(old, new, **options)
    results[old + " " + new] = {
        "diffs": [{"diff": plain(d), "parameter_names": plain(d.parameter_names),
                   "instrument": d.instrument, "filekind": d.filekind} for d in diffs],
        "affected": {instr: sorted(kinds) for instr, kinds in affected.items()},
    }
seconds = time.perf_counter() - start
oracle_env.reply({"results": results, "seconds": seconds})
