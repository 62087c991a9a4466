"""The login throttle under real concurrency: parallel guesses cannot outrun it."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from tests.conftest import Stack
from tests.support.api import PASSWORD, new_national_id
from tests.support.env import settings_env
from tests.support.server import vault_server
from vault.accounts.logins import ThrottlePolicy
from vault.settings import Settings

GUESSES = 30


@pytest.mark.servers
@pytest.mark.parametrize(
    "stack", [Stack("postgresql", "s3"), Stack("sqlite", "file")], indirect=True, ids=str
)
def test_parallel_wrong_passwords_get_exactly_the_allowed_tries(
    settings: Settings, tmp_path: Path
) -> None:
    with (
        vault_server(settings_env(settings), tmp_path) as server,
        httpx2.Client(base_url=server.url, timeout=60) as client,
    ):
        number = new_national_id()
        body = {"national_id": number, "full_name": "A", "password": PASSWORD}
        assert client.post("/api/v1/citizens", json=body).status_code == 201

        def guess(attempt: int) -> int:
            with httpx2.Client(base_url=server.url, timeout=60) as own:
                form = {"username": number, "password": f"wrong guess {attempt}"}
                return own.post("/api/v1/auth/token", data=form).status_code

        with ThreadPoolExecutor(max_workers=GUESSES) as pool:
            statuses = sorted(pool.map(guess, range(GUESSES)))
        allowed = ThrottlePolicy().account_failures
        assert statuses == [401] * allowed + [429] * (GUESSES - allowed)
        right = client.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
        assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
