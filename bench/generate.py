"""Deterministic synthetic knowledge bases of claim-like records, for benchmarks.

``records(n, seed)`` yields ``n`` dicts shaped like :class:`bot.knowledge.schema.Record`
(id, claim, claimant, date, status, source{title, publisher, url, published,
excerpt}, quote, entities, tags, links): war-reporting vocabulary — actors,
weapon systems, places, verbs, dates — with a Zipf-distributed long tail of
synthetic place and person names so the vocabulary keeps growing with the
corpus, as it does in real news. 30–80 words of text a record. Same ``n`` and
``seed`` → byte-identical records, on any machine (numpy's PCG64).

``questions(n, corpus_size, seed)`` makes questions about the records the way
users ask them: a few of a record's words plus question words, sometimes a
word from elsewhere or one no record holds, and a share of off-topic questions.

Kept under ``bench/`` and importable as ``bench.generate``; ``bot.bench``
imports it when run from the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ACTORS = (
    "Russian Ministry of Defence",
    "Ukrainian General Staff",
    "Ukrainian Air Force",
    "Pentagon",
    "US State Department",
    "Iranian Foreign Ministry",
    "Kremlin spokesman Dmitry Peskov",
    "UK Ministry of Defence",
    "Institute for the Study of War",
    "Wagner Group founder",
    "NATO Secretary General",
    "Belarusian Defence Ministry",
    "Israeli officials",
    "IAEA inspectors",
    "Ukrainian Navy",
    "Crimean occupation authorities",
    "Belgorod regional governor",
    "Zaporizhzhia regional administration",
    "Kharkiv mayor",
    "Ukrainian military intelligence",
    "Russian Foreign Ministry",
    "White House national security spokesman",
    "German government",
    "Polish Defence Ministry",
    "Turkish Foreign Ministry",
    "Chinese Foreign Ministry",
    "North Korean state media",
    "Iranian Revolutionary Guard",
    "Ukrainian President",
    "Russian President",
    "EU foreign policy chief",
    "UN human rights monitors",
    "Ukrainian Prosecutor General",
    "Russian state television",
    "independent analysts",
    "open-source investigators",
    "satellite imagery analysts",
    "local residents",
    "Ukrainian Energy Ministry",
    "Russian Emergencies Ministry",
)
PUBLISHERS = (
    ("Reuters", "reuters.com"),
    ("Associated Press", "apnews.com"),
    ("BBC News", "bbc.co.uk"),
    ("Kyiv Independent", "kyivindependent.com"),
    ("Meduza", "meduza.io"),
    ("Ukrainska Pravda", "pravda.com.ua"),
    ("TASS", "tass.com"),
    ("Al Jazeera", "aljazeera.com"),
    ("The Guardian", "theguardian.com"),
    ("Financial Times", "ft.com"),
    ("Defense News", "defensenews.com"),
    ("Euromaidan Press", "euromaidanpress.com"),
    ("Iran International", "iranintl.com"),
    ("Interfax", "interfax.com"),
)
WEAPONS = (
    "HIMARS launcher",
    "Leopard 2 tank",
    "T-90M tank",
    "T-72 tank",
    "Kalibr cruise missile",
    "Shahed-136 drone",
    "Lancet loitering munition",
    "Bayraktar TB2 drone",
    "Storm Shadow missile",
    "ATACMS missile",
    "Patriot battery",
    "S-300 system",
    "S-400 system",
    "Iskander missile",
    "Kinzhal hypersonic missile",
    "Su-25 attack aircraft",
    "Su-34 bomber",
    "Ka-52 helicopter",
    "Mi-8 helicopter",
    "Bradley fighting vehicle",
    "M777 howitzer",
    "Caesar howitzer",
    "Krab howitzer",
    "Pantsir system",
    "Buk launcher",
    "Tor system",
    "Orlan-10 drone",
    "Mohajer-6 drone",
    "Geran-2 drone",
    "Kh-101 missile",
    "Kh-22 missile",
    "Onyx missile",
    "Grad rocket launcher",
    "Uragan rocket launcher",
    "TOS-1A launcher",
    "BMP-2 vehicle",
    "BTR-82A carrier",
    "Challenger 2 tank",
    "Abrams tank",
    "F-16 fighter",
    "MiG-29 fighter",
    "Stinger launcher",
    "Javelin missile",
    "IRIS-T system",
    "NASAMS battery",
    "Gepard gun",
    "Neptune missile",
    "Sea Baby naval drone",
    "Magura V5 naval drone",
    "Zala drone",
)
PLACES = (
    "Bakhmut",
    "Avdiivka",
    "Kherson",
    "Zaporizhzhia",
    "Kharkiv",
    "Kupiansk",
    "Lyman",
    "Marinka",
    "Vuhledar",
    "Robotyne",
    "Tokmak",
    "Melitopol",
    "Berdiansk",
    "Mariupol",
    "Donetsk",
    "Luhansk",
    "Sevastopol",
    "Kerch bridge",
    "Odesa",
    "Mykolaiv",
    "Dnipro",
    "Kyiv",
    "Lviv",
    "Belgorod",
    "Kursk",
    "Bryansk",
    "Novorossiysk",
    "Engels airbase",
    "Saky airfield",
    "Chornobaivka",
    "Soledar",
    "Chasiv Yar",
    "Pokrovsk",
    "Toretsk",
    "Siversk",
    "Kreminna",
    "Svatove",
    "Izium",
    "Snake Island",
    "Nova Kakhovka",
    "Enerhodar",
    "Yelabuga",
    "Alabuga",
    "Tehran",
    "Isfahan",
    "Minsk",
    "Rzeszow",
    "Moscow",
    "Crimea",
    "Black Sea",
)
VERBS = (
    ("destroyed", "destroy"),
    ("shot down", "shoot down"),
    ("struck", "strike"),
    ("captured", "capture"),
    ("repelled", "repel"),
    ("intercepted", "intercept"),
    ("damaged", "damage"),
    ("liberated", "liberate"),
    ("shelled", "shell"),
    ("downed", "down"),
    ("seized", "seize"),
    ("delivered", "deliver"),
    ("supplied", "supply"),
    ("deployed", "deploy"),
    ("transferred", "transfer"),
    ("produced", "produce"),
    ("launched", "launch"),
    ("targeted", "target"),
    ("evacuated", "evacuate"),
    ("assembled", "assemble"),
)
TARGETS = (
    "ammunition depot",
    "command post",
    "fuel depot",
    "bridge",
    "power station",
    "radar station",
    "air defence position",
    "supply convoy",
    "artillery positions",
    "warehouse",
    "airfield",
    "port facility",
    "railway junction",
    "drone factory",
    "headquarters",
    "electrical substation",
    "grain terminal",
    "oil refinery",
    "training ground",
    "repair base",
    "landing ship",
    "patrol boat",
    "logistics hub",
    "checkpoint",
    "trench line",
)
FILLER = (
    "officials",
    "according",
    "sources",
    "area",
    "region",
    "forces",
    "troops",
    "attack",
    "statement",
    "overnight",
    "morning",
    "evening",
    "confirmed",
    "reportedly",
    "footage",
    "video",
    "images",
    "published",
    "channel",
    "military",
    "civilian",
    "infrastructure",
    "casualties",
    "wounded",
    "killed",
    "damage",
    "fire",
    "explosion",
    "residents",
    "frontline",
    "offensive",
    "counteroffensive",
    "defence",
    "operation",
    "units",
    "brigade",
    "battalion",
    "soldiers",
    "equipment",
    "losses",
    "strike",
    "strikes",
    "missiles",
    "drones",
    "shelling",
    "positions",
    "villages",
    "settlement",
    "district",
    "border",
    "territory",
    "control",
    "occupied",
    "liberation",
    "advance",
    "retreat",
    "assault",
    "reinforcements",
    "supplies",
    "deliveries",
    "weapons",
    "aid",
    "package",
    "sanctions",
    "talks",
    "negotiations",
    "agreement",
    "production",
    "factory",
    "components",
    "parts",
    "imports",
    "exports",
    "shipment",
    "cargo",
    "vessels",
    "ships",
    "aircraft",
    "helicopters",
    "vehicles",
    "tanks",
    "artillery",
    "rockets",
    "interceptors",
    "radar",
    "satellite",
    "intelligence",
    "investigation",
    "evidence",
    "witnesses",
    "journalists",
    "report",
    "analysis",
    "assessment",
    "estimate",
    "figures",
    "numbers",
    "dozens",
    "hundreds",
    "thousands",
    "several",
    "new",
    "latest",
    "heavy",
    "fierce",
    "massive",
    "combined",
    "coordinated",
    "repeated",
    "unprecedented",
    "significant",
    "minor",
    "limited",
    "local",
    "regional",
    "national",
    "international",
    "western",
    "eastern",
    "southern",
    "northern",
    "central",
    "near",
    "outside",
    "inside",
    "across",
    "along",
    "earlier",
    "later",
    "week",
    "month",
    "days",
    "hours",
    "night",
    "day",
)
STATUSES = ("reported", "alleged", "confirmed", "denied", "disputed")
STATUS_P = (0.45, 0.2, 0.15, 0.1, 0.1)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SYLLABLES = (
    "ka",
    "ro",
    "vo",
    "no",
    "pi",
    "lo",
    "sha",
    "zhy",
    "ne",
    "dy",
    "tsi",
    "ma",
    "ri",
    "ko",
    "le",
    "va",
    "bo",
    "hu",
    "ly",
    "myr",
    "sla",
    "tra",
    "dno",
    "hor",
    "zel",
    "vyn",
    "chu",
    "sta",
    "pol",
    "kiv",
    "yar",
    "bor",
    "dar",
    "ten",
    "gor",
    "mil",
    "nik",
    "sen",
    "tor",
    "zar",
)
_GIVEN = (
    "Oleksandr",
    "Serhiy",
    "Andriy",
    "Dmytro",
    "Ivan",
    "Mykola",
    "Olena",
    "Iryna",
    "Natalia",
    "Sergei",
    "Alexei",
    "Igor",
    "Yevgeny",
    "Mohammad",
    "Ali",
    "Hossein",
    "John",
    "Michael",
)
#: Long-tail names: Zipf-drawn from this many synthetic places and surnames.
TAIL_SIZE = 400_000


def _tail_name(i: int) -> str:
    """The i-th synthetic name, e.g. 'Novokaroly': unique per i, pronounceable."""
    base = len(_SYLLABLES)
    parts = []
    i += base  # at least two syllables
    while i:
        i, r = divmod(i, base)
        parts.append(_SYLLABLES[r])
    return "".join(parts).capitalize()


class _Draws:
    """Vectorised random draws for a batch of records (fast, and reproducible per batch)."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n = rng, n

    def pick(self, options: tuple[Any, ...], p: tuple[float, ...] | None = None) -> list[Any]:
        idx = self.rng.choice(len(options), size=self.n, p=p)
        return [options[i] for i in idx.tolist()]

    def tail(self, size: int, count: int = 1) -> np.ndarray:
        """Log-uniform ranks in [0, size): P(rank) ~ 1/rank, a Zipf law with exponent 1."""
        u = self.rng.random((self.n, count))
        return np.minimum(np.exp(u * np.log(size)).astype(np.int64) - 1, size - 1)

    def ints(self, low: int, high: int) -> list[int]:
        return self.rng.integers(low, high, size=self.n).tolist()


