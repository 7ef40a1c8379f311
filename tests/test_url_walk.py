"""Every URL needs a login unless it is on the explicit public list below.

LoginRequiredMiddleware makes login the default; this test walks the whole URLconf so that a new view
that is public by accident (or a public view missing from this list) fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# Views anyone may reach without logging in: (URL name, reason).
PUBLIC = {
    "accounts:login": "the login page",
    "accounts:logout": "logging out an expired session must not bounce to login",
    "set_language": "the language switch on the login page",
    "healthz": "liveness check for the reverse proxy; discloses nothing",
    "dictionary:index": "the public indicator dictionary",
    "dictionary:edition": "the public indicator dictionary, one edition",
    "dictionary:indicator": "the public indicator dictionary, one indicator",
    "results:index": "the published annual evaluation results (only what the ministry published)",
    "results:year": "the published annual evaluation results of one year",
    "opendata:catalogue": "the open data catalogue (only what the ministry published)",
    "opendata:catalog_jsonld": "the open data catalogue as DCAT JSON-LD",
    "opendata:dataset": "one open dataset: its metadata and a preview",
    "opendata:csv": "an open dataset as CSV",
    "opendata:json": "an open dataset as JSON",
    "opendata:sdmx": "an open dataset as SDMX-CSV",
    "board:index": "the public supply–demand board (published posts, contacts masked)",
    "board:detail": "one published board post (contact masked unless the viewer's organisation is matched)",
    "portal:home": "the public portal: the programme, its calendar, published figures with the map",
    "portal:cities": "the demonstration cities with their published figures",
    "portal:city": "one demonstration city's published figures, rank and awards",
    "showcase:index": "the published showcase (典型案例) with its search",
    "showcase:item": "one published showcase item (live items only; never a contact person)",
    "showcase:photo": "a photo of a published showcase item (live items only)",
}
# The JSON API answers 401 itself instead of redirecting to the login page; each operation declares its
# authentication in the OpenAPI description, which tests/test_api.py checks.
API_NAMESPACE = "api:"


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, object]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def concrete(route: str) -> str:
    """Fill route converters with sample values: <int:pk> → 1, <str:code>/<slug:x> → sample."""
    path = re.sub(r"<int:\w+>", "1", route)
    path = re.sub(r"<(?:str|slug|path)?:?\w+>", "A01", path)
    path = path.lstrip("^").rstrip("$")
    return "/" + path


# Views any logged-in user may open (their content is scoped to the user); every other view must declare
# the roles that may use it with @role_required.
ANY_LOGGED_IN = {
    "workspace:home": "each role's home page",
    "accounts:profile": "one's own account",
    "accounts:password_change": "one's own password",
    "accounts:second_factor": "one's own second factor: the code after the password",
    "accounts:second_factor_enrol": "one's own second factor: binding an authenticator",
    "reporting:notifications": "one's own notifications",
    "reporting:notifications_read": "marking one's own notifications read",
}

ROUTES = sorted(walk(get_resolver()))


def test_the_urlconf_is_not_empty() -> None:
    assert len(ROUTES) > 10


def test_public_list_names_real_views() -> None:
    names = {name for name, _, _ in ROUTES}
    assert set(PUBLIC) <= names, f"stale entries in PUBLIC: {set(PUBLIC) - names}"
    assert set(ANY_LOGGED_IN) <= names, f"stale entries in ANY_LOGGED_IN: {set(ANY_LOGGED_IN) - names}"


@pytest.mark.parametrize(("name", "route", "view"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_private_view_declares_its_roles(name: str, route: str, view: object) -> None:
    if name in PUBLIC or name in ANY_LOGGED_IN or name.startswith(API_NAMESPACE):
        return
    assert getattr(view, "allowed_roles", None), f"{name} needs @role_required(...) or a place in ANY_LOGGED_IN"


@pytest.mark.parametrize(("name", "route", "view"), ROUTES, ids=[r[0] for r in ROUTES])
def test_anonymous_access(db: None, anon: Client, name: str, route: str, view: object) -> None:
    marked_public = getattr(view, "login_required", True) is False
    if name.startswith(API_NAMESPACE):
        assert marked_public, f"{name}: API views answer 401 themselves"
        return
    if name in PUBLIC:
        assert marked_public, f"{name} is on the public list but its view is not @login_not_required"
        return
    assert not marked_public, f"{name} is public (@login_not_required) but not on the PUBLIC list"
    for method in (anon.get, anon.post):
        response = method(concrete(route))
        assert response.status_code == 302, f"{method.__name__.upper()} {route} answered {response.status_code}"
        assert response["Location"].startswith("/accounts/login/?next="), response["Location"]
