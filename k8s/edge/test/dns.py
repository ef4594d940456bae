#!/usr/bin/python3
"""A one-name DNS server for the edge's tests: it answers A queries for
NAME with the address written in FILE (read again on every query, so a
test moves the "Service" by rewriting the file), with a TTL of 1 s; any
other name is NXDOMAIN, any other type of NAME an empty answer.  It plays
the cluster's DNS for nginx's `resolver`.

    dns.py LISTEN_ADDRESS PORT NAME FILE

Started by scripts/check-k8s.sh and scripts/test-image.sh; python3's
standard library only.
"""
import socket
import struct
import sys


def qname(msg, off):
    labels = []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower(), off + 1


def answer(query, name, path):
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    if qd != 1:
        return None
    asked, off = qname(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    rcode, answers = 0, b""
    if asked != name:
        rcode = 3                                   # NXDOMAIN
    elif qtype == 1 and qclass == 1:
        with open(path) as f:
            addr = socket.inet_aton(f.read().strip())
        # a pointer to the question's name, A, IN, TTL 1 s, 4 bytes
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + addr
    # a response, recursion desired copied, recursion available
    rflags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode
    ancount = 1 if answers else 0
    return (struct.pack("!HHHHHH", qid, rflags, 1, ancount, 0, 0)
            + question + answers)


def main():
    addr, port, name, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        query, peer = s.recvfrom(512)
        try:
            out = answer(query, name.lower().rstrip("."), path)
        except (struct.error, IndexError, OSError, ValueError):
            out = None
        if out:
            s.sendto(out, peer)


if __name__ == "__main__":
    main()
