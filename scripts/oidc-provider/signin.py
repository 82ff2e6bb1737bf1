"""`signin.py <demo binary> <demo port> <provider port>`: users sign in to a demo through a real
OpenID provider (panva's oidc-provider, `provider.mjs`, started here with keys it makes
itself), the demo configured with one `[[providers]]` table for it:

- an app's flow, as a native app's system browser runs it (HTTP with a cookie jar): the start
  with the app's PKCE challenge, the provider's login page, the callback, the one-time code at
  the app's own scheme, its exchange for both tokens, a guarded route with them;
- a browser's flow in headless Chromium (WebDriver): the start, the provider's login page
  typed into, the callback, and the guarded page it returns to, signed in by cookie;
- the same identity signs in again as the same local user, and no secret or token is logged."""

import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import secrets
import shutil
import socket
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
modules = os.environ["OIDC_PROVIDER_NODE"]
scratch = tempfile.mkdtemp(prefix="tokengate-signin-")
client_secret = secrets.token_urlsafe(24)
callback = f"{base}/api/rest/oidc/local/callback"
processes = []
name = os.path.basename(demo_binary)


def fail(message):
    print(f"signin-check: {name}: {message}", file=sys.stderr)
    for log in ("provider.log", "demo.log", "chromedriver.log"):
        path = os.path.join(scratch, log)
        if os.path.exists(path):
            print(f"--- {log}", file=sys.stderr)
            print(open(path).read()[-4000:], file=sys.stderr)
    sys.exit(1)


def wait_for(url):
    for _ in range(400):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    fail(f"nothing answers at {url}")


class Form(html.parser.HTMLParser):
    """The first form of a page: its action and its inputs."""

    def __init__(self):
        super().__init__()
        self.action, self.inputs = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs.get("value") or ""


