"""Oracle: new pmap/imap chains for new rmaps with the real library
(crds.refactoring.newcontext.new_context + update_header_names, local "fake" names).

stdin:  {"mappings": DIR, "cases": [{"id", "pmap", "rmaps": {name: text}, "updates": [names or <instr>_<type>_n/a]}]}
stdout: {"results": {id: {"names": {old: new}, "files": {name: text}, "rmap_names": {rmap: fake_name(rmap)}} | {"error"}}}
Each case runs in its own private cache (symlinks to the real rules plus its new rmaps).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
oracle_env.setup(request["mappings"])
from crds.refactoring import newcontext  # noqa: E402

results = {}
for case in request["cases"]:
    try:
        root = oracle_env.private_cache(request["mappings"])
        os.environ["CRDS_PATH"] = root
        obs = case["pmap"].split("_")[0]
        # The library's fake_name() crashes when an unnumbered test fixture (jwst_na_omit.pmap,
        # hst_acs_darkfile_missing_key.rmap) sorts last in a series: keep numbered mappings only.
        mapdir = os.path.join(root, "mappings", obs)
        for name in os.listdir(mapdir):
            if not re.search(r"_\d+\.[pir]map$", name):
                os.remove(os.path.join(mapdir, name))
        # fake_name() returns './<name>' and the library writes there: work inside the cache.
        os.chdir(os.path.join(root, "mappings", obs))
        rmap_names = {}
        for name, text in case["rmaps"].items():
            with open(os.path.join(root, "mappings", obs, name), "w") as handle:
                handle.write(text)
        for name in case.get("name_series", []):
            rmap_names[name] = os.path.basename(newcontext.fake_name(name))
        name_map = newcontext.new_context(case["pmap"], case["updates"])
        newcontext.update_header_names(name_map)
        files = {}
        for new in name_map.values():
            with open(os.path.join(root, "mappings", obs, os.path.basename(new))) as handle:
                files[os.path.basename(new)] = handle.read()
        results[case["id"]] = {"names": {old: os.path.basename(new) for old, new in name_map.items()},
                               "files": files, "rmap_names": rmap_names}
    except Exception as exc:
        results[case["id"]] = {"error": exc.__class__.__name__ + ": " + str(exc)}
oracle_env.reply({"results": results})
