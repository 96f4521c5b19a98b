ALTER TABLE "companies" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "catalog_key" text;--> statement-breakpoint
ALTER TABLE "staff" ADD COLUMN "catalog_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "services_company_catalog_key_unique" ON "services" USING btree ("company_id","catalog_key") WHERE "services"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "staff_company_catalog_key_unique" ON "staff" USING btree ("company_id","catalog_key");