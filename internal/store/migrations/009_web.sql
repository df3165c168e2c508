-- The web: one-click tokens usable once, magic sign-in links and sessions.

-- An action link's use. token_hash is sha256 of the whole link token, so no
-- token is stored. A row with used_at null is a claim in flight (the gateway is
-- performing the Update); a claim older than two minutes may be taken again.
create table used_tokens (
    token_hash  bytea primary key,
    lead_id     text not null,
    actor       text not null,
    action      text not null,
    claimed_at  timestamptz not null default now(),
    used_at     timestamptz,
    outcome     text not null default ''
);

-- A sign-in link mailed to a person: usable once, for a few minutes.
create table login_links (
    token_hash  bytea primary key,
    email       text not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz
);
create index login_links_email on login_links(email, created_at);

-- A signed-in browser. id_hash is sha256 of the cookie's value.
create table sessions (
    id_hash     bytea primary key,
    email       text not null,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    revoked_at  timestamptz
);
create index sessions_email on sessions(email);

---- create above / drop below ----
drop table sessions, login_links, used_tokens;
