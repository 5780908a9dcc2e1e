"""The public knowledge-base pages need no sign-in, so one address may not take the search
engine for itself: over the per-minute limit it gets a 429 page in Vietnamese."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201
    settings.public_search_per_minute = 3
    return settings


async def test_one_address_is_throttled_on_the_public_search(client) -> None:  # noqa: ANN001
    for _ in range(3):
        assert (await client.get("/tra-cuu/thu-tuc")).status_code == 200
    refused = await client.get("/tra-cuu/thu-tuc")
    assert refused.status_code == 429 and "Vui lòng" in refused.text
    assert (await client.get("/tra-cuu/goi-y", params={"q": "khai"})).status_code == 429
