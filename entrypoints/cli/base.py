"""What every command shares: settings from --config/--set, the container, output formats, colours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

from cleo.commands.command import Command
from cleo.io.io import IO

from gpt_trader_core.errors import ConfigurationError, InvalidParameterError

if TYPE_CHECKING:  # the container imports the use cases: not needed for --help
    from entrypoints.container import Container
    from entrypoints.settings import LoadedSettings, Settings

T = TypeVar("T")

#: Builds the application graph for a command: ``(settings, executor kind or None) -> Container``.
ContainerFactory = Callable[["Settings", "str | None"], "Container"]

#: Builds the graph whose use cases a server answers: ``(server URL) -> Container``.
RemoteFactory = Callable[[str], "Container"]

#: Every ``--format`` a command may offer; ``cli.default_format`` is one of them.
OUTPUT_FORMATS = ("table", "json", "csv")


def build_default_container(settings: Settings, executor: str | None) -> Container:
    """The production graph: adapters chosen from ``settings``."""
    from entrypoints.container import build_container

    return build_container(settings, executor=executor)


def build_default_remote_container(url: str) -> Container:
    """The graph whose use cases the server at ``url`` answers (``--remote URL`` / ``cli.remote``)."""
    from entrypoints.container import build_remote_container

    return build_remote_container(url)


class AppCommand(Command):
    """A command that runs against the application container.

    ``container_factory`` is the seam for tests: Cleo's ``CommandTester``/``ApplicationTester`` run
    any command in-process on a graph of in-memory adapters (``GptTraderApplication`` hands its
    factory to every command it creates).
    """

    #: Executor for CPU work: one job from a terminal runs in-process.
    executor: str | None = "inline"
    #: The command's use cases can be answered by a server (``--remote URL``, ``cli.remote``).
    remote_capable: ClassVar[bool] = False

    def __init__(
        self, container_factory: ContainerFactory | None = None, remote_factory: RemoteFactory | None = None
    ) -> None:
        super().__init__()
        self.container_factory: ContainerFactory = container_factory or build_default_container
        self.remote_factory: RemoteFactory = remote_factory or build_default_remote_container
        self._loaded: LoadedSettings | None = None

    def settings_overrides(self) -> list[str]:
        """Extra ``key=value`` settings a command derives from its own options (e.g. --data-dir)."""
        return []

    def load_settings(self) -> LoadedSettings:
        """The settings of this run (loaded once): file, environment, --set and the command's options."""
        if self._loaded is None:
            from entrypoints.settings import load_settings

            overrides = list(self.option("set") or []) + self.settings_overrides()
            remote = self.option("remote")
            if remote:
                from adapters.remote.credentials import normalise_url  # a bad URL is bad input (exit 1)

                overrides.append(f"cli.remote={normalise_url(remote)}")
            self._loaded = load_settings(config_path=self.option("config"), overrides=overrides)
        return self._loaded

    def remote_url(self) -> str | None:
        """The server this command runs against, or ``None`` to run here. ``--remote`` on a command no server
        can answer is refused; ``cli.remote`` from the settings leaves such a command local."""
        url = self.load_settings().settings.cli.remote
        if not url:
            return None
        if not self.remote_capable:
            if self.option("remote"):
                raise InvalidParameterError(f"`{self.name}` runs on this machine only; drop --remote")
            return None
        return url

    def execute(self, io: IO) -> int:
        self._io = io  # as Cleo's execute does: the colour setting needs the options before handle()
        self._apply_colour_setting(io)
        try:
            code: int = self.handle()
        except KeyboardInterrupt:  # Cleo's execute would turn Ctrl-C into a plain 1
            io.write_error_line("<comment>interrupted</comment>")
            return 130
        return code

    def _apply_colour_setting(self, io: IO) -> None:
        """``cli.color_output: false`` turns colours off, unless ``--ansi`` asks for them explicitly."""
        if io.input.has_parameter_option("--ansi", True):
            return
        try:
            colour = self.load_settings().settings.cli.color_output
        except ConfigurationError:
            # Reported by the command itself when it needs its settings; `config set` must still be
            # able to repair a broken file, so a bad configuration never stops a command here.
            return
        if not colour:
            io.decorated(False)

    def run_with_container(self, work: Callable[[Container], Awaitable[T]]) -> T:
        """Build the container, start its resources, run ``work(container)``, shut everything down."""
        import asyncio

        from entrypoints.container import start_resources, stop_resources

        url = self.remote_url()
        container = (
            self.remote_factory(url) if url else self.container_factory(self.load_settings().settings, self.executor)
        )

        async def main() -> T:
            await start_resources(container, on_demand=True)  # only what the command uses starts
            try:
                return await work(container)
            finally:
                await stop_resources(container)

        return asyncio.run(main())

    #: The ``--format`` values this command prints (a command with several sections has no csv).
    formats: ClassVar[tuple[str, ...]] = OUTPUT_FORMATS

    def output_format(self, default: str | None = None, *, choices: Sequence[str] | None = None) -> str:
        """``--format``, else ``default``, else ``cli.default_format`` when this command offers it
        (``choices``, default ``formats``), else ``table``."""
        fmt = self.option("format")
        if fmt is None:
            fmt = default or self.load_settings().settings.cli.default_format
            return fmt if fmt in (choices or self.formats) else "table"
        fmt = fmt.lower()
        if fmt not in OUTPUT_FORMATS:
            raise InvalidParameterError(f"--format must be table, json or csv, got {fmt!r}")
        if choices is None and fmt not in self.formats:
            raise InvalidParameterError(f"--format must be {' or '.join(self.formats)} for {self.name}, got {fmt!r}")
        return str(fmt)

    def parse_pairs(self, name: str, values: Sequence[str]) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for item in values:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InvalidParameterError(f"--{name} expects key=value, got {item!r} (e.g. --{name} fast=10)")
            pairs[key.strip()] = value.strip()
        return pairs

    # ---- asking for what is missing (interactive mode) ----

    def stdin_is_terminal(self) -> bool:
        stream = self.io.input.stream
        try:
            return bool(stream is not None and stream.isatty())
        except (AttributeError, ValueError):  # a closed or unusual stream: never a person
            return False

    def can_ask(self) -> bool:
        """A person can answer: interaction allowed (no ``-n``) and stdin is a terminal."""
        return bool(self.io.is_interactive() and self.stdin_is_terminal())

    def require(
        self,
        name: str,
        value: str | None,
        *,
        question: str,
        choices: Sequence[str] | None = None,
        default: str | None = None,
        hint: str = "",
    ) -> str:
        """``value``, else ask for it when stdin is a terminal and interaction is allowed (``-n`` never
        asks), else the one-line error ``NAME is required`` (+ ``hint``)."""
        if value not in (None, ""):
            return str(value)
        if self.can_ask():
            if choices:
                index = list(choices).index(default) if default is not None and default in choices else None
                answer = self.choice(question, list(choices), default=index, attempts=3)
            else:
                shown = f"{question} [{default}]" if default else question
                answer = self.ask(f"{shown}: ", default)
            if answer not in (None, ""):
                return str(answer)
        raise InvalidParameterError(f"{name} is required{hint}")
