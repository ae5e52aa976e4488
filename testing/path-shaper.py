"""Loss and delay on a fault test's path, for kernels without the netem qdisc.

Run in the path namespace of a NetLab (testing/netns.ts), which sends every packet it forwards
to netfilter queue QUEUE (`iptables -A FORWARD -j NFQUEUE`). This process takes each packet's
verdict over a netfilter netlink socket: a packet is dropped with probability LOSS percent, and
every other packet is accepted DELAY_MS after it arrived, in arrival order. Only packet ids cross
into this process (copy mode "meta"), never packet bytes.

It is Python because Node has no netlink sockets and Debian's python3 has them built in; the
protocol is netfilter's nfnetlink_queue (include/uapi/linux/netfilter/nfnetlink_queue.h).

Usage: path-shaper.py QUEUE LOSS DELAY_MS SEED. Prints "ready" once bound, then every second
"ACCEPTED DROPPED", the packets so far; exits when its standard input closes (the test that
started it ended) or on SIGTERM.
"""

import collections
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_DROP = 0
NF_ACCEPT = 1
AF_UNSPEC = 0
AF_INET = 2
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
# Packets held at once: 100 ms of a fast transfer is a few thousand.
QUEUE_MAXLEN = 65536


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(msg, queue, attrs, flags=NLM_F_REQUEST, seq=0):
    body = struct.pack("=BBH", AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def configure(sock, queue, attrs, seq):
    """Sends one config message and raises if the kernel refuses it."""
    sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK, seq))
    reply = sock.recv(65536)
    length, kind = struct.unpack_from("=IH", reply)
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", reply, 16)
        if error != 0:
            raise OSError(-error, f"nfnetlink_queue config refused: {os.strerror(-error)}")


def packet_ids(data):
    """The packet ids in one receive's worth of netlink messages."""
    at = 0
    while at + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, at)
        if length < 16:
            return
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            pos = at + 20
            while pos + 4 <= at + length:
                alen, atype = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if atype & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from(">I", data, pos + 4)[0]
                pos += (alen + 3) & ~3
        at += (length + 3) & ~3


def main():
    queue, loss, delay_ms, seed = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    # An overrun must not lose packet ids silently: a packet without a verdict is never sent.
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    sock.bind((0, 0))
    configure(sock, queue, [attr(NFQA_CFG_CMD, struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, socket.htons(AF_INET)))], 1)
    configure(sock, queue, [attr(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META) + b"\0\0\0")], 2)
    configure(sock, queue, [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack(">I", QUEUE_MAXLEN))], 3)
    sock.setblocking(False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)

    def verdict(packet_id, accept):
        hdr = struct.pack(">II", NF_ACCEPT if accept else NF_DROP, packet_id)
        sock.send(message(NFQNL_MSG_VERDICT, queue, [attr(NFQA_VERDICT_HDR, hdr)]))

    held = collections.deque()  # (release time, packet id), in arrival order
    delay = delay_ms / 1000
    accepted = dropped = 0
    report_at = time.monotonic() + 1
    while True:
        now = time.monotonic()
        if now >= report_at:
            print(accepted, dropped, flush=True)
            report_at = now + 1
        while held and held[0][0] <= now:
            verdict(held.popleft()[1], True)
        timeout = min(report_at - now, max(0.0, held[0][0] - now) if held else 1.0)
        ready, _, _ = select.select([sock, sys.stdin], [], [], timeout)
        if sys.stdin in ready and not sys.stdin.buffer.read1(4096):
            return
        if sock in ready:
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError:
                continue
            arrived = time.monotonic()
            for packet_id in packet_ids(data):
                if rng.random() * 100 < loss:
                    dropped += 1
                    verdict(packet_id, False)
                    continue
                accepted += 1
                if delay <= 0:
                    verdict(packet_id, True)
                else:
                    held.append((arrived + delay, packet_id))


if __name__ == "__main__":
    main()
