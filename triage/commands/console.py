"""`serve` and `agents`: the console served by waitress, and the agents who log in to it."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from .. import clock
from ..rules import load_rules
from ..store import agents
from . import command_session, command_store

log = logging.getLogger(__name__)


def run_serve(args: argparse.Namespace) -> int:
    """`triage serve`: the console on waitress until SIGTERM/SIGINT."""
    import waitress

    from ..console.app import create_app, session_secret

    with command_store(args) as (settings, store):
        console = settings.console
        app = create_app(settings, load_rules(settings.rules_dir), store, session_secret(settings))
        host, port = args.host or console.host, args.port or console.port
        log.info("console on http://%s:%s/ (store %s)", host, port, store.engine.url.render_as_string())
        print(f"Console des agents : http://{host}:{port}/", flush=True)
        # The proxy's X-Forwarded-* are read by the app itself (behind_proxy: ProxyFix).
        waitress.serve(app, host=host, port=port, threads=console.threads, ident="spl-pes-triage")
    return 0


def _password(prompt: str) -> str:
    """The password: typed twice on a terminal, else one line of standard input (scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Confirmation : ") != first:
            raise agents.AgentError("les deux saisies diffèrent")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_agents_add(args: argparse.Namespace) -> int:
    """`triage agents add LOGIN --name … --department 07 [--admin]` (password on standard input)."""
    with command_session(args) as (_, session):
        agent = agents.add_agent(session, args.login, args.name, args.department or [], args.admin,
                                 _password("Mot de passe : "), clock.now())
        print(f"Agent {agent.login} créé ({'tous départements' if agent.admin else ', '.join(agent.departments)}).")
    return 0


def run_agents_list(args: argparse.Namespace) -> int:
    """`triage agents list`."""
    with command_session(args) as (_, session):
        rows = agents.list_agents(session)
        for agent in rows:
            scope = "tous départements (admin)" if agent.admin else ", ".join(agent.departments)
            print(f"{agent.login:<20} {agent.name:<30} {scope}{'  [désactivé]' if agent.disabled else ''}")
        if not rows:
            print("Aucun agent : triage agents add LOGIN --name … --department NN")
    return 0


def run_agents_disable(args: argparse.Namespace) -> int:
    """`triage agents disable LOGIN`."""
    with command_session(args) as (_, session):
        agent = agents.disable_agent(session, args.login, clock.now())
        print(f"Agent {agent.login} désactivé : ses sessions sont closes.")
    return 0


def run_agents_passwd(args: argparse.Namespace) -> int:
    """`triage agents passwd LOGIN` (password on standard input)."""
    with command_session(args) as (_, session):
        agent = agents.set_password(session, args.login, _password("Nouveau mot de passe : "), clock.now())
        print(f"Mot de passe de {agent.login} changé : ses autres sessions sont closes.")
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `serve` and `agents` subcommands (kept here: cli.py stays one screen per group)."""
    serve = commands.add_parser(
        "serve", help="the agents' console in a browser (waitress; behind the DDFIP's reverse proxy)",
        description="Serve the queue, the cases and the agents' actions over HTTP, on loopback by default.")
    serve.add_argument("--host", help="address to listen on (default: [console] host, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: [console] port, else 8080)")
    serve.set_defaults(command=run_serve)
    group = commands.add_parser("agents", help="the agents who log in to the console: add, list, disable, passwd")
    actions = group.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an agent (the password is read from standard input)")
    add.add_argument("login", metavar="LOGIN", help="lower-case login, e.g. c.durand")
    add.add_argument("--name", required=True, help='full name, e.g. "Claire Durand"')
    add.add_argument("--department", action="append", metavar="NN", help="a department seen (repeat for several)")
    add.add_argument("--admin", action="store_true", help="sees every department, the unknown mailbox's queue too")
    add.set_defaults(command=run_agents_add)
    listing = actions.add_parser("list", help="every agent, with departments and state")
    listing.set_defaults(command=run_agents_list)
    disable = actions.add_parser("disable", help="stop an agent logging in (open sessions end)")
    disable.add_argument("login", metavar="LOGIN", help="the agent's login")
    disable.set_defaults(command=run_agents_disable)
    passwd = actions.add_parser("passwd", help="set a new password (read from standard input); re-enables")
    passwd.add_argument("login", metavar="LOGIN", help="the agent's login")
    passwd.set_defaults(command=run_agents_passwd)
