"""Reading a new password: from a terminal without echo (asked twice), or one line of stdin."""

from __future__ import annotations

import sys

from cleo.commands.command import Command

from gpt_trader_core.errors import InvalidParameterError


def read_password(command: Command) -> str:
    if command.option("password-stdin"):
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidParameterError("--password-stdin read an empty line: pipe the password in, e.g. `echo ... |`")
        return password
    if not command.io.is_interactive():
        raise InvalidParameterError("no terminal to ask the password on: use --password-stdin")
    first = command.secret("Password:")
    second = command.secret("Repeat the password:")
    if not first or first != second:
        raise InvalidParameterError("the two passwords differ (or are empty): try again")
    return str(first)
