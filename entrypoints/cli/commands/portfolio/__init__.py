"""``gpt-trader portfolio``: positions, performance and risk of the paper sessions, position sizing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand

if TYPE_CHECKING:
    from entrypoints.container import Container
    from gpt_trader_core.services.portfolio_view import PortfolioView


async def portfolio_view(container: Container) -> PortfolioView:
    """The REST API's portfolio use case (``/api/v1/portfolio``) on this container's state store."""
    view: PortfolioView = await container.services.portfolio()
    return view


class SessionCommand(AppCommand):
    """A portfolio question about one paper session."""

    remote_capable = True

    arguments: ClassVar[list[Argument]] = [
        argument("session", "Session id (see `gpt-trader sessions list`)", optional=True)
    ]
    options: ClassVar[list[Option]] = [option("format", "f", "Output: table, json or csv", flag=False)]

    def session_id(self) -> str:
        return self.require(
            "SESSION", self.argument("session"), question="Session id", hint=" (see `gpt-trader sessions list`)"
        )

    def for_session(self, work: Any) -> Any:
        session_id = self.session_id()

        async def run(container: Container) -> Any:
            return await work(await portfolio_view(container), session_id)

        return self.run_with_container(run)
