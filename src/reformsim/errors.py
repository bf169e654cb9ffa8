"""Exceptions raised for bad user input.

Every user-facing error is a :class:`ReformsimError`; the CLI prints its message on one line and
exits with status 2. Messages name the field, the expected value and the value received.
"""

from __future__ import annotations


class ReformsimError(Exception):
    """Base class for errors caused by user input (scenario files, options)."""


class ScenarioError(ReformsimError):
    """A scenario file or mapping is invalid.

    Parameters
    ----------
    message
        One line naming the field, the expected and the got value.
    source
        The file the error came from, if any (prefixed to the message).
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        self.detail = message
        super().__init__(f"{source}: {message}" if source else message)
