"""Schemathesis hooks for `.ci/run`: the one case of the tool's own that we
leave out, and why.

Schemathesis treats the set of request headers as an object with
`additionalProperties: false` and sends an undeclared header
(`x-schemathesis-unknown-property: 42`), expecting the server to refuse the
request. HTTP says the opposite: a recipient ignores header fields it does
not recognise (RFC 9110, section 5.1), and every proxy on the way adds some.
Only cases that carry that one generated header are filtered; unknown fields
in bodies and unknown query parameters are still generated and checked.
"""

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
