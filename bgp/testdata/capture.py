#!/usr/bin/env python3
"""Tiny passive BGP speaker that records every message a real peer sends.

Usage: capture.py LISTEN_ADDR PORT MY_AS MY_ID SECONDS OUT.hex

It accepts one connection, answers the peer's OPEN with an OPEN of its own
(multiprotocol IPv4/IPv6 unicast and VPNv4/VPNv6, route refresh, 4-octet AS,
graceful restart, extended next hop for VPNv4 over IPv6; no 4-octet AS
capability when NO_AS4 is set in the environment) and a KEEPALIVE, echoes
KEEPALIVEs, and writes one line per received message: `<type> <hex>`.
It stops after SECONDS. Used once to produce the golden vectors in this folder.
"""
import socket, struct, sys, time

addr, port, my_as, my_id, secs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]

def cap(code, val):
    return bytes([2, len(val) + 2, code, len(val)]) + val

caps = b""
for afi, safi in ((1, 1), (2, 1), (1, 128), (2, 128)):
    caps += cap(1, struct.pack("!HBB", afi, 0, safi))
caps += cap(2, b"")
import os
if not os.environ.get("NO_AS4"):
    caps += cap(65, struct.pack("!I", my_as))
caps += cap(64, struct.pack("!H", 120) + b"".join(struct.pack("!HBB", a, s, 0) for a, s in ((1, 128), (2, 128))))
caps += cap(5, struct.pack("!HHH", 1, 128, 2))
body = struct.pack("!BHH4sB", 4, my_as if my_as < 65536 else 23456, 90, socket.inet_aton(my_id), len(caps)) + caps
def msg(t, b):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(b), t) + b

ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port)); ls.listen(1); ls.settimeout(secs)
c, _ = ls.accept()
c.settimeout(0.5)
deadline = time.time() + secs
buf = b""
with open(out, "w") as f:
    while time.time() < deadline:
        try:
            d = c.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        buf += d
        while len(buf) >= 19:
            ln = struct.unpack("!H", buf[16:18])[0]
            if len(buf) < ln:
                break
            m, buf = buf[:ln], buf[ln:]
            f.write("%d %s\n" % (m[18], m.hex())); f.flush()
            if m[18] == 1:
                c.sendall(msg(1, body) + msg(4, b""))
            elif m[18] == 4:
                c.sendall(msg(4, b""))
c.close()
