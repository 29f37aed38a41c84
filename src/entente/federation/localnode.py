"""A node of a federation on this machine, run as its own processes: its own directory, database,
keys and ports. What ``entente node demo``, the two-node tests and the federation benchmark
start, so all three exercise the nodes exactly as an operator would (the ``entente`` command).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from entente.federation.transport import free_port

# Variables of the calling process that must not leak into a node: each node has its own.
_PRIVATE = ("ENTENTE_KEY_DIR", "ENTENTE_BLOB_DIR", "ENTENTE_FEDERATION_DIR", "ENTENTE_SECRET_KEY",
            "ENTENTE_TEST_DB_NAME", "DJANGO_SETTINGS_MODULE")


class NodeFailed(RuntimeError):
    pass


class LocalNode:
    def __init__(self, nation: str, root: Path, *, officer: str, database_url: str = "",
                 federation_port: int | None = None, **env: str) -> None:
        self.nation, self.officer = nation, officer
        self.var = root / nation.lower()
        self.var.mkdir(parents=True, exist_ok=True)
        self.federation_port = federation_port or free_port()
        self.database_url = database_url or f"sqlite:///{self.var / 'entente.sqlite3'}"
        self.identity = self.var / f"{nation}.identity.json"
        self.env = {k: v for k, v in os.environ.items() if k not in _PRIVATE}
        self.env.update({"ENTENTE_VAR_DIR": str(self.var), "ENTENTE_NODE_NATION": nation,
                         "DATABASE_URL": self.database_url,
                         "ENTENTE_FEDERATION_ENDPOINT":
                             f"https://127.0.0.1:{self.federation_port}", **env})
        self.server: subprocess.Popen[bytes] | None = None
        self._log = (self.var / "serve.log").open("ab")

    def __repr__(self) -> str:
        return f"LocalNode({self.nation}, {self.var})"

    # -- the command line ---------------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "entente.cli", *args]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Our own command line, with arguments the caller chose: no shell.
        done = subprocess.run(self.argv(*args), env=self.env, capture_output=True,  # noqa: S603
                              text=True, check=False)
        if check and done.returncode:
            raise NodeFailed(f"{self.nation} node: entente {' '.join(args)} exited "
                             f"{done.returncode}:\n{done.stdout}{done.stderr}")
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv(*args), env=self.env,  # noqa: S603
                                stdout=self._log, stderr=subprocess.STDOUT)

    # -- set-up -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Database, keys, this nation's demo people and documents, the identity file."""
        self.run("node", "seed-demo")
        self.run("node", "identity", "--out", str(self.identity))

    def fingerprint(self) -> str:
        return str(json.loads(self.run("node", "fingerprint").stdout)["fingerprint"])

    def trust(self, other: LocalNode) -> None:
        """Import the other node's identity here (its fingerprint read from its own node, as
        the two authorities would read it to each other)."""
        self.run("federation", "import-partner", str(other.identity), "--fingerprint",
                 other.fingerprint(), "--as", self.officer)

    # -- serving ----------------------------------------------------------------------

    def start(self, *, worker: bool = False, interval: float = 0.5, timeout: float = 60) -> None:
        port_file = self.var / "federation.port"
        port_file.unlink(missing_ok=True)
        args = ["node", "serve", "--port", str(self.federation_port), "--port-file",
                str(port_file), "--interval", str(interval)]
        self.server = self.spawn(*args, *([] if worker else ["--no-worker"]))
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise NodeFailed(f"{self.nation} node did not start: see {self.var}/serve.log")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    def kill(self) -> None:
        """Stop at once, as a crash would: no clean shutdown."""
        if self.server is not None:
            self.server.kill()
            self.server.wait()
        self.server = None

    def close(self) -> None:
        self.stop()
        self._log.close()

    # -- looking inside ---------------------------------------------------------------

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the node's own database (for tests and benchmarks)."""
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                return list(db.execute(query.replace("%s", "?"), params))
        import psycopg

        url = urlsplit(self.database_url)
        with psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username,
                             password=url.password, dbname=url.path.lstrip("/")) as db:
            return list(db.execute(query, params))

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 — our tables
