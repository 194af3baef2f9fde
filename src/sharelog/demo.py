"""Realistic generated history for the ``demo`` account.

Tens of agents, sessions on business days and hours, share logs that move
from the whole screen to tabs and windows, and viewers from many countries.
Seeded, so the same arguments give the same data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from sharelog.domain import Location, SessionIn, ShareIn, ViewerIn
from sharelog.timestamps import US_PER_SECOND

FIRST = [
    "alice",
    "bob",
    "carmen",
    "dmitri",
    "emma",
    "farah",
    "gunnar",
    "hana",
    "ivan",
    "jon",
    "kari",
    "liam",
    "maria",
    "noor",
    "olafur",
    "priya",
    "quinn",
    "rosa",
    "sven",
    "tomas",
    "uma",
    "vera",
    "will",
    "xiao",
    "yusuf",
    "zoe",
    "anna",
    "bjorn",
    "chloe",
    "diego",
]
LAST = [
    "smith",
    "jonsson",
    "garcia",
    "ivanova",
    "khan",
    "lee",
    "muller",
    "rossi",
    "silva",
    "tanaka",
]
PLACES = (
    (Location("US", "California", "San Francisco"), 14),
    (Location("US", "New York", "New York"), 12),
    (Location("US", "Texas", "Austin"), 6),
    (Location("GB", "England", "London"), 9),
    (Location("DE", "Berlin", "Berlin"), 6),
    (Location("IS", "Capital Region", "Reykjavik"), 5),
    (Location("FR", "Ile-de-France", "Paris"), 5),
    (Location("CA", "Ontario", "Toronto"), 5),
    (Location("IN", "Karnataka", "Bengaluru"), 4),
    (Location("BR", "Sao Paulo", "Sao Paulo"), 3),
    (Location("AU", "New South Wales", "Sydney"), 3),
    (Location("JP", "Tokyo", "Tokyo"), 2),
    (Location("SE", "Stockholm", "Stockholm"), 2),
    (Location("ES", "Madrid", "Madrid"), 2),
    (Location("NL", None, None), 2),
    (Location("MX", None, None), 2),
    (None, 4),
)
TABS = (
    ("Pricing", "https://example.com/pricing"),
    ("Product tour", "https://example.com/tour"),
    ("Case study: Acme", "https://example.com/customers/acme"),
    ("Quote Q-2291", "https://crm.example.com/quotes/2291"),
    ("Onboarding checklist", "https://docs.example.com/onboarding"),
    ("Dashboard", "https://app.example.com/dashboard"),
)
# What viewers' browsers send (parsed by the server, like any other).
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
)
UA_WEIGHTS = (30, 12, 8, 10, 8, 4, 6)
WINDOWS = ("Slides - Quarterly review", "Spreadsheet - ROI model", "Terminal", "Design mockups")


def agent_emails(count: int, rng: random.Random) -> list[str]:
    names = [f"{first}.{rng.choice(LAST)}@demo.example.com" for first in FIRST]
    rng.shuffle(names)
    return names[:count]


def generate(
    sessions: int, *, end_us: int, days: int = 90, agents: int = 24, seed: int = 7
) -> Iterator[SessionIn]:
    """``sessions`` sessions over the ``days`` before ``end_us``, oldest first."""
    rng = random.Random(seed)
    emails = agent_emails(agents, rng)
    weights = [rng.uniform(0.3, 3.0) for _ in emails]
    places, place_weights = zip(*PLACES, strict=True)
    day_us = 86_400 * US_PER_SECOND
    first_day = end_us // day_us - days + 1
    business_days = [d for d in range(first_day, first_day + days) if (d + 3) % 7 < 5]
    starts = []
    for _ in range(sessions):
        day = rng.choice(business_days)
        # 08:00 to 18:00 UTC, busiest mid-morning and mid-afternoon.
        hour = min(17.99, max(8.0, rng.choice((10.5, 14.5)) + rng.gauss(0, 2)))
        starts.append(day * day_us + int(hour * 3600 * US_PER_SECOND))
    starts.sort()
    for n, start in enumerate(starts):
        if start >= end_us:
            start = end_us - rng.randint(60, 1800) * US_PER_SECOND
        length = int(min(7200, max(60, rng.lognormvariate(7.3, 0.6)))) * US_PER_SECOND
        end: int | None = start + length
        if end is not None and end > end_us:
            end = None  # still going on
        last = end if end is not None else end_us
        shares = [ShareIn(start + rng.randint(1, 5) * US_PER_SECOND, "screen", "Entire screen")]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            at = rng.randint(shares[-1].at_us, max(shares[-1].at_us, last - US_PER_SECOND))
            if rng.random() < 0.6:
                title, url = rng.choice(TABS)
                shares.append(ShareIn(at, "tab", title, url))
            else:
                shares.append(ShareIn(at, "window", rng.choice(WINDOWS)))
        viewers = []
        for v in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 4, 6))):
            joined = start + rng.randint(0, max(1, (last - start) // 4))
            left = None if end is None else rng.randint(joined, end)
            place = rng.choices(places, place_weights)[0]
            segments: list[tuple[int, int | None]] | None = None
            if left is not None and left - joined > 240 * US_PER_SECOND and rng.random() < 0.3:
                # Dropped out for a while and came back.
                gone = rng.randint(joined + 60 * US_PER_SECOND, left - 120 * US_PER_SECOND)
                back = rng.randint(gone + 30 * US_PER_SECOND, left - 30 * US_PER_SECOND)
                segments = [(joined, gone), (back, left)]
            viewers.append(
                ViewerIn(
                    f"v-{v + 1}",
                    joined,
                    left,
                    location=place,
                    segments=segments,
                    user_agent=rng.choices(USER_AGENTS, UA_WEIGHTS)[0],
                )
            )
        agent = rng.choices(emails, weights)[0]
        webcam = rng.randint(0, (last - start) // US_PER_SECOND) if rng.random() < 0.4 else 0
        yield SessionIn(
            id=f"demo-{n + 1:07d}",
            agent=agent,
            agent_name=agent.split("@")[0].replace(".", " ").title(),
            webcam_seconds=webcam,
            start_us=start,
            end_us=end,
            shares=shares,
            viewers=viewers,
        )
