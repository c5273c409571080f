"""The package as a user gets it: the built wheel and sdist, and a new project using them.

The slow test (marker ``packaging``, its own step of ``make test``) builds the sdist and
the wheel from a copy of the source tree as a fresh clone has it (``python -m build``:
the wheel is built from the sdist, so a file the sdist lacks fails here too), checks
both file lists, then installs the wheel into a brand-new virtualenv, makes a
``django-admin startproject``, applies README's "Install into your project" section
to it line for line, runs ``migrate``, creates a user, starts ``runserver`` on a free
loopback port and logs in over HTTP.

It needs PyPI (or pip's cache) for the build backend and the dependencies. Locally
without network it is skipped with a message; under ``CI=true`` any failure to build
or install is a failure.

The fast tests (every pass) keep README, the package index description and what the
slow test writes in step.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.servers import HOST, HttpSession, _die_with_parent, free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "jwt_cookie_auth"

# README "Install into your project", as the slow test applies it to a new project.
# Each snippet must appear verbatim in that section (and in the package index page).
INSTALLED_APPS_LINES = '    "rest_framework",\n    "jwt_cookie_auth",\n'
MIDDLEWARE_LINE = (
    '    "jwt_cookie_auth.middleware.JWTCookieMiddleware",  # after AuthenticationMiddleware\n'
)
REST_FRAMEWORK_BLOCK = """REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jwt_cookie_auth.authentication.JWTCookieAuthentication",
    ],
}
"""
URLS_IMPORT = "from django.urls import include, path\n"
URLS_LINE = '    path("auth/", include("jwt_cookie_auth.urls")),\n'
SNIPPETS = [INSTALLED_APPS_LINES, MIDDLEWARE_LINE, REST_FRAMEWORK_BLOCK, URLS_IMPORT, URLS_LINE]

# Never in a wheel: the test suite, the benchmarks, the demo, the developer scripts.
NOT_SHIPPED = ("tests/", "benchmarks/", "example_project/", "scripts/", "docs/")


def install_section(text: str) -> str:
    """Return README's "Install into your project" section (up to the next ``## ``)."""
    match = re.search(r"^## Install into your project\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README.md has no '## Install into your project' section"
    return match.group(1)


def index_description() -> Path:
    """Return the file pyproject names as ``readme`` (the package index page)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    readme = project["readme"]
    return ROOT / (readme if isinstance(readme, str) else readme["file"])


# --- fast: every pass -----------------------------------------------------------------


def test_index_description_has_only_absolute_links():
    """A relative link or image (docs/screenshots/*.png) is a broken one on PyPI."""
    text = index_description().read_text()
    targets = re.findall(r"\]\(([^)\s]+)", text) + re.findall(r"src=[\"']([^\"']+)", text)
    targets += re.findall(r"^\[[^\]]+\]:\s*(\S+)", text, re.M)  # reference definitions
    relative = [t for t in targets if not t.startswith(("https://", "mailto:"))]
    assert relative == [], f"{index_description().name} links to {relative}"


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_install_instructions_are_what_the_packaging_test_follows(snippet):
    assert snippet in install_section((ROOT / "README.md").read_text())
    assert snippet in index_description().read_text()


def test_install_section_needs_nothing_the_packaging_test_leaves_out():
    """Every settings/urls line README asks for before ``migrate`` is applied by the test.

    A line in those blocks that is neither in a new ``startproject`` nor applied by the
    slow test (a ``CACHES`` pointing at Redis, say) would make the literal reading fail.
    """
    import django

    steps = install_section((ROOT / "README.md").read_text()).split("Then `python manage.py")[0]
    blocks = re.findall(r"```python\n(.*?)```", steps, re.S)
    assert blocks
    template = Path(django.__file__).parent / "conf" / "project_template" / "project_name"
    known = (template / "settings.py-tpl").read_text() + (template / "urls.py-tpl").read_text()
    known_lines = {
        line.strip() for line in (known + "".join(SNIPPETS)).replace("'", '"').splitlines()
    }
    unknown = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#") and line.strip() not in known_lines
    ]
    assert unknown == [], "README's install steps ask for lines the packaging test skips"


# --- slow: its own step ---------------------------------------------------------------


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a build/install step; a failure fails under CI=true or with network, else skips."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        output = f"{' '.join(map(str, args))} exited {result.returncode}:\n"
        output += result.stdout[-4000:] + result.stderr[-4000:]
        if os.environ.get("CI") != "true" and not _pypi_reachable():
            pytest.skip(f"pypi.org is unreachable (not CI), cannot build/install: {output}")
        pytest.fail(output)
    return result.stdout


def _clean_env() -> dict[str, str]:
    """The environment of a shell outside this test run (pip's cache dir stays)."""
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _source_files() -> list[str]:
    """The files a fresh clone has (tracked, plus new files not yet committed)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: cannot tell the source tree from local files")
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[Path, Path]:
    """Build (wheel, sdist) from a copy of the source tree; never writes into it."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    files = _source_files()
    for name in files:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    out = work / "dist"
    _run(
        [sys.executable, "-m", "build", "--outdir", out, source],
        cwd=work,
        env=_clean_env(),
        timeout=600,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def _package_files() -> set[str]:
    """The package's source files that must ship (everything but bytecode)."""
    return {
        name
        for name in _source_files()
        if name.startswith(f"{PACKAGE}/") and not name.endswith((".pyc", ".pyo"))
    }


@pytest.mark.packaging
def test_wheel_contents(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()

    missing = _package_files() - names
    assert missing == set(), f"not in the wheel: {sorted(missing)}"
    for required in (
        f"{PACKAGE}/py.typed",
        f"{PACKAGE}/migrations/0001_initial.py",
        f"{PACKAGE}/migrations/0002_django_auth_integration.py",
        f"{PACKAGE}/migrations/0003_step_up.py",
        f"{PACKAGE}/static/jwt_cookie_auth/client.js",
        f"{PACKAGE}/static/jwt_cookie_auth/client.d.ts",
    ):
        assert required in names
    templates = {n for n in _package_files() if "/templates/" in n}
    assert templates <= names
    assert any(re.fullmatch(r"[^/]+\.dist-info/licenses/LICENSE", n) for n in names), names

    stray = sorted(n for n in names if not n.startswith((f"{PACKAGE}/", metadata_name[:-8])))
    assert stray == [], f"the wheel ships files outside the package: {stray}"
    assert not [n for n in names if n.startswith(NOT_SHIPPED) or "__pycache__" in n]

    assert "License-Expression: BSD-3-Clause" in metadata
    assert "License-File: LICENSE" in metadata
    description = metadata.split("\n\n", 1)[1]
    assert "docs/screenshots" not in description
    assert "](docs/" not in description


@pytest.mark.packaging
def test_sdist_contents(dists):
    _, sdist = dists
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
        files = {
            m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile() and "/" in m.name
        }

    missing = _package_files() - files
    assert missing == set(), f"not in the sdist: {sorted(missing)}"
    for required in ("LICENSE", "README.md", "pyproject.toml", "PKG-INFO"):
        assert required in files, f"{required} not in {top}"
    assert str(index_description().relative_to(ROOT)) in files
    # No half test tree (nor benchmarks, demo or scripts): see MANIFEST.in.
    shipped = sorted(n for n in names if n.startswith(("tests", *NOT_SHIPPED[1:4])))
    assert shipped == []
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n]


def _apply_readme_install_section(project: Path) -> None:
    """Edit a new startproject's settings.py and urls.py as README says, literally."""
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    apps_end = text.index("]\n", text.index("INSTALLED_APPS = ["))
    text = text[:apps_end] + INSTALLED_APPS_LINES + text[apps_end:]
    # startproject writes single quotes (Django 5.2) or double quotes: either way.
    auth_line = re.search(
        r"^ +.django\.contrib\.auth\.middleware\.AuthenticationMiddleware.,\n", text, re.M
    )
    assert auth_line, "startproject's MIDDLEWARE has no AuthenticationMiddleware"
    assert re.search(r"^ +.django\.middleware\.csrf\.CsrfViewMiddleware.,$", text, re.M)
    text = text[: auth_line.end()] + MIDDLEWARE_LINE + text[auth_line.end() :]
    settings.write_text(text + "\n" + REST_FRAMEWORK_BLOCK)

    urls = project / "mysite" / "urls.py"
    text = urls.read_text()
    assert "from django.urls import path\n" in text
    text = text.replace("from django.urls import path\n", URLS_IMPORT)
    text = text.replace("urlpatterns = [\n", "urlpatterns = [\n" + URLS_LINE)
    urls.write_text(text)


@pytest.mark.packaging
def test_wheel_in_a_new_project_logs_in_over_http(dists, tmp_path):
    wheel, _ = dists
    env = _clean_env()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=300)
    python = venv / "bin" / "python"
    # The README's "meanwhile" path: pip install the built wheel (dependencies from PyPI).
    _run([python, "-m", "pip", "install", wheel], cwd=tmp_path, env=env, timeout=600)
    _run(
        [venv / "bin" / "django-admin", "startproject", "mysite"],
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    project = tmp_path / "mysite"
    _apply_readme_install_section(project)

    manage = [python, "manage.py"]
    # The installed package, not the checkout: the project dir is all that is on the path.
    where = _run(
        [python, "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"],
        cwd=project,
        env=env,
        timeout=60,
    )
    assert str(venv) in where
    check = _run([*manage, "check"], cwd=project, env=env, timeout=120)
    assert "no issues" in check
    _run([*manage, "migrate", "--noinput"], cwd=project, env=env, timeout=300)
    password = "correct horse battery staple"
    _run(
        [*manage, "createsuperuser", "--noinput", "--username=alice", "--email=a@b.example"],
        cwd=project,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
        timeout=120,
    )

    port = free_port()
    server = subprocess.Popen(
        [*map(str, manage), "runserver", f"{HOST}:{port}", "--noreload"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )
    try:

        def listening() -> bool:
            if server.poll() is not None:
                pytest.fail(f"runserver exited: {server.stderr.read().decode()[-4000:]}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_for(listening, 60, "runserver to listen")
        browser = HttpSession((HOST, port))
        anonymous = browser.get("/auth/session/")
        assert anonymous.status == 200
        assert anonymous.json()["user"] is None
        assert browser.cookies.get("csrftoken")

        login = browser.post(
            "/auth/login/",
            json_body={"username": "alice", "password": password},
            csrf=True,
        )
        assert login.status == 200, login.body
        assert login.set_cookies.get("__Host-jwt_access")
        assert login.set_cookies.get("__Host-jwt_refresh")
        assert "access" not in login.json()  # tokens only in the cookies

        session = browser.get("/auth/session/")
        assert session.status == 200
        assert session.json()["user"]["username"] == "alice"
        assert session.json()["session_id"] == login.json()["session_id"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        assert server.stderr is not None
        server.stderr.close()
