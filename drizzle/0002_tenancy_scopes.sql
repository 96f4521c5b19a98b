CREATE TABLE "company_event_types" (
	"calcom_event_type_id" integer PRIMARY KEY NOT NULL,
	"company_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "retired_webhook_secrets" (
	"id" text PRIMARY KEY NOT NULL,
	"company_id" text NOT NULL,
	"secret_encrypted" text NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "company_event_types" ADD CONSTRAINT "company_event_types_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "retired_webhook_secrets" ADD CONSTRAINT "retired_webhook_secrets_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "company_event_types_company_idx" ON "company_event_types" USING btree ("company_id");--> statement-breakpoint
CREATE INDEX "retired_webhook_secrets_company_idx" ON "retired_webhook_secrets" USING btree ("company_id","valid_until");