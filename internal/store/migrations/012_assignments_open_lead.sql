-- Every lead snapshot write releases the lead's finished assignments
-- (releaseFinished: lead_id = $1 and released_at is null). Without planner
-- statistics (a table that grew since its last ANALYZE, or autovacuum off)
-- PostgreSQL answered that with a BitmapAnd of assignments_lead and the
-- partial assignments_open, reading every open assignment's entry: 5 ms a
-- write with 40,000 leads open, the hottest statement of a 100,000-lead
-- import. An index on lead_id over open assignments only matches the
-- statement whole, so no plan needs assignments_open for it; lookups of a
-- lead's assignments by lead_id alone use the primary key (lead_id, attempt).
drop index assignments_lead;
create index assignments_open_lead on assignments (lead_id) where released_at is null;

---- create above / drop below ----
drop index assignments_open_lead;
create index assignments_lead on assignments (lead_id);
