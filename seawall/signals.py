"""The signals: what the engine knows about an account at an instant, by name.

Each signal is a number computed from the state in :mod:`seawall.state` at event time, or
``NaN`` ("unknown") when the data to compute it is missing: a platform without address
books has no ``stranger_share``, an account whose registration was never seen has no
``account_age``. Rules and models read signals by name; any comparison with an unknown
signal is false, so missing metadata never reads as evidence of abuse.

The catalogue below is the single list of signals: rule files are checked against it,
models record it as their schema, and ``seawall signals`` prints it.

>>> SIGNALS[index("msgs_15s")].name
'msgs_15s'
>>> index("no_such_signal")
Traceback (most recent call last):
...
KeyError: 'no_such_signal'
"""

from __future__ import annotations

import math
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple

import numpy as np
from numba import njit

from seawall import state as S
from seawall.windows import estimate, hours_active, ring_count

H = 3_600_000
DAY = 24 * H


class Signal(NamedTuple):
    name: str
    family: str
    doc: str
    source: str = ""


SIGNALS: tuple[Signal, ...] = (
    # --- registration: what is known at sign-up --------------------------------------------
    Signal("account_age", "registration",
           "Seconds since the account's registration event; unknown if none was seen.",
           "WhatsApp (2019): an account registered 5 minutes ago sending 100 messages in 15 s"),
    Signal("regs_number_block_1h", "registration",
           "Registrations in the last hour from the same number block (the phone number "
           "without its last 3 digits), this one included.", "WhatsApp (2019), farms"),
    Signal("regs_number_block_24h", "registration", "As above, last 24 hours."),
    Signal("regs_ip_block_1h", "registration",
           "Registrations in the last hour from the same IP block (/24 IPv4, /48 IPv6)."),
    Signal("regs_ip_block_24h", "registration", "As above, last 24 hours."),
    Signal("regs_device_1h", "registration",
           "Registrations in the last hour from the same device."),
    Signal("regs_device_24h", "registration", "As above, last 24 hours."),
    Signal("risky_regs_number_block_1h", "registration",
           "Registrations in the last hour from the same number block that came with a "
           "modified or outdated client or without verification, this one included: a burst "
           "of them is a farm, SIMs bought in sequence by a company are not.",
           "WeChat Ianus (Yuan et al., 2019): sign-ups clustered by time and attributes"),
    Signal("risky_regs_ip_block_1h", "registration", "The same for the IP block."),
    Signal("risky_regs_device_1h", "registration", "The same for the device."),
    Signal("number_block_abuse_share", "registration",
           "Share of accounts registered from this number block that were banned or "
           "restricted; unknown below 2 accounts.", "WhatsApp (2019): similar numbers abused"),
    Signal("ip_block_abuse_share", "registration", "The same for the IP block."),
    Signal("device_abuse_share", "registration", "The same for the device."),
    Signal("number_block_actioned", "registration",
           "Accounts from this number block banned or restricted so far."),
    Signal("ip_block_actioned", "registration", "The same for the IP block."),
    Signal("device_actioned", "registration", "The same for the device."),
    Signal("device_accounts", "registration", "Accounts ever registered on this device."),
    Signal("client_unofficial", "registration",
           "1 if the client string names no official client (modified or automation apps)."),
    Signal("client_automation", "registration",
           "1 if the client string names a known automation library (configuration "
           "`automation_clients`): software sending for someone, not a person's app."),
    Signal("client_outdated", "registration",
           "1 if the client is older than the configured minimum version of its platform."),
    Signal("verification_none", "registration",
           "1 if the registration was not verified by SMS or voice; unknown if not given."),
    Signal("business", "registration",
           "1 if the account registered through the business channel (the legitimate lane)."),
    # --- messaging: behaviour while sending -------------------------------------------------
    Signal("msgs_15s", "messaging", "Messages sent in the last 15 s (exact, 1 s resolution)."),
    Signal("msgs_1m", "messaging", "Messages sent in the last minute (sliding estimate)."),
    Signal("msgs_10m", "messaging", "Messages sent in the last 10 minutes."),
    Signal("msgs_1h", "messaging", "Messages sent in the last hour."),
    Signal("msgs_24h", "messaging", "Messages sent in the last 24 hours."),
    Signal("msgs_total", "messaging", "Messages sent since first seen."),
    Signal("recipients_24h", "messaging",
           "Distinct one-to-one recipients in the last 24 hours (sliding estimate)."),
    Signal("first_contacts_1h", "messaging",
           "First contacts in the last hour: messages to people with no conversation before."),
    Signal("first_contacts_24h", "messaging", "As above, last 24 hours."),
    Signal("first_contacts_total", "messaging", "First contacts since first seen."),
    Signal("stranger_share", "messaging",
           "Share of first contacts whose recipient does not have the sender in contacts, "
           "among those where the platform knows; unknown without address-book data.",
           "WhatsApp (2019): new accounts messaging people who do not have them"),
    Signal("reply_rate", "messaging",
           "First contacts answered within the reply window, over first contacts older than "
           "an hour (so recent ones have had time to answer); unknown before any matured.",
           "Meta SybilEdge (2020): recipients' responses are strong early evidence"),
    Signal("recent_reply_rate", "messaging",
           "Answers in the last hour to this account's first contacts, over its first contacts "
           "in the last hour: friends answer a new number within minutes, spam targets do not. "
           "Unknown before 10 recent first contacts."),
    Signal("typed_share", "messaging",
           "Share of messages preceded by a composing indicator, among those where it is "
           "known; unknown on platforms without typing indicators."),
    Signal("gap_cv", "messaging",
           "Coefficient of variation of the gaps between messages (exponentially weighted, "
           "gaps up to an hour); near 0 is machine-regular. Unknown before 10 gaps."),
    Signal("burstiness", "messaging",
           "(sigma - mu) / (sigma + mu) of the gaps: -1 regular, 0 random, towards 1 bursty.",
           "Goh & Barabasi, 'Burstiness and memory in complex systems', EPL 2008"),
    Signal("active_hours_24h", "messaging",
           "Distinct hours with messages among the last 24: people sleep, scripts do not."),
    Signal("link_share", "messaging", "Share of messages of kind `link`."),
    Signal("media_share", "messaging", "Share of messages of kind `media`."),
    Signal("forwarded_share", "messaging", "Share of messages that were forwarded content."),
    # --- groups ------------------------------------------------------------------------------
    Signal("groups_created_1h", "groups", "Groups created in the last hour.",
           "WhatsApp (2019): accounts that quickly create dozens of groups"),
    Signal("groups_created_24h", "groups", "Groups created in the last 24 hours."),
    Signal("members_added_1h", "groups", "Members added to groups in the last hour."),
    Signal("members_added_24h", "groups", "Members added to groups in the last 24 hours."),
    Signal("stranger_add_share", "groups",
           "Share of added members who do not have the adder in contacts, where known."),
    Signal("added_left_share", "groups",
           "Share of added members who left within the leave window (not removed by admins)."),
    # --- feedback: reports and blocks -------------------------------------------------------
    Signal("reached", "feedback", "Distinct people this account messaged one to one."),
    Signal("reporters", "feedback", "Distinct accounts that reported this account."),
    Signal("credible_reporters", "feedback",
           "Reporters who had received a message from this account (one to one or in a "
           "shared group)."),
    Signal("credible_reports", "feedback",
           "Reports weighted by credibility: 0 from people who received nothing, more for a "
           "report on a stranger's first contact, less from new or prolific reporters, "
           "scaled by the attached text's spam score.",
           "~2% of reporters reliably spot fakes: reporters are weak, noisy labels"),
    Signal("report_rate", "feedback", "credible_reports / max(reached, 1)."),
    Signal("blockers", "feedback", "Distinct accounts that blocked this account."),
    Signal("credible_blockers", "feedback", "Blockers who had received a message from it."),
    Signal("block_rate", "feedback", "Credibility-weighted blocks / max(reached, 1)."),
    Signal("reports_filed_24h", "feedback", "Reports this account filed in the last 24 hours."),
    Signal("false_report_crowd", "feedback",
           "Largest crowd of reporters this account joined in reporting someone who never "
           "wrote to any of them (counted when it reported): a report brigade."),
    # --- sessions ----------------------------------------------------------------------------
    Signal("since_takeover", "sessions",
           "Seconds since a session from a new device, a new IP block and a different client "
           "(platform or version) at once: a possible account takeover; unknown if none."),
    Signal("msgs_since_takeover", "sessions", "Messages sent since that session."),
    Signal("first_contacts_since_takeover", "sessions",
           "First contacts since that session: an owner back on a new phone talks to people "
           "they talk to; an intruder blasts the address book."),
    Signal("untyped_since_takeover", "sessions",
           "Messages sent without a typing indicator since that session (scripts do not type); "
           "0 where typing is unknown."),
    Signal("baseline_hourly", "sessions",
           "Messages per hour over the 24 hours before that session (the owner's habit)."),
    Signal("refused_attempts", "sessions", "Events refused because of enforcement."),
    # --- campaigns -----------------------------------------------------------------------------
    Signal("campaign_member", "campaigns",
           "1 if the account belongs to an established coordinated campaign.",
           "SynchroTrap (Cao et al., CCS 2014); CopyCatch (Beutel et al., WWW 2013)"),
    Signal("campaign_infrastructure", "campaigns",
           "1 if the number block, network or device it registered from carried members of "
           "an active campaign; unknown without registration data.",
           "WeChat Ianus (Yuan et al., 2019): registration clusters"),
    # --- learned models ----------------------------------------------------------------------
    Signal("registration_model", "models",
           "Calibrated abuse probability from the registration model, scored at sign-up on what "
           "was known then; unknown without a model or a registration."),
    Signal("behaviour_model", "models",
           "Calibrated abuse probability from the behaviour model; unknown without one."),
)

