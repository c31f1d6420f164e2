#!/usr/bin/env python3
"""The real `crds` library's best references for headers from gen_headers.py, in the form the
CRDS server's JSON-RPC `get_best_references(context, header, reftypes)` returns them.

    bestrefs.py [--mappings DIR] < headers.jsonl > answers.jsonl

One output line per input line, same order:

    {"id": ..., "result": {"darkfile": "lcb12060j_drk.fits", "biasfile": "NOT FOUND n/a", ...},
     "rmaps": {"darkfile": "hst_acs_darkfile_0363.rmap", "foo": null, ...}}
or, when the whole call fails (the server answers a JSON-RPC error):
    {"id": ..., "error": "Missing 'INSTRUME' keyword in header for determining instrument.",
     "error_type": "CrdsError"}

What is computed, and why this way: `crds_env.server_best_references`, i.e. what the
server's handler does (read its docstring): `heavy_client.hv_best_references(context,
header, include=[lower-cased reftypes] or [], condition=True)`:
    1. condition the whole header: keys upper-cased (so "Detector" and "detector" work),
       values conditioned (`utils.condition_header`);
    2. minimize: `fits_to_parkeys` (HST identity; JWST upper-cases `META.*` keys), then keep
       only the instrument's required parkeys, missing ones "UNDEFINED" (the instrument
       keyword itself is re-read as INSTRUME / META.INSTRUMENT.NAME only, so an HST header
       naming its instrument under an alias fails afterwards);
    3. `PipelineContext.get_best_references` -> `InstrumentContext.get_best_references`:
       for each requested type (every type of the imap when `reftypes` is null or empty),
       lower-cased: the rmap's `get_best_ref`; IrrelevantReferenceTypeError -> "NOT FOUND n/a",
       OmitReferenceTypeError -> type left out, any other exception -> "NOT FOUND " + str(exc)
       (unknown type: "NOT FOUND Unknown reference type 'foo'").
  Failures before the per-type loop (no instrument keyword, unknown instrument) raise out of
  the call: we record them as {"error": str(exc)}; the TS engine must throw with that message.
* Header values are passed as they come out of JSON (str, int or float): the server receives
  JSON-RPC values as they are. (The Python client `crds.client.get_best_references` str()s
  them first; after conditioning both give the same strings, e.g. 2.0 and "2" -> "2.0".)
* Results that are not strings (a tuple of files from a Match-only tie, quirk Q9) are
  written as JSON lists, as the server's JSON would carry them.
* `rmaps` gives, per requested type, the name the imap names for it ("N/A"/"OMIT" for
  imap-level specials, null for unknown types): only used to summarize mismatches.
"""
import json
import sys
import time
from collections import Counter

import crds_env
from crds.core import rmap


def server_form(value):
    """The value as the server's JSON would carry it. A tuple of file names (Match-only tie,
    quirk Q9) becomes a list. A tuple holding a nested selector (a tie between a terminal
    row such as 'N/A' and a UseAfter row: seen on jwst_0541 MIRI tsophot) cannot be encoded
    at all (the real server would fail serializing its answer): we emit
    {"unserializable": repr} and the test counts these apart instead of comparing them."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return {"unserializable": repr(value)}


def classify(value):
    if value is None:
        return "omit"
    if isinstance(value, dict):
        return "unserializable"
    if not isinstance(value, str):
        return "tuple"
    if value == "NOT FOUND n/a":
        return "n/a"
    if value.startswith("NOT FOUND"):
        msg = value[len("NOT FOUND "):]
        if "is not in" in msg:
            return "error:invalid-value"
        if msg.startswith("No match"):
            return "error:no-match"
        if "UseAfter" in msg or "date" in msg.lower():
            return "error:date"
        if "Unknown reference type" in msg:
            return "error:unknown-type"
        return "error:other"
    return "file"


def imap_names(pmap, header, types):
    """{type: rmap name | 'N/A' | 'OMIT' | None} as the context's imap names them."""
    try:
        instrument = pmap.get_instrument(pmap.minimize_header(header))
        imap = pmap.get_imap(instrument)
    except Exception:
        return {}
    out = {}
    for t in types:
        sel = imap.selections.get(t.lower(), None) if t.lower() in imap.selections else None
        out[t.lower()] = None if sel is None else (sel if isinstance(sel, str) else sel.basename)
    return out


def main():
    contexts = {}
    counts = Counter()
    t0 = time.time()
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        rec = json.loads(line)
        name = rec["context"]
        if name not in contexts:
            contexts[name] = rmap.get_cached_mapping(name)
        pmap = contexts[name]
        header = rec["header"]
        reftypes = rec.get("reftypes", None)
        out = {"id": rec["id"]}
        try:
            result = crds_env.server_best_references(name, header, reftypes)
        except Exception as exc:
            out["error"] = str(exc)
            out["error_type"] = type(exc).__name__
            counts["call-error"] += 1
        else:
            out["result"] = {k: server_form(v) for k, v in result.items()}
            if reftypes:
                asked = list(reftypes)
            else:
                try:
                    imap = pmap.get_imap(pmap.get_instrument(pmap.minimize_header(header)))
                    asked = list(imap.selections.keys())
                except Exception:
                    asked = list(result.keys())
            out["rmaps"] = imap_names(pmap, header, asked)
            for t in out["rmaps"]:
                counts[classify(out["result"].get(t.lower()))] += 1
        sys.stdout.write(json.dumps(out) + "\n")
        n += 1
    total = sum(v for k, v in counts.items() if k != "call-error")
    summary = ", ".join("%s %d (%.1f%%)" % (k, v, 100.0 * v / max(total, 1)) for k, v in counts.most_common())
    print("bestrefs oracle: %d headers, %d type answers in %.1fs: %s (stdatamodels stubbed: %s)" %
          (n, total, time.time() - t0, summary, crds_env.STDATAMODELS_STUBBED), file=sys.stderr)


if __name__ == "__main__":
    main()
