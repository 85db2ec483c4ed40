"""Transcript helpers: drive the core as residents and read its replies like a chat.

    sri = kampung.resident("whatsapp:+6281234567001")
    sri.says("halo").hears("Apakah Anda setuju?").at("onboarding", "consent")
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.app import App
from bot.messages import IncomingMessage, Location, Media, split_sender


@dataclass
class Replies:
    messages: list[dict]

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages)

    @property
    def choices(self) -> list[str]:
        return [c["label"] for m in self.messages for c in m["choices"]]

    @property
    def choice_ids(self) -> list[str]:
        return [c["id"] for m in self.messages for c in m["choices"]]

    def hears(self, *fragments: str) -> Replies:
        assert self.messages, "the bot said nothing"
        for fragment in fragments:
            assert fragment in self.text, f"expected {fragment!r} in:\n{self.text}"
        return self

    def offers(self, *labels: str) -> Replies:
        for label in labels:
            assert label in self.choices, f"expected choice {label!r} in {self.choices}"
        return self

    def at(self, flow: str | None, step: str | None) -> Replies:
        last = self.messages[-1]
        assert (last["flow"], last["step"]) == (flow, step), f"at {(last['flow'], last['step'])}, text:\n{self.text}"
        return self


class Resident:
    def __init__(self, app: App, sender: str, profile_name: str | None = None):
        self.app = app
        self.channel, self.address = split_sender(sender)
        self.profile_name = profile_name

    def says(self, text: str = "", *, choice: str | None = None, media: list[Media] | None = None,
             location: Location | None = None) -> Replies:
        msg = IncomingMessage(self.channel, self.address, text, media or [], location, choice, self.profile_name)
        return Replies([out.to_dict() for out in self.app.core.receive(msg)])

    def presses(self, choice_id: str) -> Replies:
        return self.says(choice=choice_id)

    def onboard(self, name: str = "Bu Sri", rt: str = "4", language: str = "1") -> Replies:
        self.says("halo")
        self.says("setuju")
        self.says(name)
        self.says(rt)
        self.says("lewati")
        return self.says(language)


class Kampung:
    def __init__(self, app: App):
        self.app = app

    def resident(self, sender: str = "whatsapp:+6281234567001", profile_name: str | None = None) -> Resident:
        return Resident(self.app, sender, profile_name)
