"""The console's WSGI application: Flask for routing, signed sessions and our Jinja2
templates (the same folder, wording and escaping as the replies and the report).

One store session per request, rolled back at its end unless an action committed;
security headers on every response; errors as French pages (or JSON under /api/).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from flask import Flask, Response, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import clock, wording
from ..agent_view import local
from ..config import Settings
from ..errors import ConfigError
from ..rules import Rules, shipped_dir
from ..store.database import Store
from .sessions import CSRF_FIELD, csrf_token

# Only our own script and style; no frame, no plugin, forms only to ourselves.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECRET_ENV = "TRIAGE_CONSOLE_SECRET"


@dataclass(frozen=True)
class Triage:
    """What every request reads: settings, rules, the store."""

    settings: Settings
    rules: Rules
    store: Store


class ConsoleFlask(Flask):
    """Flask escaping every template (ours end in .html.j2, which Flask would not escape)."""

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        return True


def session_secret(settings: Settings, environ: dict[str, str] | None = None) -> bytes:
    """$TRIAGE_CONSOLE_SECRET, else [console] secret_file, else a key kept in the data dir
    (created once, readable by its owner only): never in the repository or the TOML."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(SECRET_ENV):
        return environ[SECRET_ENV].encode()
    path = settings.console.secret_file or settings.data_dir / "console.secret"
    if not path.exists():
        if settings.console.secret_file is not None:
            raise ConfigError(f"[console] secret_file: {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    key = Path(path).read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path}: the console's secret is shorter than 32 characters")
    return key.encode()


def create_app(settings: Settings, rules: Rules, store: Store, secret: bytes) -> Flask:
    """The console, ready for any WSGI server."""
    from . import api, pages  # the routes need the app's helpers above

    app = ConsoleFlask(__name__, static_folder=None, template_folder=None)
    console = settings.console
    app.config.update(
        TRIAGE=Triage(settings, rules, store), SECRET_KEY=secret, SESSION_COOKIE_NAME="triage_session",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=console.secure_cookies,
        MAX_CONTENT_LENGTH=256 * 1024)
    cast(DefaultJSONProvider, app.json).ensure_ascii = False  # accents as they are in the JSON API
    folders = [settings.templates_dir] if settings.templates_dir else []
    app.jinja_loader = ChoiceLoader([FileSystemLoader(f) for f in [*folders, str(shipped_dir("templates"))]])
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.globals.update(wording=wording, local=local, csrf_token=csrf_token, csrf_field=CSRF_FIELD)
    if console.behind_proxy:
        # Flask's documented way to wrap its WSGI callable; mypy sees a method replaced.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    @app.before_request
    def open_session() -> None:
        g.db = store.sessions()
        g.now = clock.now()
        g.agent = None

    @app.teardown_request
    def close_session(_: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.rollback()
            db.close()

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        code = error.code or 500
        message = error.description if code in (400, 409, 429) else FRENCH_ERRORS.get(code, "Erreur.")
        if request.path.startswith("/api/") or request.path == "/healthz":
            return jsonify({"error": message}), code
        return render_template("console/error.html.j2", code=code, message=message, agent=g.get("agent")), code

    # After open_session: the blueprints' guard reads the request's store session.
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    return app


FRENCH_ERRORS = {
    401: "Connectez-vous pour continuer.", 403: "Action non autorisée.", 404: "Page ou dossier introuvable.",
    405: "Méthode non autorisée.", 413: "Formulaire trop volumineux.", 500: "Erreur interne : l'incident est journalisé.",
}
