"""`python_client.py <dir holding the generated tokengate_client> <base URL>`: the client that
openapi-python-client generated from a demo's served document, used as it comes: every module
imports; sign-in in multipart, urlencoded and JSON; /token; /me and the sessions list with the
access token; sign-out; a 401 and a 429 read as the documented Error."""

import importlib
import pkgutil
import sys
import time

sys.path.insert(0, sys.argv[1])
base = sys.argv[2]

import tokengate_client
from tokengate_client import AuthenticatedClient, Client
from tokengate_client.api.demo import me
from tokengate_client.api.tokengate import sessions, signin, signout, token
from tokengate_client.models import (
    DemoClaims,
    Error,
    Refresh,
    Sessions,
    SignedOut,
    SignIn,
    SignInForm,
    SignInMultipart,
    SignOutForm,
    SignOutMultipart,
    Tokens,
)

USER, PASSWORD = "john.doe@email.org", "#thePassword1234!"


def check(condition, what):
    if not condition:
        sys.exit(f"generated Python client: {what}")


for module in pkgutil.walk_packages(tokengate_client.__path__, "tokengate_client."):
    importlib.import_module(module.name)

client = Client(base_url=base)
signed_in = {}
for encoding, body in [
    ("multipart", SignInMultipart(login=USER, password=PASSWORD)),
    ("urlencoded", SignInForm(login=USER, password=PASSWORD)),
    ("JSON", SignIn(login=USER, password=PASSWORD, cookieauth=False)),
]:
    answer = signin.sync_detailed(client=client, body=body)
    check(isinstance(answer.parsed, Tokens), f"{encoding} sign-in: {answer.status_code} {answer.content!r}")
    signed_in[encoding] = answer.parsed
application = signin.sync_detailed(
    client=client,
    body=SignIn(login="demo-key", password="demo-secret", application="demo-app",
                exp=int(time.time()) + 3600),
)
check(isinstance(application.parsed, Tokens), f"application sign-in: {application.status_code}")

renewed = token.sync_detailed(client=client, body=Refresh(token=signed_in["JSON"].refresh_token))
check(isinstance(renewed.parsed, Tokens), f"/token: {renewed.status_code} {renewed.content!r}")

bearer = AuthenticatedClient(base_url=base, token=renewed.parsed.access_token)
claims = me.sync_detailed(client=bearer)
check(isinstance(claims.parsed, DemoClaims) and claims.parsed.sub == USER, f"/me: {claims.status_code}")
listed = sessions.sync_detailed(client=bearer)
check(isinstance(listed.parsed, Sessions) and listed.parsed.total >= 3, f"sessions: {listed.status_code}")

for encoding, body in [
    ("multipart", SignOutMultipart(token=signed_in["multipart"].refresh_token)),
    ("urlencoded", SignOutForm(token=signed_in["urlencoded"].refresh_token)),
]:
    answer = signout.sync_detailed(client=client, body=body)
    check(isinstance(answer.parsed, SignedOut) and answer.parsed.sessions_ended == 1,
          f"{encoding} sign-out: {answer.status_code} {answer.content!r}")

refused = me.sync_detailed(client=AuthenticatedClient(base_url=base, token="not-a-token"))
check(refused.status_code == 401 and isinstance(refused.parsed, Error)
      and refused.parsed.error.value == "invalid_token", f"401: {refused.content!r}")
stranger = f"stranger-{time.time_ns()}@example.org"
for _ in range(11):
    answer = signin.sync_detailed(client=client, body=SignInMultipart(login=stranger, password="wrong"))
check(answer.status_code == 429 and isinstance(answer.parsed, Error)
      and answer.parsed.error.value == "too_many_attempts", f"429: {answer.content!r}")
print("generated Python client: every call answered as documented")
