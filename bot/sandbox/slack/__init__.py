"""A fake Slack workspace on loopback (Web API, Socket Mode, response_url): the tests' and the sandbox's."""

from bot.sandbox.slack.blockkit import validate_blocks, validate_message, validate_view
from bot.sandbox.slack.faults import Faults
from bot.sandbox.slack.interactions import ActorError, Interaction
from bot.sandbox.slack.limits import Limit, RateLimits
from bot.sandbox.slack.server import ApiCall, FakeSlack, ResponseUrlPost
from bot.sandbox.slack.socket_mode import Ack, AckTimeoutError, Delivery, NotConnectedError
from bot.sandbox.slack.state import Channel, FileRecord, Message, User
from bot.sandbox.slack.users import Actor

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
    "Limit",
    "Message",
    "NotConnectedError",
    "RateLimits",
    "ResponseUrlPost",
    "User",
    "validate_blocks",
    "validate_message",
    "validate_view",
]