def _date(year: int, month: int, day: int, precision: int) -> str:
    if precision == 0:
        return str(year)
    if precision == 1:
        return f"{year}-{month:02d}"
    return f"{year}-{month:02d}-{day:02d}"


def _filler(rng: np.random.Generator, count: int) -> str:
    idx = (rng.zipf(1.2, size=count) - 1) % len(FILLER)
    return " ".join(FILLER[i] for i in idx.tolist())


def _batch(start: int, n: int, seed: int, total: int) -> list[dict[str, Any]]:
    """Records start..start+n-1: each batch has its own RNG stream, so batches are independent."""
    rng = np.random.default_rng([seed, start])
    d = _Draws(rng, n)
    actors, weapons, places, verbs = d.pick(ACTORS), d.pick(WEAPONS), d.pick(PLACES), d.pick(VERBS)
    targets, pubs = d.pick(TARGETS), d.pick(PUBLISHERS)
    statuses = d.pick(STATUSES, STATUS_P)
    tails = d.tail(TAIL_SIZE, count=3).tolist()
    years, months, days, precision = d.ints(2022, 2026), d.ints(1, 13), d.ints(1, 29), d.ints(0, 3)
    counts, given = d.ints(1, 40), d.pick(_GIVEN)
    has_quote = (rng.random(n) < 0.5).tolist()
    fill = d.ints(2, 16)
    restate = (rng.random(n) < 0.5).tolist()
    links = (rng.random(n) < 0.05).tolist()
    out = []
    for j in range(n):
        i = start + j
        village, person, extra = (_tail_name(t) for t in tails[j])
        past, present = verbs[j]
        weapon, place, target = weapons[j], places[j], targets[j]
        date = _date(years[j], months[j], days[j], precision[j])
        claim = (
            f"{actors[j]} said forces {past} {counts[j]} {weapon}s and a {target} near "
            f"{village}, {place}."
        )
        lead = claim if restate[j] else f"The {target} near {village} was {past}."
        excerpt = (
            f"{lead} {_filler(rng, fill[j]).capitalize()} in {place} region, "
            f"commander {given[j]} {person} said."
        )
        record: dict[str, Any] = {
            "id": f"{MONTHS[months[j] - 1]}-{years[j]}-{present.replace(' ', '-')}-"
            f"{weapon.split()[0].lower()}-{i:07d}",
            "claim": claim,
            "claimant": actors[j],
            "date": date,
            "status": statuses[j],
            "source": {
                "title": f"{weapon} {past} near {place}, {actors[j]} says",
                "publisher": pubs[j][0],
                "url": f"https://{pubs[j][1]}/{years[j]}/{months[j]:02d}/{i:07d}",
                "published": date,
                "excerpt": excerpt,
            },
            "entities": [place, village, f"{given[j]} {person}", weapon.rsplit(" ", 1)[0]],
            "tags": [present.replace(" ", "-"), target.replace(" ", "-"), extra.lower()],
        }
        if has_quote[j]:
            record["quote"] = f"We {past} the {target} near {village}, {_filler(rng, 3)}."
        if statuses[j] == "denied" and links[j] and i + 1 < total:
            record["denied_by"] = [f"linked-{i + 1:07d}"]  # shape only: ids are not resolved
        out.append(record)
    return out


