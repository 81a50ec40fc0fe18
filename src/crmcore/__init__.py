"""crmcore: the domain of a CRM as an embeddable library."""

from crmcore._version import __version__

__all__ = ["__version__"]
