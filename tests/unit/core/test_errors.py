"""The error tree: builtin bases, attributes and messages that name what failed."""

from __future__ import annotations

import uuid

import pytest

from crmcore.errors import (
    Conflict,
    CrmError,
    DecryptionError,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationError,
)

ID = uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057")


def test_leaves_are_also_builtin_errors() -> None:
    assert isinstance(NotFound("Customer", ID), LookupError)
    assert isinstance(ValidationError([]), ValueError)
    assert isinstance(PermissionDenied("read", "Customer"), PermissionError)
    for exc in (NotFound("Customer", ID), Conflict("Customer", ID), ValidationError([])):
        assert isinstance(exc, CrmError)


def test_messages_name_entity_id_and_field() -> None:
    assert str(NotFound("Customer", ID)) == f"Customer {ID} not found"
    assert str(Conflict("Customer", ID, expected_version=2, actual_version=3)) == (
        f"Customer {ID}: conflicting update (expected version 2, found at version 3)"
    )
    err = PermissionDenied(
        "update", "Customer", id=ID, field="phone", reason="masked for role support"
    )
    assert str(err) == f"may not update field 'phone' of Customer {ID}: masked for role support"
    assert "allowed: contact, disqualify" in str(
        InvalidTransition("LEAD", "new", "convert", ["contact", "disqualify"])
    )


def test_validation_error_lists_every_problem_with_paths() -> None:
    err = ValidationError(
        [
            FieldError("$.email", "invalid_email", "not an e-mail address", "x@"),
            FieldError("$.phones[1]", "phone_invalid", "not a phone number"),
        ],
        entity="Customer",
        id=ID,
    )
    assert err.codes == ("invalid_email", "phone_invalid")
    assert str(err) == (
        f"Customer {ID}: not an e-mail address @ $.email; not a phone number @ $.phones[1]"
    )
    assert err.errors[1].field == "phones"
    assert err.errors[0].to_dict()["value"] == "x@"


def test_redacted_values_are_never_kept() -> None:
    fe = FieldError(
        "$.national_id", "invalid_checksum", "bad checksum", "110105199001011234", redact=True
    )
    assert fe.value is None
    assert "1101" not in repr(fe) + str(fe) + str(fe.to_dict())


def test_field_error_nests_under_a_prefix() -> None:
    fe = FieldError("$.number", "phone_invalid", "bad")
    assert fe.at("$.phones[2]").path == "$.phones[2].number"


def test_decryption_error_names_field_not_value() -> None:
    err = DecryptionError(entity="Customer", id=ID, field="email")
    assert (
        str(err)
        == f"cannot decrypt field 'email' of Customer {ID}: ciphertext could not be authenticated"
    )


@pytest.mark.parametrize("cls", [NotFound, Conflict])
def test_codes_are_machine_readable(cls: type[CrmError]) -> None:
    assert cls.code in {"not_found", "conflict"}
