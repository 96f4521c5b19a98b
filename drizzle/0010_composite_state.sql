ALTER TABLE "appointments" ADD COLUMN "current_generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "reschedule_request_id" text;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "reschedule_start" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "reschedule_generation" integer;--> statement-breakpoint
-- Hand-written (not generated): the state the code used to read out of appointment_history.data is
-- filled from that history once. The current generation is the one the latest confirmation
-- ('confirmed' or 'rescheduled') recorded, 0 when that row names none.
UPDATE "appointments" AS a
SET "current_generation" = latest.generation
FROM (
  SELECT DISTINCT ON (h."appointment_id") h."appointment_id",
    CASE WHEN jsonb_typeof(h."data"->'generation') = 'number' THEN (h."data"->>'generation')::integer ELSE 0 END
      AS generation
  FROM "appointment_history" h
  WHERE h."event" IN ('confirmed', 'rescheduled')
  ORDER BY h."appointment_id", h."created_at" DESC, h."id" DESC
) AS latest
WHERE latest."appointment_id" = a."id";--> statement-breakpoint
-- The latest reschedule request of each appointment: its id, the start it asked for, and for a
-- composite the generation planned for it.
UPDATE "appointments" AS a
SET "reschedule_request_id" = latest.data->>'requestId',
  "reschedule_start" = CASE WHEN jsonb_typeof(latest.data->'start') = 'string'
    THEN (latest.data->>'start')::timestamptz END,
  "reschedule_generation" = CASE WHEN jsonb_typeof(latest.data->'generation') = 'number'
    THEN (latest.data->>'generation')::integer END
FROM (
  SELECT DISTINCT ON (h."appointment_id") h."appointment_id", h."data"
  FROM "appointment_history" h
  WHERE h."event" = 'reschedule_requested'
  ORDER BY h."appointment_id", h."created_at" DESC, h."id" DESC
) AS latest
WHERE latest."appointment_id" = a."id";
