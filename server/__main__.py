"""``python -m server``: the language server over stdio (what editors start); with a
command (``dags``, ``check``, ...), the CLI."""

import os
import sys

# `python -m` puts the current folder first on sys.path, and editors start the server in the
# workspace: a workspace's own `analysis/` package or `libcst.py` would be imported (run) in
# place of ours. Unless this package itself lives there (a source checkout), drop that folder.
_here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_cwd = os.getcwd()
if os.path.realpath(_here) != os.path.realpath(_cwd):
    sys.path[:] = [entry for entry in sys.path
                   if os.path.realpath(os.path.abspath(entry or _cwd)) != os.path.realpath(_cwd)]

from server.cli import main  # noqa: E402

arguments = sys.argv[1:]
if not arguments or arguments[0].startswith("--"):
    arguments = ["serve", *arguments]  # editors may pass --stdio or --tcp
sys.exit(main(arguments))
