"""Whole-page candidates for the fields business documents share, scored by evidence.

For a field whose name, title or description names a known concept (total, date,
invoice number, currency, issuer, address), every fitting value on the page is a
candidate: every amount, every date, every identifier-shaped token, every block
with an address shape. Each is scored by the evidence around it — label words in
many languages left of it or above it, position on the page, token shape, block
structure — and by document-level consistency (subtotal + tax = total, the payment
less the change). The best candidate wins; its evidence, not its score, sets the
confidence (`calibration.py`). No evidence: no value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.pipeline.extract.calibration import confidence_for
from worker.pipeline.extract.evidence import FieldEvidence, union_bbox
from worker.pipeline.extract.reading import Fragment, Reading
from worker.pipeline.extract.values import parse_date, parse_number
from worker.pipeline.extract.vocabulary import (
    COMPANY_SUFFIXES,
    CONTACT_WORDS,
    CURRENCY_PATTERNS,
    CUSTOMER_WORDS,
    DATE_WORDS,
    INCLUSIVE_WORDS,
    INVOICE_WORDS,
    ISSUER_WORDS,
    LOCALE_CURRENCIES,
    NOT_TOTAL_WORDS,
    NUMBER_WORDS,
    OTHER_DATE_WORDS,
    OTHER_ID_WORDS,
    PAY_WORDS,
    REGISTRATION_WORDS,
    STREET_TOKENS,
    STREET_WORDS,
    TOTAL_WORDS,
    has_any,
    mentions,
    squash,
    words_of,
)

_AMOUNT = re.compile(r"^[^\d]{0,4}-?\d[\d ,.'’]*\d?[^\d]{0,4}$")
_ID = re.compile(r"(?<![A-Z])[A-Z]{1,6}[/\-_#]?\d[\w/\-.]*\w|(?<![\w/])\d{4,}(?:[/\-]\w+)*")
_POSTCODE = re.compile(r"(?<![\d+\-])(?:\d{5}|\d{4}|\d{6}|\d{3} \d{2})(?![\d\-])|\b[A-Z]{2} ?\d{5}\b|"
                       r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")


# Where OCR dropped a space in an address: "250Executive", "94134San", "TracyCA95377".
_GLUED = re.compile(r"(?<=\d\d)(?=(?!(?i:st|nd|rd|th)\b)[A-Za-z]{2})|(?<=[A-Za-z]{2})(?=\d{4})"
                    r"|(?<=[a-z])(?=[A-Z]{2,}(?![a-z]))")


@dataclass
class Candidate:
    value: object
    fragments: list[Fragment]
    score: float
    features: dict[str, float]
    tied: bool = False
    """A candidate that reads otherwise has the same evidence: the page cannot decide."""

    def evidence(self, concept: str) -> FieldEvidence:
        first = self.fragments[0]
        box = union_bbox([f.bbox for f in self.fragments])
        source = " / ".join(f.text for f in self.fragments)
        return FieldEvidence(self.value, confidence_for(concept, self.features), first.page, box,
                             source, basis=(concept, dict(self.features)))


# Another value in the same visual row, with the same evidence but for a few hundredths
# of position, is a tie: two amounts under one "Total" column header, say. The page does
# not say which is meant (on the benchmark's receipts every total picked from such a tie
# was wrong), so the field is left null rather than guessed.
TIE = 0.01


def best_of(found: list[Candidate]) -> Candidate | None:
    """The highest-scoring candidate, with how far it leads the best one that reads otherwise."""
    if not found:
        return None
    best = max(found, key=lambda c: c.score)
    rivals = [c for c in found if squash(str(c.value)) != squash(str(best.value))]
    add_context(best, max(c.score for c in rivals) if rivals else None)
    where = (best.fragments[0].page, best.fragments[0].row)
    best.tied = any(best.score - c.score < TIE and (c.fragments[0].page, c.fragments[0].row) == where
                    for c in rivals)
    return best


def add_context(best: Candidate, runner_up: float | None) -> None:
    """Evidence about the choice, not the value: the lead over the runner-up (a close call
    is often a wrong one) and how sure the reader was of the value's characters."""
    lead = 1.0 if runner_up is None else max(0.0, min(1.0, best.score - runner_up))
    best.features["margin"] = round(lead, 3)
    best.features["doubt"] = round(1 - min(f.ocr for f in best.fragments), 3)


