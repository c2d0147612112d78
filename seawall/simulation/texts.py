"""Texts that recipients attach to reports: the only message content the contract carries.

Spam texts come from the real Telegram spam samples in ``shared/data`` when present
(umputun/tg-spam, MIT) and otherwise from templates with links and phone numbers, so the
simulator also works installed on its own. Each campaign gets its own small set of texts
and its own link, as real campaigns do; coordinated accounts share one set.
"""

from __future__ import annotations

from pathlib import Path

from seawall.simulation.dice import Dice

__all__ = ["Texts"]

_SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "telegram_spam_samples.txt"
_MAX = 4096

_TEMPLATES = (
    "Earn ${n}00 a day from home, no experience needed! Register now: {link}",
    "Congratulations! Your number won a {prize}. Claim it today at {link} or call {phone}",
    "Hi dear, I am a crypto trading expert. {n}0% profit every week, join my group {link}",
    "Your parcel could not be delivered. Confirm your address here: {link}",
    "URGENT: your account will be suspended. Verify now {link}",
    "Looking for part-time staff, {n}0 USD per task, just like videos. WhatsApp {phone}",
    "Exclusive offer: {prize} at 90% off only today {link}",
    "Hello, is this {name}? I have a business proposal for you, check {link}",
    "Invest {n}00 get {n}000 in 24 hours, guaranteed. Contact {phone} or {link}",
)
_SCAM_TEMPLATES = (
    "Hi, it's me, I changed my number. Can you send me the 6-digit code I just sent you?",
    "I'm in trouble and need {n}00 urgently, can you send it here {link}? I'll pay you back",
    "Look at this photo of you {link}",
    "Please vote for my niece in this contest {link}",
)
_NOTIFICATIONS = (
    "Your order #{order} has shipped and will arrive tomorrow. Track: {link}",
    "Reminder: your appointment is tomorrow at {hour}:00. Reply 1 to confirm.",
    "Your verification code is {order}. Do not share it.",
    "Your bill of ${n}4.{n}0 is ready. Pay at {link}",
)
# What an acquaintance's messages look like when someone reports them after a quarrel: the
# report-text signal must see ordinary chat in reports too, not only spam.
_CHAT = (
    "why do you keep sending me this",
    "I told you not to contact me again",
    "you owe me an apology",
    "whatever, do what you want",
    "are you coming tonight or not?",
    "call me when you get this",
    "lol no way",
    "I'm not paying for that again",
    "ok see you tomorrow at 8",
    "you never answer when it matters",
    "send me the photos from saturday",
    "stop calling my sister",
    "we need to talk about the rent",
    "happy birthday!! 🎉",
)
_PRIZES = ("iPhone 15", "$1000 gift card", "free trip", "Samsung TV", "cash prize")
_NAMES = ("Maria", "John", "Priya", "Ahmed", "Ana", "Wei", "Olu")
_DOMAINS = ("bit.ly", "tinyurl.com", "cutt.ly", "t.me", "wa.me", "is.gd", "rb.gy")
_TLDS = ("com", "net", "xyz", "top", "online", "site", "info")


class Texts:
    """Draws campaign texts; ``source`` is "auto", "templates" or a path to samples."""

    def __init__(self, dice: Dice, source: str = "auto") -> None:
        self.d = dice
        self.samples: list[str] = []
        path = _SAMPLES if source == "auto" else None if source == "templates" else Path(source)
        if path is not None and path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            self.samples = [line.strip()[:_MAX] for line in lines if line.strip()]

    def link(self) -> str:
        d = self.d
        code = "".join(d.choice("abcdefghijkmnpqrstuvwxyzABCDEFGH23456789") for _ in range(6))
        if d.chance(0.6):
            return f"https://{d.choice(_DOMAINS)}/{code}"
        word = d.choice(("promo", "earn", "win", "crypto", "deal", "bonus", "secure"))
        return f"https://{word}-{code.lower()}.{d.choice(_TLDS)}"

    def phone(self) -> str:
        return f"+{self.d.choice(('1', '44', '91', '234', '62'))}{self.d.below(10**10):010d}"

    def _fill(self, template: str, link: str) -> str:
        d = self.d
        return template.format(link=link, phone=self.phone(), n=1 + d.below(9),
                               prize=d.choice(_PRIZES), name=d.choice(_NAMES),
                               order=d.below(10**6), hour=8 + d.below(10))

    def campaign(self, k: int = 3, scam: bool = False) -> list[str]:
        """``k`` texts of one campaign sharing one link (real samples when available)."""
        link = self.link()
        out = []
        for _ in range(k):
            if not scam and self.samples and self.d.chance(0.5):
                out.append(self.d.choice(self.samples))
            else:
                pool = _SCAM_TEMPLATES if scam else _TEMPLATES
                out.append(self._fill(self.d.choice(pool), link))
        return out

    def notifications(self) -> list[str]:
        link = self.link()
        return [self._fill(t, link) for t in _NOTIFICATIONS]

    def chat(self, k: int) -> list[str]:
        """``k`` ordinary messages, as an acquaintance might have sent them."""
        return [self.d.choice(_CHAT) for _ in range(k)]
