#!/usr/bin/env python3
"""A stand-in for Amazon SES's v2 API (SendEmail) that checks every request's Signature
Version 4 with botocore, AWS's own Python signer, so gatehouse's signing is verified by an
implementation other than the one that made it.

Usage: ses.py ACCESS_KEY_ID SECRET_ACCESS_KEY REGION. Prints "PORT <n>" once listening on
127.0.0.1. Besides POST /v2/email/outbound-emails it answers, for the tests:
  GET  /_standin/messages   the accepted mails, as JSON
  GET  /_standin/requests   how many SendEmail requests came (signed well or not)
  POST /_standin/mode       {"down": true|false}: answer 503 while down
Recipients whose local part starts with "bounce" are refused like SES refuses a message
(400 MessageRejected).
"""
import datetime
import hmac
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY, SECRET, REGION = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
messages = []
state = {"down": False, "requests": 0}


def signature_problem(handler, body):
    """None if the request is signed by ACCESS_KEY for ses in REGION, else what is wrong."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "missing AWS4-HMAC-SHA256 Authorization header"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    key_id, date, region, service, terminal = parts["Credential"].split("/")
    if key_id != ACCESS_KEY:
        return f"unknown access key {key_id}"
    if (region, service, terminal) != (REGION, "ses", "aws4_request"):
        return f"wrong credential scope {region}/{service}/{terminal}"
    amz_date = handler.headers.get("X-Amz-Date", "")
    if not amz_date.startswith(date):
        return "X-Amz-Date does not match the credential scope's date"
    sent = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - sent).total_seconds()) > 300:
        return "request time too skewed"
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    headers = {name: handler.headers[name] for name in signed if handler.headers.get(name) is not None}
    request = AWSRequest(method=handler.command, url=f"http://{handler.headers['Host']}{handler.path}",
                         data=body, headers=headers)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET, handler.headers.get("X-Amz-Security-Token")), "ses", REGION)
    if signer.signed_headers(signer.headers_to_sign(request)) != parts["SignedHeaders"]:
        return "signed header list differs"
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, parts["Signature"]):
        return "signature does not match"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, payload, error_type=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            if self.path == "/_standin/messages":
                return self.answer(200, messages)
            if self.path == "/_standin/requests":
                return self.answer(200, {"requests": state["requests"]})
        self.answer(404, {"message": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_standin/mode":
            with lock:
                state.update(json.loads(body))
            return self.answer(200, state)
        if self.path != "/v2/email/outbound-emails":
            return self.answer(404, {"message": "not found"})
        with lock:
            state["requests"] += 1
            down = state["down"]
        if down:
            return self.answer(503, {"message": "Service Unavailable"}, "ServiceUnavailableException")
        problem = signature_problem(self, body)
        if problem:
            return self.answer(403, {"message": f"SignatureDoesNotMatch: {problem}"}, "SignatureDoesNotMatch")
        mail = json.loads(body)
        simple = mail["Content"]["Simple"]
        to = mail["Destination"]["ToAddresses"]
        if any(address.split("@")[0].startswith("bounce") for address in to):
            return self.answer(400, {"message": "Illegal address"}, "MessageRejected")
        with lock:
            messages.append({
                "from": mail["FromEmailAddress"],
                "to": to,
                "subject": simple["Subject"]["Data"],
                "text": simple["Body"]["Text"]["Data"],
                "html": simple["Body"]["Html"]["Data"],
                "configuration_set": mail.get("ConfigurationSetName"),
            })
        self.answer(200, {"MessageId": str(uuid.uuid4())})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
