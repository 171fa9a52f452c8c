"""The facts cache (server/indexing): hits and misses by content, by a dependency's change and by
tool version; damaged databases and rows are discarded, never trusted; payloads decode to facts
only; two processes write at once."""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import server.indexing.cache as cache_module
from analysis.dags.dagfile import extract_file
from analysis.files import read_disk
from analysis.project import Layout, discover
from server.indexing.batch import Batch, prepared_discovery
from server.indexing.cache import KIND_DAG, FactCache, NewEntry, context_key
from server.indexing.codec import FACTS_HEADER, decode_facts, encode_facts, text_sha1
from tests.conftest import FIXTURES, REPO

ORDERS = ('from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n'
          'with DAG(dag_id="{dag}") as dag:\n    EmptyOperator(task_id="{task}")\n')


@pytest.fixture(autouse=True)
def cache_on(monkeypatch):
    monkeypatch.setenv("AIRLIFT_LSP_CACHE", "on")
    monkeypatch.delenv("AIRLIFT_LSP_CACHE_DIR", raising=False)
    monkeypatch.setenv("AIRLIFT_LSP_JOBS", "1")  # in this process; the pool has its own tests


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "project_code", tmp_path / "project")
    root = tmp_path / "project"
    for n in range(3):
        (root / "dags" / f"plain_{n}.py").write_text(ORDERS.format(dag=f"plain_{n}", task="extract"))
    (root / "dags" / "helper.py").write_text("VALUE = 1\n")  # no DAG file
    return root


def index(root: Path) -> tuple[dict, dict]:
    """(dag id -> task ids, where the facts came from) of a cached discovery, as the CLI runs it."""
    layout = Layout(str(root), ("dags",))
    cache = FactCache.for_workspace(str(root))
    batch = prepared_discovery(layout.dag_roots(), layout.code_roots(), cache)
    project = discover(layout, read_disk, known=batch.known)
    batch.finish(project.files)
    if cache is not None:
        cache.close()
    return {e.dag_id: [t.task_id for t in e.dag.tasks] for e in project.entries}, batch.stats


def test_the_second_run_reads_every_file_from_the_cache(root: Path) -> None:
    first, stats = index(root)
    assert stats["cached"] == 0 and stats["here"] == 5
    assert (root / ".cache" / "airlift-lsp" / "facts.sqlite3").is_file()
    assert (root / ".cache" / "airlift-lsp" / ".gitignore").read_text().splitlines()[-1] == "*"
    second, stats = index(root)
    assert second == first and stats == {"cached": 5, "previous": 0, "workers": 0, "here": 0}


def test_a_changed_file_is_read_again_and_only_it(root: Path) -> None:
    index(root)
    (root / "dags" / "plain_1.py").write_text(ORDERS.format(dag="plain_1", task="renamed"))
    model, stats = index(root)
    assert model["plain_1"] == ["renamed"]
    assert stats["here"] == 1 and stats["cached"] == 4
    assert index(root)[1]["cached"] == 5


def test_the_same_text_again_is_a_hit_even_when_the_file_was_touched(root: Path) -> None:
    index(root)
    path = root / "dags" / "plain_0.py"
    os.utime(path, ns=(1, 1))
    assert index(root)[1]["cached"] == 5


def test_a_changed_dependency_invalidates_the_files_read_through_it(root: Path) -> None:
    model, _ = index(root)
    assert "co_reports" in model
    defaults = root / "company" / "defaults.py"
    defaults.write_text(defaults.read_text().replace('PREFIX = "co_"', 'PREFIX = "acme_"'))
    model, stats = index(root)
    assert "acme_reports" in model and "co_reports" not in model
    assert stats["here"] == 2 and stats["cached"] == 3  # orders.py and reports.py read company/
    assert index(root)[1]["cached"] == 5


def test_another_tool_version_is_a_miss_and_its_entries_are_dropped(root: Path, monkeypatch) -> None:
    index(root)
    monkeypatch.setattr(cache_module, "tool_version", lambda: "another version")
    _, stats = index(root)
    assert stats["cached"] == 0 and stats["here"] == 5
    with sqlite3.connect(root / ".cache" / "airlift-lsp" / "facts.sqlite3") as db:
        assert {tool for (tool,) in db.execute("SELECT DISTINCT tool FROM facts")} == {"another version"}


def test_the_tool_version_follows_the_source_of_analysis() -> None:
    version = cache_module.tool_version()
    assert len(version) == 40 and version == cache_module.tool_version()
    assert context_key(None) != context_key(("/a",)) != context_key(("/a", "/b"))


def test_import_roots_are_part_of_the_key(root: Path) -> None:
    cache = FactCache.for_workspace(str(root))
    path = str(root / "dags" / "plain_0.py")
    text = (root / "dags" / "plain_0.py").read_text()
    entry = NewEntry(path, text_sha1(text), KIND_DAG, (), encode_facts(extract_file(path, text)), b"{}")
    assert cache.put(context_key(("/one",)), [entry])
    assert path in cache.entries(context_key(("/one",)), "facts")
    assert cache.entries(context_key(("/two",)), "facts") == {}


