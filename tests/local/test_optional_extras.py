"""The construct library works without jinja2; the commands that need it name the extra.

One real subprocess in which jinja2 cannot be imported (a meta-path blocker, as
in an environment where ``pip install cdk-lambda-xray`` installed no extras):
the construct import and a ``TracedFunction`` synth succeed without loading
jinja2, then ``review`` and ``traces --html`` each print the one line naming
the extra to install and exit with ``MISSING_EXTRA``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from cdk_lambda_xray.__main__ import COMMANDS, EXTRAS, MISSING_EXTRA

REPO_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys

    class BlockJinja:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {"jinja2", "markupsafe"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, BlockJinja())
    out_dir, documents, page = sys.argv[1:4]

    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_
    from cdk_lambda_xray import TracedFunction, trace_app

    app = cdk.App(outdir=out_dir)
    stack = cdk.Stack(app, "NoJinja")
    TracedFunction(
        stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\\n    return 1\\n"),
    )
    trace_app(app)
    template = app.synth().get_stack_by_name("NoJinja").template
    synth = {
        "tracing": [r["Properties"].get("TracingConfig") for r in template["Resources"].values()
                    if r["Type"] == "AWS::Lambda::Function"],
        "jinja2_loaded": "jinja2" in sys.modules,
    }
    from cdk_lambda_xray.__main__ import main

    review = main(["review", out_dir, "--format", "html", "--output", out_dir + "/review"])
    traces = main(["traces", documents, "--html", page])
    print("RESULT " + json.dumps({**synth, "review": review, "traces": traces}))
    """
)


@pytest.fixture(scope="module")
def without_jinja(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], str]:
    work = tmp_path_factory.mktemp("no-jinja")
    documents = work / "traces.jsonl"
    doc = {"name": "fn", "id": "1" * 16, "trace_id": "1-6743a2b1-" + "0" * 24, "start_time": 1.0}
    documents.write_text(json.dumps({**doc, "end_time": 1.5}) + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(work / "cdk.out"), str(documents), str(work / "t.html")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr
    return json.loads(lines[0].removeprefix("RESULT ")), proc.stderr


def test_traced_function_synthesizes_without_jinja2(
    without_jinja: tuple[dict[str, object], str],
) -> None:
    result, _ = without_jinja
    assert result["tracing"] == [{"Mode": "Active"}]
    assert result["jinja2_loaded"] is False


@pytest.mark.parametrize(("command", "extra"), [("review", "review"), ("traces", "local")])
def test_a_command_needing_jinja2_names_its_extra_in_one_line(
    without_jinja: tuple[dict[str, object], str], command: str, extra: str
) -> None:
    result, stderr = without_jinja
    assert result[command] == MISSING_EXTRA
    expected = (
        f"`python -m cdk_lambda_xray {command}` needs jinja2, which is not installed: "
        f"pip install 'cdk-lambda-xray[{extra}]'"
    )
    assert expected in stderr.splitlines()
    assert "Traceback" not in stderr


def test_the_extras_the_commands_name_are_the_package_s_extras() -> None:
    """Each command's extra exists in pyproject.toml and installs the modules it is blamed for;
    the library's own dependencies include none of them."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for name, command in COMMANDS.items():
        assert command.extra in extras, f"{name}: no extra {command.extra!r} in pyproject.toml"
    for extra, modules in EXTRAS.items():
        installed = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in extras[extra]}
        assert installed <= modules, f"[{extra}] installs {installed - modules} not listed"
    base = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    assert base == {"aws-cdk-lib", "constructs"}
