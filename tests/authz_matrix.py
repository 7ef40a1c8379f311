"""The authorisation matrix: who may use every page (by URL name) and every operation of the JSON API.

Written down from the product rules (README "What works today", BRIEF §2 "People and organisations", 三员分立 of
等保 level 3) and read against the views — never derived from the code under test. Whatever a row does not allow is
denied. ``tests/test_authz_matrix.py`` fails when the URLconf or the OpenAPI description has an entry missing here
(or this table names one that no longer exists), and requests every row as every role and anonymously:

- a page needs a login: anonymous visitors are sent to the login page; a role not listed gets 403, audited as
  ``ACCESS_DENIED`` (``role_required`` checks the role before the view looks anything up, so a denied role gets 403
  even for an object that does not exist, and an allowed one gets 404 for it);
- the API authenticates by bearer token only (a browser session does not count): no token answers 401, and so does
  the token of an account whose role has no API duties (experts, enterprises, the 三员 — they cannot be issued one);
  a token holder whose role may not do an operation gets 403, audited like a page's.

The 三员 (separated administrators) are kept apart: the system administrator keeps accounts, the security
administrator assigns roles, the audit administrator alone reads the audit log; none of them reaches reporting data.
"""

from __future__ import annotations

from dataclasses import dataclass

from infocity.accounts.models import Role

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed in"  # any account, whatever its role

MINISTRY = Role.MINISTRY.value
ANALYST = Role.ANALYST.value
PROVINCE = Role.PROVINCE_REVIEWER.value
REPORTER = Role.CITY_REPORTER.value
APPROVER = Role.CITY_APPROVER.value
EXPERT = Role.EXPERT.value
ENTERPRISE = Role.ENTERPRISE.value
SYSADMIN = Role.SYSADMIN.value
SECADMIN = Role.SECADMIN.value
AUDITOR = Role.AUDITOR.value


def only(*roles: str) -> frozenset[str]:
    return frozenset(roles)


NATIONAL = only(MINISTRY, ANALYST)  # the ministry and the monitoring agency
CITY = only(REPORTER, APPROVER)  # a demonstration city's reporter and approver
PLACES = only(PROVINCE, REPORTER, APPROVER)  # a province and its cities
REPORTING = NATIONAL | PLACES  # everyone in the monitoring workflow; also the roles that hold API tokens
POSTERS = CITY | only(ENTERPRISE)  # cities post needs, enterprises post solutions on the supply–demand board


@dataclass(frozen=True)
class Rule:
    """Who may use an entry (a set of roles, PUBLIC or SIGNED_IN), and how the test calls it: GET, or POST for
    views that only take POST (with an empty form, or just the object the action is on)."""

    who: frozenset[str] | str
    method: str = "GET"
    note: str = ""


def post(who: frozenset[str] | str, note: str = "") -> Rule:
    return Rule(who, "POST", note)


def get(who: frozenset[str] | str, note: str = "") -> Rule:
    return Rule(who, "GET", note)


