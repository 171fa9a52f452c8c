"""The language server's start on a large workspace: initialize -> first diagnostics, cold (an
empty facts cache) and warm (the cache a previous start left), with the peak RSS of the server
and its worker processes. Used by bench/speed.py (issue 13: 10,000 DAG files).

The workspace is ``bench/out/ws-N``: the generated corpus in ``dags/``, a Dagster module that
maps one task of one DAG (so that DAG file has findings: the first ``publishDiagnostics``
comes once the whole index is built), and a ``pyproject.toml`` naming both.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

import gen_corpus
from tree_rss import TreeRss

REPO = Path(__file__).resolve().parents[1]

MODULE = '''\
"""The benchmark's Dagster module: one task of one DAG mapped."""

from dagster import AssetSpec, Definitions
from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance, assets_with_task_mappings, build_defs_from_airflow_instance

airflow_instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(webserver_url="http://localhost:8080", username="admin", password="admin"),
    name="bench",
)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(assets=[*assets_with_task_mappings(dag_id="{dag_id}", task_mappings={{"{task_id}": [AssetSpec(key="{task_id}")]}})]),
)
'''

PYPROJECT = '[tool.airlift-lsp]\ndagFolders = ["dags"]\ndagsterModule = "definitions.py"\n'


def workspace(files: int, seed: int = 7) -> Path:
    """``bench/out/ws-FILES``, generated once and reused while the generator is unchanged."""
    root = gen_corpus.BENCH_OUT / f"ws-{files}"
    gen_corpus.ensure(root / "dags", files, seed, gen_corpus.BENCH_OUT / "big_dag.py")
    for path in sorted((root / "dags").glob("dag_*.py")):
        text = path.read_text(encoding="utf-8")
        dag_id, task = re.search(r'dag_id="([^"]+)"', text), re.search(r'task_id="(start)"', text)
        if dag_id and task:
            module = MODULE.format(dag_id=dag_id.group(1), task_id=task.group(1))
            break
    else:
        raise RuntimeError(f"no classic-style DAG in {root / 'dags'}")
    for name, text in (("definitions.py", module), ("pyproject.toml", PYPROJECT)):
        if not (root / name).exists() or (root / name).read_text() != text:
            (root / name).write_text(text)
    return root


async def one_start(root: Path, env: dict[str, str], timeout: float) -> dict:
    from latency import initialize_params
    from lsp_client import TimedClient

    client = TimedClient()
    try:
        await client.spawn([sys.executable, "-m", "server", "serve"], cwd=str(REPO), env=env)
        with TreeRss(client.pid) as tree:
            start = time.perf_counter()
            await client.initialize_timed(initialize_params(root), timeout)
            first = await client.wait_published(lambda published: True, timeout, "first publishDiagnostics")
            # Then the new facts go to the cache and the workers are gone: quiet for a while.
            await client.settle(quiet=2.0, timeout=timeout)
            indexed = client.rss_mb()
        return {"first_diagnostics_s": first.arrived - start, "spawn_to_initialize_s": start - client.spawned_at,
                "tree_rss_mb": tree.peak_mb, "largest_rss_mb": tree.largest_mb, "processes": tree.processes,
                "rss_indexed_mb": indexed,
                "stderr_errors": [line for line in client.stderr_tail if "Traceback" in line or " ERROR " in line]}
    finally:
        await client.close()


def server_start(root: Path, env_for, cache: Path, warm_runs: int, timeout: float = 180.0) -> dict:
    """One cold start (``cache`` emptied by ``env_for``'s caller), then ``warm_runs`` warm ones."""
    cold = asyncio.run(one_start(root, env_for(cache), timeout))
    warm = [asyncio.run(one_start(root, env_for(cache), timeout)) for _ in range(warm_runs)]
    return {
        "workspace": str(root),
        "cold": cold,
        "warm": warm,
        "warm_median_s": statistics.median(run["first_diagnostics_s"] for run in warm),
        "tree_rss_mb": max([cold["tree_rss_mb"] or 0.0, *(run["tree_rss_mb"] or 0.0 for run in warm)]),
        "cpus": os.cpu_count(),
    }
