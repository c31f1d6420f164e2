"""Shared set-up of the oracle scripts: run the real `crds` library offline against the real
rules, with a private writable cache whose mappings are symlinks to the read-only shared
rules, so nothing is ever written into the shared data."""
import atexit
import json
import os
import shutil
import sys
import tempfile


def private_cache(mappings_root, observatories=("hst", "jwst")):
    """Create a temporary CRDS_PATH whose mappings/<obs> hold symlinks to the real rules."""
    root = tempfile.mkdtemp(prefix="crds-oracle-")
    atexit.register(shutil.rmtree, root, True)  # symlinks only: the real rules are untouched
    for obs in observatories:
        src = os.path.join(mappings_root, obs)
        dst = os.path.join(root, "mappings", obs)
        os.makedirs(dst)
        for name in os.listdir(src):
            os.symlink(os.path.join(src, name), os.path.join(dst, name))
        os.makedirs(os.path.join(root, "config", obs))
    os.makedirs(os.path.join(root, "references"))
    return root


def setup(mappings_root, observatories=("hst", "jwst")):
    """Point the library at a private cache, offline; must run before importing crds."""
    for name in list(os.environ):
        if name.startswith("CRDS_"):
            del os.environ[name]
    root = private_cache(mappings_root, observatories)
    os.environ["CRDS_PATH"] = root
    os.environ["CRDS_MODE"] = "local"
    os.environ["CRDS_SERVER_URL"] = "https://offline.invalid"
    return root


def read_request():
    return json.load(sys.stdin)


def reply(obj):
    json.dump(obj, sys.stdout)
    sys.stdout.flush()
