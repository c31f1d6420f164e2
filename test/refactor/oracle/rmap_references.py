"""Oracle: the real library's crds.refactoring.refactor.rmap_delete_references and
rmap_insert_references on real rmaps and real reference files, then update_derivation
(as the server names the new rmap).

stdin:  {"mappings": DIR, "references": DIR, "observatories": [obs], "cases": [{"id", "rmap", "action": "delete"|"insert",
         "references": [names], "new_name"}]}
stdout: {"results": {id: {"text": ...} | {"error": "Class: message"}}}
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
# The site's own cache may hold one observatory only (and the new rmaps it made).
cache = oracle_env.setup(request["mappings"], tuple(request.get("observatories", ["hst", "jwst"])))

from crds.core import log  # noqa: E402
from crds.refactoring import refactor  # noqa: E402

log.set_exception_trap(False)
out_dir = os.path.join(cache, "out")
os.makedirs(out_dir)

results = {}
for case in request["cases"]:
    try:
        old = os.path.join(request["mappings"], case["rmap"].split("_")[0], case["rmap"])
        case_dir = os.path.join(out_dir, case["id"])
        os.makedirs(case_dir)
        new = os.path.join(case_dir, case["new_name"])
        if case["action"] == "delete":
            refactor.rmap_delete_references(old, new, case["references"])
        else:
            refs = [os.path.join(request["references"], name) for name in case["references"]]
            refactor.rmap_insert_references(old, new, refs)
        refactor.update_derivation(new, case["rmap"])
        with open(new) as handle:
            results[case["id"]] = {"text": handle.read()}
    except Exception as exc:  # the comparison is on outcome: both must fail
        results[case["id"]] = {"error": exc.__class__.__name__ + ": " + str(exc)}
oracle_env.reply({"results": results})