# -- damage ---------------------------------------------------------------------------------


def database(root: Path) -> Path:
    return root / ".cache" / "airlift-lsp" / "facts.sqlite3"


@pytest.mark.parametrize("damage", ["garbled", "truncated", "zeroed", "not-sqlite"])
def test_a_damaged_database_is_discarded_and_rebuilt(root: Path, damage: str) -> None:
    expected, _ = index(root)
    path = database(root)
    data = bytearray(path.read_bytes())
    if damage == "garbled":
        for offset in range(100, len(data), 97):
            data[offset] ^= 0x5A
    elif damage == "truncated":
        data = data[:len(data) // 3]
    elif damage == "zeroed":
        data[:4096] = bytes(4096)
    else:
        data = bytearray(b"this is not a database\n" * 100)
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert index(root)[0] == expected
    assert index(root) == (expected, {"cached": 5, "previous": 0, "workers": 0, "here": 0})


def test_a_garbled_row_is_ignored_then_dropped(root: Path) -> None:
    expected, _ = index(root)
    orders = str(root / "dags" / "plain_2.py")
    with sqlite3.connect(database(root)) as db:
        (blob,) = db.execute("SELECT facts FROM facts WHERE path = ?", (os.fsencode(orders),)).fetchone()
        garbled = blob[:40] + bytes(b ^ 0xFF for b in blob[40:60]) + blob[60:]
        db.execute("UPDATE facts SET facts = ? WHERE path = ?", (garbled, os.fsencode(orders)))
    model, stats = index(root)
    assert model == expected and stats["here"] == 1 and stats["cached"] == 4
    assert index(root)[1]["cached"] == 5


def test_a_row_whose_checksum_holds_still_decodes_to_facts_only(root: Path, tmp_path: Path) -> None:
    """A payload crafted to run code (with a checksum that holds, as if forged) is refused by the
    decoder: nothing in it is looked up or called."""
    index(root)
    sentinel = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    path = str(root / "dags" / "plain_0.py")
    text = (root / "dags" / "plain_0.py").read_text()
    layout = Layout(str(root), ("dags",))
    context = context_key(tuple(os.path.normpath(r) for r in layout.code_roots()))
    cache = FactCache.for_workspace(str(root))
    evil = FACTS_HEADER + pickle.dumps(Evil(), protocol=5)
    assert cache.put(context, [NewEntry(path, text_sha1(text), KIND_DAG, (), evil, b"{}")])
    cache.close()
    model, stats = index(root)
    assert not sentinel.exists()
    assert model["plain_0"] == ["extract"] and stats["here"] == 1
    assert decode_facts(evil, path) is None


def test_facts_round_trip_through_the_codec() -> None:
    for source in sorted((FIXTURES / "dags").glob("*.py")) + sorted((FIXTURES / "airflow_dags").glob("*.py")):
        facts = extract_file(str(source), source.read_text(encoding="utf-8"))
        assert decode_facts(encode_facts(facts), str(source)) == facts, source
        assert decode_facts(encode_facts(facts), "/another/path.py") is None
        assert decode_facts(encode_facts(facts)[:-5], str(source)) is None


# -- the batch ------------------------------------------------------------------------------


def test_previous_facts_are_reused_for_the_same_text_only(root: Path) -> None:
    layout = Layout(str(root), ("dags",))
    project = discover(layout)
    texts = {p: read_disk(p).text for p in project.files}
    batch = Batch(layout.code_roots(), None, previous=project.files, previous_texts=texts)
    again = discover(layout, read_disk, known=batch.known)
    assert batch.stats["previous"] == 5
    assert all(again.files[p] is project.files[p] for p in project.files)
    (root / "dags" / "plain_0.py").write_text(ORDERS.format(dag="plain_0", task="other"))
    batch = Batch(layout.code_roots(), None, previous=project.files, previous_texts=texts)
    again = discover(layout, read_disk, known=batch.known)
    assert batch.stats["previous"] == 4 and again.entry("plain_0").dag.tasks[0].task_id == "other"


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from server.indexing.cache import FactCache, NewEntry, KIND_NOT_DAG
    cache = FactCache(Path(sys.argv[2]))
    for n in range(40):
        entries = [NewEntry(f"/w/{sys.argv[3]}/{n}/{k}.py", "0" * 40, KIND_NOT_DAG) for k in range(25)]
        assert cache.put("context", entries), "write refused"
    print("done")
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(REPO), str(folder), name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and out.strip() == "done", err
    entries = FactCache(folder).entries("context", "facts")
    assert len(entries) == 2 * 40 * 25


def test_a_database_another_process_holds_is_waited_for_never_discarded(tmp_path: Path, monkeypatch) -> None:
    """SQLite may answer "locked" at once while another process makes the database or turns it to
    WAL: opening is tried again, and a database held that long is left alone (not cached this
    time), never deleted as damaged under the process writing it."""
    folder = tmp_path / "cache"
    folder.mkdir()
    assert FactCache(folder).put("context", [NewEntry("/w/a.py", "0" * 40, cache_module.KIND_NOT_DAG)])
    opened = FactCache._open
    answers = iter([sqlite3.OperationalError("database is locked")] * 2)

    def busy_twice(self):
        error = next(answers, None)
        if error is not None:
            raise error
        return opened(self)

    monkeypatch.setattr(cache_module, "_LOCKED_RETRIES", (0.0, 0.0, 0.0))
    monkeypatch.setattr(FactCache, "_open", busy_twice)
    discarded = []
    monkeypatch.setattr(FactCache, "_discard", lambda self: discarded.append(self.path))
    assert FactCache(folder).put("context", [NewEntry("/w/b.py", "0" * 40, cache_module.KIND_NOT_DAG)])

    monkeypatch.setattr(FactCache, "_open", lambda self: (_ for _ in ()).throw(sqlite3.OperationalError("database is locked")))
    assert not FactCache(folder).put("context", [NewEntry("/w/c.py", "0" * 40, cache_module.KIND_NOT_DAG)])
    assert discarded == []
    monkeypatch.undo()
    assert {e for e in FactCache(folder).entries("context", "facts")} >= {"/w/a.py", "/w/b.py"}


def test_files_of_a_worker_that_dies_are_extracted_here(root: Path, monkeypatch) -> None:
    from server.indexing import pool

    monkeypatch.setenv("AIRLIFT_LSP_JOBS", "2")
    expected, _ = index(root)
    shutil.rmtree(root / ".cache")
    # The first chunk kills its worker; the other worker starts on nothing at all.
    monkeypatch.setattr(pool, "_BOOT", "import sys; sys.stdin.buffer.read(8); sys.exit(3)")
    model, stats = index(root)
    assert model == expected and stats["workers"] == 0 and stats["here"] == 5


# -- config files a DAG file reads (json/yaml, folder listings) -----------------------------


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "config_driven", tmp_path / "configured")
    return tmp_path / "configured"