PAGES: dict[str, Rule] = {
    # --- public: the login, the health check and the public side (portal, showcase, board, open data) ---------
    "healthz": get(PUBLIC, "liveness check for the reverse proxy"),
    "set_language": post(PUBLIC, "the language switch is on the login page too"),
    "accounts:login": get(PUBLIC),
    "accounts:logout": post(PUBLIC, "ending an expired session must not bounce to the login page"),
    "dictionary:index": get(PUBLIC, "the published indicator dictionary"),
    "dictionary:edition": get(PUBLIC),
    "dictionary:indicator": get(PUBLIC),
    "results:index": get(PUBLIC, "published evaluation results only"),
    "results:year": get(PUBLIC),
    "portal:home": get(PUBLIC),
    "portal:cities": get(PUBLIC),
    "portal:city": get(PUBLIC),
    "showcase:index": get(PUBLIC),
    "showcase:item": get(PUBLIC),
    "showcase:photo": get(PUBLIC),
    "board:index": get(PUBLIC),
    "board:detail": get(PUBLIC),
    "opendata:catalogue": get(PUBLIC),
    "opendata:catalog_jsonld": get(PUBLIC),
    "opendata:dataset": get(PUBLIC),
    "opendata:csv": get(PUBLIC),
    "opendata:json": get(PUBLIC),
    "opendata:sdmx": get(PUBLIC),
    # The API's own pages that are not operations of its description.
    "api:openapi-json": get(PUBLIC, "the OpenAPI description"),
    "api:openapi-view": get(PUBLIC, "the interactive API documentation"),
    "api:api-root": get(PUBLIC, "django-ninja's root: 404 naming the documentation's address"),
    "api:^(?P<rest>.*)$": get(PUBLIC, "any other address under /api/v1/ answers 404 in the API's error shape"),
    # --- one's own account and workspace: every role -------------------------------------------------------
    "workspace:home": get(SIGNED_IN, "each role's home page"),
    "accounts:profile": get(SIGNED_IN),
    "accounts:password_change": get(SIGNED_IN),
    "accounts:second_factor": get(SIGNED_IN),
    "accounts:second_factor_enrol": get(SIGNED_IN),
    "reporting:notifications": get(SIGNED_IN, "one's own notifications"),
    "reporting:notifications_read": post(SIGNED_IN),
    # --- accounts (三员): the system administrator keeps accounts, the security administrator assigns roles ----
    "accounts:user_list": get(only(SYSADMIN, SECADMIN), "the security administrator finds the account to give a role"),
    "accounts:user_detail": get(only(SYSADMIN, SECADMIN)),
    "accounts:user_create": get(only(SYSADMIN)),
    "accounts:user_edit": get(only(SYSADMIN)),
    "accounts:user_active": post(only(SYSADMIN)),
    "accounts:user_unlock": post(only(SYSADMIN)),
    "accounts:user_reset_password": post(only(SYSADMIN)),
    "accounts:user_reset_second_factor": post(only(SYSADMIN)),
    "accounts:user_end_sessions": post(
        only(SYSADMIN), "在线用户/强退: the system administrator ends a user's sessions"
    ),
    "accounts:user_role": post(only(SECADMIN), "roles are the security administrator's alone"),
    # --- the audit log: the audit administrator alone --------------------------------------------------------
    "audit:event_list": get(only(AUDITOR)),
    "audit:event_export": get(only(AUDITOR), "exporting the log is reading it"),
    # --- organisations: everyone who works in the tree, each within their scope; not the audit administrator --
    "organisations:list": get(REPORTING | only(EXPERT, ENTERPRISE, SYSADMIN, SECADMIN)),
    "organisations:detail": get(REPORTING | only(EXPERT, ENTERPRISE, SYSADMIN, SECADMIN)),
    "organisations:cohort_list": get(REPORTING),
    "organisations:cohort_detail": get(REPORTING),
    "organisations:division_list": get(NATIONAL | only(SYSADMIN, SECADMIN), "GB/T 2260 reference codes"),
    # --- the indicator framework: the ministry owns it, the agency reads it ----------------------------------
    "frameworks:list": get(NATIONAL),
    "frameworks:detail": get(NATIONAL),
    "frameworks:export": get(NATIONAL),
    "frameworks:import": post(only(MINISTRY)),
    "frameworks:details": get(only(MINISTRY)),
    "frameworks:publish": post(only(MINISTRY)),
    "frameworks:retire": post(only(MINISTRY)),
    "frameworks:copy": post(only(MINISTRY)),
    "frameworks:check_formula": post(only(MINISTRY)),
    "frameworks:part_create": get(only(MINISTRY)),
    "frameworks:part_edit": get(only(MINISTRY)),
    "frameworks:part_delete": post(only(MINISTRY)),
    # --- reporting: the workflow's people; the city enters data, the ministry owns the calendar --------------
    "reporting:queue": get(REPORTING),
    "reporting:submissions": get(REPORTING),
    "reporting:submission": get(REPORTING),
    "reporting:history": get(REPORTING),
    "reporting:act": post(REPORTING, "each button's own rule is checked by the workflow service"),
    "reporting:save": post(CITY),
    "reporting:check": post(CITY),
    "reporting:cycles": get(REPORTING),
    "reporting:cycle": get(REPORTING),
    "reporting:cycle_create": get(only(MINISTRY)),
    "reporting:cycle_edit": get(only(MINISTRY)),
    "reporting:period_edit": get(only(MINISTRY)),
    "reporting:unlocks": get(REPORTING),
    "reporting:unlock_decide": post(only(ANALYST), "the agency decides unlock requests"),
    "reporting:completeness": get(NATIONAL | only(PROVINCE)),
    "reporting:completeness_csv": get(NATIONAL | only(PROVINCE)),
    # --- analytics: dashboards for the workflow's people; outliers for the agency ----------------------------
    "analytics:dashboard": get(REPORTING),
    "analytics:city": get(REPORTING),
    "analytics:download": get(REPORTING),
    "analytics:reports": get(REPORTING),
    "analytics:report": get(REPORTING),
    "analytics:report_file": get(REPORTING),
    "analytics:outliers": get(only(ANALYST)),
    "analytics:outlier_review": post(only(ANALYST)),
    # --- API tokens: the roles whose duties the API serves ---------------------------------------------------
    "tokens:list": get(REPORTING),
    "tokens:revoke": post(REPORTING),
    # --- bulk import and export: imports by the cities and their province; exports for everyone in reporting --
    "bulk:index": get(REPORTING),
    "bulk:template": get(REPORTING),
    "bulk:export": get(REPORTING),
    "bulk:export_detail": get(REPORTING),
    "bulk:export_file": get(REPORTING),
    "bulk:upload": post(PLACES),
    "bulk:import": get(PLACES),
    "bulk:apply": post(PLACES),
    "bulk:marked": get(PLACES),
    # --- progress reports and typical applications ------------------------------------------------------------
    "progress:list": get(REPORTING | only(ENTERPRISE), "an enterprise sees its city's reports to add applications"),
    "progress:report": get(REPORTING),
    "progress:pdf": get(REPORTING),
    "progress:docx": get(REPORTING),
    "progress:save": post(CITY),
    "progress:attachment_add": post(POSTERS),
    "progress:attachment_remove": post(POSTERS),
    "progress:file": get(REPORTING | only(ENTERPRISE, EXPERT), "an expert reads the files assigned to them"),
    "progress:application_new": get(POSTERS),
    "progress:application": get(REPORTING | only(ENTERPRISE), "reading; changing it is in SECOND_METHODS"),
    "progress:application_endorse": post(CITY, "the city endorses an enterprise's application"),
    "progress:application_delete": post(POSTERS),
    # --- the annual evaluation: the agency runs it, the ministry approves and publishes, experts score ---------
    "evaluation:index": get(NATIONAL),
    "evaluation:scheme": get(NATIONAL),
    "evaluation:scheme_action": post(NATIONAL, "the agency submits a scheme, the ministry approves or returns it"),
    "evaluation:scheme_create": post(only(ANALYST)),
    "evaluation:scheme_save": post(only(ANALYST)),
    "evaluation:round": get(NATIONAL),
    "evaluation:round_create": post(only(ANALYST)),
    "evaluation:round_action": post(only(ANALYST)),
    "evaluation:my_reviews": get(only(EXPERT)),
    "evaluation:review": get(NATIONAL | only(EXPERT)),
    "evaluation:review_save": post(only(EXPERT)),
    "evaluation:run_create": post(only(ANALYST)),
    "evaluation:run": get(NATIONAL),
    "evaluation:run_action": post(NATIONAL, "the agency decides acceptance, the ministry confirms and publishes"),
    "evaluation:run_city": get(NATIONAL),
    "evaluation:certificate": get(NATIONAL | CITY, "a city downloads its own published award's certificate"),
    # --- the ministry publishes: data releases and the showcase -----------------------------------------------
    "portal:releases": get(only(MINISTRY)),
    "portal:release_publish": post(only(MINISTRY)),
    "portal:release_withdraw": post(only(MINISTRY)),
    "showcase:manage": get(only(MINISTRY)),
    "showcase:publish": post(only(MINISTRY)),
    "showcase:publish_solution": post(only(MINISTRY)),
    "showcase:withdraw": get(only(MINISTRY), "asks for confirmation; POST withdraws"),
    # --- the supply–demand board: cities and enterprises post; the agency moderates ---------------------------
    "board:mine": get(POSTERS),
    "board:new": get(POSTERS),
    "board:post": get(POSTERS),
    "board:edit": get(POSTERS),
    "board:close": post(POSTERS),
    "board:request_contact": post(POSTERS),
    "board:requests": get(POSTERS),
    "board:decide": post(POSTERS),
    "board:withdraw": post(POSTERS),
    "board:moderation": get(only(ANALYST)),
    "board:review": get(only(ANALYST)),
    "board:moderate": post(only(ANALYST)),
}

