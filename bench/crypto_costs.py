"""Print what the portal's cryptography costs on this machine.

    .venv/bin/python bench/crypto_costs.py [--stream-mib 256]

Figures: Argon2id at production cost (paid once per submission and once per return with the
receipt: one derivation yields both the verifier and the key that locks the reporter's keypair),
HPKE wrapping per reader, and chunked stream encryption throughput with its
peak Python memory (which must not grow with the stream's size).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import tracemalloc

from portal import crypto


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


class ZeroStream(io.RawIOBase):
    """A readable stream of zeros of a given length, without holding it in memory."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        self.remaining -= size
        return bytes(size)


def stream_figures(mib: int) -> tuple[float, float]:
    key = crypto.new_content_key()
    tracemalloc.start()
    start = time.perf_counter()
    sealed_bytes = 0
    for part in crypto.encrypt_stream(key, ZeroStream(mib * 1024 * 1024)):
        sealed_bytes += len(part)
    elapsed = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return mib / elapsed, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stream-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    receipt = crypto.generate_receipt()
    reporter = crypto.PrivateKey.generate()
    lock = crypto.lock_keypair(reporter, receipt, crypto.PRODUCTION_KDF)
    argon = timed(lambda: crypto.unlock_keypair(receipt, lock), args.repeat)
    print(f"argon2id (64 MiB, t=3, p=4), a receipt checked and its keypair opened: "
          f"median {statistics.median(argon) * 1000:.0f} ms")

    reader = crypto.PrivateKey.generate()
    key = crypto.new_content_key()
    wrap = timed(lambda: crypto.wrap_content_key(key, reader.public_key()), 200)
    wrapped = crypto.wrap_content_key(key, reader.public_key())
    unwrap = timed(lambda: crypto.unwrap_content_key(wrapped, reader), 200)
    print(f"hpke wrap per reader: median {statistics.median(wrap) * 1e6:.0f} µs, "
          f"unwrap {statistics.median(unwrap) * 1e6:.0f} µs, {len(wrapped)} bytes")

    generate = timed(crypto.PrivateKey.generate, 50)
    print(f"ML-KEM-768 + X25519 keypair: median {statistics.median(generate) * 1e6:.0f} µs")

    for mib in (args.stream_mib // 8, args.stream_mib):
        throughput, peak_kib = stream_figures(mib)
        print(f"stream encryption of {mib} MiB: {throughput:.0f} MiB/s, peak Python memory {peak_kib:.0f} KiB")


if __name__ == "__main__":
    main()
