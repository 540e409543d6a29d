"""Dramatiq set-up, once per process: Redis when ``EINVOICE_REDIS_URL`` is set, else in-process.

Without Redis the same actors run on an in-process ``StubBroker`` consumed by worker threads of
``einvoice serve`` (embedded mode), so a fresh machine needs nothing else. Either way every job
gets a time limit, retries with exponential back-off, and, once the retries are used up, the
actor's ``on_give_up`` handler — the invoice ends in the visible ``failed`` state instead of
disappearing into a dead-letter queue nobody reads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from einvoice.config import Settings, get_settings

log = logging.getLogger(__name__)

QUEUE = "invoices"
NAMESPACE = "einvoice"


@dataclass(frozen=True)
class JobPolicy:
    """How long and how often a job is tried before its invoice is marked ``failed``.

    Read from the optional settings ``EINVOICE_JOB_<FIELD>`` (``job_max_retries`` …) when
    ``Settings`` has them; the defaults suit production (about 1+2+4+8+16 s of back-off).
    """

    max_retries: int = 5
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 300_000
    time_limit_ms: int = 300_000

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> JobPolicy:
        settings = settings or get_settings()
        return cls(settings.job_max_retries, settings.job_min_backoff_ms, settings.job_max_backoff_ms,
                   settings.job_time_limit_ms)


class GiveUp(Middleware):
    """Runs the actor's ``on_give_up(*args, error=...)`` when a message has failed for good.

    It must sit *before* ``Retries`` in the middleware list: ``after_*`` hooks run in reverse
    order, so ``Retries`` has decided (and called ``message.fail()``) by the time we look.
    """

    @property
    def actor_options(self) -> set[str]:
        return {"on_give_up"}

    def after_process_message(self, broker: Broker, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        if exception is None or not message.failed:
            return
        handler = broker.get_actor(message.actor_name).options.get("on_give_up")
        if handler is None:
            return
        error = f"{type(exception).__name__}: {exception}"
        try:
            handler(*message.args, error=error)
        except Exception:
            # The invoice keeps its non-final state, so the sweeper will bring it back later.
            log.exception("could not record the failure of message %s", message.message_id)


def build_middleware(policy: JobPolicy) -> list[Middleware]:
    return [
        AgeLimit(),
        TimeLimit(time_limit=policy.time_limit_ms),
        ShutdownNotifications(),
        CurrentMessage(),
        GiveUp(),
        Retries(max_retries=policy.max_retries, min_backoff=policy.min_backoff_ms,
                max_backoff=policy.max_backoff_ms),
    ]


def redis_client(url: str) -> Any:
    """A client that gives up quickly while Redis is down: intake must not stall, the sweeper catches up."""
    from redis import Redis
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    return Redis.from_url(
        url,
        socket_connect_timeout=3,
        socket_timeout=30,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


_lock = threading.RLock()
_broker: Broker | None = None
_policy: JobPolicy | None = None
_booted: list[Broker] = []


def configure(settings: Settings | None = None, *, policy: JobPolicy | None = None) -> Broker:
    """Build this process's broker from the settings and make it Dramatiq's global broker.

    Call it again (tests) to switch; the previous broker is closed.
    """
    global _broker, _policy
    settings = settings or get_settings()
    policy = policy or JobPolicy.from_settings(settings)
    with _lock:
        if _broker is not None:
            _broker.close()
        broker: Broker
        if settings.redis_url:
            from dramatiq.brokers.redis import RedisBroker

            broker = RedisBroker(client=redis_client(settings.redis_url), namespace=NAMESPACE,
                                 middleware=build_middleware(policy))
        else:
            broker = StubBroker(middleware=build_middleware(policy))
        broker.declare_queue(QUEUE)
        dramatiq.set_broker(broker)
        _broker, _policy = broker, policy
        log.info("job broker: %s", "redis" if settings.redis_url else "in-process (embedded)")
        return broker


def get_broker() -> Broker:
    """The configured broker, built from the settings on first use."""
    with _lock:
        return _broker if _broker is not None else configure()


def policy() -> JobPolicy:
    with _lock:
        if _policy is None:
            configure()
        assert _policy is not None
        return _policy


def boot(broker: Broker) -> None:
    """Signal ``process_boot`` once per broker (starts the time-limit watchdog thread)."""
    with _lock:
        if broker not in _booted:
            _booted.append(broker)
            broker.emit_after("process_boot")


def backlog(broker: Broker | None = None) -> int | None:
    """Jobs waiting in the queue (not yet taken by a worker), or None when the broker cannot say."""
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.common import dq_name

    broker = broker or get_broker()
    names = (QUEUE, dq_name(QUEUE))
    try:
        if isinstance(broker, StubBroker):
            return sum(broker.queues[name].qsize() for name in names if name in broker.queues)
        if isinstance(broker, RedisBroker):
            return sum(int(broker.client.llen(f"{broker.namespace}:{name}")) for name in names)
    except Exception:  # broker down: unknown
        log.debug("cannot read the queue length", exc_info=True)
    return None


def is_embedded(broker: Broker | None = None) -> bool:
    """True when jobs run inside this process (no Redis configured)."""
    return isinstance(broker or get_broker(), StubBroker)


def reset() -> None:
    """Close and forget the broker (tests that switch settings)."""
    global _broker, _policy
    with _lock:
        if _broker is not None:
            _broker.close()
        _broker, _policy = None, None
