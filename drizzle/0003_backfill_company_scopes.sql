-- Hand-written (not generated): data backfill for company_event_types.
-- Before scopes existed, every company on the shared Cal.com account (no key of its own) could book
-- whatever event type it had a mapping for. Each such company now owns the event types its live
-- mappings use; an event type mapped by several companies goes to the oldest of them, and the
-- others stop using it (an operator reassigns it with `pnpm cli company:scope`).
INSERT INTO "company_event_types" ("calcom_event_type_id", "company_id")
SELECT DISTINCT ON (m."calcom_event_type_id") m."calcom_event_type_id", m."company_id"
FROM "event_type_mappings" m
JOIN "companies" c ON c."id" = m."company_id"
WHERE m."deleted_at" IS NULL AND c."calcom_api_key_encrypted" IS NULL
ORDER BY m."calcom_event_type_id", c."created_at", c."id"
ON CONFLICT DO NOTHING;
