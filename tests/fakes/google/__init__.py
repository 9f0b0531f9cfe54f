"""A fake Google Workspace (token, Drive, Docs, Admin Directory, Gmail, Calendar) for googleapiclient."""

from tests.fakes.google.server import FakeGoogle

__all__ = ["FakeGoogle"]
