"""Generate examples/messy/people.csv: a deterministic, realistically messy table.

    python examples/messy/make.py            # writes examples/messy/people.csv

3,000 rows from a fixed seed (``random.Random(5)``, pure standard library, so the file is
identical on every machine and Python >= 3.11). The mess, on purpose:

* stray whitespace (leading/trailing spaces, tabs, no-break spaces) and mixed case in
  names, e-mails, cities and labels; full-width letters (``Ｊｏｈｎ``) and ligatures that
  only NFKC normalisation folds;
* nulls (empty CSV fields) in every column but ``id``;
* duplicates: about 6% of rows repeat an earlier person's e-mail in another case or with
  extra spaces (a dedupe on the normalised e-mail catches them);
* ``age`` as text with ``unknown``/``n/a`` and impossible values (-1, 240);
* ``income`` with a handful of extreme outliers (x1000);
* e-mail addresses and phone numbers (several formats) inside the free-text ``notes``;
* a ``label`` column (positive / negative / neutral) with inconsistent spelling case.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROWS = 3000
SEED = 5

FIRST = [
    "anna",
    "ben",
    "chloé",
    "david",
    "emma",
    "felix",
    "grace",
    "hugo",
    "iris",
    "jonas",
    "karin",
    "liam",
    "maria",
    "noah",
    "olga",
    "paul",
    "quinn",
    "rosa",
    "sven",
    "tara",
]
LAST = [
    "smith",
    "müller",
    "garcía",
    "rossi",
    "dubois",
    "novak",
    "kowalski",
    "jensen",
    "silva",
    "tanaka",
    "nguyen",
    "okafor",
    "haddad",
    "ivanova",
    "larsen",
    "meyer",
]
CITIES = ["berlin", "paris", "lisbon", "zürich", "new york", "são paulo", "tokyo", "oslo"]
LABELS = ["positive", "negative", "neutral"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net"]
WS = [" ", "  ", "\t", "\u00a0", ""]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def messy_case(rng: random.Random, text: str) -> str:
    pick = rng.random()
    if pick < 0.5:
        return text.title()
    if pick < 0.7:
        return text.upper()
    if pick < 0.9:
        return text
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


def pad(rng: random.Random, text: str) -> str:
    if rng.random() < 0.3:
        return rng.choice(WS) + text + rng.choice(WS)
    return text


def phone(rng: random.Random) -> str:
    d = [str(rng.randrange(10)) for _ in range(10)]
    a, b, c = "".join(d[:3]), "".join(d[3:6]), "".join(d[6:])
    return rng.choice(
        [f"+1 {a}-{b}-{c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+44 20 {b}{c[0]} {c[1:]}0"]
    )


def main(out: Path | None = None) -> Path:
    rng = random.Random(SEED)
    out = out or Path(__file__).with_name("people.csv")
    people: list[tuple[str, str]] = []
    rows = []
    for i in range(ROWS):
        if people and rng.random() < 0.06:
            name, email = rng.choice(people)
            email = messy_case(rng, email)
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}"
            email = f"{first[0]}.{last}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
            email = email.replace("é", "e").replace("ü", "u").replace("í", "i")
            people.append((name, email))
        shown = messy_case(rng, name)
        if rng.random() < 0.03:
            shown = fullwidth(shown)
        if rng.random() < 0.05:
            shown = shown.replace(" ", "   ")
        age: str
        r = rng.random()
        if r < 0.05:
            age = rng.choice(["unknown", "n/a", ""])
        elif r < 0.07:
            age = rng.choice(["-1", "240", "999"])
        else:
            age = str(rng.randint(18, 80))
        income = "" if rng.random() < 0.04 else f"{rng.lognormvariate(10.5, 0.4):.2f}"
        if income and rng.random() < 0.01:
            income = f"{float(income) * 1000:.2f}"
        note_kind = rng.random()
        if note_kind < 0.25:
            notes = f"call me at {phone(rng)}"
        elif note_kind < 0.45:
            notes = f"contact: {email.strip().lower()} or {phone(rng)}"
        elif note_kind < 0.55:
            notes = "ﬁrst order shipped"  # ligature fi: NFKC folds it
        elif note_kind < 0.65:
            notes = ""
        else:
            notes = rng.choice(["happy customer", "late payment", "asked for refund", "vip"])
        label = "" if rng.random() < 0.05 else messy_case(rng, rng.choice(LABELS))
        rows.append(
            [
                i + 1,
                pad(rng, shown),
                "" if rng.random() < 0.03 else pad(rng, email),
                "" if rng.random() < 0.1 else phone(rng),
                age,
                income,
                "" if rng.random() < 0.05 else pad(rng, messy_case(rng, rng.choice(CITIES))),
                notes,
                pad(rng, label) if label else "",
            ]
        )
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "name", "email", "phone", "age", "income", "city", "notes", "label"])
        writer.writerows(rows)
    return out


if __name__ == "__main__":
    print(main())
