"""``airlift-lsp verify``: the project's own Airflow (and Dagster) load the project in a
subprocess with the project's interpreter; the findings come from ``analysis.verify``.

``airflow_probe.py`` and ``dagster_probe.py`` are scripts run by those interpreters, never
imported here; ``engine`` runs them and compares, ``trial`` verifies a plan on a copy."""