NSIG = len(SIGNALS)

# Positions in the vector, for the compiled code (tests check them against the catalogue).
ACCOUNT_AGE = 0
REGS_NUMBER_BLOCK_1H = 1
REGS_NUMBER_BLOCK_24H = 2
REGS_IP_BLOCK_1H = 3
REGS_IP_BLOCK_24H = 4
REGS_DEVICE_1H = 5
REGS_DEVICE_24H = 6
RISKY_REGS_NUMBER_BLOCK_1H = 7
RISKY_REGS_IP_BLOCK_1H = 8
RISKY_REGS_DEVICE_1H = 9
NUMBER_BLOCK_ABUSE_SHARE = 10
IP_BLOCK_ABUSE_SHARE = 11
DEVICE_ABUSE_SHARE = 12
NUMBER_BLOCK_ACTIONED = 13
IP_BLOCK_ACTIONED = 14
DEVICE_ACTIONED = 15
DEVICE_ACCOUNTS = 16
CLIENT_UNOFFICIAL = 17
CLIENT_AUTOMATION = 18
CLIENT_OUTDATED = 19
VERIFICATION_NONE = 20
BUSINESS = 21
MSGS_15S = 22
MSGS_1M = 23
MSGS_10M = 24
MSGS_1H = 25
MSGS_24H = 26
MSGS_TOTAL = 27
RECIPIENTS_24H = 28
FIRST_CONTACTS_1H = 29
FIRST_CONTACTS_24H = 30
FIRST_CONTACTS_TOTAL = 31
STRANGER_SHARE = 32
REPLY_RATE = 33
RECENT_REPLY_RATE = 34
TYPED_SHARE = 35
GAP_CV = 36
BURSTINESS = 37
ACTIVE_HOURS_24H = 38
LINK_SHARE = 39
MEDIA_SHARE = 40
FORWARDED_SHARE = 41
GROUPS_CREATED_1H = 42
GROUPS_CREATED_24H = 43
MEMBERS_ADDED_1H = 44
MEMBERS_ADDED_24H = 45
STRANGER_ADD_SHARE = 46
ADDED_LEFT_SHARE = 47
REACHED = 48
REPORTERS = 49
CREDIBLE_REPORTERS = 50
CREDIBLE_REPORTS = 51
REPORT_RATE = 52
BLOCKERS = 53
CREDIBLE_BLOCKERS = 54
BLOCK_RATE = 55
REPORTS_FILED_24H = 56
FALSE_REPORT_CROWD = 57
SINCE_TAKEOVER = 58
MSGS_SINCE_TAKEOVER = 59
FIRST_CONTACTS_SINCE_TAKEOVER = 60
UNTYPED_SINCE_TAKEOVER = 61
BASELINE_HOURLY = 62
REFUSED_ATTEMPTS = 63
CAMPAIGN_MEMBER = 64
CAMPAIGN_INFRASTRUCTURE = 65
REGISTRATION_MODEL = 66
BEHAVIOUR_MODEL = 67
_INDEX = {s.name: i for i, s in enumerate(SIGNALS)}
NAMES: tuple[str, ...] = tuple(s.name for s in SIGNALS)
SIG_REG_MODEL = REGISTRATION_MODEL
SIG_BEH_MODEL = BEHAVIOUR_MODEL


