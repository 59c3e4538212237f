CREATE SEQUENCE "public"."application_reference_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE SEQUENCE "public"."payment_code_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 99999999999 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "applications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"reference_no" text NOT NULL,
	"holder_id" uuid NOT NULL,
	"type" text NOT NULL,
	"channel" text NOT NULL,
	"status" text NOT NULL,
	"stage" text NOT NULL,
	"outcome" text,
	"pickup_station_id" uuid NOT NULL,
	"created_by_station_id" uuid,
	"old_card_id" uuid,
	"photo_source" text NOT NULL,
	"photo_id" uuid,
	"fee_fen" integer NOT NULL,
	"expires_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "applications_type_valid" CHECK ("applications"."type" in ('LOST', 'DAMAGED', 'INFO_CHANGE', 'WARRANTY')),
	CONSTRAINT "applications_stage_valid" CHECK ("applications"."stage" in ('AWAITING_PAYMENT', 'AWAITING_APPROVAL', 'PAID', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED', 'EXPIRED_UNPAID', 'CANCELLED', 'REJECTED')),
	CONSTRAINT "applications_closed_has_outcome" CHECK (("applications"."status" = 'CLOSED') = ("applications"."outcome" is not null)),
	CONSTRAINT "applications_fee_nonnegative" CHECK ("applications"."fee_fen" >= 0)
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"state" text NOT NULL,
	"response_status" integer,
	"response_headers" jsonb,
	"response_body" text,
	"locked_until" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_scope_key_pk" PRIMARY KEY("scope","key")
);
--> statement-breakpoint
CREATE TABLE "payment_notifications" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"notification_id" text,
	"payment_code" text,
	"amount_fen" integer,
	"paid_at" timestamp with time zone,
	"platform_transaction_id" text,
	"raw_body" text NOT NULL,
	"signature" text NOT NULL,
	"outcome" text NOT NULL,
	"anomaly_reason" text,
	"payment_id" uuid,
	"application_id" uuid
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"application_id" uuid NOT NULL,
	"code" text NOT NULL,
	"amount_fen" integer NOT NULL,
	"currency" text DEFAULT 'CNY' NOT NULL,
	"status" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"paid_at" timestamp with time zone,
	"platform_transaction_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "payments_status_valid" CHECK ("payments"."status" in ('PENDING', 'PAID', 'EXPIRED')),
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."amount_fen" > 0)
);
--> statement-breakpoint
CREATE TABLE "timeline_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"application_id" uuid NOT NULL,
	"type" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "timeline_events_type_valid" CHECK ("timeline_events"."type" in ('SUBMITTED', 'PAYMENT_RECEIVED', 'EXPIRED_UNPAID', 'CANCELLED', 'WARRANTY_APPROVED', 'WARRANTY_REJECTED', 'INFO_CHANGED', 'IN_PRODUCTION', 'READY_FOR_PICKUP', 'COLLECTED'))
);
--> statement-breakpoint
ALTER TABLE "photos" ADD COLUMN "uploaded_by" text;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_holder_id_holders_id_fk" FOREIGN KEY ("holder_id") REFERENCES "public"."holders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_pickup_station_id_stations_id_fk" FOREIGN KEY ("pickup_station_id") REFERENCES "public"."stations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_created_by_station_id_stations_id_fk" FOREIGN KEY ("created_by_station_id") REFERENCES "public"."stations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_old_card_id_cards_id_fk" FOREIGN KEY ("old_card_id") REFERENCES "public"."cards"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_photo_id_photos_id_fk" FOREIGN KEY ("photo_id") REFERENCES "public"."photos"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_notifications" ADD CONSTRAINT "payment_notifications_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_notifications" ADD CONSTRAINT "payment_notifications_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "applications_reference_no_key" ON "applications" USING btree ("reference_no");--> statement-breakpoint
CREATE UNIQUE INDEX "applications_one_in_progress" ON "applications" USING btree ("holder_id") WHERE "applications"."status" = 'IN_PROGRESS';--> statement-breakpoint
CREATE INDEX "applications_holder_idx" ON "applications" USING btree ("holder_id","created_at");--> statement-breakpoint
CREATE INDEX "applications_station_idx" ON "applications" USING btree ("pickup_station_id","created_at");--> statement-breakpoint
CREATE INDEX "applications_unpaid_due_idx" ON "applications" USING btree ("expires_at") WHERE "applications"."status" = 'IN_PROGRESS' and "applications"."stage" = 'AWAITING_PAYMENT';--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "payment_notifications_code_idx" ON "payment_notifications" USING btree ("payment_code");--> statement-breakpoint
CREATE INDEX "payment_notifications_received_idx" ON "payment_notifications" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_code_key" ON "payments" USING btree ("code");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_application_key" ON "payments" USING btree ("application_id");--> statement-breakpoint
CREATE INDEX "payments_created_idx" ON "payments" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "timeline_events_once_per_application" ON "timeline_events" USING btree ("application_id","type");