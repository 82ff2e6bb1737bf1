"""The WebSocket echo of a demo from a real outside client (websockets): a ticket from
POST /api/rest/ticket opens the socket once; a replayed, an expired or a forged ticket, an
access token in its place and no ticket at all are refused at the upgrade.

Usage: ws_check.py BASE_URL SECRET   (the demo runs with TOKENGATE_SECRET=SECRET)
"""

import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.parse
import urllib.request

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

BASE, SECRET = sys.argv[1], sys.argv[2]
WS = BASE.replace("http://", "ws://", 1) + "/ws/echo"


def post(path, token):
    request = urllib.request.Request(BASE + path, data=b"", method="POST",
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request) as answer:
        return answer.status, json.load(answer)


def sign_in():
    body = urllib.parse.urlencode({"login": "jane.roe@email.org", "password": "#thePassword5678!"}).encode()
    with urllib.request.urlopen(BASE + "/api/rest/signin", body) as answer:
        return json.load(answer)["accessToken"]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def resigned(token, **changes):
    header, payload, _ = token.split(".")
    claims = json.loads(unb64(payload))
    claims.update(changes)
    signing = header + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(mac)


def refused(url, headers=None):
    """The status the upgrade was refused with."""
    try:
        with connect(url, additional_headers=headers, open_timeout=10):
            raise AssertionError(f"{url[:60]}... opened")
    except InvalidStatus as error:
        return error.response.status_code


def ticket(access):
    status, body = post("/api/rest/ticket", access)
    assert status == 201 and body["expiresIn"] == 30, body
    return body["ticket"]


def main():
    access = sign_in()
    first = ticket(access)
    with connect(WS + "?ticket=" + first, open_timeout=10) as socket:
        for text in ["hello", "héllo, again", "x" * 10_000]:
            socket.send(text)
            assert socket.recv(timeout=10) == text
    print("ws: a ticket opens the socket, which echoes")
    assert refused(WS + "?ticket=" + first) == 401
    print("ws: the same ticket again: 401")
    now = int(time.time())
    assert refused(WS + "?ticket=" + resigned(ticket(access), iat=now - 120, exp=now - 60)) == 401
    print("ws: an expired ticket: 401")
    assert refused(WS + "?ticket=" + first[:-2] + "AA") == 401
    assert refused(WS + "?ticket=" + access) == 401
    assert refused(WS + "?access_token=" + access) == 401
    assert refused(WS) == 401
    print("ws: a forged ticket, an access token in the query, no ticket: 401")
    with connect(WS, additional_headers={"Authorization": "Bearer " + access}, open_timeout=10) as socket:
        socket.send("bearer")
        assert socket.recv(timeout=10) == "bearer"
    print("ws: a bearer header on the upgrade opens it too")


if __name__ == "__main__":
    main()
