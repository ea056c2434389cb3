"""The crypto module: round trips, and loud failure on every kind of tampering."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import math
import os
import threading
import time

import argon2
import pytest

from portal import crypto
from tests.conftest import TEST_KDF


@pytest.fixture
def key() -> crypto.ContentKey:
    return crypto.new_content_key()


# --- sealed records ------------------------------------------------------------------------


def test_sealed_record_round_trips(key):
    sealed = crypto.seal(key, "她的名字 — ئۇيغۇر".encode(), b"answers")
    assert crypto.open_sealed(key, sealed, b"answers") == "她的名字 — ئۇيغۇر".encode()


def test_sealing_twice_gives_different_ciphertexts(key):
    assert crypto.seal(key, b"same", b"p") != crypto.seal(key, b"same", b"p")


@pytest.mark.parametrize("position", [0, 12, -1])
def test_a_flipped_byte_fails(key, position):
    sealed = bytearray(crypto.seal(key, b"narrative", b"p"))
    sealed[position] ^= 0x01
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(key, bytes(sealed), b"p")


def test_a_wrong_key_fails(key):
    sealed = crypto.seal(key, b"narrative", b"p")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(crypto.new_content_key(), sealed, b"p")


def test_a_record_cannot_be_used_for_another_purpose(key):
    sealed = crypto.seal(key, b"narrative", b"answers")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(key, sealed, b"notes")


def test_a_truncated_record_fails(key):
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(key, crypto.seal(key, b"x", b"p")[:20], b"p")


def test_keys_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError):
        crypto.seal(b"short", b"x", b"p")


# --- chunked streams -----------------------------------------------------------------------


def sealed_stream(key, data: bytes, chunk_size: int = 7) -> list[bytes]:
    return list(crypto.encrypt_stream(key, io.BytesIO(data), chunk_size=chunk_size))


@pytest.mark.parametrize("size", [0, 1, 6, 7, 8, 70, 1000])
def test_streams_round_trip(key, size):
    data = bytes(range(256)) * 4
    data = data[:size]
    parts = sealed_stream(key, data)
    assert len(parts) == 1 + max(1, math.ceil(size / 7))
    assert b"".join(crypto.decrypt_stream(key, parts)) == data


def test_streams_use_constant_memory(key):
    """Encryption pulls one chunk ahead at a time rather than reading the whole source."""

    class CountingSource(io.RawIOBase):
        def __init__(self):
            self.largest_read = 0
            self.remaining = 10 * 1024 * 1024

        def read(self, size=-1):
            self.largest_read = max(self.largest_read, size)
            size = min(size, self.remaining)
            self.remaining -= size
            return b"\0" * size

    source = CountingSource()
    produced = 0
    for part in crypto.encrypt_stream(key, source, chunk_size=4096):
        produced += len(part)
    assert source.largest_read == 4096
    assert produced > 10 * 1024 * 1024


def _decrypt(key, parts):
    return b"".join(crypto.decrypt_stream(key, parts))


def test_a_flipped_byte_in_a_chunk_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    parts[2] = bytes([parts[2][0] ^ 1]) + parts[2][1:]
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts)


def test_a_stream_under_a_wrong_key_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    with pytest.raises(crypto.CryptoError):
        _decrypt(crypto.new_content_key(), parts)


def test_a_truncated_stream_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts[:-1])


def test_a_stream_cut_to_its_header_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts[:1])
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, [])


def test_reordered_chunks_fail(key):
    parts = sealed_stream(key, bytes(range(30)))
    parts[1], parts[2] = parts[2], parts[1]
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts)


def test_an_extended_stream_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts + [parts[-1]])


def test_a_duplicated_chunk_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts[:2] + parts[1:])


def test_chunks_cannot_move_between_streams(key):
    first = sealed_stream(key, b"a" * 30)
    second = sealed_stream(key, b"a" * 30)
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, [first[0], second[1], *first[2:]])


def test_a_damaged_header_fails(key):
    parts = sealed_stream(key, b"x" * 30)
    parts[0] = parts[0][:-1] + bytes([parts[0][-1] ^ 1])
    with pytest.raises(crypto.CryptoError):
        _decrypt(key, parts)


def test_a_finished_sealer_refuses_more(key):
    sealer = crypto.StreamSealer(key)
    sealer.seal_chunk(b"end", final=True)
    with pytest.raises(crypto.CryptoError):
        sealer.seal_chunk(b"more", final=False)


# --- HPKE key wrapping ---------------------------------------------------------------------


def test_content_keys_wrap_and_unwrap(key):
    reader = crypto.PrivateKey.generate()
    wrapped = crypto.wrap_content_key(key, reader.public_key())
    assert crypto.unwrap_content_key(wrapped, reader) == key


def test_a_wrapped_key_opens_only_for_its_reader(key):
    wrapped = crypto.wrap_content_key(key, crypto.PrivateKey.generate().public_key())
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_content_key(wrapped, crypto.PrivateKey.generate())


def test_a_tampered_wrapped_key_fails(key):
    reader = crypto.PrivateKey.generate()
    wrapped = bytearray(crypto.wrap_content_key(key, reader.public_key()))
    wrapped[-1] ^= 1
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_content_key(bytes(wrapped), reader)


def test_wrapping_uses_the_post_quantum_hybrid_suite(key):
    """ML-KEM-768 + X25519 encapsulations are 1,088 + 32 bytes; X25519 alone would be 32."""
    wrapped = crypto.wrap_content_key(key, crypto.PrivateKey.generate().public_key())
    assert len(wrapped) == 1088 + 32 + 32 + 16


def test_keys_survive_serialization(key):
    reader = crypto.PrivateKey.generate()
    public = crypto.PublicKey.from_bytes(reader.public_key().to_bytes())
    restored = crypto.PrivateKey.from_bytes(reader.to_bytes())
    assert crypto.unwrap_content_key(crypto.wrap_content_key(key, public), restored) == key
    assert public.fingerprint() == reader.public_key().fingerprint()


def test_malformed_public_keys_are_refused():
    with pytest.raises(crypto.CryptoError):
        crypto.PublicKey.from_bytes(b"\x01" + b"\0" * 10)


def test_private_keys_do_not_print_their_material():
    assert repr(crypto.PrivateKey.generate()) == "<PrivateKey>"


def test_recovery_key_files_round_trip(key):
    reader = crypto.PrivateKey.generate()
    restored = crypto.dearmor_private_key(crypto.armor_private_key(reader))
    assert crypto.unwrap_content_key(crypto.wrap_content_key(key, reader.public_key()), restored) == key


@pytest.mark.parametrize("text", ["", "hello", "-----BEGIN PORTAL RECOVERY PRIVATE KEY-----\n!!\n-----END PORTAL RECOVERY PRIVATE KEY-----"])
def test_other_files_are_not_recovery_keys(text):
    with pytest.raises(crypto.CryptoError):
        crypto.dearmor_private_key(text)


# --- secret-locked keypairs and Argon2id -----------------------------------------------------


def legacy_lock(private_key, secret, params):
    """A version-1 lock exactly as releases before the one-derivation scheme stored it: a PHC
    verifier and a private key sealed under a second, separately salted derivation."""
    verifier = argon2.PasswordHasher(
        time_cost=params.iterations, memory_cost=params.memory_kib, parallelism=params.lanes,
        hash_len=32, salt_len=16, type=argon2.Type.ID,
    ).hash(secret)
    salt = os.urandom(16)
    header = b"\x01" + params.pack() + salt
    key = crypto.derive_key(secret.encode(), salt, params)
    locked = header + crypto.seal(key, private_key.to_bytes(), b"portal locked private key v1" + header)
    return crypto.SecretLock(verifier=verifier, locked_key=locked)


def test_a_locked_keypair_opens_with_its_secret_and_only_with_it():
    reader = crypto.PrivateKey.generate()
    lock = crypto.lock_keypair(reader, "a long staff password", TEST_KDF)
    assert crypto.unlock_keypair("a long staff password", lock).to_bytes() == reader.to_bytes()
    assert crypto.unlock_keypair("a long staff passworD", lock) is None
    assert "a long staff password" not in lock.verifier
    assert lock.is_current


def test_checking_and_opening_cost_one_derivation_right_or_wrong(derivations):
    lock = crypto.lock_keypair(crypto.PrivateKey.generate(), "secret words", TEST_KDF)
    assert len(derivations) == 1
    crypto.unlock_keypair("secret words", lock)
    crypto.unlock_keypair("wrong words", lock)
    assert len(derivations) == 3


def test_the_verifier_alone_does_not_open_the_key():
    """The verifier's check value and the lock key come from one derivation but are independent."""
    lock = crypto.lock_keypair(crypto.PrivateKey.generate(), "pw", TEST_KDF)
    salt_text, check_text = lock.verifier.rsplit("$", 2)[1:]
    salt, check = (base64.b64decode(text + "=" * (-len(text) % 4)) for text in (salt_text, check_text))
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(check, lock.locked_key[1:], b"portal locked private key v2" + TEST_KDF.pack() + salt)


