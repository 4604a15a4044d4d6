"""The one redaction every string the layer records goes through.

:func:`redact` is applied where exception messages are recorded (every
``cause``, on every subsegment, the handler's included), to subsegment
names and to the URLs the client patches record. It removes:

- from URLs (absolute, or a path with a query): the query string, the
  fragment and ``user:password@``; ``http://u:p@host/p?api_key=S#f`` becomes
  ``http://host/p``. A ``?name=value`` outside a URL loses its value too;
- from S3 URLs (``bucket.s3.<region>.amazonaws.com/<key>``,
  ``s3.<region>.amazonaws.com/<bucket>/<key>``) and S3 ARNs
  (``arn:aws:s3:::<bucket>/<key>``, ``.../accesspoint/<name>/object/<key>``):
  the object key, which becomes :data:`PLACEHOLDER`; the bucket stays;
- from URLs quoted by botocore's connection errors (``Could not connect to
  the endpoint URL: "..."``, timeouts, SSL failures): the whole path of
  hosts that are not S3's, since an AWS request path is made of request
  values (for a custom endpoint the layer cannot tell a bucket from a key);
- from validation messages (botocore's ``ParamValidationError`` report,
  its ``ValidationError``/``RangeError``/``UnknownKeyError`` and boto3's
  DynamoDB type errors): the request value quoted;
- from http.client's ``nonnumeric port: 'password@host'``: the password.

What stays: scheme, host, port, path (bar the cases above), bucket,
parameter names, types, and all the text around them.

Cost: a message without ``://``, ``?``, ``#``, ``arn:``, ``alue``,
``key '``, ``host='`` or ``port:`` is returned as it is after those
substring tests; only messages holding one of them pay for the regular
expressions, which are compiled on first use (``re`` is not imported
before). Every rule takes time linear in the text's length, whatever it
holds (no expression rescans a long word from each of its characters).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Final

__all__ = ["PLACEHOLDER", "redact", "url_path"]

#: What a removed object key or request value is replaced by.
PLACEHOLDER: Final = "<redacted>"

# What may follow a quoted URL's closing quote and is given back after its query.
_CLOSING: Final = "'\")]},.;:"

_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SCHEME_CHARS: Final = _LETTERS | frozenset("0123456789+.-")

# Text just before a URL that says botocore is quoting a request URL.
_ENDPOINT_CONTEXTS: Final = ('endpoint URL: "', "validation failed for ")

# (prefix, the texts the value ends before). The value runs from the end of
# the prefix to the LAST ending in its report line (a value may contain an
# ending itself), or to the end of the line when there is none.
_VALUE_RULES: Final = (
    (
        r"Invalid (?:type|value|length) for (?:document )?parameter [^\n]*?, value: ",
        (", type: <class ", ", valid min value: ", ", valid min length: "),
    ),
    (r"Invalid value \('", ("') for param ",)),
    (r"Unknown key '", ("' for param '",)),
    (r"Value out of range for param [^:\n]*: [^<\n]*? <= ", (" <= ",)),
    (r'Unsupported type "[^"\n]*" for value "', ('"',)),
)
# A validation report is one error per line; a line starts like one of these.
_REPORT_LINE: Final = (
    r"\n(?=Invalid |Missing required |Unknown |Value out of range |Unsupported type )"
)


class _Patterns:
    """The compiled expressions, built on the first message that needs them."""

    def __init__(self) -> None:
        import re

        # From "://" on; the scheme is read backwards from there (_absolute_urls).
        self.url: re.Pattern[str] = re.compile(
            r"://"
            r"(?P<authority>[^/\s?#\"<>\\]*)"
            r"(?P<path>[^\s?#\"<>]*)"
            r"(?P<rest>[?#][^\s\"<>]*)?"
        )
        # One try per word (the look-behind): no quadratic rescans of long words.
        self.path_query = re.compile(
            r"(?<![^\s\"<>])(?P<lead>[^\s\"<>?#/]*)(?P<path>/[^\s\"<>?#]*)?"
            r"(?P<rest>[?#][^\s\"<>]*)"
        )
        self.query = re.compile(r"(?P<path>[?#][\w.~%+-]+=)(?P<rest>[^\s\"<>]+)")
        self.arn = re.compile(
            r"arn:aws[\w-]*:s3(?:-object-lambda|-outposts)?:(?P<region>[^:\s\"']*):"
            r"(?P<account>[^:\s\"']*):"
        )
        self.pool = re.compile(
            r"host='(?P<host>[^'\s]*)', port=\w*\): Max retries exceeded with url: (?P<path>\S*)"
        )
        self.port = re.compile(r"nonnumeric port: '[^'\n]*@")
        self.report_line = re.compile(_REPORT_LINE)
        self.values = tuple((re.compile(prefix), ends) for prefix, ends in _VALUE_RULES)


_compiled: list[_Patterns] = []


def redact(text: str) -> str:
    """``text`` without query strings, fragments, credentials, object keys or request values.

    See the module documentation for the exact rules. Never raises for a
    ``str`` (a subclass is read as a plain ``str``); anything else is
    returned unchanged.
    """
    if type(text) is not str:
        if not isinstance(text, str):
            return text
        text = str.__str__(text)
    if not (  # the usual message has none of these (see the module documentation)
        "://" in text
        or "?" in text
        or "#" in text
        or "arn:" in text
        or "alue" in text
        or "key '" in text
        or "host='" in text
        or "port:" in text
    ):
        return text
    if not _compiled:
        _compiled.append(_Patterns())
    patterns = _compiled[0]
    if "arn:" in text:
        text = _s3_arns(text, patterns)
    if "host='" in text:
        text = patterns.pool.sub(_pool_url, text)
    if "://" in text:
        text = _absolute_urls(text, patterns)
    if "?" in text or "#" in text:
        text = patterns.path_query.sub(_without_query, text)
        text = patterns.query.sub(_without_query_value, text)
    if "alue" in text or "key '" in text:
        text = _values(text, patterns)
    if "port:" in text:
        text = patterns.port.sub("nonnumeric port: '" + PLACEHOLDER + "@", text)
    return text


# -- URLs -------------------------------------------------------------------------


def url_path(scheme: str, host: str, path: str) -> str:
    """The path to record for a request to ``scheme://host`` (a client patch's
    ``http.request.url``): ``path`` without the object key when it is S3's.

    ``path`` has no query string or fragment; ``host`` may carry a port.
    """
    return _url_path(host, path, False, scheme)


def _absolute_urls(text: str, patterns: _Patterns) -> str:
    """Every ``scheme://...`` in ``text`` reduced to ``scheme://host[:port]/path``.

    Matches are found from each ``://`` forwards, the scheme backwards from it
    (letters, digits, ``+ . -``, starting with a letter), so every character
    is looked at a bounded number of times, whatever the text.
    """
    out: list[str] = []
    position = 0
    for match in patterns.url.finditer(text):
        start = begin = match.start()
        while begin > position and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        while begin < start and text[begin] not in _LETTERS:
            begin += 1
        scheme = text[begin:start]
        authority, path = match.group("authority", "path")
        host = authority.rpartition("@")[2]
        endpoint = text[max(0, begin - 24) : begin].endswith(_ENDPOINT_CONTEXTS)
        path = _url_path(host, path, endpoint, scheme)
        out.append(f"{text[position:begin]}{scheme}://{host}{path}{_closing_quote(match)}")
        position = match.end()
    out.append(text[position:])
    return "".join(out)


def _without_query(match: re.Match[str]) -> str:
    if match.group("path") is None:
        return match.group(0)  # no path before the "?": the next rule's business
    return match.group("lead") + match.group("path") + _closing_quote(match)


def _without_query_value(match: re.Match[str]) -> str:
    return match.group("path") + PLACEHOLDER + _closing_quote(match)


def _closing_quote(match: re.Match[str]) -> str:
    """The closing ``'`` (and ``)``, ``,`` ...) of a quoted URL (a Python
    ``repr``) that the dropped query ran into; never a letter or digit of it."""
    rest = match.group("rest")
    at = rest.rfind("'") if rest else -1
    if at < 0:
        return ""
    tail = rest[at:]
    return tail if tail.strip(_CLOSING) == "" else ""


def _pool_url(match: re.Match[str]) -> str:
    """urllib3's ``host='h', port=p): Max retries exceeded with url: /path``."""
    path = match.group("path")
    kept = _url_path(match.group("host"), path, False)
    return match.group(0) if kept == path else match.group(0)[: -len(path) or None] + kept


