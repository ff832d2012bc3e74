"""The invented account behind the synthetic leads: names, places, sales users, courses,
campaigns, pages and texts, the text formats of real rows (GUIDs, ISO and US dates), and the
lead whose activities are being generated. All people, companies, ids and texts are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# --------------------------------------------------------------------------- invented people

_FIRST_NAMES_TEXT = (
    "Aarav Ananya Vihaan Diya Ishaan Meera Kabir Saanvi Rohan Tara Nikhil Leela Arjun Kavya "
    "Dev Nisha Aditya Riya Farhan Zoya Samuel Grace Mateo Lucia Oliver Amara Kenji Yuki Omar "
    "Layla Tomasz Ingrid Chidi Ngozi Pedro Sofia Elif Emre Hana Jonas"
)
_LAST_NAMES_TEXT = (
    "Raman Mehta Kapoor Iyer Banerjee Kulkarni Chandra Desai Fernandes Pillai Sethi Qureshi "
    "Okafor Lindqvist Novak Moreau Santos Takahashi Haddad Kowalski Adeyemi Larsen Costa Yilmaz"
)
FIRST_NAMES = tuple(_FIRST_NAMES_TEXT.split())
LAST_NAMES = tuple(_LAST_NAMES_TEXT.split())
EMAIL_DOMAINS = ("mailbox.test", "example.com", "example.org", "inbox.example.net")
PLACES = (
    ("12 Lake View Road", "Pune", "Maharashtra", "India"),
    ("4 Residency Lane", "Bengaluru", "Karnataka", "India"),
    ("88 Marine Drive", "Mumbai", "Maharashtra", "India"),
    ("17 Park Street", "Kolkata", "West Bengal", "India"),
    ("230 Anna Salai", "Chennai", "Tamil Nadu", "India"),
    ("9 Sector 21", "Gurugram", "Haryana", "India"),
    ("5 Harbour Street", "Dubai", "Dubai", "United Arab Emirates"),
    ("71 Orchard Way", "Singapore", "Singapore", "Singapore"),
    ("310 King Street W", "Toronto", "Ontario", "Canada"),
    ("22 Collins Street", "Melbourne", "Victoria", "Australia"),
)
# Sales users of the invented account: (user id, name). Fixed, so every seed shares them.
_user_rng = random.Random(20250101)
USERS = tuple(
    (
        "{:08x}-{:04x}-11e7-{:04x}-0a{:010x}".format(  # noqa: UP032
            _user_rng.getrandbits(32),
            _user_rng.getrandbits(16),
            0x8000 | _user_rng.getrandbits(12),
            _user_rng.getrandbits(40),
        ),
        name,
    )
    for name in (
        "Priya Raman",
        "Karan Malhotra",
        "Sneha Joshi",
        "Rahul Verma",
        "Anjali Nair",
        "Vikram Rao",
        "Deepa Menon",
        "Imran Sheikh",
    )
)
COURSES = (
    "MBA in Business Analytics",
    "MSc Data Science",
    "BBA Digital Marketing",
    "PG Diploma in Product Management",
    "BTech Computer Science",
    "Executive Certificate in Finance",
)
INTAKES = ("Jan 2025", "Jul 2025", "Sep 2025", "Jan 2026")
STAGES = ("Prospect", "Contacted", "Qualified", "Application Started", "Enrolled")
CAMPAIGNS = (
    ("Spring Open House", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f001"),
    ("Scholarship Deadline Reminder", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f002"),
    ("Webinar Invite: Careers in Data", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f003"),
    ("Fee Waiver \u2013 Last Week", "b1d3a7f2-5c11-4e0b-9a3e-7d61c2a0f004"),
)
PAGES = (
    ("Programs | Example University", "https://www.example.edu/programs"),
    ("MSc Data Science - Fees", "https://www.example.edu/programs/msc-data-science/fees"),
    ("Scholarships", "https://www.example.edu/scholarships?utm_source=newsletter"),
    ("Apply Now", "https://apply.example.edu/start"),
    ("Campus Life", "https://www.example.edu/campus"),
)
SOURCES = ("Google Ads", "Organic Search", "Facebook", "Referral", "Walk-in", "Webinar")
# HTML character references and non-BMP characters, as real WhatsApp texts carry them.
MESSAGES = (
    "&#x1D406;&#x1D41E;&#x1D42D; 20% off&#xA0;the application fee this week &#x1F447;",
    "Hi! Is the Sep intake still open?&#xA0;Thanks",
    "\U0001d5db\U0001d5f2\U0001d5f9\U0001d5f9\U0001d5fc, your counselling call is confirmed "
    "\U0001f44d",
    "Reminder: webinar today at 6 PM &#x1F4C5; join via https://meet.example.com/abc-defg-hij",
    "Can you share the fee structure &amp; scholarship details?",
    "",
)
# A literal escape sequence inside a decoded string (text JSON-encoded twice upstream).
ESCAPED_SURROGATES = "\\ud835\\udc06ood morning! Brochure attached."
NOTE_LINES = (
    "Discussed program structure, fees and the scholarship test.",
    "Lead asked for the brochure; sent https://www.example.edu/brochure.pdf",
    "Prefers calls after 6 PM IST. Parent will join the next call.",
    "Follow up next week about the education loan (see https://loans.example.com/partner?id=42).",
    "Shared alumni stories: https://www.example.edu/alumni/stories#data",
    "Concerned about work experience requirement; explained the waiver process.",
    "Will upload 10th/12th mark sheets and ID proof by Friday.",
)


def guid(rng: random.Random) -> str:
    """A random version-4 GUID, lower case, as LeadSquared writes ids."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def iso_time(t: datetime) -> str:  # t.strftime("%Y-%m-%d %H:%M:%S"), twice as fast
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


def us_time(t: datetime) -> str:
    """``t`` as custom fields often carry it: ``1/2/2025 3:04:05 PM``."""
    hour = t.hour % 12 or 12
    noon = "PM" if t.hour >= 12 else "AM"
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} {noon}"


def long_note(rng: random.Random) -> str:
    """A numbered note of 14 to 22 lines, some with URLs."""
    lines = [rng.choice(NOTE_LINES) for _ in range(rng.randint(14, 22))]
    return "\n".join(f"{i + 1}. {line}" for i, line in enumerate(lines))


# --------------------------------------------------------------------------- the lead


@dataclass
class Lead:
    """A lead being generated: who they are, and what its activities change as they go."""

    lead_id: str
    first: str
    last: str
    email: str
    phone: str
    place: tuple[str, str, str, str]
    owner: tuple[str, str]
    course: str
    stage: int = 0
    auto_id: int = 0
    loggable: list[dict[str, Any]] = field(default_factory=list)


def make_lead(rng: random.Random) -> Lead:
    """A new invented lead, owned by one of the sales users."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
    return Lead(
        lead_id=guid(rng),
        first=first,
        last=last,
        email=email,
        phone=f"+91-9{rng.randint(100000000, 999999999)}",
        place=rng.choice(PLACES),
        owner=rng.choice(USERS),
        course=rng.choice(COURSES),
        auto_id=rng.randint(10_000, 90_000),
    )
