"""The one redaction every recorded string goes through, property-tested.

Messages are generated: URLs with random credentials, query strings and
fragments inside random text; S3 ARNs and S3 URLs with random object keys;
botocore's own exceptions (their real message formats) quoting such URLs;
botocore's real parameter validator and boto3's real DynamoDB serializer
quoting random request values. Every secret is wrapped in two markers, so a
secret cut in half is caught as surely as a whole one. The parts that are
not secret (scheme, host, port, path, bucket, parameter names) must survive.
"""

from __future__ import annotations

import string
from typing import Any

import botocore.exceptions  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import botocore.validate  # type: ignore[import-untyped]
import pytest
from boto3.dynamodb.types import TypeSerializer  # type: ignore[import-untyped]
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lambda_xray.document import sanitize_name
from lambda_xray.redact import PLACEHOLDER, redact

START, END = "QZJ", "JZQ"  # around every secret; never produced by the generators' text

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text around a secret: anything that cannot spell a marker, nor start a message
# whose rest is redacted on purpose (a validation message runs to its end).
STRUCTURE = ("Invalid ", "Unknown key", "Value out of range", "Unsupported type", "value: ")
STRUCTURE += ("nonnumeric port", "endpoint URL", "validation failed for", "host='", "arn:")
filler = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="QZJ\x00", max_codepoint=0x2FF
    ),
    max_size=40,
).filter(lambda text: not any(part in text for part in STRUCTURE))
# URL text without the markers' letters, so no path, host or key can spell one.
LETTERS = "".join(c for c in string.ascii_letters if c not in START + END)
UNRESERVED = LETTERS + string.digits + "-._~"
SUB_DELIMS = "!$&'()*+,;="
userinfo_chars = st.text(alphabet=UNRESERVED + SUB_DELIMS + ":", min_size=1, max_size=20)
query_chars = st.text(alphabet=UNRESERVED + SUB_DELIMS + ":@/?'", max_size=30)
path_segment = st.text(alphabet=UNRESERVED + "!$()*+,;=:@", min_size=1, max_size=12)
key_chars = st.text(alphabet=UNRESERVED + "!$'()*+,;=:@/%", max_size=30)
label = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)
hosts = st.one_of(
    st.lists(label, min_size=1, max_size=4).map(".".join),
    st.integers(1, 254).map(lambda n: f"10.0.0.{n}"),
)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
paths = st.lists(path_segment, max_size=4).map(lambda segments: "/" + "/".join(segments))
buckets = st.from_regex(r"[a-z0-9][a-z0-9-]{2,30}[a-z0-9]", fullmatch=True)
regions = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"])


def secret(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return inner.map(lambda text: START + text + END)


def assert_gone(out: str, *secrets: str) -> None:
    for value in secrets:
        assert value not in out
    assert START not in out and END not in out, out


# -- URLs ---------------------------------------------------------------------------


@st.composite
def urls_with_secrets(draw: Any) -> tuple[str, str, list[str]]:
    """(url, the part that must survive, the secrets in it)."""
    scheme = draw(st.sampled_from(["http", "https", "HTTPS", "ftp", "git+ssh"]))
    host = draw(hosts) + draw(ports)
    path = draw(paths)
    secrets: list[str] = []
    userinfo = ""
    if draw(st.booleans()):
        password = draw(secret(userinfo_chars))
        userinfo = draw(userinfo_chars) + ":" + password + "@"
        secrets.append(password)
    query = ""
    if draw(st.booleans()) or not secrets:
        token = draw(secret(query_chars))
        query = "?" + draw(label) + "=" + token + draw(query_chars)
        secrets.append(token)
    fragment = ""
    if draw(st.booleans()):
        hidden = draw(secret(query_chars))
        fragment = "#" + hidden
        secrets.append(hidden)
    url = f"{scheme}://{userinfo}{host}{path}{query}{fragment}"
    return url, f"{scheme}://{host}{path}", secrets


@SETTINGS
@given(urls_with_secrets(), filler, filler, st.sampled_from(["", "'", '"', "<", "("]))
def test_urls_lose_credentials_query_and_fragment_but_keep_host_and_path(
    url: tuple[str, str, list[str]], before: str, after: str, quote: str
) -> None:
    full, kept, secrets = url
    closing = {"(": ")", "<": ">"}.get(quote, quote)
    message = f"{before} {quote}{full}{closing} {after}"
    out = redact(message)
    assert_gone(out, *secrets)
    assert kept in out


@SETTINGS
@given(paths, secret(query_chars), filler)
def test_a_path_with_a_query_loses_the_query(path: str, token: str, after: str) -> None:
    message = f"Max retries exceeded with url: {path}?api_key={token} {after}"
    out = redact(message)
    assert_gone(out, token)
    assert f"url: {path} " in out


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("http://user:pass@host/p?api_key=S#f", "http://host/p"),
        ("GET 'https://h/p?t=1' failed", "GET 'https://h/p' failed"),
        ("KeyError('https://h/p?t=1')", "KeyError('https://h/p')"),
        ("see host?token=abc&x=1 now", f"see host?token={PLACEHOLDER} now"),
        ("s3://bucket/users/alice/a.png", f"s3://bucket/{PLACEHOLDER}"),
        ("nonnumeric port: 'hunter2@127.0.0.1'", f"nonnumeric port: '{PLACEHOLDER}@127.0.0.1'"),
    ],
)
def test_url_examples(message: str, expected: str) -> None:
    assert redact(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "Item not found: order 42",
        "invalid literal for int() with base 10: 'abc'",
        "list index out of range",
        "What? No! #1 of 3",
        "'NoneType' object has no attribute 'get'",
        "An error occurred (ResourceNotFoundException) when calling the GetItem operation: "
        "Requested resource not found",
        "",
    ],
)
def test_ordinary_messages_are_left_as_they_are(message: str) -> None:
    assert redact(message) == message


