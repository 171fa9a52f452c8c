"""Code shared by the tutorial's Airflow DAGs and, once migrated, by its Dagster assets.

Every function takes explicit paths, so an Airflow task and a Dagster asset call it the same way.
"""

import os
from pathlib import Path

# examples/tutorial/ (this file is examples/tutorial/airflow_dags/tutorial_shared/__init__.py).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """Folder the tutorial reads and writes: $TUTORIAL_DATA_DIR, else <project root>/.data."""
    return Path(os.environ.get("TUTORIAL_DATA_DIR") or PROJECT_ROOT / ".data")
