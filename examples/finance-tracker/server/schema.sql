-- Finance tracker example backend: schema for PostgreSQL 13+ (gen_random_uuid is core).
-- Applied by the server on every start; every statement is idempotent.
--
-- Column names are the spec's property names. Types follow the generator's mapping
-- (src/model/pg-type.ts): uuid, numeric for decimal strings, date, timestamptz, jsonb for arrays
-- and objects. Timestamps are timestamptz(3) so that the ISO strings in API responses (millisecond
-- precision) are exactly the stored values that Electric streams.
--
-- Synced tables (paths with x-sync) carry `write_id`: the client's change id of the write that
-- last touched the row (X-Change-Id or a uuid Idempotency-Key), NULL otherwise. They use
-- REPLICA IDENTITY FULL so that logical replication sends whole old rows on update and delete.

-- Who may see what: households, their members (with a role: owner, editor or viewer, enforced on
-- every write from openapi.yaml's x-rbac, handlers.ts) and sign-in (auth.ts). Every row of the data tables below belongs to one household
-- (`household_id`, set by the server from the signed-in user, never from a request body); a row
-- with no household is nobody's. The shape proxy serves each user their household's rows only.
CREATE TABLE IF NOT EXISTS households (
  id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL UNIQUE,
  name          text NOT NULL,
  -- scrypt$<salt>$<hash>, base64url (auth.ts)
  password_hash text NOT NULL
);
-- Tokens issued before this are refused (sign out everywhere; a stolen token).
ALTER TABLE users ADD COLUMN IF NOT EXISTS tokens_valid_after timestamptz(3) NOT NULL DEFAULT '-infinity';

CREATE TABLE IF NOT EXISTS household_members (
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  household_id uuid NOT NULL REFERENCES households (id) ON DELETE CASCADE,
  role         text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  PRIMARY KEY (user_id, household_id)
);

-- Memberships are synced to their user (x-sync scope user_id): the client reads its role on each row
-- from them (x-rbac.roles), so they need a key of their own that is the primary key (a shape's
-- change messages name the row by its primary key), and whole old rows on delete. A database made
-- before this (primary key user_id, household_id) is moved over once.
ALTER TABLE household_members ADD COLUMN IF NOT EXISTS id uuid NOT NULL DEFAULT gen_random_uuid();
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = 'household_members'::regclass AND i.indisprimary AND a.attname = 'id'
  ) THEN
    ALTER TABLE household_members DROP CONSTRAINT household_members_pkey;
    ALTER TABLE household_members ADD CONSTRAINT household_members_pkey PRIMARY KEY (id);
    ALTER TABLE household_members ADD CONSTRAINT household_members_user_household UNIQUE (user_id, household_id);
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS household_members_user ON household_members (user_id);
ALTER TABLE household_members REPLICA IDENTITY FULL;

-- The key tokens are signed with (HMAC-SHA256), made once per database so that restarts keep sessions.
CREATE TABLE IF NOT EXISTS server_secret (
  id     integer PRIMARY KEY CHECK (id = 1),
  secret text NOT NULL
);

CREATE TABLE IF NOT EXISTS contacts (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  first_name   text NOT NULL CHECK (char_length(first_name) <= 100),
  last_name    text NOT NULL,
  email        text,
  phone        text,
  company      text,
  credit_limit numeric,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  write_id     uuid
);

CREATE TABLE IF NOT EXISTS accounts (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('checking', 'savings', 'credit', 'cash')),
  currency   text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
  -- Maintained by the trigger below from the account's transactions.
  balance    numeric NOT NULL DEFAULT 0,
  contact_id uuid REFERENCES contacts (id) ON DELETE SET NULL,
  archived   boolean NOT NULL DEFAULT false,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  write_id   uuid
);

CREATE TABLE IF NOT EXISTS categories (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text,
  parent_id  uuid REFERENCES categories (id) ON DELETE SET NULL,
  kind       text CHECK (kind IN ('income', 'expense')),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS transactions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- RESTRICT: deleting an account that still has transactions is a 409.
  account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  category_id uuid REFERENCES categories (id) ON DELETE SET NULL,
  amount      numeric NOT NULL CHECK (amount <> 0),
  occurred_on date NOT NULL,
  description text,
  tags        jsonb,
  metadata    jsonb,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  write_id    uuid
);

-- The scope column of every data table (x-sync.scope in openapi.yaml).
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS household_id uuid REFERENCES households (id);
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS household_id uuid REFERENCES households (id);
ALTER TABLE categories ADD COLUMN IF NOT EXISTS household_id uuid REFERENCES households (id);
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS household_id uuid REFERENCES households (id);
CREATE INDEX IF NOT EXISTS contacts_household ON contacts (household_id);
CREATE INDEX IF NOT EXISTS accounts_household ON accounts (household_id);
CREATE INDEX IF NOT EXISTS categories_household ON categories (household_id);
CREATE INDEX IF NOT EXISTS transactions_household ON transactions (household_id);

CREATE INDEX IF NOT EXISTS transactions_account_day ON transactions (account_id, occurred_on);

ALTER TABLE contacts REPLICA IDENTITY FULL;
ALTER TABLE accounts REPLICA IDENTITY FULL;
ALTER TABLE transactions REPLICA IDENTITY FULL;

-- accounts.balance = sum of the account's transaction amounts, kept in the writing transaction
-- (so the balance change carries the same txid as the transaction write).
CREATE OR REPLACE FUNCTION transactions_apply_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE accounts SET balance = balance - OLD.amount WHERE id = OLD.account_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER transactions_balance
  AFTER INSERT OR DELETE OR UPDATE OF amount, account_id ON transactions
  FOR EACH ROW EXECUTE FUNCTION transactions_apply_balance();

-- Exports are computed at once (status 'done'); the result is kept for inspection.
CREATE TABLE IF NOT EXISTS export_jobs (
  job_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  format     text NOT NULL CHECK (format IN ('csv', 'json')),
  from_date  date NOT NULL,
  to_date    date NOT NULL,
  status     text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
  row_count  integer NOT NULL DEFAULT 0,
  household_id uuid REFERENCES households (id),
  content    text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

-- One row per Idempotency-Key, inserted in the same transaction as the write it guards:
-- a concurrent duplicate blocks on the primary key until the first commits, then finds the row.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  -- "<user id>:<Idempotency-Key>": keys are per user (another user's same key is a request of its own).
  key         text PRIMARY KEY,
  -- method, path and a hash of the body; a reused key with another request is a 422.
  fingerprint text NOT NULL,
  -- Filled in before the guarded transaction commits, so never seen NULL by another session.
  status      integer,
  body        jsonb,
  txid        text,
  -- Keys live 24 hours (write.ts KEY_TTL): an older key is free again and swept away.
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);
ALTER TABLE export_jobs ADD COLUMN IF NOT EXISTS household_id uuid REFERENCES households (id);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
