"""``peer``: the Dagster module that peers with the configured Airflow, created or completed
(analysis/edits/peering.py), and the ``airlift-lsp peer`` command line."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from analysis.edits.peer_code import TOKEN_REFUSED, Peer
from analysis.edits.peering import peer_module
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
BASIC = Peer("http://localhost:8080/", "basic", "admin")


def peered(text: str | None, peer: Peer = BASIC) -> str:
    result = peer_module(text, peer)
    assert result.changed and result.text is not None, result.reason
    again = peer_module(result.text, peer)  # idempotent: the second run changes nothing
    assert not again.changed and again.text == result.text
    assert "already peers with Airflow" in again.reason
    return result.text


def test_a_new_module_peers_with_basic_auth_and_reads_the_password_from_the_environment():
    text = peered(None)
    assert 'webserver_url=os.environ.get("AIRFLOW_URL", "http://localhost:8080"),' in text
    assert 'username=os.environ.get("AIRFLOW_USERNAME", "admin"),' in text
    assert 'password=os.environ["AIRFLOW_PASSWORD"],' in text
    assert "AirflowBasicAuthBackend(" in text and 'name="airflow",' in text
    assert textwrap.dedent("""\
        defs = build_defs_from_airflow_instance(
            airflow_instance=airflow_instance,
            defs=Definitions(
                assets=[],
            ),
        )
        """) in text
    ast.parse(text)


def test_no_user_name_configured_reads_it_from_the_environment_too():
    text = peered(None, Peer("https://airflow.example.com", "basic"))
    assert 'username=os.environ["AIRFLOW_USERNAME"],' in text


def test_an_empty_module_is_written_whole():
    assert peered("\n") == peered(None)


def test_mwaa_uses_the_session_backend_with_a_boto3_session_and_the_region_of_the_url():
    text = peered(None, Peer("https://abc-vpce.c2.eu-west-1.airflow.amazonaws.com", "mwaa"))
    assert "from dagster_airlift.mwaa import MwaaSessionAuthBackend" in text and "import boto3" in text
    assert ('mwaa_client=boto3.Session(region_name=os.environ.get("AWS_REGION", "eu-west-1"))'
            '.client("mwaa"),') in text
    assert 'env_name=os.environ["MWAA_ENV_NAME"],' in text
    assert "password" not in text.split('"""')[-1]


def test_mwaa_without_a_region_in_the_url_reads_it_from_the_environment():
    text = peered(None, Peer("https://airflow.internal", "mwaa"))
    assert 'region_name=os.environ["AWS_REGION"]' in text