#: Records per generated batch; each batch draws from its own seeded stream.
BATCH = 2000


def records(n: int, seed: int = 7, start: int = 0, stop: int | None = None) -> Iterator[dict]:
    """Records ``start..stop`` (default all ``n``) of the size-``n`` knowledge base ``seed``.

    Slices are independent (one RNG stream per batch of :data:`BATCH`), so
    worker processes can generate disjoint ranges in parallel.
    """
    stop = n if stop is None else min(stop, n)
    first = start - start % BATCH
    for batch_start in range(first, stop, BATCH):
        batch = _batch(batch_start, min(BATCH, n - batch_start), seed, n)
        lo = max(start - batch_start, 0)
        hi = min(stop - batch_start, len(batch))
        yield from batch[lo:hi]


def record_text(record: dict) -> str:
    """All the text of a record, for the plain-split fallback tokenizer."""
    source = record["source"]
    parts = [
        record["claim"],
        record.get("quote", ""),
        record["claimant"],
        source["excerpt"],
        " ".join(record["entities"]),
        " ".join(record["tags"]),
        record["date"],
    ]
    return " ".join(p for p in parts if p)


_TEMPLATES = (
    "When did {actor} say the {weapon} was {past} near {place}?",
    "Who claimed a {target} was {past} near {village}?",
    "Was a {weapon} {past} in {place}?",
    "{weapon} {target} {village}",
    "What happened to the {target} near {village}?",
    "How many {weapon}s were {past} near {place}?",
    "Did {actor} confirm the strike on the {target} in {place}?",
    "{person} {weapon}",
    "Where was the {weapon} {past}?",
    "Is it true that {weapon}s were {past} by {actor}?",
)
_OFF_TOPIC = (
    "What is the weather in Paris tomorrow?",
    "Recommend a good pizza recipe",
    "Who won the football match yesterday?",
    "hello",
    "How do I reset my password?",
)


