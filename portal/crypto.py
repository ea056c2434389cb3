"""Every cryptographic operation the portal performs, behind a small API.

What this defends against
-------------------------
The adversary is a state. Assume it can copy the server's disk and database (and its backups),
store the ciphertext for decades, and later break X25519 with a quantum computer. So:

* A report's words never touch the disk in the clear. Each report has a random 256-bit *content
  key*; every record about it is sealed with AES-256-GCM under that key (``seal``/``open_sealed``),
  and byte streams (attachments) are sealed in chunks (``encrypt_stream``/``decrypt_stream``) whose
  nonce binds the chunk's index and a final-chunk flag, so a chunk that is flipped, dropped,
  reordered, duplicated, or appended after the end makes decryption fail loudly instead of returning
  a silently altered file. Memory stays constant whatever the stream's length.
* The content key is stored only *wrapped* with HPKE (RFC 9180) to each reader's public key, using
  the hybrid KEM ML-KEM-768 + X25519: a recording made today stays sealed unless *both* the
  post-quantum and the classical problem fall (``wrap_content_key``/``unwrap_content_key``).
* Staff private keys are stored encrypted under Argon2id(password) (``lock_keypair``), so a
  database dump alone decrypts nothing; memory-hard derivation makes guessing each password costly.
  The coalition's recovery private key never exists on the server at all.
* A reporter's receipt (≥ 80 bits from ``secrets``) is never stored. The server keeps a keyed lookup
  identifier (HMAC under an instance secret, so a dump alone cannot test guesses against it) and a
  verifier; the same single Argon2id derivation also yields the key that locks the reporter's own
  keypair (``lock_keypair``/``unlock_keypair``), so a receipt costs the server one derivation.

What this does not defend against: a server that is compromised *while* it serves requests sees
plaintext in memory; a staff member's device or password that is taken; traffic analysis of a
reporter's network (they are told to use Tor Browser).

Rules kept here: authenticated encryption only; keys and parameters come in through arguments and
are checked there; nothing secret is cached or held in module-level state.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import struct
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NewType

from argon2 import exceptions as argon2_errors
from argon2 import low_level as argon2_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

# --- Types -----------------------------------------------------------------------------------

#: The digits of a reporter's receipt, normalized (no spaces or dashes).
Receipt = NewType("Receipt", str)
#: A 32-byte AES-256-GCM key protecting one report.
ContentKey = NewType("ContentKey", bytes)


class CryptoError(Exception):
    """Decryption or verification failed: wrong key, or data altered, truncated or reordered."""


class InvalidReceiptFormat(ValueError):
    """The text given as a receipt cannot be one (wrong length or characters)."""


# --- Argon2id --------------------------------------------------------------------------------
#
# Derivations go through argon2-cffi (the reference C implementation). cryptography 50's Argon2id
# hangs when two derivations with more than one lane run at once in one process, and then fails
# every later one with MemoryError; the reference implementation is safe under threads and
# releases the GIL. A process-wide semaphore caps how many run together, so a burst of requests
# queues for the CPU instead of claiming 64 MiB each at once (memory stays below
# ``MAX_CONCURRENT_DERIVATIONS`` × the memory cost).


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost; stored beside everything derived with it so it can change later."""

    memory_kib: int
    iterations: int
    lanes: int

    def __post_init__(self) -> None:
        if self.memory_kib < 8 * self.lanes or self.iterations < 1 or self.lanes < 1:
            raise ValueError("Argon2id parameters out of range")

    def pack(self) -> bytes:
        return struct.pack(">III", self.memory_kib, self.iterations, self.lanes)

    @classmethod
    def unpack(cls, data: bytes) -> KdfParams:
        return cls(*struct.unpack(">III", data))

    def encode(self) -> str:
        return f"m={self.memory_kib},t={self.iterations},p={self.lanes}"

    @classmethod
    def decode(cls, text: str) -> KdfParams:
        try:
            fields = dict(part.split("=", 1) for part in text.split(","))
            return cls(int(fields["m"]), int(fields["t"]), int(fields["p"]))
        except (KeyError, ValueError) as exc:
            raise CryptoError("unreadable Argon2id parameters") from exc


#: The one place production cost is fixed: 64 MiB, 3 passes, 4 lanes (RFC 9106's second
#: recommended option, above OWASP's 19 MiB / 2 passes). Cheaper parameters exist only in the test
#: suite's fixture. SECURITY.md explains the choice for receipts as well as passwords.
PRODUCTION_KDF = KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4)
#: At most this many derivations at once per process; the rest wait their turn.
MAX_CONCURRENT_DERIVATIONS = max(2, os.cpu_count() or 2)
_derivation_slots = threading.BoundedSemaphore(MAX_CONCURRENT_DERIVATIONS)

