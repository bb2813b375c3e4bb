-- The rule evaluator's lease per organisation (rules domain): which process evaluates it, and
-- until when. With several `process` instances, one evaluates an organisation while its lease
-- holds and renews it on every pass; the others leave it alone (instead of evaluating it too, then
-- finding their work superseded and rebuilding their windows), and take over once a lease lapses
-- (its holder stopped or crashed). Exactly-once does not rest on the lease: the position check in
-- the evaluator's transaction still refuses a pass that another process overtook.

-- migrate:up
ALTER TABLE rule_evaluator ADD COLUMN owner text;
ALTER TABLE rule_evaluator ADD COLUMN lease_until timestamptz;

-- migrate:down
ALTER TABLE rule_evaluator DROP COLUMN lease_until;
ALTER TABLE rule_evaluator DROP COLUMN owner;