def questions(count: int, corpus_size: int, seed: int = 11) -> list[str]:
    """``count`` questions about the size-``corpus_size`` knowledge base (5% off-topic)."""
    rng = np.random.default_rng([seed, corpus_size])
    picks = sorted(set(rng.integers(0, corpus_size, size=count).tolist()))
    by_index = {}
    for start in sorted({p - p % BATCH for p in picks}):
        for offset, rec in enumerate(records(corpus_size, start=start, stop=start + BATCH)):
            if start + offset in picks:
                by_index[start + offset] = rec
    out = []
    for _ in range(count):
        if rng.random() < 0.05:
            out.append(_OFF_TOPIC[int(rng.integers(len(_OFF_TOPIC)))])
            continue
        rec = by_index[picks[int(rng.integers(len(picks)))]]
        template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
        out.append(template.format(**_slots(rec)))
    return out


def _slots(rec: dict) -> dict[str, str]:
    """The words of a record a question may reuse."""
    weapon = rec["entities"][3]
    place, village, person = rec["entities"][0], rec["entities"][1], rec["entities"][2]
    claim = rec["claim"]
    past = claim.split(" said forces ", 1)[1].split(" ", 1)[0] if " said forces " in claim else ""
    target = rec["tags"][1].replace("-", " ")
    return {
        "actor": rec["claimant"],
        "weapon": weapon,
        "place": place,
        "village": village,
        "person": person.split()[-1],
        "past": past,
        "target": target,
    }


