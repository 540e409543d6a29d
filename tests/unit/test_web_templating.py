"""Template filters: German number and date formats, local time, and autoescaping of user data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from einvoice.web.ui import templating


def test_money_is_formatted_per_language() -> None:
    assert templating._format_money(Decimal("1234.5"), "EUR", "de") == "1.234,50 EUR"
    assert templating._format_money("1234.5", "EUR", "en") == "1,234.50 EUR"
    assert templating._format_money(None) == "–" and templating._format_money("abc") == "abc"


def test_dates_and_times_are_shown_in_german_local_time() -> None:
    assert templating._format_date(date(2026, 4, 1), "de") == "01.04.2026"
    assert templating._format_date(date(2026, 4, 1), "en") == "2026-04-01"
    assert templating._format_datetime(datetime(2026, 1, 15, 23, 30), "de") == "16.01.2026 00:30"  # naive = UTC
    assert templating._format_datetime(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "en") == "2026-07-01 14:00"


def test_templates_escape_what_users_typed() -> None:
    rendered = templating.environment().from_string("<p>{{ name }}</p>").render(name="<script>x</script>")
    assert rendered == "<p>&lt;script&gt;x&lt;/script&gt;</p>"
