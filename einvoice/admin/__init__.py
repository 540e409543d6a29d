"""Admin pages: users, roles, units and Leitweg-IDs, substitutes, workflows per unit, rule packs (issue 5)."""
