"""Oracle: the real library's canonical text of mappings (Mapping.format()) and what
`crds checksum` writes for them (Mapping.write() after loading without checksum check).

stdin: {"mappings": DIR, "files": [basenames]}   stdout: {name: {"format", "written"} | {"error"}}
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
cache = oracle_env.setup(request["mappings"])
from crds.core import rmap  # noqa: E402

out_dir = os.path.join(cache, "written")
os.makedirs(out_dir)
result = {}
for name in request["files"]:
    try:
        path = os.path.join(request["mappings"], name.split("_")[0].split(".")[0], name)
        mapping = rmap.load_mapping(path, ignore_checksum=True)
        formatted = mapping.format()
        target = os.path.join(out_dir, name)
        mapping.write(target)
        with open(target) as handle:
            result[name] = {"format": formatted, "written": handle.read()}
    except Exception as exc:
        result[name] = {"error": exc.__class__.__name__ + ": " + str(exc)}
oracle_env.reply(result)
