ALTER TABLE "appointments" ADD COLUMN "calcom_ical_uid" text;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "calcom_sequence" integer;--> statement-breakpoint
CREATE INDEX "appointments_calcom_ical_uid_idx" ON "appointments" USING btree ("calcom_ical_uid");