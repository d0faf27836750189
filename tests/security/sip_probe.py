#!/usr/bin/env python3
"""SIP probes for the security suite (tests/security/test_edge.sh): sends
hand-written requests from a chosen source address and reports what came
back, one line per event, for the shell to grep.

  sip_probe.py send [--src IP] [--tcp] [--wait S] EDGE FILE|-
      Sends one message (LF line ends become CRLF; \\xHH escapes become
      that byte, for the control characters of RFC 4475's messages).
      Prints "reply <code> <reason>" per response until --wait seconds
      pass without one; "none" if nothing came.
  sip_probe.py listen IP PORT SECONDS
      Counts what arrives on a UDP port (a carrier or third host that must
      hear nothing): prints "got <n>". Ready when "listening" is printed.
  sip_probe.py call --src IP --from URI --to URI [--stranger IP] EDGE
      A minimal UAC: INVITE with an SDP offer (RTP to a port nobody reads),
      then, once answered: ACK; with --stranger, a BYE of this very dialog
      sent from the stranger's address ("stranger <code>"); then the
      caller's own BYE ("bye <code>"). Prints "final <code>" for the
      INVITE; a negative final is ACKed, and with --retrans-wait S the
      repeats of it in the next S seconds are counted ("retrans <n>").
      Requests from the far side (a BYE of the worker) get 200.

Only for loopback test networks: it sends where it is told, nothing else.
"""
import argparse
import random
import re
import socket
import sys
import time


def wire(text):
    """LF -> CRLF, then \\xHH -> byte (latin-1 keeps every byte)."""
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    text = re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)),
                  text)
    return text.encode("latin-1")


def hostport(s, default=5060):
    h, _, p = s.partition(":")
    return h, int(p or default)


def status(data):
    first = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", first)
    return (int(m.group(1)), m.group(2)) if m else (None, first)


def cmd_send(a):
    raw = sys.stdin.read() if a.file == "-" else open(
        a.file, encoding="latin-1").read()
    msg = wire(raw)
    dst = hostport(a.edge)
    if a.tcp:
        s = socket.create_connection(dst, timeout=a.wait,
                                     source_address=(a.src, 0))
        s.sendall(msg)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.src, 0))
        s.sendto(msg, dst)
    s.settimeout(a.wait)
    n = 0
    buf = b""
    while True:
        try:
            data = s.recv(65535)
        except (socket.timeout, ConnectionResetError):
            break
        if not data:
            break
        buf = data if not a.tcp else buf + data
        # TCP: one read may hold several replies, or part of one.
        for part in ([buf] if not a.tcp else re.split(
                b"(?=SIP/2\\.0 \\d{3})", buf)):
            if not part:
                continue
            code, reason = status(part)
            print("reply %s %s" % (code, reason), flush=True)
            n += 1
        buf = b""
    if n == 0:
        print("none")


def cmd_listen(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.ip, a.port))
    print("listening", flush=True)
    end = time.time() + a.seconds
    n = 0
    while True:
        left = end - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, src = s.recvfrom(65535)
        except socket.timeout:
            break
        n += 1
        first = data.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        print("datagram from %s:%d: %s" % (src[0], src[1], first),
              file=sys.stderr)
    print("got %d" % n, flush=True)


def hdr(msg, name, compact=None):
    """All values of a header (first line of each), case-blind."""
    names = [name.lower()] + ([compact] if compact else [])
    out = []
    for line in msg.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.strip().lower() in names:
            out.append(v.strip())
    return out


class Uac:
    def __init__(self, src, edge):
        self.edge = hostport(edge)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((src, 0))
        self.src, self.port = self.sock.getsockname()
        self.callid = "sec-%08x@%s" % (random.getrandbits(32), src)
        self.ftag = "%08x" % random.getrandbits(32)

    def branch(self):
        return "z9hG4bK-sec-%08x" % random.getrandbits(32)

    def send(self, text, sock=None):
        (sock or self.sock).sendto(wire(text), self.edge)

    def recv(self, timeout):
        """Next message; answers requests (a BYE from the far side)."""
        end = time.time() + timeout
        while time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            msg = data.decode("latin-1")
            if msg.startswith("SIP/2.0"):
                return msg
            self.answer(msg)
        return None

    def answer(self, req):
        if req.startswith("ACK "):
            return
        lines = ["SIP/2.0 200 OK"]
        for h in ("Via", "From", "To", "Call-ID", "CSeq"):
            for v in hdr(req, h, {"Via": "v", "From": "f", "To": "t",
                                  "Call-ID": "i"}.get(h)):
                lines.append("%s: %s" % (h, v))
        lines += ["Content-Length: 0", "", ""]
        self.send("\n".join(lines))
        print("far-side %s" % req.split(" ", 1)[0], flush=True)