_SALT_BYTES = 16
_KEY_BYTES = 32
_NONCE_BYTES = 12


def derive_key(secret: bytes, salt: bytes, params: KdfParams) -> bytes:
    """Derive a 256-bit key from a low-entropy secret with Argon2id."""
    if len(salt) < _SALT_BYTES:
        raise ValueError("salt too short")
    with _derivation_slots:
        return argon2_raw.hash_secret_raw(
            secret, salt, time_cost=params.iterations, memory_cost=params.memory_kib,
            parallelism=params.lanes, hash_len=_KEY_BYTES, type=argon2_raw.Type.ID,
        )


def _verify_phc(secret: str, verifier: str) -> bool:
    """Check a secret against a version-1 Argon2id PHC verifier, in constant time."""
    try:
        with _derivation_slots:
            return argon2_raw.verify_secret(verifier.encode("ascii"), secret.encode("utf-8"), argon2_raw.Type.ID)
    except (argon2_errors.VerificationError, argon2_errors.InvalidHashError, UnicodeError):
        return False


# --- Content keys and sealed records ---------------------------------------------------------


def new_content_key() -> ContentKey:
    """Return a fresh random key for one report."""
    return ContentKey(AESGCM.generate_key(bit_length=256))


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != _KEY_BYTES:
        raise ValueError("a content key is 32 bytes")


def seal(key: ContentKey | bytes, plaintext: bytes, purpose: bytes) -> bytes:
    """Encrypt one record; ``purpose`` is bound as associated data so records can't be swapped."""
    _check_key(key)
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, purpose)


def open_sealed(key: ContentKey | bytes, sealed: bytes, purpose: bytes) -> bytes:
    """Decrypt a record made by :func:`seal`; raise :class:`CryptoError` if anything is off."""
    _check_key(key)
    if len(sealed) < _NONCE_BYTES + 16:
        raise CryptoError("sealed record too short")
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], purpose)
    except InvalidTag as exc:
        raise CryptoError("record failed authentication") from exc


# --- Chunked streams -------------------------------------------------------------------------
#
# The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over AES-256-GCM. Each stream
# gets its own subkey from HKDF(content key, random salt), so many files under one content key never
# share a (key, nonce) pair. The nonce of chunk i is i as 11 bytes followed by 1 if it is the last
# chunk, else 0: a chunk moved, dropped, or appended after the last fails authentication.

STREAM_CHUNK_BYTES = 64 * 1024
_STREAM_VERSION = b"\x01"
_STREAM_HEADER_BYTES = 1 + 32
_STREAM_INFO = b"portal stream v1"


def _stream_cipher(key: bytes, header: bytes) -> AESGCM:
    if len(header) != _STREAM_HEADER_BYTES or header[:1] != _STREAM_VERSION:
        raise CryptoError("unknown stream header")
    subkey = HKDF(hashes.SHA256(), _KEY_BYTES, salt=header[1:], info=_STREAM_INFO).derive(key)
    return AESGCM(subkey)


def _chunk_nonce(index: int, final: bool) -> bytes:
    if index >= 2**88:
        raise CryptoError("stream too long")
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class StreamSealer:
    """Seal chunks of one stream in order; the caller says which chunk is the last."""

    def __init__(self, key: ContentKey | bytes) -> None:
        _check_key(key)
        self.header = _STREAM_VERSION + os.urandom(32)
        self._aead = _stream_cipher(key, self.header)
        self._index = 0
        self._finished = False

    def seal_chunk(self, chunk: bytes, *, final: bool) -> bytes:
        if self._finished:
            raise CryptoError("stream already finished")
        sealed = self._aead.encrypt(_chunk_nonce(self._index, final), chunk, self.header)
        self._index += 1
        self._finished = final
        return sealed