# -- S3 ---------------------------------------------------------------------------------


@SETTINGS
@given(buckets, secret(key_chars), filler, filler, st.sampled_from(["aws", "aws-cn", "aws-us-gov"]))
def test_s3_object_arns_keep_the_bucket_and_lose_the_key(
    bucket: str, key: str, before: str, after: str, partition: str
) -> None:
    arn = f"arn:{partition}:s3:::{bucket}/{key}"
    out = redact(f"{before} {arn} {after}")
    assert_gone(out, key)
    assert f"arn:{partition}:s3:::{bucket}/{PLACEHOLDER}" in out


@SETTINGS
@given(buckets, secret(st.text(alphabet=UNRESERVED + " /@'", max_size=30)), regions)
def test_a_quoted_arn_loses_a_key_with_spaces(bucket: str, key: str, region: str) -> None:
    """S3's AccessDenied message quotes the object ARN; keys may hold spaces."""
    message = (
        f"User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to "
        f'perform: s3:GetObject on resource: "arn:aws:s3:::{bucket}/{key}" because no '
        f"identity-based policy allows the s3:GetObject action"
    )
    out = redact(message)
    assert_gone(out, key)
    assert f'"arn:aws:s3:::{bucket}/{PLACEHOLDER}" because no identity-based' in out
    assert "arn:aws:sts::123456789012:assumed-role/fn-role/fn" in out


@SETTINGS
@given(st.from_regex(r"[a-z][a-z0-9-]{2,20}", fullmatch=True), secret(key_chars), regions)
def test_access_point_object_arns_lose_the_key(name: str, key: str, region: str) -> None:
    arn = f"arn:aws:s3:{region}:123456789012:accesspoint/{name}/object/{key}"
    out = redact(f"denied on {arn}")
    assert_gone(out, key)
    assert f"accesspoint/{name}/object/{PLACEHOLDER}" in out


@st.composite
def s3_urls(draw: Any) -> tuple[str, str, str]:
    """(url, the part that must survive, the key)."""
    bucket, region = draw(buckets), draw(regions)
    key = draw(secret(key_chars))
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    if draw(st.booleans()):
        host = f"{bucket}.s3.{region}{suffix}"
        return f"https://{host}/{key}", f"https://{host}/{PLACEHOLDER}", key
    host = f"s3.{region}{suffix}"
    return f"https://{host}/{bucket}/{key}", f"https://{host}/{bucket}/{PLACEHOLDER}", key


@SETTINGS
@given(s3_urls(), st.sampled_from(["", "?X-Amz-Signature=abc&X-Amz-Expires=60"]), filler)
def test_s3_urls_lose_the_key(url: tuple[str, str, str], query: str, after: str) -> None:
    full, kept, key = url
    out = redact(f"GET {full}{query} failed: {after}")
    assert_gone(out, key)
    assert kept in out


ENDPOINT_ERRORS = [
    lambda url: botocore.exceptions.EndpointConnectionError(endpoint_url=url),
    lambda url: botocore.exceptions.ConnectTimeoutError(endpoint_url=url),
    lambda url: botocore.exceptions.ReadTimeoutError(endpoint_url=url),
    lambda url: botocore.exceptions.SSLError(endpoint_url=url, error="certificate verify failed"),
]


@SETTINGS
@given(s3_urls(), st.sampled_from(ENDPOINT_ERRORS))
def test_botocore_connection_errors_to_s3_keep_the_bucket_and_lose_the_key(
    url: tuple[str, str, str], make: Any
) -> None:
    full, kept, key = url
    out = redact(str(make(full + "?x-id=GetObject")))
    assert_gone(out, key)
    assert kept in out


@SETTINGS
@given(
    st.integers(1, 65535),
    buckets,
    secret(key_chars),
    st.sampled_from(ENDPOINT_ERRORS),
)
def test_botocore_connection_errors_to_a_custom_endpoint_lose_the_whole_path(
    port: int, bucket: str, key: str, make: Any
) -> None:
    """A custom endpoint's path could be /bucket/key or /key: nothing of it is kept."""
    out = redact(str(make(f"http://127.0.0.1:{port}/{bucket}/{key}")))
    assert_gone(out, key)
    assert f"http://127.0.0.1:{port}/{PLACEHOLDER}" in out


