"""What every service's web pages share: templates, sign-in and sign-out pages, the page user.

A service's own templates come first: its `base.html` fills the shared `frame.html` with
the service's name and navigation. The sign-in page lives here once and extends whichever
`base.html` the service has.
"""

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from shared import accounts
from shared.areas import AreaRegistry, UnknownAreaError
from shared.auth import Principal
from shared.errors import SHARED_TEMPLATES
from shared.runtime import SessionDep

LOGIN_PATH = "/masuk"


def service_templates(directory: Path) -> Jinja2Templates:
    loader = ChoiceLoader([FileSystemLoader(directory), FileSystemLoader(SHARED_TEMPLATES)])
    return Jinja2Templates(env=Environment(loader=loader, autoescape=select_autoescape()))


def area_namer(areas: AreaRegistry) -> Callable[[str], str]:
    """A template helper: an area's name, or its code when the registry does not know it."""

    def name(code: str) -> str:
        try:
            return areas.get(code).name
        except UnknownAreaError:
            return code

    return name


def page_principal(cookie_name: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A page dependency: the signed-in user; anyone else is sent to the sign-in page."""

    async def principal(request: Request, session: SessionDep) -> Principal:
        token = request.cookies.get(cookie_name)
        found = await accounts.principal_for_token(session=session, token=token) if token else None
        if found is None:
            raise HTTPException(status_code=303, headers={"Location": LOGIN_PATH})
        return found

    return principal


def sign_in_pages(templates: Jinja2Templates, *, cookie_name: str, home: str) -> APIRouter:
    """GET/POST /masuk and GET /keluar, setting and clearing the service's session cookie."""
    router = APIRouter(include_in_schema=False)

    @router.get(LOGIN_PATH)
    async def login_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {})

    @router.post(LOGIN_PATH, response_model=None)
    async def login(
        request: Request,
        session: SessionDep,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
    ) -> Response:
        signed = await accounts.sign_in(session=session, username=username, password=password)
        if signed is None:
            context = {"error": "Nama pengguna atau kata sandi salah.", "username": username}
            return templates.TemplateResponse(request, "login.html", context, status_code=401)
        response = RedirectResponse(home, status_code=303)
        max_age = int(accounts.SESSION_LIFETIME.total_seconds())
        response.set_cookie(
            cookie_name, signed[2], httponly=True, samesite="strict", max_age=max_age
        )
        return response

    @router.get("/keluar")
    async def logout(request: Request, session: SessionDep) -> RedirectResponse:
        token = request.cookies.get(cookie_name)
        if token:
            await accounts.sign_out(session=session, token=token)
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(cookie_name)
        return response

    return router
