"""How the input checks see values: jsii interfaces, tokens and short reprs, without jsii calls.

Testing what a jsii object is must not cost a round trip to the jsii runtime
(a node process) on the happy path. Every object the kernel hands to Python is
a proxy whose class, or for objects of private classes whose delegates'
classes, declares the jsii type names it implements; :func:`implements`
reads those declarations (cached per class).
"""

from __future__ import annotations

import keyword
import math
import reprlib

import jsii

__all__ = [
    "a_kind",
    "cdk_name",
    "construct_path",
    "implements",
    "is_jsii_object",
    "is_token",
    "shown",
]


#: What the jsii kernel hands back for an object of a private class that
#: implements public interfaces (an imported layer version, an imported role).
_DynamicProxy = jsii._reference_map.InterfaceDynamicProxy


# --- how values are shown ---------------------------------------------------------------

_REPR = reprlib.Repr()
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 3


def shown(value: object) -> str:
    """``repr(value)``, shortened; a construct as ``<Type path>``; never raises."""
    try:
        if implements(value, "constructs.IConstruct"):
            path = construct_path(value)
            return f"<{type(value).__name__} {path or '(root)'}>"
        return _REPR.repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        return f"<{type(value).__name__}>"


def a_kind(value: object) -> str:
    """'a str', 'an int', 'None'."""
    if value is None:
        return "None"
    if isinstance(value, _DynamicProxy):
        return "an imported CDK object"
    name = type(value).__name__.lstrip("_").removesuffix("Proxy")  # _BucketBaseProxy
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def cdk_name(cls: type) -> str:
    """``aws_cdk.aws_lambda.Runtime`` -> ``lambda_.Runtime`` (how the docs import it)."""
    module = cls.__module__
    if module.startswith("aws_cdk.interfaces."):
        module = "aws_cdk." + module.removeprefix("aws_cdk.interfaces.")
    if module.startswith("aws_cdk.aws_"):
        short = module.removeprefix("aws_cdk.aws_").split(".")[0]
        short = f"{short}_" if keyword.iskeyword(short) else short
        return f"{short}.{cls.__name__}"
    if module == "aws_cdk":
        return f"cdk.{cls.__name__}"
    if module.startswith("cdk_lambda_xray"):
        return cls.__name__
    return f"{module.split('.')[0]}.{cls.__name__}"


# --- tokens ------------------------------------------------------------------------------


def is_token(value: object) -> bool:
    """An encoded CDK token: a string or a number. Asked only after a check failed."""
    import aws_cdk as cdk

    from .validation import is_unresolved

    if isinstance(value, str):
        return is_unresolved(value)
    if isinstance(value, float):
        # CDK encodes number tokens as huge finite doubles (about -1.89e289); asking
        # the kernel about NaN or infinity would kill it (they are not JSON).
        return _NUMBER_TOKEN_MIN < abs(value) < math.inf and bool(cdk.Token.is_unresolved(value))
    return False


_NUMBER_TOKEN_MIN = 1e288


# --- jsii interfaces, tested in Python ---------------------------------------------------

_INTERFACES_OF: dict[type, frozenset[str]] = {}


def _interfaces_of_class(cls: type) -> frozenset[str]:
    """The jsii type names a Python class declares: its own, its bases', their interfaces'."""
    known = _INTERFACES_OF.get(cls)
    if known is not None:
        return known
    names: set[str] = set()
    for klass in cls.__mro__:
        own = klass.__dict__.get("__jsii_type__")
        if isinstance(own, str):
            names.add(own)  # a class, or an interface's proxy class
        for iface in klass.__dict__.get("__jsii_ifaces__", ()):
            names.update(
                base.__dict__["__jsii_type__"]
                for base in iface.__mro__
                if isinstance(base.__dict__.get("__jsii_type__"), str)
            )
    known = _INTERFACES_OF[cls] = frozenset(names)
    return known


def is_jsii_object(value: object) -> bool:
    """True for any object jsii knows: CDK classes, proxies, structs, enums, user classes."""
    if isinstance(value, _DynamicProxy):
        return True
    return any("__jsii_type__" in vars(klass) for klass in type(value).__mro__)


def implements(value: object, jsii_type: str) -> bool:
    """True when ``value`` is a jsii object that is, or implements, ``jsii_type``.

    No jsii call: an object the kernel hands back is a proxy whose class (or,
    for objects of private classes, whose delegates' classes) declares every
    interface the object implements.
    """
    if isinstance(value, _DynamicProxy):
        delegates = object.__getattribute__(value, "_delegates")
        return any(jsii_type in _interfaces_of_class(type(d)) for d in delegates)
    return jsii_type in _interfaces_of_class(type(value))


def construct_path(value: object) -> str | None:
    """The construct path of ``value`` (``"App"`` for the root), or ``None``. One jsii call."""
    if not implements(value, "constructs.IConstruct"):
        return None
    try:
        path = value.node.path  # type: ignore[attr-defined]
    except Exception:
        return None
    return str(path) if path else "App"