@pytest.mark.parametrize("part", ["params", "salt", "check", "locked"])
def test_a_tampered_lock_opens_nothing(part):
    lock = crypto.lock_keypair(crypto.PrivateKey.generate(), "pw", TEST_KDF)
    prefix, params, salt, check = lock.verifier.rsplit("$", 3)
    locked = lock.locked_key
    if part == "params":
        params = "m=72,t=1,p=1"
    elif part == "salt":
        salt = base64.b64encode(os.urandom(16)).decode().rstrip("=")
    elif part == "check":
        check = check[:-2] + ("AA" if check[-2:] != "AA" else "BB")
    else:
        locked = locked[:-1] + bytes([locked[-1] ^ 1])
    tampered = crypto.SecretLock(verifier="$".join([prefix, params, salt, check]), locked_key=locked)
    if part == "locked":
        with pytest.raises(crypto.CryptoError):
            crypto.unlock_keypair("pw", tampered)
    else:
        assert crypto.unlock_keypair("pw", tampered) is None


@pytest.mark.parametrize("verifier", ["", "not a verifier", "$portal-lock$v=2$m=x$$", "$portal-lock$v=2$m=64,t=1,p=1$!!$!!"])
def test_unreadable_verifiers_match_nothing(verifier):
    lock = crypto.SecretLock(verifier=verifier, locked_key=b"\x02" + bytes(64))
    assert crypto.unlock_keypair("pw", lock) is None