def _url_path(host: str, path: str, endpoint: bool, scheme: str = "") -> str:
    """``path`` of a URL to ``host``, without the object key of an S3 URL.

    ``endpoint``: the URL is one botocore quotes in a connection error,
    whose path (made of request values) is dropped unless it is S3's.
    """
    if len(path) <= 1:
        return path
    if scheme.lower() == "s3":  # s3://bucket/key
        return "/" + PLACEHOLDER
    s3_label = _s3_label(host)
    if s3_label > 0:  # virtual-hosted: the whole path is the key
        return "/" + PLACEHOLDER
    if s3_label == 0:  # path-style: /bucket/key
        bucket, _, key = path[1:].partition("/")
        return f"/{bucket}/{PLACEHOLDER}" if key else path
    return "/" + PLACEHOLDER if endpoint else path


def _s3_label(host: str) -> int:
    """Index of the ``s3``/``s3-*`` label of an S3 host name; -1 for any other host."""
    name = host.lower()
    if name.startswith("["):
        return -1
    name = name.partition(":")[0]
    if not (name.endswith(".amazonaws.com") or name.endswith(".amazonaws.com.cn")):
        return -1
    found = -1  # the last one: a bucket may be called "s3-something" too
    for index, label in enumerate(name.split(".")):
        if label == "s3" or label.startswith("s3-"):
            found = index
    return found


