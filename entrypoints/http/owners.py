"""Who started what: a handler that starts a session, workflow execution or optimisation records its
caller as the owner of the work's bus topic, so the streams show a non-admin only their own."""

from __future__ import annotations

from sanic import Request


async def record_owner(request: Request, resource: str) -> None:
    """Record the request's principal as the owner of ``resource`` (``session:<id>``, ``execution:<id>``)."""
    principal = getattr(request.ctx, "principal", None)
    if principal is None:
        return
    store = await request.app.ctx.container.adapters.state_store()
    await store.set_owner(resource, principal.subject)
