"""The schema as named migrations, applied once each in name order by ``engine.migrate``.

Never edit a migration that has shipped: append a new one with a higher name.
"""

from __future__ import annotations

# Each entry: (name, SQL script). Never edit a migration that has shipped: add a new one.

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_core",
        """
        CREATE TABLE consumers (
            consumer_id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            registered_mobile TEXT NOT NULL,          -- E.164, +91XXXXXXXXXX
            tariff_category TEXT NOT NULL DEFAULT 'DS-II',
            sanctioned_load_kw REAL NOT NULL DEFAULT 1.0,
            division TEXT,
            meter_serial TEXT,
            is_demo INTEGER NOT NULL DEFAULT 0,
            mobile_changed_at TEXT                    -- set when registered_mobile changes
        ) STRICT;

        CREATE TABLE accounts (
            account_id INTEGER PRIMARY KEY,
            mobile TEXT NOT NULL UNIQUE,              -- E.164
            display_name TEXT,
            language TEXT NOT NULL DEFAULT 'hi',
            created_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE links (
            account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            nickname TEXT NOT NULL,
            linked_at TEXT NOT NULL,
            mobile_at_link TEXT NOT NULL,             -- registered mobile when the OTP proved it
            PRIMARY KEY (account_id, consumer_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX links_by_consumer ON links(consumer_id);

        CREATE TABLE readings (
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            ts TEXT NOT NULL,                         -- UTC, YYYY-MM-DDTHH:MM:SSZ, as the meter stamps it
            kwh REAL NOT NULL,                        -- interval energy
            balance_inr REAL,                         -- prepaid balance at ts, when the meter reports it
            PRIMARY KEY (consumer_id, ts)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE recharges (
            recharge_id INTEGER PRIMARY KEY,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            amount_inr REAL NOT NULL,
            mode TEXT,
            reference TEXT,
            UNIQUE (consumer_id, ts, amount_inr)
        ) STRICT;

        -- One row per connection per IST day, maintained at write time (store.refresh_daily),
        -- so charts never pull a year of 30-minute rows. A day with neither readings nor recharges
        -- has no row.
        CREATE TABLE daily (
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            day TEXT NOT NULL,                        -- IST date, YYYY-MM-DD
            kwh REAL,                                 -- NULL: no readings that day (a gap, not 0)
            intervals INTEGER NOT NULL DEFAULT 0,     -- readings that day (48 = complete)
            peak_kwh REAL,                            -- largest single interval
            closing_balance_inr REAL,                 -- last metered balance of the day
            recharge_inr REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (consumer_id, day)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE meta (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) STRICT;
        """,
    ),
    (
        "0002_auth",
        """
        -- OTP challenges (lib/otp.py). The code itself is never stored: only an HMAC-SHA256 over the
        -- code and what it is bound to, keyed by a secret that lives outside the database (kid names it).
        CREATE TABLE otp_challenges (
            challenge_id TEXT PRIMARY KEY NOT NULL,   -- 128-bit random hex
            purpose TEXT NOT NULL CHECK (purpose IN ('login', 'link')),
            account_id INTEGER,                       -- NULL for login (no account until the OTP verifies)
            subject TEXT NOT NULL,                    -- login: the mobile (E.164); link: the consumer ID
            destination_masked TEXT NOT NULL,         -- +91 ••••••••NN (a stable decoy for unknown IDs)
            code_mac TEXT,                            -- NULL: nothing was sent (decoy or rate-limited)
            kid TEXT NOT NULL,                        -- which OTP key made code_mac
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
            consumed_at TEXT,
            dead_at TEXT,
            dead_reason TEXT
        ) STRICT;
        CREATE INDEX otp_challenges_by_subject ON otp_challenges(purpose, subject, created_at);
        CREATE INDEX otp_challenges_by_account ON otp_challenges(account_id, created_at);

        -- Every OTP send request that passed the limits (decoys too, so unknown IDs burn the same budget).
        CREATE TABLE otp_sends (
            send_id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            purpose TEXT NOT NULL,
            subject TEXT NOT NULL,
            account_id INTEGER,
            challenge_id TEXT NOT NULL
        ) STRICT;
        CREATE INDEX otp_sends_by_subject ON otp_sends(purpose, subject, ts);
        CREATE INDEX otp_sends_by_account ON otp_sends(account_id, ts);

        -- Consecutive wrong codes per (account, consumer ID) or per sign-in mobile; reset on success.
        CREATE TABLE otp_failures (
            scope TEXT PRIMARY KEY NOT NULL,          -- 'login:+91…' or 'link:<account_id>:<consumer_id>'
            consecutive INTEGER NOT NULL DEFAULT 0,
            last_failure_at TEXT,
            blocked_until TEXT
        ) STRICT;

        -- The "outbox" SMS gateway: the camp's on-screen phone (lib/sms.py).
        CREATE TABLE sms_outbox (
            sms_id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            destination TEXT NOT NULL,
            text TEXT NOT NULL,
            kind TEXT NOT NULL
        ) STRICT;

        -- Every SMS attempt on any gateway, without the text (global daily budget, operator view).
        CREATE TABLE sms_log (
            sms_log_id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            gateway TEXT NOT NULL,
            kind TEXT NOT NULL,
            destination_masked TEXT NOT NULL,
            ok INTEGER NOT NULL,
            message_id TEXT,
            error TEXT
        ) STRICT;
        CREATE INDEX sms_log_by_ts ON sms_log(ts);

        -- Append-only audit trail (lib/audit.py): never a code, a key or a full mobile number.
        CREATE TABLE audit (
            audit_id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            event TEXT NOT NULL,
            account_id INTEGER,
            consumer_id TEXT,
            destination_masked TEXT,
            challenge_id TEXT,
            outcome TEXT,
            reason TEXT,
            gateway_ref TEXT
        ) STRICT;
        CREATE INDEX audit_by_ts ON audit(ts);
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        """,
    ),
    (
        "0003_ledger",
        """
        -- Arrears a connection owes (from the bill or the DISCOM app) and how the meter recovers them
        -- (lib/ledger.py): a share of every recharge, or a fixed amount a day, until paid.
        CREATE TABLE arrears (
            arrear_id INTEGER PRIMARY KEY,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            amount_inr REAL NOT NULL CHECK (amount_inr > 0),
            start_day TEXT NOT NULL,                  -- IST date recovery starts, YYYY-MM-DD
            method TEXT NOT NULL CHECK (method IN ('recharge_share', 'daily')),
            share REAL CHECK (share IS NULL OR (share > 0 AND share <= 1)),   -- of each recharge
            daily_inr REAL CHECK (daily_inr IS NULL OR daily_inr > 0),        -- instalment a day
            note TEXT,
            created_by INTEGER REFERENCES accounts(account_id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            CHECK ((method = 'recharge_share' AND share IS NOT NULL)
                   OR (method = 'daily' AND daily_inr IS NOT NULL))
        ) STRICT;
        CREATE INDEX arrears_by_consumer ON arrears(consumer_id, start_day);

        -- Other one-off balance adjustments (a refund, a correction): + credits, - debits the balance.
        CREATE TABLE adjustments (
            adjustment_id INTEGER PRIMARY KEY,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            day TEXT NOT NULL,                        -- IST date, YYYY-MM-DD
            amount_inr REAL NOT NULL CHECK (amount_inr != 0),
            reason TEXT NOT NULL,
            created_by INTEGER REFERENCES accounts(account_id) ON DELETE SET NULL,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX adjustments_by_consumer ON adjustments(consumer_id, day);

        -- Low-balance alert rule per account (lib/alerts.py); no row = the defaults.
        CREATE TABLE alert_rules (
            account_id INTEGER PRIMARY KEY REFERENCES accounts(account_id) ON DELETE CASCADE,
            min_days_left REAL NOT NULL CHECK (min_days_left >= 0),
            min_balance_inr REAL NOT NULL CHECK (min_balance_inr >= 0),
            sms_enabled INTEGER NOT NULL DEFAULT 1 CHECK (sms_enabled IN (0, 1)),
            updated_at TEXT NOT NULL
        ) STRICT;

        -- Low-balance SMS: at most one per account and connection per IST day.
        CREATE TABLE alerts_sent (
            account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            day TEXT NOT NULL,                        -- IST date of the alert
            sent_at TEXT NOT NULL,
            days_left REAL,
            balance_inr REAL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'failed')),
            PRIMARY KEY (account_id, consumer_id, day)
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    (
        "0004_readings_export",
        """
        -- Net metering (issue 11 section 1): energy sent to the grid by rooftop solar, beside the energy
        -- drawn from it (readings.kwh stays import). NULL where the meter reports no export channel.
        ALTER TABLE readings ADD COLUMN export_kwh REAL CHECK (export_kwh IS NULL OR export_kwh >= 0);
        -- Daily roll-ups: export energy of the day, minutes of the day the readings cover (each reading's
        -- interval from its timestamps, lib/storage/readings.py), and the peak demand in kW (a reading's
        -- energy over its own interval, so 15-minute and hourly meters compare).
        ALTER TABLE daily ADD COLUMN export_kwh REAL;
        ALTER TABLE daily ADD COLUMN minutes REAL;
        ALTER TABLE daily ADD COLUMN peak_kw REAL;
        """,
    ),
    (
        "0005_recharge_identity_anchor",
        """
        -- Recharge identity (issue 11 section 2): the payment reference when there is one, else consumer,
        -- time and amount. Two genuine recharges of the same amount in one minute have different references;
        -- the same reference from a second source (payment vs credit time) is the same recharge.
        -- kind: 'recharge' (credited to the balance), 'reversal' (a credited recharge taken back: negative,
        -- counts on the balance), 'refund' (money returned to the payer for a payment that never reached
        -- the balance: negative, shown but not counted). status: as the source file wrote it, if any.
        CREATE TABLE recharges_0005 (
            recharge_id INTEGER PRIMARY KEY,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            amount_inr REAL NOT NULL,
            mode TEXT,
            reference TEXT,
            kind TEXT NOT NULL DEFAULT 'recharge' CHECK (kind IN ('recharge', 'reversal', 'refund')),
            status TEXT,
            CHECK ((kind = 'recharge' AND amount_inr > 0) OR (kind != 'recharge' AND amount_inr < 0))
        ) STRICT;
        -- Rows stored before this migration: the first of a reference is kept (the same recharge by the
        -- new identity), a zero or negative amount becomes a refund that does not count on the balance.
        INSERT INTO recharges_0005 (recharge_id, consumer_id, ts, amount_inr, mode, reference, kind)
        SELECT recharge_id, consumer_id, ts, amount_inr, mode, nullif(trim(reference), ''),
               CASE WHEN amount_inr > 0 THEN 'recharge' ELSE 'refund' END
        FROM recharges
        WHERE amount_inr != 0
          AND (nullif(trim(reference), '') IS NULL
               OR recharge_id IN (SELECT min(recharge_id) FROM recharges WHERE amount_inr != 0
                                  GROUP BY consumer_id, trim(reference), amount_inr > 0));
        DROP TABLE recharges;
        ALTER TABLE recharges_0005 RENAME TO recharges;
        CREATE UNIQUE INDEX recharges_by_reference ON recharges(consumer_id, reference, kind)
            WHERE reference IS NOT NULL;
        CREATE UNIQUE INDEX recharges_by_time_amount ON recharges(consumer_id, ts, amount_inr, kind)
            WHERE reference IS NULL;
        CREATE INDEX recharges_by_consumer_ts ON recharges(consumer_id, ts);

        -- A balance the household typed in from its DISCOM app or SMS ("balance on <date>"): the start
        -- of an estimate for a connection whose meter data carries no balance (lib/ledger.py).
        CREATE TABLE balance_anchors (
            anchor_id INTEGER PRIMARY KEY,
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            day TEXT NOT NULL,                        -- IST date; the balance at the start of that day
            balance_inr REAL NOT NULL CHECK (balance_inr BETWEEN -1000000 AND 1000000),
            created_by INTEGER REFERENCES accounts(account_id) ON DELETE SET NULL,
            created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX balance_anchors_by_consumer ON balance_anchors(consumer_id, day, anchor_id);
        """,
    ),
    (
        "0006_otp_session",
        """
        -- Double submit (issue 10): the challenge remembers who consumed it and what came of it, so the
        -- same browser session sending the same right code again gets the same success (lib/otp.py).
        ALTER TABLE otp_challenges ADD COLUMN consumed_session TEXT;   -- HMAC of the consuming session
        ALTER TABLE otp_challenges ADD COLUMN consumed_account_id INTEGER;  -- signed in / linked account
        """,
    ),
    (
        "0007_meter_events",
        """
        -- What a register import detected (issue 11 section 3): a replaced (or reset) meter that starts a new
        -- baseline, one spurious reading left out (glitch), a register that rolled over its width. Written in
        -- the import's transaction (lib/importing/readings.py); the data-quality line and check-connection
        -- read them. ts: stored UTC text of the reading; line: its line in the imported file; detail: the
        -- register values in kWh as the importer saw them (e.g. "4326.3 -> 8715").
        CREATE TABLE meter_events (
            consumer_id TEXT NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('replacement', 'glitch', 'rollover')),
            line INTEGER,
            detail TEXT,
            PRIMARY KEY (consumer_id, ts, kind)
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    (
        "0008_abuse",
        """
        -- Abuse (issue 13). A challenge belongs to the browser session that requested it (requester: an
        -- HMAC of the session, or 'a<account_id>' for a link) and is bound to the mobile it was sent to
        -- (destination_mac: HMAC of the registered mobile and when it last changed, so A -> B -> A needs a
        -- new OTP). Sends remember their requester and client address (limits slow the requester first).
        ALTER TABLE otp_challenges ADD COLUMN requester TEXT;
        ALTER TABLE otp_challenges ADD COLUMN destination_mac TEXT;
        ALTER TABLE otp_sends ADD COLUMN requester TEXT;
        ALTER TABLE otp_sends ADD COLUMN client TEXT;
        CREATE INDEX otp_sends_by_requester ON otp_sends(purpose, subject, requester, ts);
        CREATE INDEX otp_sends_by_client ON otp_sends(client, purpose, ts);

        -- Every wrong code, whoever sent it: the guesses per target (consumer ID or sign-in mobile) and per
        -- client address in a rolling day are counted here, across accounts and sessions (lib/otp.py).
        CREATE TABLE otp_guesses (
            guess_id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            target TEXT NOT NULL,                     -- 'target:login:+91…' or 'target:link:<consumer_id>'
            requester TEXT,
            client TEXT
        ) STRICT;
        CREATE INDEX otp_guesses_by_target ON otp_guesses(target, ts);
        CREATE INDEX otp_guesses_by_client ON otp_guesses(client, ts);
        """,
    ),
    (
        "0009_sessions",
        """
        -- Staying signed in (issue 14 section 2): a server-side session per signed-in browser, carried by an
        -- HttpOnly SameSite=Strict cookie that the server sets (lib/sessions.py, lib/web.py). Only keyed
        -- hashes of the cookie token and of the one-time hand-off that delivers it are stored.
        CREATE TABLE sessions (
            session_id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
            token_mac TEXT UNIQUE,                -- HMAC of the cookie's token; NULL until handed off
            handoff_mac TEXT UNIQUE,              -- HMAC of the one-time hand-off; NULL once used
            handoff_expires_at TEXT,
            created_at TEXT NOT NULL,             -- the absolute lifetime counts from here
            last_seen_at TEXT NOT NULL,           -- the idle timeout counts from here
            ended_at TEXT,
            end_reason TEXT CHECK (end_reason IN ('sign_out', 'idle', 'lifetime', 'reset'))
        ) STRICT;
        CREATE INDEX sessions_by_account ON sessions(account_id, ended_at);
        """,
    ),
    (
        "0010_consumer_versions",
        """
        -- Per-connection data version (issue 15): the dashboard's caches (lib/ui/loaders.py) are keyed by
        -- it, so a write to one connection invalidates that connection's cached frames only. A write that
        -- names its connections (storage.meta.bump_data_version(conn, consumer_ids)) sets their row to the
        -- new database-wide data_version; one that does not sets meta 'versions_epoch' (every connection).
        -- Both come from the one counter that never goes back, so a version never repeats.
        CREATE TABLE consumer_versions (
            consumer_id TEXT PRIMARY KEY NOT NULL,    -- no foreign key: the version outlives a deleted row
            version INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    (
        "0011_register_state",
        """
        -- The last register (cumulative) reading imported per consumer (issue 11, finding A): the baseline of
        -- the next register import when it is the reading just before that file's first, so a series split
        -- into daily files loses no interval at the boundary. Written in the import's transaction
        -- (lib/importing/readings.py). ts: stored UTC text; kwh: the register value in kWh.
        CREATE TABLE register_state (
            consumer_id TEXT PRIMARY KEY NOT NULL REFERENCES consumers(consumer_id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            kwh REAL NOT NULL
        ) STRICT, WITHOUT ROWID;
        """,
    ),
    (
        "0012_sms_queue",
        """
        -- The http gateway's queue (issue 13 item 5): an OTP's SMS is queued in the transaction that opens
        -- its challenge and a sender delivers it (lib/sms.py deliver_queued: the dashboard's thread or
        -- `python -m lib.cli send-outbox`), so no page answer waits on the gateway. A row lives until its
        -- message is delivered, fails or expires, then it is deleted (its text holds an OTP); its sms_log
        -- row keeps the outcome. Times are stored UTC text.
        CREATE TABLE sms_queue (
            queue_id INTEGER PRIMARY KEY,
            sms_log_id INTEGER NOT NULL REFERENCES sms_log(sms_log_id),
            queued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,                 -- never sent after this (the OTP is dead by then)
            destination TEXT NOT NULL,                -- E.164
            text TEXT NOT NULL,
            kind TEXT NOT NULL,
            challenge_id TEXT,                        -- the OTP challenge it carries (audit rows name it)
            claimed_at TEXT,                          -- a sender is delivering it (others wait out a lease)
            claimed_by TEXT
        ) STRICT;
        CREATE INDEX sms_queue_by_time ON sms_queue(queued_at);
        """,
    ),
    (
        "0013_counters",
        """
        -- Counters that many app servers bump at once (issue 12): one row per IST day and budget share with
        -- the SMS sent so far (lib/sms.py reserves a send with one conditional upsert instead of recounting
        -- the day's sms_log), so the cap holds under concurrent sends on any engine. PostgreSQL also gets
        -- a sequence for the data version (schema_postgresql.py): writers no longer queue on one meta row.
        CREATE TABLE sms_budget (
            day TEXT NOT NULL,                        -- IST date, YYYY-MM-DD
            share TEXT NOT NULL,                      -- 'signin', 'link', 'alerts', … or 'all' (the whole budget)
            sent INTEGER NOT NULL DEFAULT 0 CHECK (sent >= 0),
            PRIMARY KEY (day, share)
        ) STRICT, WITHOUT ROWID;
        -- Rows already logged today count against the new counters.
        INSERT INTO sms_budget (day, share, sent)
        SELECT date(ts, '+330 minutes'), 'all', count(*) FROM sms_log GROUP BY 1;
        """,
    ),
    (
        "0014_readings_timestamptz",
        """
        -- PostgreSQL's readings.ts becomes a timestamptz (schema_postgresql.py; issue 12's compact types).
        -- Nothing changes on SQLite: its ts stays the stored UTC text, which SQLite keeps as compactly as
        -- any of its types would (no fixed-width time type). The revision is in both histories so one
        -- history serves both engines.
        SELECT 1;
        """,
    ),
]
