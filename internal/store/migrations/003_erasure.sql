-- Erasure: lead_events stays append-only, except that an erasure may strip a
-- free-text note (personal data) from an event's data. Nothing else changes.
create or replace function lead_events_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE'
       and new.data = old.data - 'note'
       and (new.id, new.lead_id, new.event_key, new.seq, new.kind, new.actor, new.reason, new.occurred_at, new.recorded_at)
           = (old.id, old.lead_id, old.event_key, old.seq, old.kind, old.actor, old.reason, old.occurred_at, old.recorded_at) then
        return new;
    end if;
    raise exception 'lead_events is append-only';
end $$;

---- create above / drop below ----
create or replace function lead_events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'lead_events is append-only';
end $$;
