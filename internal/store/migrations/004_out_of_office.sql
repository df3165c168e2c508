-- Out-of-office periods: routing skips a rep inside one, and a lead's clock
-- waiting on them follows the SLA policy (reassign or pause).
create table out_of_office (
    person_id   text not null references people(id),
    starts_at   timestamptz not null,
    ends_at     timestamptz not null check (ends_at > starts_at),
    reason      text not null default '',
    created_at  timestamptz not null default now(),
    primary key (person_id, starts_at)
);

---- create above / drop below ----
drop table out_of_office;
