"""The scheduled mail job: poll every mailbox, queue verdict mails, send the outbox.

With Redis it is a Dramatiq actor on its own queue (``mail``), sent every
``EINVOICE_MAIL_POLL_INTERVAL`` seconds by :class:`MailScheduler` and consumed by ``einvoice mail
worker``; in embedded mode the scheduler runs the job in-process. The job is idempotent (see
:mod:`einvoice.mail.poller`), so overlapping runs or a message delivered twice do no harm.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import dramatiq
from dramatiq import Broker

from einvoice.connectors.service import ItemView
from einvoice.mail import replies
from einvoice.mail.imap import ImapMailbox
from einvoice.mail.poller import Poller, PollReport
from einvoice.mail.settings import by_connector, mailboxes
from einvoice.scheduling import PeriodicJob, Scheduler
from einvoice.workflow import notify

log = logging.getLogger(__name__)

QUEUE = "mail"
ACTOR_NAME = "mail_poll"
_poll_lock = threading.Lock()  # one pass at a time in this process


def poll_all() -> list[PollReport]:
    """One pass over every configured mailbox, then verdict mails and the e-mail outbox."""
    with _poll_lock:
        reports = [Poller(box).poll() for box in mailboxes()]
        queued = replies.queue_verdicts()
        sent = notify.deliver_pending()
    done = sum(r.processed for r in reports)
    if done or queued or sent:
        log.info("mail: %d message(s) handled, %d rejection mail(s) queued, %d e-mail(s) sent", done, queued, sent)
    return reports


def retry(item: ItemView) -> None:
    """The operations view's retry: fetch that message again by its Message-ID and handle it.

    Raises when the mailbox is not configured here or the message is gone (the caller records that)."""
    box = by_connector(item.connector)
    with _poll_lock:
        Poller(box).retry(item.external_id)  # a failure is recorded on the item by the poller
        notify.deliver_pending()


@dataclass(frozen=True)
class MailboxCheck:
    connector: str
    ok: bool
    detail: str


def check() -> list[MailboxCheck]:
    """Log in to every mailbox and count its messages (``einvoice mail check``)."""
    results = []
    for box in mailboxes():
        try:
            with ImapMailbox(box) as imap:
                detail = f"{box.host}:{box.port}/{box.folder}: {imap.count()} message(s), " \
                         f"{len(imap.unprocessed())} unprocessed"
            results.append(MailboxCheck(box.connector, True, detail))
        except Exception as exc:
            results.append(MailboxCheck(box.connector, False, f"{type(exc).__name__}: {exc}"))
    return results


def run_job() -> int:
    """The actor body: returns how many messages were handled."""
    return sum(r.processed for r in poll_all())


MAIL_POLL = PeriodicJob(name=ACTOR_NAME, queue=QUEUE, body=run_job, interval_setting="mail_poll_interval",
                        enabled=lambda: bool(mailboxes()))


def actor(broker: Broker | None = None) -> dramatiq.Actor:
    """The mail job declared on ``broker`` (default: this process's broker)."""
    return MAIL_POLL.actor(broker)


class MailScheduler(Scheduler):
    """Polls every ``EINVOICE_MAIL_POLL_INTERVAL`` seconds; idle when no mailbox is configured."""

    def __init__(self, *, interval: float | None = None, in_process: bool | None = None,
                 broker: Broker | None = None) -> None:
        super().__init__(MAIL_POLL, interval=interval, in_process=in_process, broker=broker)
