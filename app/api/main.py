"""The /api/v1 router: one router per resource."""

from fastapi import APIRouter

from app.api.routes import auth, domains, projects, search, ws

api_router = APIRouter()
for module in (auth, projects, domains, search, ws):
    api_router.include_router(module.router)
