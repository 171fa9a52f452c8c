# Everything a fresh machine needs, from two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
CACHE := .cache
AIRFLOW3_VERSION := 3.3.2
AIRFLOW3_VENV := $(CACHE)/airflow3
DAGSTER_VENV := $(CACHE)/dagster
AIRFLOW2_VENV := $(CACHE)/airflow2
TUTORIAL := examples/tutorial
# Every venv installs the versions in tests/constraints/<venv>.txt, a set that passed CI: a new
# release of a dependency left open must not break `make test` overnight (cryptography 51 broke
# Airflow 2.11's Fernet, hence every connection it reads, on 2026-12-05). UNPINNED=1 resolves
# afresh; `make constraints` then writes down what the venvs hold.
CONSTRAINTS := tests/constraints
pin = $(if $(UNPINNED),,--constraint $(CONSTRAINTS)/$(1).txt)

.PHONY: demo test fuzz bench constraints venv airflow3 airflow2 airflow3-airlift airflow-cncf3 airflow2-cncf dagster dagster-dbt system-deps vsix vscode-deps vscode-e2e clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)/dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "Python >= 3.10 is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip uv
	$(UV) pip install --quiet --python $(PY) $(call pin,dev) -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

# Airflow lives in its own venv: the server never imports it; tests and benchmarks run
# Airflow's own DagBag there to compare with the static model.
$(AIRFLOW3_VENV)/.installed: $(CONSTRAINTS)/airflow3.txt | $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(AIRFLOW3_VENV)
	VIRTUAL_ENV=$(AIRFLOW3_VENV) $(UV) pip install --quiet $(call pin,airflow3) --compile-bytecode apache-airflow==$(AIRFLOW3_VERSION)
	touch $@

airflow3: $(AIRFLOW3_VENV)/.installed

# Dagster + dagster-airlift in their own venv: tests load every generated Dagster module there.
$(DAGSTER_VENV)/.installed: $(CONSTRAINTS)/dagster.txt | $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(DAGSTER_VENV)
	VIRTUAL_ENV=$(DAGSTER_VENV) $(UV) pip install --quiet $(call pin,dagster) "dagster==1.13.*" "dagster-webserver==1.13.*" "dagster-airlift[core]==0.29.*" "dagster-dg-cli==1.13.*"
	touch $@

# pytest there runs the acceptance tests airlift-lsp generates (tests/integration/test_acceptance_runs.py).
$(DAGSTER_VENV)/.pytest: $(DAGSTER_VENV)/.installed
	VIRTUAL_ENV=$(DAGSTER_VENV) $(UV) pip install --quiet $(call pin,dagster) "pytest>=8"
	touch $@

# dagster-docker, dagster-k8s, dagster-gcp (and google-cloud-container), dagster-aws of the installed Dagster: the
# container, BigQuery, GKE cluster and Athena scaffolds' generated code imports them
# (tests/integration/test_scaffold_containers.py loads it; no Docker or cluster runs); moto's server is
# the Athena of tests/integration/test_scaffold_athena.py (botocore below 1.44.18: see the Amazon provider).
$(DAGSTER_VENV)/.pipes: $(DAGSTER_VENV)/.installed
	VIRTUAL_ENV=$(DAGSTER_VENV) $(UV) pip install --quiet $(call pin,dagster) "dagster-docker==0.29.*" "dagster-k8s==0.29.*" "dagster-gcp==0.29.*" "google-cloud-container>=2.17" \
		"dagster-aws==0.29.*" "moto[server]>=5.1" "botocore<1.44.18" \
		"dagster==$$($(DAGSTER_VENV)/bin/python -c 'import dagster; print(dagster.__version__)')"
	touch $@

dagster: $(DAGSTER_VENV)/.installed $(DAGSTER_VENV)/.pytest $(DAGSTER_VENV)/.pipes

# dagster-dbt with dbt-core and dbt-duckdb (from the package index), beside the Dagster venv so that
# its pins stay its own: the dbt scaffolds' generated code runs there, and Airflow's dbt tasks
# find dbt on PATH in its bin (tests/integration/test_scaffold_dbt.py). dbt-core 1.11+ needs a
# parser fetched from GitHub at install time, hence < 1.11.
DAGSTER_DBT_VENV := $(CACHE)/dagster-dbt
$(DAGSTER_DBT_VENV)/.installed: $(CONSTRAINTS)/dagster-dbt.txt | $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(DAGSTER_DBT_VENV)
	VIRTUAL_ENV=$(DAGSTER_DBT_VENV) $(UV) pip install --quiet $(call pin,dagster-dbt) "dagster==1.13.27" "dagster-dbt==0.29.27" \
		"dagster-airlift[core]==0.29.27" "dbt-core>=1.8,<1.11" "dbt-duckdb>=1.8,<1.11"
	touch $@

