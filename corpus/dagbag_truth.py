"""Ground truth for the corpus: what Airflow's own DagBag loads from each corpus entry.

Run with the Python of an Airflow venv (never the dev venv), from anywhere:

    .cache/airflow2/bin/python corpus/dagbag_truth.py [NAME...]     # Airflow 2.11
    .cache/airflow3/bin/python corpus/dagbag_truth.py [NAME...]     # Airflow 3.3

For every manifest entry whose ``airflow`` field covers the running Airflow's major version, one
worker subprocess (in a new network namespace when ``unshare -n`` works, so the project's code
reaches no network) loads each of the entry's DAG folders from .cache/corpus/src/<name>/ with
``DagBag`` exactly as the DAG processor does by default: ``safe_mode=True`` (only files that
mention both "airflow" and "dag" are imported), ``.airflowignore`` honoured, the folder on
``sys.path`` (plus the entry's ``sys_path`` roots), the entry's ``plugins_folder`` as Airflow's
plugins folder (custom timetables are registered there), a throwaway AIRFLOW_HOME with a copy
of an empty migrated metadata database, and the entry's ``env`` variables. The worker writes .cache/corpus/truth/<name>-af<2|3>.json:

    {"airflow_version": str, "entry": name, "dag_folders": [...],
     "files": {relpath: {dag_id: {"tasks": {task_id: {"upstream": [sorted], "operator": str,
                                                      "xcom_from": [sorted], "skips": bool,
                                                      "attributes": {name: literal}}},
                                  "fileloc": relpath of the file that called DAG(...)}}},
     "import_errors": {relpath: last line of the error},
     "serialization_errors": {dag_id: message},
     "stub_serialization_errors": {dag_id: message},   # failures caused by a stub class (an
                                                       # extra link, a timetable) of a stubbed module
     "stubbed_modules": [module names the stubs stood in for],
     "scanned": [relpath of every file the DagBag looked at], "seconds": float}

Paths are relative to the repo root of the entry. The figures are those of a DagBag where the
project's third-party dependencies are stubbed (see STUBS below and corpus/README.md); a file
that still fails to import is listed in ``import_errors`` with the reason.

STUBS (installed only while a DAG file is being imported, as the last meta-path finder, so they
never shadow anything that is installed):

* a missing ``airflow.*`` module (providers that are not installed, Airflow 1 paths, ...) becomes
  a stub package; in it, a name ending in ``Operator``/``Sensor`` (optionally ``Async``) is a real
  ``BaseOperator`` subclass of that name that passes BaseOperator's own arguments (``task_id``,
  ``dag``, ``task_group``, ``trigger_rule``, retries, pools, ...) through and keeps the rest as
  attributes (reading a missing public attribute gives None);
  any other capitalised name is a permissive class, names ending in Error/Exception are
  Exception subclasses, and lower-case names are permissive callables (a call with a single
  function argument returns the function, so unknown decorators are transparent). Only
  providers and the operator/sensor/hook module paths of Airflow 1 and of the deprecation shims
  (airflow.contrib, airflow.operators, ...) are stubbed: a missing module elsewhere in Airflow
  (a function that moved, such as airflow.decorators.task_group in Airflow 3) fails to import as
  it does in a deployment, rather than a stub changing the DAG's structure;
* any other missing module imported by the project's own code whose top-level name is not a
  file or folder at the top of one of the project's import roots (so a wrong ``sys_path`` still
  shows up as an import error), and any module under the entry's ``stub_packages`` (dotted
  prefixes, stubbed even when such a module exists), becomes a permissive stub module of the
  same kind: any attribute, callable,
  subscriptable, iterable as empty, usable as a base class, context manager and decorator;
* ``Variable.get`` returns its default when one is given, a permissive object for
  ``deserialize_json=True`` and the string ``"stub-<key>"`` otherwise (there is no metadata
  database); ``BaseHook.get_connection`` returns a permissive object.
* only imports made by the project's own files are stubbed: a library (Airflow included) that
  tries an optional import sees it fail as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
from dagbag_dump import attributes, skips, xcom_from  # noqa: E402 - the same reading as the tests' DagBag judge
MANIFEST = ROOT / "corpus" / "manifest.json"
SRC = ROOT / ".cache" / "corpus" / "src"
TRUTH = ROOT / ".cache" / "corpus" / "truth"
FILE_TIMEOUT = int(os.environ.get("CORPUS_FILE_TIMEOUT", "60"))  # Airflow's own per-file alarm
ENTRY_TIMEOUT = int(os.environ.get("CORPUS_ENTRY_TIMEOUT", "1500"))  # per worker subprocess


# --------------------------------------------------------------------------- permissive stubs
class _PermissiveMeta(type):
    """Metaclass of stub classes: class attributes, subscripts and iteration never fail."""

    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Permissive(f"{cls.__name__}.{name}")

    def __getitem__(cls, item):
        return cls

    def __iter__(cls):
        return iter(())

    def __or__(cls, other):  # typing unions in annotations
        return cls

    __ror__ = __or__

    def __add__(cls, other):
        return Permissive(cls.__name__)

    __radd__ = __sub__ = __mul__ = __truediv__ = __mod__ = __add__

    def __rshift__(cls, other):
        return other

    def __lshift__(cls, other):
        return other


class _Inert:
    """What stub classes' instances and stub modules share: callable, subscriptable, empty when
    iterated, true, a context manager."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return _call_result(args, kwargs)

    def __getitem__(self, item):
        return Permissive("item")

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __bool__(self):
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class PermissiveClass(_Inert, metaclass=_PermissiveMeta):
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Permissive(name)

    def __rshift__(self, other):  # a stubbed task group or task in a dependency chain
        return other

    def __rrshift__(self, other):
        return self

    __lshift__ = __rshift__
    __rlshift__ = __rrshift__


