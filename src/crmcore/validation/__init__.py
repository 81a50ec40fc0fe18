"""Normalisation and validation of CRM data.

Pure normalisers (phone, email, name, date, address, identifiers) that return
one canonical form or raise :class:`crmcore.errors.ValidationError` with a
machine-readable code and the field path; record-level rule sets that report
every problem at once; custom-field schemas; completeness and a streaming
data-quality report. Heavy dependencies (phonenumbers, email_validator,
pypinyin) are imported on first use, not by ``import crmcore.validation``.
"""

from __future__ import annotations

from crmcore.validation._address import (
    normalize_address,
    normalize_country,
    normalize_postcode,
    normalize_region,
)
from crmcore.validation._common import bad_text_errors, bad_text_reason
from crmcore.validation._custom import (
    CustomField,
    CustomFieldSchema,
    CustomFieldType,
    SchemaChangeError,
    SchemaChangeProblem,
)
from crmcore.validation._dates import DateOrder, normalize_date, normalize_datetime
from crmcore.validation._email import email_match_key, normalize_email
from crmcore.validation._entities import EntityValidation, default_rules
from crmcore.validation._identifiers import (
    IbanInfo,
    IdentifierRegistry,
    NationalIdInfo,
    Sex,
    UsccInfo,
    default_registry,
    normalize_identifier_text,
    validate_iban,
    validate_national_id,
    validate_uscc,
)
from crmcore.validation._names import (
    NameScript,
    PersonNameParts,
    name_match_key,
    normalize_name,
    split_name,
)
from crmcore.validation._phone import PhoneInfo, PhoneKind, normalize_phone, parse_phone
from crmcore.validation._quality import (
    Completeness,
    DuplicateKey,
    FieldQuality,
    QualityReport,
    completeness,
    quality_report,
    value_shape,
)
from crmcore.validation._rules import (
    CompiledRules,
    FieldRule,
    Normalizer,
    RecordRule,
    RequireAny,
    RuleSet,
    normalize_text,
    require_any,
    validate_record,
)

__all__ = [
    "CompiledRules",
    "Completeness",
    "CustomField",
    "CustomFieldSchema",
    "CustomFieldType",
    "DateOrder",
    "DuplicateKey",
    "EntityValidation",
    "FieldQuality",
    "FieldRule",
    "IbanInfo",
    "IdentifierRegistry",
    "NameScript",
    "NationalIdInfo",
    "Normalizer",
    "PersonNameParts",
    "PhoneInfo",
    "PhoneKind",
    "QualityReport",
    "RecordRule",
    "RequireAny",
    "RuleSet",
    "SchemaChangeError",
    "SchemaChangeProblem",
    "Sex",
    "UsccInfo",
    "bad_text_errors",
    "bad_text_reason",
    "completeness",
    "default_registry",
    "default_rules",
    "email_match_key",
    "name_match_key",
    "normalize_address",
    "normalize_country",
    "normalize_date",
    "normalize_datetime",
    "normalize_email",
    "normalize_identifier_text",
    "normalize_name",
    "normalize_phone",
    "normalize_postcode",
    "normalize_region",
    "normalize_text",
    "parse_phone",
    "quality_report",
    "require_any",
    "split_name",
    "validate_iban",
    "validate_national_id",
    "validate_record",
    "validate_uscc",
    "value_shape",
]
