"""Extract every corpus entry's recorded commit from its mirror into .cache/corpus/src/<name>/.

    python corpus/materialize.py [NAME...]

Mirrors are bare git directories that the search tool's ``fetch github:owner/name`` leaves under
/work/.mirror/owner+name/ (``repo/`` or ``repo/.git``); this script fetches nothing. A missing
mirror or commit is reported ("fetch github:owner/name first") and the entry is skipped.
The tree is written as `git archive | tar -x` would, except files the snapshot lacks (see
.corpus-missing). Idempotent: an entry already extracted at its commit (``.corpus-commit`` stamp) is left alone.
Nothing extracted here is ever committed or run, except inside Airflow's DagBag by
corpus/dagbag_truth.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "corpus" / "manifest.json"
SRC = ROOT / ".cache" / "corpus" / "src"
MIRRORS = Path(os.environ.get("CORPUS_MIRRORS", "/work/.mirror"))


def load_manifest() -> list[dict]:
    return json.loads(MANIFEST.read_text())


def git_dir(repo: str) -> Path | None:
    base = MIRRORS / repo.replace("/", "+")
    for candidate in (base / "repo" / ".git", base / "repo", base):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def extract(gd: Path, commit: str, into: Path) -> list[str]:
    """Write the tree of ``commit`` under ``into`` (like ``git archive | tar -x``), skipping blobs
    the snapshot does not have; returns their paths."""
    listing = subprocess.run(["git", "--git-dir", str(gd), "ls-tree", "-r", "-z", "--full-tree",
                              commit], capture_output=True, check=True).stdout
    entries = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        meta, path = item.split(b"\t", 1)
        mode, kind, oid = meta.split()
        if kind == b"blob":
            entries.append((mode.decode(), oid.decode(), path.decode("utf-8", "surrogateescape")))
    batch = subprocess.Popen(["git", "--git-dir", str(gd), "cat-file", "--batch"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    missing = []
    root = into.resolve()
    for mode, oid, path in entries:
        batch.stdin.write(oid.encode() + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            missing.append(path)
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)  # the newline after the content
        target = (into / path)
        if root not in target.resolve().parents and target.resolve() != root:
            raise ValueError(f"path escapes the tree: {path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            os.symlink(data.decode("utf-8", "surrogateescape"), target)
        else:
            target.write_bytes(data)
            if mode == "100755":
                target.chmod(0o755)
    batch.stdin.close()
    batch.wait()
    return missing


def materialize(entry: dict) -> bool:
    name, repo, commit = entry["name"], entry["repo"], entry["commit"]
    target = SRC / name
    stamp = target / ".corpus-commit"
    if stamp.is_file() and stamp.read_text().strip() == commit:
        print(f"{name}: up to date ({commit[:12]})")
        return True
    gd = git_dir(repo)
    if gd is None:
        print(f"{name}: no mirror of {repo}: fetch github:{repo} first", file=sys.stderr)
        return False
    has = subprocess.run(["git", "--git-dir", str(gd), "cat-file", "-e", f"{commit}^{{commit}}"],
                         capture_output=True)
    if has.returncode != 0:
        print(f"{name}: mirror of {repo} lacks commit {commit}: fetch github:{repo} first",
              file=sys.stderr)
        return False
    tmp = SRC / f".{name}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        missing = extract(gd, commit, tmp)
    except (OSError, subprocess.CalledProcessError, ValueError) as error:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"{name}: extracting {repo}@{commit[:12]} failed: {error}", file=sys.stderr)
        return False
    if missing:
        # Snapshots lack files of 4 MiB and more (and LFS content): data files, jars, never DAGs.
        (tmp / ".corpus-missing").write_text("".join(f"{m}\n" for m in missing))
        print(f"{name}: {len(missing)} large files absent from the snapshot (see .corpus-missing)")
    (tmp / ".corpus-commit").write_text(commit + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    print(f"{name}: extracted {repo}@{commit[:12]}")
    return True


def main(argv: list[str]) -> int:
    entries = load_manifest()
    wanted = set(argv)
    unknown = wanted - {e["name"] for e in entries}
    if unknown:
        print(f"unknown corpus entries: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    SRC.mkdir(parents=True, exist_ok=True)
    done = [materialize(e) for e in entries if not wanted or e["name"] in wanted]
    print(f"{sum(done)} of {len(done)} entries materialized under {SRC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
