"""The crypto module: round trips, and loud failure on every kind of tampering."""

from __future__ import annotations

import io
import math

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


# --- password-locked private keys and Argon2id ---------------------------------------------


def test_a_locked_private_key_opens_with_its_password(key):
    reader = crypto.PrivateKey.generate()
    locked = crypto.lock_private_key(reader, "a long staff password", TEST_KDF)
    unlocked = crypto.unlock_private_key(locked, "a long staff password")
    assert unlocked.to_bytes() == reader.to_bytes()


def test_a_locked_private_key_refuses_a_wrong_password():
    locked = crypto.lock_private_key(crypto.PrivateKey.generate(), "right password!", TEST_KDF)
    with pytest.raises(crypto.CryptoError):
        crypto.unlock_private_key(locked, "wrong password!")


def test_a_locked_private_key_with_tampered_parameters_fails():
    locked = bytearray(crypto.lock_private_key(crypto.PrivateKey.generate(), "pw", TEST_KDF))
    locked[4] ^= 1  # inside the stored Argon2id parameters
    with pytest.raises((crypto.CryptoError, ValueError)):
        crypto.unlock_private_key(bytes(locked), "pw")


def test_password_verifiers():
    verifier = crypto.hash_password("a long password", TEST_KDF)
    assert verifier.startswith("$argon2id$")
    assert crypto.verify_password("a long password", verifier)
    assert not crypto.verify_password("another password", verifier)
    assert not crypto.verify_password("a long password", "not a verifier")


def test_production_argon2id_parameters_meet_the_security_model():
    """§4.5: at least 64 MiB of memory."""
    assert crypto.PRODUCTION_KDF.memory_kib >= 64 * 1024
    assert crypto.PRODUCTION_KDF.iterations >= 2


@pytest.mark.slow
def test_a_private_key_locks_and_unlocks_with_production_parameters():
    reader = crypto.PrivateKey.generate()
    locked = crypto.lock_private_key(reader, "a long staff password", crypto.PRODUCTION_KDF)
    assert crypto.KdfParams.unpack(locked[1:13]) == crypto.PRODUCTION_KDF
    assert crypto.unlock_private_key(locked, "a long staff password").to_bytes() == reader.to_bytes()


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


def test_receipt_verifiers_check_only_their_receipt():
    receipt = crypto.generate_receipt()
    verifier = crypto.receipt_verifier(receipt, TEST_KDF)
    assert receipt not in verifier
    assert crypto.check_receipt(receipt, verifier)
    assert not crypto.check_receipt(crypto.generate_receipt(), verifier)