def encrypt_stream(
    key: ContentKey | bytes, source: BinaryIO, chunk_size: int = STREAM_CHUNK_BYTES
) -> Iterator[bytes]:
    """Yield the stream header, then one sealed chunk per ``chunk_size`` bytes of ``source``.

    Reads one chunk ahead so the last can be flagged; memory use is two chunks whatever the size.
    An empty source still yields one (empty) final chunk, so an empty file is distinguishable from
    a truncated one.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    sealer = StreamSealer(key)
    yield sealer.header
    current = source.read(chunk_size)
    while True:
        following = source.read(chunk_size)
        if not following:
            yield sealer.seal_chunk(current, final=True)
            return
        yield sealer.seal_chunk(current, final=False)
        current = following


def decrypt_stream(key: ContentKey | bytes, sealed: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the plaintext chunks of a stream from :func:`encrypt_stream`.

    Raises :class:`CryptoError` on the first chunk that is altered, out of place, missing its final
    flag (truncation) or followed by more chunks (extension). A consumer that must not act on
    unverified data should collect the output before using it, or discard it on error.
    """
    _check_key(key)
    items = iter(sealed)
    header = next(items, None)
    if header is None:
        raise CryptoError("stream has no header")
    aead = _stream_cipher(key, header)
    current = next(items, None)
    if current is None:
        raise CryptoError("stream has no chunks")
    index = 0
    while current is not None:
        following = next(items, None)
        final = following is None
        try:
            yield aead.decrypt(_chunk_nonce(index, final), current, header)
        except InvalidTag as exc:
            raise CryptoError(f"chunk {index} failed authentication") from exc
        index += 1
        current = following


# --- Hybrid post-quantum key pairs and key wrapping ------------------------------------------

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_WRAP_INFO = b"portal content key v1"
_KEY_VERSION = b"\x01"
_MLKEM_SEED_BYTES = 64
_MLKEM_PUBLIC_BYTES = 1184
_X25519_BYTES = 32


class PublicKey:
    """A reader's ML-KEM-768 + X25519 public key."""

    def __init__(self, mlkem_public: mlkem.MLKEM768PublicKey, x25519_public: x25519.X25519PublicKey):
        self._mlkem = mlkem_public
        self._x25519 = x25519_public
        self._hpke = hpke.MLKEM768X25519PublicKey(mlkem_public, x25519_public)

    def to_bytes(self) -> bytes:
        return _KEY_VERSION + self._mlkem.public_bytes_raw() + self._x25519.public_bytes_raw()

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        if len(data) != 1 + _MLKEM_PUBLIC_BYTES + _X25519_BYTES or data[:1] != _KEY_VERSION:
            raise CryptoError("not a portal public key")
        split = 1 + _MLKEM_PUBLIC_BYTES
        try:
            return cls(
                mlkem.MLKEM768PublicKey.from_public_bytes(data[1:split]),
                x25519.X25519PublicKey.from_public_bytes(data[split:]),
            )
        except ValueError as exc:
            raise CryptoError("not a portal public key") from exc

    def fingerprint(self) -> str:
        """Short hex digest for people to compare keys by eye."""
        digest = hashlib.sha256(self.to_bytes()).hexdigest()[:32]
        return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


class PrivateKey:
    """A reader's ML-KEM-768 + X25519 private key. Serialized as the two seeds, never logged."""

    def __init__(self, mlkem_private: mlkem.MLKEM768PrivateKey, x25519_private: x25519.X25519PrivateKey):
        self._mlkem = mlkem_private
        self._x25519 = x25519_private
        self._hpke = hpke.MLKEM768X25519PrivateKey(mlkem_private, x25519_private)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate())

    def public_key(self) -> PublicKey:
        return PublicKey(self._mlkem.public_key(), self._x25519.public_key())

    def to_bytes(self) -> bytes:
        return _KEY_VERSION + self._mlkem.private_bytes_raw() + self._x25519.private_bytes_raw()

    @classmethod
    def from_bytes(cls, data: bytes) -> PrivateKey:
        if len(data) != 1 + _MLKEM_SEED_BYTES + _X25519_BYTES or data[:1] != _KEY_VERSION:
            raise CryptoError("not a portal private key")
        split = 1 + _MLKEM_SEED_BYTES
        return cls(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(data[1:split]),
            x25519.X25519PrivateKey.from_private_bytes(data[split:]),
        )

    def __repr__(self) -> str:  # never print key material by accident
        return "<PrivateKey>"


def wrap_content_key(key: ContentKey | bytes, recipient: PublicKey) -> bytes:
    """Encrypt a content key to one reader with HPKE (ML-KEM-768 + X25519, AES-256-GCM)."""
    _check_key(key)
    return _SUITE.encrypt(bytes(key), recipient._hpke, info=_WRAP_INFO)


