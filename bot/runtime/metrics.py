"""Prometheus metrics of one bot process, kept in their own registry so tests can run several bots."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

ACK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.envelopes = Counter(
            "dispatch_bot_envelopes_handled",
            "Socket Mode envelopes handled, by envelope type and outcome.",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "dispatch_bot_ack_latency_seconds",
            "Time from receiving an envelope to sending its acknowledgement.",
            ["type"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.slack_calls = Counter(
            "dispatch_bot_slack_api_calls",
            "Slack Web API calls, by method.",
            ["method"],
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "dispatch_bot_slack_api_errors",
            "Slack Web API calls that failed, by method and error.",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "dispatch_bot_slack_rate_limited",
            "Slack Web API calls answered 429 (the method, or its channel, then held for Retry-After).",
            ["method"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "dispatch_bot_job_runs", "Scheduled job runs, by job.", ["job"], registry=self.registry
        )
        self.job_failures = Counter(
            "dispatch_bot_job_failures",
            "Scheduled job runs that failed, by job.",
            ["job"],
            registry=self.registry,
        )

        self.job_skipped = Counter(
            "dispatch_bot_job_skipped",
            "Scheduled job slots skipped because another process had claimed them, by job.",
            ["job"],
            registry=self.registry,
        )
        self.effect_runs = Counter(
            "dispatch_bot_effects",
            "Recorded effects run to completion, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.effect_failures = Counter(
            "dispatch_bot_effect_failures",
            "Recorded effect attempts that failed (retried later, or abandoned after the last), by kind.",
            ["kind"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