def test_the_mwaa_code_matches_the_installed_backend_signature():
    """dagster_airlift.mwaa needs boto3 (dagster-airlift[mwaa]), which the Dagster venv lacks:
    its installed source is read instead, so the generated keywords are the real ones."""
    sources = list((REPO / ".cache" / "dagster").glob("lib/python*/site-packages/dagster_airlift/mwaa/auth.py"))
    if not sources:
        pytest.skip("no Dagster venv (make dagster)")
    tree = ast.parse(sources[0].read_text(encoding="utf-8"))
    backend = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MwaaSessionAuthBackend")
    init = next(n for n in backend.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert [a.arg for a in init.args.args] == ["self", "mwaa_client", "env_name"]


def test_token_auth_is_refused_naming_the_version_that_lacks_it():
    result = peer_module(None, Peer("http://localhost:8080", "token"))
    assert result.refused and result.reason == TOKEN_REFUSED
    assert "0.29.27" in TOKEN_REFUSED and "\n" not in TOKEN_REFUSED


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://airflow", "http://"])
def test_a_url_that_is_not_http_is_refused(url):
    result = peer_module(None, Peer(url, "basic"))
    assert result.refused and "is not an http(s) URL" in result.reason


MAPPED_DEFINITIONS = '''\
"""Our assets."""
from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_task_mappings

defs = Definitions(
    assets=[
        *assets_with_task_mappings(
            dag_id="rebuild_customers_list",
            task_mappings={"load_raw_customers": [AssetSpec(key="raw_customers")]},
        ),
    ],
)
'''


def test_a_module_level_definitions_is_wrapped_keeping_its_mappings():
    text = peered(MAPPED_DEFINITIONS)
    assert text.count("Definitions(") == 1 and text.count("assets_with_task_mappings(") == 1
    assert textwrap.dedent("""\
        defs = build_defs_from_airflow_instance(
            airflow_instance=airflow_instance,
            defs=Definitions(
                assets=[
                    *assets_with_task_mappings(
                        dag_id="rebuild_customers_list",
                        task_mappings={"load_raw_customers": [AssetSpec(key="raw_customers")]},
                    ),
                ],
            ),
        )
        """) in text
    # the instance sits after the imports, documented, before its use
    assert text.index("airflow_instance = AirflowInstance(") < text.index("defs = build_defs")
    assert "# Peers with Airflow (airlift-lsp peer)" in text


def test_named_mapping_calls_become_the_assets_of_new_definitions():
    text = peered(textwrap.dedent('''\
        import dagster as dg
        from dagster_airlift.core import assets_with_dag_mappings, assets_with_task_mappings

        orders = assets_with_task_mappings(dag_id="daily_orders", task_mappings={"load": [dg.AssetSpec("o")]})
        customers: list = [*assets_with_dag_mappings(dag_mappings={"customers": [dg.AssetSpec("c")]})]
        '''))
    assert textwrap.dedent("""\
        defs = build_defs_from_airflow_instance(
            airflow_instance=airflow_instance,
            defs=dg.Definitions(
                assets=[
                    *orders,
                    *customers,
                ],
            ),
        )
        """) in text


def test_an_existing_airflow_instance_is_used_not_duplicated():
    result = peer_module(textwrap.dedent('''\
        import os
        from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance

        prod = AirflowInstance(
            auth_backend=AirflowBasicAuthBackend(webserver_url="https://prod", username="u",
                                                 password=os.environ["P"]),
            name="prod",
        )
        '''), Peer("https://prod", "mwaa"))
    assert result.changed and result.text.count("AirflowInstance(") == 1
    assert "airflow_instance=prod," in result.text and "boto3" not in result.text
    assert result.reason == "kept the AirflowInstance `prod` of line 4 and its own auth backend (not MwaaSessionAuthBackend)"


def test_names_the_module_uses_for_something_else_are_not_shadowed():
    text = peered(textwrap.dedent('''\
        from dagster import Definitions

        def AirflowInstance():
            return None

        defs = Definitions(assets=[])
        '''))
    assert "AirflowInstance as DagsterAirliftAirflowInstance" in text
    assert "airflow_instance = DagsterAirliftAirflowInstance(" in text and "def AirflowInstance():" in text


@pytest.mark.parametrize(("text", "reason"), [
    ("from dagster import Definitions\na = Definitions(assets=[])\nb = Definitions(assets=[])\n",
     "builds several Definitions (lines 2, 3)"),
    ("import dagster as dg\n\n@dg.definitions\ndef defs():\n    return dg.Definitions(assets=[])\n",
     "the Definitions on line 5 is not assigned to a module-level name"),
    (("from dagster_airlift.core import assets_with_task_mappings\n"
      "print(assets_with_task_mappings(dag_id='d', task_mappings={}))\n"),
     "the mapping call on line 2 is not assigned to a module-level name"),
    (("from dagster import Definitions\nfrom dagster_airlift.core import assets_with_task_mappings\n"
      "a = assets_with_task_mappings(dag_id='d', task_mappings={})\ndefs = Definitions(assets=[])\n"),
     "the mappings on line 3 are not in the Definitions of line 4: add them to its assets first"),
    (("from dagster import Definitions\nfrom dagster_airlift.core import AirflowInstance\n"
      "defs = Definitions(assets=[])\ninst = AirflowInstance(auth_backend=None, name='a')\n"),
     "comes after the Definitions it would peer (line 3): move it above first"),
    ("os = 'linux'\n", "uses the name `os` for something else"),
    ("def broken(:\n", "has a syntax error on line 1"),
])
def test_what_cannot_be_wired_without_guessing_is_refused_with_the_line(text, reason):
    result = peer_module(text, BASIC)
    assert result.refused and reason in result.reason, result.reason
    assert "\n" not in result.reason


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "orders.py").write_text(textwrap.dedent("""\
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("orders", start_date=datetime(2024, 1, 1), schedule=None):
            EmptyOperator(task_id="load") >> EmptyOperator(task_id="report")
        """), encoding="utf-8")
    return tmp_path


