DROP INDEX "appointments_company_starts_idx";--> statement-breakpoint
ALTER TABLE "customers" ALTER COLUMN "email" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "language" text;--> statement-breakpoint
ALTER TABLE "event_type_mappings" ADD COLUMN "requires_email" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "appointments_customer_starts_idx" ON "appointments" USING btree ("customer_id","starts_at","id");--> statement-breakpoint
CREATE INDEX "appointments_staff_starts_idx" ON "appointments" USING btree ("staff_id","starts_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "customers_company_phone_only_unique" ON "customers" USING btree ("company_id","phone") WHERE "customers"."email" is null;--> statement-breakpoint
CREATE INDEX "customers_company_phone_idx" ON "customers" USING btree ("company_id","phone");--> statement-breakpoint
CREATE INDEX "appointments_company_starts_idx" ON "appointments" USING btree ("company_id","starts_at","id");--> statement-breakpoint
ALTER TABLE "customers" ADD CONSTRAINT "customers_contact_check" CHECK ("customers"."email" is not null or "customers"."phone" is not null);