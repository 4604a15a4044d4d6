"""Extraction: read an assembly's templates into the review's :class:`~..model.Model`.

One module per kind of resource: :mod:`.iam` (roles, policies, what a role
lets a function call), :mod:`.functions` (layer versions and functions),
:mod:`.upstream` (topics, stages, state machines, X-Ray resource policies) and
:mod:`.event_sources` (one extractor per CloudFormation type that can invoke a
function), sharing :class:`.context.Extraction`. The order they run in is
:func:`..build.build_model`'s.
"""