def file_records(n: int, start: int, stop: int) -> list[dict[str, Any]]:
    """Records start..stop of a size-n base as one file holds them: a ``denied_by`` names
    the next record's real id (or is dropped at the end of the base)."""
    batch = list(records(n, start=start, stop=min(stop + 1, n)))
    following = batch[stop - start] if len(batch) > stop - start else None
    batch = batch[: stop - start]
    for i, record in enumerate(batch):
        if "denied_by" in record:  # the generator names the next record: use its real id
            nxt = batch[i + 1] if i + 1 < len(batch) else following
            if nxt is None:
                del record["denied_by"]
            else:
                record["denied_by"] = [nxt["id"]]
    return batch


def write_yaml_file(task: tuple[int, int, int, str]) -> int:
    """Write records start..stop of a size-n base as one YAML file (in a worker process)."""
    n, start, stop, path = task
    text = "".join(yaml_record(record) for record in file_records(n, start, stop))
    Path(path).write_text(text, encoding="utf-8")
    return len(text)


def _scalar(value: Any) -> str:
    # A JSON string is a valid YAML double-quoted scalar (with the same escapes).
    return json.dumps(value, ensure_ascii=False)


def yaml_record(record: dict[str, Any], indent: str = "  ") -> str:
    """One record as a YAML list item, block style as a person writes it (PyYAML's own
    emitter is pure Python above the C layer: ten times slower for the same text)."""
    lines = []
    for key, value in record.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"{indent}{k}: {_scalar(v)}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"{key}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return (
        "- " + "\n  ".join(line.replace("\n" + indent, "\n" + indent * 2) for line in lines) + "\n"
    )
