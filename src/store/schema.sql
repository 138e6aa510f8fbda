-- qualys-mock store schema. Applied to a fresh database at start (see store/mod.rs).
-- Bump SCHEMA_VERSION in store/mod.rs with any change here; a file database of another
-- version is refused with a message instead of being migrated silently.
--
-- Conventions
--   * Every record belongs to a customer (customer_id, on child rows too) and every query
--     filters on it; the baseline (store/baseline.rs) tracks changes per customer by it.
--   * CAR times are epoch milliseconds (INTEGER, `*_ms`); CM times are epoch seconds
--     (INTEGER, `*_s`): each is the resolution its API shows on the wire.
--   * Columns exist for every field a guide lets a client filter or sort on; lists that are
--     only ever rendered are kept as JSON text (`*_json`).

-- Customer and user ids are AUTOINCREMENT: an id SQLite gives out is never given out again in
-- the store's life (resets and restarts of a file store included), so no later customer
-- or user is mistaken for one that was removed.
CREATE TABLE customers (
    id    INTEGER PRIMARY KEY AUTOINCREMENT, -- CAR "customerId"
    uuid  TEXT NOT NULL UNIQUE,         -- CAR "customerUuid"
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- JWT portalUserId / qwebUserId
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    uuid         TEXT NOT NULL UNIQUE,  -- CAR user ids (created.user.id, userUuid)
    username     TEXT NOT NULL UNIQUE,  -- login, unique across the platform as on Qualys
    password     TEXT NOT NULL,
    display_name TEXT NOT NULL,         -- CAR user names (created.user.name, approverName)
    modules_json TEXT NOT NULL DEFAULT '[]', -- JWT modulesAllowed
    -- JWT userSerial: a number no other user row ever has in the store's life (store_meta
    -- `user_serials` counts them), so a user removed and made again with the same id and
    -- uuid (a runtime seed after a reset) does not accept the tokens of the first one.
    serial       INTEGER NOT NULL UNIQUE
);
CREATE INDEX users_customer ON users(customer_id);

-- CAR -------------------------------------------------------------------------------------

CREATE TABLE scripts (
    id                   INTEGER PRIMARY KEY,
    customer_id          INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    title                TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    category_id          INTEGER NOT NULL,
    category_name        TEXT NOT NULL,
    type_id              INTEGER NOT NULL,
    type_name            TEXT NOT NULL,     -- Python, Powershell, Shell, ...
    platform             TEXT NOT NULL,     -- WINDOWS, LINUX, ...
    status               TEXT NOT NULL,     -- APPROVED, PENDING_REVIEW, PENDING_TEST, REJECTED, DEPRECATED
    severity             INTEGER NOT NULL,
    threshold            INTEGER NOT NULL,
    content              BLOB NOT NULL,     -- raw bytes; base64 on the wire
    imported_from_id     INTEGER NOT NULL DEFAULT 0,
    recurring_day        INTEGER NOT NULL DEFAULT 0,
    approver_id          TEXT,
    approver_name        TEXT,
    created_ms           INTEGER NOT NULL,
    created_by_id        TEXT NOT NULL,
    created_by_name      TEXT NOT NULL,
    updated_ms           INTEGER NOT NULL,
    updated_by_id        TEXT NOT NULL,
    updated_by_name      TEXT NOT NULL,
    last_executed_ms     INTEGER NOT NULL DEFAULT 0,
    blacklisted_commands TEXT NOT NULL DEFAULT '',  -- "os.chmod, wget.download"
    subscribed_modules_json TEXT NOT NULL DEFAULT '[]',
    UNIQUE (customer_id, title)
);
CREATE INDEX scripts_customer_status ON scripts(customer_id, status);
CREATE INDEX scripts_customer_created ON scripts(customer_id, created_ms);

