"""``gpt-trader completions bash|zsh|fish``: shell completion that knows our two-word commands
(``cache clear``), each command's options, and the values of ``--format``, ``--strategy`` and
workflow names. (Cleo's own generator completes the first word of a group only, and quotes
``'cache clear'`` into two broken words.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument
from cleo.io.outputs.output import Type

from entrypoints.cli.base import AppCommand
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from cleo.application import Application

    from entrypoints.container import Container

SHELLS = ("bash", "zsh", "fish")
FORMATS = "table json csv"


def _catalogue(app: Application, workflows: list[str]) -> tuple[dict[str, list[str]], dict[str, str], str, str]:
    """(command name → its long options, command name → description, strategy names, workflow names)."""
    from entrypoints.cli.application import COMMANDS
    from gpt_trader_core.strategy import REGISTRY

    options: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    for name in [*COMMANDS, "help", "list", "completions"]:
        command = app.find(name)
        options[name] = sorted(f"--{o.name}" for o in command.definition.options)
        descriptions[name] = command.description
    return options, descriptions, " ".join(REGISTRY), " ".join(workflows)


def bash(app: Application, workflow_names: list[str]) -> str:
    options, _, strategies, workflows = _catalogue(app, workflow_names)
    globals_ = " ".join(f"--{o.name}" for o in app.definition.options)
    tops = sorted({name.split()[0] for name in options})
    groups: dict[str, list[str]] = {}
    for name in options:
        if " " in name:
            head, tail = name.split(" ", 1)
            groups.setdefault(head, []).append(tail)
    option_cases = "\n".join(f'        "{name}") opts="{" ".join(opts)}" ;;' for name, opts in sorted(options.items()))
    group_cases = "\n".join(
        f'        {head}) subs="{" ".join(sorted(subs))}" ;;' for head, subs in sorted(groups.items())
    )
    return f"""# gpt-trader completion for bash: eval "$(gpt-trader completions bash)"
