"""``gpt-trader login URL`` and ``gpt-trader logout URL``: the credentials ``--remote`` uses."""

from __future__ import annotations

import os
import sys
from typing import ClassVar

from cleo.commands.command import Command
from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from gpt_trader_core.errors import InvalidParameterError

#: Environment variables a non-interactive login reads (``-n``, scripts, CI).
USERNAME_ENV = "GPT_TRADER_USERNAME"
PASSWORD_ENV = "GPT_TRADER_PASSWORD"


def _server_url(command: Command) -> str:
    """The URL argument, else ``--remote``, else ``cli.remote`` from the settings."""
    from adapters.remote.credentials import normalise_url

    url = command.argument("url") or command.option("remote")
    if not url:
        from entrypoints.settings import load_settings

        url = load_settings(
            config_path=command.option("config"), overrides=list(command.option("set") or [])
        ).settings.cli.remote
    if not url:
        raise InvalidParameterError("URL is required, e.g. gpt-trader login http://127.0.0.1:9000")
    return normalise_url(url)


class LoginCommand(Command):
    name = "login"
    description = "Log in to a gpt-trader server for --remote (stores a token in a 0600 file)."
    help = """Asks for the user name and password (users are added on the server with
<info>gpt-trader users add</info>), logs in at <info>URL</info>/api/v1/auth/login and stores the token pair for that
URL in <info>~/.gpt-trader/credentials.json</info> (mode 0600). Commands with <info>--remote URL</info> then use it
and renew it with its refresh token when it expires. With <info>-n</info> it never asks: give
<info>--username</info> (or $GPT_TRADER_USERNAME) and <info>--password-stdin</info> (or $GPT_TRADER_PASSWORD).
With $GPT_TRADER_API_KEY set, commands use that key instead and nothing needs storing: login then only checks the key.

  <comment>gpt-trader login http://127.0.0.1:9000</comment>
  <comment>printf '%s\\n' "$PASSWORD" | gpt-trader login http://127.0.0.1:9000 -n -u alice --password-stdin</comment>"""
    arguments: ClassVar[list[Argument]] = [
        argument("url", "Server URL, e.g. http://127.0.0.1:9000 (default: cli.remote)", optional=True)
    ]
    options: ClassVar[list[Option]] = [
        option("username", "u", "User name (default: asked, or $GPT_TRADER_USERNAME)", flag=False),
        option("password-stdin", None, "Read the password from the first line of standard input"),
    ]

    def handle(self) -> int:
        from adapters.remote import API_KEY_ENV, CredentialsFile, RemoteClient, StoredLogin
        from adapters.remote.client import token_lifetime

        url = _server_url(self)
        if os.environ.get(API_KEY_ENV) and not (self.option("username") or os.environ.get(USERNAME_ENV)):
            client = RemoteClient(url)
            try:
                me = client.request("GET", "/api/v1/auth/me").body
            finally:
                client.close()
            self.line(f"{API_KEY_ENV} works at <info>{url}</info>: {me['subject']} ({me['role']}); nothing stored")
            return 0
        username = self._username()
        password = self._password()
        client = RemoteClient(url, use_environment=False)
        try:
            pair = client.request("POST", "/api/v1/auth/login", body={"username": username, "password": password},
                                  auth=False).body  # fmt: skip
            me = client.request(
                "GET", "/api/v1/auth/me", auth=False, headers={"Authorization": f"Bearer {pair['access_token']}"}
            ).body
        finally:
            client.close()
        store = CredentialsFile()
        store.put(StoredLogin(url, username, pair["access_token"], pair["refresh_token"], token_lifetime(pair)))
        self.line(f"logged in to <info>{url}</info> as <info>{username}</info> ({me['role']}); token in {store.path}")
        return 0

    def _username(self) -> str:
        name = self.option("username") or os.environ.get(USERNAME_ENV)
        if name:
            return str(name)
        if self.io.is_interactive() and sys.stdin.isatty():
            answer = self.ask("User name: ")
            if answer:
                return str(answer)
        raise InvalidParameterError(f"--username is required without a terminal (or set {USERNAME_ENV})")

    def _password(self) -> str:
        if self.option("password-stdin"):
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise InvalidParameterError("--password-stdin read an empty line: pipe the password in")
            return password
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        if self.io.is_interactive() and sys.stdin.isatty():
            answer = self.secret("Password:")
            if answer:
                return str(answer)
        raise InvalidParameterError(f"no terminal to ask the password on: use --password-stdin (or set {PASSWORD_ENV})")


class LogoutCommand(Command):
    name = "logout"
    description = "Log out of a gpt-trader server: ends the login there and removes the stored token."
    help = """Ends the stored login at <info>URL</info> (its refresh tokens stop working on the server) and removes it
from <info>~/.gpt-trader/credentials.json</info>. When the server cannot be reached the token is removed anyway.

  <comment>gpt-trader logout http://127.0.0.1:9000</comment>
  <comment>gpt-trader logout</comment>   (the server of cli.remote)"""
    arguments: ClassVar[list[Argument]] = [argument("url", "Server URL (default: cli.remote)", optional=True)]

    def handle(self) -> int:
        from adapters.remote import CredentialsFile, RemoteClient, RemoteError

        url = _server_url(self)
        store = CredentialsFile()
        login = store.get(url)
        if login is None:
            self.line(f"not logged in to {url}")
            return 0
        client = RemoteClient(url, credentials=store, use_environment=False)
        try:
            client.request("POST", "/api/v1/auth/logout")
        except RemoteError as error:
            self.line_error(f"<comment>the server did not end the login ({error}); removing the token here</comment>")
        finally:
            client.close()
        store.remove(url)
        self.line(f"logged out of <info>{url}</info>")
        return 0
