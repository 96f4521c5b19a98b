ALTER TABLE "appointments" ADD COLUMN "booking_sent_at" timestamp with time zone;--> statement-breakpoint
-- Hand-written (not generated): a booking job's hold check, as one statement the job can prepare.
-- Under the shared advisory lock of the staff member's person, a check with its own snapshot taken
-- after the lock was granted (a VOLATILE function takes a snapshot per statement): is the time
-- held by someone else (an active hold not expired at p_now, or a hold consumed by another booking
-- still pending)? With p_mark and nothing held, the appointment's at-most-once marker
-- (booking_sent_at) is recorded in the same transaction. No staff member: nothing checked or marked.
CREATE OR REPLACE FUNCTION calgate_booking_hold_check(
  p_appointment_id text,
  p_staff_id text,
  p_start timestamptz,
  p_end timestamptz,
  p_now timestamptz,
  p_mark boolean
) RETURNS TABLE (held boolean, marked boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  held := false;
  marked := false;
  IF p_staff_id IS NULL THEN
    RETURN NEXT;
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(hashtextextended('calgate-hold:' ||
      CASE WHEN s.calcom_user_id IS NULL THEN 'staff:' || s.id ELSE 'calcom-user:' || s.calcom_user_id END, 0))
    FROM staff s WHERE s.id = p_staff_id;
  held := EXISTS (
    SELECT 1
    FROM staff me
    JOIN staff other
      ON other.id = me.id OR (me.calcom_user_id IS NOT NULL AND other.calcom_user_id = me.calcom_user_id)
    JOIN hold_segments hs
      ON hs.staff_id = other.id AND hs.ends_at > p_start AND hs.starts_at < p_end
    JOIN holds h ON h.id = hs.hold_id
    LEFT JOIN appointments a ON a.id = h.appointment_id
    WHERE me.id = p_staff_id
      AND ((h.status = 'active' AND h.expires_at > p_now)
        OR (h.status = 'consumed' AND a.status = 'pending' AND a.id <> p_appointment_id)));
  IF p_mark AND NOT held THEN
    UPDATE appointments SET booking_sent_at = p_now WHERE id = p_appointment_id;
    marked := FOUND;
  END IF;
  RETURN NEXT;
END;
$$;
