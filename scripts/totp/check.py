"""`check.py <demo binary> <port>`: a second factor driven by a TOTP client that is not ours
(pyotp, reading the otpauth URI the demo gives, as an authenticator app reads its QR code).
The seed user enrols an authenticator and confirms it; a new sign-in is held at aal1
(`mfaRequired`, the RFC 9470 step-up refusal on `/api/rest/me` and `/api/rest/vault`); pyotp's
code of the next step raises the session to aal2; the vault opens; the same code again, and a
wrong one, are refused; a recovery code stands in once."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pyotp

demo_binary, port = sys.argv[1], int(sys.argv[2])
base = f"http://127.0.0.1:{port}"
user = ("john.doe@email.org", "#thePassword1234!")


def fail(message):
    print(f"totp: {message}", file=sys.stderr)
    sys.exit(1)


def request(path, method="GET", fields=None, token=None):
    """(status, headers, parsed JSON body or None) of one request."""
    data = None
    headers = {}
    if fields is not None:
        data = json.dumps(fields).encode()
        headers["content-type"] = "application/json"
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    call = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            status, head, body = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, error.headers, error.read()
    try:
        return status, head, json.loads(body)
    except ValueError:
        return status, head, None


def expect(what, answer, status):
    if answer[0] != status:
        fail(f"{what}: expected {status}, got {answer[0]} {answer[2]}")
    return answer


def wait_for(path):
    for _ in range(200):
        try:
            urllib.request.urlopen(base + path, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    fail(f"nothing answers at {base}{path}")


def sign_in():
    _, _, body = expect("sign-in", request("/api/rest/signin", "POST", {"login": user[0], "password": user[1]}), 201)
    return body


scratch = tempfile.mkdtemp(prefix="tokengate-totp-")
log = open(os.path.join(scratch, "demo.log"), "w")
env = dict(os.environ, PORT=str(port), RUST_LOG="warn")
demo = subprocess.Popen([demo_binary], env=env, stderr=log)
try:
    wait_for("/health")
    first = sign_in()
    _, _, enrolled = expect("enrol", request("/api/rest/mfa/totp", "POST", {}, first["accessToken"]), 201)
    authenticator = pyotp.parse_uri(enrolled["otpauthUri"])
    if not isinstance(authenticator, pyotp.TOTP) or authenticator.secret != enrolled["secret"]:
        fail(f"the otpauth URI is not a TOTP of the secret shown: {enrolled['otpauthUri']}")
    if (authenticator.digits, authenticator.interval, authenticator.digest().name) != (6, 30, "sha1"):
        fail("the authenticator is not SHA-1, 30 s, 6 digits")
    now = time.time()
    _, _, confirmed = expect(
        "confirm",
        request(f"/api/rest/mfa/{enrolled['id']}/confirm", "POST", {"code": authenticator.at(now)}, first["accessToken"]),
        200,
    )
    recovery = confirmed["recoveryCodes"]
    if len(recovery) != 10:
        fail(f"{len(recovery)} recovery codes")

    pending = sign_in()
    if pending.get("mfaRequired") != ["totp", "recovery"]:
        fail(f"the sign-in of a user with a factor does not say what is needed: {pending}")
    for path in ["/api/rest/me", "/api/rest/vault"]:
        status, head, body = request(path, token=pending["accessToken"])
        challenge = head.get("www-authenticate", "")
        if status != 401 or 'error="insufficient_user_authentication"' not in challenge or 'acr_values="aal2"' not in challenge:
            fail(f"{path} at aal1: {status} {challenge} {body}")
    # The next step's code: the one that confirmed is spent.
    code = authenticator.at(now + 30)
    _, _, raised = expect(
        "verify", request("/api/rest/mfa/verify", "POST", {"token": pending["refreshToken"], "code": code}), 201
    )
    _, _, vault = expect("vault at aal2", request("/api/rest/vault", token=raised["accessToken"]), 200)
    if vault.get("acr") != "aal2" or "otp" not in vault.get("amr", []):
        fail(f"the vault's claims: {vault}")

    again = sign_in()
    status, _, body = request("/api/rest/mfa/verify", "POST", {"token": again["refreshToken"], "code": code})
    if status != 401 or body.get("error") != "invalid_code":
        fail(f"a replayed code: {status} {body}")
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    status, _, body = request("/api/rest/mfa/verify", "POST", {"token": again["refreshToken"], "code": wrong})
    if status != 401:
        fail(f"a wrong code: {status} {body}")
    expect("a recovery code", request("/api/rest/mfa/verify", "POST", {"token": again["refreshToken"], "code": recovery[0]}), 201)
    print(f"totp: {os.path.basename(demo_binary)}: pyotp enrolled, verified, replay and wrong code refused")
finally:
    demo.terminate()
    demo.wait()