def test_locks_made_by_earlier_releases_still_open(derivations):
    reader = crypto.PrivateKey.generate()
    lock = legacy_lock(reader, "an old password", TEST_KDF)
    derivations.clear()
    assert not lock.is_current
    assert crypto.unlock_keypair("an old password", lock).to_bytes() == reader.to_bytes()
    assert len(derivations) == 2  # the old scheme's price, paid until the caller re-locks
    assert crypto.unlock_keypair("not the password", lock) is None


def test_decoy_locks_open_with_nothing_and_cost_one_derivation(derivations):
    decoy = crypto.decoy_lock(TEST_KDF)
    derivations.clear()
    assert crypto.unlock_keypair("", decoy) is None
    assert crypto.unlock_keypair("anything", decoy) is None
    assert len(derivations) == 2


def test_production_argon2id_parameters_meet_the_security_model():
    """§4.5: at least 64 MiB of memory; OWASP's floor is 19 MiB and 2 passes."""
    assert crypto.PRODUCTION_KDF.memory_kib >= 64 * 1024
    assert crypto.PRODUCTION_KDF.iterations >= 2


@pytest.mark.slow
def test_a_keypair_locks_and_unlocks_with_production_parameters():
    reader = crypto.PrivateKey.generate()
    lock = crypto.lock_keypair(reader, "a long staff password", crypto.PRODUCTION_KDF)
    assert "$m=65536,t=3,p=4$" in lock.verifier
    assert crypto.unlock_keypair("a long staff password", lock).to_bytes() == reader.to_bytes()


