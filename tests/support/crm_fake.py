#!/usr/bin/env python3
"""Fakes of the CRMs the crm-connector speaks to (e2e), on one HTTP port,
following each vendor's documented request and answer shapes, error
bodies included. Every request is written to DIR as N.json ({"method",
"path", "headers", "body"}) before it is answered.

Bitrix24 (incoming webhook https://<portal>/rest/<user>/<code>/):
    POST /rest/1/<code>/telephony.externalCall.searchCrmEntities.json
        {"PHONE_NUMBER"} -> {"result":[{CRM_ENTITY_TYPE, CRM_ENTITY_ID,
        ASSIGNED_BY_ID, ASSIGNED_BY:{ID, USER_PHONE_INNER}, NAME}]},
        [] for an unknown number; a wrong <code> -> 401
        {"error":"INVALID_CREDENTIALS","error_description":...}
    POST .../telephony.externalcall.register.json -> {"result":{"CALL_ID"}}
    POST .../telephony.externalcall.finish.json   -> {"result":{...}}
Bitrix24 OAuth application (REST endpoint https://<portal>/rest/, here
    /app/rest/): the same methods at /app/rest/<method>.json?auth=<access
    token>; an old token -> 401 {"error":"expired_token",
    "error_description":"The access token provided has expired."}
    GET /oauth/token/?grant_type=refresh_token&client_id&client_secret
        &refresh_token (the OAuth server, oauth.bitrix.info) -> {
        access_token, expires, expires_in, scope, domain, server_endpoint,
        status, client_endpoint, member_id, user_id, refresh_token}; a
        wrong application or a spent refresh token -> 400
        {"error":"invalid_grant","error_description":...}
amoCRM (API v4, OAuth 2):
    GET /api/v4/contacts?query=<phone>, Authorization: Bearer <token>
        -> 200 {"_embedded":{"contacts":[{id, name, responsible_user_id}]}}
        or 204 (nothing found); an expired / unknown token -> 401
        {"title":"Unauthorized","status":401}
    POST /oauth2/access_token {grant_type "refresh_token", refresh_token,
        client_id, client_secret, redirect_uri} -> {token_type, expires_in,
        access_token, refresh_token}; a spent refresh token -> 400
    POST /api/v4/calls -> 200 {"_embedded":{"calls":[...]}}
    POST /api/v4/contacts/notes [{entity_id, note_type "call_in" |
        "call_out", params {uniq, duration, source, phone, link,
        call_result, call_status}}] -> 200 {"_embedded":{"notes":[{id,
        entity_id, request_id}]}}; a note without entity_id, a known
        note_type or params uniq/duration/source/phone -> 400
        {"title":"Bad Request","status":400,"detail":
        "Request validation failed","validation-errors":[...]}
Generic API (docs/services/crm-connector.md): POST /api, signed
    (X-Pbx-Signature: t=<s>,v1=<hmac-sha256 hex of "<t>.<body>">, key
    API_SECRET); a bad signature -> 401. A lookup answers 200
    {"extension"} (API_EXT) or {"number"} (API_NUMBER), else 404; a
    call_end 204.

Known clients (CLIENTS below); the API "sleeps" on the callers in SLEEPY:
it answers after SLEEP_S seconds, past any lookup timeout.

    crm_fake.py HOST PORT DIR

DIR/ready appears once it listens."""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

B24_CODE = "e2ecode"
B24_APP = ("local.e2e.app", "e2e-b24-app-secret")  # client_id, secret
API_SECRET = "e2e-api-secret-0123456789"
SLEEP_S = 5
# phone -> (CRM user id, Bitrix24 inner phone, client name)
CLIENTS = {
    "79991110001": ("17", "555", "Ivan Petrov"),
    "79991110002": ("42", "", "Anna Sidorova"),
}
SLEEPY = {"15550001"}  # the API sleeps on this caller
API_EXT = {"79991110001": "101"}
# the API's owners that are phone numbers (an outside manager's mobile)
API_NUMBER = {"79991110003": "+7 (903) 555-00-00"}

