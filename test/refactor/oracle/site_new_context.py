"""Oracle: the real library's crds.refactoring.newcontext.new_context + update_header_names
for given rmaps, on a site's own (one observatory) mappings: the library's names are the next
of that cache's series, as the site's counters draw them.

stdin:  {"mappings": DIR, "observatories": [obs], "pmap", "updates": [rmap names]}
stdout: {"names": {old: new}, "files": {new: text}} | {"error": "Class: message"}
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
obs = request["pmap"].split("_")[0]
root = oracle_env.setup(request["mappings"], tuple(request["observatories"]))
from crds.refactoring import newcontext  # noqa: E402

try:
    # fake_name() returns './<name>' and the library writes there: work inside the cache.
    os.chdir(os.path.join(root, "mappings", obs))
    name_map = newcontext.new_context(request["pmap"], request["updates"])
    newcontext.update_header_names(name_map)
    files = {}
    for new in name_map.values():
        with open(os.path.join(root, "mappings", obs, os.path.basename(new))) as handle:
            files[os.path.basename(new)] = handle.read()
    oracle_env.reply({"names": {old: os.path.basename(new) for old, new in name_map.items()}, "files": files})
except Exception as exc:
    oracle_env.reply({"error": exc.__class__.__name__ + ": " + str(exc)})
