# Inquiries and screenings are deliberately not in the admin: every read and write goes through
# the audited pages and API (openiop.intake.selectors and services).