# -- validation messages -------------------------------------------------------------


@pytest.fixture(scope="module")
def put_item_shape() -> Any:
    model = botocore.session.get_session().get_service_model("dynamodb")
    return model.operation_model("PutItem").input_shape


value_text = st.text(max_size=30)
wrong_values = st.one_of(
    secret(value_text).map(lambda s: {"note": s}),
    secret(value_text).map(lambda s: [s]),
    secret(value_text).map(lambda s: (s, 1)),
    st.integers(10**8, 10**12).map(lambda n: int(f"9{n}9")),  # an SSN-like number
)
attribute_names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)


def value_text_of(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    inner = value["note"] if isinstance(value, dict) else value[0]
    assert isinstance(inner, str)
    return inner


@SETTINGS
@given(st.dictionaries(attribute_names, wrong_values, min_size=1, max_size=4))
def test_param_validation_errors_lose_the_values_and_keep_the_parameters(
    put_item_shape: Any, item: dict[str, Any]
) -> None:
    for value in item.values():
        assume("\n" not in value_text_of(value))  # a value spelling a report line of its own
    report = botocore.validate.ParamValidator().validate(
        {"TableName": "orders", "Item": {name: {"S": value} for name, value in item.items()}},
        put_item_shape,
    )
    message = str(botocore.exceptions.ParamValidationError(report=report.generate_report()))
    out = redact(message)
    for name, value in item.items():
        secret_text = value_text_of(value)
        assert secret_text not in out
        assert f"Invalid type for parameter Item.{name}.S, value: {PLACEHOLDER}, type: " in out
    assert START not in out and END not in out


@SETTINGS
@given(secret(value_text))
def test_other_validation_messages_lose_the_value(value: str) -> None:
    class Opaque:
        def __str__(self) -> str:
            return value

    messages = [
        botocore.exceptions.ValidationError(value=value, param="Key", type_name="string"),
        botocore.exceptions.RangeError(value=value, param="Limit", min_value=1, max_value=10),
        botocore.exceptions.UnknownKeyError(value=value, param="Item", choices="a, b"),
    ]
    try:
        TypeSerializer().serialize(Opaque())
    except TypeError as exc:
        messages.append(exc)
    for exc in messages:
        out = redact(str(exc))
        assert_gone(out, value)
        assert PLACEHOLDER in out


# -- whole messages, names ------------------------------------------------------------


@SETTINGS
@given(
    st.lists(
        st.one_of(
            urls_with_secrets().map(lambda u: u[0]),
            s3_urls().map(lambda u: u[0]),
            st.builds(lambda b, k: f"arn:aws:s3:::{b}/{k}", buckets, secret(key_chars)),
            filler,
        ),
        max_size=6,
    )
)
def test_redaction_removes_every_secret_and_is_idempotent(parts: list[str]) -> None:
    once = redact(" ".join(parts))
    assert START not in once and END not in once
    assert redact(once) == once


@SETTINGS
@given(urls_with_secrets())
def test_names_are_redacted_before_their_characters_are_checked(
    url: tuple[str, str, list[str]],
) -> None:
    full, _, secrets = url
    name = sanitize_name("fetch " + full)
    for value in secrets:
        assert value not in name
    assert START not in name and END not in name


@SETTINGS
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from('#&;@.-_ "<>()[]{}%+*!$~,\n' + string.ascii_letters + string.digits),
            st.characters(max_codepoint=0x2FF),
        ),
        max_size=60,
    )
)
def test_text_without_a_redaction_hint_is_never_changed(text: str) -> None:
    """sanitize_name skips redact() (and loading it) for names without a hint."""
    from lambda_xray.document import REDACTION_HINTS

    assume(not any(hint in text for hint in REDACTION_HINTS))
    assert redact(text) == text


@pytest.mark.parametrize(
    "message",
    [
        "a" * 4090 + " x://",  # a long word, then a URL marker elsewhere
        "/" * 4090 + " ?",
        "/a" * 2045 + " ?",
        "A1+/" * 1000 + " http://h/p?q=1",  # base64 next to a URL
        "arn:aws:s3:::b/" * 270,
        "http://h/p?q=1 " * 270,
    ],
)
def test_redaction_takes_linear_time_on_hostile_messages(message: str) -> None:
    """Messages are cut to 4 KB before redaction; no input may make it crawl
    (these took 0.25-0.5 s each with quadratic expressions, under 1 ms now)."""
    import time

    redact("http://warm.up/")  # the expressions are compiled on first use
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        redact(message)
        best = min(best, time.perf_counter() - started)
    assert best < 0.05


def test_a_str_subclass_is_redacted_like_a_str() -> None:
    class Message(str):
        pass

    assert redact(Message("GET http://h/p?token=s3cr3t")) == "GET http://h/p"
