"""Environment for running the real `crds` library as an oracle on the real rules.

Import this module BEFORE importing anything from `crds`:

* CRDS_MODE=local, so nothing ever talks to a server; CRDS_SERVER_URL is removed (the
  library derives an "observatory" from that URL in selectors.py, so a stray value could
  change behaviour).
* CRDS_PATH = a fresh temporary directory (the library may write config there), and
  CRDS_MAPPATH = the shared real mappings, read in place (`<mappath>/<observatory>/...`).
  The mappings directory is --mappings / $CRDS_TEST_MAPPINGS, default ../shared/data/...

* JWST: `crds.jwst.locate` does `from stdatamodels.exceptions import ValidationWarning` at
  import time, and `crds[submission]` does not install `stdatamodels` (the real server has
  the `jwst` package). When it is missing we install a stand-in module that defines only
  that warning class. This cannot change any best-reference answer for headers whose keys
  are all data-model paths (`META.*`): `fits_to_parkeys` only asks the data models about
  bare FITS keywords, which is why gen_headers.py never gives JWST headers bare keywords.
  If a bare keyword ever reaches the data-model lookup, `get_datamodels()` raises, the
  header's answer becomes an error, and the differential test reports it (it cannot pass
  silently). `STDATAMODELS_STUBBED` tells whether the stand-in is in use.
"""
import atexit
import os
import shutil
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MAPPINGS = os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "crds-cache", "mappings"))


def mappings_dir(argv=None):
    """The mappings directory: --mappings DIR, else $CRDS_TEST_MAPPINGS, else the default."""
    argv = sys.argv if argv is None else argv
    if "--mappings" in argv:
        return argv[argv.index("--mappings") + 1]
    return os.environ.get("CRDS_TEST_MAPPINGS", DEFAULT_MAPPINGS)


MAPPINGS = mappings_dir()
if not os.path.isdir(os.path.join(MAPPINGS, "hst")):
    sys.exit("crds_env: no real mappings at " + repr(MAPPINGS))

os.environ["CRDS_MODE"] = "local"
os.environ.pop("CRDS_SERVER_URL", None)
os.environ.pop("CRDS_MAPPATH_SINGLE", None)
os.environ.pop("CRDS_CONTEXT", None)
os.environ["CRDS_PATH"] = tempfile.mkdtemp(prefix="crds-oracle-")
atexit.register(shutil.rmtree, os.environ["CRDS_PATH"], True)
os.environ["CRDS_MAPPATH"] = MAPPINGS

try:
    import stdatamodels.exceptions  # noqa: F401  (real JWST data models, when installed)
    STDATAMODELS_STUBBED = False
except ImportError:
    _pkg = types.ModuleType("stdatamodels")
    _exc = types.ModuleType("stdatamodels.exceptions")

    class ValidationWarning(Warning):
        """Stand-in for stdatamodels.exceptions.ValidationWarning (see module doc)."""

    _exc.ValidationWarning = ValidationWarning
    _pkg.exceptions = _exc
    _pkg.__path__ = []  # a package, so `import stdatamodels.jwst` fails cleanly with ImportError
    sys.modules["stdatamodels"] = _pkg
    sys.modules["stdatamodels.exceptions"] = _exc
    STDATAMODELS_STUBBED = True

from crds.core import log  # noqa: E402

# Warnings such as "Failed checking relevance ..." are part of normal bestrefs behaviour
# (quirks Q3/Q4); keep them off stderr so the callers' output stays readable.
log.remove_console_handler()
import logging  # noqa: E402
log.THE_LOGGER.logger.addHandler(logging.NullHandler())  # else logging's last-resort handler prints them

# The operational contexts, two much older ones (hst_0300: 47 of its 113 rmaps differ from
# hst_0729's; jwst_0200: 79 of 86 differ from jwst_0541's), and the real test fixture
# jwst_na_omit.pmap: no numbered HST/JWST context uses OMIT (imap or rmap), so only this
# fixture exercises omitted types (imap-level OMIT, rmap rows that are OMIT).
CONTEXTS = ["hst_0729.pmap", "hst_0300.pmap", "jwst_0541.pmap", "jwst_0200.pmap", "jwst_na_omit.pmap"]


def server_best_references(context, header, reftypes=None):
    """Best references exactly as the CRDS server's JSON-RPC `get_best_references` computes
    them (crds-server `jsonapi/views.py`, current version):

        reftypes = check_reftypes(reftypes)      # None -> [], each name lower-cased
        return heavy_client.hv_best_references(context, header, include=reftypes, condition=True)

    hv_best_references conditions the whole header first (keys upper-cased, values
    conditioned), then minimizes it to the instrument's parkeys, then asks the imap for each
    type; `include=[]` (null reftypes) means every type of the imap. Because `include` is a
    list, never None, the JWST EXP_TYPE-based type filtering (header_to_reftypes) is not
    used. (Older server versions did `rmap.get_best_references(context,
    utils.condition_header(header), include=reftypes)`: the same order, the same answers.)

    Not reproduced here, because they are the web layer's argument checks, not the rules
    engine: check_header rejects keys/values outside FITS_KEY_RE / FITS_VAL_RE and, as
    written, any non-string value (the regex is applied to it); check_reftypes rejects
    names that are no reference type of the observatory. We pass such values and names
    to the library and compare with its answer ("NOT FOUND Unknown reference type 'foo'").
    """
    from crds.core import heavy_client
    include = [str(t).lower() for t in reftypes] if reftypes else []
    return heavy_client.hv_best_references(context, dict(header), include=include, condition=True)