# -- S3 ARNs ------------------------------------------------------------------------


def _s3_arns(text: str, patterns: _Patterns) -> str:
    """Each S3 ARN's object key replaced; the ARN ends at whitespace, or at its
    closing quote when it is quoted."""
    out: list[str] = []
    position = 0
    for match in patterns.arn.finditer(text):
        start, resource_start = match.start(), match.end()
        if start < position:
            continue  # inside the previous ARN's resource
        quote = text[start - 1] if start and text[start - 1] in "\"'" else ""
        end = _resource_end(text, resource_start, quote)
        plain_bucket = not match.group("region") and not match.group("account")
        out.append(text[position:resource_start])
        out.append(_without_key(text[resource_start:end], plain_bucket))
        position = end
    out.append(text[position:])
    return "".join(out)


def _resource_end(text: str, start: int, quote: str) -> int:
    if quote:
        ends = [i for i in (text.find(quote, start), text.find("\n", start)) if i >= 0]
        return min(ends) if ends else len(text)
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    return end


def _without_key(resource: str, plain_bucket: bool) -> str:
    """``bucket/<key>`` (``arn:aws:s3:::``), or ``accesspoint/name/object/<key>``
    (an ARN with region and account: access points, Outposts, Object Lambda)."""
    if plain_bucket:
        bucket, slash, key = resource.partition("/")
        return bucket + slash + PLACEHOLDER if key else resource
    at = resource.find("/object/")
    return resource[: at + 8] + PLACEHOLDER if at >= 0 else resource


# -- validation messages -----------------------------------------------------------


def _values(text: str, patterns: _Patterns) -> str:
    lines = patterns.report_line.split(text)
    return "\n".join(_line_values(line, patterns) for line in lines)


def _line_values(line: str, patterns: _Patterns) -> str:
    for prefix, ends in patterns.values:
        position = 0
        while True:
            match = prefix.search(line, position)
            if match is None:
                break
            start = match.end()
            end = max(line.rfind(ending, start) for ending in ends)
            rest = line[end:] if end >= 0 else ""
            line = line[:start] + PLACEHOLDER + rest
            position = start + len(PLACEHOLDER)
    return line