def cli_env(**values: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
    return {**env, **values}


def test_cli_without_an_airflow_url_refuses_in_one_line(workspace):
    result = run_cli("peer", cwd=workspace, env=cli_env())
    assert result.returncode == 1 and not (workspace / "definitions.py").exists()
    assert result.stderr.splitlines() == [
        ("airlift-lsp: no Airflow to peer with: set airflow.url (the editor setting, [tool.airlift-lsp.airflow] "
         "in pyproject.toml, or AIRFLOW_URL) first")]


def test_cli_token_is_refused_and_writes_nothing(workspace):
    result = run_cli("peer", "--auth", "token", cwd=workspace, env=cli_env(AIRFLOW_URL="http://localhost:8080"))
    assert result.returncode == 1 and result.stderr.splitlines() == [f"airlift-lsp: {TOKEN_REFUSED}"]
    assert not (workspace / "definitions.py").exists()


def test_cli_peer_dry_run_then_peer_then_again_then_map(workspace):
    env = cli_env(AIRFLOW_URL="http://airflow.test:8080", AIRFLOW_USERNAME="ops", AIRFLOW_PASSWORD="s3cret")
    dry = run_cli("peer", "--dry-run", cwd=workspace, env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("--- /dev/null\n+++ b/definitions.py\n")
    assert not (workspace / "definitions.py").exists()

    first = run_cli("peer", cwd=workspace, env=env)
    assert first.returncode == 0, first.stderr
    text = (workspace / "definitions.py").read_text(encoding="utf-8")
    assert "s3cret" not in text and 'os.environ["AIRFLOW_PASSWORD"]' in text
    assert 'os.environ.get("AIRFLOW_USERNAME", "ops")' in text
    assert "(basic auth): definitions.py" in first.stderr

    again = run_cli("peer", cwd=workspace, env=env)
    assert again.returncode == 0 and (workspace / "definitions.py").read_text(encoding="utf-8") == text
    assert "already peers with Airflow" in again.stderr and "nothing to change" in again.stderr

    mapped = run_cli("map", "orders", cwd=workspace, env=env)  # the mapping goes into the peered module
    assert mapped.returncode == 0, mapped.stderr
    text = (workspace / "definitions.py").read_text(encoding="utf-8")
    assert text.count("build_defs_from_airflow_instance(") == 1 and '"load": [AssetSpec(' in text


def test_cli_peer_completes_the_configured_module(workspace):
    (workspace / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.airlift-lsp]
        dagsterModule = "pipelines/defs.py"

        [tool.airlift-lsp.airflow]
        url = "http://airflow.test:8080"
        auth = "basic"
        """), encoding="utf-8")
    (workspace / "pipelines").mkdir()
    (workspace / "pipelines" / "defs.py").write_text(MAPPED_DEFINITIONS, encoding="utf-8")
    result = run_cli("peer", cwd=workspace, env=cli_env())
    assert result.returncode == 0, result.stderr
    text = (workspace / "pipelines" / "defs.py").read_text(encoding="utf-8")
    assert text.startswith('"""Our assets."""\n') and "airflow_instance=airflow_instance," in text
    assert not (workspace / "definitions.py").exists()


def test_cli_refuses_a_configured_auth_dagster_airlift_lacks(workspace):
    (workspace / "pyproject.toml").write_text(
        '[tool.airlift-lsp.airflow]\nurl = "http://airflow.test:8080"\nauth = "composer"\n', encoding="utf-8")
    result = run_cli("peer", cwd=workspace, env=cli_env())
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "airflow.auth is `composer`" in result.stderr


def test_an_aliased_os_import_is_used_as_it_is_spelled():
    text = peered("import os as system\n")
    assert 'password=system.environ["AIRFLOW_PASSWORD"],' in text and text.count("import os") == 1


def test_a_mapping_call_inside_another_expression_is_not_taken_for_an_asset_list():
    result = peer_module(textwrap.dedent('''\
        from dagster_airlift.core import assets_with_task_mappings
        count = len(assets_with_task_mappings(dag_id="d", task_mappings={}))
        '''), BASIC)
    assert result.refused and "the mapping call on line 2 is not assigned to a module-level name" in result.reason


DAGSTER_MODULES = sorted({*REPO.glob("tests/fixtures/**/*.py"), *REPO.glob("examples/**/*.py")})


@pytest.mark.parametrize("path", [p for p in DAGSTER_MODULES if "dagster_airlift" in p.read_text(encoding="utf-8")],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_every_dagster_module_of_the_fixtures_is_peered_or_refused_never_broken(path):
    """Refused with one line, left alone, or completed into a module that parses and peers
    once (the second run changes nothing)."""
    result = peer_module(path.read_text(encoding="utf-8"), BASIC)
    if result.refused:
        assert result.reason and "\n" not in result.reason and "please report" not in result.reason
        return
    ast.parse(result.text)
    again = peer_module(result.text, BASIC)
    assert not again.changed and "already peers with Airflow" in again.reason, again.reason
    assert result.text.count("build_defs_from_airflow_instance(") == 1


def test_crlf_and_form_feeds_keep_their_places():
    text = ('"""Mine.\x0c"""\r\nfrom dagster import Definitions\r\n\x0c\r\n'
            'defs = Definitions(assets=[])  # loaded by Dagster\r\n')
    peered_text = peered(text)
    assert "\r\n" in peered_text and "\n" not in peered_text.replace("\r\n", "")
    assert peered_text.startswith('"""Mine.\x0c"""\r\n')
    assert "defs = build_defs_from_airflow_instance(\r\n    airflow_instance=airflow_instance,\r\n" \
           "    defs=Definitions(assets=[]),\r\n)  # loaded by Dagster\r\n" in peered_text


# -- Airflow 3: dagster-airlift 0.29.27 cannot peer with it --------------------------------------


@pytest.fixture
def fake_airflow():
    from tests.support.fake_airflow import FakeAirflow

    servers = []

    def start(api_version: str):
        server = FakeAirflow(api_version=api_version).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_cli_refuses_an_airflow_3_that_answers_api_v2(workspace, fake_airflow):
    airflow = fake_airflow("v2")
    result = run_cli("peer", cwd=workspace, env=cli_env(AIRFLOW_URL=airflow.url))
    assert result.returncode == 1 and not (workspace / "definitions.py").exists()
    assert result.stderr.splitlines() == [(f"airlift-lsp: the Airflow at {airflow.url} is Airflow 3 (it serves "
                                           "/api/v2): dagster-airlift 0.29.27's AirflowInstance only calls /api/v1, "
                                           "which Airflow 3 removed, so Dagster could not load the module; peer with "
                                           "an Airflow 2 (or MWAA)")]


def test_cli_peers_an_airflow_2_even_without_its_password(workspace, fake_airflow):
    airflow = fake_airflow("v1")
    result = run_cli("peer", cwd=workspace, env=cli_env(AIRFLOW_URL=airflow.url))
    assert result.returncode == 0, result.stderr
    assert "could not tell" not in result.stderr and (workspace / "definitions.py").exists()


def test_cli_peers_an_unreachable_airflow_with_a_note(workspace):
    result = run_cli("peer", cwd=workspace, env=cli_env(AIRFLOW_URL="http://127.0.0.1:9"))
    assert result.returncode == 0, result.stderr
    assert "could not tell the Airflow version (" in result.stderr
    assert "the module is written for Airflow 2's /api/v1" in result.stderr


def test_cli_takes_the_configured_api_version_without_asking(workspace):
    (workspace / "pyproject.toml").write_text(
        '[tool.airlift-lsp.airflow]\nurl = "http://127.0.0.1:9"\napiVersion = "v2"\n', encoding="utf-8")
    result = run_cli("peer", cwd=workspace, env=cli_env())
    assert result.returncode == 1 and "is Airflow 3 (it serves /api/v2)" in result.stderr


def test_the_editor_command_refuses_an_airflow_3_the_poller_met(workspace, monkeypatch):
    """The server never probes in the handler: it takes the poller's answer."""
    from types import SimpleNamespace

    from analysis.files import read_disk
    from analysis.plans import Refused
    from server.cli.common import load_project
    from server.features.commands import SETTINGS_PLANNERS
    from server.settings import AirflowSettings, Settings

    monkeypatch.chdir(workspace)
    project = load_project(str(workspace))
    airflow = AirflowSettings(url="http://airflow.test:8080", username="ops")
    for api, refused in (("v2", True), ("v1", False), (None, False)):
        ls = SimpleNamespace(settings=Settings(airflow=airflow),
                             poller=SimpleNamespace(status=SimpleNamespace(api_version=api)))
        plan = lambda ls=ls: SETTINGS_PLANNERS["airlift.peer"](
            ls, project, lambda path: read_disk(path).text, {}, {})
        if refused:
            with pytest.raises(Refused, match=r"is Airflow 3 \(it serves /api/v2\)"):
                plan()
        else:
            assert [c.path for c in plan().changes] == [str(workspace / "definitions.py")]


def test_definitions_merge_is_wrapped_like_definitions():
    text = peered(textwrap.dedent('''\
        import dagster as dg

        from .other import other_defs

        defs = dg.Definitions.merge(other_defs, dg.Definitions(assets=[]))
        '''))
    assert text.count("build_defs_from_airflow_instance(") == 1 and "defs=dg.Definitions.merge(" in text
