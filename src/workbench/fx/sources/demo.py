"""The demo FX source: synthetic daily rates from the bundled quote server, offline.

Without a base URL the requests go to the quote server app inside this process (through
httpx's ASGI transport, as the quotes' ``demo`` provider does), so nothing needs to run and
no network is used; with one, to a running ``workbench quote-server``::

    GET {base}/fx/{BASE}/{QUOTE}/history?start=&end=
    -> {"base", "quote", "source": "demo", "rates": [{"date", "rate"}, ...]}

The rates are synthetic and deterministic (:mod:`workbench.fx.demo_rates`), never market data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from workbench.errors import MalformedResponse, SymbolNotFound
from workbench.fx.engine import IN_PROCESS_URL, body_json, get_body, join_url
from workbench.fx.sources import FXSource

if TYPE_CHECKING:
    import httpx

NAME = "demo"


def parse_body(payload: object, *, base: str, quote: str) -> list[tuple[dt.date, float]]:
    """The rates of a demo ``/fx/.../history`` body, checked to be for ``base -> quote``.

    Raises:
        MalformedResponse: another shape or pair, a bad date or a non-positive rate.
    """
    pair = f"{base}/{quote}"
    try:
        if not isinstance(payload, Mapping):
            raise TypeError(f"expected an object, got {type(payload).__name__}")
        if (payload["base"], payload["quote"]) != (base, quote):
            raise ValueError(f"rates for {payload['base']}/{payload['quote']}")
        out: list[tuple[dt.date, float]] = []
        for item in payload["rates"]:
            rate = item["rate"]
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
                raise ValueError(f"rate {rate!r} is not a positive number")
            out.append((dt.date.fromisoformat(item["date"]), float(rate)))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponse(f"{NAME}: {pair}: unexpected response ({exc})") from exc
    return out


class DemoSource(FXSource):
    """Synthetic rates from the bundled quote server (in-process unless a base URL is given)."""

    name = NAME
    default_url = IN_PROCESS_URL
    rate_limit = None
    #: the quote server's seed (the in-process app is built with it)
    seed = 7

    def __init__(self, *, base_url: str | None = None, rate_limit: float | None = None) -> None:
        super().__init__(base_url=base_url, rate_limit=rate_limit)
        self.in_process = base_url is None

    async def fetch_rates(
        self, client: httpx.AsyncClient, base: str, quote: str, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, float]]:
        """One history request to the quote server's FX route."""
        pair = f"{base}/{quote}"

        def unknown(response: httpx.Response) -> Exception:
            try:
                detail = str(response.json().get("error"))
            except (ValueError, AttributeError):
                detail = "not found"
            return SymbolNotFound(f"{NAME}: {pair}: {detail}")

        response = await get_body(
            client,
            join_url(self.base_url, f"/fx/{base}/{quote}/history"),
            source=NAME,
            pair=pair,
            params={"start": start.isoformat(), "end": end.isoformat()},
            statuses={404: unknown},
        )
        payload = body_json(response, source=NAME, pair=pair)
        return parse_body(payload, base=base, quote=quote)
