"""A fake Slack workspace (Web API, Socket Mode, response_url) for testing the bot over loopback."""

from tests.fakes.slack.blockkit import validate_blocks, validate_message, validate_view
from tests.fakes.slack.faults import Faults
from tests.fakes.slack.server import ApiCall, FakeSlack, ResponseUrlPost
from tests.fakes.slack.socket_mode import Ack, AckTimeoutError, Delivery, NotConnectedError
from tests.fakes.slack.state import Channel, FileRecord, Message, User
from tests.fakes.slack.users import Actor, ActorError, Interaction

__all__ = [
    "Ack",
    "AckTimeoutError",
    "Actor",
    "ActorError",
    "ApiCall",
    "Channel",
    "Delivery",
    "FakeSlack",
    "Faults",
    "FileRecord",
    "Interaction",
    "Message",
    "NotConnectedError",
    "ResponseUrlPost",
    "User",
    "validate_blocks",
    "validate_message",
    "validate_view",
]
