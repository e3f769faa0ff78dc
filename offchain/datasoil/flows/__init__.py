"""Where layers meet: publish, claims, access and delivery, load, attestations, audits."""
