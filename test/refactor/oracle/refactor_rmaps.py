"""Oracle: insert / replace / delete references in real rmaps with the real library.

stdin:  {"mappings": DIR, "cases": [{"id", "rmap", "inserts": [{"basename", "header"}],
         "deletes": [names], "new_name"}]}
stdout: {"results": {id: {"text": ...} | {"error": "Class: message"}}, "seconds": float}

Drives the same steps as crds.refactoring.refactor.rmap_insert_references /
rmap_delete_references followed by update_derivation, except that each reference header
is given explicitly instead of being read from a reference file (ReferenceMapping.
get_refactor_header minus data_file.get_header).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
cache = oracle_env.setup(request["mappings"])

from crds.core import rmap, log  # noqa: E402
from crds.io import abstract  # noqa: E402
from crds.refactoring import refactor  # noqa: E402

log.set_exception_trap(False)
out_dir = os.path.join(cache, "out")
os.makedirs(out_dir)

results = {}
start = time.perf_counter()
for case in request["cases"]:
    try:
        old = rmap.load_mapping(os.path.join(request["mappings"], case["rmap"].split("_")[0], case["rmap"]),
                                ignore_checksum=True)
        new = old
        for ins in case.get("inserts", []):
            header = abstract.ensure_keys_defined(ins["header"], needed_keys=new.get_reference_parkeys())
            header = new.reference_to_dataset_header(header)
            new = new.insert_header_reference(header, ins["basename"])
        for name in case.get("deletes", []):
            new = new.delete(name)
        new.header["derived_from"] = old.basename
        case_dir = os.path.join(out_dir, case["id"])
        os.makedirs(case_dir)
        path = os.path.join(case_dir, case["new_name"])
        new.write(path)
        refactor.update_derivation(path, old.basename)
        with open(path) as handle:
            results[case["id"]] = {"text": handle.read()}
    except Exception as exc:  # the comparison is on outcome: both must fail
        results[case["id"]] = {"error": exc.__class__.__name__ + ": " + str(exc)}
seconds = time.perf_counter() - start
oracle_env.reply({"results": results, "seconds": seconds})
