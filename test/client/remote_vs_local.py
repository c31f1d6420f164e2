"""Best references from our server (the real client's remote API) against the real client's
own local answer, header by header.

    CRDS_SERVER_URL=... CRDS_PATH=<synced cache> python remote_vs_local.py < headers.jsonl

Each input line is gen_headers.py's JSON ({"context", "id", "header", "reftypes"?}). For
each header, remote = crds.client.get_best_references(context, header, reftypes) (one
JSON-RPC call to our server), local = the client library's own lookup in the synced cache
(heavy_client.hv_best_references, as the real server and crds.getrecommendations do) on the
same header as the remote API sends it (values str()'d). Prints one JSON summary:
  {"same": n, "both_failed": n, "rejected_reftypes": n, "no_json_form": n, "mismatches": [...]}
"rejected_reftypes": headers asking for a type unknown to the observatory, which the server
refuses as a whole (InvalidReftypesError) where the library answers "NOT FOUND Unknown
reference type" for that type: the original server's argument check, counted apart.
"no_json_form": answers of the library holding a selector object inside a tuple (a known
quirk of a few JWST rmaps), which no JSON-RPC server can send: not compared.
"""
import json
import os
import sys

os.environ["CRDS_MODE"] = "local"  # the local lookup must never ask the server
from crds import client  # noqa: E402
from crds.core import heavy_client, log  # noqa: E402

log.remove_console_handler()
import logging  # noqa: E402
log.THE_LOGGER.logger.addHandler(logging.NullHandler())  # warnings such as "Failed checking OMIT" are normal


class NoJsonForm(Exception):
    """The library's answer holds an object (a selector inside a tuple) that JSON cannot carry."""


def plain(value):
    """Tuples (equal-weight Match ties) come back from JSON as lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise NoJsonForm(repr(value))
    return value


summary = {"same": 0, "both_failed": 0, "rejected_reftypes": 0, "no_json_form": 0, "mismatches": []}
for line in sys.stdin:
    case = json.loads(line)
    header = {str(k): str(v) for k, v in case["header"].items()}
    reftypes = case.get("reftypes")
    try:
        remote = ("ok", plain(client.get_best_references(case["context"], header, reftypes)))
    except Exception as exc:
        remote = ("error", str(exc))
    try:
        include = [str(t).lower() for t in reftypes] if reftypes else []
        local = ("ok", plain(heavy_client.hv_best_references(case["context"], header, include=include, condition=True)))
    except NoJsonForm:
        summary["no_json_form"] += 1
        continue
    except Exception as exc:
        local = ("error", str(exc))
    if remote == local:
        summary["same"] += 1
    elif remote[0] == local[0] == "error":
        summary["both_failed"] += 1
    elif (remote[0] == "error" and "InvalidReftypesError" in remote[1] and local[0] == "ok"
          and any(str(v).startswith("NOT FOUND Unknown reference type") for v in local[1].values())):
        summary["rejected_reftypes"] += 1
    else:
        summary["mismatches"].append({"id": case["id"], "remote": remote, "local": local})
print(json.dumps(summary))
