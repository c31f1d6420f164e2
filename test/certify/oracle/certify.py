"""Oracle for the certify differential test: runs the real `crds certify` command (its
CertifyScript, one run per file, each in a fork of one warmed-up process) offline on the real rules and the shared type
specs, and prints one JSON record per file: the exit status and every ERROR / WARNING /
INFO line it logged.

Usage: certify.py --mappings DIR --specs DIR --references DIR [--context NAME] [--extra "ARGS"] FILE...|--stdin
(stdout: one JSON line per file, {file, status, seconds, messages: [[level, text], ...]}).
--extra (e.g. "--dont-recurse-mappings --dont-check-rmap-updates") go to every run.

Set-up that differs from a bare `crds certify`:
* the private cache (test/refactor/oracle/oracle_env.py) links the shared mappings, the shared
  server_config (so the operational context is the default comparison context, as on a real
  client), and the shared reference files (comparison references for table checks);
* the type specs and .tpn files are read from --specs instead of the copies inside the
  installed package, so that both implementations certify against the same constraints
  (the test passes a temporary copy of the shared specs whose `*_ld.tpn` link files are
  symlinks again, as in the package: test/certify/compare.ts resolvedSpecsCopy).
"""
import gc
import json
import logging
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "refactor", "oracle"))
import oracle_env  # noqa: E402


def arg(name, default=None):
    if name in sys.argv:
        i = sys.argv.index(name)
        value = sys.argv[i + 1]
        del sys.argv[i:i + 2]
        return value
    return default


MAPPINGS = arg("--mappings")
SPECS = arg("--specs")
REFERENCES = arg("--references")
CONTEXT = arg("--context")
# --warm "hst=hst_0729.pmap,jwst=..." : contexts loaded before the per-file forks
WARM = [tuple(x.split("=", 1)) for x in arg("--warm", "").split(",") if "=" in x]
EXTRA = arg("--extra", "").split()
FILES = sys.argv[1:]

OBSERVATORIES = ("hst", "jwst", "roman")
root = oracle_env.setup(MAPPINGS, OBSERVATORIES)
config_root = os.path.join(os.path.dirname(MAPPINGS), "config")
for obs in OBSERVATORIES:
    for name in ("server_config", "bad_files.txt"):
        src = os.path.join(config_root, obs, name)
        if os.path.exists(src):
            os.symlink(src, os.path.join(root, "config", obs, name))
    if REFERENCES and os.path.isdir(os.path.join(REFERENCES, obs)):
        os.makedirs(os.path.join(root, "references", obs), exist_ok=True)
        for name in os.listdir(os.path.join(REFERENCES, obs)):
            os.symlink(os.path.join(REFERENCES, obs, name), os.path.join(root, "references", obs, name))
os.environ["CRDS_REF_SUBDIR_MODE"] = "flat"

from crds.core import log, reftypes, utils  # noqa: E402

# Read type specs and .tpn files from SPECS: refill each observatory's TYPES in place (its bound
# methods are shared by the locate modules) and redirect the locators' tpn_path.
for obs in OBSERVATORIES:
    pkg = utils.get_observatory_package(obs)
    fresh = reftypes.from_package_file(obs, os.path.join(SPECS, obs, "__init__.py"))
    pkg.TYPES.__dict__.update(fresh.__dict__)
    locator = utils.get_locator_module(obs)
    locator.tpn_path = (lambda o: lambda tpn_file: os.path.join(SPECS, o, "tpns", tpn_file))(obs)

import crds  # noqa: E402
from crds.certify import certify  # noqa: E402


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append([record.levelname, record.getMessage()])


capture = Capture()
log.remove_console_handler()
log.THE_LOGGER.logger.addHandler(capture)

def paths():
    """The files to certify: the command line, else (--stdin) one path per line of stdin, read
    as they come so that the caller can hand each worker its next file when it is free."""
    if FILES != ["--stdin"]:
        yield from FILES
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def certify_one(path):
    """One run of the real command on `path`, as `crds certify PATH EXTRA...`."""
    capture.records = []
    log.THE_LOGGER.reset()
    argv = ["crds.certify", path] + EXTRA
    if CONTEXT:
        argv += ["--comparison-context", CONTEXT]
    start = time.perf_counter()
    try:
        status = certify.CertifyScript(argv)()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001  (reported, not hidden)
        capture.records.append(["CRASH", repr(exc)])
        status = -1
    return {"file": path, "status": status, "seconds": time.perf_counter() - start,
            "messages": capture.records}


# Every file is certified in a fork of this warmed-up process: Python, the library and the
# operational contexts are loaded once (the parent), and each file starts from that same
# state, so nothing one run caches or writes (the library caches mappings by name, and the
# group check's trial rmaps carry the names of the context's rmaps) can leak into the next.
# gc.freeze() keeps the copy-on-write pages shared and the real tool's per-file gc.collect()
# (memory_cleanup) off the frozen heap.
for obs, ctx in WARM:
    # the calls the certifier makes (their caches are keyed by the arguments)
    for load in (lambda: crds.get_pickled_mapping(ctx, ignore_checksum="warn"),
                 lambda: crds.get_pickled_mapping(ctx),
                 lambda: crds.get_cached_mapping(ctx)):
        try:
            load()
        except Exception:  # noqa: BLE001  (the children report their own errors)
            pass
# What every child would otherwise load again: the Python packages the certifiers import
# lazily and the mapping grammar (parsley compiles it on first use). Loading them parses one
# of the shared mappings and certifies nothing, so the children's results do not depend on it.
for module in ("astropy.io.fits", "asdf", "crds.certify.validators", "crds.refactoring.refactor",
               "stdatamodels.jwst.datamodels", "roman_datamodels.datamodels"):
    try:
        __import__(module)
    except Exception:  # noqa: BLE001  (not installed: the child reports what it needs)
        pass
try:
    from crds.certify import mapping_parser
    warm_map = sorted(n for n in os.listdir(os.path.join(MAPPINGS, "hst")) if n.endswith(".rmap"))[0]
    mapping_parser.parse_mapping(os.path.join(MAPPINGS, "hst", warm_map))
except Exception:  # noqa: BLE001
    pass
gc.collect()
gc.freeze()

for path in paths():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        try:
            result = certify_one(path)
        except BaseException as exc:  # noqa: BLE001
            result = {"file": path, "status": -1, "seconds": 0, "messages": [["CRASH", repr(exc)]]}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(result))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as inp:
        text = inp.read()
    os.waitpid(pid, 0)
    if not text:
        text = json.dumps({"file": path, "status": -1, "seconds": 0, "messages": [["CRASH", "child died"]]})
    print(text, flush=True)