def by_family() -> list[tuple[str, list[Signal]]]:
    """The catalogue in order, grouped by family (for listings and the docs)."""
    return [(family, list(group)) for family, group in groupby(SIGNALS, key=attrgetter("family"))]


def index(name: str) -> int:
    """Position of a signal in the vector (KeyError if there is no such signal)."""
    return _INDEX[name]


def as_dict(vector: np.ndarray, names: tuple[str, ...] = NAMES) -> dict[str, float | None]:
    """Signal vector -> {name: value}, unknown values as None (for JSON)."""
    return {n: (None if math.isnan(v) else round(float(v), 6))
            for n, v in zip(names, vector, strict=True)}


NAN = np.nan


@njit(cache=True, inline="always")
def _share(num, den):
    return num / den if den > 0 else NAN


@njit(cache=True, inline="always")
def _entity(ent_t, ent_c, e, col, bcol, t, width):
    if e < 0:
        return NAN
    return estimate(ent_c, ent_t, e, bcol, col, t, width)


@njit(cache=True, inline="always")
def _abuse_share(ent_c, e):
    if e < 0 or ent_c[e, S.EC_REGISTERED] < 2:
        return NAN
    return ent_c[e, S.EC_ACTIONED] / ent_c[e, S.EC_REGISTERED]