def unwrap_content_key(wrapped: bytes, private_key: PrivateKey) -> ContentKey:
    """Recover a content key wrapped to ``private_key``; raise :class:`CryptoError` otherwise."""
    try:
        key = _SUITE.decrypt(wrapped, private_key._hpke, info=_WRAP_INFO)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("content key could not be unwrapped") from exc
    _check_key(key)
    return ContentKey(key)


# --- Keypairs locked by a password or receipt ------------------------------------------------
#
# A secret that unlocks a keypair needs two things from the server: a verifier, to say yes or no
# without opening anything, and a key that opens the locked private half. Both come from ONE
# Argon2id derivation, split with HKDF-Expand under two labels, so a sign-in or a receipt costs the
# server one deliberate derivation rather than two: it is the part of an anonymous request an
# attacker can make the server pay for. Neither output reveals the other (HKDF outputs under
# different labels are independent), and the verifier binds the cost and salt it was made with.
#
# Version 1 (before this scheme) stored a PHC verifier and a separately salted locked key, two
# derivations per use. Those keep working; callers re-lock them with :func:`lock_keypair` once
# they hold the secret (:attr:`SecretLock.is_current`).

_LOCK_VERSION = b"\x01"
_LOCK_PURPOSE = b"portal locked private key v1"
_LOCK2_VERSION = b"\x02"
_LOCK2_PREFIX = "$portal-lock$v=2$"
_LOCK2_PURPOSE = b"portal locked private key v2"
_LOCK2_CHECK_INFO = b"portal secret check v2"
_LOCK2_KEY_INFO = b"portal private key lock v2"


@dataclass(frozen=True, repr=False)
class SecretLock:
    """What is stored for a secret-locked keypair: the verifier and the locked private key."""

    verifier: str
    locked_key: bytes

    @property
    def is_current(self) -> bool:
        return self.verifier.startswith(_LOCK2_PREFIX) and self.locked_key[:1] == _LOCK2_VERSION


def _split_derivation(secret: str, salt: bytes, params: KdfParams) -> tuple[bytes, bytes]:
    derived = derive_key(secret.encode("utf-8"), salt, params)

    def expand(info: bytes) -> bytes:
        return HKDFExpand(hashes.SHA256(), _KEY_BYTES, info=info).derive(derived)

    return expand(_LOCK2_CHECK_INFO), expand(_LOCK2_KEY_INFO)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _lock2_aad(params: KdfParams, salt: bytes) -> bytes:
    return _LOCK2_PURPOSE + params.pack() + salt


def lock_keypair(private_key: PrivateKey, secret: str, params: KdfParams) -> SecretLock:
    """Make the verifier and the locked private key for ``secret``, with one Argon2id derivation."""
    salt = os.urandom(_SALT_BYTES)
    check, lock_key = _split_derivation(secret, salt, params)
    verifier = f"{_LOCK2_PREFIX}{params.encode()}${_b64(salt)}${_b64(check)}"
    locked = _LOCK2_VERSION + seal(lock_key, private_key.to_bytes(), _lock2_aad(params, salt))
    return SecretLock(verifier=verifier, locked_key=locked)


def _parse_lock2(verifier: str) -> tuple[KdfParams, bytes, bytes]:
    try:
        params_text, salt_text, check_text = verifier[len(_LOCK2_PREFIX):].split("$")
        return KdfParams.decode(params_text), _unb64(salt_text), _unb64(check_text)
    except ValueError as exc:  # wrong field count, bad base64, parameters out of range
        raise CryptoError("unreadable verifier") from exc


def _check_lock2(secret: str, verifier: str) -> tuple[KdfParams, bytes, bytes] | None:
    """Derive once; return (params, salt, lock key) if ``secret`` matches, else None."""
    try:
        params, salt, expected = _parse_lock2(verifier)
    except CryptoError:
        return None
    check, lock_key = _split_derivation(secret, salt, params)
    if not hmac.compare_digest(check, expected):
        return None
    return params, salt, lock_key


def unlock_keypair(secret: str, lock: SecretLock) -> PrivateKey | None:
    """Check ``secret`` and open the private key it locks; None if the secret is wrong.

    A current lock costs one Argon2id derivation, right or wrong. A version-1 lock costs one to
    check and, only when the secret is right, a second to open. Damage to a locked key whose
    verifier matched raises :class:`CryptoError`.
    """
    if not lock.verifier.startswith(_LOCK2_PREFIX):
        if not _verify_phc(secret, lock.verifier):
            return None
        return _unlock_v1_private_key(lock.locked_key, secret)
    matched = _check_lock2(secret, lock.verifier)
    if matched is None:
        return None
    params, salt, lock_key = matched
    if lock.locked_key[:1] != _LOCK2_VERSION:
        raise CryptoError("not a locked private key")
    sealed = lock.locked_key[1:]
    return PrivateKey.from_bytes(open_sealed(lock_key, sealed, _lock2_aad(params, salt)))