def _call_result(args, kwargs):
    if len(args) == 1 and not kwargs and (isinstance(args[0], type) or callable(args[0])) \
            and not isinstance(args[0], (Permissive, PermissiveClass)):
        return args[0]  # an unknown decorator: transparent
    return Permissive("result")


class Permissive:
    """Stands for any value of a stubbed package."""

    def __init__(self, name="stub"):
        object.__setattr__(self, "_stub_name", name)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Permissive(name)

    def __setattr__(self, name, value):
        pass

    def __call__(self, *args, **kwargs):
        return _call_result(args, kwargs)

    def __getitem__(self, item):
        return Permissive("item")

    def __setitem__(self, key, value):
        pass

    def __delitem__(self, key):
        pass

    def __contains__(self, item):
        return False

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __bool__(self):
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __str__(self):
        return "stub"

    def __repr__(self):
        return f"<stub {self._stub_name}>"

    def __fspath__(self):
        return "stub"

    def __int__(self):
        return 0

    __index__ = __int__

    def __float__(self):
        return 0.0

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def _self(self, *args):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _self
    __floordiv__ = __mod__ = __rmod__ = __pow__ = __neg__ = __pos__ = __or__ = __ror__ = _self
    __and__ = __rand__ = __invert__ = _self

    def __rshift__(self, other):
        return other

    def __rrshift__(self, other):
        return self

    __lshift__ = __rshift__
    __rlshift__ = __rrshift__

    def __mro_entries__(self, bases):
        return (PermissiveClass,)

    def __await__(self):
        return iter(())


# Airflow modules that may be stubbed when missing: providers, and the operator/hook/sensor
# paths of Airflow 1 and of deprecation shims. A missing module elsewhere in Airflow (a function
# that moved, airflow.jobs.base_job, ...) fails to import, as it does in a real deployment.
_AIRFLOW_STUBBED = ("airflow.providers.", "airflow.contrib.", "airflow.operators.",
                    "airflow.sensors.", "airflow.hooks.", "airflow.kubernetes.")
_ESSENTIAL = {"task_id", "dag", "task_group", "trigger_rule", "default_args"}
_OPERATOR_NAME = re.compile(r"(Operator|Sensor)(Async|V\d+)?$")


