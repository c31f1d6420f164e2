"""Oracle: each rmap's legal parkey values from its `_ld.tpn` constraints, as the real
library computes them for rmap updates (ReferenceMapping.tpn_valid_values, conditioned).

stdin: {"mappings": DIR, "rmaps": [names]}   stdout: {name: {parkey: [values]}}
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
oracle_env.setup(request["mappings"])
from crds.core import rmap  # noqa: E402

result = {}
for name in request["rmaps"]:
    path = os.path.join(request["mappings"], name.split("_")[0], name)
    mapping = rmap.load_mapping(path, ignore_checksum=True)
    result[name] = {key: list(values) for key, values in mapping.tpn_valid_values.items()}
oracle_env.reply(result)
