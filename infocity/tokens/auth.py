"""Bearer-token authentication for the API (``Authorization: Bearer ic_…``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from .models import ApiToken
from .services import authenticate


class TokenAuth(HttpBearer):
    """Any active token; the request then acts as the token's account (scoping and the audit log follow it)."""

    write = False

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = authenticate(token)
        if found is None or (self.write and found.scope != ApiToken.Scope.WRITE):
            return None if found is None else self._read_only(request, found)
        request.user = found.user
        return found

    def _read_only(self, request: HttpRequest, token: ApiToken) -> Any:
        from .errors import ApiError

        raise ApiError(403, "read_only_token", "该令牌只有读取权限，不能修改数据。请使用“读写”令牌。")


class WriteTokenAuth(TokenAuth):
    write = True


read_auth = TokenAuth()
write_auth = WriteTokenAuth()
