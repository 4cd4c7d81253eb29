"""Built-in profiles: one module per vendor export, each with NAME, TITLE, SIGNATURE (headings that recognise the
export for `--profile auto`) and mapping(header) -> Mapping (the header decides the optional columns used)."""
from __future__ import annotations

from ...core.errors import BBBError
from ..mapping import source_key


def has(header, *names) -> list:
    """The names the header row has (headings compared like the contracts headers)."""
    have = {source_key(h) for h in header if h is not None and str(h).strip()}
    return [n for n in names if source_key(n) in have]


from . import chargebee, hubspot, quickbooks, salesforce, stripe, xero  # noqa: E402 - they use has()
from . import stripe_invoices  # noqa: E402

PROFILES = {m.NAME: m for m in (salesforce, stripe, quickbooks, xero, hubspot, chargebee, stripe_invoices)}


def profile(name: str):
    key = str(name or "").strip().lower()
    if key not in PROFILES:
        raise BBBError(f"profile '{name}' is not one of: auto, {', '.join(PROFILES)}; nothing was written")
    return PROFILES[key]


def recognise(header):
    """The profile whose SIGNATURE headings the header row all has (the most specific when several do)."""
    have = {source_key(h) for h in header if h is not None and str(h).strip()}
    fits = [m for m in PROFILES.values() if all(source_key(h) in have for h in m.SIGNATURE)]
    if not fits:
        raise BBBError("--profile auto: the header row is not one of the built-in profiles' exports ("
                       + "; ".join(f"{m.NAME}: {', '.join(m.SIGNATURE)}" for m in PROFILES.values())
                       + "); name a --profile or give a --mapping; nothing was written")
    return max(fits, key=lambda m: len(m.SIGNATURE))