def _label_text(fragment: Fragment) -> tuple[str, str]:
    """Text that labels a cell: left in its row (and the cell's own words), and just above."""
    left = " ".join(f.text for f in fragment.before[:2])
    above = " ".join(f.text for f in fragment.above[:1])
    return left, above


# -- amounts ------------------------------------------------------------------------------------

def total_candidates(reading: Reading) -> list[Candidate]:
    """Every amount on the page, scored as the amount to pay."""
    found: list[Candidate] = []
    amounts = [(f, _amount_in(f.text)) for f in reading.fragments]
    values = [v for _, v in amounts if v is not None]
    subtotals = {v for f, v in amounts if v is not None and _names_subtotal(f)}
    taxes = {v for f, v in amounts if v is not None and _names_tax(f)}
    for fragment, value in amounts:
        if value is None or value <= 0:
            continue
        left, above = _label_text(fragment)
        own = _own_label(fragment.text)
        label = max(_total_label(own), _total_label(left), 0.8 * _total_label(above))
        if label <= 0:
            continue
        balances = any(abs(s + t - value) < 0.011 for s in subtotals for t in taxes if t > 0) \
            or _sums_row(fragment, value)
        repeated = sum(1 for v in values if abs(v - value) < 0.005) > 1
        features = {"label": label, "balances": float(balances), "repeated": float(repeated),
                    "low": fragment.top, "largest": float(value >= max(values) - 0.005)}
        score = label + 0.25 * balances + 0.1 * repeated + 0.1 * fragment.top
        found.append(Candidate(value, [fragment], score, features))
    return found


def _sums_row(fragment: Fragment, value: float) -> bool:
    """Net and tax left of the amount in its row add up to it ("Total: 109.70 6.58 116.28")."""
    left = [v for f in fragment.before[:4] if (v := _amount_in(f.text)) is not None and v > 0]
    return any(abs(a + b - value) < 0.011 for i, a in enumerate(left) for b in left[i + 1:])


def _amount_in(text: str) -> float | None:
    stripped = text.strip()
    if not _AMOUNT.match(stripped) or parse_date(stripped) or "%" in stripped:
        value = None
        tail = re.search(r"[-]?\d[\d ,.'’]*[.,]\d{2}\s*[^\d\s]{0,3}$", stripped)
        if tail and not parse_date(stripped):
            value = parse_number(tail.group())
        return value
    return parse_number(stripped)


def _own_label(text: str) -> str:
    """The words glued before an amount in the same cell ("Total:77.20", "TOTALTTC 104571,50")."""
    return re.sub(r"[-]?\d[\d ,.'’]*$", "", text.strip())


def _total_label(text: str) -> float:
    if not text or not re.search(r"[A-Za-z]", text):
        return 0.0
    pay = mentions(text, PAY_WORDS)
    negative = mentions(text, NOT_TOTAL_WORDS)
    if pay and not (negative and not mentions(text, INCLUSIVE_WORDS)):
        return 1.0
    if mentions(text, TOTAL_WORDS[:5]):
        return 0.25 if negative else 0.8
    return 0.0


def _names_subtotal(fragment: Fragment) -> bool:
    left, above = _label_text(fragment)
    text = f"{_own_label(fragment.text)} {left} {above}"
    return mentions(text, ("subtotal", "soustotal", "ht", "horstaxe", "untaxed", "netto",
                           "zwischensumme", "subtotale", "subtotaal", "excl", "excluding",
                           "exclusive"))


def _names_tax(fragment: Fragment) -> bool:
    left, above = _label_text(fragment)
    text = f"{_own_label(fragment.text)} {left} {above}"
    return mentions(text, ("tax", "taxes", "tva", "vat", "gst", "mwst", "iva", "btw", "sst"))


