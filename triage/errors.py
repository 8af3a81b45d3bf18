"""The few errors spl-pes triage raises on purpose; the CLI turns them into messages."""


class TriageError(Exception):
    """Base class: an error the user can act on, shown without a traceback."""


class RulesError(TriageError):
    """A rules file is missing, unreadable or does not have the expected shape."""


class LabelsError(TriageError):
    """A labels.jsonl file used by `triage eval` is malformed."""


class StoreError(TriageError):
    """The database cannot be opened, or its schema is not the one this code needs."""


class ConfigError(TriageError):
    """The configuration file or environment is missing something or has a wrong value."""


class MailboxError(TriageError):
    """An IMAP mailbox cannot be reached, logged into or used."""


class SmtpError(TriageError):
    """SMTP refused or unreachable: `permanent` for a 5xx; `uncertain` when cut after DATA's final dot."""

    def __init__(self, message: str, permanent: bool, uncertain: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.uncertain = uncertain


class WorkerError(TriageError):
    """The analysis workers cannot start, or their pool stopped: the mail waits in place."""
