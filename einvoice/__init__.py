"""einvoice: e-invoice intake, KoSIT-identical validation and approval workflow."""

__version__ = "0.1.0"