def test_an_edited_added_or_removed_config_file_invalidates_the_dag_file_that_reads_it(configured: Path) -> None:
    configs = configured / "dags" / "configs"
    model, stats = index(configured)
    assert {"ingest_billing", "ingest_crm", "reports"} <= set(model) and stats["here"] == 1
    assert index(configured)[1]["cached"] == 1
    (configs / "billing.json").write_text('{"name": "invoicing", "schedule": "@daily", "tables": ["a"]}')
    model, stats = index(configured)
    assert "ingest_invoicing" in model and "ingest_billing" not in model and stats["here"] == 1
    (configs / "sales.yaml").write_text("name: sales\nschedule: '@daily'\ntables: [orders]\n")
    model, stats = index(configured)
    assert "ingest_sales" in model and stats["here"] == 1
    (configs / "crm.yaml").unlink()
    model, stats = index(configured)
    assert "ingest_crm" not in model and stats["here"] == 1
    (configured / "dags" / "sql" / "report_monthly.sql").write_text("")
    model, stats = index(configured)
    assert "report_monthly" in model["reports"] and stats["here"] == 1
    assert index(configured)[1]["cached"] == 1


def test_the_server_reads_again_a_dag_file_whose_config_folder_gained_a_file(configured: Path) -> None:
    from server.index import WorkspaceIndex

    index = WorkspaceIndex(Layout(str(configured), ("dags",)))
    index.rebuild()
    new = configured / "dags" / "configs" / "sales.yaml"
    new.write_text("name: sales\nschedule: '@daily'\ntables: [orders]\n")
    index.update_files([str(new)])  # what the editor reports: the new file, not the DAG file
    assert "ingest_sales" in index.snapshot.project.dag_ids


def test_a_workspace_that_cannot_be_written_keeps_its_cache_in_the_user_cache_folder(
        root: Path, tmp_path: Path, monkeypatch) -> None:
    real_access = os.access
    monkeypatch.setattr(cache_module.os, "access",
                        lambda path, mode: False if Path(path) == root else real_access(path, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first, _ = index(root)
    assert not (root / ".cache").exists()
    [folder] = (tmp_path / "xdg" / "airlift-lsp").iterdir()
    assert (folder / "facts.sqlite3").is_file() and not (folder / ".gitignore").exists()
    assert index(root) == (first, {"cached": 5, "previous": 0, "workers": 0, "here": 0})


def test_the_cache_can_be_turned_off(root: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIRLIFT_LSP_CACHE", "off")
    index(root)
    assert not (root / ".cache").exists() and index(root)[1]["here"] == 5
