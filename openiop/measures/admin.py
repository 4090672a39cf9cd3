# Administrations are deliberately not in the admin: every read and write of patient
# information goes through the audited pages and API (openiop.measures.services).
