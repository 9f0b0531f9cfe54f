"""PagerDuty: the on-call plugin, through pdpyras (sync, so it runs in worker threads)."""
