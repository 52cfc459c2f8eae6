"""The built web client in headless Chromium against the real API, on loopback."""

from __future__ import annotations

import httpx
import pytest

from app.seed import BENCH_EMAIL, BENCH_PASSWORD
from scenarios.frontend import PROJECTS_PATH, log_in, measure_loads

# Content tests do not need Lighthouse's long quiet window or a throttled network.
QUICK = {"quiet_window_ms": 300, "network": None}


def api_project_names(url: str, token: str) -> list[str]:
    response = httpx.get(
        f"{url}/api/v1/projects/", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    return [project["name"] for project in response.json()]


@pytest.mark.parametrize("build", ["eager", "split"])
def test_logging_in_shows_the_projects_list(serve_build, build):
    url = serve_build(build)
    [load] = measure_loads(
        f"{url}/login", login=(BENCH_EMAIL, BENCH_PASSWORD), capture_text=True, **QUICK
    )

    names = api_project_names(url, log_in(url))
    assert load.text is not None
    # Each row reads "<name> <status>", in the API's order.
    rows = [line for line in load.text.splitlines() if line.startswith("Project ")]
    assert names and len(rows) == len(names)
    assert all(row.startswith(f"{name} ") for row, name in zip(rows, names, strict=True))
    assert load.requests[0]["url"].endswith("/login")


def test_wrong_password_does_not_get_in(serve_build):
    url = serve_build("split")
    with pytest.raises(RuntimeError, match=r"[Tt]imeout"):
        measure_loads(
            f"{url}/login", login=(BENCH_EMAIL, "not-the-password"), quiet_window_ms=0,
            network=None, timeout_s=5,
        )  # fmt: skip


def test_both_builds_render_the_same_projects_page(serve_build):
    eager_url, split_url = serve_build("eager"), serve_build("split")
    token = log_in(eager_url)

    [eager] = measure_loads(f"{eager_url}{PROJECTS_PATH}", token=token, capture_text=True, **QUICK)
    [split] = measure_loads(f"{split_url}{PROJECTS_PATH}", token=token, capture_text=True, **QUICK)

    assert eager.text and eager.text == split.text
    assert all(name in eager.text for name in api_project_names(eager_url, token))
