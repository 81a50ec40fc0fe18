"""The package surface: exports, and that `import crmcore` stays free of cryptography."""

from __future__ import annotations

import subprocess
import sys

import crmcore.crypto


def test_all_is_sorted_and_importable() -> None:
    names = crmcore.crypto.__all__
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(crmcore.crypto, name)
    for required in [
        "Keyring",
        "KeyProvider",
        "EnvKeyProvider",
        "FileKeyProvider",
        "StaticKeyProvider",
        "FieldCipher",
        "BlindIndexer",
        "FieldProtection",
        "Protection",
        "DEFAULT_PROTECTION",
    ]:
        assert required in names


def test_importing_crmcore_does_not_import_cryptography() -> None:
    code = "import sys, crmcore; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
