"""Checks a Seatwise admission pass (docs/PROTOCOL.md, "Admission pass"): offline by its signature, key id
and expiry; online (the session is still live) by asking a gateway. Standard library only."""

import base64
import hashlib
import hmac
import json
import re
import sys
import time
import urllib.request


class PassRefused(Exception):
    """The pass is refused; the message says why."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: str) -> str:
    """The key id a pass names: the first 8 characters of base64url(HMAC-SHA256(key, "seatwise-key-id"))."""
    return _b64url(hmac.new(key.encode(), b"seatwise-key-id", hashlib.sha256).digest())[:8]


def verify_pass(pass_text: str, keys, now_ms=None) -> dict:
    """Verifies a pass offline with the pass keys (current first, then previous ones while they rotate).
    Returns {"scope", "ticket", "exp"}; raises PassRefused saying why."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    parts = str(pass_text).split(".")
    if len(parts) != 2:
        raise PassRefused('not a pass: two base64url parts joined by "."')
    body, sig = parts
    try:
        claims = json.loads(_unb64url(body))
    except ValueError as e:
        raise PassRefused("the first part is not a pass") from e
    key = next((k for k in ([keys] if isinstance(keys, str) else keys) if key_id(k) == claims.get("kid")), None)
    if key is None:
        raise PassRefused("signed with a key this site does not have (unknown key id)")
    want = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    try:
        got = _unb64url(sig)
    except ValueError:
        got = b""
    if not hmac.compare_digest(want, got):
        raise PassRefused("the signature does not match")
    if not isinstance(claims.get("exp"), int) or now_ms >= claims["exp"]:
        raise PassRefused("this pass has expired")
    if not re.fullmatch(r"\d+\.\d+\.[0-9a-f]{16}", str(claims.get("ticket"))) or not isinstance(claims.get("scope"), str):
        raise PassRefused("the pass names no ticket")
    return {"scope": claims["scope"], "ticket": claims["ticket"], "exp": claims["exp"]}


def verify_pass_online(gateway_url: str, pass_text: str) -> dict:
    """The online check: the gateway says whether the ticket is still admitted with a live session now."""
    req = urllib.request.Request(
        gateway_url.rstrip("/") + "/v1/passes/verify",
        data=json.dumps({"pass": pass_text}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise PassRefused(json.loads(e.read() or b"{}").get("message", f"the gateway answered {e.code}")) from e


if __name__ == "__main__":
    # SEATWISE_PASS_KEY=… [SEATWISE_GATEWAY=url] python3 seatwise_pass.py <pass>
    import os

    keys = [k for k in (os.environ.get("SEATWISE_PASS_KEY"), os.environ.get("SEATWISE_PASS_KEY_PREVIOUS")) if k]
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        out = verify_pass(arg, keys)
        if os.environ.get("SEATWISE_GATEWAY"):
            verify_pass_online(os.environ["SEATWISE_GATEWAY"], arg)
        print(json.dumps({"valid": True, **out}))
    except PassRefused as e:
        print(json.dumps({"valid": False, "reason": str(e)}))
        sys.exit(1)
