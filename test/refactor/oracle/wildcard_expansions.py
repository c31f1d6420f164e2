"""Oracle: the observatory's wildcard expansion rules (crds/<obs>/substitutions.dat) as JSON,
read from the installed library so the tests never carry a copy."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import oracle_env  # noqa: E402

request = oracle_env.read_request()
oracle_env.setup(request["mappings"])
from crds.core import utils  # noqa: E402

pkg = utils.get_observatory_package(request["observatory"])
oracle_env.reply(utils.evalfile(pkg.HERE + "/substitutions.dat"))