dagster-dbt: $(DAGSTER_DBT_VENV)/.installed

# Airflow 2 with dagster-airlift's in-airflow side: edited DAG files must load there with
# their proxied tasks replaced (airlift's proxying supports Airflow 2 only).
$(AIRFLOW2_VENV)/.installed: $(CONSTRAINTS)/airflow2.txt | $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(AIRFLOW2_VENV)
	VIRTUAL_ENV=$(AIRFLOW2_VENV) $(UV) pip install --quiet $(call pin,airflow2) --compile-bytecode "apache-airflow==2.11.2" "dagster-airlift[in-airflow]==0.29.27"
	touch $@

# virtualenv: Airflow's PythonVirtualenvOperator needs it (tests/integration/test_scaffold_pipes.py runs one).
$(AIRFLOW2_VENV)/.virtualenv: $(AIRFLOW2_VENV)/.installed
	VIRTUAL_ENV=$(AIRFLOW2_VENV) $(UV) pip install --quiet $(call pin,airflow2) "virtualenv>=20.26"
	touch $@

# The Amazon provider: tests/integration/test_scaffold_athena.py runs its AthenaOperator. botocore
# below 1.44.18, which moved Athena to REST JSON: moto 5.2's server (that test's Athena, in the
# Dagster venv) routes Athena's JSON protocol only.
$(AIRFLOW2_VENV)/.amazon: $(AIRFLOW2_VENV)/.installed
	VIRTUAL_ENV=$(AIRFLOW2_VENV) $(UV) pip install --quiet $(call pin,airflow2) "apache-airflow==2.11.2" \
		"apache-airflow-providers-amazon>=9.0" "botocore<1.44.18"
	touch $@

airflow2: $(AIRFLOW2_VENV)/.installed $(AIRFLOW2_VENV)/.virtualenv $(AIRFLOW2_VENV)/.amazon

# Airflow 3 with dagster-airlift's in-Airflow side, on Python 3.13 (dagster-airlift's own `test` extra
# runs Airflow 3 on Python >= 3.13): the Airflow 3 round trip (tests/integration/test_round_trip_airflow3.py).
# The interpreter: PYTHON313 if given, else pyenv's 3.13, else a working python3.13 on PATH (pyenv's
# shims fail for a version not selected), else whatever `uv` finds or downloads for 3.13.
AIRFLOW3_AIRLIFT_VENV := $(CACHE)/airflow3-airlift
$(AIRFLOW3_AIRLIFT_VENV)/.installed: $(CONSTRAINTS)/airflow3-airlift.txt | $(VENV)/.installed
	python313="$$(for p in $(PYTHON313) $$HOME/.pyenv/versions/3.13*/bin/python3.13 $$(command -v python3.13); do \
		"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$p"; break; }; done)"; \
	$(UV) venv --quiet --allow-existing --python "$${python313:-3.13}" $(AIRFLOW3_AIRLIFT_VENV)
	VIRTUAL_ENV=$(AIRFLOW3_AIRLIFT_VENV) $(UV) pip install --quiet $(call pin,airflow3-airlift) --compile-bytecode \
		"apache-airflow==$(AIRFLOW3_VERSION)" "dagster-airlift[in-airflow]==0.29.27"
	touch $@

airflow3-airlift: $(AIRFLOW3_AIRLIFT_VENV)/.installed

# Airflow 2.2 with the cncf.kubernetes provider before 4.0 (3.1.2, with the kubernetes client it
# supports), on Python 3.9 as Cloud Composer 1 ran it: Composer-era DAGs give a pod `resources={...}`
# and `affinity` in that provider's meaning, which tests/integration/test_scaffold_containers.py
# checks the Kubernetes scaffold against (it builds the pod with the provider; no cluster runs).
# The interpreter: PYTHON39 if given, else pyenv's 3.9, else a working python3.9 on PATH.
AIRFLOW_CNCF3_VENV := $(CACHE)/airflow-cncf3
$(AIRFLOW_CNCF3_VENV)/.installed: $(CONSTRAINTS)/airflow-cncf3.txt | $(VENV)/.installed
	python39="$$(for p in $(PYTHON39) $$HOME/.pyenv/versions/3.9*/bin/python3.9 $$(command -v python3.9); do \
		"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 9))' 2>/dev/null && { echo "$$p"; break; }; done)"; \
	$(UV) venv --quiet --allow-existing --python "$${python39:-3.9}" $(AIRFLOW_CNCF3_VENV)
	VIRTUAL_ENV=$(AIRFLOW_CNCF3_VENV) $(UV) pip install --quiet $(call pin,airflow-cncf3) \
		"apache-airflow==2.2.5" "apache-airflow-providers-cncf-kubernetes==3.1.2" "kubernetes==21.7.0" \
		"markupsafe<2.1" "jinja2<3.1" "flask<2.1" "werkzeug<2.1" "itsdangerous<2.1" "wtforms<3.0" "sqlalchemy<1.4.46"
	touch $@

