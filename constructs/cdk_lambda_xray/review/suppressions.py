"""Suppressions: accepted findings, each with a mandatory reason.

Read from a JSON file (``--suppressions FILE``) and/or from the ``context`` of
the app's ``cdk.json`` under :data:`CONTEXT_KEY`. Either holds a list (or
``{"suppressions": [...]}``) of entries::

    {"rule": "XRAY013", "resource": "MyStack/BucketNotificationsHandler*",
     "reason": "deploy-time only; traced in staging"}

``rule`` is a rule id; ``resource`` (default ``*``) is a glob matched against
the finding's construct path (``MyStack/Fn``), ``Stack/LogicalId`` or the
logical id. A missing or empty ``reason`` is an error, not a silent skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final

from .. import ids
from .files import AssemblyError, parse_json, read_bytes
from .rules import RULES_BY_ID, Finding

#: cdk.json ``context`` key holding suppressions (the old ``@cdk-lambda-xray/...`` too, for a
#: release).
CONTEXT_KEY: Final = ids.CONTEXT_REVIEW_SUPPRESSIONS
_KEYS: Final = frozenset({"rule", "resource", "reason"})


class SuppressionError(ValueError):
    """A suppression entry is invalid; the message names the entry and the fix."""


@dataclass(frozen=True, slots=True)
class Suppression:
    rule: str
    resource: str
    reason: str
    origin: str

    def matches(self, finding: Finding) -> bool:
        if finding.rule_id != self.rule:
            return False
        candidates = (finding.path, str(finding.resource), finding.resource.logical_id)
        return any(fnmatchcase(c, self.resource) for c in candidates)


def parse(data: Any, origin: str) -> list[Suppression]:
    """Validate suppression entries from ``origin`` (a file name, for messages)."""
    if isinstance(data, dict) and "suppressions" in data:
        data = data["suppressions"]
    if not isinstance(data, list):
        raise SuppressionError(
            f"{origin}: suppressions must be a JSON list of "
            '{"rule": ..., "resource": ..., "reason": ...} objects'
        )
    out = []
    for index, entry in enumerate(data):
        where = f"{origin}: suppression #{index + 1}"
        if not isinstance(entry, dict):
            raise SuppressionError(f"{where} is {entry!r}, not an object")
        unknown = set(entry) - _KEYS
        if unknown:
            raise SuppressionError(
                f"{where} has unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_KEYS))}"
            )
        rule = entry.get("rule")
        if not isinstance(rule, str) or rule not in RULES_BY_ID:
            raise SuppressionError(
                f"{where}: rule {rule!r} is not a review rule id (XRAY001..XRAY"
                f"{len(RULES_BY_ID):03d}; see docs/review.md)"
            )
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise SuppressionError(
                f"{where} ({rule}) has no reason: every suppression must say why the "
                'finding is acceptable, e.g. "reason": "deploy-time only"'
            )
        resource = entry.get("resource", "*")
        if not isinstance(resource, str) or not resource:
            raise SuppressionError(f"{where}: resource must be a non-empty glob string")
        out.append(Suppression(rule, resource, reason.strip(), origin))
    return out


def _load_json(path: Path) -> Any:
    """The JSON in ``path``, read with the assembly's limits (size, UTF-8, numbers, depth)."""
    try:
        return parse_json(read_bytes(path, "suppressions file"), str(path))
    except AssemblyError as exc:
        raise SuppressionError(str(exc)) from None


def load_file(path: str | Path) -> list[Suppression]:
    """Suppressions from a JSON file (a list, or a cdk.json with the context key)."""
    file = Path(path)
    data = _load_json(file)
    if isinstance(data, dict) and "context" in data and "suppressions" not in data:
        return load_cdk_json(file)
    return parse(data, str(file))


def load_cdk_json(path: str | Path) -> list[Suppression]:
    """Suppressions from ``context[CONTEXT_KEY]`` of a ``cdk.json`` (none if absent)."""
    file = Path(path)
    data = _load_json(file)
    context = data.get("context") if isinstance(data, dict) else None
    if not isinstance(context, dict):
        return []
    key = next((k for k in ids.spellings(CONTEXT_KEY) if k in context), None)
    if key is None:
        return []
    return parse(context[key], f"{file} (context {key})")


def apply(
    findings: Iterable[Finding], suppressions: Sequence[Suppression]
) -> tuple[list[Finding], list[tuple[Finding, Suppression]], list[Suppression]]:
    """Split findings into (kept, suppressed with their suppression, unused suppressions)."""
    kept: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    used: set[Suppression] = set()
    for finding in findings:
        match = next((s for s in suppressions if s.matches(finding)), None)
        if match is None:
            kept.append(finding)
        else:
            suppressed.append((finding, match))
            used.add(match)
    return kept, suppressed, [s for s in suppressions if s not in used]
