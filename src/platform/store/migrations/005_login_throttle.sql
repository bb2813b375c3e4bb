-- Failed log-ins per account, shared by every instance on the database (a per-process count would
-- give an attacker a fresh budget on each instance behind the load balancer).
--
-- - `account`: SHA-256 of the normalised e-mail, also for e-mails that belong to no user (so a
--   lockout does not reveal which exist), without storing whatever strings attackers send.
-- - `failures`: attempts since the last success; counted when an attempt starts and forgiven
--   when it succeeds, so concurrent guesses cannot all slip in before the first one is counted.
-- - `locked_until`: attempts before this instant are refused without hashing (429).
-- - `last_attempt_at`: a quiet account is forgotten (counter restarts) after a while.

-- migrate:up
CREATE TABLE login_throttle (
  account          text PRIMARY KEY,
  failures         integer NOT NULL DEFAULT 0,
  locked_until     timestamptz,
  last_attempt_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_throttle_last_attempt ON login_throttle (last_attempt_at);

-- migrate:down
DROP TABLE IF EXISTS login_throttle;
