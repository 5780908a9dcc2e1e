"""Sign-in with the OAuth2 password flow, logout, forgotten password (CRM-01, CRM-02)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep, SessionDep, SignedInDep
from api.notifications import send_password_reset
from api.ratelimit import check_login_rate
from core.models import SessionKind
from core.services import auth
from core.types import Password, ShortText

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class ForgotPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: ShortText = Field(min_length=1, max_length=254, description="username or email")


class ResetPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")
    new_password: Password
    new_password_confirm: Password


def _policy(services: ServicesDep) -> auth.LoginPolicy:
    return auth.LoginPolicy(services.settings.lockout_threshold, services.settings.lockout_minutes)


async def sign_in(request: Request, services: ServicesDep, session: SessionDep, username: str, password: str,
                  kind: SessionKind) -> tuple[str, int]:
    """Shared by the token endpoint and the UI login form: returns (token, ttl seconds)."""
    ip = request.client.host if request.client else None
    check_login_rate(services, ip)
    outcome = await auth.login(session, username, password, _policy(services))
    if outcome.error is not None:
        await session.commit()  # failed attempts must be counted even though we refuse
        raise outcome.error
    minutes = services.settings.token_ttl_minutes if kind is SessionKind.bearer else services.settings.session_ttl_minutes
    token, _ = await auth.start_session(session, outcome.user, kind, timedelta(minutes=minutes), ip,  # type: ignore[arg-type]
                                        request.headers.get("user-agent"))
    await session.commit()
    return token, minutes * 60


@router.post("/token", response_model=TokenOut, summary="Sign in (OAuth2 password flow) and get a bearer token")
async def token(request: Request, services: ServicesDep, session: SessionDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    value, ttl = await sign_in(request, services, session, form.username[:64], form.password[:256], SessionKind.bearer)
    return TokenOut(access_token=value, expires_in=ttl)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session")
async def logout(signed_in: SignedInDep, session: SessionDep, services: ServicesDep, response: Response) -> Response:
    await auth.end_session(session, signed_in.session_id)
    await session.commit()
    services.auth_cache.forget_user(signed_in.user.id)
    response.status_code = status.HTTP_204_NO_CONTENT
    response.delete_cookie("hotline_session", path="/")
    return response


@router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED,
             summary="Send a one-time password-reset code; answers the same whether the account exists or not")
async def forgot_password(body: ForgotPasswordIn, request: Request, services: ServicesDep, session: SessionDep) -> dict[str, str]:
    check_login_rate(services, request.client.host if request.client else None)
    found = await auth.request_password_reset(session, body.login, timedelta(minutes=services.settings.reset_token_ttl_minutes))
    await session.commit()
    if found is not None:
        user, reset_token = found
        await send_password_reset(services, user, reset_token)
    return {"status": "accepted"}


@router.post("/reset-password", status_code=status.HTTP_204_NO_CONTENT, summary="Set a new password with a reset code")
async def reset_password(body: ResetPasswordIn, session: SessionDep, services: ServicesDep) -> Response:
    user = await auth.reset_password(session, body.token, body.new_password, body.new_password_confirm)
    await session.commit()
    services.auth_cache.forget_user(user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
