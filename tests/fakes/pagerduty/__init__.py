"""A fake PagerDuty REST API v2 for the real pdpyras client."""

from tests.fakes.pagerduty.server import FakePagerDuty

__all__ = ["FakePagerDuty"]
