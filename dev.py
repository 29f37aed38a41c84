#!/usr/bin/env python3.11
"""Bootstrap and run Entente with nothing but Python 3.11 installed.

    python3.11 dev.py demo   # SQLite, migrations, demo data, http://127.0.0.1:8000
    python3.11 dev.py test   # the whole test suite (DATABASE_URL picks the database)
    python3.11 dev.py lint   # ruff and mypy
    python3.11 dev.py lock   # re-resolve requirements.lock from pyproject.toml

The virtual environment lives in .venv and is rebuilt whenever requirements.lock
changes, so every machine runs exactly the locked versions (pip --require-hashes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".lock-sha256"
BIN = VENV / "bin"


def _lock_digest() -> str:
    digest = hashlib.sha256(LOCK.read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Entente needs Python 3.11; this is {sys.version.split()[0]}.")
    wanted = _lock_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("Preparing .venv from requirements.lock ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)],
                   check=True)
    STAMP.write_text(wanted)


def run(*argv: str) -> int:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(list(argv), cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "lock":
        return run(sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--extra",
                   "dev", "--extra", "build", "--generate-hashes", "--universal", "--python-version", "3.11",
                   "-o", "requirements.lock", *rest)
    if command not in {"demo", "test", "lint", "entente"}:
        print(__doc__)
        return 0 if command == "help" else 2
    ensure_venv()
    if command == "demo":
        return run(str(BIN / "entente"), "demo", *rest)
    if command == "entente":
        return run(str(BIN / "entente"), *rest)
    if command == "lint":
        return run(str(BIN / "ruff"), "check", "src", "bench", "dev.py") or run(
            str(BIN / "mypy"), "src")
    return run(str(BIN / "python"), "-m", "pytest", *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
