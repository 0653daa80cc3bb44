-- The tables of examples/fastapi/app.py, per the table contract (docs/backend.md#the-table-contract):
-- columns named and typed as the spec's Todo (arrays and objects as jsonb), x-sync-exclude
-- fields (draft_note) absent, the scope column (household_id) set by the server.
CREATE TABLE IF NOT EXISTS users (
  id           text PRIMARY KEY,
  household_id text NOT NULL,
  -- A bearer token per user: the simplest auth that shows the contract; use your own.
  token        text NOT NULL UNIQUE
);

-- A user's role in a household (x-rbac.roles in openapi.yaml): owner, editor or viewer. Synced to
-- the user's own devices (x-sync scope user_id) and read by every write's role check.
CREATE TABLE IF NOT EXISTS household_members (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      text NOT NULL,
  household_id text NOT NULL,
  role         text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  UNIQUE (user_id, household_id)
);

CREATE TABLE IF NOT EXISTS todos (
  id           uuid PRIMARY KEY,
  household_id text NOT NULL,
  title        text NOT NULL,
  done         boolean NOT NULL DEFAULT false,
  tags         jsonb,
  due_on       date,
  priority     integer CHECK (priority BETWEEN 1 AND 3),
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS todos_household ON todos (household_id);

-- One row per (user, Idempotency-Key): the first answer, replayed for 24 hours.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id     text NOT NULL,
  key         text NOT NULL,
  fingerprint text NOT NULL,
  status      integer,
  body        jsonb,
  txid        text,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
