"""Share tokens (and what a citizen searches for) never reach a log line, however they travel
in a request line."""

import pytest

from vault.api.redaction import redact

SECRET = "tok3n-Secret_value"


@pytest.mark.parametrize(
    "line",
    [
        f"GET /api/v1/shared/{SECRET}/documents/x/content HTTP/1.1",
        f"GET /agency/share/{SECRET}?page=1 HTTP/1.1",
        f"GET /agency/open?code={SECRET} HTTP/1.1",
        f"GET /agency/open?x=1&code=https%3A%2F%2Fh%2Fagency%2Fshare%2F{SECRET} HTTP/1.1",
        f"GET /next?to=%2Fapi%2Fv1%2Fshared%2F{SECRET}%2Fdocuments HTTP/1.1",
        f"GET /api/v1/documents?q={SECRET}%20tran%20thi%20bich HTTP/1.1",
        f"GET /api/v1/documents?doc_type=CCCD&q={SECRET} HTTP/1.1",
    ],
)
def test_tokens_are_redacted(line: str) -> None:
    redacted = redact(line)
    assert SECRET not in redacted and "[redacted]" in redacted
    assert redacted.startswith("GET /") and redacted.endswith(" HTTP/1.1")