# Pages whose second method has its own rule.
SECOND_METHODS: dict[str, Rule] = {
    "progress:application": post(POSTERS, "reviewers read an application; only its city and enterprise change it"),
}

# Every operation of /api/v1/openapi.json: "METHOD path" → who. The token operations are open to the roles that
# hold tokens (REPORTING); what each returns is scoped to the account (another tenant's object answers 404).
OPERATIONS: dict[str, Rule] = {
    "GET /api/v1/editions": get(PUBLIC, "the published framework is open"),
    "GET /api/v1/editions/{code}": get(PUBLIC),
    "GET /api/v1/editions/{code}/indicators": get(PUBLIC),
    "GET /api/v1/editions/{code}/indicators/{indicator}": get(PUBLIC),
    "GET /api/v1/editions/{code}/data-items": get(PUBLIC),
    "GET /api/v1/public/datasets": get(PUBLIC, "open data: published figures only, rate-limited"),
    "GET /api/v1/public/datasets/{identifier}": get(PUBLIC),
    "GET /api/v1/public/datasets/{identifier}/rows": get(PUBLIC),
    "GET /api/v1/public/indicator-values": get(PUBLIC),
    "GET /api/v1/public/evaluation-results": get(PUBLIC),
    "GET /api/v1/public/awards": get(PUBLIC),
    "GET /api/v1/organisations": get(REPORTING),
    "GET /api/v1/cycles": get(REPORTING),
    "GET /api/v1/periods": get(REPORTING),
    "GET /api/v1/submissions": get(REPORTING),
    "GET /api/v1/submissions/{submission_id}": get(REPORTING),
    "GET /api/v1/values": get(REPORTING),
    "POST /api/v1/values": post(CITY, "only the city's own reporter and approver write its values"),
    "POST /api/v1/submissions/{submission_id}/{action}": post(REPORTING, "who may do which action: ACTIONS"),
    "POST /api/v1/imports": post(PLACES, "as on the page: the cities, and the province for all its cities"),
    "GET /api/v1/imports/{import_id}": get(REPORTING, "one's own imports"),
    "POST /api/v1/imports/{import_id}/apply": post(REPORTING, "one's own imports"),
    "POST /api/v1/exports": post(REPORTING),
    "GET /api/v1/exports/{export_id}": get(REPORTING, "one's own exports"),
    "GET /api/v1/exports/{export_id}/file": get(REPORTING, "one's own exports"),
}

# The workflow operation, action by action, each on a submission in the state the action applies to (the same rules
# as the pages' buttons: BRIEF §5 draft → city-approved → submitted → province-approved → accepted).
ACTIONS: dict[str, Rule] = {
    "approve-city": post(only(APPROVER), "a filled draft: the city approver signs it off"),
    "submit": post(only(APPROVER), "a filled draft: the approver approves and sends it in one step"),
    "approve": post(only(PROVINCE), "sent to the province: its reviewer approves"),
    "return": post(only(PROVINCE), "sent to the province: its reviewer returns it"),
    "accept": post(only(ANALYST), "approved by the province: the agency accepts"),
}
