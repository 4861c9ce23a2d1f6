"""Who started what: a handler that starts a session, workflow execution or optimisation records its
caller as the owner of the work's bus topic BEFORE the work starts (the use cases' ``before_start``),
so the streams show a non-admin only their own and the work's first event finds its owner: in the
store (other workers read it there) and in this process's stream hub (which then never asks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sanic import Request


def owner_recorder(request: Request) -> Callable[[str], Awaitable[None]]:
    """The ``before_start`` that records the request's principal as the owner of a work's topic."""

    async def record(resource: str) -> None:
        await record_owner(request, resource)

    return record


def first_owner_recorder(request: Request) -> Callable[[str], Awaitable[None]]:
    """``owner_recorder`` for work that may already have an owner (a resumed session): the request's
    principal becomes the owner only when none is recorded (a session started by a CLI on the server's
    machine has none)."""

    async def record(resource: str) -> None:
        store = await request.app.ctx.container.adapters.state_store()
        if await store.get_owner(resource) is None:
            await record_owner(request, resource)

    return record


async def record_owner(request: Request, resource: str) -> None:
    """Record the request's principal as the owner of ``resource`` (``session:<id>``, ``execution:<id>``)."""
    principal = getattr(request.ctx, "principal", None)
    if principal is None:
        return
    store = await request.app.ctx.container.adapters.state_store()
    await store.set_owner(resource, principal.subject)
    ws = getattr(request.app.ctx, "ws", None)
    if ws is not None:
        ws.hub.own(resource, principal.subject)
