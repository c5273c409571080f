"""The shipped message catalogues (issue 11): Korean, Spanish and German.

``jwt_cookie_auth/locale/<lang>/LC_MESSAGES/django.po`` is the source and ``django.mo``
its compiled form; both are committed, so installing the package needs no gettext.
These tests read both files with the standard library only:

- a user whose browser asks for one of the languages gets the package's messages in it
  (``LocaleMiddleware``, ``Accept-Language``);
- every message marked in the package's source is in every catalogue, translated, with
  its placeholders intact;
- each ``django.mo`` holds exactly what its ``django.po`` says (not stale).

After changing a marked string: ``make messages``, translate the new or changed
entries of each ``django.po``, ``make messages`` again (it compiles), commit both files.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

import jwt_cookie_auth
from tests.conftest import credentials

PACKAGE = Path(jwt_cookie_auth.__file__).parent
LANGUAGES = ["ko", "es", "de"]
FIX = (
    "run `make messages`, translate the new entries in each django.po, "
    "run `make messages` again and commit the .po and .mo files"
)

# Where Django's documentation puts it: after the session middleware, before
# CommonMiddleware.
_AFTER = settings.MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
LOCALIZED = override_settings(
    LANGUAGES=[("en", "English"), ("ko", "Korean"), ("es", "Spanish"), ("de", "German")],
    LANGUAGE_CODE="en",
    MIDDLEWARE=[
        *settings.MIDDLEWARE[:_AFTER],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[_AFTER:],
    ],
)


# --- What a user sees ---------------------------------------------------------------


LOGIN_FAILED = {
    "ko": "입력한 자격 증명으로 로그인할 수 없습니다.",
    "es": "No se puede iniciar sesión con las credenciales proporcionadas.",
    "de": "Anmeldung mit den angegebenen Zugangsdaten nicht möglich.",
}
SESSION_EXPIRED = {
    "ko": "세션이 만료되었습니다. 다시 로그인해 주세요.",
    "es": "Su sesión ha caducado. Inicie sesión de nuevo.",
    "de": "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",
}


@LOCALIZED
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_failed_login_answers_in_the_browsers_language(user: Any, language: str) -> None:
    response = Client().post(
        reverse("jwt_cookie_auth:login"),
        credentials(user, password="wrong"),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5",
    )
    assert response.status_code == 401
    assert response.json()["detail"] == LOGIN_FAILED[language]
    assert response["Content-Language"] == language


@LOCALIZED
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_refresh_answers_in_the_browsers_language(db: None, language: str) -> None:
    response = Client().post(
        reverse("jwt_cookie_auth:refresh"),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 401
    assert response.json()["detail"] == SESSION_EXPIRED[language]


@LOCALIZED
def test_without_a_shipped_language_the_message_stays_english(user: Any) -> None:
    response = Client().post(
        reverse("jwt_cookie_auth:login"),
        credentials(user, password="wrong"),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Unable to log in with the provided credentials."


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_admin_names_the_models_in_the_users_language(language: str) -> None:
    from jwt_cookie_auth.models import LoginSession, RevokeReason

    with translation.override(language):
        assert str(LoginSession._meta.verbose_name_plural) != "login sessions"
        assert str(RevokeReason.ADMIN.label) != "Forced logout by an administrator"


# --- The catalogues -------------------------------------------------------------------


Key = tuple[str | None, str]  # (msgctxt, msgid)


def read_po(path: Path) -> dict[Key, list[str]]:
    """Return ``{(msgctxt, msgid): [msgstr, ...]}`` of a .po file, header left out.

    Enough of the format for the files ``makemessages`` writes: a plural entry's key is
    its singular msgid, and its forms come in ``msgstr[n]`` order. A fuzzy entry is
    read as untranslated, as ``msgfmt`` does.
    """
    entries: dict[Key, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if line.startswith("#") or not line.strip():
                continue
            match = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")', line)
            if match:
                current = match.group(1)
                fields[current] = ast.literal_eval(match.group(2))
            else:
                assert current is not None, f"{path}: unexpected line {line!r}"
                fields[current] += ast.literal_eval(line)
        if not fields.get("msgid"):
            continue  # the header
        forms = [fields[k] for k in sorted(k for k in fields if k.startswith("msgstr"))]
        entries[fields.get("msgctxt"), fields["msgid"]] = [] if fuzzy else forms
        if "msgid_plural" in fields:
            entries[fields.get("msgctxt"), "\x00plural:" + fields["msgid"]] = [
                fields["msgid_plural"]
            ]
    return entries


GETTEXT_CALLS = {
    "_": 1,
    "gettext": 1,
    "gettext_lazy": 1,
    "gettext_noop": 1,
    "ngettext": 2,
    "ngettext_lazy": 2,
}


def marked_strings() -> dict[Key, str]:
    """Return ``{(None, msgid): where}`` for every string the package marks for translation."""
    found: dict[Key, str] = {}
    for source in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in GETTEXT_CALLS:
                continue
            where = f"{source.relative_to(PACKAGE)}:{node.lineno}"
            for arg in node.args[: GETTEXT_CALLS[name]]:
                assert isinstance(arg, ast.Constant), f"{where}: mark literal strings only"
                assert isinstance(arg.value, str), where
            first = node.args[0]
            assert isinstance(first, ast.Constant)
            found[None, str(first.value)] = where
            if GETTEXT_CALLS[name] == 2:
                second = node.args[1]
                assert isinstance(second, ast.Constant)
                found[None, "\x00plural:" + str(first.value)] = str(second.value)
    return found


def po_path(language: str) -> Path:
    return PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%(?:\([a-z_]+\))?[sdr]", text))


def test_the_package_marks_its_messages() -> None:
    """Sanity check of the reader: the known messages are found."""
    found = marked_strings()
    assert (None, "Unable to log in with the provided credentials.") in found
    assert (None, "Revoked %d session.") in found
    assert found[None, "\x00plural:Revoked %d session."] == "Revoked %d sessions."


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_message_is_in_the_catalogue(language: str) -> None:
    catalogue = read_po(po_path(language))
    marked = marked_strings()
    missing = {key[1]: where for key, where in marked.items() if key not in catalogue}
    assert not missing, f"not in {language}/django.po: {missing}; {FIX}"
    plural_changed = {
        key[1]: (catalogue[key], text)
        for key, text in marked.items()
        if key[1].startswith("\x00plural:") and catalogue[key] != [text]
    }
    assert not plural_changed, f"{language}: plural msgid changed: {plural_changed}; {FIX}"
    stale = {key[1] for key in catalogue if key not in marked and not key[1].startswith("\x00")}
    assert not stale, f"{language}/django.po has entries no longer marked: {stale}; {FIX}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    catalogue = read_po(po_path(language))
    assert len(catalogue) > 50
    for (_, msgid), forms in catalogue.items():
        if msgid.startswith("\x00"):
            continue
        assert forms, f"{language}: {msgid!r} is fuzzy or untranslated; {FIX}"
        for form in forms:
            assert form.strip(), f"{language}: {msgid!r} has an empty translation; {FIX}"
            # A plural form may leave a %d out ("one session"), never add one.
            expected = placeholders(msgid)
            if len(forms) > 1:
                assert set(placeholders(form)) <= set(expected), (language, msgid, form)
            else:
                assert placeholders(form) == expected, (language, msgid, form)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    """django.mo holds exactly django.po's translations: it was compiled after the last edit."""
    source = read_po(po_path(language))
    with (po_path(language).with_suffix(".mo")).open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    catalog: dict[Any, str] = compiled._catalog  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for (context, msgid), forms in source.items():
        if msgid.startswith("\x00") or not forms:
            continue
        key = msgid if context is None else f"{context}\x04{msgid}"
        if len(forms) == 1 and (None, "\x00plural:" + msgid) not in source:
            expected[key] = forms[0]
        else:
            expected.update({(key, n): form for n, form in enumerate(forms)})
    compiled_entries = {key: value for key, value in catalog.items() if key != ""}
    assert compiled_entries == expected, f"{language}/django.mo is stale; {FIX}"
