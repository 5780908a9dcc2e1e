"""Forgotten password (CRM-02): a one-time link through the durable notification workflow."""

from __future__ import annotations

import re

import pytest

from core.ports import ConsoleNotifier
from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def reset_client(running):  # noqa: ANN001, ANN201
    return running.client, running.notifier


async def wait_for_message(notifier: ConsoleNotifier, count: int = 1) -> None:
    import asyncio

    async with asyncio.timeout(20):
        while len(notifier.sent) < count:
            await asyncio.sleep(0.05)


async def test_reset_link_sets_a_new_password_once(reset_client) -> None:
    client, notifier = reset_client
    # given a user who forgot their password asks for a reset by email
    asked = await client.post("/api/v1/auth/forgot-password", json={"login": "ld.tranbien@hotline1022.dongnai.gov.vn"})
    assert asked.status_code == 202
    # then a reset link reaches them through the notification gateway, in Vietnamese
    await wait_for_message(notifier)
    message = notifier.sent[0]
    assert message.kind == "password_reset" and message.sensitive and message.phone == "0900000008"
    assert "đặt lại mật khẩu" in message.body.lower()
    token = re.search(r"token=([A-Za-z0-9_\-]+)", message.body).group(1)  # type: ignore[union-attr]
    # when they set a new password with it
    done = await client.post("/api/v1/auth/reset-password", json={
        "token": token, "new_password": "Tran-Bien-2026!", "new_password_confirm": "Tran-Bien-2026!"})
    assert done.status_code == 204
    # then the new password works, the old one does not, and the link cannot be used twice
    ok = await client.post("/api/v1/auth/token", data={"username": "ld.tranbien", "password": "Tran-Bien-2026!"})
    assert ok.status_code == 200
    old = await client.post("/api/v1/auth/token", data={"username": "ld.tranbien", "password": DEMO_PASSWORD})
    assert old.status_code == 401
    again = await client.post("/api/v1/auth/reset-password", json={
        "token": token, "new_password": "Another-Pass-2026!", "new_password_confirm": "Another-Pass-2026!"})
    assert again.status_code == 422 and again.json()["details"][0]["field"] == "token"


async def test_unknown_account_gets_the_same_answer_and_no_message(reset_client) -> None:
    client, notifier = reset_client
    asked = await client.post("/api/v1/auth/forgot-password", json={"login": "khong.co.ai"})
    assert asked.status_code == 202 and asked.json() == {"status": "accepted"}
    known = await client.post("/api/v1/auth/forgot-password", json={"login": "admin"})
    assert known.json() == asked.json()
    await wait_for_message(notifier)
    assert len(notifier.sent) == 1 and notifier.sent[0].recipient_user_id is not None


async def test_without_temporal_the_request_says_the_service_is_unavailable(client) -> None:
    response = await client.post("/api/v1/auth/forgot-password", json={"login": "admin"})
    assert response.status_code == 503 and response.json()["error_id"] == "service_unavailable"
