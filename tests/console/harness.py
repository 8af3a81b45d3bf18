"""A real console for the browser tests: a SQLite store filled by `triage poll --dry-run`,
agents created with `triage agents add`, `triage serve` on a free loopback port, and
Debian's headless Chromium driven by Selenium. Every `triage` process reads one clock,
pinned (TRIAGE_CLOCK), so nothing depends on today's date."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from tests.conftest import MAILBOX_07, verdict
from tests.servers import free_port
from triage import clock
from triage.store.database import open_store
from triage.store.models import CaseRow

ROOT = Path(__file__).resolve().parent.parent.parent
TRIAGE = Path(sys.executable).parent / "triage"
MAILBOX_38 = "ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr"
# The clock of every process of a module: after the sample mail, the same for every run.
NOW = "2026-03-20T09:00:00+00:00"


def request_eml(identifier: str, sender: str, name: str, to: str = MAILBOX_07) -> bytes:
    """A complete lost-password request (nominative address, identifier, no word on a
    mobile number): the engine acknowledges it and leaves it to an agent."""
    message = EmailMessage()
    message["Authentication-Results"] = verdict(sender.rpartition("@")[2])
    message["From"] = formataddr((name, sender))
    message["To"] = to
    message["Subject"] = "Mot de passe oublié"
    message["Date"] = "Mon, 02 Mar 2026 10:12:00 +0100"
    message["Message-ID"] = f"<console-{identifier}@{sender.rpartition('@')[2]}>"
    message.set_content(f"Bonjour,\nJ'ai oublié mon mot de passe du portail. Mon identifiant est {identifier}.\n"
                        f"Cordialement\n{name}\n")
    return message.as_bytes()


# What a hostile sender writes in every field the console shows: each one, if it ever
# ran, would set window.pwned and open an alert.
HOSTILE_NAME = "<img src=x onerror=window.pwned=1;alert(1)> Jean <script>window.pwned=2;alert(2)</script>"
HOSTILE_SUBJECT = "<script>window.pwned=3;alert(3)</script> mot de passe oublié <img src=x onerror=alert(4)>"
HOSTILE_BODY = "J'ai oublié mon mot de passe. <script>window.pwned=5;alert(5)</script>"
HOSTILE_IDENTIFIER_LINE = 'Identifiant : jpirate-xt <img src=x onerror="window.pwned=6;alert(6)">'
HOSTILE_LINK = '<a href="javascript:window.pwned=8;alert(8)">cliquez</a>'
HOSTILE_AUTHOR = "<script>window.pwned=9;alert(9)</script>"
HOSTILE_QUOTE = '<img src=x onerror="window.pwned=10;alert(10)"> ancien message'
HOSTILE_FILENAME = '<img src=x onerror="window.pwned=12;alert(12)">.pdf'
HOSTILE_TEXTS = (HOSTILE_NAME, HOSTILE_SUBJECT, HOSTILE_BODY, HOSTILE_IDENTIFIER_LINE, HOSTILE_LINK, HOSTILE_QUOTE,
                 HOSTILE_FILENAME)


def hostile_eml() -> bytes:
    """A lost-password request to the 07 mailbox whose display name, subject, text,
    quoted history, attachment name and identifier line carry script."""
    message = EmailMessage()
    message["Authentication-Results"] = verdict("mairie-privas.fr")
    message["From"] = "placeholder@mairie-privas.fr"
    message["To"] = MAILBOX_07
    message["Subject"] = HOSTILE_SUBJECT
    message["Date"] = "Mon, 02 Mar 2026 10:12:00 +0100"
    message["Message-ID"] = "<hostile-console@mairie-privas.fr>"
    message.set_content(
        f"Bonjour,\n{HOSTILE_BODY}\n{HOSTILE_IDENTIFIER_LINE} (ou javascript:alert(7)-xt)\n{HOSTILE_LINK}\n"
        f"Cordialement\n\nLe lun. 2 mars 2026 à 09:00, {HOSTILE_AUTHOR} <{MAILBOX_07}> a écrit :\n"
        f"> {HOSTILE_QUOTE}\n> <script>window.pwned=11</script>\n")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=HOSTILE_FILENAME)
    # Written by hand: the email package would re-fold a display name full of specials.
    return message.as_bytes().replace(b"From: placeholder@mairie-privas.fr",
                                      f'From: "{HOSTILE_NAME}" <j.pirate@mairie-privas.fr>'.encode())


class Console:
    """One data dir with its SQLite store, and the `triage serve` process over it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.database_url = f"sqlite:///{folder / 'triage.db'}"
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("TRIAGE_CONFIG", "TRIAGE_DATABASE_URL", "TRIAGE_DATA_DIR")}
        self.env[clock.VARIABLE] = clock.pin(NOW)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def triage(self, *args: str, stdin: str | None = None) -> str:
        """Run one `triage` command on this store; its standard output."""
        done = subprocess.run([str(TRIAGE), "--data-dir", str(self.folder), "--database-url", self.database_url,
                               *args], input=stdin, capture_output=True, text=True, env=self.env, cwd=ROOT,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def add_agent(self, login: str, password: str, *departments: str) -> None:
        """`triage agents add`, the password on standard input."""
        options = [option for code in departments for option in ("--department", code)]
        self.triage("agents", "add", login, "--name", login.title(), *options, stdin=password + "\n")

    def start(self) -> Console:
        """`triage serve` on a free port, once it answers (another port if one was taken meanwhile)."""
        for _ in range(3):
            self.port = free_port()
            log = (self.folder / "serve.log").open("ab")
            self.process = subprocess.Popen(
                [str(TRIAGE), "--data-dir", str(self.folder), "--database-url", self.database_url, "serve",
                 "--host", "127.0.0.1", "--port", str(self.port)], stdout=log, stderr=log, env=self.env, cwd=ROOT)
            log.close()
            deadline = time.monotonic() + 30
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    if self.request("GET", "/login")[0] == 200:
                        return self
                except OSError:
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError(f"triage serve did not start: {(self.folder / 'serve.log').read_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM, as a service manager would."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def url(self, path: str) -> str:
        """The address of a page."""
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, cookie: str = "", form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """One HTTP request, redirects not followed: status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {**(headers or {}), **({"Cookie": f"triage_session={cookie}"} if cookie else {})}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            connection.close()

    def reference(self, identifier: str) -> str:
        """The reference of the case of an identifier."""
        store = open_store(self.database_url)
        try:
            with store.transaction() as session:
                return session.scalars(select(CaseRow.reference).where(CaseRow.identifier == identifier)).one()
        finally:
            store.dispose()


def chromium(width: int = 1400, height: int = 1000) -> WebDriver:
    """Debian's headless Chromium, a fresh profile, the browser's console log kept."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", f"--window-size={width},{height}",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def log_in(driver: WebDriver, console: Console, login: str, password: str) -> str:
    """A fresh browser session through the login form; the page's alert or status line."""
    driver.delete_all_cookies()
    driver.get(console.url("/login"))
    driver.find_element(By.ID, "username").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form.connexion button[type=submit]"))
    alerts = driver.find_elements(By.CSS_SELECTOR, "[role=alert]")
    return alerts[0].text if alerts else ""


def submit(driver: WebDriver, button: WebElement) -> None:
    """Click a form's button and wait for the page it leads to: the old page is marked, and
    the wait retries while the browser is between documents (Chromium may then answer an
    error other than a stale element)."""
    driver.execute_script("window.oldPageOfTheTest = true")
    button.click()
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && window.oldPageOfTheTest === undefined"))


def session_cookie(driver: WebDriver) -> str:
    """The browser's session cookie (HttpOnly: scripts of the page cannot read it, WebDriver can)."""
    cookie = driver.get_cookie("triage_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    return str(cookie["value"])