def cmd_call(a):
    u = Uac(a.src, a.edge)
    inv_branch = u.branch()
    sdp = ("v=0\no=sec 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\n"
           "m=audio 39998 RTP/AVP 8 0\na=rtpmap:8 PCMA/8000\n"
           "a=rtpmap:0 PCMU/8000\na=sendrecv\n").format(ip=u.src)
    body = wire(sdp)
    invite = ("INVITE {to} SIP/2.0\nVia: SIP/2.0/UDP {ip}:{port};rport;"
              "branch={br}\nMax-Forwards: 70\nFrom: <{frm}>;tag={ft}\n"
              "To: <{to}>\nCall-ID: {ci}\nCSeq: 1 INVITE\n"
              "Contact: <sip:caller@{ip}:{port}>\n"
              "Content-Type: application/sdp\nContent-Length: {cl}\n\n"
              ).format(to=a.to, ip=u.src, port=u.port, br=inv_branch,
                       frm=a.frm, ft=u.ftag, ci=u.callid, cl=len(body))
    u.send(invite + sdp)
    final = None
    end = time.time() + a.wait
    while time.time() < end:
        msg = u.recv(end - time.time())
        if not msg:
            break
        code, _ = status(msg.encode("latin-1"))
        if code and code >= 200:
            final = msg
            break
    if not final:
        print("final none")
        return
    code, reason = status(final.encode("latin-1"))
    print("final %d %s" % (code, reason), flush=True)
    to = hdr(final, "To", "t")[0]
    if code >= 300:
        # The proxy's transaction wants its ACK (same branch, no route);
        # once it has it, the final answer is not sent again.
        u.send(("ACK {to} SIP/2.0\nVia: SIP/2.0/UDP {ip}:{port};rport;"
                "branch={br}\nMax-Forwards: 70\nFrom: <{frm}>;tag={ft}\n"
                "To: {tot}\nCall-ID: {ci}\nCSeq: 1 ACK\n"
                "Content-Length: 0\n\n").format(
                    to=a.to, ip=u.src, port=u.port, br=inv_branch,
                    frm=a.frm, ft=u.ftag, tot=to, ci=u.callid))
        n = 0
        end = time.time() + a.retrans_wait
        while time.time() < end:
            if u.recv(end - time.time()):
                n += 1
        print("retrans %d" % n, flush=True)
        return
    rr = hdr(final, "Record-Route")
    routes = []
    for v in rr:
        routes += [r.strip() for r in v.split(",")]
    routes.reverse()
    contact = re.search(r"<([^>]+)>", hdr(final, "Contact", "m")[0]).group(1)
    route_hdr = "".join("Route: %s\n" % r for r in routes)

    def req(method, cseq, src_ip=u.src, src_port=u.port):
        return ("{m} {c} SIP/2.0\nVia: SIP/2.0/UDP {ip}:{port};rport;"
                "branch={br}\nMax-Forwards: 70\n{routes}"
                "From: <{frm}>;tag={ft}\nTo: {to}\nCall-ID: {ci}\n"
                "CSeq: {n} {m}\nContent-Length: 0\n\n").format(
                    m=method, c=contact, ip=src_ip, port=src_port,
                    br=u.branch(), routes=route_hdr, frm=a.frm,
                    ft=u.ftag, to=to, ci=u.callid, n=cseq)
    u.send(req("ACK", 1))
    time.sleep(a.hold)
    if a.stranger:
        st = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        st.bind((a.stranger, 0))
        sip, sport = st.getsockname()
        u.send(req("BYE", 2, sip, sport), sock=st)
        st.settimeout(2)
        try:
            data = st.recv(65535)
            print("stranger %s" % status(data)[0], flush=True)
        except socket.timeout:
            print("stranger none", flush=True)
        time.sleep(0.5)
    u.send(req("BYE", 3))
    end = time.time() + 3
    while time.time() < end:
        msg = u.recv(end - time.time())
        if not msg:
            break
        if hdr(msg, "CSeq")[0].endswith("BYE"):
            print("bye %s" % status(msg.encode("latin-1"))[0], flush=True)
            return
    print("bye none")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--src", default="127.0.0.1")
    s.add_argument("--tcp", action="store_true")
    s.add_argument("--wait", type=float, default=1.5)
    s.add_argument("edge")
    s.add_argument("file")
    s = sub.add_parser("listen")
    s.add_argument("ip")
    s.add_argument("port", type=int)
    s.add_argument("seconds", type=float)
    s = sub.add_parser("call")
    s.add_argument("--src", required=True)
    s.add_argument("--from", dest="frm", required=True)
    s.add_argument("--to", required=True)
    s.add_argument("--stranger")
    s.add_argument("--hold", type=float, default=1.0)
    s.add_argument("--wait", type=float, default=15.0)
    s.add_argument("--retrans-wait", type=float, default=0.0,
                   help="after ACKing a negative final, count repeats of "
                   "it for this long")
    s.add_argument("edge")
    a = p.parse_args()
    {"send": cmd_send, "listen": cmd_listen, "call": cmd_call}[a.cmd](a)


if __name__ == "__main__":
    main()