# -- dates --------------------------------------------------------------------------------------

def date_candidates(reading: Reading, concept: str) -> list[Candidate]:
    found: list[Candidate] = []
    for order, fragment in enumerate(reading.fragments):
        value = parse_date(fragment.text, day_first=reading.day_first)
        if value is None:
            continue
        left, above = _label_text(fragment)
        near = f"{_own_label_date(fragment.text)} {left}"
        labelled = mentions(near, DATE_WORDS) or (not left and mentions(above, DATE_WORDS))
        other = mentions(near, OTHER_DATE_WORDS) or (not left and mentions(above, OTHER_DATE_WORDS))
        invoice = mentions(f"{near} {above}", INVOICE_WORDS)
        features = {"label": float(labelled and not other), "other": float(other),
                    "invoice": float(invoice), "first": float(order == 0), "top": 1 - fragment.top}
        score = (1.0 * (labelled and not other) + 0.3 * invoice - 0.8 * other + 0.1 * (1 - fragment.top))
        found.append(Candidate(value, [fragment], score, features))
    if found:
        earliest = min(found, key=lambda c: (c.fragments[0].page, c.fragments[0].row))
        earliest.features["first"] = 1.0
        earliest.score += 0.15
    return found


def _own_label_date(text: str) -> str:
    return re.split(r"\d", text, maxsplit=1)[0]


# -- identifiers --------------------------------------------------------------------------------

def number_candidates(reading: Reading) -> list[Candidate]:
    """Identifier-shaped tokens labelled as the document's number (Facture N°, Rechnung Nr., …)."""
    found: list[Candidate] = []
    for fragment in reading.fragments:
        if parse_date(fragment.text):
            continue
        for match in _ID.finditer(fragment.text):
            token = match.group().rstrip(".-/")
            if fragment.text[match.end():].lstrip().startswith("%"):
                continue  # a rate ("TVA20%"), not an identifier
            if _amount_in(token) is not None and not re.search(r"[A-Za-z/]", token):
                if re.fullmatch(r"\d+[.,]\d{1,2}", token) or len(token) < 5:
                    continue
            own = fragment.text[:match.start()]
            left, above = _label_text(fragment)
            label = _number_label(own) or _number_label(left) or 0.8 * _number_label(above)
            if label <= 0:
                continue
            shape = 1.0 if re.search(r"[A-Za-z]", token) and re.search(r"\d", token) else 0.7
            features = {"label": label, "shape": shape}
            found.append(Candidate(token, [fragment], label + 0.2 * shape, features))
    return found


def _number_label(text: str) -> float:
    if not text.strip():
        return 0.0
    if mentions(text, OTHER_ID_WORDS) and not mentions(text, INVOICE_WORDS):
        return 0.0
    if mentions(text, INVOICE_WORDS):
        return 1.0 if mentions(text, NUMBER_WORDS) or "#" in text or "°" in text else 0.75
    return 0.0


# -- currency -----------------------------------------------------------------------------------

def currency_candidate(reading: Reading) -> Candidate | None:
    """The currency the document's symbols and codes name most; else its language's, weakly."""
    if not reading.currencies:
        code = LOCALE_CURRENCIES.get(reading.language or "")
        if code is None or not reading.fragments:
            return None
        return Candidate(code, [reading.fragments[0]], 0.0, {"count": 0.0, "margin": 0.0})
    ranked = reading.currencies.most_common()
    code, count = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    # Where the currency is written: a fragment its symbol or code matches as the count
    # matched it (a bare substring would find "EUR" in "Heures").
    patterns = [pattern for pattern, named in CURRENCY_PATTERNS if named == code]
    where = next((f for f in reading.fragments
                  if any(re.search(pattern, f.text.lower()) for pattern in patterns)),
                 reading.fragments[0])
    features = {"count": min(count, 5) / 5, "margin": (count - runner_up) / count}
    return Candidate(code, [where], count - runner_up, features)


# -- parties: issuer name and address -----------------------------------------------------------