CREATE TABLE assets (
    id              INTEGER PRIMARY KEY,   -- CAR "assetId"
    customer_id     INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    agent_id        TEXT NOT NULL,         -- CAR asset "id"
    agent_uuid      TEXT NOT NULL,
    name            TEXT NOT NULL,
    address         TEXT NOT NULL,
    operating_system TEXT NOT NULL,
    asset_type      TEXT NOT NULL DEFAULT 'HOST',
    agent_version   TEXT NOT NULL DEFAULT '',
    activated_for_modules_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX assets_customer_name ON assets(customer_id, name COLLATE NOCASE);
CREATE INDEX assets_customer_address ON assets(customer_id, address COLLATE NOCASE);

CREATE TABLE asset_interfaces (
    asset_id       INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    customer_id    INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    hostname       TEXT,
    mac_address    TEXT,
    address        TEXT,
    interface_name TEXT,
    PRIMARY KEY (asset_id, position)
);
CREATE INDEX asset_interfaces_customer ON asset_interfaces(customer_id);

CREATE TABLE asset_tags (
    id               INTEGER PRIMARY KEY,  -- CAR "tagId" / "id"
    customer_id      INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    uuid             TEXT NOT NULL,
    name             TEXT NOT NULL,
    background_color TEXT
);
CREATE INDEX asset_tags_customer_name ON asset_tags(customer_id, name COLLATE NOCASE);

CREATE TABLE asset_tag_links (
    asset_id    INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    tag_id      INTEGER NOT NULL REFERENCES asset_tags(id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (asset_id, tag_id)
);  -- rowid keeps the order tags were given in
CREATE INDEX asset_tag_links_tag ON asset_tag_links(tag_id, asset_id);
CREATE INDEX asset_tag_links_customer ON asset_tag_links(customer_id);

CREATE TABLE schedules (
    id                  INTEGER PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    script_id           INTEGER NOT NULL REFERENCES scripts(id) ON DELETE CASCADE,
    activate            INTEGER NOT NULL,
    schedule_type       TEXT NOT NULL,     -- ONE_TIME, HOURLY, DAILY, WEEKLY, MONTHLY
    start_date          TEXT NOT NULL,     -- YYYY-MM-DD
    end_date            TEXT NOT NULL,
    start_time          TEXT NOT NULL,     -- HH:MM:SS
    hourly_interval     INTEGER,
    days_of_week_json   TEXT,
    recurrence_date     INTEGER,
    recurrence_month    INTEGER,
    monthly_schedule_type TEXT,
    assets_json         TEXT NOT NULL DEFAULT '[]',
    asset_tags_json     TEXT NOT NULL DEFAULT '[]',
    excluded_assets_json TEXT NOT NULL DEFAULT '[]',
    user_id             TEXT NOT NULL,
    user_name           TEXT NOT NULL,
    created_ms          INTEGER NOT NULL,
    last_executed_ms    INTEGER NOT NULL DEFAULT 0,
    next_fire_ms        INTEGER,           -- NULL once it will never fire again (or inactive)
    recurrence_json     TEXT NOT NULL DEFAULT '{}',  -- what the engine computes firings from
    UNIQUE (customer_id, title)
);
CREATE INDEX schedules_due ON schedules(next_fire_ms) WHERE next_fire_ms IS NOT NULL;

CREATE TABLE script_jobs (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    script_id        INTEGER NOT NULL,     -- no FK: a job outlives its script
    schedule_id      INTEGER,
    correlation_uuid TEXT NOT NULL,
    execution_type   TEXT NOT NULL,        -- Manual, Scheduled
    title            TEXT NOT NULL,
    is_test          INTEGER NOT NULL DEFAULT 0,
    -- snapshot of the script when the job was created
    script_title     TEXT NOT NULL,
    script_type      TEXT NOT NULL,
    platform         TEXT NOT NULL,
    severity         INTEGER NOT NULL,
    threshold        INTEGER NOT NULL,
    category_id      INTEGER NOT NULL,
    category_name    TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);
CREATE INDEX script_jobs_customer_created ON script_jobs(customer_id, created_ms);
CREATE INDEX script_jobs_customer_script ON script_jobs(customer_id, script_id);
CREATE INDEX script_jobs_correlation ON script_jobs(customer_id, correlation_uuid);

CREATE TABLE asset_jobs (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    job_id        INTEGER NOT NULL REFERENCES script_jobs(id) ON DELETE CASCADE,
    asset_id      INTEGER NOT NULL,        -- no FK: a job outlives its asset
    status        TEXT NOT NULL,           -- QUEUED, IN_PROGRESS, SUCCESS, FAILED, TIMEOUT, ...
    output_code   INTEGER,
    output_text   TEXT,
    script_result BLOB,
    manifest_id   TEXT NOT NULL,
    is_test       INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    started_ms    INTEGER,                 -- when it leaves QUEUED
    end_ms        INTEGER,                 -- when it reaches a final status
    forced        INTEGER NOT NULL DEFAULT 0  -- outcome set through the control API
);
CREATE INDEX asset_jobs_customer_created ON asset_jobs(customer_id, created_ms);
CREATE INDEX asset_jobs_job ON asset_jobs(job_id);
CREATE INDEX asset_jobs_pending ON asset_jobs(end_ms) WHERE end_ms IS NULL;

CREATE TABLE activities (
    seq           INTEGER PRIMARY KEY,     -- insertion order
    uuid          TEXT NOT NULL UNIQUE,    -- wire "id"
    customer_id   INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    user_name     TEXT NOT NULL,
    user_uuid     TEXT NOT NULL,
    client        TEXT,
    source_ip     TEXT,
    created_ms    INTEGER NOT NULL,
    target_type   TEXT NOT NULL,           -- script, job, schedule
    target_name   TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    action        TEXT NOT NULL,           -- CREATE, APPROVE, DEPRECATE, EXECUTE, MODIFY, TEST, REJECT, IMPORT, CLONE, SCHEDULE
    audit_comment TEXT,
    custom_fields_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX activities_customer_created ON activities(customer_id, created_ms);

-- CM --------------------------------------------------------------------------------------

CREATE TABLE cm_rulesets (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_s    INTEGER NOT NULL,
    updated_s    INTEGER NOT NULL,
    is_template  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cm_rulesets_customer ON cm_rulesets(customer_id, id);

CREATE TABLE cm_rules (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    ruleset_id   INTEGER REFERENCES cm_rulesets(id) ON DELETE SET NULL,
    rule_type    TEXT NOT NULL,            -- HOST, VULN, PORT, SSL, SW
    event_types  TEXT NOT NULL,            -- joined by ", " as on the wire
    json_data    TEXT NOT NULL,
    created_s    INTEGER NOT NULL
);
CREATE INDEX cm_rules_customer ON cm_rules(customer_id, id);
CREATE INDEX cm_rules_ruleset ON cm_rules(ruleset_id);

CREATE TABLE cm_rule_criteria (
    id              INTEGER PRIMARY KEY,
    rule_id         INTEGER NOT NULL REFERENCES cm_rules(id) ON DELETE CASCADE,
    customer_id     INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    property_name   TEXT NOT NULL,
    property_value  TEXT NOT NULL,
    expression_type TEXT NOT NULL
);
CREATE INDEX cm_rule_criteria_rule ON cm_rule_criteria(rule_id, position);
CREATE INDEX cm_rule_criteria_customer ON cm_rule_criteria(customer_id);

CREATE TABLE cm_profiles (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    uuid         TEXT NOT NULL,
    title        TEXT NOT NULL,
    created_s    INTEGER NOT NULL,
    updated_s    INTEGER NOT NULL,
    frequency    TEXT NOT NULL,            -- FREQ_NEVER, FREQ_5_MINUTES, ...
    is_active    INTEGER NOT NULL,
    included_ips TEXT NOT NULL,
    target_list  TEXT NOT NULL,
    ruleset_id   INTEGER REFERENCES cm_rulesets(id) ON DELETE SET NULL
);
CREATE INDEX cm_profiles_customer ON cm_profiles(customer_id, id);

CREATE TABLE cm_alerts (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    source       TEXT NOT NULL DEFAULT 'REMEDIATION',
    event_type   TEXT NOT NULL,
    trigger_uuid TEXT NOT NULL,
    ip_address   TEXT NOT NULL,
    hostname     TEXT NOT NULL DEFAULT '',
    event_s      INTEGER NOT NULL,
    alert_s      INTEGER NOT NULL,
    is_hidden    INTEGER NOT NULL DEFAULT 0,
    profile_id   INTEGER REFERENCES cm_profiles(id) ON DELETE SET NULL,
    rule_id      INTEGER,
    alert_info_json TEXT NOT NULL DEFAULT '{}'  -- per event type: operatingSystem, port, sslName, ...
);
-- Alerts come in id order, mostly, and dates rise with ids: the indexes whose keys follow
-- that order are kept while loading (each insert appends to its customer's, or its
-- customer's event type's, range); those by address and name are built after the load.
CREATE INDEX cm_alerts_customer_id ON cm_alerts(customer_id, id); -- kept while loading
CREATE INDEX cm_alerts_customer_event ON cm_alerts(customer_id, event_type, id); -- kept while loading
CREATE INDEX cm_alerts_customer_ip ON cm_alerts(customer_id, ip_address COLLATE NOCASE, id);
CREATE INDEX cm_alerts_customer_host ON cm_alerts(customer_id, hostname COLLATE NOCASE, id);
CREATE INDEX cm_alerts_customer_alert_date ON cm_alerts(customer_id, alert_s); -- kept while loading

-- The store's own facts -------------------------------------------------------------------

-- Where the baseline came from and when (`/_mock/health` shows them); `complete` is written
-- in the same transaction as the start-up data, so a store without it is half-made.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
