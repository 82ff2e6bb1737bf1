"""The gRPC demo from a real outside client (grpcio): UNAUTHENTICATED without a token or
with an expired one, OK with a valid one, PERMISSION_DENIED for a user on the admin method.

Usage: grpc_check.py BASE_URL SECRET   (the demo runs with TOKENGATE_SECRET=SECRET)
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import grpc
from grpc_tools import protoc

BASE, SECRET = sys.argv[1], sys.argv[2]
PROTO_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "tokengate-demo", "proto")


def stubs():
    """helloworld_pb2 and helloworld_pb2_grpc, generated from the demo's own proto file."""
    out = tempfile.mkdtemp()
    status = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}",
                          f"--grpc_python_out={out}", "helloworld.proto"])
    assert status == 0, "protoc failed"
    sys.path.insert(0, out)
    import helloworld_pb2
    import helloworld_pb2_grpc
    return helloworld_pb2, helloworld_pb2_grpc


def sign_in(login, password):
    body = urllib.parse.urlencode({"login": login, "password": password}).encode()
    with urllib.request.urlopen(BASE + "/api/rest/signin", body) as answer:
        assert answer.status == 201
        return json.load(answer)["accessToken"]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def expired(token):
    """The same token, its `exp` two minutes ago, signed again with the demo's secret."""
    header, payload, _ = token.split(".")
    claims = json.loads(unb64(payload))
    claims["iat"] = int(time.time()) - 600
    claims["exp"] = int(time.time()) - 120
    signing = header + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(mac)


def main():
    pb2, pb2_grpc = stubs()
    john = sign_in("john.doe@email.org", "#thePassword1234!")  # roles user, admin
    jane = sign_in("jane.roe@email.org", "#thePassword5678!")  # role user
    target = urllib.parse.urlparse(BASE).netloc
    with grpc.insecure_channel(target) as channel:
        greeter = pb2_grpc.GreeterStub(channel)
        request = pb2.HelloRequest(name="grpcio")

        def call(method, token):
            metadata = [("authorization", "Bearer " + token)] if token else None
            try:
                reply = getattr(greeter, method)(request, metadata=metadata, timeout=10)
                return grpc.StatusCode.OK, reply.message
            except grpc.RpcError as error:
                return error.code(), error.details()

        checks = [
            ("SayHello", None, grpc.StatusCode.UNAUTHENTICATED, "an access token is required"),
            ("SayHello", "not.a.token", grpc.StatusCode.UNAUTHENTICATED, "the token is not a well-formed JWT"),
            ("SayHello", jane, grpc.StatusCode.OK, "jane.roe@email.org"),
            ("SayHelloAdmin", jane, grpc.StatusCode.PERMISSION_DENIED, "requires: admin"),
            ("SayHelloAdmin", john, grpc.StatusCode.OK, "john.doe@email.org"),
            ("SayHello", expired(jane), grpc.StatusCode.UNAUTHENTICATED, "the token has expired"),
            ("SayHelloAdmin", None, grpc.StatusCode.UNAUTHENTICATED, "an access token is required"),
        ]
        for method, token, code, text in checks:
            got, details = call(method, token)
            assert got == code, f"{method}: {got} {details!r}, expected {code}"
            assert text in (details or ""), f"{method}: {details!r} lacks {text!r}"
            print(f"grpc: {method:<14} {code.name:<18} {details}")
    # REST beside gRPC on the same port.
    request = urllib.request.Request(BASE + "/api/rest/me", headers={"Authorization": "Bearer " + jane})
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer)["sub"] == "jane.roe@email.org"
    print("grpc: REST /api/rest/me on the same port: 200")


if __name__ == "__main__":
    main()