airflow-cncf3: $(AIRFLOW_CNCF3_VENV)/.installed

# Airflow 2.11 with today's cncf.kubernetes provider (10.x): a project class derived from its
# KubernetesPodOperator, run as it by the team's choice (AIRFLOW_OPERATOR_PORTS), must build the same
# pod in Airflow as the scaffold has dagster-k8s build (tests/integration/test_scaffold_port_bases.py).
# A venv of its own: the airflow2 venv judges DAG files without the provider, as the corpus runs them.
AIRFLOW2_CNCF_VENV := $(CACHE)/airflow2-cncf
$(AIRFLOW2_CNCF_VENV)/.installed: $(CONSTRAINTS)/airflow2-cncf.txt | $(VENV)/.installed
	$(UV) venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(AIRFLOW2_CNCF_VENV)
	VIRTUAL_ENV=$(AIRFLOW2_CNCF_VENV) $(UV) pip install --quiet $(call pin,airflow2-cncf) "apache-airflow==2.11.2" \
		"apache-airflow-providers-cncf-kubernetes>=10.0"
	touch $@

airflow2-cncf: $(AIRFLOW2_CNCF_VENV)/.installed

# Writes down the versions each venv holds (after `make test UNPINNED=1` on fresh venvs, say).
constraints:
	for name in dev airflow2 airflow3 airflow3-airlift airflow-cncf3 airflow2-cncf dagster dagster-dbt; do \
		venv=$$([ $$name = dev ] && echo $(VENV) || echo $(CACHE)/$$name); \
		{ echo "# The versions make test installs in the $$name venv (uv pip freeze of a set that passed CI on $$(date -u +%F))."; \
		  echo "# Refresh: make constraints UNPINNED=1 after rebuilding the venvs (see the Makefile)."; \
		  $(UV) pip freeze --quiet --python $$venv/bin/python --exclude-editable | grep -v "^\(pip\|uv$$([ $$name = dev ] && echo '\|setuptools')\)=="; \
		} > $(CONSTRAINTS)/$$name.txt.new && mv $(CONSTRAINTS)/$$name.txt.new $(CONSTRAINTS)/$$name.txt; \
	done

system-deps:
	bash scripts/system-deps.sh

# The VS Code extension: node 24, code-server and Chromium for the real-VS-Code test.
vscode-deps:
	bash scripts/vscode-deps.sh

vscode-client/node_modules/.package-lock.json: vscode-client/package-lock.json
	cd vscode-client && npm ci --no-audit --no-fund

