"""Logging for the layer: ``logging`` is imported only when there is something to say.

Lambda's runtime already configured ``logging`` (its records reach CloudWatch
with the request id), so using it costs nothing there; outside Lambda the
first message pays the import. Messages a user could see on every call are
logged once per process (``*_once``), keyed by a short string.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LOGGER_NAME = "lambda_xray"

_said: set[str] = set()


def _logger() -> Any:
    import logging

    return logging.getLogger(LOGGER_NAME)


def error_once(key: str, message: str, *args: object) -> None:
    """Log ``message`` at ERROR the first time ``key`` is seen in this process."""
    if key not in _said:
        _said.add(key)
        _logger().error(message, *args)


def warning_once(key: str, message: str, *args: object, exc_info: bool = False) -> None:
    """Log ``message`` at WARNING the first time ``key`` is seen in this process.

    ``exc_info=True`` adds the exception being handled, if any.
    """
    if key not in _said:
        _said.add(key)
        _logger().warning(message, *args, exc_info=exc_info)


def forget() -> None:
    """Allow every once-only message to be logged again (tests, ``testing.reset``)."""
    _said.clear()
