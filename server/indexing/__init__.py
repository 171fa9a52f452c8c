"""Indexing many DAG files: a persistent facts cache and a process pool.

``analysis`` stays pure; this package is the I/O around it. ``cache`` keeps each file's facts on
disk, keyed by the tool's version, the extraction's settings, the file's path and the SHA-1 of its
text, valid while the workspace modules the facts were read through are unchanged. ``pool``
extracts the files the cache cannot answer in worker processes (``spawn``: safe beside the
server's threads). ``batch`` puts the two together for the CLI and the server's cold index.

Cheap to import: a spawned worker imports this package, so nothing here loads pygls or libcst.
"""
