"""The admin's Login sessions list is built to fit 1280 px (issue 11).

Compact times (``2026-11-30 18:40``, breaking only between date and time), no
navigation sidebar on this list, its stylesheet linked, and the absolute expiry
left to each session's page. tests/e2e/test_demo_polish.py measures the layout in
Chromium.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from jwt_cookie_auth.admin import compact_time
from tests.conftest import make_user
from tests.test_admin import SESSIONS_URL, make_row, superuser_client


def test_compact_time_is_date_then_time_in_the_current_zone() -> None:
    moment = datetime(2026, 11, 30, 18, 40, 12)
    if timezone.is_naive(timezone.now()):
        expected_date, expected_time = "2026-11-30", "18:40"
    else:
        moment = timezone.make_aware(moment)
        local = timezone.localtime(moment)
        expected_date, expected_time = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    assert compact_time(moment) == (
        f'<span class="nowrap">{expected_date}</span> <span class="nowrap">{expected_time}</span>'
    )
    assert compact_time(None) == ""


def test_the_sessions_list_is_compact_and_has_no_sidebar(db: None) -> None:
    make_row(make_user("alice"), expires_in=timedelta(hours=1))
    client = superuser_client()
    page = client.get(reverse(SESSIONS_URL)).content.decode()

    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert headers == [
        "user",
        "status",
        "signed_in",
        "last_used",
        "expires",
        "ip_address",
        "device",
    ]
    cell = re.search(r'<td class="field-signed_in">(.*?)</td>', page, re.S)
    assert cell is not None
    assert re.fullmatch(
        r'<span class="nowrap">\d{4}-\d{2}-\d{2}</span> <span class="nowrap">\d{2}:\d{2}</span>',
        cell.group(1),
    )
    assert 'id="nav-sidebar"' not in page
    assert "jwt_cookie_auth/admin_sessions.css" in page
    # Other admin pages keep Django's sidebar.
    blacklist = reverse("admin:jwt_cookie_auth_blacklistedtoken_changelist")
    assert 'id="nav-sidebar"' in client.get(blacklist).content.decode()
