"""Refusals of the workflow: each carries the HTTP status the API answers with and the reason in words."""

from __future__ import annotations


class WorkflowError(Exception):
    """A refused request; ``status_code`` is the HTTP answer, ``message`` says why in plain words."""

    status_code = 409
    commit = False  # True: the refusal changed state that must be kept (the caller commits, then answers)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(WorkflowError):
    status_code = 404


class Forbidden(WorkflowError):
    status_code = 403


class Conflict(WorkflowError):
    status_code = 409


class Invalid(WorkflowError):
    status_code = 422


class Restarted(Conflict):
    """The invoice data or coding changed under the request: approvals were discarded (kept), retry."""

    commit = True
