"""Benchmark: FieldCipher and BlindIndexer against raw AES-GCM / HMAC in the same process.

(a) Encrypt + decrypt one customer's four protected fields (email, phone,
    national_id, date_of_birth) through ``FieldCipher``: as one record envelope
    (``encrypt_record``/``decrypt_record``, what the storage layer stores) and
    as four field tokens (``encrypt_bytes``/``encrypt`` + ``decrypt``), binary
    and text. The reference is four raw ``AESGCM.encrypt`` (fresh
    ``os.urandom(12)`` nonce each) + four raw ``AESGCM.decrypt`` calls with the
    same key, already-encoded plaintexts and a precomputed AAD of the same
    length as the cipher's.
(b) Blind index of one e-mail address through ``BlindIndexer.index``, against
    ``hmac.digest(key, value, "sha256")[:16].hex()``.

Variants run round-robin and the best of ``--repeat`` rounds is kept, so load
from other processes hits every variant alike.

Run: ``.venv/bin/python benchmarks/bench_crypto.py [--number N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import hmac
import os
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crmcore.crypto import BlindIndexer, FieldCipher, Keyring, StaticKeyProvider

TENANT = "7f0c2a8e-3d1b-4c55-9a0e-1b2c3d4e5f60"
RECORD = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CUSTOMER: dict[str, Any] = {
    "email": "zhang.wei@example.com",
    "phone": "+8613800138000",
    "national_id": "11010519491231002X",
    "date_of_birth": date(1949, 12, 31),
}


def best_ns(
    variants: dict[str, Callable[[], object]], number: int, repeat: int
) -> dict[str, float]:
    """Best ns per call of each variant over ``repeat`` round-robin rounds of ``number`` calls."""
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(repeat):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / number * 1e9)
    return best


def cipher_variants() -> dict[str, Callable[[], object]]:
    """Part (a): the reference first, then the FieldCipher variants."""
    cipher = FieldCipher(Keyring(StaticKeyProvider.generate()))
    header = cipher.encrypt_bytes(
        "warm-up", tenant=TENANT, entity="Customer", record_id=RECORD, field="x"
    )[:20]
    fields = list(CUSTOMER.items())

    aead = AESGCM(os.urandom(32))
    urandom = os.urandom

    def aad_of(name: str) -> bytes:
        # header, domain, then tenant, entity, record, field with 4-byte lengths
        parts = [TENANT.encode(), b"Customer", RECORD.encode(), name.encode()]
        return header + b"crmcore/field/v1\x00" + b"".join(b"\x00" * 4 + p for p in parts)

    raw = [
        (aad_of(n), b"\x01" + (v.isoformat() if isinstance(v, date) else v).encode())
        for n, v in fields
    ]

    def reference() -> None:
        sealed = []
        for aad, plain in raw:
            nonce = urandom(12)
            sealed.append((aad, nonce, aead.encrypt(nonce, plain, aad)))
        for aad, nonce, ct in sealed:
            aead.decrypt(nonce, ct, aad)

    value_aads = [(n, aad_of(n), v) for n, v in fields]

    def reference_values() -> None:
        # The same calls, starting from the customer's values and ending with
        # them: str.encode / date.isoformat in, bytes.decode / date.fromisoformat
        # out. The least a caller of raw AES-GCM has to add to store a customer.
        sealed = []
        for name, aad, value in value_aads:
            nonce = urandom(12)
            plain = value.encode() if type(value) is str else value.isoformat().encode()
            sealed.append((name, aad, nonce, aead.encrypt(nonce, plain, aad)))
        values: dict[str, object] = {}
        for name, aad, nonce, ct in sealed:
            text = aead.decrypt(nonce, ct, aad).decode()
            values[name] = date.fromisoformat(text) if name == "date_of_birth" else text

    def per_record(text: bool) -> Callable[[], None]:
        enc = cipher.encrypt_record
        dec = cipher.decrypt_record

        def run() -> None:
            token = enc(CUSTOMER, tenant=TENANT, entity="Customer", record_id=RECORD, text=text)  # type: ignore[call-overload]
            dec(token, tenant=TENANT, entity="Customer", record_id=RECORD)

        return run

    def per_field(encrypt: Callable[..., Any]) -> Callable[[], None]:
        dec = cipher.decrypt

        def run() -> None:
            tokens = [
                (n, encrypt(v, tenant=TENANT, entity="Customer", record_id=RECORD, field=n))
                for n, v in fields
            ]
            for n, token in tokens:
                dec(token, tenant=TENANT, entity="Customer", record_id=RECORD, field=n)

        return run

    field_aads = [(n, aad_of(n)) for n, _ in fields]

    def floor() -> None:
        # The same envelope by hand with every check left out: one nonce read,
        # type tag, AAD per field, header + nonce + ciphertext; then slice,
        # decrypt and decode. What pure Python costs before any safety check.
        nonces = urandom(12 * len(fields))
        out = {}
        for i, ((name, aad), (_, plain)) in enumerate(zip(field_aads, raw, strict=True)):
            nonce = nonces[12 * i : 12 * i + 12]
            out[name] = (aad, header + nonce + aead.encrypt(nonce, plain, aad))
        values = {}
        for name, (aad, token) in out.items():
            plain = aead.decrypt(token[20:32], token[32:], aad)
            values[name] = plain[1:].decode()

    return {
        "raw AESGCM, 4 encrypt + 4 decrypt": reference,
        "raw AESGCM, same, from and to values": reference_values,
        "4 field envelopes by hand, no checks": floor,
        "encrypt_record/decrypt_record, binary": per_record(False),
        "encrypt_record/decrypt_record, text": per_record(True),
        "encrypt_bytes/decrypt x4, binary": per_field(cipher.encrypt_bytes),
        "encrypt/decrypt x4, text": per_field(cipher.encrypt),
    }


def index_variants() -> dict[str, Callable[[], object]]:
    """Part (b): a bare HMAC first, then BlindIndexer.index."""
    indexer = BlindIndexer(Keyring(StaticKeyProvider.generate()))
    value = "zhang.wei@example.com"
    key = os.urandom(32)
    message = value.encode()
    indexer.index(value, tenant=TENANT, entity="Customer", field="email")

    def bare() -> str:
        return hmac.digest(key, message, "sha256")[:16].hex()

    def indexed() -> str | None:
        return indexer.index(value, tenant=TENANT, entity="Customer", field="email")

    return {"hmac.digest + hex": bare, "BlindIndexer.index": indexed}


def report(title: str, unit: str, results: dict[str, float], refs: int = 1) -> None:
    """Print each variant's time and its ratio to each of the first ``refs`` (the references)."""
    print(title)
    ref = list(results.values())[:refs]
    for name, ns in results.items():
        ratios = "  ".join(f"{ns / r:5.2f}x" for r in ref)
        print(f"    {name:40} {ns:8.0f} ns/{unit}   {ratios}")


def main() -> None:
    """Parse arguments and run both benchmarks."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--number", type=int, default=2_000, help="calls per round")
    parser.add_argument("--repeat", type=int, default=25, help="rounds (best is kept)")
    args = parser.parse_args()
    report(
        "(a) encrypt + decrypt a 4-field customer (target: <= 1.30x); "
        "ratios to the two raw references",
        "customer",
        best_ns(cipher_variants(), args.number, args.repeat),
        refs=2,
    )
    report(
        "(b) blind index of one value",
        "value",
        best_ns(index_variants(), args.number * 4, args.repeat),
    )


if __name__ == "__main__":
    main()
