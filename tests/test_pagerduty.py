"""The PagerDuty on-call plugin through the real pdpyras client, against the fake PagerDuty REST API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from plugins.errors import PluginAuthError, PluginConfigError, PluginError, PluginNotFound, PluginRateLimited
from plugins.pagerduty.oncall import PagerDutyOnCall
from plugins.setup import PluginSetup
from tests.fakes.pagerduty import FakePagerDuty


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


def plugin_for(fake: FakePagerDuty, api_key: str | None = None) -> PagerDutyOnCall:
    return PagerDutyOnCall(api_key or fake.api_key, "bot@example.com", fake.url, sleep_timer=0.001)


async def test_the_first_level_on_call_of_a_service(pagerduty: FakePagerDuty) -> None:
    dana = pagerduty.add_user("Dana Scully", "dana@example.com")
    boss = pagerduty.add_user("Walter Skinner", "walter@example.com")
    service = pagerduty.add_service("Payments API", on_call=[dana], level2=[boss])

    person = await plugin_for(pagerduty).oncall(service)

    assert person is not None
    assert (person.email, person.name, person.external_id) == ("dana@example.com", "Dana Scully", dana)
    [asked] = pagerduty.requests_to("GET", "/oncalls")
    assert asked.query["escalation_policy_ids[]"] == [pagerduty.services[service]["escalation_policy_id"]]


async def test_a_service_with_nobody_on_call(pagerduty: FakePagerDuty) -> None:
    service = pagerduty.add_service("Batch jobs")
    assert await plugin_for(pagerduty).oncall(service) is None


async def test_a_wrong_key_and_an_unknown_service_say_what_to_fix(pagerduty: FakePagerDuty) -> None:
    service = pagerduty.add_service("Payments API")
    with pytest.raises(PluginAuthError, match="PAGERDUTY_API_KEY"):
        await plugin_for(pagerduty, api_key="wrong").oncall(service)
    with pytest.raises(PluginNotFound, match=r"no service PNOPE .*external_id"):
        await plugin_for(pagerduty).oncall("PNOPE")


async def test_a_short_rate_limit_is_waited_out_and_a_long_one_is_reported(pagerduty: FakePagerDuty) -> None:
    dana = pagerduty.add_user("Dana", "dana@example.com")
    service = pagerduty.add_service("Payments API", on_call=[dana])
    pagerduty.fail("GET", "/services", 429, times=2, retry_after=30)
    person = await plugin_for(pagerduty).oncall(service)
    assert person is not None and person.email == "dana@example.com"
    assert len(pagerduty.requests_to("GET", "/services")) == 3

    pagerduty.fail("GET", "/services", 429, times=50, retry_after=30)
    with pytest.raises(PluginRateLimited, match="Try again in 30 s") as raised:
        await plugin_for(pagerduty).oncall(service)
    assert raised.value.retry_after == 30


async def test_paging_twice_with_one_key_makes_one_incident(pagerduty: FakePagerDuty) -> None:
    service = pagerduty.add_service("Payments API")
    plugin = plugin_for(pagerduty)
    # The first attempt is rate limited before PagerDuty creates anything; pdpyras retries the POST.
    pagerduty.fail("POST", "/incidents", 429, times=1, retry_after=1)

    first = await plugin.page(service, "dispatch-bot/INC-7/" + service, "INC-7: Checkout down", "Cart fails")
    again = await plugin.page(service, "dispatch-bot/INC-7/" + service, "INC-7: Checkout down", "Cart fails")

    assert [i.title for i in pagerduty.incidents] == ["INC-7: Checkout down"]
    [incident] = pagerduty.incidents
    assert (incident.service_id, incident.from_email, incident.details) == (
        service,
        "bot@example.com",
        "Cart fails",
    )
    assert first.created and first.id == incident.id
    assert not again.created and again.id == incident.id
    assert again.weblink == f"{pagerduty.url}/incidents/{incident.id}"


async def test_paging_an_unknown_service(pagerduty: FakePagerDuty) -> None:
    with pytest.raises(PluginNotFound):
        await plugin_for(pagerduty).page("PNOPE", "k", "t", "d")
    assert pagerduty.incidents == []


def test_credentials_come_from_the_environment_and_options_from_the_config() -> None:
    setup = PluginSetup(
        "Default",
        "oncall",
        {"api_url": "http://pd.internal:9000/", "sleep_seconds": 0.1},
        {"PAGERDUTY_API_KEY": "k", "PAGERDUTY_API_FROM_EMAIL": "bot@example.com"},
    )
    plugin = PagerDutyOnCall.from_setup(setup)
    assert (plugin.api_key, plugin.from_email, plugin.api_url, plugin.sleep_timer) == (
        "k",
        "bot@example.com",
        "http://pd.internal:9000",
        0.1,
    )
    with pytest.raises(PluginConfigError, match="PAGERDUTY_API_FROM_EMAIL is not set"):
        PagerDutyOnCall.from_setup(PluginSetup("Default", "oncall", {}, {"PAGERDUTY_API_KEY": "k"}))


async def test_the_live_check_accepts_the_key_and_names_a_wrong_one(pagerduty: FakePagerDuty) -> None:
    assert "API key accepted" in await plugin_for(pagerduty).check()
    with pytest.raises(PluginAuthError, match="PAGERDUTY_API_KEY"):
        await plugin_for(pagerduty, api_key="wrong").check()


async def test_pagerduty_5xx_answers_are_tried_again(pagerduty: FakePagerDuty) -> None:
    dana = pagerduty.add_user("Dana", "dana@example.com")
    service = pagerduty.add_service("Payments API", on_call=[dana])
    pagerduty.fail("GET", "/services", 503)
    pagerduty.fail("GET", "/oncalls", 502, times=2)
    person = await plugin_for(pagerduty).oncall(service)
    assert person is not None and person.email == "dana@example.com"
    assert [r.status for r in pagerduty.requests_to("GET", "/services")] == [503, 200]
    assert [r.status for r in pagerduty.requests_to("GET", "/oncalls")] == [502, 502, 200]


async def test_a_pagerduty_always_failing_is_reported_after_three_attempts(pagerduty: FakePagerDuty) -> None:
    service = pagerduty.add_service("Payments API")
    pagerduty.fail("GET", "/services", 500, times=100)
    with pytest.raises(PluginError, match="PagerDuty answered 500"):
        await asyncio.wait_for(plugin_for(pagerduty).oncall(service), 5)
    assert len(pagerduty.requests_to("GET", "/services")) == 3


async def test_a_page_pagerduty_made_but_answered_502_stays_one_page(pagerduty: FakePagerDuty) -> None:
    service = pagerduty.add_service("Payments API")
    pagerduty.fail("POST", "/incidents", 502, applied=True)
    page = await plugin_for(pagerduty).page(service, "dispatch-bot/INC-8/" + service, "INC-8: Down", "d")
    [incident] = pagerduty.incidents
    assert page.id == incident.id and not page.created  # the retry met "Incident Already Exists"
    assert [r.status for r in pagerduty.requests_to("POST", "/incidents")] == [502, 400]


def test_the_default_retries_end_inside_the_plugin_timeout() -> None:
    plugin = PagerDutyOnCall("k", "bot@example.com")
    session = plugin._session()
    assert all(session.retry[status] == 2 for status in (500, 502, 503, 504))
    assert session.retry[429] == 4
    # Doubling from sleep_seconds: the longest run of retries sleeps 1 + 2 + 4 + 8 seconds.
    retries = session.max_http_attempts + 1
    slept = sum(plugin.sleep_timer * session.sleep_timer_base**n for n in range(1, retries + 1))
    assert slept <= 15
