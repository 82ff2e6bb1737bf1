"""`check.py <demo binary> <demo port> <provider port>`: a demo configured with one
`[[issuers]]` table for a real OpenID provider (panva's oidc-provider, `provider.mjs`, started
here with keys it makes itself) takes the provider's JWT access tokens on guarded routes, their
`scope` mapped to scopes, and refuses them where they do not fit; then the provider restarts with
new keys and another algorithm, and the demo, still running, takes its new tokens."""

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

demo_binary, port, provider_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
provider = f"http://127.0.0.1:{provider_port}"
here = os.path.dirname(os.path.abspath(__file__))
modules = os.environ["OIDC_PROVIDER_NODE"]
scratch = tempfile.mkdtemp(prefix="tokengate-issuers-")
client_secret = secrets.token_urlsafe(24)
processes = []


def fail(message):
    print(f"issuers-check: {message}", file=sys.stderr)
    for name in ("provider.log", "demo.log"):
        path = os.path.join(scratch, name)
        if os.path.exists(path):
            print(f"--- {name}", file=sys.stderr)
            print(open(path).read()[-4000:], file=sys.stderr)
    sys.exit(1)


def request(url, token=None, form=None, basic=None):
    """(status, body text) of one request."""
    headers = {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if basic is not None:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        headers["authorization"] = f"Basic {pair}"
    call = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url):
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    fail(f"nothing answers at {url}")


def start_provider(alg):
    env = dict(os.environ, PORT=str(provider_port), CLIENT_SECRET=client_secret, ACCESS_ALG=alg,
               NO_COLOR="1")
    log = open(os.path.join(scratch, "provider.log"), "a")
    script = os.path.join(modules, "provider.mjs")
    started = subprocess.Popen(["node", script], env=env, stdout=log, stderr=log)
    processes.append(started)
    wait_for(f"{provider}/.well-known/openid-configuration")
    return started


def stop(process):
    process.terminate()
    process.wait(timeout=10)


def token(scope):
    status, body = request(f"{provider}/token", basic=("orders-service", client_secret),
                           form={"grant_type": "client_credentials", "scope": scope})
    if status != 200:
        fail(f"the provider gave no token for scope {scope!r}: {status} {body}")
    return json.loads(body)["access_token"]


def expect(path, token, status, what):
    got, body = request(f"{base}{path}", token=token)
    if got != status:
        fail(f"{what}: {path} answered {got}, not {status}: {body}")
    if status >= 400 and "error" not in json.loads(body):
        fail(f"{what}: {path} answered {got} without a JSON error: {body}")
    return body


try:
    provider_process = start_provider("ES256")
    config = os.path.join(scratch, "tokengate.toml")
    with open(config, "w") as file:
        file.write("[default]\nissuer_keys_interval = \"1s\"\n\n[[default.issuers]]\n"
                   f'issuer = "{provider}"\naudience = "orders-api"\n')
    env = dict(os.environ, PORT=str(port), RUST_LOG="warn", TOKENGATE_CONFIG=config)
    demo = subprocess.Popen([demo_binary], env=env,
                            stderr=open(os.path.join(scratch, "demo.log"), "a"))
    processes.append(demo)
    wait_for(f"{base}/health")

    reader = token("read")
    me = json.loads(expect("/api/rest/me", reader, 200, "a token of the provider"))
    if me.get("iss") != provider or me.get("sub") != "orders-service":
        fail(f"the claims do not name the provider and its client: {me}")
    expect("/api/rest/reports", reader, 200, "scope `read`")
    expect("/api/rest/admin", reader, 403, "no role")
    expect("/api/rest/reports", token("write"), 403, "scope `write` alone")
    header, claims, signature = reader.split(".")
    forged = ".".join([header, claims, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    expect("/api/rest/me", forged, 401, "a changed signature")
    status, body = request(f"{base}/api/rest/token", form={"token": reader})
    if status != 401:
        fail(f"/token took the provider's token: {status} {body}")

    # The provider restarts with new keys and signs with RS256: a token naming a key id the
    # demo has not seen makes it fetch the keys again (at most once a second here).
    stop(provider_process)
    provider_process = start_provider("RS256")
    time.sleep(1.2)
    rotated = token("read")
    if json.loads(base64.urlsafe_b64decode(rotated.split(".")[0] + "=="))["alg"] != "RS256":
        fail("the restarted provider does not sign with RS256")
    expect("/api/rest/reports", rotated, 200, "a token under the provider's new key")
    print(f"issuers-check: {os.path.basename(demo_binary)} takes the provider's tokens")
finally:
    for process in processes:
        if process.poll() is None:
            process.kill()