class _StubModule(_Inert, types.ModuleType):
    """A stub module; it also stands for a lower-case value (callable, subscriptable, ...) since
    ``from pkg import name`` cannot tell a submodule from a function."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            if name == "__version__":
                return "0.0.0"
            raise AttributeError(name)
        value = STUBS.attribute(self.__name__, name)
        setattr(self, name, value)
        return value

    def __str__(self):
        return "stub"

    def __mro_entries__(self, bases):
        return (PermissiveClass,)


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []  # a package: submodules are stubs too
        module.__file__ = None
        module.__all__ = []
        return module

    def exec_module(self, module):
        STUBS.stubbed.add(module.__name__)


class _ForcedStubs(importlib.abc.MetaPathFinder):
    """The first meta-path finder: the entry's ``stub_packages`` are stubs even where a module of
    that name exists (a project folder named like the third-party package, an Airflow shim that
    raises ImportError)."""

    def find_spec(self, fullname, path=None, target=None):
        if STUBS.active and STUBS.forced_match(fullname):
            return STUBS.find_spec(fullname, path, target)
        return None


class Stubs(importlib.abc.MetaPathFinder):
    """The last meta-path finder: stands in for modules nothing else could find."""

    def __init__(self, root: Path, local_names: set[str], forced: set[str]):
        self.root_prefix = str(root) + os.sep
        self.local_names = local_names
        self.forced = forced
        self.active = False
        self.stubbed: set[str] = set()
        self.operator_base = None
        self.base_kwargs: set[str] = set()
        self._operators: dict[tuple[str, str], type] = {}
        self._loader = _StubLoader()

    def find_spec(self, fullname, path=None, target=None):
        if not self.active:
            return None
        top = fullname.split(".", 1)[0]
        if self.forced_match(fullname) and self.called_from_project(anywhere=True):
            return importlib.machinery.ModuleSpec(fullname, self._loader, is_package=True)
        if top == "airflow":
            # Airflow's own deprecation shims (airflow.operators.docker_operator, ...) import the
            # provider on the project's behalf; Airflow's optional imports of airflow.sdk stay.
            if not fullname.startswith(_AIRFLOW_STUBBED):
                return None  # airflow.sdk, airflow.decorators.*, airflow.utils.*: fail as usual
            if not self.called_from_project(anywhere=True):
                return None
        elif not self.called_from_project():
            return None
        elif top in self.local_names:
            return None  # the project's own package: a wrong sys_path must show
        return importlib.machinery.ModuleSpec(fullname, self._loader, is_package=True)

    def forced_match(self, fullname: str) -> bool:
        return any(fullname == f or fullname.startswith(f + ".") for f in self.forced)

    def called_from_project(self, anywhere: bool = False) -> bool:
        """Whether the code asking is the project's own (the first frame outside the import
        machinery and this file), or, with ``anywhere``, any frame of the stack. Libraries that
        try optional imports (aiohttp and aiodns, ...) must see them fail as usual."""
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            if not filename.startswith("<frozen") and filename != __file__:
                if filename.startswith(self.root_prefix):
                    return True
                if not anywhere:
                    return False
            frame = frame.f_back
        return False

    def operator_class(self, name: str, module: str) -> type:
        key = (module, name)
        if key not in self._operators:
            base_kwargs = self.base_kwargs
            base_params = self.base_kwargs | {"resources"}

            def __init__(self, *args, **kwargs):
                base = self.__class__.operator_base
                try:
                    base.__init__(self, **{k: v for k, v in kwargs.items() if k in base_kwargs})
                except (TypeError, ValueError):
                    # an argument the real operator consumes itself under a BaseOperator name
                    # (old KubernetesPodOperator ``resources={"request_cpu": ...}``)
                    base.__init__(self, **{k: v for k, v in kwargs.items() if k in _ESSENTIAL})
                for key, value in kwargs.items():  # as the real operator keeps its arguments
                    if key not in base_params and not key.startswith("_") \
                            and not hasattr(type(self), key):
                        try:
                            setattr(self, key, value)
                        except Exception:  # noqa: BLE001
                            pass

            def __getattr__(self, attr):
                # attributes the real operator would have set (a project subclass reads them)
                if attr.startswith("_"):
                    raise AttributeError(attr)
                return None

            cls = type(self.operator_base)(name, (self.operator_base,), {
                "__init__": __init__, "__module__": module, "template_fields": (),
                "operator_base": self.operator_base, "__getattr__": __getattr__})
            self._operators[key] = cls
        return self._operators[key]

    def attribute(self, module: str, name: str):
        if _OPERATOR_NAME.search(name) and self.operator_base is not None:
            return self.operator_class(name, module)
        if name.endswith(("Error", "Exception", "Warning")):
            return type(name, (Exception,), {"__module__": module})
        if name.isupper():  # a constant
            return Permissive(f"{module}.{name}")
        if name[:1].isupper():
            return _PermissiveMeta(name, (PermissiveClass,), {"__module__": module})
        if module.startswith("airflow.") and not module.startswith("airflow.providers."):
            # a lower-case name in a stubbed Airflow 1 / shim module is a submodule: let the
            # import system find it (a function there would be a guess)
            raise AttributeError(name)
        full = f"{module}.{name}"  # a submodule or a function: both, see _StubModule
        if full not in sys.modules:
            sys.modules[full] = self._loader.create_module(
                importlib.machinery.ModuleSpec(full, self._loader, is_package=True))
            self.stubbed.add(full)
        return sys.modules[full]


STUBS: Stubs  # set in the worker


# --------------------------------------------------------------------------- the worker
def _relative(path: str | os.PathLike, root: Path) -> str:
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(p)


def _local_names(root: Path, entry: dict) -> set[str]:
    """Top-level module names the project itself provides (its import roots' children)."""
    names = set()
    for rel in [".", *entry.get("sys_path", []), *entry["dag_folders"]]:
        folder = root / rel
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_dir() and not child.name.startswith("."):
                    names.add(child.name)
                elif child.suffix == ".py":
                    names.add(child.stem)
    return names


class _Environ(type(os.environ)):
    """``os.environ[KEY]`` read by the project's code while a DAG file is imported: a missing
    key gives ``"stub-KEY"`` (a deployment sets them) instead of KeyError; ``.get`` is unchanged."""

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError:
            if STUBS.active and STUBS.called_from_project():
                return f"stub-{key}"
            raise

    def get(self, key, default=None):
        try:
            return super().__getitem__(key)
        except KeyError:
            return default

    def __contains__(self, key):
        try:
            super().__getitem__(key)
        except KeyError:
            return False
        return True


def _patch_airflow(variables: dict) -> None:
    """Variables come from the entry's variables file (the project's own), then AIRFLOW_VAR_*
    environment variables, then stand-ins; Connections read at parse time get stand-ins."""
    from airflow.models.variable import Variable

    def fake_get(key, *args, **kwargs):
        default = args[0] if args else kwargs.get("default_var", kwargs.get("default", _MISSING))
        deserialize = kwargs.get("deserialize_json", args[1] if len(args) > 1 else False)
        value = variables.get(key, os.environ.get(f"AIRFLOW_VAR_{key.upper()}", _MISSING))
        if value is not _MISSING:
            if deserialize:
                return json.loads(value) if isinstance(value, str) else value
            return value if isinstance(value, str) else json.dumps(value)
        if default is not _MISSING and not _is_notset(default):
            return default
        if deserialize:
            return Permissive(f"Variable {key}")
        return f"stub-{key}"

    _MISSING = object()
    Variable.get = staticmethod(fake_get)
    try:
        from airflow.sdk.definitions.variable import Variable as SdkVariable
        SdkVariable.get = staticmethod(fake_get)
    except ImportError:
        pass

    def fake_connection(conn_id, *args, **kwargs):
        return Permissive(f"Connection {conn_id}")

    try:
        from airflow.hooks.base import BaseHook
        BaseHook.get_connection = staticmethod(fake_connection)
    except ImportError:
        pass
    try:
        from airflow.sdk.bases.hook import BaseHook as SdkHook
        SdkHook.get_connection = staticmethod(fake_connection)
    except ImportError:
        pass


def _is_notset(value) -> bool:
    return type(value).__name__ in ("ArgNotSet", "NOTSET") or repr(value) in ("NOTSET", "<NOTSET>")


def _serialize_round_trip(dag, major: int) -> None:
    from airflow.serialization import serialized_objects as so
    ser = getattr(so, "DagSerialization", None) or so.SerializedDAG
    ser.from_dict(ser.to_dict(dag))


def worker(entry: dict, out_path: Path) -> None:
    json_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # Airflow and projects print to stdout
    result = load_entry(entry, SRC / entry["name"])
    tmp = out_path.with_suffix(".part")
    tmp.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n")
    tmp.rename(out_path)
    ndags = sum(len(d) for d in result["files"].values())
    print(f"{entry['name']}: Airflow {result['airflow_version']}: {ndags} DAGs in "
          f"{len(result['files'])} files, {len(result['import_errors'])} import errors, "
          f"{len(result['serialization_errors'])} serialization errors, {result['seconds']} s",
          file=json_out)
    json_out.flush()
    os._exit(0)  # project code may leave threads behind


def load_entry(entry: dict, root: Path, before_load=None) -> dict:
    """Load the entry's DAG folders under ``root`` (the materialized repo, or a copy of it) with
    DagBag, stubs installed, as described above; returns the truth record (see the module doc).
    ``before_load()`` runs once Airflow is imported and configured, before the first DAG file.
    Call once per process: it sets up the environment, sys.path and the stubs for good."""
    global STUBS
    root = Path(root).resolve()
    started = time.monotonic()
    home = tempfile.mkdtemp(prefix="corpus-airflow-home-")
    template_db = os.environ.get("CORPUS_TEMPLATE_DB")
    if template_db:  # a migrated, empty metadata database (pools etc. exist, as in a deployment)
        shutil.copy(template_db, os.path.join(home, "airflow.db"))
    plugins = entry.get("plugins_folder")
    os.environ.update({
        "AIRFLOW_HOME": home,
        "HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / entry["dag_folders"][0]),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / plugins) if plugins else os.path.join(home, "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": str(FILE_TIMEOUT),
        "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        "NO_PROXY": "*", "no_proxy": "*",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    })
    for key, value in entry.get("env", {}).items():
        os.environ[key] = str(value).replace("{root}", str(root))
    for extra in entry.get("sys_path", []):
        p = str((root / extra).resolve())
        if p not in sys.path:
            sys.path.append(p)

    STUBS = Stubs(root, _local_names(root, entry), set(entry.get("stub_packages", [])))
    sys.meta_path.append(STUBS)
    sys.meta_path.insert(0, _ForcedStubs())
    os.environ.__class__ = _Environ

    import airflow
    major = int(airflow.__version__.split(".")[0])
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    try:
        from airflow.sdk import BaseOperator
    except ImportError:
        from airflow.models.baseoperator import BaseOperator
    import inspect
    STUBS.operator_base = BaseOperator
    params = set()
    for klass in BaseOperator.__mro__:
        if "__init__" in vars(klass):
            try:
                params |= set(inspect.signature(klass.__init__).parameters)
            except (TypeError, ValueError):
                pass
    # ``resources`` is left to the real operator: KubernetesPodOperator and others consume a
    # dict of their own under that name, which BaseOperator would reject.
    STUBS.base_kwargs = (params | {"task_id", "dag", "task_group", "default_args", "params"}) \
        - {"self", "args", "kwargs", "resources"}
    variables = {}
    if entry.get("variables_file"):
        variables = json.loads((root / entry["variables_file"]).read_text())
    _patch_airflow(variables)
    if before_load is not None:
        before_load()

    files: dict[str, dict] = {}
    import_errors: dict[str, str] = {}
    serialization_errors: dict[str, str] = {}
    stub_serialization_errors: dict[str, str] = {}
    scanned: list[str] = []
    for folder_rel in entry["dag_folders"]:
        folder = root / folder_rel
        if str(folder) not in sys.path:
            sys.path.append(str(folder))  # as Airflow's prepare_syspath does for the DAGs folder
        bag_params = inspect.signature(DagBag.__init__).parameters
        bag_kwargs = {"include_examples": False} if "include_examples" in bag_params else \
            {"bundle_path": folder, "bundle_name": "dags-folder"}  # as Airflow 3's processor does
        bag = DagBag(dag_folder=str(folder), safe_mode=True, collect_dags=False, **bag_kwargs)
        process_file = bag.process_file

        def process_file_stubbed(filepath, *args, _pf=process_file, **kwargs):
            rel = _relative(filepath, root)
            scanned.append(rel)
            STUBS.active = True
            try:
                found = _pf(filepath, *args, **kwargs)
            except BaseException as error:  # noqa: BLE001 - one bad file never stops the run
                import_errors[rel] = f"{type(error).__name__}: {error}".splitlines()[0]
                found = []
            finally:
                STUBS.active = False
            for dag in found or []:
                record = files.setdefault(rel, {})
                record[dag.dag_id] = {
                    "tasks": {
                        task.task_id: {
                            "upstream": sorted(task.upstream_task_ids),
                            "operator": getattr(task, "task_type", None) or type(task).__name__,
                            "xcom_from": xcom_from(task),
                            "skips": skips(task),
                            "attributes": attributes(task),
                        }
                        for task in dag.tasks
                    },
                    "fileloc": _relative(dag.fileloc, root) if dag.fileloc else None,
                }
                previous = signal.signal(signal.SIGALRM, _alarm)
                signal.alarm(FILE_TIMEOUT)
                try:
                    _serialize_round_trip(dag, major)
                except BaseException as error:  # noqa: BLE001
                    message = f"{type(error).__name__}: {error}".strip().splitlines()[-1][:500]
                    if any(f"{m}." in message for m in STUBS.stubbed) or "stub" in message.lower():
                        stub_serialization_errors[dag.dag_id] = message  # an artefact of stubs
                    else:
                        serialization_errors[dag.dag_id] = message
                finally:
                    signal.alarm(0)
                    signal.signal(signal.SIGALRM, previous)
            return found

        bag.process_file = process_file_stubbed
        if "include_examples" in inspect.signature(bag.collect_dags).parameters:
            bag.collect_dags(dag_folder=str(folder), include_examples=False, safe_mode=True,
                             only_if_updated=False)
        else:
            bag.collect_dags(dag_folder=str(folder), safe_mode=True, only_if_updated=False)
        for path, error in bag.import_errors.items():
            full = Path(path) if Path(path).is_absolute() else folder / path
            lines = [line for line in str(error).strip().splitlines() if line.strip()]
            import_errors[_relative(full, root)] = lines[-1].strip()[:500] if lines else "?"
    for rel in import_errors:
        files.pop(rel, None)  # a file with an import error has no trustworthy DAGs
    result = {
        "airflow_version": airflow.__version__,
        "entry": entry["name"],
        "dag_folders": entry["dag_folders"],
        "files": {p: files[p] for p in sorted(files)},
        "import_errors": {p: import_errors[p] for p in sorted(import_errors)},
        "serialization_errors": {d: serialization_errors[d] for d in sorted(serialization_errors)},
        "stub_serialization_errors": {d: stub_serialization_errors[d]
                                      for d in sorted(stub_serialization_errors)},
        "stubbed_modules": sorted(STUBS.stubbed),
        "scanned": sorted(set(scanned)),
        "seconds": round(time.monotonic() - started, 1),
    }
    shutil.rmtree(home, ignore_errors=True)
    return result


def _alarm(signum, frame):
    raise TimeoutError(f"timed out after {FILE_TIMEOUT}s")


# --------------------------------------------------------------------------- the driver
def _wants(entry: dict, major: int) -> bool:
    return entry.get("airflow", "both") in ("both", str(major))


def _template_db(major: int) -> Path:
    """An empty metadata database made by ``airflow db migrate`` once per Airflow version; every
    worker starts from a copy (some projects touch pools or the session while parsing)."""
    home = TRUTH.parent / f"airflow-home-af{major}"
    db = home / "airflow.db"
    if not db.is_file():
        home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}"}
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return db


def main(argv: list[str]) -> int:
    entries = json.loads(MANIFEST.read_text())
    if argv[:1] == ["--worker"]:
        entry = next(e for e in entries if e["name"] == argv[1])
        worker(entry, Path(argv[2]))
        return 0
    import importlib.metadata
    major = int(importlib.metadata.version("apache-airflow").split(".")[0])
    wanted = set(argv)
    unknown = wanted - {e["name"] for e in entries}
    if unknown:
        print(f"unknown corpus entries: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    TRUTH.mkdir(parents=True, exist_ok=True)
    template_db = _template_db(major)
    sandbox = ["unshare", "-n"] if shutil.which("unshare") and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0 else []
    failed = 0
    for entry in entries:
        if (wanted and entry["name"] not in wanted) or not _wants(entry, major):
            continue
        if not (SRC / entry["name"] / ".corpus-commit").is_file():
            print(f"{entry['name']}: not materialized (run corpus/materialize.py)", file=sys.stderr)
            failed += 1
            continue
        out = TRUTH / f"{entry['name']}-af{major}.json"
        log = TRUTH / f"{entry['name']}-af{major}.log"
        cmd = sandbox + [sys.executable, str(Path(__file__).resolve()), "--worker", entry["name"],
                         str(out)]
        with open(log, "w") as log_file:
            try:
                proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log_file, text=True,
                                      timeout=ENTRY_TIMEOUT, cwd=str(SRC / entry["name"]),
                                      env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                                           "CORPUS_TEMPLATE_DB": str(template_db)})
                sys.stdout.write(proc.stdout)
                if proc.returncode != 0:
                    print(f"{entry['name']}: worker exited {proc.returncode}; see {log}")
                    failed += 1
            except subprocess.TimeoutExpired:
                print(f"{entry['name']}: worker timed out after {ENTRY_TIMEOUT}s; see {log}")
                failed += 1
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
