"""``python -m server``: the language server over stdio (what editors start); with a
command (``dags``, ``check``, ...), the CLI."""

import sys

from server.cli import main

arguments = sys.argv[1:]
if not arguments or arguments[0].startswith("--"):
    arguments = ["serve", *arguments]  # editors may pass --stdio or --tcp
sys.exit(main(arguments))
