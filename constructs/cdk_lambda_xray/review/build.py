"""Build the :class:`~.model.Model` from an :class:`~.assembly.Assembly`.

Walks every template once, resolves the references that link resources
(function -> role -> policies, layers; event sources -> functions; API stages,
topics, state machines) and records what it could not resolve. The reading is
split by kind of resource in :mod:`.extract`; this module only says in which
order: each step reads what the ones before it found.
"""

from __future__ import annotations

from .assembly import Assembly
from .extract.context import Extraction
from .extract.event_sources import extract_event_sources
from .extract.functions import FunctionExtractor
from .extract.iam import extract_downstream, extract_roles
from .extract.upstream import extract_upstream
from .model import Model

__all__ = ["build_model"]


def build_model(assembly: Assembly) -> Model:
    """Link the resources of every template of ``assembly`` into a :class:`Model`."""
    ctx = Extraction(assembly)
    ctx.index()
    extract_roles(ctx)  # functions and state machines name their roles
    FunctionExtractor(ctx).extract()  # layer versions, then the functions using them
    extract_upstream(ctx)  # topics, stages, state machines: what a hop is judged on
    extract_event_sources(ctx)
    extract_downstream(ctx)
    # last: reading layer assets may add notes (an asset path outside the assembly)
    ctx.model.notes.extend(assembly.notes)
    return ctx.model
