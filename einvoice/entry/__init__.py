"""Web entry form (Weberfassung): typed form, EN 16931 totals, XRechnung 3.0 UBL, drafts and pages."""