class StopAtApp(urllib.request.HTTPRedirectHandler):
    """Follows redirects within http(s); one to an app's own scheme ends the walk."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.startswith(("http://", "https://")):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def app_flow(login):
    """An app's sign-in as `login`: both tokens."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), StopAtApp())
    query = urllib.parse.urlencode({"return_to": "com.example.app:/signed-in",
                                    "code_challenge": challenge, "code_challenge_method": "S256"})
    url, data, landed = f"{base}/api/rest/oidc/local/start?{query}", None, None
    for _ in range(10):
        try:
            with browser.open(urllib.request.Request(url, data=data), timeout=10) as answer:
                page, at = answer.read().decode(), answer.geturl()
        except urllib.error.HTTPError as error:
            if error.code in (301, 302, 303) and error.headers.get("location", "").startswith("com.example.app:"):
                landed = error.headers["location"]
                break
            fail(f"the app's walk stopped at {error.code}: {error.read().decode()[:500]}")
        form = Form()
        form.feed(page)
        if form.action is None:
            fail(f"no form on {at}: {page[:500]}")
        fields = dict(form.inputs)
        if "login" in fields:
            fields.update(login=login, password="any password")
        url, data = urllib.parse.urljoin(at, form.action), urllib.parse.urlencode(fields).encode()
    if landed is None:
        fail("the app's walk never came back to the app")
    code = urllib.parse.parse_qs(urllib.parse.urlparse(landed).query).get("code", [None])[0]
    if not code or "Token" in landed:
        fail(f"the app came back without a one-time code (or with a token): {landed}")
    plain = urllib.request.build_opener()

    def exchange(verifier):
        call = urllib.request.Request(f"{base}/api/rest/oidc/exchange",
                                      data=urllib.parse.urlencode({"code": code, "code_verifier": verifier}).encode())
        try:
            with plain.open(call, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, tokens = exchange(verifier)
    if status != 201 or not tokens.get("accessToken") or not tokens.get("refreshToken"):
        fail(f"the exchange answered {status}: {tokens}")
    status, again = exchange(verifier)
    if status != 400 or again.get("error") != "invalid_grant":
        fail(f"a code exchanged twice answered {status}: {again}")
    return tokens


def me(access):
    call = urllib.request.Request(f"{base}/api/rest/me", headers={"authorization": f"Bearer {access}"})
    with urllib.request.urlopen(call, timeout=10) as answer:
        return json.loads(answer.read())


def webdriver(driver, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(f"{driver}{path}", data=data, method=method,
                                  headers={"content-type": "application/json"})
    with urllib.request.urlopen(call, timeout=60) as answer:
        return json.loads(answer.read())["value"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser_flow(login):
    """A browser's sign-in as `login` in headless Chromium: the claims its guarded page shows."""
    program = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if program is None:
        fail("no chromedriver: run scripts/test-deps.sh")
    driver_port = free_port()
    log = open(os.path.join(scratch, "chromedriver.log"), "a")
    processes.append(subprocess.Popen([program, f"--port={driver_port}"], stdout=log, stderr=log))
    driver = f"http://127.0.0.1:{driver_port}"
    wait_for(f"{driver}/status")
    options = {"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-dev-shm-usage"]}
    session = None
    for _ in range(30):
        try:
            session = webdriver(driver, "POST", "/session",
                                {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})["sessionId"]
            break
        except OSError:
            time.sleep(1)
    if session is None:
        fail("chromedriver gave no session")
    at = f"/session/{session}"
    try:
        start = f"{base}/api/rest/oidc/local/start?return_to=%2Fapi%2Frest%2Fme"
        webdriver(driver, "POST", f"{at}/url", {"url": start})
        element = lambda css: webdriver(driver, "POST", f"{at}/element",
                                        {"using": "css selector", "value": css})
        key = "element-6066-11e4-a52e-4f735466cecf"
        webdriver(driver, "POST", f"{at}/element/{element('input[name=login]')[key]}/value", {"text": login})
        webdriver(driver, "POST", f"{at}/element/{element('input[name=password]')[key]}/value", {"text": "any password"})
        webdriver(driver, "POST", f"{at}/element/{element('button[type=submit]')[key]}/click", {})
        deadline = time.time() + 20
        while time.time() < deadline:
            url = webdriver(driver, "GET", f"{at}/url")
            if url.startswith(f"{base}/api/rest/me"):
                break
            # A consent page, if the provider shows one: go on.
            if "/interaction/" in url:
                try:
                    webdriver(driver, "POST", f"{at}/element/{element('button[type=submit]')[key]}/click", {})
                except urllib.error.HTTPError:
                    pass
            time.sleep(0.2)
        else:
            fail(f"the browser never reached the guarded page: {url}")
        text = webdriver(driver, "POST", f"{at}/execute/sync",
                         {"script": "return document.body.innerText", "args": []})
        cookies = webdriver(driver, "GET", f"{at}/cookie")
        if any(cookie["name"].endswith("oidc") and cookie["value"] for cookie in cookies):
            fail(f"the sign-in's state cookie outlived it: {cookies}")
        return json.loads(text)
    finally:
        try:
            webdriver(driver, "DELETE", at)
        except OSError:
            pass


try:
    env = dict(os.environ, PORT=str(provider_port), CLIENT_SECRET=client_secret,
               REDIRECT_URIS=callback, NO_COLOR="1")
    provider_log = open(os.path.join(scratch, "provider.log"), "a")
    processes.append(subprocess.Popen(["node", os.path.join(modules, "provider.mjs")], env=env,
                                      stdout=provider_log, stderr=provider_log))
    wait_for(f"{provider}/.well-known/openid-configuration")
    secret_file = os.path.join(scratch, "client-secret")
    with open(secret_file, "w") as file:
        file.write(client_secret + "\n")
    config = os.path.join(scratch, "tokengate.toml")
    with open(config, "w") as file:
        file.write("[default]\ncookie_secure = false\n"
                   "oidc_return_origins = [\"com.example.app:\"]\n\n[[default.providers]]\n"
                   f'name = "local"\nissuer = "{provider}"\nclient_id = "tokengate-demo"\n'
                   f'client_secret_file = "{secret_file}"\nredirect_uri = "{callback}"\n')
    demo_env = dict(os.environ, PORT=str(port), RUST_LOG="warn", TOKENGATE_CONFIG=config)
    processes.append(subprocess.Popen([demo_binary], env=demo_env,
                                      stderr=open(os.path.join(scratch, "demo.log"), "a")))
    wait_for(f"{base}/health")

    tokens = app_flow("ada")
    claims = me(tokens["accessToken"])
    if claims.get("sub") != "local:ada" or claims.get("idp") != "local" or claims.get("roles") != ["user"]:
        fail(f"the app's sign-in is not local:ada with role user: {claims}")
    again = me(app_flow("ada")["accessToken"])
    if again.get("sub") != "local:ada":
        fail(f"the same identity signed in as another user: {again}")
    shown = browser_flow("grace")
    if shown.get("sub") != "local:grace" or shown.get("idp") != "local":
        fail(f"the browser's guarded page does not show local:grace: {shown}")
    with open(os.path.join(scratch, "demo.log")) as log:
        logged = log.read()
    for secret in (client_secret, tokens["accessToken"], tokens["refreshToken"]):
        if secret in logged:
            fail("a secret or a token is in the demo's log")
    print(f"signin-check: {name}: the app's and the browser's sign-ins through the provider work")
finally:
    for process in processes:
        if process.poll() is None:
            process.kill()
