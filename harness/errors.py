"""Errors a user can cause: the CLI prints them as one line and exits 2."""


class UserError(Exception):
    """Bad input or environment the user can fix; the message is a full sentence."""

    exit_code = 2
