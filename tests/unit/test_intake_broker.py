"""Broker choice and middleware: Redis only when configured; give-up handling after the retries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries, TimeLimit

from einvoice.config import Settings
from einvoice.intake import actors, broker


@pytest.fixture(autouse=True)
def _forget_broker() -> Iterator[None]:
    broker.reset()
    yield
    broker.reset()


def test_without_redis_the_broker_is_in_process() -> None:
    jobs = broker.configure(Settings(redis_url=None))
    assert isinstance(jobs, StubBroker)
    assert broker.is_embedded(jobs)
    assert broker.QUEUE in jobs.get_declared_queues()


def test_with_redis_url_the_redis_broker_is_used() -> None:
    # Building the broker does not connect, so no server is needed to check the choice.
    jobs = broker.configure(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(jobs, RedisBroker)
    assert not broker.is_embedded(jobs)
    assert jobs.namespace == broker.NAMESPACE


def test_give_up_runs_after_retries_decided() -> None:
    """``after_*`` hooks run in reverse order: GiveUp must come before Retries in the list."""
    kinds = [type(m) for m in broker.build_middleware(broker.JobPolicy())]
    assert kinds.index(broker.GiveUp) < kinds.index(Retries)


def test_policy_reaches_the_middleware() -> None:
    policy = broker.JobPolicy(max_retries=7, min_backoff_ms=10, max_backoff_ms=20, time_limit_ms=1234)
    middleware = {type(m): m for m in broker.build_middleware(policy)}
    retries: Any = middleware[Retries]
    assert (retries.max_retries, retries.min_backoff, retries.max_backoff) == (7, 10, 20)
    assert middleware[TimeLimit].time_limit == 1234  # type: ignore[attr-defined]


def test_policy_reads_optional_job_settings() -> None:
    class WithJobSettings(Settings):
        job_max_retries: int = 2
        job_time_limit_ms: int = 5000

    policy = broker.JobPolicy.from_settings(WithJobSettings())
    assert policy.max_retries == 2 and policy.time_limit_ms == 5000
    assert policy.min_backoff_ms == broker.JobPolicy().min_backoff_ms


def test_actor_is_declared_once_per_broker() -> None:
    first = broker.configure(Settings(redis_url=None))
    assert actors.actor(first) is actors.actor(first)
    assert actors.ACTOR_NAME in first.get_declared_actors()
    second = broker.configure(Settings(redis_url=None))
    assert actors.actor(second).broker is second


class _Message:
    def __init__(self, failed: bool) -> None:
        self.failed = failed
        self.actor_name = actors.ACTOR_NAME
        self.args = ("abc",)
        self.message_id = "m1"


def test_give_up_calls_the_handler_only_for_failed_messages() -> None:
    jobs = broker.configure(Settings(redis_url=None))
    calls: list[tuple[str, str]] = []
    declared = actors.actor(jobs)
    declared.options["on_give_up"] = lambda invoice_id, *, error: calls.append((invoice_id, error))
    hook = broker.GiveUp()
    hook.after_process_message(jobs, _Message(failed=False), exception=RuntimeError("transient"))
    hook.after_process_message(jobs, _Message(failed=True), exception=None)
    assert calls == []
    hook.after_process_message(jobs, _Message(failed=True), exception=RuntimeError("boom"))
    assert calls == [("abc", "RuntimeError: boom")]


def test_a_failing_give_up_handler_does_not_propagate() -> None:
    jobs = broker.configure(Settings(redis_url=None))

    def broken(invoice_id: str, *, error: str) -> None:
        raise OSError("database down")

    actors.actor(jobs).options["on_give_up"] = broken
    broker.GiveUp().after_process_message(jobs, _Message(failed=True), exception=RuntimeError("x"))
