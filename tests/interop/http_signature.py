"""Slack's Python SignatureVerifier against slack-rtm's signatures, run by tests/interop_http.rs.

Reads one JSON array of cases on stdin and prints one JSON array of answers:
  {"op": "verify", "secret", "ts", "body", "sig"}  -> {"ok": SignatureVerifier.is_valid(...)}
  {"op": "sign", "secret", "ts", "body"}           -> {"sig": generate_signature(...)}
  {"op": "post", "secret", "url", "body", "content_type"}
      -> {"status": N}: the body POSTed with headers signed by SignatureVerifier (now)
"""
import json
import sys
import time
import urllib.error
import urllib.request

from slack_sdk.signature import SignatureVerifier


def answer(case):
    verifier = SignatureVerifier(case["secret"])
    if case["op"] == "verify":
        return {"ok": verifier.is_valid(case["body"], case["ts"], case["sig"])}
    if case["op"] == "sign":
        return {"sig": verifier.generate_signature(timestamp=case["ts"], body=case["body"])}
    if case["op"] == "post":
        ts = str(int(time.time()))
        body = case["body"].encode("utf-8")
        request = urllib.request.Request(
            case["url"],
            data=body,
            method="POST",
            headers={
                "Content-Type": case["content_type"],
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=30) as resp:
                return {"status": resp.status, "body": resp.read().decode("utf-8")}
        except urllib.error.HTTPError as e:
            return {"status": e.code, "body": e.read().decode("utf-8")}
    raise ValueError(case["op"])


print(json.dumps([answer(c) for c in json.load(sys.stdin)]))
