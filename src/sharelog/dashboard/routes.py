"""Serves the dashboard's page and assets; every figure on it comes from the public API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")

router = APIRouter(include_in_schema=False)


@router.get("/")
async def dashboard() -> FileResponse:
    # The page holds no data and no key: it may be cached, the API answers are not.
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def install_dashboard(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
