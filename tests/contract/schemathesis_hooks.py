"""Schemathesis hooks for `.ci/run`: the one case of the tool's own that we
leave out, and fresh idempotency keys, and why.

Schemathesis treats the set of request headers as an object with
`additionalProperties: false` and sends an undeclared header
(`x-schemathesis-unknown-property: 42`), expecting the server to refuse the
request. HTTP says the opposite: a recipient ignores header fields it does
not recognise (RFC 9110, section 5.1), and every proxy on the way adds some.
Only cases that carry that one generated header are filtered; unknown fields
in bodies and unknown query parameters are still generated and checked.

Hypothesis draws few distinct values for a header, so most generated writes
carried an `Idempotency-Key` already used with another request, and the
server refused them, as it must, with 422 `idempotency-key-reused`: the
fuzzer rarely got past that check to the logic behind it (its warnings
"Schema validation mismatch" and "linked data was not usable"). A key the
document admits is replaced with a fresh one before each call, as the tool's
own advice says; a key it refuses is sent as generated, so the refusals are
still checked. The reuse of a key is proven by the project's own tests.
"""

import re
import uuid

import schemathesis

# The names schemathesis gives the undeclared property it adds.
UNDECLARED_HEADER_NAMES = {
    "x-schemathesis-unknown-property",
    "schemathesis-unknown-property",
    "unknown-property-0",
}


@schemathesis.hook
def filter_case(context, case):
    headers = case.headers or {}
    return not any(name.lower() in UNDECLARED_HEADER_NAMES for name in headers)


# The documented rule of the header (components/parameters/IdempotencyKey).
IDEMPOTENCY_KEY = "idempotency-key"
DOCUMENTED_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == IDEMPOTENCY_KEY and isinstance(value, str):
            if DOCUMENTED_KEY.fullmatch(value):
                headers[name] = f"fuzz-{uuid.uuid4().hex}"