@pytest.mark.slow
def test_concurrent_derivations_with_production_parameters_all_complete():
    """Eight at once, twice the cap: cryptography 50's Argon2id hung here and then failed every
    later derivation with MemoryError. Each thread locks, then checks, a keypair of its own."""
    secrets_ = [f"receipt {n}" for n in range(8)]
    readers = [crypto.PrivateKey.generate() for _ in secrets_]
    start = threading.Barrier(len(secrets_))

    def lock_and_open(index):
        start.wait()
        lock = crypto.lock_keypair(readers[index], secrets_[index], crypto.PRODUCTION_KDF)
        return crypto.unlock_keypair(secrets_[index], lock).to_bytes()

    with concurrent.futures.ThreadPoolExecutor(len(secrets_)) as pool:
        futures = [pool.submit(lock_and_open, i) for i in range(len(secrets_))]
        done, pending = concurrent.futures.wait(futures, timeout=120)
    assert not pending, "derivations hung"
    assert [f.result() for f in futures] == [r.to_bytes() for r in readers]
    # And the process still derives afterwards (the old failure mode broke every later call).
    assert len(crypto.derive_key(b"after", os.urandom(16), crypto.PRODUCTION_KDF)) == 32


def test_derivations_beyond_the_cap_wait_their_turn(monkeypatch):
    running, peak = 0, 0
    guard = threading.Lock()
    real = crypto.argon2_raw.hash_secret_raw

    def slow_raw(*args, **kwargs):
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with guard:
            running -= 1
        return real(*args, **kwargs)

    monkeypatch.setattr(crypto.argon2_raw, "hash_secret_raw", slow_raw)
    threads = [threading.Thread(target=crypto.derive_key, args=(b"s", os.urandom(16), TEST_KDF))
               for _ in range(crypto.MAX_CONCURRENT_DERIVATIONS * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == crypto.MAX_CONCURRENT_DERIVATIONS


# --- receipts ------------------------------------------------------------------------------


def test_receipts_carry_at_least_80_bits():
    assert crypto.RECEIPT_DIGITS * math.log2(10) >= 80


def test_receipts_are_digits_shown_in_groups():
    receipt = crypto.generate_receipt()
    assert receipt.isdigit() and len(receipt) == crypto.RECEIPT_DIGITS
    shown = crypto.format_receipt(receipt)
    assert [len(group) for group in shown.split(" ")] == [5, 5, 5, 5, 5]


def test_receipts_differ():
    assert len({crypto.generate_receipt() for _ in range(200)}) == 200


@pytest.mark.parametrize(
    "typed",
    [
        "12345 67890 12345 67890 12345",
        "1234567890123456789012345",
        "12345-67890-12345-67890-12345",
        "  12345—67890 – 12345\t67890\n12345 ",
        "１２３４５ ６７８９０ １２３４５ ６７８９０ １２３４５",  # full-width, from a Chinese IME
        "١٢٣٤٥ ٦٧٨٩٠ ١٢٣٤٥ ٦٧٨٩٠ ١٢٣٤٥",  # Arabic-Indic digits
    ],
)
def test_receipts_are_accepted_with_any_spacing_or_dashes(typed):
    assert crypto.normalize_receipt(typed) == "1234567890123456789012345"


@pytest.mark.parametrize("typed", ["", "12345", "12345 67890 12345 67890 1234x", "1" * 26])
def test_text_that_cannot_be_a_receipt_is_refused(typed):
    with pytest.raises(crypto.InvalidReceiptFormat):
        crypto.normalize_receipt(typed)


def test_receipt_lookup_ids_are_keyed():
    receipt = crypto.generate_receipt()
    first, second = crypto.random_secret(), crypto.random_secret()
    assert crypto.receipt_lookup_id(receipt, first) == crypto.receipt_lookup_id(receipt, first)
    assert crypto.receipt_lookup_id(receipt, first) != crypto.receipt_lookup_id(receipt, second)
    assert receipt.encode() not in crypto.receipt_lookup_id(receipt, first)


def test_a_receipt_locks_the_reporter_keypair_once():
    receipt = crypto.generate_receipt()
    reporter = crypto.PrivateKey.generate()
    lock = crypto.lock_keypair(reporter, receipt, TEST_KDF)
    assert receipt not in lock.verifier
    assert crypto.unlock_keypair(receipt, lock).to_bytes() == reporter.to_bytes()
    assert crypto.unlock_keypair(crypto.generate_receipt(), lock) is None
