CREATE TABLE "hold_segments" (
	"id" text PRIMARY KEY NOT NULL,
	"hold_id" text NOT NULL,
	"position" integer NOT NULL,
	"staff_id" text NOT NULL,
	"calcom_event_type_id" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"reservation_uid" text,
	"reservation_released_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "holds" (
	"id" text PRIMARY KEY NOT NULL,
	"company_id" text NOT NULL,
	"service_id" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"timezone" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"appointment_id" text,
	"released_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "holds_status_check" CHECK (status in ('active', 'consumed', 'released', 'expired')),
	CONSTRAINT "holds_times_check" CHECK ("holds"."ends_at" > "holds"."starts_at")
);
--> statement-breakpoint
ALTER TABLE "hold_segments" ADD CONSTRAINT "hold_segments_hold_id_holds_id_fk" FOREIGN KEY ("hold_id") REFERENCES "public"."holds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hold_segments" ADD CONSTRAINT "hold_segments_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "public"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_appointment_id_appointments_id_fk" FOREIGN KEY ("appointment_id") REFERENCES "public"."appointments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "hold_segments_position_unique" ON "hold_segments" USING btree ("hold_id","position");--> statement-breakpoint
CREATE INDEX "hold_segments_staff_ends_idx" ON "hold_segments" USING btree ("staff_id","ends_at");--> statement-breakpoint
CREATE INDEX "hold_segments_open_reservation_idx" ON "hold_segments" USING btree ("hold_id") WHERE "hold_segments"."reservation_uid" is not null and "hold_segments"."reservation_released_at" is null;--> statement-breakpoint
CREATE INDEX "holds_company_status_idx" ON "holds" USING btree ("company_id","status");--> statement-breakpoint
CREATE INDEX "holds_active_expiry_idx" ON "holds" USING btree ("expires_at") WHERE "holds"."status" = 'active';