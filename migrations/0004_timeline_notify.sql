-- Every committed timeline event is announced on the channel `timeline_events`, so each replica's one
-- listening connection can push it to the live streams it serves (NOTIFY is delivered at commit).
CREATE FUNCTION timeline_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('timeline_events', json_build_object('applicationId', NEW.application_id, 'id', NEW.id)::text);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER timeline_events_notify
  AFTER INSERT ON timeline_events
  FOR EACH ROW EXECUTE FUNCTION timeline_events_notify();
