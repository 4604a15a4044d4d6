"""The one exception type raised at synth time by the construct library."""

from __future__ import annotations

__all__ = ["TracingConfigError"]


class TracingConfigError(ValueError):
    """A tracing setting that cannot work, found while building the app.

    The message names the construct path, the value that was given and how to
    fix it, so ``cdk synth`` output alone is enough to act on it. The parts are
    kept as attributes for tools and tests.
    """

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}. Fix: {fix}")