@dataclass
class Party:
    names: list[Fragment]
    address: list[Fragment]
    customer: bool
    issuer_label: bool
    score: float
    registered: bool = False
    """A VAT, company-registration or bank line under the block: the issuer prints its own."""
    first: bool = False
    """The first party on the document (the letterhead), when another party follows."""
    contested: bool = False
    """The document names a customer too: picking the issuer is a real choice there."""


def parties(reading: Reading) -> list[Party]:
    """Blocks of a name followed by address lines, best issuer first.

    The issuer is the party that is not the customer: a block under a customer label
    (*Bill to*, *Facturé à*, *Kunde*, *destinataire*…) counts against it; an issuer label
    (*Supplier*, *Remit to*…), registration or bank details printed with the block (VAT,
    SIRET, IBAN…), a company suffix and the letterhead position count for it.
    """
    found = []
    for stack in reading.stacks:
        for start, fragment in enumerate(stack):
            if not is_name(fragment.text):
                continue
            names = _name_lines(stack, start)
            address = _address_lines(stack[start + len(names):])
            suffix = any(_has_suffix(f.text) for f in names)
            if not address and not suffix:
                continue
            customer, issuer = _party_labels(stack, start)
            registered = _registered(stack[start + len(names):start + len(names) + len(address) + 4])
            score = (0.5 * bool(address) + 0.3 * suffix + 0.6 * issuer - 1.0 * customer
                     + 0.2 * registered + 0.4 * (1 - fragment.top) + 0.1 * (fragment.page == 1))
            found.append(Party(names, address, customer, issuer, score, registered))
            break
    contested = any(has_any(squash(f.text), CUSTOMER_WORDS) for f in reading.fragments)
    for party in found:
        party.contested = contested
    if len(found) > 1:
        # Two unlabelled blocks: the one printed first (top, then left) is the letterhead; a
        # recipient block sits lower, where an envelope window or a "to" column puts it.
        first = min(found, key=lambda p: (p.names[0].page, p.names[0].top, p.names[0].left))
        if not first.customer:
            first.first = True
            first.score += FIRST_PARTY
    return sorted(found, key=lambda p: -p.score)


FIRST_PARTY = 0.3


def _registered(lines: list[Fragment]) -> bool:
    return any(is_registration(f.text) for f in lines)


_REGISTRATION = re.compile(r"\b(?:co|company|reg|registration|roc|gst|sst|vat|tax)\.?\s*"
                           r"(?:reg\.?\s*)?(?:no|nr|id|number)\b", re.IGNORECASE)


def is_registration(text: str) -> bool:
    """A company-registration, tax or bank line ("(Co.No. 113825-W)", "TVA FR…", "IBAN …")."""
    return mentions(text, REGISTRATION_WORDS) or bool(_REGISTRATION.search(text))


_REGISTRATION_TAIL = re.compile(r"\s*[(（][\w\s.\-:]*\d[\w\s.\-]*[)）]?\s*$")


def is_name(text: str) -> bool:
    bare = _REGISTRATION_TAIL.sub("", text)  # "AEON CO. (M) BHD (126926-H)": the name is before
    letters = sum(ch.isalpha() for ch in bare)
    if letters < 3 or letters < len(bare.replace(" ", "")) * 0.5 or text.rstrip().endswith(":"):
        return False
    if mentions(text, CONTACT_WORDS) or has_any(squash(text), CUSTOMER_WORDS + ISSUER_WORDS):
        return False
    if mentions(text, INVOICE_WORDS) and len(words_of(text)) <= 3:
        return False  # a document title ("FACTURE", "Tax Invoice")
    words = [w for w in text.split() if w[:1].isalpha()]
    if len(words) >= 4 and sum(w[0].islower() for w in words) * 2 > len(words):
        return False  # a sentence ("the date of purchase. If the request…"), not a name
    return not address_signal(text)


