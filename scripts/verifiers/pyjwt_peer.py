"""`pyjwt_peer.py <issuer URL> <port>`: a service with one route, `GET /check`, that verifies
the bearer token with PyJWT from the issuer URL alone: the JWKS URL comes from the issuer's
discovery document, the keys from `PyJWKClient` (which fetches the set again for a key it does
not know). 200 with the subject when PyJWT accepts it as an access token (`typ: at+jwt`), 401
with the reason otherwise."""

import http.server
import json
import sys
import urllib.request

import jwt

issuer, port = sys.argv[1], int(sys.argv[2])
with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration") as answer:
    discovery = json.load(answer)
# A key it does not know makes it fetch the set again, at most every five seconds (30 by
# default).
keys = jwt.PyJWKClient(discovery["jwks_uri"], cooldown_duration=5)
algorithms = discovery["id_token_signing_alg_values_supported"]


def verify(token):
    key = keys.get_signing_key_from_jwt(token)
    decoded = jwt.decode_complete(token, key, algorithms=algorithms, issuer=issuer)
    if decoded["header"].get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    return decoded["payload"]["sub"]


class Check(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        token = self.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            status, text = 200, verify(token)
        except Exception as error:  # every refusal is a 401, with its reason
            status, text = 401, f"{type(error).__name__}: {error}"
        body = text.encode()
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Check).serve_forever()