_gpt_trader_complete()
{{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local -a words=()
    local w i opts="" subs="" com=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        [[ $w == -* ]] || words+=("$w")
    done
    case "$prev" in
        --format|-f) COMPREPLY=($(compgen -W "{FORMATS}" -- "$cur")); return 0 ;;
        --strategy|-s|--strategies) COMPREPLY=($(compgen -W "{strategies} all" -- "$cur")); return 0 ;;
    esac
    com="${{words[0]}}"
    if (( ${{#words[@]}} >= 2 )); then
        case "${{words[0]}} ${{words[1]}}" in
{chr(10).join(f'            "{name}") com="{name}" ;;' for name in sorted(options) if " " in name)}
        esac
    fi
    if [[ $cur == -* ]]; then
        case "$com" in
{option_cases}
        esac
        COMPREPLY=($(compgen -W "$opts {globals_}" -- "$cur"))
        return 0
    fi
    if (( ${{#words[@]}} == 0 )); then
        COMPREPLY=($(compgen -W "{" ".join(tops)}" -- "$cur"))
        return 0
    fi
    if [[ $com == "workflow execute" && ${{#words[@]}} == 2 ]]; then
        COMPREPLY=($(compgen -W "{workflows}" -- "$cur"))
        return 0
    fi
    if (( ${{#words[@]}} == 1 )); then
        case "${{words[0]}}" in
{group_cases}
        esac
        [[ -n $subs ]] && COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    fi
    return 0
}}
complete -o default -F _gpt_trader_complete gpt-trader
"""


def zsh(app: Application, workflow_names: list[str]) -> str:
    """zsh runs the bash function through its bashcompinit layer (the same behaviour everywhere)."""
    return (
        '#compdef gpt-trader\n# gpt-trader completion for zsh: eval "$(gpt-trader completions zsh)"\n'
        "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n" + bash(app, workflow_names)
    )


def fish(app: Application, workflow_names: list[str]) -> str:
    options, descriptions, strategies, workflows = _catalogue(app, workflow_names)
    lines = ["# gpt-trader completion for fish: gpt-trader completions fish | source", "complete -c gpt-trader -f"]
    groups: dict[str, list[str]] = {}
    for name in options:
        head, _, tail = name.partition(" ")
        if tail:
            groups.setdefault(head, []).append(tail)

    def quote(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    for name in sorted(options):
        head, _, tail = name.partition(" ")
        if not tail:
            lines.append(f"complete -c gpt-trader -n __fish_use_subcommand -a {head} -d {quote(descriptions[name])}")
    for head, subs in sorted(groups.items()):
        if head not in options:
            lines.append(f"complete -c gpt-trader -n __fish_use_subcommand -a {head} -d {quote(head + ' commands')}")
        for sub in sorted(subs):
            condition = f"__fish_seen_subcommand_from {head}; and not __fish_seen_subcommand_from {' '.join(subs)}"
            desc = quote(descriptions[f"{head} {sub}"])
            lines.append(f"complete -c gpt-trader -n {quote(condition)} -a {sub} -d {desc}")
    for name, opts in sorted(options.items()):
        head, _, tail = name.partition(" ")
        condition = f"__fish_seen_subcommand_from {head}" + (
            f"; and __fish_seen_subcommand_from {tail}" if tail else ""
        )
        for opt in opts:
            values = ""
            if opt == "--format":
                values = f" -x -a {quote(FORMATS)}"
            elif opt in ("--strategy", "--strategies"):
                values = f" -x -a {quote(strategies + ' all')}"
            lines.append(f"complete -c gpt-trader -n {quote(condition)} -l {opt[2:]}{values}")
    cond = quote("__fish_seen_subcommand_from workflow; and __fish_seen_subcommand_from execute")
    lines.append(f"complete -c gpt-trader -n {cond} -a {quote(workflows)}")
    return "\n".join(lines) + "\n"


#: The workflows the container's ``Workflows`` use case defines, in its order. Completion needs only the
#: names, and building the use case to ask it imports and starts most of the graph (the state store,
#: the trading, monitoring and analysis slices: ~0.5 G instructions, more than the rest of the command).
#: ``tests/test_composition_root.py`` checks they equal the built use case's definitions.
WORKFLOW_NAMES = (
    "simple_backtest",
    "multi_strategy_ensemble",
    "strategy_optimization",
    "risk_managed_live_trading",
    "adaptive_strategy_selection",
    "real_time_monitoring",
)


async def workflow_names(container: Container) -> list[str]:
    """The workflow names a container defines (what ``WORKFLOW_NAMES`` must equal)."""
    return [d.name for d in (await container.services.workflows()).definitions()]


class CompletionsCommand(AppCommand):
    name = "completions"
    description = "Print the shell completion script for bash, zsh or fish."
    help = """Completes commands, sub-commands (<comment>cache clear</comment>), each command's options,
and the values of --format, --strategy and workflow names. Load it in the current shell or for good:

  bash: eval "$(gpt-trader completions bash)"  (in ~/.bashrc)
  zsh:  eval "$(gpt-trader completions zsh)"   (in ~/.zshrc)
  fish: gpt-trader completions fish > ~/.config/fish/completions/gpt-trader.fish

  <comment>gpt-trader completions bash</comment>
  <comment>gpt-trader completions fish</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("shell", "bash, zsh or fish", optional=True)]

    def handle(self) -> int:
        import os

        default = os.path.basename(os.environ.get("SHELL", "")) or None
        shell = self.require(
            "SHELL",
            self.argument("shell"),
            question="Shell",
            choices=SHELLS,
            default=default if default in SHELLS else None,
            hint=" (bash, zsh or fish)",
        )
        if shell not in SHELLS:
            raise InvalidParameterError(f"shell must be bash, zsh or fish, got {shell!r}")
        app = self.application
        assert app is not None  # a command runs inside its application
        generate = {"bash": bash, "zsh": zsh, "fish": fish}[shell]
        self.io.write(generate(app, list(WORKFLOW_NAMES)), type=Type.RAW)
        return 0
