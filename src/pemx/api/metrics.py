"""What `GET /metrics` shows (Prometheus text format, prometheus_client): the API's own
counters (calls per method and outcome, their latency, failed logins), and gauges read
at each scrape from a snapshot of the node (open transactions, the outbox, the stores)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; an addMailbox with its live mailbox takes tens of milliseconds, a batch more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class StoreState:
    """One mailbox store as /metrics and /readyz see it."""

    name: str
    mailboxes: int
    max_mailboxes: int  # 0: no limit
    healthy: bool


@dataclass(frozen=True)
class NodeSnapshot:
    open_transactions: int = 0
    tasks: Mapping[str, int] = field(default_factory=dict)  # outbox tasks by state
    stores: Sequence[StoreState] = ()


class ApiMetrics:
    """The metrics of one API (its own registry: several may live in one process)."""

    def __init__(self, snapshot: Callable[[], NodeSnapshot] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "pemx_calls",
            "XML-RPC calls by method and outcome (ok, the OA error code, or fault)",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pemx_call_duration_seconds",
            "Time to answer an XML-RPC call",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.failed_logins = Counter(
            "pemx_failed_logins", "Refused HTTP Basic logins", registry=self.registry
        )
        if snapshot is not None:
            self.registry.register(_NodeCollector(snapshot))

    def observe_call(self, method: str, outcome: str, seconds: float) -> None:
        self.calls.labels(method, outcome).inc()
        self.latency.labels(method).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _NodeCollector(Collector):
    def __init__(self, snapshot: Callable[[], NodeSnapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        state = self.snapshot()
        yield GaugeMetricFamily(
            "pemx_open_transactions", "Open OA transactions (txn.Begin)", state.open_transactions
        )
        tasks = GaugeMetricFamily("pemx_outbox_tasks", "Outbox tasks by state", labels=["state"])
        for name in ("pending", "running", "failed"):
            tasks.add_metric([name], state.tasks.get(name, 0))
        yield tasks
        mailboxes = GaugeMetricFamily(
            "pemx_store_mailboxes", "Mailboxes placed on each store", labels=["store"]
        )
        limit = GaugeMetricFamily(
            "pemx_store_max_mailboxes", "Each store's mailbox limit (0: none)", labels=["store"]
        )
        up = GaugeMetricFamily(
            "pemx_store_up", "1 when the store's doveadm API and IMAP answer", labels=["store"]
        )
        for store in state.stores:
            mailboxes.add_metric([store.name], store.mailboxes)
            limit.add_metric([store.name], store.max_mailboxes)
            up.add_metric([store.name], 1 if store.healthy else 0)
        yield from (mailboxes, limit, up)
