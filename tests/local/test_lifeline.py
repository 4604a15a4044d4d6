"""Children die with the tool that started them, even when it is killed with SIGKILL.

Real processes throughout: the pinned CDK CLI (``npx`` -> ``node`` -> the app's
``python``) run by :class:`CdkCli` in a parent process that the test kills.
The app is a Python one-liner that records its pid and sleeps, standing in
for a long synth or deploy (a real deploy needs the emulator and takes
tens of seconds; what matters here is the CLI's own process tree).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdk_lambda_xray.local.deploy import TMP_PREFIX
from cdk_lambda_xray.local.lifeline import Lifeline

REPO_ROOT = Path(__file__).resolve().parents[2]

PARENT = """
import sys
from pathlib import Path
from cdk_lambda_xray.local.deploy import CdkCli
app, work, root = (Path(a) for a in sys.argv[1:4])
CdkCli(app, work, endpoint_url="http://127.0.0.1:9", cli_root=root).run(
    ["synth"], timeout=300, log_name="synth"
)
"""


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or ``None``."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _processes() -> list[tuple[int, list[str]]]:
    """Every process's pid and :func:`_stat` fields."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None:
                found.append((int(entry.name), fields))
    return found


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an unreaped exit status is not running)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _group(pgid: int) -> list[int]:
    """The live (not zombie) members of process group ``pgid``."""
    return [
        p for p, fields in _processes() if fields[2] == str(pgid) and fields[0] not in ("Z", "X")
    ]


def _wait(predicate: object, timeout: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            pytest.fail(f"condition not met within {timeout:g}s")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_cdk_cli_processes_and_temp_dir_go_when_the_tool_is_killed(tmp_path: Path) -> None:
    app, work, pid_file = tmp_path / "app", tmp_path / "work", tmp_path / "app.pid"
    app.mkdir()
    sleeper = (
        f"import os,time; open({str(pid_file)!r},'w').write(str(os.getpid())); time.sleep(300)"
    )
    (app / "cdk.json").write_text(json.dumps({"app": f'python3 -c "{sleeper}"'}))
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(app), str(work), str(REPO_ROOT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    members: list[int] = []
    try:
        _wait(lambda: pid_file.exists() and pid_file.read_text(), timeout=120)
        pgid = os.getpgid(int(pid_file.read_text()))
        members = _group(pgid)
        assert len(members) >= 2, members  # the CLI's node and the app's python at least
        assert pgid != os.getpgid(parent.pid)  # its own group: Ctrl-C reaches only the tool
        assert len(list(work.glob(f"{TMP_PREFIX}*"))) == 1  # the CLI's TMPDIR
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        seconds = _wait(lambda: not any(_running(pid) for pid in members), timeout=10)
        assert seconds < 5
        _wait(lambda: not list(work.glob(f"{TMP_PREFIX}*")), timeout=5)
    finally:
        parent.kill()
        parent.wait()
        for pid in members:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_released_lifeline_leaves_the_group_and_directories_alone(tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    child = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        lifeline = Lifeline(child.pid, remove=[keep])
        watcher = lifeline.watcher_pid
        lifeline.release()
        assert watcher is not None and not _running(watcher)
        assert child.poll() is None and keep.is_dir()
    finally:
        child.kill()
        child.wait()


def _children(pid: int) -> list[int]:
    return [p for p, fields in _processes() if fields[1] == str(pid)]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.skipif(
    not (REPO_ROOT / "node_modules" / ".bin" / "cdk").exists(), reason="needs `make setup`"
)
def test_the_demo_killed_during_cdk_leaves_no_process_and_no_temp_dir(tmp_path: Path) -> None:
    """The case the review found: ``kill -9`` of the demo while the CDK CLI runs."""
    work = tmp_path / "demo"
    command = [sys.executable, "-m", "cdk_lambda_xray", "demo", "--app-dir", str(REPO_ROOT)]
    demo = subprocess.Popen(
        [*command, "--work-dir", str(work), "--no-color"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    members: list[int] = []
    try:
        # MiniStack is up and `cdk bootstrap` has started once the CLI's TMPDIR exists.
        _wait(lambda: list(work.glob(f"{TMP_PREFIX}*")), timeout=120)
        assert list(work.glob(".ministack-*"))
        groups = {os.getpgid(pid) for pid in _children(demo.pid)}
        members = [pid for pgid in groups for pid in _group(pgid)]
        assert len(groups) >= 2 and len(members) >= 3  # MiniStack's group and the CLI's
        demo.send_signal(signal.SIGKILL)
        demo.wait()
        seconds = _wait(lambda: not any(_running(pid) for pid in members), timeout=15)
        assert seconds < 5
        _wait(lambda: not [*work.glob(f"{TMP_PREFIX}*"), *work.glob(".ministack-*")], timeout=5)
    finally:
        demo.kill()
        demo.wait()
        for pid in members:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
