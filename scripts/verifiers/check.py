"""`check.py <demo binary> <port> <jwt-authorizer-peer binary>`: three outside verifiers (panva's
jose, PyJWT, jwt-authorizer), each configured with the issuer URL alone, against a demo signing
with an EdDSA key made for this run; then the demo restarts with a second key signing and the
first retired, and the verifiers, still running, take the new tokens and the old ones alike.
A refresh token and a WebSocket ticket must fail each of them, before and after."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

demo_binary, port, rust_peer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
issuer = f"http://127.0.0.1:{port}"
here = os.path.dirname(os.path.abspath(__file__))
scratch = tempfile.mkdtemp(prefix="tokengate-verifiers-")
processes = []


def fail(message):
    print(f"verifiers: {message}", file=sys.stderr)
    sys.exit(1)


def request(url, method="GET", fields=None, token=None):
    """(status, body text) of one request."""
    data = None
    headers = {}
    if fields is not None:
        data = json.dumps(fields).encode()
        headers["content-type"] = "application/json"
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url):
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    fail(f"nothing answers at {url}")


def key(name):
    path = os.path.join(scratch, f"{name}.pem")
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", path], check=True
    )
    return path


def start_demo(keys):
    """The demo with `keys` ([(path, verify_until or None)], the first signing)."""
    config = os.path.join(scratch, "tokengate.toml")
    lines = ["[default]", f'issuer = "{issuer}"', "discovery = true"]
    for index, (path, until) in enumerate(keys):
        lines += ["[[default.keys]]", 'algorithm = "EdDSA"', f'key_file = "{path}"']
        lines.append("signing = true" if index == 0 else f"verify_until = {until}")
    with open(config, "w") as file:
        file.write("\n".join(lines) + "\n")
    env = dict(os.environ, PORT=str(port), RUST_LOG="warn", TOKENGATE_CONFIG=config)
    log = open(os.path.join(scratch, "demo.log"), "a")
    demo = subprocess.Popen([demo_binary], env=env, stderr=log)
    processes.append(demo)
    wait_for(f"{issuer}/health")
    return demo


def stop(process):
    process.terminate()
    process.wait(timeout=10)


def session():
    """A signed-in user's access and refresh tokens, and a WebSocket ticket."""
    status, body = request(
        f"{issuer}/api/rest/signin",
        "POST",
        {"login": "john.doe@email.org", "password": "#thePassword1234!"},
    )
    if status != 201:
        fail(f"sign-in answered {status}: {body}")
    tokens = json.loads(body)
    status, body = request(
        f"{issuer}/api/rest/ticket", "POST", {}, token=tokens["accessToken"]
    )
    if status != 201:
        fail(f"ticket answered {status}: {body}")
    return tokens["accessToken"], tokens["refreshToken"], json.loads(body)["ticket"]


def expect(verifiers, what, token, accepted):
    for name, base in verifiers:
        status, body = request(f"{base}/check", token=token)
        if (status == 200) != accepted:
            verdict = "refused" if accepted else "accepted"
            fail(f"{name} {verdict} {what}: {status} {body}")
        if accepted and body != "john.doe@email.org":
            fail(f"{name} read the subject as {body!r}")
    print(f"verifiers: every verifier {'accepts' if accepted else 'refuses'} {what}")


try:
    first, second = key("first"), key("second")
    demo = start_demo([(first, None)])
    # jose is installed beside its copy of the script (ES modules resolve from the file).
    jose = os.path.join(os.environ["VERIFIERS_NODE"], "jose_peer.mjs")
    peers = [
        ("jose", ["node", jose], port + 1),
        ("PyJWT", [sys.executable, os.path.join(here, "pyjwt_peer.py")], port + 2),
        ("jwt-authorizer", [rust_peer], port + 3),
    ]
    verifiers = []
    for name, command, peer_port in peers:
        peer = subprocess.Popen(command + [issuer, str(peer_port)])
        processes.append(peer)
        base = f"http://127.0.0.1:{peer_port}"
        wait_for(f"{base}/check")
        verifiers.append((name, base))

    access, refresh, ticket = session()
    expect(verifiers, "an access token", access, True)
    expect(verifiers, "a refresh token", refresh, False)
    expect(verifiers, "a WebSocket ticket", ticket, False)
    expect(verifiers, "a token that is not one", "not.a.token", False)

    # Rotation: the second key signs, the first verifies for an hour more. The verifiers are
    # not restarted; past their shortest refetch interval they take the new key's tokens.
    stop(demo)
    demo = start_demo([(second, None), (first, int(time.time()) + 3600)])
    time.sleep(6)
    new_access, new_refresh, new_ticket = session()
    expect(verifiers, "an access token of the new key", new_access, True)
    expect(verifiers, "an access token of the retired key", access, True)
    expect(verifiers, "a refresh token of the new key", new_refresh, False)
    expect(verifiers, "a ticket of the new key", new_ticket, False)
    stop(demo)
finally:
    for process in processes:
        process.terminate()