@functools.cache  # made once per cost: its secret is thrown away, so nothing secret is kept
def decoy_lock(params: KdfParams) -> SecretLock:
    """A lock no secret opens, so an unknown email or receipt costs what a real one does."""
    return lock_keypair(PrivateKey.generate(), secrets.token_urlsafe(32), params)


def _unlock_v1_private_key(locked: bytes, secret: str) -> PrivateKey:
    """Decrypt a version-1 locked key (its own salt and cost); wrong secrets raise CryptoError."""
    header_len = 1 + 12 + _SALT_BYTES
    if len(locked) <= header_len or locked[:1] != _LOCK_VERSION:
        raise CryptoError("not a locked private key")
    header = locked[:header_len]
    params = KdfParams.unpack(header[1:13])
    key = derive_key(secret.encode("utf-8"), header[13:], params)
    return PrivateKey.from_bytes(open_sealed(key, locked[header_len:], _LOCK_PURPOSE + header))


# --- Armored key files (the offline recovery key) --------------------------------------------

_ARMOR_BEGIN = "-----BEGIN PORTAL RECOVERY PRIVATE KEY-----"
_ARMOR_END = "-----END PORTAL RECOVERY PRIVATE KEY-----"


def armor_private_key(private_key: PrivateKey) -> str:
    body = base64.encodebytes(private_key.to_bytes()).decode("ascii")
    return f"{_ARMOR_BEGIN}\n{body}{_ARMOR_END}\n"


def dearmor_private_key(text: str) -> PrivateKey:
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END:
        raise CryptoError("not a portal recovery key file")
    try:
        return PrivateKey.from_bytes(base64.b64decode("".join(lines[1:-1]), validate=True))
    except (ValueError, CryptoError) as exc:
        raise CryptoError("not a portal recovery key file") from exc


# --- Receipts --------------------------------------------------------------------------------
#
# 25 decimal digits = 83 bits from secrets.randbelow: language-neutral (every keyboard and script
# the reporters use has these digits), readable aloud, shown as five groups of five.

RECEIPT_DIGITS = 25
RECEIPT_GROUP = 5
_RECEIPT_SEPARATORS = frozenset(" \t\r\n-_.\u00a0\u2010\u2011\u2012\u2013\u2014\u2212\u3000\u30fc\uff0d")


def generate_receipt() -> Receipt:
    """Return a new receipt from the operating system's CSPRNG."""
    return Receipt(str(secrets.randbelow(10**RECEIPT_DIGITS)).zfill(RECEIPT_DIGITS))


def format_receipt(receipt: Receipt) -> str:
    """Show a receipt as digit groups, e.g. ``12345 67890 …``."""
    return " ".join(
        receipt[i : i + RECEIPT_GROUP] for i in range(0, len(receipt), RECEIPT_GROUP)
    )


def normalize_receipt(text: str) -> Receipt:
    """Accept a receipt typed with any spacing or dashes, in any script's decimal digits.

    Full-width digits (Chinese input methods) and Arabic-Indic digits become ASCII digits.
    """
    digits = []
    for char in unicodedata.normalize("NFKC", text):
        if char in _RECEIPT_SEPARATORS or char.isspace():
            continue
        if not char.isdecimal():
            raise InvalidReceiptFormat("a receipt contains only digits")
        digits.append(str(unicodedata.decimal(char)))
    if len(digits) != RECEIPT_DIGITS:
        raise InvalidReceiptFormat("a receipt has 25 digits")
    return Receipt("".join(digits))


def receipt_lookup_id(receipt: Receipt, lookup_key: bytes) -> bytes:
    """Keyed identifier to find a report by receipt; without the instance key it reveals nothing."""
    if len(lookup_key) < _KEY_BYTES:
        raise ValueError("lookup key too short")
    return keyed_digest(lookup_key, b"receipt-lookup", receipt.encode("ascii"))


# --- Small helpers for instance secrets ------------------------------------------------------


def random_secret(nbytes: int = 32) -> bytes:
    return secrets.token_bytes(nbytes)


def keyed_digest(key: bytes, purpose: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` under ``key``, domain-separated by ``purpose``."""
    return hmac.new(key, purpose + b"\x00" + data, "sha256").digest()