@njit(cache=True, inline="always")
def _entity_count(ent_c, e, col):
    return NAN if e < 0 else float(ent_c[e, col])


@njit(cache=True)
def compute(a, t, acc_t, acc_c, acc_f, ent_t, ent_c, out):
    """Fill ``out[:NSIG]`` with the signals of account ``a`` at time ``t`` (ms)."""
    c = acc_c
    reg = acc_t[a, S.T_REG]
    out[ACCOUNT_AGE] = (t - reg) / 1000.0 if reg >= 0 else NAN
    nb = c[a, S.C_NB]
    ipb = c[a, S.C_IPB]
    dev = c[a, S.C_DEV]
    out[REGS_NUMBER_BLOCK_1H] = _entity(ent_t, ent_c, nb, S.EW1H_REGS, S.E_B1H, t, H)
    out[REGS_NUMBER_BLOCK_24H] = _entity(ent_t, ent_c, nb, S.EW24H_REGS, S.E_B24H, t, DAY)
    out[REGS_IP_BLOCK_1H] = _entity(ent_t, ent_c, ipb, S.EW1H_REGS, S.E_B1H, t, H)
    out[REGS_IP_BLOCK_24H] = _entity(ent_t, ent_c, ipb, S.EW24H_REGS, S.E_B24H, t, DAY)
    out[REGS_DEVICE_1H] = _entity(ent_t, ent_c, dev, S.EW1H_REGS, S.E_B1H, t, H)
    out[REGS_DEVICE_24H] = _entity(ent_t, ent_c, dev, S.EW24H_REGS, S.E_B24H, t, DAY)
    out[RISKY_REGS_NUMBER_BLOCK_1H] = _entity(ent_t, ent_c, nb, S.EW1H_RISKY, S.E_B1H, t, H)
    out[RISKY_REGS_IP_BLOCK_1H] = _entity(ent_t, ent_c, ipb, S.EW1H_RISKY, S.E_B1H, t, H)
    out[RISKY_REGS_DEVICE_1H] = _entity(ent_t, ent_c, dev, S.EW1H_RISKY, S.E_B1H, t, H)
    out[NUMBER_BLOCK_ABUSE_SHARE] = _abuse_share(ent_c, nb)
    out[IP_BLOCK_ABUSE_SHARE] = _abuse_share(ent_c, ipb)
    out[DEVICE_ABUSE_SHARE] = _abuse_share(ent_c, dev)
    out[NUMBER_BLOCK_ACTIONED] = _entity_count(ent_c, nb, S.EC_ACTIONED)
    out[IP_BLOCK_ACTIONED] = _entity_count(ent_c, ipb, S.EC_ACTIONED)
    out[DEVICE_ACTIONED] = _entity_count(ent_c, dev, S.EC_ACTIONED)
    out[DEVICE_ACCOUNTS] = _entity_count(ent_c, dev, S.EC_REGISTERED)
    cf = c[a, S.C_CLIENT_FLAGS]
    known = (cf & S.CLIENT_KNOWN) != 0
    out[CLIENT_UNOFFICIAL] = (1.0 if cf & S.CLIENT_UNOFFICIAL else 0.0) if known else NAN
    out[CLIENT_OUTDATED] = (1.0 if cf & S.CLIENT_OUTDATED else 0.0) if known else NAN
    out[CLIENT_AUTOMATION] = (1.0 if cf & S.CLIENT_AUTOMATION else 0.0) if known else NAN
    v = c[a, S.C_VERIFICATION]
    out[VERIFICATION_NONE] = NAN if v < 0 else (1.0 if v == S.VERIF_NONE else 0.0)
    out[BUSINESS] = 1.0 if c[a, S.C_FLAGS] & S.FLAG_BUSINESS else 0.0
    # messaging
    out[MSGS_15S] = ring_count(c, acc_t, a, S.C_RING, S.T_RING, t)
    out[MSGS_1M] = estimate(c, acc_t, a, S.T_B1M, S.W1M_MSGS, t, 60_000)
    out[MSGS_10M] = estimate(c, acc_t, a, S.T_B10M, S.W10M_MSGS, t, 600_000)
    out[MSGS_1H] = estimate(c, acc_t, a, S.T_B1H, S.W1H_MSGS, t, H)
    out[MSGS_24H] = estimate(c, acc_t, a, S.T_B24H, S.W24H_MSGS, t, DAY)
    msgs = c[a, S.C_MSGS]
    out[MSGS_TOTAL] = msgs
    out[RECIPIENTS_24H] = estimate(c, acc_t, a, S.T_B24H, S.W24H_RCPT, t, DAY)
    fc_1h = estimate(c, acc_t, a, S.T_B1H, S.W1H_FC, t, H)
    out[FIRST_CONTACTS_1H] = fc_1h
    out[FIRST_CONTACTS_24H] = estimate(c, acc_t, a, S.T_B24H, S.W24H_FC, t, DAY)
    fc = c[a, S.C_FC]
    out[FIRST_CONTACTS_TOTAL] = fc
    out[STRANGER_SHARE] = _share(c[a, S.C_FC_STRANGER], c[a, S.C_FC_KNOWN])
    matured = fc - fc_1h
    out[REPLY_RATE] = min(1.0, c[a, S.C_REPLIES] / matured) if matured >= 1.0 else NAN
    out[RECENT_REPLY_RATE] = (min(1.0, estimate(c, acc_t, a, S.T_B1H, S.W1H_REPLIES, t, H) / fc_1h)
                              if fc_1h >= 10.0 else NAN)
    out[TYPED_SHARE] = _share(c[a, S.C_TYPED], c[a, S.C_TYPED_KNOWN])
    mean = acc_f[a, S.F_GAP_MEAN]
    sd = math.sqrt(max(acc_f[a, S.F_GAP_VAR], 0.0))
    if c[a, S.C_GAPS] >= 10 and mean > 1e-3:
        out[GAP_CV] = sd / mean
        out[BURSTINESS] = (sd - mean) / (sd + mean)
    else:
        out[GAP_CV] = NAN
        out[BURSTINESS] = NAN
    out[ACTIVE_HOURS_24H] = hours_active(c[a, S.C_HOURS], acc_t[a, S.T_HOUR], t)
    out[LINK_SHARE] = _share(c[a, S.C_LINKS], msgs)
    out[MEDIA_SHARE] = _share(c[a, S.C_MEDIA], msgs)
    out[FORWARDED_SHARE] = _share(c[a, S.C_FORWARDED], msgs)
    # groups
    out[GROUPS_CREATED_1H] = estimate(c, acc_t, a, S.T_B1H, S.W1H_GROUPS, t, H)
    out[GROUPS_CREATED_24H] = estimate(c, acc_t, a, S.T_B24H, S.W24H_GROUPS, t, DAY)
    out[MEMBERS_ADDED_1H] = estimate(c, acc_t, a, S.T_B1H, S.W1H_ADDS, t, H)
    out[MEMBERS_ADDED_24H] = estimate(c, acc_t, a, S.T_B24H, S.W24H_ADDS, t, DAY)
    out[STRANGER_ADD_SHARE] = _share(c[a, S.C_ADDS_STRANGER], c[a, S.C_ADDS_KNOWN])
    out[ADDED_LEFT_SHARE] = _share(c[a, S.C_ADDED_LEFT], c[a, S.C_ADDS])
    # feedback
    reached = c[a, S.C_REACHED]
    out[REACHED] = reached
    out[REPORTERS] = c[a, S.C_REPORTERS]
    out[CREDIBLE_REPORTERS] = c[a, S.C_CRED_REPORTERS]
    out[CREDIBLE_REPORTS] = acc_f[a, S.F_REPORTS_W]
    out[REPORT_RATE] = acc_f[a, S.F_REPORTS_W] / max(reached, 1)
    out[BLOCKERS] = c[a, S.C_BLOCKERS]
    out[CREDIBLE_BLOCKERS] = c[a, S.C_CRED_BLOCKERS]
    out[BLOCK_RATE] = acc_f[a, S.F_BLOCKS_W] / max(reached, 1)
    out[REPORTS_FILED_24H] = estimate(c, acc_t, a, S.T_B24H, S.W24H_FILED, t, DAY)
    out[FALSE_REPORT_CROWD] = c[a, S.C_CROWD]
    # sessions
    to = acc_t[a, S.T_TAKEOVER]
    out[SINCE_TAKEOVER] = (t - to) / 1000.0 if to >= 0 else NAN
    out[MSGS_SINCE_TAKEOVER] = c[a, S.C_SINCE_TAKEOVER] if to >= 0 else NAN
    out[FIRST_CONTACTS_SINCE_TAKEOVER] = c[a, S.C_FC_SINCE_TAKEOVER] if to >= 0 else NAN
    out[UNTYPED_SINCE_TAKEOVER] = c[a, S.C_UNTYPED_SINCE_TAKEOVER] if to >= 0 else NAN
    out[BASELINE_HOURLY] = acc_f[a, S.F_BASELINE] if to >= 0 else NAN
    out[REFUSED_ATTEMPTS] = c[a, S.C_REFUSED]
    # campaigns
    out[CAMPAIGN_MEMBER] = 1.0 if c[a, S.C_CAMPAIGN] > 0 else 0.0
    if nb < 0 and ipb < 0 and dev < 0:
        out[CAMPAIGN_INFRASTRUCTURE] = NAN
    else:
        flagged = False
        for e in (nb, ipb, dev):
            if e >= 0 and ent_c[e, S.EC_CAMPAIGN] > 0:
                flagged = True
        out[CAMPAIGN_INFRASTRUCTURE] = 1.0 if flagged else 0.0
    # models are filled by the kernel when a model is loaded
    out[REGISTRATION_MODEL] = NAN
    out[BEHAVIOUR_MODEL] = NAN