# The .vsix carries the server: the project's wheel goes in vscode-client/server/, and the extension
# makes its own environment from it on first use (dependencies from the package index).
vsix: vscode-client/node_modules/.package-lock.json | $(VENV)/.installed
	rm -rf vscode-client/server
	$(UV) build --quiet --out-dir vscode-client/server  # sdist, then the wheel from it: no stale build/lib
	rm -f vscode-client/server/*.tar.gz
	cd vscode-client && npm run package
	@echo "built vscode-client/airlift-lsp.vsix"

# A release of the server: the wheel and the sdist in $(DIST) (ignored by git). The wheel installs
# without this repository: `pip install airlift_lsp-<version>-py3-none-any.whl` or `pipx install` it.
DIST ?= dist
.PHONY: dist
dist: | $(VENV)/.installed
	rm -rf $(DIST)
	$(UV) build --quiet --out-dir $(DIST)
	@ls -1 $(DIST)/*.whl $(DIST)/*.tar.gz

vscode-e2e: venv vscode-deps
	node vscode-client/test/e2e/run.mjs

demo: venv
	@echo "== DAGs and tasks of $(TUTORIAL), with their migration stage =="
	cd $(TUTORIAL) && ../../$(VENV)/bin/airlift-lsp dags airflow_dags
	@echo
	@echo "== Findings (airlift-lsp check) =="
	cd $(TUTORIAL) && ../../$(VENV)/bin/airlift-lsp check

# The fuzz tests (tests/fuzz/) run the same derandomized examples on every `make test`;
# `make fuzz` hunts with fresh random inputs, ten times as many (AIRLIFT_FUZZ_SCALE to change).
test: venv airflow3 airflow2 airflow3-airlift airflow-cncf3 airflow2-cncf dagster dagster-dbt system-deps vscode-deps
	AIRFLOW3_PYTHON=$(CURDIR)/$(AIRFLOW3_VENV)/bin/python AIRFLOW2_PYTHON=$(CURDIR)/$(AIRFLOW2_VENV)/bin/python \
		AIRFLOW3_AIRLIFT_PYTHON=$(CURDIR)/$(AIRFLOW3_AIRLIFT_VENV)/bin/python \
		AIRFLOW_CNCF3_PYTHON=$(CURDIR)/$(AIRFLOW_CNCF3_VENV)/bin/python \
		AIRFLOW2_CNCF_PYTHON=$(CURDIR)/$(AIRFLOW2_CNCF_VENV)/bin/python \
		DAGSTER_PYTHON=$(CURDIR)/$(DAGSTER_VENV)/bin/python DAGSTER_DBT_PYTHON=$(CURDIR)/$(DAGSTER_DBT_VENV)/bin/python \
		AIRLIFT_FUZZ_PROFILE=$(or $(AIRLIFT_FUZZ_PROFILE),airlift-fuzz-ci) $(PY) -m pytest -q --durations=15

fuzz: venv airflow3
	AIRFLOW3_PYTHON=$(CURDIR)/$(AIRFLOW3_VENV)/bin/python AIRLIFT_FUZZ_PROFILE=airlift-fuzz-hunt \
		$(PY) -m pytest -q tests/fuzz

# One table, every figure next to its target (bench/report.py runs each bench script). Poll cost
# starts real Airflows (10-25 min) and a dagster-webserver (~2 min): BENCH_POLL=saved reuses the
# figures saved by the last bench/poll.py and bench/dagster_poll.py runs (.cache/bench/) and says
# when; BENCH_POLL=skip leaves them out.
bench: venv airflow3 $(if $(filter saved skip,$(BENCH_POLL)),,airflow2 dagster)
	AIRFLOW3_PYTHON=$(CURDIR)/$(AIRFLOW3_VENV)/bin/python AIRFLOW2_PYTHON=$(CURDIR)/$(AIRFLOW2_VENV)/bin/python \
		DAGSTER_PYTHON=$(CURDIR)/$(DAGSTER_VENV)/bin/python $(PY) bench/report.py --poll $(or $(BENCH_POLL),run)

clean:
	rm -rf $(VENV) $(CACHE) bench/out

# The corpus of public Airflow projects (corpus/README.md): extract the recorded commits from the
# mirrors that the search tool's fetch left under /work/.mirror, load them with Airflow 2.11's and
# 3.3's DagBag (third-party packages stubbed), and compare our static model with them. A report;
# not part of `make test`. `make corpus CORPUS="ttd mozilla-telemetry"` runs some entries only.
.PHONY: corpus
corpus: venv airflow2 airflow3
	$(PY) corpus/materialize.py $(CORPUS)
	$(AIRFLOW2_VENV)/bin/python corpus/dagbag_truth.py $(CORPUS)
	$(AIRFLOW3_VENV)/bin/python corpus/dagbag_truth.py $(CORPUS)
	$(PY) corpus/compare.py $(CORPUS)
	$(PY) corpus/xcom_reads.py $(CORPUS)
	$(PY) corpus/skips.py $(CORPUS)
	$(PY) corpus/arguments.py $(CORPUS)

# Never break a DAG (issue 12; corpus/README.md): migrate every Airflow 2 corpus entry with the CLI
# (map, proxy a task, proxy the DAG, roll back; map/proxy at DAG level, rollback --all) on a copy
# and judge every step in Airflow 2.11 + dagster-airlift (~45-60 min on 2 cores). A report;
# MIGRATE_FLAGS="--strict" fails on a broken DAG, a false proxy or a false error finding.
.PHONY: corpus-migrate
corpus-migrate: venv airflow2
	$(PY) corpus/materialize.py $(CORPUS)
	$(PY) corpus/migrate_all.py $(MIGRATE_FLAGS) $(CORPUS)

# Real Dagster judges the scaffolds (issue 16; corpus/README.md): write every asset "Generate
# Dagster implementation" accepts on the corpus, through the editor's plans, and load the modules
# in the Dagster venv (imports run, names bound; third-party packages stubbed, Airflow not). A
# report; JUDGE_FLAGS="--strict" fails when an accepted scaffold does not load or would fail to run.
.PHONY: corpus-scaffold
corpus-scaffold: venv dagster
	$(PY) corpus/materialize.py $(CORPUS)
	DAGSTER_PYTHON=$(DAGSTER_VENV)/bin/python $(PY) corpus/scaffold_judge.py $(JUDGE_FLAGS) $(CORPUS)
