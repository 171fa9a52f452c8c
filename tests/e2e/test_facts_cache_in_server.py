"""The server with its facts cache on: what a restart reads from the cache is never stale — a
file changed on disk, a workspace module a DAG file imports changed on disk, an unsaved buffer
of that module — and edits while it runs reach the facts at once."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.client import JsonRPCClient
from pytest_lsp.client import make_test_lsp_client

from tests.conftest import FIXTURES
from tests.e2e.editor import Editor, start_session

ORDERS = ('from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n'
          'with DAG(dag_id="plain") as dag:\n    EmptyOperator(task_id="{task}")\n')


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "project_code", root)
    (root / "dags" / "plain.py").write_text(ORDERS.format(task="first"))
    (root / "dags" / "other.py").write_text(ORDERS.format(task="kept").replace('"plain"', '"other"'))
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    return root


def account(cached: int, workers: int) -> str:
    return f"4 DAG files: 0 unchanged, {cached} from the facts cache, {workers} extracted by worker processes, 0 here"


class Session:
    """One server process on ``root`` with the cache on, and an editor."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = make_test_lsp_client()
        self.editor = Editor(self.client)

    async def __aenter__(self) -> Session:
        env = {**os.environ, "AIRLIFT_LSP_CACHE": "on", "AIRLIFT_LSP_JOBS": "2"}  # workers for any batch
        await JsonRPCClient.start_io(self.client, sys.executable, "-m", "server", "serve", cwd=str(self.root),
                                     env=env)
        await asyncio.wait_for(start_session(self.client, self.root, "visual-studio-code", name="project"), 60)
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_session(), 15)
        finally:
            await self.client.stop()
        self.log = (await self.client._server.stderr.read()).decode("utf-8", "replace")

    def indexed(self) -> list[str]:
        """The index's account of each discovery: where its files' facts came from."""
        return [line.split(": ", 1)[-1] for line in self.log.splitlines() if "extracted by worker processes" in line]

    async def model(self) -> dict[str, set[str]]:
        symbols = await self.client.workspace_symbol_async(types.WorkspaceSymbolParams(query=""))
        dags: dict[str, set[str]] = {}
        for symbol in symbols or []:
            if symbol.container_name:
                dags.setdefault(symbol.container_name, set()).add(symbol.name)
            else:
                dags.setdefault(symbol.name, set())
        return dags

    async def until(self, predicate, what: str, timeout: float = 30.0) -> dict[str, set[str]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            model = await self.model()
            if predicate(model):
                return model
            assert asyncio.get_running_loop().time() < deadline, f"never {what}: {model}"
            await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_restarts_read_the_cache_and_never_stale_facts(root: Path) -> None:
    plain, defaults = root / "dags" / "plain.py", root / "company" / "defaults.py"
    async with Session(root) as session:
        await session.until(lambda m: {"co_reports", "orders", "plain"} <= set(m), "the first index")
        # An edit in the editor reaches the facts without waiting for a save.
        uri = session.editor.open(plain)
        session.editor.type(uri, ORDERS.format(task="typed"))
        await session.until(lambda m: any("typed" in name for name in m.get("plain", ())), "the typed task")
    assert session.indexed() == [account(cached=0, workers=4)], session.log
    assert (root / ".cache" / "airlift-lsp" / "facts.sqlite3").is_file()

    # While no server runs: a DAG file and a module that DAG files import change on disk.
    plain.write_text(ORDERS.format(task="on_disk"))
    defaults.write_text(defaults.read_text().replace('PREFIX = "co_"', 'PREFIX = "acme_"'))
    async with Session(root) as session:
        model = await session.until(lambda m: "acme_reports" in m, "the changed module's DAG id")
        assert "co_reports" not in model
        assert any("on_disk" in name for name in model["plain"]) and not any("typed" in n for n in model["plain"])
        # An unsaved buffer of the module: the DAG files read through it follow it.
        uri = session.editor.open(defaults)
        session.editor.type(uri, defaults.read_text().replace('PREFIX = "acme_"', 'PREFIX = "zeta_"'))
        await session.until(lambda m: "zeta_reports" in m and "acme_reports" not in m, "the buffer's DAG id")
    # other.py came from the cache; plain.py changed, orders.py and reports.py import company/.
    assert session.indexed() == [account(cached=1, workers=3)], session.log

    # The buffer was never saved: the next start reads the disk again, whatever it cached.
    async with Session(root) as session:
        model = await session.until(lambda m: "acme_reports" in m, "the disk's DAG id")
        assert "zeta_reports" not in model
    assert session.indexed() == [account(cached=4, workers=0)], session.log
