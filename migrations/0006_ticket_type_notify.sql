-- Processors listen to every line's wake channel, and learn of a new ticket type from this
-- notification (delivered when the creating transaction commits) instead of their next poll, so
-- that the first join of a new line is admitted at once (src/engine/index.ts).
CREATE FUNCTION notify_ticket_type() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('boxoffice_ticket_types', NEW.id::text);
  RETURN NULL;
END $$;

CREATE TRIGGER ticket_types_notify AFTER INSERT ON ticket_types FOR EACH ROW EXECUTE FUNCTION notify_ticket_type();