def _name_lines(stack: list[Fragment], start: int) -> list[Fragment]:
    """The name's line and a second one when the name wraps ("RESTAURANT JIAWEI" / "JIAWEI HOUSE")."""
    lines = [stack[start]]
    following = stack[start + 1] if start + 1 < len(stack) else None
    if (following is not None and is_name(following.text) and not _has_suffix(stack[start].text)
            and not _address_lines([following]) and ":" not in following.text):
        lines.append(following)
    return lines


def _name_text(names: list[Fragment]) -> str:
    text = " ".join(f.text.strip() for f in names)
    return _REGISTRATION_TAIL.sub("", text).strip()  # "(519537-X)"


def _has_suffix(text: str) -> bool:
    return any(word in COMPANY_SUFFIXES for word in words_of(text))


def address_signal(text: str) -> bool:
    words = words_of(text)
    if any(word in STREET_TOKENS for word in words):
        return True
    if any(street in word for word in words for street in STREET_WORDS):
        return True
    return _has_postcode(text) and bool(re.search(r"[A-Za-z]{3}", text))


def _has_postcode(text: str) -> bool:
    # OCR reads a zero as a letter O: "433O0 SERI KEMBANGAN".
    return bool(_POSTCODE.search(re.sub(r"(?<=\d)[Oo]|[Oo](?=\d)", "0", text)))


def _address_lines(rest: list[Fragment]) -> list[Fragment]:
    """The address under a name: lines with a street or postcode shape, with the short lines
    between or after them ("SETAPAK," / "53200 KUALA LUMPUR", "Wangsa Link, Wangsa Maju,")."""
    lines: list[Fragment] = []
    pending: list[Fragment] = []  # short lines kept only when an address line follows
    for fragment in rest[:7]:
        text = fragment.text
        labelled = ":" in text or mentions(text, CONTACT_WORDS) or is_registration(text)
        if labelled and not lines:
            continue  # "Company Reg. No.: 20965-W", "(Co.No.113825-W)" under the name
        if labelled or has_any(squash(text), CUSTOMER_WORDS + ISSUER_WORDS):
            break
        if re.fullmatch(r"[\s(]*[\dA-Z\-]{5,}[)\s]*", text) and not lines:
            continue  # a registration number under the name: "(913144-A)"
        if address_signal(text):
            lines += pending + [fragment]
            pending = []
        elif lines and len(pending) < 2 and len(words_of(text)) <= 5 and not re.search(r"\d{3}", text):
            pending.append(fragment)
        elif lines or len(words_of(text)) > 6:
            break
    if pending and len(words_of(pending[0].text)) <= 3:
        lines.append(pending[0])  # a city or country line after the street
    return lines if any(address_signal(f.text) for f in lines) else []


def _party_labels(stack: list[Fragment], start: int) -> tuple[bool, bool]:
    """Whether a customer or an issuer label sits just above or left of the party's name."""
    name = stack[start]
    near = [f.text for f in stack[max(0, start - 2):start]] + [f.text for f in name.before[:1]]
    near += [f.text for f in name.above[:1]]
    squashed = squash(" ".join(near))
    return has_any(squashed, CUSTOMER_WORDS), has_any(squashed, ISSUER_WORDS)


def party_name(party: Party) -> Candidate:
    first = party.names[0]
    features = {"address": float(bool(party.address)),
                "suffix": float(any(_has_suffix(f.text) for f in party.names)),
                "issuer": float(party.issuer_label), "top": 1 - first.top,
                "registered": float(party.registered), "first": float(party.first),
                "contested": float(party.contested)}
    return Candidate(_name_text(party.names), party.names, party.score, features)


def party_address(party: Party) -> Candidate | None:
    if not party.address:
        return None
    text = _GLUED.sub(" ", ", ".join(f.text.strip().rstrip(",") for f in party.address))
    postcode = any(_has_postcode(f.text) for f in party.address)
    features = {"lines": min(len(party.address), 4) / 4, "postcode": float(postcode),
                "issuer": float(party.issuer_label), "registered": float(party.registered),
                "first": float(party.first), "contested": float(party.contested),
                "suffix": float(any(_has_suffix(f.text) for f in party.names))}
    return Candidate(text, party.address, party.score, features)
