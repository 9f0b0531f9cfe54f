"""The steps a typed line asks for (outside a form), done in the workspace as the person would in Slack:
a slash command, a message, and the commands `:goto`, `:as`, `:join`, `:leave`, `:react`, `:thread`,
`:click`, `:jobs`, `:run`, `:time`, `:people`, `:close`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.sandbox import render
from bot.sandbox.commands import HELP, Step, StepFailed
from bot.sandbox.news import Line, News, where
from bot.sandbox.runner import Sandbox
from bot.sandbox.setup import parse_duration
from bot.sandbox.slack import Actor, Channel, Interaction, Message


class Host(Protocol):
    """What doing a step needs from the session around it."""

    sandbox: Sandbox
    timeout: float
    me: str
    places: dict[str, str]
    shown: News

    @property
    def here(self) -> Channel: ...

    @property
    def actor(self) -> Actor: ...

    def people(self) -> dict[str, str]: ...

    def news(self, user: str | None = None) -> list[Line]: ...

    def refused(self, message: str) -> list[Line]: ...

    async def act(self, action: Awaitable[Any]) -> Interaction | None: ...

    async def after(self, *, expect_answer: bool) -> list[Line]: ...


class Steps:
    """Each step of the person at the keyboard, and what they then see."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.fake = host.sandbox.fake
        self.ws = host.sandbox.fake.workspace

    async def do(self, step: Step) -> list[Line]:
        host = self.host
        actor, here = host.actor, host.here
        timeout = host.timeout
        if step.kind == "slash":
            await host.act(actor.slash_command(step.text, channel=here.id, timeout=timeout))
            return await host.after(expect_answer=True)
        if step.kind == "text":
            if host.me not in here.members:
                raise StepFailed(f"you are not in {where(here)}: :join it first")
            await host.act(actor.post_message(here.id, step.text))
            return await host.after(expect_answer=False)
        if step.kind == "thread":
            parent = host.shown.message_at(here, step.number or 0)
            await host.act(actor.post_message(here.id, step.text, thread_ts=parent.ts))
            return await host.after(expect_answer=False)
        if step.kind == "react":
            target = (
                host.shown.message_at(here, step.number)
                if step.number is not None
                else self._last_written(here)
            )
            await host.act(actor.add_reaction(here.id, target.ts, step.text))
            return [
                Line("notice", f"{where(here)} [{host.shown.number_of(here, target.ts)}] +:{step.text}:"),
                *await host.after(expect_answer=False),
            ]
        if step.kind == "click":
            return await self._click(step)
        if step.kind == "as":
            return self._become(step.text)
        if step.kind == "goto":
            return self._goto(step.text)
        if step.kind in ("join", "leave"):
            channel = self._channel(step.text) if step.text else here
            if step.kind == "join":
                await host.act(actor.join_channel(channel.id))
                host.places[host.me] = channel.id
                done = f"you joined {where(channel)}"
            else:
                await host.act(actor.leave_channel(channel.id))
                done = f"you left {where(channel)}"
            return [Line("notice", done), *await host.after(expect_answer=False)]
        if step.kind == "jobs":
            return self._jobs()
        if step.kind == "run":
            return await self._run_job(step.text)
        if step.kind == "time":
            return await self._time(step.text)
        if step.kind == "people":
            return self._people()
        if step.kind == "help":
            return [Line("notice", HELP)]
        if step.kind in ("cancel", "close") and self.fake.open_view_for(host.me) is not None:
            await host.act(host.actor.close_view())
            return [Line("modal", "└ (closed)"), *await host.after(expect_answer=False)]
        if step.kind in ("submit", "cancel", "close"):
            return host.refused("no modal is open")
        return []

    def _last_written(self, channel: Channel) -> Message:
        for message in reversed(channel.messages):
            if message.user != self.ws.bot_user_id:
                return message
        raise StepFailed(f"nobody has written in {where(channel)} yet")

    def _channel(self, ref: str) -> Channel:
        if ref.lower() in ("dm", "@dispatch-bot"):
            return self.ws.im_with(self.host.me)
        channel = self.fake.channel_by_name(ref)
        if channel is None:
            names = ", ".join(
                f"#{c.name}" for c in self.ws.channels.values() if not c.is_im and not c.is_mpim
            )
            raise StepFailed(f"no channel {ref}; there are {names}")
        return channel

    def _goto(self, ref: str) -> list[Line]:
        host = self.host
        channel = self._channel(ref)
        if channel.is_private and host.me not in channel.members:
            raise StepFailed(f"#{channel.name} is private and you are not in it")
        host.places[host.me] = channel.id
        lines = host.news()
        if not channel.is_im and host.me not in channel.members:
            lines.append(Line("notice", f"you are not in #{channel.name}: :join to write in it"))
        return lines

    def _become(self, name: str) -> list[Line]:
        host = self.host
        wanted = name.lstrip("@").casefold()
        found = next((uid for uid, n in host.people().items() if n.casefold() == wanted), None)
        if found is None:
            raise StepFailed(f"nobody called {name} here: {', '.join(sorted(host.people().values()))}")
        host.me = found
        host.places.setdefault(found, self.fake.channel("general").id)
        user = self.ws.users[found]
        local = host.sandbox.clock.now().astimezone(ZoneInfo(user.tz))
        intro = Line(
            "notice",
            f"— you are {user.name} ({user.real_name}, {local:%a %H:%M} in {user.tz}), in {where(host.here)}",
        )
        return [intro, *host.news()]

    async def _click(self, step: Step) -> list[Line]:
        host = self.host
        seen = host.shown.seen_by(host.me)
        wanted = step.text.casefold()
        candidates = list(reversed(seen.buttons))
        if step.number is not None:
            ts = host.shown.message_at(host.here, step.number).ts
            candidates = [c for c in candidates if c[0] == host.here.id and c[1] == ts]
        for channel_id, ts, _block, element in candidates:
            if element["type"] not in ("button", "workflow_button"):
                # A menu: clicking one of its choices chooses it.
                chosen = next((o for o in render.option_texts(element) if o.casefold() == wanted), None)
                if chosen is not None:
                    await host.act(host.actor.select_option(channel_id, ts, element["action_id"], chosen))
                    return await host.after(expect_answer=True)
                continue
            label = str((element.get("text") or {}).get("text", ""))
            if label.casefold() == wanted:
                await host.act(
                    host.actor.click_button(channel_id, ts, element["action_id"], timeout=host.timeout)
                )
                return await host.after(expect_answer=True)
        shown = sorted(
            {str((e.get("text") or {}).get("text", "")) for *_, e in seen.buttons if e.get("text")}
            | {option for *_, e in seen.buttons for option in render.option_texts(e)}
        )
        raise StepFailed(
            f"no button {step.text!r} was shown to you; buttons shown: {', '.join(shown) or 'none'}"
        )

    def _jobs(self) -> list[Line]:
        scheduler = self.host.sandbox.bot.scheduler
        if scheduler is None:
            return self.host.refused("the scheduler is not running")
        return [
            Line("notice", f"{job.name:<18} {job.every!s:<12} {job.description}") for job in scheduler.jobs
        ]

    async def _run_job(self, name: str) -> list[Line]:
        scheduler = self.host.sandbox.bot.scheduler
        if scheduler is None or name not in scheduler.by_name:
            known = ", ".join(scheduler.by_name) if scheduler else ""
            raise StepFailed(f"no job {name!r}; the jobs are {known}")
        result = await scheduler.run_now(name)
        return [
            Line("notice" if result.ok else "error", f"{name}: {result.describe()}"),
            *await self.host.after(expect_answer=False),
        ]

    async def _time(self, text: str) -> list[Line]:
        clock = self.host.sandbox.clock
        lines: list[Line] = []
        if text:
            try:
                clock.advance(parse_duration(text))
            except ValueError as error:
                raise StepFailed(str(error)) from None
            scheduler = self.host.sandbox.bot.scheduler
            for job in scheduler.jobs if scheduler else []:
                assert scheduler is not None
                result = await scheduler.fire(job.name)
                if result is not None and not result.ok:
                    lines.append(Line("error", f"{job.name}: {result.describe()}"))
        user = self.ws.users[self.host.me]
        now = clock.now()
        local = now.astimezone(ZoneInfo(user.tz))
        hours, seconds = divmod(int(clock.offset.total_seconds()), 3600)
        ahead = f", {hours}h{seconds // 60:02d} ahead of the wall clock" if clock.offset else ""
        lines.insert(
            0, Line("notice", f"⏱ it is {local:%a %d %b %H:%M} for {user.name} ({now:%H:%M} UTC{ahead})")
        )
        return lines + await self.host.after(expect_answer=False)

    def _people(self) -> list[Line]:
        now = self.host.sandbox.clock.now()
        lines = []
        for uid, name in self.host.people().items():
            user = self.ws.users[uid]
            local = now.astimezone(ZoneInfo(user.tz))
            you = "  (you)" if uid == self.host.me else ""
            lines.append(
                Line(
                    "notice",
                    f"{name:<8} {user.real_name:<14} {user.tz:<20} {local:%a %H:%M}  {user.title}{you}",
                )
            )
        return lines