lock = threading.Lock()
state = {"n": 0, "access": "AT-expired", "refresh": "RT-1", "calls": 0,
         "b24_access": "B24-AT-expired", "b24_refresh": "B24-RT-1"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self, body):
        with lock:
            state["n"] += 1
            k = state["n"]
        rec = {"method": self.command, "path": self.path,
               "headers": dict(self.headers.items()), "body": body}
        out = self.server.out
        with open(os.path.join(out, "%d.json.tmp" % k), "w") as f:
            json.dump(rec, f)
        os.rename(os.path.join(out, "%d.json.tmp" % k),
                  os.path.join(out, "%d.json" % k))

    def answer(self, code, obj=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")

    def b24_token(self, q):
        """The Bitrix24 OAuth server's refresh_token grant."""
        one = {k: v[0] for k, v in q.items()}
        with lock:
            if one.get("grant_type") != "refresh_token" or \
                    (one.get("client_id"), one.get("client_secret")) != \
                    B24_APP or one.get("refresh_token") != state["b24_refresh"]:
                return self.answer(400, {"error": "invalid_grant",
                                         "error_description":
                                         "Invalid refresh token"})
            state["b24_access"] = "B24-AT-%d" % state["n"]
            state["b24_refresh"] = "B24-RT-%d" % state["n"]
            tok = {"access_token": state["b24_access"],
                   "expires": int(time.time()) + 3600, "expires_in": 3600,
                   "scope": "telephony,crm", "domain": "oauth.bitrix.info",
                   "server_endpoint": "https://oauth.bitrix.info/rest/",
                   "status": "L",
                   "client_endpoint": "https://e2e.bitrix24.ru/rest/",
                   "member_id": "e2e0member", "user_id": 1,
                   "refresh_token": state["b24_refresh"]}
        return self.answer(200, tok)

    def do_GET(self):
        self.record("")
        url = urlsplit(self.path)
        if url.path == "/oauth/token/":
            return self.b24_token(parse_qs(url.query))
        if url.path != "/api/v4/contacts":
            return self.answer(404, {"title": "Not Found", "status": 404})
        if self.headers.get("Authorization") != "Bearer " + state["access"] \
                or state["access"] == "AT-expired":
            return self.answer(401, {"title": "Unauthorized",
                                     "type": "https://httpstatus.es/401",
                                     "status": 401,
                                     "detail": "Unauthorized"})
        phone = parse_qs(url.query).get("query", [""])[0]
        c = CLIENTS.get(phone)
        if not c:
            return self.answer(204)
        self.answer(200, {"_page": 1, "_embedded": {"contacts": [
            {"id": 100 + int(c[0]), "name": c[2],
             "responsible_user_id": int(c[0])}]}})

    def do_POST(self):
        raw = self.body()
        self.record(raw)
        try:
            req = json.loads(raw) if raw else {}
        except ValueError:
            return self.answer(400, {"error": "INVALID_REQUEST"})
        url = urlsplit(self.path)
        path = url.path
        if path.startswith("/rest/"):
            return self.bitrix(path, req)
        if path.startswith("/app/rest/"):
            auth = parse_qs(url.query).get("auth", [""])[0]
            if auth != state["b24_access"] or auth == "B24-AT-expired":
                return self.answer(401, {
                    "error": "expired_token",
                    "error_description":
                    "The access token provided has expired."})
            return self.bitrix("/rest/1/%s/%s" % (B24_CODE, path[10:]), req)
        if path == "/oauth2/access_token":
            with lock:
                if req.get("grant_type") != "refresh_token" or \
                        req.get("refresh_token") != state["refresh"]:
                    return self.answer(400, {"title": "Bad Request",
                                             "hint": "Token has been revoked"})
                state["access"] = "AT-%d" % (state["n"])
                state["refresh"] = "RT-%d" % (state["n"])
                tok = {"token_type": "Bearer", "expires_in": 86400,
                       "access_token": state["access"],
                       "refresh_token": state["refresh"]}
            return self.answer(200, tok)
        if path in ("/api/v4/calls", "/api/v4/contacts/notes") and \
                self.headers.get("Authorization") != "Bearer " + \
                state["access"]:
            return self.answer(401, {"title": "Unauthorized",
                                     "status": 401})
        if path == "/api/v4/calls":
            return self.answer(200, {"_embedded": {"calls": [{"id": 1}]}})
        if path == "/api/v4/contacts/notes":
            return self.amo_notes(req)
        if path == "/api":
            return self.api(raw, req)
        self.answer(404, {"error": "NOT_FOUND"})

    def amo_notes(self, req):
        errs = []
        if not isinstance(req, list) or not req:
            errs.append("body must be a list of notes")
        for i, n in enumerate(req if isinstance(req, list) else []):
            p = n.get("params") if isinstance(n, dict) else None
            if not isinstance(n, dict) or \
                    not isinstance(n.get("entity_id"), int) or \
                    n.get("note_type") not in ("call_in", "call_out") or \
                    not isinstance(p, dict) or \
                    not isinstance(p.get("duration"), int) or \
                    any(not isinstance(p.get(k), str) or not p.get(k)
                        for k in ("uniq", "source", "phone")):
                errs.append({"request_id": str(i),
                             "errors": [{"code": "NotSupportedChoice",
                                         "path": "params"}]})
        if errs:
            return self.answer(400, {"title": "Bad Request", "status": 400,
                                     "detail": "Request validation failed",
                                     "validation-errors": errs})
        self.answer(200, {"_embedded": {"notes": [
            {"id": 9000 + i, "entity_id": n["entity_id"],
             "request_id": str(i)} for i, n in enumerate(req)]}})

    def bitrix(self, path, req):
        parts = path.split("/")  # "", rest, 1, code, method.json
        if len(parts) != 5 or parts[3] != B24_CODE:
            return self.answer(401, {"error": "INVALID_CREDENTIALS",
                                     "error_description":
                                     "Invalid request credentials"})
        method = parts[4][:-5] if parts[4].endswith(".json") else parts[4]
        if method == "telephony.externalCall.searchCrmEntities":
            phone = str(req.get("PHONE_NUMBER", ""))
            c = CLIENTS.get(phone)
            res = [] if not c else [{
                "CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 7,
                "ASSIGNED_BY_ID": c[0], "NAME": c[2],
                "ASSIGNED_BY": {"ID": c[0], "USER_PHONE_INNER": c[1],
                                "TIMEMAN_STATUS": "OPENED"}}]
            return self.answer(200, {"result": res, "time": {}})
        if method == "telephony.externalcall.register":
            with lock:
                state["calls"] += 1
                cid = "externalCall.e2e.%d" % state["calls"]
            return self.answer(200, {"result": {
                "CALL_ID": cid, "CRM_ENTITY_TYPE": "CONTACT",
                "CRM_ENTITY_ID": 7}})
        if method == "telephony.externalcall.finish":
            if not str(req.get("CALL_ID", "")).startswith("externalCall."):
                return self.answer(400, {"error": "ERROR_CALL_ID",
                                         "error_description":
                                         "Call not found"})
            return self.answer(200, {"result": {"ID": 1}})
        self.answer(404, {"error": "ERROR_METHOD_NOT_FOUND",
                          "error_description": "Method not found!"})

    def api(self, raw, req):
        sig = self.headers.get("X-Pbx-Signature", "")
        try:
            t = sig.split(",")[0].split("=")[1]
            v1 = sig.split(",")[1].split("=")[1]
        except IndexError:
            return self.answer(401, {"error": "unsigned"})
        want = hmac.new(API_SECRET.encode(), ("%s.%s" % (t, raw)).encode(),
                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, v1):
            return self.answer(401, {"error": "bad signature"})
        if req.get("event") == "call_end":
            return self.answer(204)
        if req.get("caller", "") in SLEEPY:
            time.sleep(SLEEP_S)
        num = API_NUMBER.get(req.get("caller", ""))
        if num:
            return self.answer(200, {"number": num, "name": "Outside Client"})
        ext = API_EXT.get(req.get("caller", ""))
        if not ext:
            return self.answer(404, {"error": "unknown caller"})
        self.answer(200, {"extension": ext, "name": "Known Client"})

    def log_message(self, *args):
        pass


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    srv = ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    srv.out = out
    open(os.path.join(out, "ready"), "w").close()
    srv.serve_forever()


if __name__ == "__main__":
    main()
